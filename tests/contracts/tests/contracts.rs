//! The validators reject what the contracts forbid, so a test that validates cannot silently pass.

use mcp_doctor_contracts::{
    external_junit_xsd, junit_errors, junit_errors_against, junit_xsd, schema_errors, valid_report,
};
use serde_json::json;

/// Every shape the JUnit reporter writes: pass, warn (system-out), fail, error, skip.
const GOOD: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite id="0" name="cluster" package="testsuite/cluster" tests="2" errors="0" failures="0" hostname="localhost" timestamp="2026-03-01T09:30:00Z" time="0.065"><testcase name="cluster.api-reachable" time="0.04" classname="mcp-doctor.cluster"/><testcase name="cluster.nodes-ready" time="0.025" classname="mcp-doctor.cluster"><system-out><![CDATA[1 of 3 nodes NotReady]]></system-out></testcase></testsuite><testsuite id="1" name="dns" package="testsuite/dns" tests="3" errors="1" failures="1" hostname="localhost" timestamp="2026-03-01T09:30:00.123456789+00:00" time="12"><testcase name="dns.registry-host" time="0.012" classname="mcp-doctor.dns"><failure type="fail" message="does not resolve &amp; &lt;none&gt;"><![CDATA[details: {}]]></failure></testcase><testcase name="dns.caa" time="0" classname="mcp-doctor.dns"><skipped type="skip" message="dependency dns.registry-host fail"/></testcase><testcase name="dns.cluster-dns" time="1.5" classname="mcp-doctor.dns"><error type="error" message="timed out"><![CDATA[details: {}]]></error></testcase></testsuite></testsuites>"#;

#[test]
fn the_junit_xsd_accepts_what_the_reporter_writes() {
    assert_eq!(junit_errors_against(&junit_xsd(), GOOD), Ok(()));
    assert_eq!(junit_errors(GOOD), Ok(()));
    assert_eq!(
        junit_errors_against(&junit_xsd(), "<testsuites/>"),
        Ok(()),
        "a run with no checks"
    );
}

#[test]
fn what_our_xsd_accepts_the_jenkins_dialect_accepts_too() {
    // Meaningful where the external schema is around (CI on this machine); a clean clone has none.
    if let Some(xsd) = external_junit_xsd() {
        assert_eq!(junit_errors_against(&xsd, GOOD), Ok(()));
    }
}

#[test]
fn the_junit_xsd_rejects_what_the_dialect_forbids() {
    let violations: [(&str, &str, &str); 16] = [
        (
            "testcase without name",
            r#"<testcase name="cluster.api-reachable" "#,
            "<testcase ",
        ),
        (
            "unknown element",
            "<system-out><![CDATA[1 of 3",
            "<warning/><system-out><![CDATA[1 of 3",
        ),
        (
            "unknown attribute",
            r#"classname="mcp-doctor.cluster"/>"#,
            r#"classname="mcp-doctor.cluster" status="pass"/>"#,
        ),
        (
            "testcase without classname",
            r#" classname="mcp-doctor.cluster"/>"#,
            "/>",
        ),
        ("testcase without time", r#" time="0.04""#, ""),
        (
            "name that is not a check id",
            r#"name="cluster.api-reachable""#,
            r#"name="API reachable""#,
        ),
        (
            "failure without type",
            r#"<failure type="fail" "#,
            "<failure ",
        ),
        (
            "failure of another type",
            r#"<failure type="fail""#,
            r#"<failure type="error""#,
        ),
        (
            "skipped without message",
            r#" message="dependency dns.registry-host fail""#,
            "",
        ),
        (
            "two results in one testcase",
            "<![CDATA[details: {}]]></failure>",
            r#"<![CDATA[details: {}]]></failure><error type="error" message="x"/>"#,
        ),
        (
            "markup inside a failure body",
            "<![CDATA[details: {}]]></failure>",
            "<b>details</b></failure>",
        ),
        ("testsuite without tests", r#" tests="2""#, ""),
        ("negative count", r#"failures="1""#, r#"failures="-1""#),
        (
            "time that is not seconds",
            r#"time="0.065""#,
            r#"time="65ms""#,
        ),
        (
            "timestamp that is not a date",
            "2026-03-01T09:30:00Z",
            "yesterday",
        ),
        (
            "nested testsuites",
            "<testsuites>",
            "<testsuites><testsuites/>",
        ),
    ];
    for (what, from, to) in violations {
        assert!(GOOD.contains(from), "{what}: {from} not in the sample");
        let bad = GOOD.replacen(from, to, 1);
        assert_ne!(bad, GOOD, "{what}");
        assert!(
            junit_errors_against(&junit_xsd(), &bad).is_err(),
            "the XSD accepts JUnit with {what}:\n{bad}"
        );
        assert!(junit_errors(&bad).is_err(), "{what}");
    }
    assert!(junit_errors("<testsuites>").is_err(), "not well-formed XML");
    assert!(junit_errors("<testsuite/>").is_err(), "another root");
    assert!(junit_errors("").is_err(), "an empty file");
}

#[test]
fn a_broken_schema_fails_instead_of_passing() {
    let dir = std::env::temp_dir().join(format!("contracts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xsd = dir.join("broken.xsd");
    std::fs::write(
        &xsd,
        "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><xs:nope/></xs:schema>",
    )
    .unwrap();
    let verdict = junit_errors_against(&xsd, GOOD);
    let missing = junit_errors_against(&dir.join("missing.xsd"), GOOD);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(verdict.is_err(), "a schema that does not compile");
    assert!(missing.is_err(), "a schema that does not exist");
}

#[test]
fn the_report_schema_rejects_a_report_that_is_not_one() {
    assert!(!schema_errors(&json!({})).is_empty());
    assert!(!schema_errors(&json!({"schema": "mcp-doctor.report/v1"})).is_empty());
}

#[test]
#[should_panic(expected = "report violates report-v1.json")]
fn valid_report_panics_on_an_invalid_report() {
    valid_report(r#"{"schema": "mcp-doctor.report/v1", "checks": []}"#);
}

#[test]
#[should_panic(expected = "not JSON")]
fn valid_report_panics_on_text_that_is_not_json() {
    valid_report("report");
}
