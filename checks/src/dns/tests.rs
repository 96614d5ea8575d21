//! The dns checks against replayed evidence: journaled DNS answers (as a live run records them) and
//! cluster objects in a bundle. The same checks against a real DNS server are in `checks/tests/dns_live.rs`.

use serde_json::{Value, json};

use crate::evidence::{EvidenceError, Scope, kinds};
use crate::model::Status;
use crate::test_support::{Case, expect, node};

use super::{Caa, Consistent, PointsAtIngress, ReservedAddress, Resolve};

const HOSTS: [&str; 3] = [
    "platform.example.com",
    "registry.example.com",
    "mcp.example.com",
];

/// The three hosts answer A = `ip` (AAAA NODATA) from `server`.
fn all_a(case: Case, server: Option<&str>, ip: &str) -> Case {
    HOSTS.iter().fold(case, |c, h| {
        c.dns(server, "A", h, "NOERROR", &[ip])
            .dns(server, "AAAA", h, "NOERROR", &[])
    })
}

fn base() -> Case {
    Case::new().env("MCP_PLATFORM_DOMAIN", "example.com")
}

fn ingress_node(name: &str, external: &str) -> Value {
    let mut n = node(name);
    n["metadata"]["labels"]["ingress.mcpruntime.org/public"] = json!("true");
    n["status"]["addresses"] = json!([
        { "type": "InternalIP", "address": "10.0.0.11" },
        { "type": "ExternalIP", "address": external },
    ]);
    n
}

fn traefik_service(ip: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": "traefik", "namespace": "kube-system" },
        "spec": { "type": "LoadBalancer" },
        "status": { "loadBalancer": { "ingress": [ { "ip": ip } ] } },
    })
}

fn cluster(case: Case) -> Case {
    case.objects(
        &kinds::NODES,
        Scope::Cluster,
        vec![
            node("mcp-cp-1"),
            ingress_node("mcp-ingress-1", "45.79.0.10"),
        ],
    )
    .objects(
        &kinds::SERVICES,
        Scope::AllNamespaces,
        vec![traefik_service("45.79.0.10")],
    )
    .objects(
        &kinds::DEPLOYMENTS,
        Scope::AllNamespaces,
        vec![crate::ingress::testing::deployment(
            "kube-system",
            "traefik",
            1,
        )],
    )
    .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, vec![])
}

#[tokio::test]
async fn resolve_passes_when_every_host_has_an_address() {
    let o = all_a(base(), None, "45.79.0.10").run(&Resolve).await;
    expect(
        &o,
        Status::Pass,
        &["every public host resolves", "45.79.0.10"],
    );
}

#[tokio::test]
async fn resolve_tells_nxdomain_servfail_nodata_dangling_and_timeout_apart() {
    let case = |host: &str, a: Case| {
        HOSTS.iter().filter(|h| **h != host).fold(a, |c, h| {
            c.dns(None, "A", h, "NOERROR", &["45.79.0.10"])
                .dns(None, "AAAA", h, "NOERROR", &[])
        })
    };
    let h = "registry.example.com";
    let o = case(
        h,
        base()
            .dns(None, "A", h, "NXDOMAIN", &[])
            .dns(None, "AAAA", h, "NXDOMAIN", &[]),
    )
    .run(&Resolve)
    .await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &["registry.example.com does not exist (NXDOMAIN from the system resolver)"]
        ),
        "rem.dns-missing-record"
    );
    assert_eq!(o.subjects, ["host/registry.example.com"]);

    let o = case(
        h,
        base()
            .dns(None, "A", h, "SERVFAIL", &[])
            .dns(None, "AAAA", h, "SERVFAIL", &[]),
    )
    .run(&Resolve)
    .await;
    assert_eq!(
        expect(&o, Status::Fail, &["answered SERVFAIL", "not the record"]),
        "rem.dns-server-failure"
    );

    let o = case(
        h,
        base()
            .dns(None, "A", h, "NOERROR", &[])
            .dns(None, "AAAA", h, "NOERROR", &[]),
    )
    .run(&Resolve)
    .await;
    expect(&o, Status::Fail, &["no A or AAAA record (NOERROR, no data"]);

    let o = case(
        h,
        base()
            .dns_chain(None, "A", h, "NXDOMAIN", &[], &["gone.example.net"])
            .dns_chain(None, "AAAA", h, "NXDOMAIN", &[], &["gone.example.net"]),
    )
    .run(&Resolve)
    .await;
    expect(
        &o,
        Status::Fail,
        &["is a CNAME to gone.example.net", "dangling CNAME"],
    );

    let timeout = EvidenceError::Timeout {
        what: "the system resolver (A registry.example.com)".into(),
        secs: 4,
    };
    let o = case(
        h,
        base()
            .dns_error(None, "A", h, timeout.clone())
            .dns_error(None, "AAAA", h, timeout),
    )
    .run(&Resolve)
    .await;
    expect(
        &o,
        Status::Fail,
        &["no answer from the system resolver", "within 4s"],
    );
}

