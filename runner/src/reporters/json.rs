//! The report as pretty-printed JSON (`mcp-doctor.report/v1`).

use crate::Report;

/// Pretty JSON with a trailing newline; field order follows the contract.
pub fn render(report: &Report) -> String {
    // A report holds only strings, numbers and string-keyed maps, which always serialize.
    let mut out = serde_json::to_string_pretty(report).expect("a report always serializes");
    out.push('\n');
    out
}
