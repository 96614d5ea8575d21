//! The report model: what a run concluded, in registry order. It is the one value every reporter (table, JSON,
//! JUnit) and the exit code are derived from, and its JSON form is the published `mcp-doctor.report/v1`
//! contract (schema in `runner/schema/report-v1.json`), so field names and order here are firm.

use std::time::Duration;

use mcp_doctor_checks::evidence::Origin;
use mcp_doctor_checks::{CheckMeta, Mode, Outcome, Profile, Status};
use mcp_doctor_remediations::Remediation;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::waivers::AppliedWaiver;

/// The value of the report's `schema` field.
pub const REPORT_SCHEMA_ID: &str = "mcp-doctor.report/v1";

/// The JSON Schema (draft 2020-12) every report validates against; the same text as
/// `runner/schema/report-v1.json`, compiled in so tools and tests need no path.
pub const REPORT_SCHEMA: &str = include_str!("../schema/report-v1.json");

/// Exit code of a run stopped by Ctrl-C: the shell convention 128 + SIGINT, so scripts can tell an
/// interrupted run from a failed one.
pub const EXIT_INTERRUPTED: u8 = 130;

/// A finished (or interrupted) run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA_ID`].
    pub schema: String,
    pub tool: Tool,
    pub mode: Mode,
    pub profile: Profile,
    /// Whether the evidence came from a live cluster or a bundle.
    pub source: Origin,
    /// Filled by the caller after the run when the cluster could be identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// When the run began (RFC 3339, UTC, millisecond precision).
    pub started_at: jiff::Timestamp,
    pub duration_ms: u64,
    pub summary: Summary,
    /// One result per selected check, in registry order whatever order they finished in.
    pub checks: Vec<CheckResult>,
    /// The distinct fixes the non-passing checks point to, each naming every check and subject it
    /// resolves, in the order of the first check that points to it. Derived from `checks` by
    /// [`RootCause::of`]; absent in reports written before it existed.
    #[serde(default)]
    pub root_causes: Vec<RootCause>,
    /// True when Ctrl-C stopped the run: checks that had not finished are `skip` "run interrupted".
    /// Omitted when false so a complete report carries no noise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// What the run wants the reader to know beyond the verdicts: waivers that expired, did not apply or
    /// waived nothing. Omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The program that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of mcp-doctor (the runner shares the workspace version with the binary).
    pub fn this() -> Tool {
        Tool {
            name: "mcp-doctor".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// What is known about the cluster the run looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// `k3s`, `rke2`, `kind`, `minikube`, `docker-desktop` or `generic`. A string rather than the
    /// remediation catalog's enum so a report from a newer build still parses.
    pub distribution: String,
    /// The API server's `gitVersion`, e.g. `v1.32.13+k3s1`.
    pub server_version: String,
    /// None (omitted) when the nodes could not be listed, e.g. RBAC forbids it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_count: Option<u64>,
}

/// How many checks ended in each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
    /// How many of the `fail`/`warn` results above a waiver covers (they keep their status and no longer
    /// set the exit code). Omitted when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub waived: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(checks: &[CheckResult]) -> Summary {
        let mut s = Summary::default();
        for c in checks {
            *s.slot(c.status) += 1;
        }
        s
    }

    pub fn count(&self, status: Status) -> usize {
        match status {
            Status::Pass => self.pass,
            Status::Warn => self.warn,
            Status::Fail => self.fail,
            Status::Skip => self.skip,
            Status::Error => self.error,
        }
    }

    pub fn total(&self) -> usize {
        Status::ALL.iter().map(|s| self.count(*s)).sum()
    }

    fn slot(&mut self, status: Status) -> &mut usize {
        match status {
            Status::Pass => &mut self.pass,
            Status::Warn => &mut self.warn,
            Status::Fail => &mut self.fail,
            Status::Skip => &mut self.skip,
            Status::Error => &mut self.error,
        }
    }
}

/// One check's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub category: String,
    pub status: Status,
    pub message: String,
    pub details: Map<String, Value>,
    pub depends_on: Vec<String>,
    /// Present exactly when `status` is `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    /// Never present on `pass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// What the finding is about (`node/mcp-worker-1`); omitted when the check named nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// The waiver that covers this `fail`/`warn` (see [`crate::waivers`]); omitted when none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<AppliedWaiver>,
    pub duration_ms: u64,
}

