//! The reporters against their contracts: golden table/JSON/JUnit for a report with every status, the JSON
//! Schema's strictness, and JUnit that survives awkward text.

use std::time::Duration;

use mcp_doctor_checks::{Outcome, Status};
use mcp_doctor_remediations::Remediation;
use mcp_doctor_runner::reporters::{github, json, junit, markdown, table};
use mcp_doctor_runner::{
    ClusterInfo, FailOn, REPORT_SCHEMA, Report, RunOptions, TableOptions, Waivers,
};
use serde_json::{Value, json};

use crate::common::{
    assert_golden, assert_valid_json, assert_valid_junit, check, run_checks, schema_errors,
};

fn fix(id: &str, title: &str, text: &str, snippet: Option<&str>) -> Remediation {
    Remediation {
        id: id.into(),
        title: title.into(),
        text: text.into(),
        snippet: snippet.map(str::to_string),
    }
}

fn with_fix(mut outcome: Outcome, remediation: Remediation) -> Outcome {
    outcome.remediation = Some(remediation);
    outcome
}

/// One check of each status, three categories, remediations (one with a snippet), details, and text that
/// needs escaping; run on a paused clock so durations are exact, then pinned where a run is not
/// reproducible (start time, tool version) and given cluster facts as the binary would.
async fn mixed_report() -> Report {
    let ms = Duration::from_millis;
    let checks = [
        check("cluster.api-reachable", Outcome::pass("API server v1.32.13+k3s1 answered").detail("server", "https://10.0.0.1:6443"))
            .sleeps(ms(40))
            .leak(),
        check(
            "cluster.nodes-ready",
            with_fix(
                Outcome::warn("1 of 3 nodes NotReady: agent-2").detail("not_ready", ["agent-2"]),
                fix("node.not-ready", "Bring the node back", "Check the kubelet on agent-2:\njournalctl -u k3s-agent -n 200", None),
            ),
        )
        .after(&["cluster.api-reachable"])
        .sleeps(ms(25))
        .leak(),
        check(
            "dns.registry-host",
            with_fix(
                Outcome::fail("registry.example.com does not resolve: NXDOMAIN from 10.43.0.10 (A & AAAA <none>)")
                    .detail("host", "registry.example.com")
                    .detail("rcode", "NXDOMAIN"),
                fix(
                    "dns.add-record",
                    "Publish the registry host",
                    "Create an A record for registry.example.com pointing at the ingress, or pin it on every node:",
                    Some("echo '203.0.113.10 registry.example.com' >> /etc/hosts"),
                ),
            ),
        )
        .sleeps(ms(12))
        .leak(),
        check("dns.caa", Outcome::pass("never")).after(&["dns.registry-host"]).leak(),
        check(
            "tls.secret-readable",
            with_fix(
                Outcome::error("cannot read secrets in mcp-system: permission denied (secrets is forbidden)"),
                fix("cluster.rbac", "Grant read access to Secrets", "Bind a Role allowing get/list on secrets in mcp-system.", None),
            ),
        )
        .sleeps(ms(5))
        .leak(),
    ];
    let (mut report, _) = run_checks(&checks, RunOptions::default()).await;
    report.started_at = "2026-03-01T09:30:00Z".parse().unwrap();
    report.tool.version = "1.2.3".into();
    report.cluster = Some(ClusterInfo {
        distribution: "k3s".into(),
        server_version: "v1.32.13+k3s1".into(),
        node_count: Some(3),
    });
    report
}

#[tokio::test(start_paused = true)]
async fn table_matches_golden() {
    let out = table::render(&mixed_report().await, &TableOptions::default());
    assert_golden("mixed.table.txt", &out);
}

#[tokio::test(start_paused = true)]
async fn json_matches_golden_validates_and_round_trips() {
    let report = mixed_report().await;
    let out = json::render(&report);
    assert_golden("mixed.json", &out);
    assert_valid_json(&report);
    assert_eq!(serde_json::from_str::<Report>(&out).unwrap(), report);
}

