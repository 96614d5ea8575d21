use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Pod, Secret};
use mcp_doctor_remediations::Vars;

use super::{SENTINEL_API, SENTINEL_SECRETS, list_in, pod_problem, pods_of};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};

/// The two keys the API seeds the first platform admin from; both or neither.
pub const ADMIN_KEYS: [&str; 2] = ["PLATFORM_ADMIN_EMAIL", "PLATFORM_ADMIN_PASSWORD"];
/// The API's error when only one is set.
pub const SEED_ERROR: &str = "failed to seed platform admin";

declare_check! {
    /// ### What it checks
    /// Sentinel's managed Secret `mcp-sentinel-secrets` holds both admin bootstrap keys
    /// (`PLATFORM_ADMIN_EMAIL`, `PLATFORM_ADMIN_PASSWORD`) or neither. Only key names are read, never
    /// values. When only one is there and `mcp-sentinel-api` is crash-looping, the message says that this
    /// is why (the API exits with `failed to seed platform admin: PLATFORM_ADMIN_EMAIL and
    /// PLATFORM_ADMIN_PASSWORD must both be set` on a clean database).
    ///
    /// ### Why it matters
    /// The crash loop looks like a database or auth bug; it is a half-set bootstrap pair.
    ///
    /// ### What a failure looks like
    /// `mcp-sentinel/mcp-sentinel-secrets has PLATFORM_ADMIN_EMAIL but not PLATFORM_ADMIN_PASSWORD: this is
    /// why mcp-sentinel-api crash-loops (...)`.
    ///
    /// ### How to fix
    /// Add the missing key to the Secret (or remove both after the first successful bring-up), then restart
    /// the API: `kubectl -n mcp-sentinel rollout restart deploy/mcp-sentinel-api`.
    pub struct AdminBootstrap {
        id: "platform.admin-bootstrap",
        title: "Admin bootstrap keys: both or neither",
        category: "platform",
        modes: Doctor,
        depends_on: ["platform.namespaces"],
        reads: [kinds::SECRETS, kinds::PODS],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for AdminBootstrap {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (layout, _) = match super::layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let secrets: Vec<Secret> = match list_in(ctx, &kinds::SECRETS, &layout.sentinel).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let Some(secret) = secrets
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(SENTINEL_SECRETS))
        else {
            return Outcome::warn(format!(
                "Secret {SENTINEL_SECRETS} not found in {}: setup writes it and the API reads it",
                layout.sentinel.join(", ")
            ))
            .remediate(
                "rem.platform-rerun-setup",
                ctx.distribution().await,
                &Vars::new(),
            )
            .subject(format!("secret/{}/{SENTINEL_SECRETS}", layout.sentinel[0]));
        };
        let ns = secret.metadata.namespace.clone().unwrap_or_default();
        let has = |k: &str| {
            secret.data.as_ref().is_some_and(|d| d.contains_key(k))
                || secret
                    .string_data
                    .as_ref()
                    .is_some_and(|d| d.contains_key(k))
        };
        let present: Vec<&str> = ADMIN_KEYS.iter().copied().filter(|k| has(k)).collect();
        if present.len() != 1 {
            return Outcome::pass(format!(
                "{ns}/{SENTINEL_SECRETS} holds {} admin bootstrap keys",
                if present.is_empty() {
                    "neither of the"
                } else {
                    "both"
                }
            ));
        }
        let missing = ADMIN_KEYS.iter().find(|k| !has(k)).copied().unwrap_or("");
        let mut msg = format!(
            "{ns}/{SENTINEL_SECRETS} has {} but not {missing}",
            present[0]
        );
        let pods: Vec<Pod> = match list_in(ctx, &kinds::PODS, &layout.sentinel).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        let crashing: Vec<(String, String)> = layout
            .sentinel
            .iter()
            .flat_map(|n| pods_of(&pods, n, SENTINEL_API))
            .filter_map(|p| {
                pod_problem(p)
                    .filter(|w| w.contains("CrashLoopBackOff"))
                    .map(|w| (p.metadata.name.clone().unwrap_or_default(), w))
            })
            .collect();
        let mut subjects = vec![format!("secret/{ns}/{SENTINEL_SECRETS}")];
        if let Some((pod, why)) = crashing.first() {
            let seen = if why.contains(SEED_ERROR) {
                "its last exit says so"
            } else {
                "the API exits with `failed to seed platform admin` on a clean database"
            };
            msg.push_str(&format!(
                ": this is why {SENTINEL_API} crash-loops ({seen}; pod {pod}: {why})"
            ));
            subjects.push(format!("deployment/{ns}/{SENTINEL_API}"));
        } else {
            msg.push_str(&format!(
                ": {SENTINEL_API} will fail to seed the first admin on a clean database"
            ));
        }
        let mut vars = Vars::new();
        vars.insert("namespace", ns.clone());
        vars.insert("missing", missing.to_string());
        Outcome::fail(msg)
            .detail("present", &present)
            .detail("missing", missing)
            .remediate(
                "rem.platform-admin-bootstrap",
                ctx.distribution().await,
                &vars,
            )
            .subjects(subjects)
    }
}
