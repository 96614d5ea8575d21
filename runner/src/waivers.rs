//! Waivers: accepted, time-limited exceptions to a check's verdict, kept in a checked-in YAML file so a CI
//! gate can pass on a known failure without turning the check off for good.
//!
//! ```yaml
//! waivers:
//!   - check: nodes.pressure
//!     subject: node/mcp-worker-1      # optional; or `subjects: [...]`
//!     reason: disk replacement booked, INC-4711
//!     owner: platform-team
//!     expires: 2026-12-31             # waives through the end of that day (UTC)
//! ```
//!
//! The rules, so nothing is suppressed silently:
//! - a waiver only covers `fail` and `warn`. An `error` means the check could not run: it stays an error
//!   and a note says the waiver was not applied. `pass` and `skip` need no waiver; a waiver that finds
//!   nothing to waive is noted, so stale entries show up.
//! - a waiver limited to subjects covers a result only when every subject the result names (the report's
//!   `node/…`, `ingress/<namespace>/<name>`, `host/…`) is listed; a result naming another subject, or none,
//!   is not waived, and a note says why.
//! - a waiver past its expiry date stops waiving: the check's message says so and so does a note.
//! - a waived result keeps its status (`fail`/`warn`) and carries the waiver; it no longer sets the exit
//!   code, and every reporter shows it as waived with its reason.
//! - a file that does not parse, names an unknown check, or lacks a reason, an owner or an expiry date
//!   is refused with its file, line and column ([`WaiverError`]); the tool then exits 2.

use std::fmt;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use mcp_doctor_checks::Status;
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};

use crate::report::{CheckResult, Report, RootCause};

/// The file read from the working directory when `--waivers` is not given.
pub const DEFAULT_WAIVERS_FILE: &str = ".mcp-doctor-waivers.yaml";

/// A waivers file that cannot be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no position (an unreadable file).
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for WaiverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "waivers file {}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "waivers file {}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for WaiverError {}

/// One validated entry of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub check: String,
    /// Empty: the waiver covers the check whatever it names.
    pub subjects: Vec<String>,
    pub reason: String,
    pub owner: String,
    /// The last day the waiver waives (UTC).
    pub expires: Date,
    /// `<file>:<line>` of the entry, so every mention of the waiver points back at it.
    pub source: String,
}

/// The waiver that waived a result, as the JSON report carries it (`checks[].waiver`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedWaiver {
    pub reason: String,
    pub owner: String,
    /// `YYYY-MM-DD`, the last day it waives.
    pub expires: String,
    /// The subjects it is limited to; omitted when it covers the check whatever it names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// `<file>:<line>` of the entry.
    pub source: String,
}

impl From<&Waiver> for AppliedWaiver {
    fn from(w: &Waiver) -> Self {
        AppliedWaiver {
            reason: w.reason.clone(),
            owner: w.owner.clone(),
            expires: w.expires.to_string(),
            subjects: w.subjects.clone(),
            source: w.source.clone(),
        }
    }
}

/// The entries of one waivers file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waivers {
    pub file: PathBuf,
    pub entries: Vec<Waiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    waivers: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    check: Option<Spanned<String>>,
    subject: Option<Spanned<String>>,
    subjects: Option<Vec<Spanned<String>>>,
    reason: Option<Spanned<String>>,
    owner: Option<Spanned<String>>,
    expires: Option<Spanned<String>>,
}