#[tokio::test(start_paused = true)]
async fn junit_matches_golden_and_validates() {
    let out = junit::render(&mixed_report().await);
    assert_golden("mixed.junit.xml", &out);
    assert_valid_junit(&out);
    let suites: Vec<&str> = out
        .split("<testsuite ")
        .skip(1)
        .map(|s| s.split('>').next().unwrap())
        .collect();
    assert_eq!(suites.len(), 3, "one suite per category");
    for (suite, (name, tests, errors, failures)) in
        suites
            .iter()
            .zip([("cluster", 2, 0, 0), ("dns", 2, 0, 1), ("tls", 1, 1, 0)])
    {
        for attr in [
            format!("name=\"{name}\""),
            format!("tests=\"{tests}\""),
            format!("errors=\"{errors}\""),
            format!("failures=\"{failures}\""),
        ] {
            assert!(suite.contains(&attr), "suite {name} lacks {attr}: {suite}");
        }
    }
    assert!(out.contains(
        r#"<testcase name="dns.registry-host" time="0.012" classname="mcp-doctor.dns">"#
    ));
    assert!(
        out.contains(r#"timestamp="2026-03-01T09:30:00Z""#),
        "timestamp pinned to started_at"
    );
}

#[tokio::test(start_paused = true)]
async fn the_table_colours_cuts_and_shows_details_only_when_asked() {
    let report = mixed_report().await;
    let plain = table::render(&report, &TableOptions::default());
    assert!(!plain.contains('\u{1b}'));
    let coloured = table::render(
        &report,
        &TableOptions {
            color: true,
            ..TableOptions::default()
        },
    );
    assert!(
        coloured.contains("\u{1b}["),
        "ANSI colour expected: {coloured}"
    );
    let narrow = table::render(
        &report,
        &TableOptions {
            width: Some(60),
            ..TableOptions::default()
        },
    );
    for line in narrow.lines().take(report.checks.len()) {
        assert!(line.chars().count() <= 60, "line wider than 60: {line}");
    }
    assert!(!plain.contains("rcode: NXDOMAIN"));
    let verbose = table::render(
        &report,
        &TableOptions {
            verbose: true,
            ..TableOptions::default()
        },
    );
    assert!(verbose.contains("rcode: NXDOMAIN"), "{verbose}");
    assert!(plain.ends_with("5 checks: 1 pass, 1 warn, 1 fail, 1 skip, 1 error; 3 root causes\n"));
}

#[tokio::test]
async fn small_and_interrupted_reports_say_so() {
    let (mut report, _) = run_checks(
        &[check("t.one", Outcome::pass("ok")).leak()],
        RunOptions::default(),
    )
    .await;
    assert!(table::render(&report, &TableOptions::default()).contains("1 check: 1 pass, 0 warn"));
    report.interrupted = true;
    assert!(table::render(&report, &TableOptions::default()).contains("Interrupted"));
    let (empty, _) = run_checks(&[], RunOptions::default()).await;
    assert!(
        table::render(&empty, &TableOptions::default())
            .ends_with("0 checks: 0 pass, 0 warn, 0 fail, 0 skip, 0 error\n")
    );
}

#[tokio::test]
async fn junit_survives_text_xml_cannot_hold_verbatim() {
    let nasty = "end ]]> of \u{1b}[31mred\u{1b}[0m & <tag> \"quoted\" \u{0}";
    let checks = [
        check("t.fail", Outcome::fail(nasty).detail("raw", nasty)).leak(),
        check("t.warn", Outcome::warn(nasty)).leak(),
        check("t.skip", Outcome::skip(nasty)).leak(),
    ];
    // run_checks validates the JUnit with xmllint.
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    let xml = junit::render(&report);
    assert!(
        xml.contains("]]]]><![CDATA[>"),
        "]]> is split across CDATA sections: {xml}"
    );
    assert!(xml.contains("&lt;tag&gt;"), "attributes are escaped: {xml}");
    assert!(
        !xml.contains('\u{1b}') && !xml.contains('\u{0}'),
        "control characters are replaced"
    );
}

#[test]
fn the_schema_is_valid_draft_2020_12() {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    assert!(jsonschema::draft202012::meta::is_valid(&schema));
    let on_disk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/report-v1.json"
    ))
    .unwrap();
    assert_eq!(on_disk, REPORT_SCHEMA);
}

/// Breaks one rule of the contract in a valid report.
type Mutation = fn(&mut Value);

