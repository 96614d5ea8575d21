use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use mcp_doctor_remediations::Vars;
use serde_json::Value;

use super::{is_pull_failure, list_in, pod_problem, pods_of};
use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::facts;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// Every MCPServer in the platform namespaces (not being deleted) is reconciled: the operator made its
    /// Deployment, Service and Ingress (each named after the server), and the Deployment is ready. When it
    /// is not, the pods say why (an image pull failure or a crash loop).
    ///
    /// ### Why it matters
    /// `mcp.<domain>/<server>/mcp` answers 404 until all three exist, and a server whose image cannot be
    /// pulled never becomes ready however healthy the platform is.
    ///
    /// ### What a failure looks like
    /// `MCPServer mcp-servers/weather is not reconciled: deployment missing` or `MCPServer
    /// mcp-servers/weather 0/1 ready: pod weather-...: container weather ImagePullBackOff: ...`.
    ///
    /// ### How to fix
    /// For a missing object read the operator's logs (`kubectl -n mcp-runtime logs
    /// deploy/mcp-runtime-operator-controller-manager`) and the MCPServer's status; for a pull failure make the
    /// image pullable from every node.
    pub struct McpServers {
        id: "platform.mcpservers",
        title: "MCPServers are reconciled and running",
        category: "platform",
        modes: Doctor,
        depends_on: ["platform.crd"],
        reads: [kinds::MCP_SERVERS, kinds::DEPLOYMENTS, kinds::SERVICES, kinds::INGRESSES, kinds::PODS],
        read_scope: PlatformNamespaces,
    }
}

#[async_trait]
impl Check for McpServers {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (layout, _) = match super::layout(ctx).await {
            Ok(l) => l,
            Err(o) => return o,
        };
        let servers: Vec<Value> = match list_in(ctx, &kinds::MCP_SERVERS, &layout.all).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let servers: Vec<(String, String)> = servers
            .iter()
            .filter(|s| s["metadata"]["deletionTimestamp"].is_null())
            .map(|s| {
                (
                    s["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    s["metadata"]["name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        if servers.is_empty() {
            return Outcome::pass("no MCPServers in the platform namespaces yet");
        }
        let mut namespaces: Vec<String> = servers.iter().map(|(ns, _)| ns.clone()).collect();
        namespaces.sort();
        namespaces.dedup();
        let deployments: Vec<Deployment> =
            match list_in(ctx, &kinds::DEPLOYMENTS, &namespaces).await {
                Ok(d) => d,
                Err(o) => return o,
            };
        let services: Vec<Service> = match list_in(ctx, &kinds::SERVICES, &namespaces).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        let ingresses: Vec<Ingress> = match list_in(ctx, &kinds::INGRESSES, &namespaces).await {
            Ok(i) => i,
            Err(o) => return o,
        };
        let pods: Vec<Pod> = match list_in(ctx, &kinds::PODS, &namespaces).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        let named = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                     ns: &str,
                     name: &str| {
            m.namespace.as_deref() == Some(ns) && m.name.as_deref() == Some(name)
        };
        let mut findings = Vec::new();
        let mut subjects = Vec::new();
        let mut pull = false;
        let mut missing_any = false;
        for (ns, name) in &servers {
            let dep = deployments.iter().find(|d| named(&d.metadata, ns, name));
            let mut missing = Vec::new();
            if dep.is_none() {
                missing.push("deployment");
            }
            if !services.iter().any(|s| named(&s.metadata, ns, name)) {
                missing.push("service");
            }
            if !ingresses.iter().any(|i| named(&i.metadata, ns, name)) {
                missing.push("ingress");
            }
            if !missing.is_empty() {
                missing_any = true;
                findings.push(format!(
                    "MCPServer {ns}/{name} is not reconciled: {} missing",
                    missing.join(", ")
                ));
                subjects.push(format!("mcpserver/{ns}/{name}"));
                continue;
            }
            let Some(dep) = dep else { continue };
            let want = dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let ready = dep
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0);
            if ready < want {
                let why: Vec<String> = pods_of(&pods, ns, name)
                    .into_iter()
                    .filter_map(|p| {
                        pod_problem(p).map(|w| {
                            format!("pod {}: {w}", p.metadata.name.as_deref().unwrap_or(""))
                        })
                    })
                    .collect();
                pull |= why.iter().any(|w| is_pull_failure(w));
                findings.push(format!(
                    "MCPServer {ns}/{name} {ready}/{want} ready{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", why.join("; "))
                    }
                ));
                subjects.push(format!("mcpserver/{ns}/{name}"));
            }
        }
        if findings.is_empty() {
            let ready: Vec<String> = servers.iter().map(|(ns, n)| format!("{ns}/{n}")).collect();
            return Outcome::pass(format!(
                "{} MCPServer(s) reconciled and ready: {}",
                servers.len(),
                facts::listed(&ready, ", ")
            ))
            .detail("mcpservers", ready);
        }
        let mut vars = Vars::new();
        vars.insert("namespace", namespaces[0].clone());
        let rem = if pull && !missing_any {
            vars.insert("deployment", "<server>".to_string());
            "rem.platform-image-pull"
        } else {
            "rem.platform-mcpserver-not-reconciled"
        };
        Outcome::fail(facts::listed(&findings, "; "))
            .remediate(rem, ctx.distribution().await, &vars)
            .subjects(subjects)
    }
}
