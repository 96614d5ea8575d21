use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::{EvidenceError, KubeTarget, UnreachableCause};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The kubeconfig (or in-cluster config) loads, its context exists, and the API server answers
    /// `GET /version` within the timeout. It is the root of every cluster check.
    ///
    /// ### Why it matters
    /// Every other cluster check, and `mcp-runtime setup` itself, talks to this API server. The failure is
    /// told apart so the fix is obvious: no kubeconfig at all, a kubeconfig copied from a k3s server that
    /// still points at `127.0.0.1`, a name that does not resolve, a refused port, a timeout, a CA that does
    /// not match the server's certificate, or expired credentials (401).
    ///
    /// ### What a failure looks like
    /// `kubeconfig /home/ops/mcp-k3s.yaml points at https://127.0.0.1:6443 and nothing listens there: it was
    /// copied from the k3s server without replacing 127.0.0.1 with the server's address`
    ///
    /// ### How to fix
    /// For a copied k3s kubeconfig: `sed -i.bak 's/127.0.0.1/<cp-node-ip>/g' ./mcp-k3s.yaml`. For TLS errors,
    /// refresh the kubeconfig from the cluster; for 401, renew the credentials; otherwise check that port
    /// 6443 is reachable from this machine.
    pub struct ApiReachable {
        id: "cluster.api-reachable",
        title: "Kubernetes API reachable",
        category: "cluster",
        modes: Both,
        depends_on: [],
        reads: [],
    }
}

#[async_trait]
impl Check for ApiReachable {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let target = ctx.evidence.kube.target().await;
        match ctx.evidence.kube.version().await {
            Ok(v) => {
                let server = target
                    .as_ref()
                    .map(|t| t.server.as_str())
                    .unwrap_or("the API server");
                Outcome::pass(format!("{server} answered, Kubernetes {}", v.git_version))
                    .detail("server_version", &v.git_version)
                    .detail("target", target.ok())
            }
            Err(err) => diagnose(&err, target.ok().as_ref()),
        }
    }
}

/// Names the cause of a failed `/version` call and the fix for it.
fn diagnose(err: &EvidenceError, target: Option<&KubeTarget>) -> Outcome {
    let mut vars = Vars::new();
    let kubeconfig = target
        .and_then(|t| t.kubeconfig.clone())
        .unwrap_or_else(|| "your kubeconfig".into());
    let server = match err {
        EvidenceError::Unreachable { server, .. } if !server.is_empty() => server.clone(),
        _ => target.map(|t| t.server.clone()).unwrap_or_default(),
    };
    vars.insert("kubeconfig", kubeconfig.clone());
    vars.insert("server", server.clone());
    let loopback = is_loopback_server(&server);
    let (outcome, remediation) = match err {
        EvidenceError::NotCollected { .. } | EvidenceError::NotConfigured { .. } => {
            return Outcome::skip(format!("cannot tell whether the API answered: {err}"));
        }
        EvidenceError::Unreachable {
            cause: UnreachableCause::NoKubeconfig,
            message,
            ..
        } => (
            Outcome::fail(format!("no cluster to talk to: {message}")),
            "rem.no-kubeconfig",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::BadKubeconfig,
            message,
            ..
        } => (Outcome::fail(message.clone()), "rem.bad-kubeconfig"),
        EvidenceError::Unreachable {
            cause: UnreachableCause::Refused | UnreachableCause::Timeout,
            ..
        } if loopback && target.is_some_and(|t| !t.in_cluster) => (
            Outcome::fail(format!(
                "kubeconfig {kubeconfig} points at {server} and nothing answers there: it was copied from the k3s server \
                 without replacing 127.0.0.1 with the server's address"
            )),
            "rem.kubeconfig-loopback",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::Dns,
            message,
            ..
        } => (
            Outcome::fail(format!(
                "the API server name in {server} does not resolve from here ({message})"
            )),
            "rem.api-unreachable",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::Refused,
            ..
        } => (
            Outcome::fail(format!(
                "connection to {server} refused: nothing listens there (API server down, wrong port, or a firewall rejecting 6443)"
            )),
            "rem.api-unreachable",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::Timeout,
            ..
        }
        | EvidenceError::Timeout { .. } => {
            return Outcome::error(format!("no answer from {server} in time: {err}"))
                .detail("evidence_error", err)
                .remediate("rem.api-unreachable", None, &vars);
        }
        EvidenceError::Unreachable {
            cause: UnreachableCause::Tls,
            message,
            ..
        } => (
            Outcome::fail(format!(
                "TLS handshake with {server} failed: the certificate does not match the CA in {kubeconfig} ({message})"
            )),
            "rem.api-tls",
        ),
        EvidenceError::Unauthorized { .. } => (
            Outcome::fail(format!(
                "{server} rejected the credentials in {kubeconfig} (401 Unauthorized): expired or revoked token or certificate"
            )),
            "rem.api-credentials",
        ),
        other => (
            Outcome::fail(format!("{server} did not answer /version: {other}")),
            "rem.api-unreachable",
        ),
    };
    outcome
        .detail("evidence_error", err)
        .detail("target", target)
        .remediate(remediation, None, &vars)
}

