//! The report as GitHub Actions workflow commands (`--format github`): one annotation per check that needs
//! a look, so findings appear on the run and the pull request where people already work.
//!
//! - `fail` and `error`: `::error title=<id>::<message> — fix: <remediation>`
//! - `warn`: `::warning title=<id>::...`
//! - a waived `fail`/`warn`: `::notice title=<id> (waived)::<status>: <message> — waived until ...`
//! - every note of the report (expired or unused waivers): `::notice title=mcp-doctor::<note>`
//!
//! `pass` and `skip` say nothing. The last line is the plain summary. Text is escaped by the
//! workflow-command rules (the runner's `escapeData`/`escapeProperty` in actions/toolkit): in the message
//! `%`, CR and LF; in a property also `:` and `,`. A multi-line fix therefore stays one command.

use std::fmt::Write as _;

use mcp_doctor_checks::Status;

use crate::report::{CheckResult, Report};

/// The commands, one per line, then the summary line.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for check in &report.checks {
        if let Some(line) = command(check) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "::notice title=mcp-doctor::{}", escape_data(note));
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "mcp-doctor: {} checks: {} pass, {} warn, {} fail, {} skip, {} error ({} waived)",
        s.total(),
        s.pass,
        s.warn,
        s.fail,
        s.skip,
        s.error,
        s.waived
    );
    out
}

/// The workflow command for one check, None when it passed or was skipped.
fn command(check: &CheckResult) -> Option<String> {
    if let Some(w) = &check.waiver {
        let text = format!(
            "{}: {} — waived until {} by {}: {} ({})",
            check.status, check.message, w.expires, w.owner, w.reason, w.source
        );
        return Some(format!(
            "::notice title={}::{}",
            escape_property(&format!("{} (waived)", check.id)),
            escape_data(&text)
        ));
    }
    let level = match check.status {
        Status::Fail | Status::Error => "error",
        Status::Warn => "warning",
        Status::Pass | Status::Skip => return None,
    };
    let mut text = check.message.clone();
    if let Some(fix) = &check.remediation {
        let _ = write!(text, " — fix: {} ({})\n{}", fix.title, fix.id, fix.text);
        if let Some(snippet) = &fix.snippet {
            let _ = write!(text, "\n\n{snippet}");
        }
    }
    Some(format!(
        "::{level} title={}::{}",
        escape_property(&check.id),
        escape_data(&text)
    ))
}

/// A command's message: `%`, CR and LF percent-encoded (`%` first, so an encoding is never re-encoded).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value: as [`escape_data`], and `:` and `,`, which end a property.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("100% a\r\nb:c,d"), "100%25 a%0D%0Ab:c,d");
        assert_eq!(
            escape_property("100% a\r\nb:c,d"),
            "100%25 a%0D%0Ab%3Ac%2Cd"
        );
        // `%` first: a literal "%0A" in the text survives as text, not as a newline.
        assert_eq!(escape_data("%0A"), "%250A");
    }
}