impl Waivers {
    /// Reads and validates `file`; `known` tells whether a check id exists.
    pub fn load(file: &Path, known: &dyn Fn(&str) -> bool) -> Result<Waivers, WaiverError> {
        let text = std::fs::read_to_string(file).map_err(|e| WaiverError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read it: {e}"),
        })?;
        Waivers::parse(file, &text, known)
    }

    /// Validates the YAML `text` of `file` (the name is used in messages and `source`).
    pub fn parse(
        file: &Path,
        text: &str,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Waivers, WaiverError> {
        let at = |loc: Location, message: String| WaiverError {
            file: file.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
            message,
        };
        let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| {
            let loc = e.location().unwrap_or(Location::UNKNOWN);
            // The position is ours to print, once, in the `file:line:column:` prefix.
            let message = e.without_snippet().to_string();
            let message = strip_position(&message, loc);
            at(
                loc,
                format!("{message} (expected `waivers:` holding a list of entries)"),
            )
        })?;
        let mut entries = Vec::new();
        for entry in raw.waivers {
            let here = entry.referenced;
            let w = entry.value;
            let required = |field: Option<Spanned<String>>, name: &str, example: &str| match field {
                Some(v) if !v.value.trim().is_empty() => Ok(v),
                Some(v) => Err(at(v.referenced, format!("`{name}` is empty; {example}"))),
                None => Err(at(here, format!("the entry has no `{name}`; {example}"))),
            };
            let check = required(
                w.check,
                "check",
                "name the check id it waives (see `mcp-doctor list`)",
            )?;
            if !known(&check.value) {
                return Err(at(
                    check.referenced,
                    format!(
                        "unknown check id {:?}; `mcp-doctor list` shows them all",
                        check.value
                    ),
                ));
            }
            let reason = required(
                w.reason,
                "reason",
                "say why the failure is accepted (a waiver without a reason is refused)",
            )?;
            let owner = required(w.owner, "owner", "say who answers for the waiver")?;
            let expires = required(
                w.expires,
                "expires",
                "give the last day it waives, YYYY-MM-DD (waivers never last for good)",
            )?;
            let expires_on: Date = expires.value.trim().parse().map_err(|_| {
                at(
                    expires.referenced,
                    format!(
                        "`expires: {}` is not a date; write YYYY-MM-DD, e.g. 2026-12-31",
                        expires.value
                    ),
                )
            })?;
            if w.subject.is_some() && w.subjects.is_some() {
                return Err(at(
                    here,
                    "give either `subject` or `subjects`, not both".into(),
                ));
            }
            let mut subjects = Vec::new();
            for s in w
                .subject
                .into_iter()
                .chain(w.subjects.into_iter().flatten())
            {
                if !is_subject(&s.value) {
                    return Err(at(
                        s.referenced,
                        format!(
                            "subject {:?} is not kind/name or kind/namespace/name as the report names \
                             them, e.g. node/mcp-worker-1, ingress/mcp-system/registry, host/registry.example.com",
                            s.value
                        ),
                    ));
                }
                subjects.push(s.value);
            }
            entries.push(Waiver {
                check: check.value,
                subjects,
                reason: reason.value.trim().to_string(),
                owner: owner.value.trim().to_string(),
                expires: expires_on,
                source: format!("{}:{}", file.display(), here.line()),
            });
        }
        Ok(Waivers {
            file: file.to_path_buf(),
            entries,
        })
    }
}

/// saphyr ends some messages with its own ` at line L column C`; the caller prints the position once.
fn strip_position(message: &str, loc: Location) -> String {
    let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
    message
        .trim()
        .strip_suffix(&suffix)
        .unwrap_or(message.trim())
        .to_string()
}

/// `kind/name` or `kind/namespace/name`, the shape of the report's subjects.
fn is_subject(s: &str) -> bool {
    let mut parts = s.split('/');
    let kind = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && matches!(rest.len(), 1 | 2)
        && rest.iter().all(|p| !p.is_empty())
}

/// How one waiver relates to one result.
enum Fit {
    /// It covers the result.
    Covers,
    /// It is for the check but does not cover the result; the note says why.
    Misses(String),
}

fn fit(w: &Waiver, check: &CheckResult) -> Fit {
    if w.subjects.is_empty() {
        return Fit::Covers;
    }
    if check.subjects.is_empty() {
        return Fit::Misses(format!(
            "it is limited to {} but the result names no subject",
            w.subjects.join(", ")
        ));
    }
    let outside: Vec<&str> = check
        .subjects
        .iter()
        .filter(|s| !w.subjects.contains(s))
        .map(String::as_str)
        .collect();
    if outside.is_empty() {
        Fit::Covers
    } else {
        Fit::Misses(format!(
            "it is limited to {} but the result also names {}",
            w.subjects.join(", "),
            outside.join(", ")
        ))
    }
}

impl Report {
    /// The UTC day the run started: the day waivers are judged against.
    pub fn started_on(&self) -> Date {
        self.started_at.to_zoned(jiff::tz::TimeZone::UTC).date()
    }

