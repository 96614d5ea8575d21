//! The live DNS source and the dns checks against a real BIND serving `tests/dns/zones/` on a loopback port
//! (started and stopped by PID by `mcp-doctor-test-peers`'s `named`). Every scenario's message is printed, so
//! `cargo nextest run -p mcp-doctor-checks --test dns_live --no-capture` shows what an operator would read.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mcp_doctor_checks::dns::{Caa, Consistent, PointsAtIngress, ReservedAddress, Resolve};
use mcp_doctor_checks::evidence::live_dns::{LiveDns, SystemView};
use mcp_doctor_checks::evidence::replay::{Bundle, ReplaySource};
use mcp_doctor_checks::evidence::{
    DnsAnswer, DnsQuery, DnsSource, Evidence, EvidenceError, Journal, NoLiveProbe, Origin,
};
use mcp_doctor_checks::settings::{ConfigInputs, ResolvedConfig};
use mcp_doctor_checks::{Check, Context, Mode, Outcome, Profile, Status};
use mcp_doctor_test_peers::named;
use serde_json::json;

fn zones() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dns/zones")
}

fn q(name: &str, t: &str, server: Option<&str>) -> DnsQuery {
    DnsQuery {
        name: name.into(),
        record_type: t.into(),
        server: server.map(str::to_string),
    }
}

/// A live DNS source whose system view is `named` plus a hosts file.
fn live(named: &named::Named, hosts: &str, journal: Arc<Journal>) -> (LiveDns, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let hosts_file = dir.path().join("hosts");
    std::fs::write(&hosts_file, hosts).unwrap();
    let view = SystemView {
        servers: Some(vec![named.addr]),
        hosts_file: Some(hosts_file),
        disabled: false,
    };
    (LiveDns::new(view, Duration::from_secs(2), journal), dir)
}

fn ok(a: &Result<DnsAnswer, EvidenceError>) -> &DnsAnswer {
    a.as_ref().unwrap_or_else(|e| panic!("no answer: {e}"))
}

#[tokio::test]
async fn live_answers_keep_rcode_chain_and_caa_and_replay_the_same() {
    let Some(named) = named::start(&zones()) else {
        return;
    };
    let server = named.server();
    let s = Some(server.as_str());
    let journal = Journal::new();
    let (dns, _hosts) = live(&named, "10.9.9.9 platform.ok.test\n", journal.clone());

    let a = dns.resolve(&q("platform.ok.test", "A", s)).await;
    assert_eq!(ok(&a).rcode, "NOERROR");
    assert_eq!(ok(&a).records, ["45.79.0.10"]);

    let a = dns.resolve(&q("registry.nx.test", "A", s)).await;
    assert_eq!(ok(&a).rcode, "NXDOMAIN");
    assert!(ok(&a).records.is_empty());

    let a = dns.resolve(&q("platform.sf.test", "A", s)).await;
    assert_eq!(ok(&a).rcode, "SERVFAIL", "a zone that failed to load");

    let a = dns.resolve(&q("registry.cname.test", "A", s)).await;
    assert_eq!(ok(&a).cname_chain, ["alias.cname.test", "lb.cname.test"]);
    assert_eq!(ok(&a).records, ["45.79.0.10"]);

    let a = dns.resolve(&q("platform.dangling.test", "A", s)).await;
    assert_eq!(ok(&a).rcode, "NXDOMAIN");
    assert_eq!(ok(&a).cname_chain, ["gone.dangling.test"]);

    let a = dns.resolve(&q("platform.v6.test", "A", s)).await;
    assert_eq!(
        (ok(&a).rcode.as_str(), ok(&a).records.len()),
        ("NOERROR", 0),
        "NODATA"
    );
    let a = dns.resolve(&q("platform.v6.test", "AAAA", s)).await;
    assert_eq!(ok(&a).records, ["2a01:4f8::10"]);

    let a = dns.resolve(&q("platform.nodata.test", "A", s)).await;
    assert_eq!(
        (ok(&a).rcode.as_str(), ok(&a).records.len()),
        ("NOERROR", 0)
    );

    let a = dns.resolve(&q("caa-ok.test", "CAA", s)).await;
    assert_eq!(ok(&a).records, ["0 issue \"letsencrypt.org\""]);
    let a = dns.resolve(&q("caa-crit.test", "CAA", s)).await;
    let mut caa = ok(&a).records.clone();
    caa.sort();
    assert_eq!(caa, ["0 issue \"letsencrypt.org\"", "128 tbs \"unknown\""]);

    // The system view answers from the hosts file first, like getent hosts.
    let a = dns.resolve(&q("platform.ok.test", "A", None)).await;
    assert_eq!(ok(&a).records, ["10.9.9.9"]);
    let a = dns.resolve(&q("registry.ok.test", "A", None)).await;
    assert_eq!(ok(&a).records, ["45.79.0.10"]);

    // A server that never answers: a timeout, as an evidence error.
    let silent = named::silent();
    let silent_addr = silent.addr.to_string();
    let t = dns
        .resolve(&q("platform.ok.test", "A", Some(&silent_addr)))
        .await;
    assert!(matches!(t, Err(EvidenceError::Timeout { .. })), "{t:?}");

    // Nothing listens: an error (a timeout), never an answer.
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().to_string()
    };
    let r = dns
        .resolve(&q("platform.ok.test", "A", Some(&closed)))
        .await;
    println!("nothing listening at {closed}: {r:?}");
    // hickory does not see the ICMP port-unreachable on its unconnected UDP socket: to it, and so to
    // the report, a closed port is a server that does not answer in time.
    assert!(matches!(r, Err(EvidenceError::Timeout { .. })), "{r:?}");

    // Record, then replay: the same answers, errors included.
    let dir = tempfile::tempdir().unwrap();
    journal.write_to(dir.path()).unwrap();
    let replay = ReplaySource::new(Bundle::open(dir.path()).unwrap());
    for query in [
        q("platform.ok.test", "A", s),
        q("registry.nx.test", "A", s),
        q("platform.sf.test", "A", s),
        q("registry.cname.test", "A", s),
        q("platform.dangling.test", "A", s),
        q("caa-crit.test", "CAA", s),
        q("platform.ok.test", "A", None),
        q("platform.ok.test", "A", Some(&silent_addr)),
    ] {
        assert_eq!(
            replay.resolve(&query).await,
            dns.resolve(&query).await,
            "{query:?}"
        );
    }
}

