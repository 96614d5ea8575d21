use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::{DnsQuery, kinds};
use crate::facts::{self, node_name};
use crate::ingress::traefik::{service_name, service_ref};
use crate::model::{CheckMeta, Outcome};
use crate::svclb::servicelb;
use crate::svclb::{servicelb_nodes, traefik_lb};

declare_check! {
    /// ### What it checks
    /// On k3s, the addresses in the Traefik Service's `status.loadBalancer.ingress` are addresses of the
    /// public ingress node (the node labelled `ingress.mcpruntime.org/public=true`, else the `enablelb=true`
    /// one). k3s writes there the ExternalIPs of the nodes running a Ready svclb pod when any of them has one,
    /// otherwise their InternalIPs. When DNS evidence is available, the public hosts' A records must be among
    /// those addresses; without it, that part says "not checked".
    ///
    /// ### Why it matters
    /// The public hosts must resolve to the node that actually answers on 80/443: an address of another node
    /// means DNS, firewall rules and Let's Encrypt's HTTP-01 validator go to a node that is not the one
    /// the guide prepared.
    ///
    /// ### What a failure looks like
    /// `Service kube-system/traefik advertises 203.0.113.20 (mcp-worker-3), which is not an address of the
    /// ingress node mcp-ingress-1 (10.0.0.21, 203.0.113.10)`
    ///
    /// ### How to fix
    /// Pin ServiceLB to the ingress node with the guide's labels (k3s then rewrites the status), and point
    /// the public hosts' DNS at the ingress node's public address.
    pub struct AddressMatch {
        id: "svclb.address-match",
        title: "LoadBalancer addresses are the ingress node's",
        category: "svclb",
        modes: Both,
        depends_on: ["svclb.placement"],
        reads: [kinds::NODES, kinds::PODS, kinds::DEPLOYMENTS, kinds::SERVICES, kinds::CUSTOM_RESOURCE_DEFINITIONS, kinds::HELM_CHARTS],
    }
}

/// What the public hosts' A records say about the addresses, or why that was not checked.
enum DnsVerdict {
    /// Why the records were not compared.
    NotChecked(String),
    Match(usize),
    /// Each host that points elsewhere, with what it resolves to.
    Mismatch(Vec<(String, String)>),
}

async fn check_dns(ctx: &Context, advertised: &[String]) -> DnsVerdict {
    let hosts = ctx.config.public_hosts();
    let names: Vec<String> = [hosts.platform, hosts.registry, hosts.mcp]
        .into_iter()
        .flatten()
        .map(|s| s.value)
        .collect();
    if names.is_empty() {
        return DnsVerdict::NotChecked("no public hosts are configured".into());
    }
    // Behind a proxy or an internal load balancer the records name that, not the origin:
    // dns.points-at-ingress judges them by the declared front door.
    if let Some(front_door) = ctx.config.value("front_door").filter(|v| *v != "direct") {
        return DnsVerdict::NotChecked(format!(
            "--front-door {front_door}: dns.points-at-ingress judges the records"
        ));
    }
    let mut wrong = Vec::new();
    for name in &names {
        let query = DnsQuery {
            name: name.clone(),
            record_type: "A".into(),
            server: None,
        };
        match ctx.evidence.dns.resolve(&query).await {
            Ok(answer) => {
                let off: Vec<&String> = answer
                    .records
                    .iter()
                    .filter(|r| !advertised.contains(r))
                    .collect();
                if answer.records.is_empty() || !off.is_empty() {
                    let seen = if answer.records.is_empty() {
                        answer.rcode.clone()
                    } else {
                        answer.records.join(", ")
                    };
                    wrong.push((name.clone(), seen));
                }
            }
            Err(_) => return DnsVerdict::NotChecked("no DNS evidence in this run".into()),
        }
    }
    if wrong.is_empty() {
        DnsVerdict::Match(names.len())
    } else {
        DnsVerdict::Mismatch(wrong)
    }
}