#[tokio::test(start_paused = true)]
async fn the_schema_rejects_what_the_contract_forbids() {
    let good: Value = serde_json::from_str(&json::render(&mixed_report().await)).unwrap();
    assert_eq!(schema_errors(&good), Vec::<String>::new());
    // checks: 0 pass, 1 warn, 2 fail, 3 skip, 4 error.
    let violations: [(&str, Mutation); 14] = [
        ("unknown top-level field", |v| v["extra"] = json!(1)),
        ("other schema id", |v| {
            v["schema"] = json!("mcp-doctor.report/v2")
        }),
        ("missing summary", |v| {
            drop(v.as_object_mut().unwrap().remove("summary"))
        }),
        ("unknown status", |v| v["checks"][0]["status"] = json!("ok")),
        ("unknown mode", |v| v["mode"] = json!("install")),
        ("unknown check field", |v| {
            v["checks"][1]["evidence"] = json!({})
        }),
        ("skip without reason", |v| {
            drop(
                v["checks"][3]
                    .as_object_mut()
                    .unwrap()
                    .remove("skipped_because"),
            )
        }),
        ("reason without skip", |v| {
            v["checks"][2]["skipped_because"] = json!("x")
        }),
        ("remediation on pass", |v| {
            v["checks"][0]["remediation"] = v["checks"][1]["remediation"].clone()
        }),
        ("details not an object", |v| {
            v["checks"][0]["details"] = json!([])
        }),
        ("negative duration", |v| v["duration_ms"] = json!(-1)),
        ("bad timestamp", |v| v["started_at"] = json!("yesterday")),
        ("interrupted false", |v| v["interrupted"] = json!(false)),
        ("remediation without text", |v| {
            drop(
                v["checks"][2]["remediation"]
                    .as_object_mut()
                    .unwrap()
                    .remove("text"),
            )
        }),
    ];
    for (what, mutate) in violations {
        let mut doc = good.clone();
        mutate(&mut doc);
        assert!(
            !schema_errors(&doc).is_empty(),
            "the schema accepts a report with {what}"
        );
    }
}

/// The mixed report with waivers applied as of 2026-03-01: `dns.registry-host` (fail) waived, the
/// `cluster.nodes-ready` (warn) waiver expired, one for `tls.secret-readable` (error) refused, and one for
/// `cluster.api-reachable` (pass) that waives nothing.
async fn waived_report() -> Report {
    let mut report = mixed_report().await;
    let waivers = Waivers::parse(
        std::path::Path::new("ci/waivers.yaml"),
        "waivers:\n\
         - check: dns.registry-host\n  reason: \"DNS moves | next week, 100%\\nsure\"\n  owner: net-team\n  expires: 2026-03-31\n\
         - check: cluster.nodes-ready\n  reason: agent-2 is being replaced\n  owner: ops\n  expires: 2026-02-28\n\
         - check: tls.secret-readable\n  reason: read-only token\n  owner: ops\n  expires: 2026-12-31\n\
         - check: cluster.api-reachable\n  reason: flaky VPN\n  owner: ops\n  expires: 2026-12-31\n",
        &|id| report.checks.iter().any(|c| c.id == id),
    )
    .unwrap();
    report.apply_waivers(&waivers, report.started_on());
    report
}

#[tokio::test(start_paused = true)]
async fn a_waived_report_in_every_format() {
    let report = waived_report().await;
    assert_eq!(report.summary.waived, 1);
    assert_eq!(report.notes.len(), 3, "{:?}", report.notes);
    assert!(report.notes[2].contains(
        "waiver ci/waivers.yaml:14 for cluster.api-reachable waives nothing: the check ended pass"
    ));
    assert_eq!(report.exit_code(FailOn::Fail), 1, "the error still gates");
    assert_golden(
        "waived.table.txt",
        &table::render(&report, &TableOptions::default()),
    );
    assert_golden("waived.github.txt", &github::render(&report));
    assert_golden("waived.summary.md", &markdown::render(&report));
    assert_valid_json(&report);
    let out = json::render(&report);
    assert_eq!(serde_json::from_str::<Report>(&out).unwrap(), report);
    let xml = junit::render(&report);
    assert_valid_junit(&xml);
    assert!(
        xml.contains(r#"<skipped type="skip" message="waived: DNS moves | next week, 100%"#),
        "{xml}"
    );
    // With the error gone, the waived failure no longer gates; the warn (its waiver expired) does under
    // --fail-on warn.
    let mut without_error = report.clone();
    without_error.checks.retain(|c| c.status != Status::Error);
    assert_eq!(without_error.exit_code(FailOn::Fail), 0);
    assert_eq!(without_error.exit_code(FailOn::Warn), 1);
}

#[tokio::test(start_paused = true)]
async fn the_schema_allows_a_waiver_only_on_fail_or_warn() {
    let good: Value = serde_json::from_str(&json::render(&waived_report().await)).unwrap();
    assert_eq!(schema_errors(&good), Vec::<String>::new());
    let waived = good["checks"][2]["waiver"].clone();
    assert!(waived.is_object(), "{good}");
    for (i, status) in [(0, "pass"), (3, "skip"), (4, "error")] {
        let mut doc = good.clone();
        doc["checks"][i]["waiver"] = waived.clone();
        assert!(
            !schema_errors(&doc).is_empty(),
            "the schema accepts a waiver on {status}"
        );
    }
    let mut doc = good.clone();
    doc["checks"][2]["waiver"]["expires"] = json!("soon");
    assert!(!schema_errors(&doc).is_empty(), "expires must be a date");
}