#[tokio::test]
async fn identical_queries_are_asked_once() {
    let Some(named) = named::start(&zones()) else {
        return;
    };
    let (dns, _h) = live(&named, "", Journal::new());
    let query = q("platform.ok.test", "A", Some(&named.server()));
    let first = dns.resolve(&query).await;
    drop(named); // the server is gone: a second real query could not answer
    assert_eq!(dns.resolve(&query).await, first);
}

/// A cluster whose Traefik (and labelled ingress node) receive traffic at 45.79.0.10.
fn cluster_bundle() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, v: serde_json::Value| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v.to_string()).unwrap();
    };
    write(
        "cluster/nodes/_cluster.json",
        json!({ "kind": "NodeList", "items": [ {
            "metadata": { "name": "mcp-ingress-1",
                          "labels": { "ingress.mcpruntime.org/public": "true" } },
            "status": { "addresses": [ { "type": "InternalIP", "address": "10.0.0.11" },
                                       { "type": "ExternalIP", "address": "45.79.0.10" } ] } } ] }),
    );
    write(
        "cluster/services/_all.json",
        json!({ "kind": "ServiceList", "items": [ {
            "metadata": { "name": "traefik", "namespace": "kube-system" },
            "spec": { "type": "LoadBalancer" },
            "status": { "loadBalancer": { "ingress": [ { "ip": "45.79.0.10" } ] } } } ] }),
    );
    write(
        "cluster/deployments.apps/_all.json",
        json!({ "kind": "DeploymentList", "items": [ {
            "metadata": { "name": "traefik", "namespace": "kube-system" },
            "spec": { "replicas": 1 },
            "status": { "replicas": 1, "readyReplicas": 1 } } ] }),
    );
    write(
        "cluster/customresourcedefinitions.apiextensions.k8s.io/_cluster.json",
        json!({ "kind": "CustomResourceDefinitionList", "items": [] }),
    );
    dir
}

struct Live {
    named: named::Named,
    cluster: tempfile::TempDir,
}

impl Live {
    /// Runs a check for the hosts of `domain`, with the system view and `--dns-server` both at named.
    async fn run(
        &self,
        check: &dyn Check,
        domain: &str,
        flags: &[(&str, &str)],
        hosts: &str,
    ) -> Outcome {
        let journal = Journal::new();
        let (dns, _h) = live(&self.named, hosts, journal.clone());
        let replay = Arc::new(ReplaySource::new(
            Bundle::open(self.cluster.path()).unwrap(),
        ));
        let probe = Arc::new(NoLiveProbe { what: "test" });
        let evidence = Evidence {
            kube: replay.clone(),
            dns: Arc::new(dns),
            http: probe.clone(),
            tls: probe,
            host: replay,
            journal,
            origin: Origin::Live,
        };
        let mut inputs = ConfigInputs::default();
        inputs
            .env
            .insert("MCP_PLATFORM_DOMAIN".into(), domain.into());
        inputs
            .flags
            .insert("dns_servers".into(), self.named.server());
        for (k, v) in flags {
            inputs.flags.insert(k.to_string(), v.to_string());
        }
        let ctx = Context::new(
            Mode::Setup,
            Profile::Dev,
            Arc::new(ResolvedConfig::resolve(&inputs)),
            evidence,
        );
        let o = match check.not_applicable(&ctx) {
            Some(r) => Outcome::skip(r),
            None => check.run(&ctx).await,
        };
        let id = check.meta().id;
        println!("{id} [{domain} {flags:?}] {}: {}", o.status, o.message);
        o
    }
}

fn is(o: &Outcome, status: Status, needles: &[&str]) {
    assert_eq!(o.status, status, "{o:#?}");
    for n in needles {
        assert!(o.message.contains(n), "message lacks {n:?}: {}", o.message);
    }
    if matches!(status, Status::Fail | Status::Warn) {
        assert!(o.remediation.is_some(), "{o:#?}");
        assert!(!o.subjects.is_empty(), "{o:#?}");
    }
}

