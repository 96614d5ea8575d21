use async_trait::async_trait;
use k8s_openapi::api::networking::v1::IngressClass;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{Scope, kinds, list_typed};
use crate::ingress::traefik::{self, CLASS};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The IngressClass `traefik` exists (cluster-scoped, `kubectl get ingressclass`), and names its
    /// controller. Before setup with `--ingress traefik` (the default) and no Traefik installed yet, it skips:
    /// setup installs Traefik and its class.
    ///
    /// ### Why it matters
    /// Every platform Ingress (platform, registry and mcp hosts) names `ingressClassName: traefik`. Without
    /// the class, Traefik ignores them: the hosts answer Traefik's 404 and cert-manager's HTTP-01 solver
    /// Ingress is never routed, so certificates are never issued.
    ///
    /// ### What a failure looks like
    /// `IngressClass traefik is missing (the cluster has: nginx): Ingresses with ingressClassName traefik are
    /// served by no controller although k3s's bundled Traefik (kube-system, HelmChart traefik) runs`
    ///
    /// ### How to fix
    /// Recreate the class, e.g. `kubectl apply -f -` with an IngressClass `traefik` whose controller is
    /// `traefik.io/ingress-controller`; on k3s make the bundled chart own it again with a HelmChartConfig
    /// (`ingressClass.enabled: true`). The remediation prints both.
    pub struct TraefikClass {
        id: "ingress.traefik-class",
        title: "IngressClass traefik exists",
        category: "ingress",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::INGRESS_CLASSES, kinds::NODES, kinds::DEPLOYMENTS, kinds::SERVICES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::HELM_CHARTS],
    }
}

#[async_trait]
impl Check for TraefikClass {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let classes: Vec<IngressClass> = match list_typed(
            ctx.evidence.kube.as_ref(),
            &kinds::INGRESS_CLASSES,
            &Scope::Cluster,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => return unreadable("the IngressClasses", &e),
        };
        if let Some(class) = classes
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(CLASS))
        {
            let controller = class
                .spec
                .as_ref()
                .and_then(|s| s.controller.as_deref())
                .unwrap_or("no controller named");
            let default = class
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("ingressclass.kubernetes.io/is-default-class"))
                .is_some_and(|v| v == "true");
            return Outcome::pass(format!(
                "IngressClass traefik exists (controller {controller}{})",
                if default { ", the default class" } else { "" }
            ))
            .detail("controller", controller);
        }
        let installs = match traefik::installs(ctx).await {
            Ok(i) => i,
            Err(o) => return o,
        };
        if traefik::chosen(ctx, &installs).is_none() {
            // No Traefik at all: that is the root cause (and before setup --ingress traefik, expected).
            return traefik::no_traefik(ctx).await;
        }
        let others: Vec<&str> = classes
            .iter()
            .filter_map(|c| c.metadata.name.as_deref())
            .collect();
        let has = if others.is_empty() {
            "the cluster has no IngressClass".to_string()
        } else {
            format!("the cluster has: {}", others.join(", "))
        };
        let runs = installs
            .iter()
            .find(|i| i.active())
            .map(|i| format!(" although {} runs", i.label()))
            .unwrap_or_default();
        let vars = Vars::from([(
            "namespace",
            installs
                .first()
                .map(|i| i.namespace.clone())
                .unwrap_or_else(|| traefik::K3S_NAMESPACE.into()),
        )]);
        Outcome::fail(format!(
            "IngressClass traefik is missing ({has}): Ingresses with ingressClassName traefik are served by no \
             controller{runs}"
        ))
        .detail("ingress_classes", &others)
        .remediate(
            "rem.traefik-ingressclass",
            ctx.distribution().await,
            &vars,
        )
        .subject("ingressclass/traefik")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::testing::{FrontDoor, ingress_class};
    use crate::model::Status;
    use crate::test_support::expect;

    #[tokio::test]
    async fn existing_class_passes() {
        let o = FrontDoor::reference().case().run(&TraefikClass).await;
        expect(
            &o,
            Status::Pass,
            &[
                "IngressClass traefik exists",
                "traefik.io/ingress-controller",
            ],
        );
    }

    #[tokio::test]
    async fn missing_class_fails_with_the_manifest() {
        let mut fd = FrontDoor::reference();
        fd.classes = vec![ingress_class("nginx", "k8s.io/ingress-nginx")];
        let o = fd.case().run(&TraefikClass).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "IngressClass traefik is missing (the cluster has: nginx)",
                "k3s's bundled Traefik",
            ],
        );
        assert_eq!(rem, "rem.traefik-ingressclass");
        assert!(
            o.remediation
                .unwrap()
                .text
                .contains("traefik.io/ingress-controller")
        );
        assert_eq!(o.subjects, vec!["ingressclass/traefik"]);
    }

    #[tokio::test]
    async fn before_setup_without_traefik_it_skips() {
        let mut fd = FrontDoor::reference();
        fd.classes.clear();
        fd.without_traefik();
        fd.env.retain(|(k, _)| k != "MCP_SETUP_INGRESS");
        let o = fd.case().run(&TraefikClass).await;
        assert_eq!(o.status, Status::Skip, "{}", o.message);
    }

    #[tokio::test]
    async fn k3s_traefik_disabled_with_ingress_none_fails_naming_the_flag() {
        let mut fd = FrontDoor::reference();
        fd.classes.clear();
        fd.without_traefik();
        fd.nodes[0]["metadata"]["annotations"]["k3s.io/node-args"] =
            serde_json::json!("[\"server\",\"--disable\",\"traefik\"]");
        let o = fd.case().run(&TraefikClass).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "no Traefik is installed (the k3s server mcp-cp-1 runs with --disable traefik)",
                "--ingress none",
            ],
        );
        assert_eq!(rem, "rem.traefik-missing");
    }
}
