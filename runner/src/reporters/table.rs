//! The human report, shaped like the doctors operators already like (`linkerd check`, `flutter doctor`,
//! cargo's diagnostics): one line per check (status, id, message), then "Root causes and fixes", where each
//! remediation is printed once, names every check and subject it resolves, and shows its commands and
//! snippets verbatim, then the summary.
//!
//! Two rules keep the fixes usable: a command is never wrapped or re-indented inside its line (an operator
//! copies it as printed), and nothing is padded to the longest message (a CI log stays narrow). On a
//! terminal a check's message is cut to the width with `…` (the full text is in `--format json`); prose in
//! a remediation is wrapped at spaces, but never inside a `backticked command`.
//!
//! Whether to colour and how wide to draw are the caller's decision: the renderer never looks at the
//! terminal itself, so output does not depend on where tests run.

use std::fmt::Write as _;

use console::{Style, measure_text_width, truncate_str};
use mcp_doctor_checks::Status;
use serde_json::Value;

use crate::report::{CheckResult, Report, RootCause};

/// How the report is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// ANSI colours. The binary sets this when stdout is a TTY and `NO_COLOR` is unset.
    pub color: bool,
    /// The terminal's width: messages are cut and prose wrapped to it. None (files, pipes, golden tests)
    /// prints every line whole. See [`terminal_width`].
    pub width: Option<u16>,
    /// Under each check, its structured details (`key: value`), e.g. where each setting came from.
    pub verbose: bool,
}

/// The width of the terminal on stdout, None when stdout is not a terminal.
pub fn terminal_width() -> Option<u16> {
    console::Term::stdout().size_checked().map(|(_, cols)| cols)
}

/// Lines narrower than this are not worth cutting: a tiny or bogus width prints lines whole.
const MIN_WIDTH: usize = 40;

/// Indentation of everything under a root cause's heading.
const INDENT: &str = "    ";

/// The check lines, the root causes with their fixes, and the summary (and a note when interrupted).
pub fn render(report: &Report, opts: &TableOptions) -> String {
    let paint = Paint { color: opts.color };
    let width = opts.width.map(usize::from).filter(|w| *w >= MIN_WIDTH);
    let causes = &report.root_causes;
    let id_width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    // `waived` is one column wider than the statuses; the column widens only when a waiver is shown.
    let status_width = if report.summary.waived > 0 { 6 } else { 5 };
    let mut out = String::new();
    for check in &report.checks {
        let cause = cause_number(causes, &check.id);
        let label = cause.map(|n| format!("[{n}] ")).unwrap_or_default();
        let (sym, label_status, message) = match &check.waiver {
            Some(_) => (
                WAIVED,
                "waived",
                format!("{}: {}", check.status, check.message),
            ),
            None => (
                symbol(check.status),
                check.status.as_str(),
                format!("{label}{}", check.message),
            ),
        };
        let head = format!(
            "{sym} {label_status:<status_width$} {:<id_width$}  ",
            check.id
        );
        let message = match width {
            Some(w) => truncate_str(&message, w.saturating_sub(measure_text_width(&head)), "…")
                .into_owned(),
            None => message,
        };
        let line = format!("{head}{message}");
        match &check.waiver {
            Some(w) => {
                let _ = writeln!(out, "{}", paint.dim(line.trim_end()));
                // Under the message, where --verbose puts details.
                let pad = " ".repeat(status_width + 3 + id_width + 2);
                let _ = writeln!(
                    out,
                    "{pad}waived until {} by {}: {} ({})",
                    w.expires,
                    w.owner,
                    one_line(&w.reason),
                    w.source
                );
            }
            None => {
                let _ = writeln!(out, "{}", paint.status(check.status, line.trim_end()));
            }
        }
        if opts.verbose {
            write_details(&mut out, check, status_width + 3 + id_width + 2);
        }
    }
    if !causes.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint.bold(&format!("Root causes and fixes ({})", causes.len()))
        );
        for (i, cause) in causes.iter().enumerate() {
            write_cause(&mut out, report, i + 1, cause, width, &paint);
        }
    }
    out.push('\n');
    let attention: Vec<&CheckResult> = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Warn | Status::Fail | Status::Error))
        .filter(|c| c.waiver.is_none())
        .collect();
    if !attention.is_empty() {
        let names: Vec<String> = attention
            .iter()
            .map(|c| format!("{} {}", symbol(c.status), c.id))
            .collect();
        let _ = writeln!(out, "Needs attention: {}", names.join(", "));
    }
    let _ = writeln!(out, "{}", summary_line(report));
    if report.interrupted {
        out.push_str("Interrupted: checks that had not finished are reported as skip.\n");
    }
    for note in &report.notes {
        let _ = writeln!(out, "Note: {note}");
    }
    out
}

/// A multi-line text (a waiver's reason) on one line of the table.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The symbol of a waived `fail`/`warn`: neither a pass nor a problem that gates.
const WAIVED: &str = "~";

/// `[n]`, the root cause a check points to, numbered from 1 in report order.
fn cause_number(causes: &[RootCause], check: &str) -> Option<usize> {
    causes
        .iter()
        .position(|c| c.checks.iter().any(|id| id == check))
        .map(|i| i + 1)
}