impl CheckResult {
    /// Builds a result from what a check returned, enforcing the contract's invariants whatever the check
    /// did: a `skip` always says why (its message, when the check set no separate reason), a non-skip has no
    /// `skipped_because`, and a `pass` carries no remediation.
    pub fn new(meta: &CheckMeta, outcome: Outcome, duration: Duration) -> CheckResult {
        let Outcome {
            status,
            message,
            details,
            skipped_because,
            remediation,
            subjects,
        } = outcome;
        let skipped_because = match status {
            Status::Skip => Some(skipped_because.unwrap_or_else(|| message.clone())),
            _ => None,
        };
        let remediation = if status == Status::Pass {
            None
        } else {
            remediation
        };
        CheckResult {
            id: meta.id.into(),
            title: meta.title.into(),
            category: meta.category.into(),
            status,
            message,
            details,
            depends_on: meta.depends_on.iter().map(|d| d.to_string()).collect(),
            skipped_because,
            remediation,
            subjects,
            waiver: None,
            duration_ms: millis(duration),
        }
    }
}

/// One fix and everything it resolves: the checks that point to it and the subjects they name. Two
/// checks share a root cause when they point to the same remediation about the same subjects (or, naming no
/// subject, render the same remediation), e.g. `nodes.pressure` and `node.disk-usage` both pointing to
/// `rem.disk-pressure` for `node/mcp-worker-1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    /// The remediation id (`rem.disk-pressure`).
    pub remediation: String,
    /// The remediation's title (`Recover a node from DiskPressure`).
    pub title: String,
    /// The worst status among the checks that point to it.
    pub status: Status,
    /// The union of the subjects those checks name, in first-seen order.
    pub subjects: Vec<String>,
    /// The ids of those checks, in registry order.
    pub checks: Vec<String>,
}

impl RootCause {
    /// Groups the non-passing checks' remediations into root causes, in the order of their first check.
    pub fn of(checks: &[CheckResult]) -> Vec<RootCause> {
        let mut causes: Vec<(&CheckResult, RootCause)> = Vec::new();
        for check in checks {
            let Some(fix) = &check.remediation else {
                continue;
            };
            let same = causes.iter_mut().find(|(first, _)| {
                let theirs = first.remediation.as_ref();
                theirs.is_some_and(|t| t.id == fix.id)
                    && if check.subjects.is_empty() && first.subjects.is_empty() {
                        theirs == Some(fix)
                    } else {
                        same_set(&first.subjects, &check.subjects)
                    }
            });
            match same {
                Some((_, cause)) => {
                    cause.status = worse(cause.status, check.status);
                    cause.checks.push(check.id.clone());
                    for s in &check.subjects {
                        if !cause.subjects.contains(s) {
                            cause.subjects.push(s.clone());
                        }
                    }
                }
                None => causes.push((
                    check,
                    RootCause {
                        remediation: fix.id.clone(),
                        title: fix.title.clone(),
                        status: check.status,
                        subjects: check.subjects.clone(),
                        checks: vec![check.id.clone()],
                    },
                )),
            }
        }
        causes.into_iter().map(|(_, cause)| cause).collect()
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// The more serious of two statuses for a root cause: error and fail outrank warn, which outranks skip.
fn worse(a: Status, b: Status) -> Status {
    let rank = |s: Status| match s {
        Status::Pass => 0,
        Status::Skip => 1,
        Status::Warn => 2,
        Status::Fail => 3,
        Status::Error => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Which verdicts make the exit code 1 (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Only `fail` and `error`.
    #[default]
    Fail,
    /// `warn` too: for CI gates that want a spotless cluster.
    Warn,
}

impl Report {
    /// The rendered fix of a root cause: the remediation of the first check that points to it.
    pub fn fix_for(&self, cause: &RootCause) -> Option<&Remediation> {
        let first = cause.checks.first()?;
        self.checks
            .iter()
            .find(|c| &c.id == first)
            .and_then(|c| c.remediation.as_ref())
    }

    /// The process exit code for this report:
    /// - `130` ([`EXIT_INTERRUPTED`]) when Ctrl-C interrupted the run, whatever had finished;
    /// - `1` when a check ended `fail` or `error`, or `warn` under [`FailOn::Warn`], and no waiver covers
    ///   it (an `error` is never waived);
    /// - `0` otherwise.
    ///
    /// (`2`, "could not start", never comes from a report: the binary returns it before any run.)
    pub fn exit_code(&self, fail_on: FailOn) -> u8 {
        let counts = |c: &&CheckResult| match c.status {
            Status::Fail | Status::Error => true,
            Status::Warn => fail_on == FailOn::Warn,
            Status::Pass | Status::Skip => false,
        };
        if self.interrupted {
            EXIT_INTERRUPTED
        } else if self
            .checks
            .iter()
            .filter(|c| c.waiver.is_none())
            .any(|c| counts(&c))
        {
            1
        } else {
            0
        }
    }
}

/// Whole milliseconds, saturating (a run does not last 584 million years).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
