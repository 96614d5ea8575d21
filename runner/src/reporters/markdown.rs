//! The report as a Markdown job summary (`--summary FILE`, e.g. `$GITHUB_STEP_SUMMARY` or a GitLab merge
//! request note): a headline, the counts by status, a table of the checks that need attention, the waived
//! ones with their reasons, each fix in a fenced block, and the report's notes.
//!
//! It holds no time or duration, so the same verdicts give the same bytes. Table cells escape `|` (it would
//! end the cell), `<` and `>` (summaries render HTML) and turn newlines into `<br>`; fenced blocks use a
//! fence longer than any backtick run inside them, so a fix's text is shown verbatim.

use std::fmt::Write as _;

use mcp_doctor_checks::Status;

use crate::report::{CheckResult, Report};

/// The summary, newline-terminated.
pub fn render(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## mcp-doctor {}: {}\n",
        report.mode.as_str(),
        headline(report)
    );
    let mut about = format!(
        "Mode `{}`, profile `{}`, evidence from {}",
        report.mode.as_str(),
        report.profile.as_str(),
        match report.source {
            mcp_doctor_checks::evidence::Origin::Live => "the live cluster",
            mcp_doctor_checks::evidence::Origin::Bundle => "a bundle",
        }
    );
    if let Some(c) = &report.cluster {
        let _ = write!(about, "; cluster {} {}", c.distribution, c.server_version);
        if let Some(n) = c.node_count {
            let _ = write!(about, " ({n} nodes)");
        }
    }
    let _ = writeln!(out, "{about}; mcp-doctor {}.\n", report.tool.version);
    let _ = writeln!(
        out,
        "| pass | warn | fail | skip | error | waived |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} |\n",
        s.pass, s.warn, s.fail, s.skip, s.error, s.waived
    );
    if report.interrupted {
        out.push_str("**Interrupted:** checks that had not finished are reported as skip.\n\n");
    }
    let attention: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.waiver.is_none())
        .filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    if !attention.is_empty() {
        out.push_str(
            "### Needs attention\n\n| Status | Check | Message | Fix |\n|---|---|---|---|\n",
        );
        for check in &attention {
            let fix = cause_of(report, &check.id)
                .map(|(n, title)| format!("[{n}] {title}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                check.status,
                check.id,
                cell(&check.message),
                cell(&fix)
            );
        }
        out.push('\n');
    }
    let waived: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| c.waiver.is_some())
        .collect();
    if !waived.is_empty() {
        out.push_str("### Waived\n\n| Check | Verdict | Message | Reason | Owner | Until | Waiver |\n|---|---|---|---|---|---|---|\n");
        for check in waived {
            let Some(w) = &check.waiver else { continue };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                check.id,
                check.status,
                cell(&check.message),
                cell(&w.reason),
                cell(&w.owner),
                w.expires,
                cell(&w.source)
            );
        }
        out.push('\n');
    }
    if !report.root_causes.is_empty() {
        out.push_str("### Fixes\n\n");
        for (i, cause) in report.root_causes.iter().enumerate() {
            let _ = writeln!(
                out,
                "#### [{}] {} (`{}`)\n",
                i + 1,
                cause.title,
                cause.remediation
            );
            let subjects = match cause.subjects.as_slice() {
                [] => String::new(),
                s => format!("about {}; ", s.join(", ")),
            };
            let _ = writeln!(
                out,
                "{}: {subjects}seen by {}.\n",
                cause.status,
                cause.checks.join(", ")
            );
            let Some(fix) = report.fix_for(cause) else {
                continue;
            };
            fenced(&mut out, &fix.text);
            if let Some(snippet) = &fix.snippet {
                out.push_str("Generated for this cluster:\n\n");
                fenced(&mut out, snippet);
            }
        }
    }
    if !report.notes.is_empty() {
        out.push_str("### Notes\n\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {}", note.replace('\n', " "));
        }
        out.push('\n');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

/// `2 fail, 1 warn` (what gates first), or that nothing needs attention.
fn headline(report: &Report) -> String {
    let unwaived = |status: Status| {
        report
            .checks
            .iter()
            .filter(|c| c.status == status && c.waiver.is_none())
            .count()
    };
    let parts: Vec<String> = [Status::Fail, Status::Error, Status::Warn]
        .into_iter()
        .map(|st| (st, unwaived(st)))
        .filter(|(_, n)| *n > 0)
        .map(|(st, n)| format!("{n} {st}"))
        .collect();
    let mut line = if parts.is_empty() {
        "nothing needs attention".to_string()
    } else {
        parts.join(", ")
    };
    if report.summary.waived > 0 {
        let _ = write!(line, " ({} waived)", report.summary.waived);
    }
    line
}

/// The number (from 1) and title of the root cause a check points to.
fn cause_of<'r>(report: &'r Report, check: &str) -> Option<(usize, &'r str)> {
    report
        .root_causes
        .iter()
        .position(|c| c.checks.iter().any(|id| id == check))
        .map(|i| (i + 1, report.root_causes[i].title.as_str()))
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// `text` in a fenced block whose fence no backtick run inside it can close.
fn fenced(out: &mut String, text: &str) {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(
        out,
        "{fence}text\n{}\n{fence}\n",
        text.trim_end_matches('\n')
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_fences_hold_any_text() {
        assert_eq!(cell("a|b\nc<d>"), "a\\|b<br>c&lt;d&gt;");
        let mut out = String::new();
        fenced(&mut out, "run ```sh``` then `x`");
        assert!(out.starts_with("````text\n"), "{out}");
        assert!(out.ends_with("\n````\n\n"), "{out}");
    }
}
