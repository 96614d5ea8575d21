use async_trait::async_trait;
use mcp_doctor_remediations::Vars;
use serde_json::json;

use super::fix::{self, NODE_CA_FILE};
use super::trust::{Trust, bundled_registry_ca, node_trust};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};
use crate::tls::cert::and_list;

declare_check! {
    /// ### What it checks
    /// With the bundled registry served over HTTPS (`--registry-mode bundled-https`, or `auto` when
    /// `registry/registry-internal-tls` exists) and nodes pulling from the registry pod itself (the pull host
    /// `MCP_REGISTRY_ENDPOINT`, default `registry.registry.svc.cluster.local:5000`, not the public ingress
    /// host): every node trusts the CA that issued the registry's internal certificate
    /// (`cert-manager/mcp-runtime-ca`). The CA is read from `registry-internal-tls`'s `ca.crt` (else the
    /// `mcp-runtime-ca` Secret) and compared by SHA-256 fingerprint with what containerd on the node would use
    /// for the pull host: the `ca` of the matching `certs.d/<host>/hosts.toml` (or the `*.crt` files of a
    /// directory without one), k3s `registries.yaml` `configs.<host>.tls.ca_file` as k3s renders it, or the
    /// system trust store's added anchors (`/usr/local/share/ca-certificates`,
    /// `/etc/pki/ca-trust/source/anchors`). `mcp-doctor host-facts` records those fingerprints (never keys);
    /// a named CA file without one is a warning, never a pass.
    ///
    /// ### Why it matters
    /// kubelet pulls through containerd, which verifies the registry's certificate against the node's trust,
    /// not the cluster's. A node without the CA fails every platform pull with `x509: certificate signed by
    /// unknown authority`, while the in-cluster registry probe (which uses the CA) looks healthy.
    ///
    /// ### What a failure looks like
    /// `node mcp-worker-1 does not trust mcp-runtime-ca (Secret registry/registry-internal-tls ca.crt, SHA-256
    /// 3F:...) for registry.registry.svc.cluster.local:5000: no CA file for
    /// https://registry.registry.svc.cluster.local:5000/v2 (default) and the CA is not in the system trust
    /// store; pulls fail with x509: certificate signed by unknown authority`
    ///
    /// ### How to fix
    /// Install the CA on the listed nodes and name it in the registry configuration (remediation
    /// `rem.containerd-ca-trust`, with the generated snippet for the distribution).
    pub struct ContainerdCaTrust {
        id: "containerd.ca-trust",
        title: "Every node trusts the bundled registry's CA",
        category: "node",
        modes: Both,
        depends_on: [],
        reads: [kinds::SECRETS],
    }
}