#[async_trait]
impl Check for AddressMatch {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let nodes = match servicelb_nodes(ctx).await {
            Ok(n) => n,
            Err(o) => return o,
        };
        let (svc, pods) = match traefik_lb(ctx).await {
            Ok(found) => found,
            Err(o) => return o,
        };
        let name = service_name(&svc);
        let advertised = servicelb::svc_addresses(&svc);
        if advertised.is_empty() {
            return Outcome::skip(format!(
                "Service {name} has no LoadBalancer address yet (ingress.exposure reports why)"
            ));
        }
        let designated = servicelb::designated(&nodes);
        let ingress_names: Vec<&str> = designated.iter().map(|n| node_name(n)).collect();
        let mut ingress_addrs: Vec<String> = designated
            .iter()
            .flat_map(|n| servicelb::addresses(n))
            .map(|(_, a)| a)
            .collect();
        ingress_addrs.sort();
        let owner = |ip: &str| -> String {
            nodes
                .iter()
                .find(|n| servicelb::addresses(n).iter().any(|(_, a)| a == ip))
                .map(|n| format!("{ip} ({})", node_name(n)))
                .unwrap_or_else(|| format!("{ip} (no node has it)"))
        };
        let foreign: Vec<String> = advertised
            .iter()
            .filter(|a| !ingress_addrs.contains(a))
            .map(|a| owner(a))
            .collect();
        let distribution = ctx.distribution().await;
        if ingress_names.is_empty() || !foreign.is_empty() {
            let ingress = if ingress_names.is_empty() {
                "no node is labelled the public ingress node".to_string()
            } else {
                format!(
                    "the ingress node {} has {}",
                    facts::listed(&ingress_names, ", "),
                    facts::listed(&ingress_addrs, ", ")
                )
            };
            let lb = servicelb::lb_pods(&pods, &svc);
            let message = format!(
                "Service {name} advertises {}, which is not an address of the ingress node ({ingress})",
                facts::listed(&foreign, ", ")
            );
            if let Some(f) = servicelb::pin_finding(&nodes) {
                return f
                    .reworded(message)
                    .outcome(ctx)
                    .await
                    .detail("nodes", servicelb::node_lines(&nodes, &lb, &pods));
            }
            let vars = Vars::from([
                ("service", name.clone()),
                ("addresses", advertised.join(", ")),
            ]);
            return Outcome::fail(message)
                .remediate("rem.svclb-address-mismatch", distribution, &vars)
                .subject(service_ref(&svc))
                .detail("nodes", servicelb::node_lines(&nodes, &lb, &pods));
        }
        let lb = servicelb::lb_pods(&pods, &svc);
        let expected = servicelb::advertised(&nodes, &lb);
        let local = svc
            .spec
            .as_ref()
            .and_then(|s| s.external_traffic_policy.as_deref())
            == Some("Local");
        // With externalTrafficPolicy Local, k3s also drops nodes without a ready endpoint: not recomputed here.
        let stale = if !local && expected != advertised {
            format!(
                "; k3s would now advertise {} (the status is being updated)",
                expected.join(", ")
            )
        } else {
            String::new()
        };
        let base = format!(
            "Service {name} advertises {}, the ingress node {}'s address{stale}",
            facts::listed(&advertised, ", "),
            facts::listed(&ingress_names, ", ")
        );
        match check_dns(ctx, &advertised).await {
            DnsVerdict::NotChecked(why) => {
                Outcome::pass(format!("{base}; public hosts' DNS: not checked ({why})"))
            }
            DnsVerdict::Match(n) => {
                Outcome::pass(format!("{base}; the {n} public hosts resolve to it"))
            }
            DnsVerdict::Mismatch(wrong) => {
                // The same fix, about the same hosts, as dns.points-at-ingress: one root cause.
                let (host, seen) = &wrong[0];
                let vars = Vars::from([
                    ("host", host.clone()),
                    ("addresses", seen.clone()),
                    ("expected", advertised.join(", ")),
                    ("expected_first", advertised[0].clone()),
                ]);
                let listed: Vec<String> = wrong.iter().map(|(h, a)| format!("{h} → {a}")).collect();
                Outcome::fail(format!(
                    "{base}, but public DNS points elsewhere: {} (declare a proxy in front with --front-door proxy)",
                    listed.join("; ")
                ))
                .remediate("rem.dns-point-at-ingress", distribution, &vars)
                .subjects(wrong.iter().map(|(h, _)| format!("host/{h}")))
            }
        }
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
    async fn the_ingress_node_address_passes_and_dns_is_not_checked() {
        let o = FrontDoor::reference().case().run(&AddressMatch).await;
        expect(
            &o,
            Status::Pass,
            &[
                "advertises 203.0.113.10, the ingress node mcp-ingress-1's address",
                "DNS: not checked",
            ],
        );
    }

    #[tokio::test]
    async fn an_address_of_another_node_fails() {
        let mut fd = FrontDoor::reference();
        fd.services[0]["status"]["loadBalancer"]["ingress"] =
            json!([{"ip": "10.0.0.31", "ipMode": "VIP"}]);
        let o = fd.case().run(&AddressMatch).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "advertises 10.0.0.31 (mcp-worker-1)",
                "ingress node mcp-ingress-1 has 10.0.0.21, 203.0.113.10",
            ],
        );
        assert_eq!(rem, "rem.svclb-address-mismatch");
    }

    #[tokio::test]
    async fn dns_answers_are_compared_when_recorded() {
        let fd = FrontDoor::reference();
        let mut case = fd.case().env("MCP_PLATFORM_DOMAIN", "example.com");
        for (host, ip) in [
            ("platform.example.com", "203.0.113.10"),
            ("registry.example.com", "203.0.113.10"),
            ("mcp.example.com", "198.51.100.7"),
        ] {
            let query = DnsQuery {
                name: host.into(),
                record_type: "A".into(),
                server: None,
            };
            let key = crate::evidence::journal::keys::dns(&query);
            case = case.file(
                &format!("evidence/{key}.json"),
                json!({"key": key, "ok": {"rcode": "NOERROR", "records": [ip]}}).to_string(),
            );
        }
        let o = case.run(&AddressMatch).await;
        expect(
            &o,
            Status::Fail,
            &["public DNS points elsewhere: mcp.example.com → 198.51.100.7"],
        );
    }
}
