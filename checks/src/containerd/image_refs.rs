use async_trait::async_trait;
use mcp_doctor_remediations::Vars;
use serde_json::Value;

use super::reference;
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::model::{CheckMeta, Outcome};
use crate::platform::{list_in, namespaces_to_read, platform_images};

declare_check! {
    /// ### What it checks
    /// No image reference of the platform's workloads (Deployments and Pods in the platform namespaces) or
    /// of an MCPServer (`spec.image`) names the ClusterIP of a platform Service (one in the platform
    /// namespaces) as its registry host, such as the registry Service's `10.43.x.y:5000`. Everything is read
    /// per platform namespace, so grants limited to them suffice.
    ///
    /// ### Why it matters
    /// containerd pulls on the node, verifying TLS against the exact image host: the registry certificate
    /// has no IP SANs, a ClusterIP changes whenever the Service is recreated, and a plain-HTTP ClusterIP
    /// needs a mirror entry per IP on every node. Pods rendered with a ClusterIP break on the next reinstall.
    ///
    /// ### What a failure looks like
    /// `MCPServer/Pod image 10.43.118.20:5000/mcp-servers/weather:0.3.2 (mcp-servers) uses the ClusterIP of
    /// Service registry/registry`
    ///
    /// ### How to fix
    /// Pull by a name (remediation `rem.registry-pull-host-ip`): the public registry host, or
    /// `registry.local:32000` on the dev path, and rerun setup so image references are rendered again.
    pub struct RegistryImageRefs {
        id: "registry.image-refs",
        title: "No image reference uses a Service ClusterIP",
        category: "node",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::NAMESPACES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::DEPLOYMENTS, kinds::PODS, kinds::MCP_SERVERS, kinds::SERVICES],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for RegistryImageRefs {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let images = match platform_images(ctx).await {
            Ok(i) => i,
            Err(o) => return o,
        };
        if images.is_empty() {
            return Outcome::skip("no images in the platform namespaces or MCPServers");
        }
        // The registry Service and every other platform Service live in the platform namespaces.
        let namespaces = namespaces_to_read(ctx).await;
        let services: Vec<Value> = match list_in(ctx, &kinds::SERVICES, &namespaces).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let cluster_ip = |ip: &str| {
            services.iter().find_map(|s| {
                let ips = s.pointer("/spec/clusterIPs").and_then(Value::as_array);
                let hit = s.pointer("/spec/clusterIP").and_then(Value::as_str) == Some(ip)
                    || ips.is_some_and(|a| a.iter().any(|v| v.as_str() == Some(ip)));
                hit.then(|| {
                    let f = |p: &str| s.pointer(p).and_then(Value::as_str).unwrap_or("?");
                    format!("{}/{}", f("/metadata/namespace"), f("/metadata/name"))
                })
            })
        };
        let mut found: Vec<(String, String, String)> = Vec::new();
        for raw in &images {
            let Ok(r) = reference::parse(raw) else {
                continue;
            };
            let host = r.hostname().trim_start_matches('[').trim_end_matches(']');
            if let Some(svc) = cluster_ip(host)
                && !found.iter().any(|(i, _, _)| i == raw)
            {
                found.push((raw.clone(), host.to_string(), svc));
            }
        }
        let Some((_, ip, _)) = found.first() else {
            return Outcome::pass(format!(
                "none of {} image reference(s) names a Service ClusterIP",
                images.len()
            ));
        };
        let public = ctx
            .config
            .public_hosts()
            .registry
            .map(|s| s.value.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "registry.<domain>".into());
        let vars = Vars::from([("pull_host", ip.clone()), ("registry_host", public)]);
        let message = found
            .iter()
            .map(|(img, _, svc)| format!("image {img} uses the ClusterIP of Service {svc}"))
            .collect::<Vec<_>>()
            .join("; ");
        Outcome::fail(message)
            .remediate("rem.registry-pull-host-ip", ctx.distribution().await, &vars)
            .subjects(found.iter().map(|(_, _, svc)| format!("service/{svc}")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evidence::Scope;
    use crate::model::Status;
    use crate::test_support::Case;

    fn case(image: &str) -> Case {
        Case::new()
            .objects(&kinds::DEPLOYMENTS, Scope::AllNamespaces, vec![])
            .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, vec![])
            .objects(
                &kinds::PODS,
                Scope::AllNamespaces,
                vec![json!({
                    "metadata": {"name": "weather-0", "namespace": "mcp-servers"},
                    "spec": {"containers": [{"name": "server", "image": image}]}
                })],
            )
            .objects(
                &kinds::SERVICES,
                Scope::AllNamespaces,
                vec![json!({
                    "metadata": {"name": "registry", "namespace": "registry"},
                    "spec": {"clusterIP": "10.43.118.20", "clusterIPs": ["10.43.118.20"]}
                })],
            )
    }

    #[tokio::test]
    async fn a_cluster_ip_image_fails_naming_the_service() {
        let ctx = case("10.43.118.20:5000/mcp-servers/weather:0.3.2").build();
        let out = RegistryImageRefs.run(&ctx).await;
        assert_eq!(out.status, Status::Fail, "{out:?}");
        assert_eq!(
            out.message,
            "image 10.43.118.20:5000/mcp-servers/weather:0.3.2 uses the ClusterIP of Service registry/registry"
        );
        assert_eq!(out.subjects, ["service/registry/registry"]);
        assert_eq!(
            out.remediation.expect("remediation").id,
            "rem.registry-pull-host-ip"
        );
    }

    #[tokio::test]
    async fn a_named_registry_passes() {
        let ctx = case("registry.local:32000/mcp-servers/weather:0.3.2").build();
        assert_eq!(RegistryImageRefs.run(&ctx).await.status, Status::Pass);
    }
}
