//! Test support with one job: hold every report a test produces to the contracts the project publishes.
//! JSON against `runner/schema/report-v1.json` (JSON Schema 2020-12, formats checked); JUnit with
//! `xmllint` against `runner/schema/junit.xsd`, and also against an external JUnit XSD when one is given
//! (`MCP_DOCTOR_JUNIT_XSD`) or sits beside the repository (`../shared/schemas/junit.xsd`), else against
//! the repository's copy of the Jenkins xUnit plugin's XSD. The repository's own schemas are always enough:
//! nothing outside it is required.
//!
//! Validation never passes by default: a missing `xmllint` or a schema that does not compile fails the
//! test that asked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;

use serde_json::Value;

/// The published report schema (`mcp-doctor.report/v1`).
pub const REPORT_SCHEMA: &str = include_str!("../../../runner/schema/report-v1.json");

/// The workspace root (this crate lives in `tests/contracts`).
fn workspace() -> &'static Path {
    static ROOT: LazyLock<PathBuf> = LazyLock::new(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .expect("the workspace root exists")
    });
    &ROOT
}

/// The project's own JUnit XSD, `runner/schema/junit.xsd`.
pub fn junit_xsd() -> PathBuf {
    workspace().join("runner/schema/junit.xsd")
}

/// An external JUnit XSD to validate against as well: `MCP_DOCTOR_JUNIT_XSD` when set (it must exist),
/// else `../shared/schemas/junit.xsd` beside the workspace when that file exists, else the repository's copy
/// of the Jenkins xUnit plugin's `junit-10.xsd` (`tests/contracts/xsd/`), so a clone alone still proves
/// the reports are valid for the dialect CI systems read.
pub fn external_junit_xsd() -> Option<PathBuf> {
    match std::env::var_os("MCP_DOCTOR_JUNIT_XSD").filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "MCP_DOCTOR_JUNIT_XSD={} is not a file",
                path.display()
            );
            Some(path)
        }
        None => Some(workspace().join("../shared/schemas/junit.xsd"))
            .filter(|p| p.is_file())
            .or_else(|| Some(workspace().join("tests/contracts/xsd/jenkins-xunit-junit-10.xsd"))),
    }
}

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).expect("the report schema is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the report schema compiles")
});

/// Every violation of `runner/schema/report-v1.json` in `doc`, as `<instance path>: <error>`.
pub fn schema_errors(doc: &Value) -> Vec<String> {
    VALIDATOR
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Asserts `doc` satisfies `runner/schema/report-v1.json`.
pub fn assert_valid_json(doc: &Value) {
    let errors = schema_errors(doc);
    assert!(
        errors.is_empty(),
        "report violates report-v1.json:\n{}\n{doc:#}",
        errors.join("\n")
    );
}

/// Parses a JSON report and asserts it satisfies `runner/schema/report-v1.json`.
pub fn valid_report(text: &str) -> Value {
    let doc: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    assert_valid_json(&doc);
    doc
}

/// Validates JUnit XML against one XSD with `xmllint`; `Err` holds xmllint's complaint.
pub fn junit_errors_against(xsd: &Path, xml: &str) -> Result<(), String> {
    let mut child = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run xmllint ({e}): install libxml2-utils (apt-get install -y libxml2-utils)"
            )
        });
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let text = xml.to_owned();
    // A separate writer, so xmllint reporting errors while it reads cannot deadlock on full pipes.
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child
        .wait_with_output()
        .expect("xmllint runs to completion");
    // xmllint may stop reading a document it already rejected; its verdict is what counts.
    let _ = writer.join().expect("the writer thread does not panic");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "against {} (xmllint exit {:?}):\n{}",
            xsd.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Validates JUnit XML against `runner/schema/junit.xsd`, then against the external XSD if there is one.
pub fn junit_errors(xml: &str) -> Result<(), String> {
    junit_errors_against(&junit_xsd(), xml)?;
    match external_junit_xsd() {
        Some(xsd) => junit_errors_against(&xsd, xml),
        None => Ok(()),
    }
}

/// Asserts JUnit XML text is valid (see [`junit_errors`]).
pub fn assert_valid_junit(xml: &str) {
    if let Err(e) = junit_errors(xml) {
        panic!("JUnit does not validate {e}\n{xml}");
    }
}

/// Asserts a JUnit file is valid (see [`junit_errors`]).
pub fn assert_valid_junit_file(path: &Path) {
    let xml = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    if let Err(e) = junit_errors(&xml) {
        panic!("{} does not validate {e}\n{xml}", path.display());
    }
}
