use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::Engine;
use serde_json::Value;

use super::str_at;
use crate::check::{Check, Context};
use crate::config::{Finding, vars, verdict};
use crate::containerd::reference::{self, split_port};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};
use crate::platform::{list_in, platform_workloads};

declare_check! {
    /// ### What it checks
    /// Every `imagePullSecrets` entry referenced by a Deployment or Pod in the platform namespaces of the
    /// detected layout (`mcp-runtime`, `registry`, `mcp-sentinel` or `mcp-platform`/`mcp-observability`, and
    /// `mcp-servers`, where MCPServers live), each read per namespace:
    ///
    /// - the Secret exists in that namespace;
    /// - it is of type `kubernetes.io/dockerconfigjson` (kubelet reads pull credentials only from that type
    ///   and the legacy `kubernetes.io/dockercfg`);
    /// - its `auths` hold an entry for the registry host of at least one image of the workloads that
    ///   reference it, matched the way kubelet does (scheme and path ignored, the port must match, `*.`
    ///   globs one label, `index.docker.io` is Docker Hub).
    ///
    /// Only the host keys of `auths` are read: a recording reduces docker configs to those keys, so no
    /// credential reaches a check, a journal or a bundle. Pull secrets of a ServiceAccount are judged through
    /// the Pods: the ServiceAccount admission plugin copies them into each Pod's `imagePullSecrets`.
    ///
    /// ### Why it matters
    /// A missing, mistyped or wrong-host pull secret is ignored silently by kubelet: the pull goes out without
    /// credentials and fails with `401 Unauthorized` / `pull access denied`, which looks like a registry
    /// outage.
    ///
    /// ### What a failure looks like
    /// `Secret mcp-runtime/mcp-runtime-registry-pull-creds (used by Deployment
    /// mcp-runtime/mcp-runtime-operator-controller-manager) holds credentials for ghcr.io, not for the image
    /// host registry.example.com`.
    ///
    /// ### How to fix
    /// Recreate the Secret with `kubectl create secret docker-registry ... --docker-server=<image host>`
    /// (`rem.registry-pull-secret`).
    pub struct RegistryPullSecrets {
        id: "registry.pull-secrets",
        title: "Referenced image pull secrets exist and hold the image host",
        category: "registry",
        modes: Doctor,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NAMESPACES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::DEPLOYMENTS, kinds::PODS, kinds::MCP_SERVERS, kinds::SECRETS],
        read_scope: PlatformNamespaces,
    }
}

/// The workloads and images that reference one pull secret.
#[derive(Default)]
struct Users {
    workloads: Vec<String>,
    images: Vec<String>,
}

const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";
const DOCKER_CFG: &str = "kubernetes.io/dockercfg";

