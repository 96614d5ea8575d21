use async_trait::async_trait;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// Opt-in (`--http01-self-test`), and the only check here that changes the cluster: it publishes a
    /// throwaway random token at `/.well-known/acme-challenge/<token>` through a temporary Pod, Service and
    /// Ingress (labelled `app.kubernetes.io/managed-by=mcp-doctor` and the run id; image `--probe-image`;
    /// restricted security context; no secret in its arguments), fetches it through each public host the
    /// way the validator does, and deletes everything again on success, failure, timeout and Ctrl-C.
    /// `mcp-doctor sweep` removes what an interrupted run left behind.
    ///
    /// ### Why it matters
    /// `http01.challenge-path` proves the path reaches Traefik; only a real token proves it reaches a
    /// solver-like backend end to end: DNS -> proxy -> ServiceLB -> Traefik -> Service -> Pod.
    ///
    /// ### What a failure looks like
    /// `platform.example.com from 203.0.113.10 (A): answered 404 for the published token: the Ingress for
    /// the challenge path is not served by the Traefik the public name reaches`
    ///
    /// ### How to fix
    /// Follow the hop the message names (remediations `rem.http01-front-door`, `rem.http01-port80`).
    pub struct SelfTest {
        id: "http01.self-test",
        title: "A published test token is served through each public host (opt-in, mutating)",
        category: "http01",
        modes: Setup,
        depends_on: [],
        reads: [],
        timeout_secs: 120,
    }
}

#[async_trait]
impl Check for SelfTest {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        if !ctx.config.flag("http01_self_test") {
            return Some(
                "opt-in: pass --http01-self-test to publish a throwaway token through the cluster"
                    .into(),
            );
        }
        super::not_applicable(ctx)
    }

    async fn run(&self, _ctx: &Context) -> Outcome {
        Outcome::skip(
            "the self-test cannot create its probe objects in this build (the evidence layer is read-only); \
             http01.challenge-path covers the path up to Traefik",
        )
    }
}