    /// Applies `waivers` as of `today`: waived `fail`/`warn` results carry their waiver, expired waivers
    /// are written into the message they no longer waive, and every waiver that did not waive what it
    /// names leaves a note. Root causes are recomputed over the results still needing attention.
    pub fn apply_waivers(&mut self, waivers: &Waivers, today: Date) {
        for w in &waivers.entries {
            let Some(check) = self.checks.iter_mut().find(|c| c.id == w.check) else {
                // Not selected in this run (another mode, --only/--skip): nothing to say.
                continue;
            };
            let what = format!("waiver {} for {}", w.source, w.check);
            match check.status {
                Status::Pass | Status::Skip => {
                    self.notes.push(format!(
                        "{what} waives nothing: the check ended {}; remove the waiver once it is no longer needed",
                        check.status
                    ));
                    continue;
                }
                Status::Error => {
                    self.notes.push(format!(
                        "{what} not applied: the check ended in error (it could not run), which a waiver never hides"
                    ));
                    continue;
                }
                Status::Fail | Status::Warn => {}
            }
            if check.waiver.is_some() {
                continue;
            }
            match fit(w, check) {
                Fit::Misses(why) => {
                    self.notes.push(format!("{what} not applied: {why}"));
                }
                Fit::Covers if w.expires < today => {
                    // The message stays one line whatever the reason holds.
                    let reason = w.reason.split_whitespace().collect::<Vec<_>>().join(" ");
                    check.message =
                        format!("{} [waiver expired {}: {reason}]", check.message, w.expires);
                    self.notes.push(format!(
                        "{what} expired on {} (owner {}); the {} is reported again: renew or remove the waiver",
                        w.expires, w.owner, check.status
                    ));
                }
                Fit::Covers => check.waiver = Some(AppliedWaiver::from(w)),
            }
        }
        self.summary.waived = self.checks.iter().filter(|c| c.waiver.is_some()).count();
        let attention: Vec<CheckResult> = self
            .checks
            .iter()
            .filter(|c| c.waiver.is_none())
            .cloned()
            .collect();
        self.root_causes = RootCause::of(&attention);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Waivers, WaiverError> {
        Waivers::parse(Path::new("w.yaml"), text, &|id| {
            ["nodes.pressure", "nodes.ready"].contains(&id)
        })
    }

    #[test]
    fn a_valid_file_parses_with_sources() {
        let w = parse(
            "waivers:\n  - check: nodes.pressure\n    subject: node/a\n    reason: disk swap booked\n    owner: ops\n    expires: 2026-12-31\n  - check: nodes.ready\n    subjects: [node/b, node/c]\n    reason: r\n    owner: o\n    expires: '2027-01-01'\n",
        )
        .unwrap();
        assert_eq!(w.entries.len(), 2);
        assert_eq!(w.entries[0].subjects, ["node/a"]);
        assert_eq!(w.entries[0].source, "w.yaml:2");
        assert_eq!(w.entries[0].expires.to_string(), "2026-12-31");
        assert_eq!(w.entries[1].subjects, ["node/b", "node/c"]);
        assert_eq!(w.entries[1].source, "w.yaml:7");
    }

    #[test]
    fn every_refusal_names_line_and_column() {
        let cases = [
            (
                "waivers:\n  - check: nodes.nope\n    reason: r\n    owner: o\n    expires: 2026-01-01\n",
                (2, 12),
                "unknown check id \"nodes.nope\"",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    owner: o\n    expires: 2026-01-01\n",
                (2, 5),
                "no `reason`",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    reason: r\n    owner: o\n",
                (2, 5),
                "no `expires`",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    reason: '  '\n    owner: o\n    expires: 2026-01-01\n",
                (3, 13),
                "`reason` is empty",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    reason: r\n    owner: o\n    expires: next week\n",
                (5, 14),
                "not a date",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    reason: r\n    owner: o\n    expires: 2026-01-01\n    subject: mcp-worker-1\n",
                (6, 14),
                "not kind/name",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    reason: r\n    owner: o\n    expire: 2026-01-01\n",
                (5, 5),
                "expire",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    reason: [unclosed\n",
                (3, 13),
                "expected string",
            ),
            (
                "waivers:\n  - check: nodes.ready\n    reason: \"unterminated\n  owner: o\n",
                (4, 3),
                "invalid indentation",
            ),
            ("just text\n", (1, 1), "expected mapping"),
            ("", (1, 1), "end of input"),
        ];
        for (text, (line, column), needle) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{e}\n{text}");
            assert!(e.to_string().contains(needle), "{e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("waivers file w.yaml:{line}:{column}: ")),
                "{e}"
            );
            assert!(!e.to_string().contains('\n'), "one line: {e}");
        }
    }
}