/// One root cause: heading, what it is about and which checks saw it, then the fix.
fn write_cause(
    out: &mut String,
    report: &Report,
    number: usize,
    cause: &RootCause,
    width: Option<usize>,
    paint: &Paint,
) {
    let heading = format!(
        "[{number}] {} {}  ({})",
        symbol(cause.status),
        cause.title,
        cause.remediation
    );
    let _ = writeln!(out, "\n{}", paint.status(cause.status, &heading));
    let seen_by = match cause.checks.len() {
        1 => format!("seen by {}", cause.checks[0]),
        n => format!("seen by {n} checks: {}", cause.checks.join(", ")),
    };
    let about = match cause.subjects.as_slice() {
        [] => String::new(),
        subjects => format!("about {}; ", subjects.join(", ")),
    };
    // What the cause is about is prose (names, not a command): it wraps like prose.
    write_fix_line(out, &format!("{about}{seen_by}"), width);
    // The first check that points to the cause carries the rendered remediation.
    let Some(fix) = report.fix_for(cause) else {
        return;
    };
    out.push('\n');
    for line in fix.text.lines() {
        write_fix_line(out, line, width);
    }
    if let Some(snippet) = &fix.snippet {
        let _ = writeln!(out, "\n{INDENT}Generated for this cluster:");
        for line in snippet.lines() {
            write_verbatim(out, &format!("{INDENT}{INDENT}"), line);
        }
    }
}

/// A remediation line: an indented line is a command or a file line and prints verbatim; a prose line
/// (starting at column 0) wraps to the width at spaces outside backticks.
fn write_fix_line(out: &mut String, line: &str, width: Option<usize>) {
    let verbatim = line.starts_with(char::is_whitespace) || line.trim().is_empty();
    match width {
        Some(w) if !verbatim => {
            // A numbered step keeps its continuation lines under its text, not under its number.
            let hang = list_marker_width(line);
            let parts = wrap_prose(line, w.saturating_sub(INDENT.len() + hang));
            for (i, part) in parts.iter().enumerate() {
                let pad = if i == 0 { 0 } else { hang };
                let _ = writeln!(out, "{INDENT}{:pad$}{part}", "");
            }
        }
        _ => write_verbatim(out, INDENT, line),
    }
}

/// A line exactly as given after the indentation; an empty line gets no trailing spaces.
fn write_verbatim(out: &mut String, indent: &str, line: &str) {
    if line.is_empty() {
        out.push('\n');
    } else {
        let _ = writeln!(out, "{indent}{line}");
    }
}

/// The width of a leading `1. ` or `- ` list marker, 0 when the line has none.
fn list_marker_width(line: &str) -> usize {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(". ") {
        digits + 2
    } else if line.starts_with("- ") {
        2
    } else {
        0
    }
}

/// Splits prose into lines of at most `width` columns at spaces, never inside a backtick span, so an inline
/// command stays whole (a word or span longer than the width gets a line of its own).
fn wrap_prose(text: &str, width: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut in_code = false;
    let mut current = String::new();
    for ch in text.chars() {
        if ch == '`' {
            in_code = !in_code;
        }
        if ch == ' ' && !in_code {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
        } else {
            current.push(ch);
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words {
        if !line.is_empty() && measure_text_width(&line) + 1 + measure_text_width(&word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `--verbose`: every detail of the check under its line, one `key: value` per line (compact JSON for
/// structured values), aligned under the message.
fn write_details(out: &mut String, check: &CheckResult, indent: usize) {
    let pad = " ".repeat(indent);
    for (key, value) in &check.details {
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "{pad}{key}: {shown}");
    }
}

/// `✔`, `▲`, `✖`, `-`, `!`: the symbol keeps the verdict readable without colour.
fn symbol(status: Status) -> &'static str {
    match status {
        Status::Pass => "✔",
        Status::Warn => "▲",
        Status::Fail => "✖",
        Status::Skip => "-",
        Status::Error => "!",
    }
}

/// ANSI styling, or none.
struct Paint {
    color: bool,
}

impl Paint {
    fn status(&self, status: Status, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let style = match status {
            Status::Pass => Style::new().green(),
            Status::Warn => Style::new().yellow(),
            Status::Fail => Style::new().red().bold(),
            Status::Skip => Style::new().dim(),
            Status::Error => Style::new().magenta().bold(),
        };
        style.force_styling(true).apply_to(text).to_string()
    }

    fn dim(&self, text: &str) -> String {
        if self.color {
            Style::new()
                .dim()
                .force_styling(true)
                .apply_to(text)
                .to_string()
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        if self.color {
            Style::new()
                .bold()
                .force_styling(true)
                .apply_to(text)
                .to_string()
        } else {
            text.to_string()
        }
    }
}

/// `14 checks: 9 pass, 2 warn, 1 fail, 2 skip, 0 error (1 waived); 1 root cause`.
fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let total = s.total();
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|st| format!("{} {st}", s.count(*st)))
        .collect();
    let waived = match s.waived {
        0 => String::new(),
        n => format!(" ({n} waived)"),
    };
    let causes = match report.root_causes.len() {
        0 => String::new(),
        1 => "; 1 root cause".to_string(),
        n => format!("; {n} root causes"),
    };
    format!(
        "{total} {}: {}{waived}{causes}",
        if total == 1 { "check" } else { "checks" },
        counts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::wrap_prose;

    #[test]
    fn prose_wraps_at_spaces_but_never_inside_backticks() {
        let lines = wrap_prose(
            "Check it with `kubectl config view --kubeconfig /a/b` and retry now",
            20,
        );
        assert_eq!(
            lines,
            vec![
                "Check it with",
                "`kubectl config view --kubeconfig /a/b`",
                "and retry now"
            ]
        );
        assert!(lines.iter().all(|l| !l.starts_with(' ')));
    }
}
