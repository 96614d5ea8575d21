use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::ingress::traefik::{self, Flavor, describe_ports};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The Service of the Traefik the platform uses publishes Traefik's `web` entrypoint on port 80 and
    /// `websecure` on 443 (`kubectl -n kube-system get svc traefik`: `80:3xxxx/TCP,443:3xxxx/TCP`).
    ///
    /// ### Why it matters
    /// Let's Encrypt's HTTP-01 validator only ever connects to port 80, and browsers and registry clients
    /// expect 443. Traefik's containers listen on 8000 and 8443; a Service that publishes those ports as they
    /// are (or a chart value that sets `exposedPort: 8000`) leaves 80 and 443 closed: certificates are never
    /// issued and every public URL needs a port.
    ///
    /// ### What a failure looks like
    /// `Service kube-system/traefik publishes web on port 8000, not 80 (ports: 8000→web, 443→websecure):
    /// HTTP-01 and plain http:// clients reach nothing on 80`
    ///
    /// ### How to fix
    /// Set the chart's `ports.web.exposedPort: 80` and `ports.websecure.exposedPort: 443` (on k3s, in a
    /// HelmChartConfig `kube-system/traefik`; the remediation prints it), or patch the Service's port.
    pub struct Entrypoints {
        id: "ingress.entrypoints",
        title: "Traefik publishes web on 80 and websecure on 443",
        category: "ingress",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::DEPLOYMENTS, kinds::NODES, kinds::SERVICES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::HELM_CHARTS],
    }
}

fn ports(svc: &Service) -> &[ServicePort] {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default()
}

/// The Service port that carries an entrypoint: named after it, or targeting it by name.
fn entry<'a>(svc: &'a Service, name: &str) -> Option<&'a ServicePort> {
    ports(svc).iter().find(|p| {
        p.name.as_deref() == Some(name)
            || matches!(&p.target_port, Some(IntOrString::String(t)) if t == name)
    })
}

/// What is wrong with one entrypoint, if anything, and the port it should have.
fn judge(svc: &Service, name: &str, want: i32) -> Option<(String, i32)> {
    if ports(svc)
        .iter()
        .any(|p| p.port == want && p.protocol.as_deref().unwrap_or("TCP") == "TCP")
    {
        return None;
    }
    Some(match entry(svc, name) {
        Some(p) => (
            format!("publishes {name} on port {}, not {want}", p.port),
            want,
        ),
        None => (format!("publishes no port {want} ({name})"), want),
    })
}

#[async_trait]
impl Check for Entrypoints {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let (installs, i) = match traefik::the_traefik(ctx).await {
            Ok(found) => found,
            Err(o) => return o,
        };
        let t = &installs[i];
        let Some(svc) = &t.service else {
            return Outcome::skip(format!(
                "{} has no Service to publish its entrypoints (ingress.exposure reports it)",
                t.label()
            ));
        };
        let name = format!(
            "{}/{}",
            t.namespace,
            svc.metadata.name.as_deref().unwrap_or("traefik")
        );
        let problems: Vec<(String, i32)> = [("web", 80), ("websecure", 443)]
            .iter()
            .filter_map(|(entry, want)| judge(svc, entry, *want))
            .collect();
        if problems.is_empty() {
            return Outcome::pass(format!(
                "Service {name} publishes web on 80 and websecure on 443 ({})",
                describe_ports(svc)
            ));
        }
        let consequence = if problems.iter().any(|(_, want)| *want == 80) {
            "HTTP-01 and plain http:// clients reach nothing on 80"
        } else {
            "https:// clients reach nothing on 443"
        };
        let fix = if t.flavor == Flavor::K3sBundled && t.helm_chart {
            "k3s deploys this Traefik from its HelmChart: override the chart's values with a HelmChartConfig \
             (k3s merges it and redeploys):\n  kubectl apply -f - <<'EOF'\n  apiVersion: helm.cattle.io/v1\n  \
             kind: HelmChartConfig\n  metadata:\n    name: traefik\n    namespace: kube-system\n  spec:\n    \
             valuesContent: |-\n      ports:\n        web:\n          exposedPort: 80\n        websecure:\n          \
             exposedPort: 443\n  EOF"
                .to_string()
        } else {
            format!(
                "Set the chart values ports.web.exposedPort=80 and ports.websecure.exposedPort=443 where this \
                 Traefik is installed from, e.g.\n  helm upgrade traefik traefik/traefik -n {} --reuse-values \
                 --set ports.web.exposedPort=80 --set ports.websecure.exposedPort=443\nor edit the Service's \
                 ports: kubectl -n {} edit service {}",
                t.namespace,
                t.namespace,
                svc.metadata.name.as_deref().unwrap_or("traefik")
            )
        };
        let vars = Vars::from([("service", name.clone()), ("fix", fix)]);
        Outcome::fail(format!(
            "Service {name} {} (ports: {}): {consequence}",
            problems
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            describe_ports(svc)
        ))
        .detail(
            "published_ports",
            ports(svc).iter().map(|p| p.port).collect::<Vec<_>>(),
        )
        .remediate("rem.traefik-entrypoints", ctx.distribution().await, &vars)
        .subject(format!("service/{name}"))
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
    async fn web_on_80_and_websecure_on_443_pass() {
        let o = FrontDoor::reference().case().run(&Entrypoints).await;
        expect(
            &o,
            Status::Pass,
            &["Service kube-system/traefik publishes web on 80 and websecure on 443"],
        );
    }

    #[tokio::test]
    async fn web_on_8000_fails_with_the_helm_values() {
        let mut fd = FrontDoor::reference();
        fd.services[0]["spec"]["ports"][0]["port"] = json!(8000);
        let o = fd.case().run(&Entrypoints).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "Service kube-system/traefik publishes web on port 8000, not 80",
                "HTTP-01",
            ],
        );
        assert_eq!(rem, "rem.traefik-entrypoints");
        let text = o.remediation.unwrap().text;
        assert!(text.contains("kind: HelmChartConfig"), "{text}");
        assert!(text.contains("exposedPort: 80"), "{text}");
        assert_eq!(o.subjects, vec!["service/kube-system/traefik"]);
    }
}