fn is_loopback_server(server: &str) -> bool {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn target(server: &str) -> KubeTarget {
        KubeTarget {
            kubeconfig: Some("/home/ops/mcp-k3s.yaml".into()),
            server: server.into(),
            ..Default::default()
        }
    }

    fn unreachable(cause: UnreachableCause, server: &str) -> EvidenceError {
        EvidenceError::Unreachable {
            cause,
            server: server.into(),
            message: "boom".into(),
        }
    }

    #[test]
    fn copied_k3s_kubeconfig_gets_the_sed_fix() {
        let o = diagnose(
            &unreachable(UnreachableCause::Refused, "https://127.0.0.1:6443"),
            Some(&target("https://127.0.0.1:6443")),
        );
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.contains("without replacing 127.0.0.1"),
            "{}",
            o.message
        );
        assert!(
            o.remediation
                .unwrap()
                .text
                .contains("sed -i.bak 's/127.0.0.1/")
        );
    }

    #[test]
    fn causes_are_told_apart() {
        let t = target("https://10.0.0.11:6443");
        let cases = [
            (
                unreachable(UnreachableCause::Refused, "https://10.0.0.11:6443"),
                "refused",
                "rem.api-unreachable",
            ),
            (
                unreachable(UnreachableCause::Dns, "https://cp.example.test:6443"),
                "does not resolve",
                "rem.api-unreachable",
            ),
            (
                unreachable(UnreachableCause::Tls, "https://10.0.0.11:6443"),
                "TLS handshake",
                "rem.api-tls",
            ),
            (
                EvidenceError::Unauthorized {
                    message: "Unauthorized".into(),
                },
                "401",
                "rem.api-credentials",
            ),
            (
                unreachable(UnreachableCause::NoKubeconfig, ""),
                "no cluster",
                "rem.no-kubeconfig",
            ),
            (
                unreachable(UnreachableCause::BadKubeconfig, ""),
                "boom",
                "rem.bad-kubeconfig",
            ),
        ];
        for (err, needle, rem) in cases {
            let o = diagnose(&err, Some(&t));
            assert_eq!(o.status, Status::Fail, "{err:?}");
            assert!(o.message.contains(needle), "{needle}: {}", o.message);
            assert_eq!(o.remediation.as_ref().unwrap().id, rem);
        }
    }

    #[test]
    fn timeout_is_an_error_not_a_failure() {
        let o = diagnose(
            &EvidenceError::Timeout {
                what: "/version".into(),
                secs: 2,
            },
            Some(&target("https://10.0.0.11:6443")),
        );
        assert_eq!(o.status, Status::Error);
    }
}
