//! The report as JUnit XML, so CI systems show each check as a test: one `<testsuite>` per category (in the
//! order categories first appear), one `<testcase classname="mcp-doctor.<category>" name="<id>">` per check.
//! `fail` is a `<failure type="fail">` and `error` an `<error type="error">`, both with a body holding the
//! details and the remediation; `skip` is `<skipped>`; JUnit has no warning, so `warn` is a passing case
//! whose `<system-out>` carries the message. A waived `fail`/`warn` is `<skipped message="waived: <reason> ...">`
//! whose body holds the verdict, its details and the remediation.
//!
//! junit-report stamps suites with the current time and writes text verbatim into CDATA; the suite
//! timestamp is pinned to the report's `started_at` (same report, same bytes) and text is made XML-safe
//! here.

use junit_report::{Duration, OffsetDateTime, ReportBuilder, TestCase, TestResult, TestSuite};
use mcp_doctor_checks::Status;
use mcp_doctor_remediations::Remediation;

use crate::report::{CheckResult, Report};

/// The XML document, newline-terminated.
pub fn render(report: &Report) -> String {
    // jiff and time cover the same ±9999-year range, so the conversion cannot fail for a real timestamp.
    let timestamp = OffsetDateTime::from_unix_timestamp_nanos(report.started_at.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut suites: Vec<TestSuite> = Vec::new();
    for check in &report.checks {
        let at = match suites.iter().position(|s| s.name == check.category) {
            Some(at) => at,
            None => {
                let mut suite = TestSuite::new(&check.category);
                suite.set_timestamp(timestamp);
                suites.push(suite);
                suites.len() - 1
            }
        };
        suites[at].add_testcase(testcase(check));
    }
    let mut out = Vec::new();
    // Writing to a Vec performs no I/O that could fail.
    ReportBuilder::new()
        .add_testsuites(suites)
        .build()
        .write_xml(&mut out)
        .expect("XML written to memory");
    let mut xml = String::from_utf8(out).expect("junit-report writes UTF-8");
    xml.push('\n');
    xml
}

fn testcase(check: &CheckResult) -> TestCase {
    let message = xml_text(&check.message);
    let result = match (&check.waiver, check.status) {
        // A waived fail/warn is skipped, never passed: CI shows it apart, with the waiver and the verdict.
        (Some(w), status) => TestResult::SkippedWithCause {
            type_: "skip".into(),
            message: xml_text(&format!(
                "waived: {} (owner {}, until {}, {})",
                w.reason, w.owner, w.expires, w.source
            )),
            cause: Some(cdata(&format!(
                "{status}: {}\n\n{}",
                check.message,
                body(check)
            ))),
        },
        (None, status) => unwaived(check, status, message),
    };
    let system_out = (check.status == Status::Warn && check.waiver.is_none()).then(|| {
        let text = match &check.remediation {
            Some(r) => format!("{}\n\n{}", check.message, remediation_block(r)),
            None => check.message.clone(),
        };
        cdata(&text)
    });
    TestCase {
        name: xml_text(&check.id),
        time: Duration::milliseconds(i64::try_from(check.duration_ms).unwrap_or(i64::MAX)),
        result,
        classname: Some(xml_text(&format!("mcp-doctor.{}", check.category))),
        filepath: None,
        system_out,
        system_err: None,
    }
}

fn unwaived(check: &CheckResult, status: Status, message: String) -> TestResult {
    match status {
        Status::Pass | Status::Warn => TestResult::Success,
        Status::Fail => TestResult::Failure {
            type_: "fail".into(),
            message,
            cause: Some(cdata(&body(check))),
        },
        Status::Error => TestResult::Error {
            type_: "error".into(),
            message,
            cause: Some(cdata(&body(check))),
        },
        Status::Skip => TestResult::SkippedWithCause {
            type_: "skip".into(),
            message,
            cause: None,
        },
    }
}

/// The body of a `<failure>`/`<error>`: the structured details, then how to fix it.
fn body(check: &CheckResult) -> String {
    // A JSON object of JSON values always serializes.
    let details = serde_json::to_string_pretty(&check.details).expect("details serialize");
    match &check.remediation {
        Some(r) => format!("details: {details}\n\n{}", remediation_block(r)),
        None => format!("details: {details}"),
    }
}

fn remediation_block(r: &Remediation) -> String {
    let mut text = format!("How to fix: {} ({})\n{}", r.title, r.id, r.text);
    if let Some(snippet) = &r.snippet {
        text.push_str("\n\n");
        text.push_str(snippet);
    }
    text
}

/// Replaces characters XML 1.0 cannot carry at all (control characters other than tab and newlines,
/// U+FFFE, U+FFFF) with U+FFFD, so a stray escape code in a message cannot make the file unparseable.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Text for a CDATA section: XML-safe, and any `]]>` (which would end the section) split across two
/// sections so it reads back unchanged.
fn cdata(s: &str) -> String {
    xml_text(s).replace("]]>", "]]]]><![CDATA[>")
}
