use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::kinds;
use crate::ingress::traefik::{self, Flavor, Install, describe_ports, lb_ingress, service_type};
use crate::model::{CheckMeta, Mode, Outcome};

declare_check! {
    /// ### What it checks
    /// At most one Traefik is active (a Deployment with replicas, or k3s's HelmChart `traefik`): k3s's bundled
    /// one in `kube-system` and the repo-managed one in `traefik` must not both run. When k3s's Traefik is the
    /// active one, the run must be configured for it: `PLATFORM_TRAEFIK_NAMESPACE=kube-system`,
    /// `PLATFORM_TEAM_TRAEFIK_WATCH=disabled` and, before setup, `--ingress none`.
    ///
    /// ### Why it matters
    /// Two Traefiks each publish a LoadBalancer Service on 80 and 443. On k3s, ServiceLB can bind a host
    /// port once per node, so the second Service's svclb pods stay Pending (`didn't have free ports`) and
    /// its address stays `<pending>`; Ingresses are answered by whichever Traefik owns the port, and
    /// `team create` patches the wrong one unless the env names kube-system. Setup without `--ingress none`
    /// installs the second stack.
    ///
    /// ### What a failure looks like
    /// `two Traefik installs are active: k3s's bundled Traefik (kube-system, HelmChart traefik) ... and
    /// repo-managed Traefik (namespace traefik) ...; svclb pod kube-system/svclb-traefik-... is Pending on
    /// mcp-ingress-1: 80/443 are held by the first`
    ///
    /// ### How to fix
    /// Keep k3s's Traefik, as the k3s guide does: remove the repo-managed one, run setup with `--ingress none`
    /// and set `PLATFORM_TRAEFIK_NAMESPACE=kube-system` and `PLATFORM_TEAM_TRAEFIK_WATCH=disabled` in the
    /// deployment env.
    pub struct SingleStack {
        id: "ingress.single-stack",
        title: "One Traefik stack",
        category: "ingress",
        modes: Both,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::DEPLOYMENTS, kinds::SERVICES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::HELM_CHARTS],
    }
}

/// `kube-system/traefik LoadBalancer 203.0.113.10 (80→web, 443→websecure)`.
fn publishes(i: &Install) -> String {
    match &i.service {
        Some(svc) => {
            let addr = lb_ingress(svc);
            let addr = if service_type(svc) == "LoadBalancer" && addr.is_empty() {
                "<pending>".to_string()
            } else {
                addr.join(", ")
            };
            format!(
                "Service {}/{} {} {addr} ({})",
                i.namespace,
                svc.metadata.name.as_deref().unwrap_or("?"),
                service_type(svc),
                describe_ports(svc)
            )
            .replace("  ", " ")
        }
        None => "no Service".into(),
    }
}

