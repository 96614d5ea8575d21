//! The human report: one row per check (STATUS, CHECK, MESSAGE), the remediation indented under every
//! check that did not pass, and a summary line.
//!
//! comfy-table decides colour and width from whether *its* stdout is a terminal; that made output depend on
//! where tests run, so this renderer never lets it guess: the caller says whether to colour and how wide.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use mcp_doctor_checks::Status;

use crate::report::{CheckResult, Report};

/// How the table is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// ANSI colours on the status column. The binary sets this when stdout is a TTY and `NO_COLOR` is unset.
    pub color: bool,
    /// Wrap to this many columns; None never wraps (files, pipes, golden tests). See [`terminal_width`].
    pub width: Option<u16>,
}

/// The width of the terminal on stdout, None when stdout is not a terminal.
pub fn terminal_width() -> Option<u16> {
    Table::new().width()
}

/// The table, then the summary line (and a note when the run was interrupted).
pub fn render(report: &Report, opts: &TableOptions) -> String {
    let mut table = Table::new();
    table
        .force_no_tty()
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(vec!["STATUS", "CHECK", "MESSAGE"]);
    if opts.color {
        table.enforce_styling();
    }
    if let Some(width) = opts.width {
        table
            .set_width(width)
            .set_content_arrangement(ContentArrangement::Dynamic);
    }
    for check in &report.checks {
        table.add_row(vec![
            status_cell(check.status, opts.color),
            Cell::new(&check.id),
            Cell::new(&check.message),
        ]);
        if let Some(text) = remediation_text(check) {
            table.add_row(vec![Cell::new(""), Cell::new(""), Cell::new(text)]);
        }
    }
    let mut out = format!("{table}\n{}\n", summary_line(report));
    if report.interrupted {
        out.push_str("Interrupted: checks that had not finished are reported as skip.\n");
    }
    out
}

/// `✔ pass`, `▲ warn`, `✖ fail`, `- skip`, `! error`: the symbol keeps the verdict readable without colour.
fn status_cell(status: Status, color: bool) -> Cell {
    let (symbol, colour) = match status {
        Status::Pass => ("✔", Color::Green),
        Status::Warn => ("▲", Color::Yellow),
        Status::Fail => ("✖", Color::Red),
        Status::Skip => ("-", Color::DarkGrey),
        Status::Error => ("!", Color::Magenta),
    };
    let cell = Cell::new(format!("{symbol} {status}"));
    if color { cell.fg(colour) } else { cell }
}

/// The remediation under a check (only non-passing checks carry one): its title, the text indented, any snippet indented further.
fn remediation_text(check: &CheckResult) -> Option<String> {
    let r = check.remediation.as_ref()?;
    let mut lines = vec![format!("  ↳ fix: {} ({})", r.title, r.id)];
    lines.extend(r.text.lines().map(|l| format!("    {l}")));
    if let Some(snippet) = &r.snippet {
        lines.extend(snippet.lines().map(|l| format!("      {l}")));
    }
    Some(lines.join("\n"))
}

/// `14 checks: 9 pass, 2 warn, 1 fail, 2 skip, 0 error`.
fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let total = s.total();
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|st| format!("{} {st}", s.count(*st)))
        .collect();
    format!(
        "{total} {}: {}",
        if total == 1 { "check" } else { "checks" },
        counts.join(", ")
    )
}