#[tokio::test]
async fn every_dns_scenario_against_a_real_server() {
    let Some(named) = named::start(&zones()) else {
        return;
    };
    let env = Live {
        named,
        cluster: cluster_bundle(),
    };
    let acme = [("acme_email", "ops@example.com")];
    let proxy = [("front_door", "proxy")];
    let internal = [("front_door", "internal")];

    // dns.resolve
    is(
        &env.run(&Resolve, "ok.test", &[], "").await,
        Status::Pass,
        &["every public host resolves"],
    );
    is(
        &env.run(&Resolve, "cname.test", &[], "").await,
        Status::Pass,
        &[],
    );
    is(
        &env.run(&Resolve, "v6.test", &[], "").await,
        Status::Pass,
        &["2a01:4f8::10"],
    );
    is(
        &env.run(&Resolve, "nx.test", &[], "").await,
        Status::Fail,
        &["registry.nx.test does not exist (NXDOMAIN from the system resolver)"],
    );
    is(
        &env.run(&Resolve, "sf.test", &[], "").await,
        Status::Fail,
        &["answered SERVFAIL"],
    );
    is(
        &env.run(&Resolve, "dangling.test", &[], "").await,
        Status::Fail,
        &["platform.dangling.test is a CNAME to gone.dangling.test, which does not exist"],
    );
    is(
        &env.run(&Resolve, "nodata.test", &[], "").await,
        Status::Fail,
        &["platform.nodata.test exists but has no A or AAAA record"],
    );

    // dns.points-at-ingress, for each front door
    is(
        &env.run(&PointsAtIngress, "ok.test", &[], "").await,
        Status::Pass,
        &["points at the ingress"],
    );
    is(
        &env.run(&PointsAtIngress, "cname.test", &[], "").await,
        Status::Pass,
        &[],
    );
    is(
        &env.run(&PointsAtIngress, "stray.test", &[], "").await,
        Status::Fail,
        &[
            "registry.stray.test resolves to 45.79.0.99",
            "not the ingress node",
        ],
    );
    is(
        &env.run(&PointsAtIngress, "proxied.test", &proxy, "").await,
        Status::Pass,
        &["not the origin"],
    );
    is(
        &env.run(&PointsAtIngress, "ok.test", &proxy, "").await,
        Status::Fail,
        &["resolves to the origin 45.79.0.10", "bypass the proxy"],
    );
    is(
        &env.run(&PointsAtIngress, "rfc1918.test", &internal, "")
            .await,
        Status::Pass,
        &[],
    );
    is(
        &env.run(&PointsAtIngress, "proxied.test", &internal, "")
            .await,
        Status::Warn,
        &["public address 104.16.0.10"],
    );

    // dns.consistent
    is(
        &env.run(&Consistent, "ok.test", &[], "").await,
        Status::Pass,
        &["agree"],
    );
    is(
        &env.run(&Consistent, "ok.test", &[], "10.9.9.9 platform.ok.test\n")
            .await,
        Status::Warn,
        &[
            "platform.ok.test resolves to 10.9.9.9 via the system resolver but to 45.79.0.10 via DNS server",
        ],
    );
    is(
        &env.run(&Consistent, "stray.test", &[], "").await,
        Status::Warn,
        &["resolve to different addresses"],
    );

    // dns.reserved-address
    is(
        &env.run(&ReservedAddress, "rfc1918.test", &[], "").await,
        Status::Skip,
        &["--acme-email"],
    );
    is(
        &env.run(&ReservedAddress, "ok.test", &acme, "").await,
        Status::Pass,
        &[],
    );
    for (domain, range) in [
        ("rfc1918.test", "RFC 1918"),
        ("cgnat.test", "carrier-grade NAT"),
        ("loop.test", "loopback"),
        ("ll.test", "link-local"),
        ("ula.test", "unique local"),
    ] {
        is(
            &env.run(&ReservedAddress, domain, &acme, "").await,
            Status::Fail,
            &[range, "Let's Encrypt cannot reach it"],
        );
    }

    // dns.caa
    is(
        &env.run(&Caa, "ok.test", &acme, "").await,
        Status::Pass,
        &["no CAA set restricts"],
    );
    is(
        &env.run(&Caa, "caa-ok.test", &acme, "").await,
        Status::Pass,
        &[],
    );
    is(
        &env.run(&Caa, "caa-deny.test", &acme, "").await,
        Status::Fail,
        &["CAA at caa-deny.test (0 issue \"sectigo.com\") allows only sectigo.com"],
    );
    is(
        &env.run(&Caa, "sub.caa-parent.test", &acme, "").await,
        Status::Fail,
        &["CAA at caa-parent.test"],
    );
    is(
        &env.run(&Caa, "caa-crit.test", &acme, "").await,
        Status::Fail,
        &["critical tag \"tbs\""],
    );
    is(
        &env.run(&Caa, "sf.test", &acme, "").await,
        Status::Fail,
        &["answered SERVFAIL"],
    );
}
