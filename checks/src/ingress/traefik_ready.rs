use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::ingress::traefik;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The Traefik the platform uses is ready: the one `PLATFORM_TRAEFIK_NAMESPACE` names, else k3s's bundled
    /// one (`kube-system`, deployed by the HelmChart `traefik`), else the repo-managed one (`traefik`). Its
    /// Deployment has every desired replica ready. Before setup with `--ingress traefik` and no Traefik yet,
    /// it skips (setup installs it).
    ///
    /// ### Why it matters
    /// Traefik answers every public host on 80 and 443 and serves cert-manager's HTTP-01 challenges: with
    /// it down, the dashboard, the registry and MCP routes are all unreachable and no certificate is issued.
    ///
    /// ### What a failure looks like
    /// `k3s's bundled Traefik (kube-system, HelmChart traefik): deployment kube-system/traefik has 0/1 ready
    /// replicas (Available=False: Deployment does not have minimum availability.)`, or `HelmChart
    /// kube-system/traefik exists but its Deployment does not: the helm-install-traefik job has not finished`.
    ///
    /// ### How to fix
    /// `kubectl -n <ns> describe deploy traefik` and its pods' events; on k3s also `kubectl -n kube-system logs
    /// job/helm-install-traefik` when the chart did not install.
    pub struct TraefikReady {
        id: "ingress.traefik-ready",
        title: "Traefik is ready",
        category: "ingress",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::DEPLOYMENTS, kinds::NODES, kinds::SERVICES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::HELM_CHARTS],
    }
}

#[async_trait]
impl Check for TraefikReady {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (installs, i) = match traefik::the_traefik(ctx).await {
            Ok(found) => found,
            Err(o) => return o,
        };
        let t = &installs[i];
        let vars = Vars::from([
            ("namespace", t.namespace.clone()),
            ("deployment", t.deployment_name().to_string()),
        ]);
        let fail = |message: String| async move {
            Outcome::fail(message)
                .remediate("rem.traefik-unready", ctx.distribution().await, &vars)
                .subject(t.deployment_ref())
        };
        let Some(dep) = &t.deployment else {
            return fail(format!(
                "HelmChart {}/traefik exists but its Deployment does not: the helm-install-traefik job has not \
                 finished",
                t.namespace
            ))
            .await;
        };
        let (want, ready) = (t.desired(), t.ready());
        if want > 0 && ready >= want {
            return Outcome::pass(format!(
                "{}: deployment {}/{} has {ready}/{want} ready replicas",
                t.label(),
                t.namespace,
                t.deployment_name()
            ))
            .detail("ready_replicas", ready);
        }
        let condition = dep
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "Available" && c.status != "True")
            .map(|c| {
                format!(
                    " (Available={}: {})",
                    c.status,
                    c.message.as_deref().unwrap_or("")
                )
            })
            .unwrap_or_default();
        let scaled = if want == 0 { ", scaled to 0" } else { "" };
        fail(format!(
            "{}: deployment {}/{} has {ready}/{want} ready replicas{scaled}{condition}",
            t.label(),
            t.namespace,
            t.deployment_name()
        ))
        .await
        .detail("ready_replicas", ready)
        .detail("desired_replicas", want)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingress::testing::FrontDoor;
    use crate::model::Status;
    use crate::test_support::expect;

    #[tokio::test]
    async fn ready_k3s_traefik_passes() {
        let o = FrontDoor::reference().case().run(&TraefikReady).await;
        expect(
            &o,
            Status::Pass,
            &[
                "k3s's bundled Traefik (kube-system, HelmChart traefik)",
                "1/1 ready",
            ],
        );
    }

    #[tokio::test]
    async fn unready_traefik_fails_with_the_condition() {
        let mut fd = FrontDoor::reference();
        fd.deployments[0]["status"] = json!({"replicas": 1, "unavailableReplicas": 1, "conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
             "message": "Deployment does not have minimum availability."}]});
        let o = fd.case().run(&TraefikReady).await;
        expect(
            &o,
            Status::Fail,
            &[
                "0/1 ready replicas",
                "Deployment does not have minimum availability.",
            ],
        );
        assert_eq!(o.subjects, vec!["deployment/kube-system/traefik"]);
    }

    #[tokio::test]
    async fn no_traefik_after_install_fails() {
        let mut fd = FrontDoor::reference();
        fd.without_traefik();
        fd.env.retain(|(k, _)| k != "MCP_SETUP_INGRESS");
        let o = fd.case().run(&TraefikReady).await;
        assert_eq!(o.status, Status::Skip, "{}", o.message);
        fd.env.push(("MCP_SETUP_INGRESS".into(), "none".into()));
        let o = fd.case().run(&TraefikReady).await;
        expect(
            &o,
            Status::Fail,
            &["no Traefik is installed", "--ingress none"],
        );
    }
}