#[tokio::test]
async fn resolve_skips_without_the_evidence_and_without_hosts() {
    let o = base().run(&Resolve).await;
    assert_eq!(o.status, Status::Skip, "{o:#?}");
    assert!(o.message.contains("not collected"), "{}", o.message);
    let o = Case::new().run(&Resolve).await;
    assert_eq!(o.status, Status::Skip);
}

#[tokio::test]
async fn points_at_ingress_direct() {
    let o = cluster(all_a(base(), None, "45.79.0.10"))
        .run(&PointsAtIngress)
        .await;
    expect(
        &o,
        Status::Pass,
        &[
            "points at the ingress (45.79.0.10 (service/kube-system/traefik LoadBalancer ingress, node/mcp-ingress-1 ExternalIP)",
        ],
    );

    let stray = cluster(all_a(base(), None, "45.79.0.10").dns(
        None,
        "A",
        "registry.example.com",
        "NOERROR",
        &["45.79.0.99"],
    ))
    .run(&PointsAtIngress)
    .await;
    assert_eq!(
        expect(
            &stray,
            Status::Fail,
            &[
                "registry.example.com resolves to 45.79.0.99 via the system resolver",
                "Traefik receives traffic at 45.79.0.10 (service/kube-system/traefik LoadBalancer ingress, node/mcp-ingress-1 ExternalIP)",
                "not the ingress node",
            ]
        ),
        "rem.dns-point-at-ingress"
    );
    assert_eq!(stray.subjects, ["host/registry.example.com"]);
}

#[tokio::test]
async fn points_at_ingress_proxy_and_internal() {
    let o = cluster(all_a(base(), None, "104.16.0.10"))
        .env("MCP_DOCTOR_FRONT_DOOR", "proxy")
        .run(&PointsAtIngress)
        .await;
    expect(&o, Status::Pass, &["the proxy, not the origin"]);
    let o = cluster(all_a(base(), None, "45.79.0.10"))
        .env("MCP_DOCTOR_FRONT_DOOR", "proxy")
        .run(&PointsAtIngress)
        .await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &["resolves to the origin 45.79.0.10", "bypass the proxy"]
        ),
        "rem.dns-proxy-bypassed"
    );
    // Same answers, direct front door: that is what direct wants.
    let o = cluster(all_a(base(), None, "104.16.0.10"))
        .run(&PointsAtIngress)
        .await;
    expect(&o, Status::Fail, &["not the ingress node"]);
    let o = cluster(all_a(base(), None, "10.20.0.5"))
        .env("MCP_DOCTOR_FRONT_DOOR", "internal")
        .run(&PointsAtIngress)
        .await;
    expect(&o, Status::Pass, &["internal (private) address"]);
}

#[tokio::test]
async fn points_at_ingress_uses_the_dns_server_when_given() {
    let o = cluster(all_a(base(), Some("192.0.2.53"), "45.79.0.99"))
        .flag("dns_servers", "192.0.2.53")
        .run(&PointsAtIngress)
        .await;
    expect(&o, Status::Fail, &["via DNS server 192.0.2.53"]);
}

#[tokio::test]
async fn consistent_pass_and_split_horizon() {
    let same = all_a(
        all_a(base(), None, "45.79.0.10"),
        Some("192.0.2.53"),
        "45.79.0.10",
    )
    .flag("dns_servers", "192.0.2.53");
    let o = same.run(&Consistent).await;
    expect(&o, Status::Pass, &["agree"]);

    let split = all_a(
        all_a(base(), None, "45.79.0.10"),
        Some("192.0.2.53"),
        "45.79.0.10",
    )
    .dns(None, "A", "platform.example.com", "NOERROR", &["10.9.9.9"])
    .flag("dns_servers", "192.0.2.53");
    let o = split.run(&Consistent).await;
    assert_eq!(
        expect(
            &o,
            Status::Warn,
            &[
                "platform.example.com resolves to 10.9.9.9 via the system resolver but to 45.79.0.10 via DNS server 192.0.2.53"
            ]
        ),
        "rem.dns-split-horizon"
    );

    let hosts_differ = all_a(base(), None, "45.79.0.10").dns(
        None,
        "A",
        "mcp.example.com",
        "NOERROR",
        &["45.79.0.11"],
    );
    let o = hosts_differ.run(&Consistent).await;
    expect(
        &o,
        Status::Warn,
        &[
            "resolve to different addresses",
            "mcp.example.com 45.79.0.11",
        ],
    );
}

