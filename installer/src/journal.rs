//! The run journal: what an install (or fix) did, step by step — gates with their verdicts, planned and
//! made changes, verification attempts, timings — written as JSON next to the plan.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::gate::GateResult;
use crate::step::Change;

pub const JOURNAL_SCHEMA: &str = "mcp-doctor.install-journal/v1";

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepResult {
    /// Applied (or had nothing to change) and verified.
    Done,
    /// Dry run: planned only.
    Planned,
    /// A required check failed or errored: the step did not run.
    GateFailed,
    /// Planning or applying failed.
    Failed,
    /// Applied, but the verifying checks did not pass by the deadline.
    VerifyFailed,
    /// The operator said no.
    Declined,
    /// An earlier step stopped the plan.
    NotRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub index: usize,
    pub step: String,
    pub description: String,
    pub requires: Vec<GateResult>,
    pub planned: Vec<Change>,
    pub notes: Vec<String>,
    pub changes: Vec<Change>,
    pub verifies: Vec<GateResult>,
    pub verify_attempts: u32,
    pub result: StepResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Journal {
    pub schema: &'static str,
    /// The plan file, or `fix <check-id>`.
    pub plan: String,
    pub dry_run: bool,
    pub started_at: String,
    pub duration_ms: u64,
    /// True when every step ended `done` (or `planned` with its gates passing, in a dry run).
    pub completed: bool,
    pub steps: Vec<StepRecord>,
}

impl Journal {
    /// Writes the journal into `dir` as `<stem>.journal-<UTC timestamp>.json`; returns its path.
    pub fn write(&self, dir: &Path, stem: &str) -> std::io::Result<PathBuf> {
        let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S%.3fZ");
        let path = dir.join(format!("{stem}.journal-{stamp}.json"));
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&path, text + "\n")?;
        Ok(path)
    }
}