#[async_trait]
impl Check for RegistryPullSecrets {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let workloads = match platform_workloads(ctx).await {
            Ok(w) => w,
            Err(o) => return o,
        };
        let mut users: BTreeMap<(String, String), Users> = BTreeMap::new();
        for w in &workloads {
            let workload = format!("{} {}/{}", w.kind, w.namespace, w.name);
            for secret in w
                .pod_spec
                .get("imagePullSecrets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("name").and_then(Value::as_str))
            {
                let u = users
                    .entry((w.namespace.clone(), secret.to_string()))
                    .or_default();
                u.workloads.push(workload.clone());
                for i in &w.images {
                    if !u.images.contains(i) {
                        u.images.push(i.clone());
                    }
                }
            }
        }
        if users.is_empty() {
            return Outcome::pass(
                "no platform workload or MCPServer pod references an imagePullSecret",
            );
        }
        let mut secret_namespaces: Vec<String> = users.keys().map(|(ns, _)| ns.clone()).collect();
        secret_namespaces.dedup();
        let secrets: Vec<Value> = match list_in(ctx, &kinds::SECRETS, &secret_namespaces).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let mut findings = Vec::new();
        let mut subjects = Vec::new();
        for ((ns, name), u) in &users {
            let secret = secrets.iter().find(|s| {
                str_at(s, "/metadata/namespace") == Some(ns.as_str())
                    && str_at(s, "/metadata/name") == Some(name.as_str())
            });
            let image_hosts: Vec<String> = u
                .images
                .iter()
                .filter_map(|i| reference::parse(i).ok())
                .map(|r| r.domain)
                .fold(Vec::new(), |mut acc, h| {
                    if !acc.contains(&h) {
                        acc.push(h);
                    }
                    acc
                });
            let used_by = u.workloads.join(", ");
            let rem = vars([
                ("namespace", ns.clone()),
                ("secret", name.clone()),
                (
                    "image_host",
                    image_hosts
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "<registry host>".into()),
                ),
            ]);
            let problem = match secret {
                None => Some(format!(
                    "Secret {ns}/{name} (imagePullSecret of {used_by}) does not exist: kubelet pulls {} without credentials",
                    image_hosts.join(", ")
                )),
                Some(s) => {
                    let type_ = str_at(s, "/type").unwrap_or("Opaque");
                    if type_ != DOCKER_CONFIG_JSON {
                        Some(format!(
                            "Secret {ns}/{name} (imagePullSecret of {used_by}) is of type {type_}, not {DOCKER_CONFIG_JSON}{}",
                            if type_ == DOCKER_CFG {
                                ": the legacy format; recreate it as dockerconfigjson"
                            } else {
                                ": kubelet ignores it for pulls"
                            }
                        ))
                    } else {
                        let hosts = auth_hosts(s);
                        let matched = image_hosts
                            .iter()
                            .any(|h| hosts.iter().any(|k| key_matches(k, h)));
                        (!matched).then(|| {
                            format!(
                                "Secret {ns}/{name} (imagePullSecret of {used_by}) holds credentials for {}, not for the image host {}",
                                if hosts.is_empty() { "no registry".to_string() } else { hosts.join(", ") },
                                image_hosts.join(", ")
                            )
                        })
                    }
                }
            };
            if let Some(message) = problem {
                findings.push(Finding::fail(message, "rem.registry-pull-secret", rem));
                subjects.push(format!("secret/{ns}/{name}"));
            }
        }
        let count = users.len();
        verdict(
            findings,
            format!("{count} referenced pull secret(s) exist, are {DOCKER_CONFIG_JSON} and hold their image hosts"),
        )
        .subjects(subjects)
        .detail(
            "pull_secrets",
            users.keys().map(|(ns, n)| format!("{ns}/{n}")).collect::<Vec<_>>(),
        )
    }
}

/// The registry keys of a (reduced) `.dockerconfigjson`'s `auths`; empty when it holds none or cannot be
/// decoded.
fn auth_hosts(secret: &Value) -> Vec<String> {
    str_at(secret, "/data/.dockerconfigjson")
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|c| {
            c.get("auths")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
        })
        .unwrap_or_default()
}

/// Whether a docker config key names an image's registry (`host[:port]`) the way kubelet's keyring matches:
/// scheme and path dropped, case-insensitive, ports equal, a `*` label matching one label, and Docker Hub's
/// `index.docker.io` / `registry-1.docker.io` standing for `docker.io`.
pub fn key_matches(key: &str, image_host: &str) -> bool {
    let key = key.trim().to_ascii_lowercase();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(&key);
    let key = key.split('/').next().unwrap_or_default();
    let hub = |h: &str| match h {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        other => other.to_string(),
    };
    let image_host = image_host.to_ascii_lowercase();
    let ((k_host, k_port), (i_host, i_port)) = (split_port(key), split_port(&image_host));
    if k_port != i_port {
        return false;
    }
    let (k_host, i_host) = (hub(k_host), hub(i_host));
    let k_labels: Vec<&str> = k_host.split('.').collect();
    let i_labels: Vec<&str> = i_host.split('.').collect();
    k_labels.len() == i_labels.len()
        && k_labels
            .iter()
            .zip(&i_labels)
            .all(|(k, i)| *k == "*" || k == i)
}