#[tokio::test]
async fn reserved_address_applies_with_acme_only() {
    let private = all_a(base(), None, "100.64.1.1");
    let o = private.run(&ReservedAddress).await;
    assert_eq!(o.status, Status::Skip);
    let o = all_a(base(), None, "100.64.1.1")
        .flag("acme_email", "ops@example.com")
        .run(&ReservedAddress)
        .await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &[
                "platform.example.com resolves to 100.64.1.1 (carrier-grade NAT",
                "--acme-email ops@example.com cannot issue"
            ]
        ),
        "rem.dns-reserved-address"
    );
    let o = all_a(base(), None, "45.79.0.10")
        .flag("acme_email", "ops@example.com")
        .run(&ReservedAddress)
        .await;
    expect(&o, Status::Pass, &["public"]);
}

fn caa(case: Case, name: &str, records: &[&str]) -> Case {
    case.dns(None, "CAA", name, "NOERROR", records)
}

fn no_caa(case: Case, names: &[&str]) -> Case {
    names.iter().fold(case, |c, n| caa(c, n, &[]))
}

#[tokio::test]
async fn caa_climbs_to_the_closest_set() {
    let with_set = |records: &[&str]| {
        let c = base().flag("acme_email", "ops@example.com");
        let c = no_caa(c, &HOSTS);
        let c = no_caa(c, &["com"]);
        caa(c, "example.com", records)
    };
    let o = with_set(&["0 issue \"letsencrypt.org\""]).run(&Caa).await;
    expect(&o, Status::Pass, &["allows letsencrypt.org"]);
    let o = with_set(&["0 issue \"sectigo.com\""]).run(&Caa).await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &[
                "CAA at example.com (0 issue \"sectigo.com\") allows only sectigo.com, not letsencrypt.org"
            ]
        ),
        "rem.dns-caa"
    );
    let o = with_set(&[]).run(&Caa).await;
    expect(&o, Status::Pass, &["no CAA set restricts"]);
    let o = with_set(&[])
        .dns(None, "CAA", "platform.example.com", "SERVFAIL", &[])
        .run(&Caa)
        .await;
    expect(&o, Status::Fail, &["answered SERVFAIL", "refuses to issue"]);
}

#[tokio::test]
async fn points_at_ingress_names_unresolved_hosts_when_dns_resolve_does_not_run() {
    let case = cluster(all_a(base(), None, "45.79.0.10"))
        .dns(None, "A", "mcp.example.com", "NXDOMAIN", &[])
        .dns(None, "AAAA", "mcp.example.com", "NXDOMAIN", &[]);
    // Doctor mode: dns.resolve is not selected, so this check says it.
    let o = case.run(&PointsAtIngress).await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &["mcp.example.com does not exist (NXDOMAIN"]
        ),
        "rem.dns-missing-record"
    );
}

#[tokio::test]
async fn an_unknown_front_door_is_an_error_not_a_guess() {
    let o = cluster(all_a(base(), None, "45.79.0.10"))
        .env("MCP_DOCTOR_FRONT_DOOR", "cdn")
        .run(&PointsAtIngress)
        .await;
    expect(
        &o,
        Status::Error,
        &["MCP_DOCTOR_FRONT_DOOR=cdn names no front door"],
    );
}

#[tokio::test]
async fn caa_climb_ends_at_a_refusal_above_the_zone() {
    let c = base().flag("acme_email", "ops@example.com");
    let c = no_caa(c, &HOSTS);
    let c = no_caa(c, &["example.com"]).dns(None, "CAA", "com", "REFUSED", &[]);
    expect(&c.run(&Caa).await, Status::Pass, &["no CAA set restricts"]);
    let c = base().flag("acme_email", "ops@example.com").dns(
        None,
        "CAA",
        "platform.example.com",
        "REFUSED",
        &[],
    );
    let c = no_caa(
        c,
        &[
            "registry.example.com",
            "mcp.example.com",
            "example.com",
            "com",
        ],
    );
    expect(&c.run(&Caa).await, Status::Fail, &["answered REFUSED"]);
}