#[async_trait]
impl Check for ContainerdCaTrust {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let ca = match bundled_registry_ca(ctx).await {
            Ok(ca) => ca,
            Err(o) => return o,
        };
        let hosts = match crate::facts::host_facts_to_judge(ctx).await {
            Ok(hosts) => hosts,
            Err(outcome) => return outcome,
        };
        let mut trusted = Vec::new();
        let mut untrusted = Vec::new();
        let mut unknown = Vec::new();
        for (node, facts) in hosts.iter() {
            match node_trust(facts, &ca) {
                Trust::Trusted(how) => trusted.push(json!({"node": node, "by": how})),
                Trust::Untrusted(why) => untrusted.push((node.clone(), why)),
                Trust::Unknown(why) => unknown.push((node.clone(), why)),
            }
        }
        let fingerprint = ca.fingerprints.first().cloned().unwrap_or_default();
        let what = format!("mcp-runtime-ca ({}, SHA-256 {fingerprint})", ca.source);
        let (bad, status) = if !untrusted.is_empty() {
            (&untrusted, crate::model::Status::Fail)
        } else if !unknown.is_empty() {
            (&unknown, crate::model::Status::Warn)
        } else {
            return Outcome::pass(format!(
                "all {} node(s) trust {what} for {}",
                hosts.len(),
                ca.pull_host
            ))
            .detail("trusted", &trusted);
        };
        let nodes: Vec<String> = bad.iter().map(|(n, _)| n.clone()).collect();
        let message = bad
            .iter()
            .map(|(n, why)| {
                format!(
                    "node {n} does not trust {what} for {}: {why}; pulls fail with x509: certificate signed by \
                     unknown authority",
                    ca.pull_host
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let failing: Vec<_> = nodes.iter().filter_map(|n| hosts.get(n)).collect();
        let access = fix::access_for(
            &ca.pull_host,
            &failing,
            &hosts,
            None,
            Some(NODE_CA_FILE.into()),
        );
        // A bundled-https registry is never plain HTTP, whatever its name looks like.
        let access = mcp_doctor_remediations::RegistryAccess {
            endpoint: format!("https://{}", ca.pull_host),
            ..access
        };
        let vars = Vars::from([
            ("nodes", and_list(&nodes)),
            ("image_host", ca.pull_host.clone()),
            ("ca", "mcp-runtime-ca".to_string()),
            ("fingerprint", fingerprint),
            ("ca_file", NODE_CA_FILE.to_string()),
        ]);
        Outcome::of(status, message)
            .detail("trusted", &trusted)
            .remediate("rem.containerd-ca-trust", ctx.distribution().await, &vars)
            .snippet(fix::snippet(ctx, &hosts, &[access], &nodes).await)
            .subjects(nodes.iter().map(|n| format!("node/{n}")))
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::test_ca_pem as ca_pem;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::{Value, json};

    use super::*;
    use crate::evidence::Scope;
    use crate::evidence::host::{TRUST_STORE_DIRS, pem_fingerprints};
    use crate::model::Status;
    use crate::test_support::{Case, expect, facts_with_files};

    fn internal_tls(ca: &str) -> Value {
        json!({
            "metadata": { "name": "registry-internal-tls", "namespace": "registry" },
            "type": "kubernetes.io/tls",
            "data": { "ca.crt": STANDARD.encode(ca) },
        })
    }

    /// The cluster's CA is `ca`; node `trusting` has `node_ca` in the system trust store (by fingerprint), the
    /// other node has nothing.
    fn case(ca: &str, node_ca: &str, trusting: &str, other: &str) -> Case {
        let mut trusted = facts_with_files(trusting, &[]);
        let path = format!("{}/mcp-runtime-ca.crt", TRUST_STORE_DIRS[0]);
        trusted["files"][&path] = json!({ "mode": 0o644, "uid": 0, "size": 1100,
                                          "sha256": pem_fingerprints(node_ca.as_bytes()) });
        Case::new()
            .flag("registry_mode", "bundled-https")
            .objects(
                &kinds::SECRETS,
                Scope::AllNamespaces,
                vec![internal_tls(ca)],
            )
            .file(&format!("host/{trusting}.json"), trusted.to_string())
            .file(
                &format!("host/{other}.json"),
                facts_with_files(other, &[]).to_string(),
            )
    }

    #[tokio::test]
    async fn a_node_without_the_ca_fails_with_the_x509_error_and_the_snippet() {
        let ca = ca_pem();
        let o = case(&ca, &ca, "mcp-worker-1", "mcp-worker-2")
            .run(&ContainerdCaTrust)
            .await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "node mcp-worker-2 does not trust mcp-runtime-ca",
                "registry.registry.svc.cluster.local:5000",
                "x509: certificate signed by unknown authority",
            ],
        );
        assert_eq!(rem, "rem.containerd-ca-trust");
        assert_eq!(o.subjects, ["node/mcp-worker-2"]);
        let snippet = o.remediation.unwrap().snippet.unwrap();
        assert!(
            snippet.contains(&format!("ca_file: \"{NODE_CA_FILE}\"")),
            "{snippet}"
        );
    }

    #[tokio::test]
    async fn the_ca_in_the_trust_store_passes_and_another_ca_does_not() {
        let ca = ca_pem();
        let mut both = case(&ca, &ca, "mcp-worker-1", "mcp-worker-2");
        let mut second = facts_with_files("mcp-worker-2", &[]);
        let path = format!("{}/mcp-runtime-ca.crt", TRUST_STORE_DIRS[1]);
        second["files"][&path] = json!({ "mode": 0o644, "uid": 0, "size": 1100, "sha256": pem_fingerprints(ca.as_bytes()) });
        both = both.file("host/mcp-worker-2.json", second.to_string());
        expect(
            &both.run(&ContainerdCaTrust).await,
            Status::Pass,
            &["all 2 node(s) trust"],
        );
        // A node trusting some other CA does not trust this one.
        let o = case(&ca, &ca_pem(), "mcp-worker-1", "mcp-worker-2")
            .run(&ContainerdCaTrust)
            .await;
        expect(&o, Status::Fail, &["node mcp-worker-1 does not trust"]);
    }

    #[tokio::test]
    async fn pulls_through_the_public_ingress_are_not_judged() {
        let ca = ca_pem();
        let o = case(&ca, &ca, "mcp-worker-1", "mcp-worker-2")
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .env("MCP_REGISTRY_ENDPOINT", "registry.example.com")
            .run(&ContainerdCaTrust)
            .await;
        assert_eq!(o.status, Status::Skip, "{o:#?}");
    }
}