#[async_trait]
impl Check for SingleStack {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let installs = match traefik::installs(ctx).await {
            Ok(i) => i,
            Err(o) => return o,
        };
        let active: Vec<&Install> = installs.iter().filter(|i| i.active()).collect();
        let k3s_active = active.iter().any(|i| i.flavor == Flavor::K3sBundled);
        let distribution = ctx.distribution().await;
        if active.len() > 1 {
            let list: Vec<String> = active
                .iter()
                .map(|i| format!("{} with {}", i.label(), publishes(i)))
                .collect();
            // Keep k3s's Traefik, as the k3s guide does; otherwise keep the first.
            let extra: Vec<&Install> = if k3s_active {
                active
                    .iter()
                    .copied()
                    .filter(|i| i.flavor != Flavor::K3sBundled)
                    .collect()
            } else {
                active.iter().copied().skip(1).collect()
            };
            let remove: Vec<String> = extra
                .iter()
                .map(|i| {
                    format!(
                        "  kubectl -n {} scale deployment {} --replicas=0   # then remove what installed it",
                        i.namespace,
                        i.deployment_name()
                    )
                })
                .collect();
            let vars = Vars::from([("remove", remove.join("\n"))]);
            return Outcome::fail(format!(
                "{} Traefik installs are active: {}; only one can own ports 80 and 443",
                active.len(),
                list.join(" and ")
            ))
            .detail(
                "active",
                active
                    .iter()
                    .map(|i| i.namespace.clone())
                    .collect::<Vec<_>>(),
            )
            .remediate("rem.traefik-single-stack", distribution, &vars)
            .subjects(active.iter().map(|i| i.deployment_ref()));
        }
        if !k3s_active {
            let Some(one) = active.first() else {
                return Outcome::pass("no Traefik is active yet, so there is no second stack");
            };
            // The env must name the namespace of the Traefik that runs, or team create patches nothing.
            if let Some(ns) = ctx.config.value("traefik_namespace")
                && ns != one.namespace
            {
                let vars = Vars::from([
                    ("namespace", one.namespace.clone()),
                    ("configured", ns.to_string()),
                ]);
                return Outcome::fail(format!(
                    "PLATFORM_TRAEFIK_NAMESPACE={ns} names no running Traefik: the active one is {}",
                    one.label()
                ))
                .remediate("rem.traefik-namespace-setting", distribution, &vars)
                .subject(one.deployment_ref());
            }
            return Outcome::pass(format!("one Traefik is active: {}", one.label()));
        }
        // k3s's Traefik is the one: the run must be configured for it.
        let mut wrong = Vec::new();
        let ns = ctx.config.value("traefik_namespace");
        if ns != Some(traefik::K3S_NAMESPACE) {
            wrong.push(format!(
                "PLATFORM_TRAEFIK_NAMESPACE is {} (needs kube-system)",
                ns.unwrap_or("unset")
            ));
        }
        let watch = ctx.config.value("team_traefik_watch");
        if watch != Some("disabled") {
            wrong.push(format!(
                "PLATFORM_TEAM_TRAEFIK_WATCH is {} (needs disabled)",
                watch.unwrap_or("unset")
            ));
        }
        let ingress = ctx.config.value("ingress").unwrap_or("traefik");
        if ctx.mode == Mode::Setup && ingress != "none" {
            wrong.push(format!(
                "setup would run with --ingress {ingress} and install a second Traefik (needs --ingress none)"
            ));
        }
        if wrong.is_empty() {
            return Outcome::pass(
                "one Traefik is active: k3s's bundled Traefik (kube-system, HelmChart traefik), and the run is \
                 configured for it (--ingress none, PLATFORM_TRAEFIK_NAMESPACE=kube-system, \
                 PLATFORM_TEAM_TRAEFIK_WATCH=disabled)",
            );
        }
        Outcome::fail(format!(
            "k3s's bundled Traefik is active in kube-system but {}",
            wrong.join("; ")
        ))
        .detail("misconfigured", &wrong)
        .remediate("rem.k3s-traefik-settings", distribution, &Vars::new())
        .subject("deployment/kube-system/traefik")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::testing::FrontDoor;
    use crate::model::Status;
    use crate::test_support::expect;

    #[tokio::test]
    async fn k3s_traefik_with_the_guide_settings_passes() {
        let o = FrontDoor::reference().case().run(&SingleStack).await;
        expect(
            &o,
            Status::Pass,
            &["one Traefik is active", "--ingress none"],
        );
    }

    #[tokio::test]
    async fn two_active_stacks_fail_naming_both() {
        let mut fd = FrontDoor::reference();
        fd.add_repo_traefik();
        let o = fd.case().run(&SingleStack).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "2 Traefik installs are active",
                "k3s's bundled Traefik (kube-system, HelmChart traefik)",
                "repo-managed Traefik (namespace traefik)",
                "<pending>",
            ],
        );
        assert_eq!(rem, "rem.traefik-single-stack");
        let text = o.remediation.unwrap().text;
        assert!(
            text.contains("kubectl -n traefik scale deployment traefik --replicas=0"),
            "{text}"
        );
        assert!(
            text.contains("PLATFORM_TRAEFIK_NAMESPACE=kube-system"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_env_naming_another_namespace_than_the_running_traefik_fails() {
        let mut fd = FrontDoor::reference();
        fd.without_traefik();
        fd.add_repo_traefik();
        let o = fd.case().run(&SingleStack).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "PLATFORM_TRAEFIK_NAMESPACE=kube-system names no running Traefik",
                "repo-managed Traefik (namespace traefik)",
            ],
        );
        assert_eq!(rem, "rem.traefik-namespace-setting");
    }

    #[tokio::test]
    async fn k3s_traefik_without_ingress_none_fails() {
        let mut fd = FrontDoor::reference();
        fd.env
            .retain(|(k, _)| k != "MCP_SETUP_INGRESS" && k != "PLATFORM_TEAM_TRAEFIK_WATCH");
        let o = fd.case().run(&SingleStack).await;
        expect(
            &o,
            Status::Fail,
            &["PLATFORM_TEAM_TRAEFIK_WATCH is unset", "--ingress traefik"],
        );
    }
}
