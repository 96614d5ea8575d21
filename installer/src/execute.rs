//! Runs a plan: for each step, its gates on fresh evidence, its plan, confirmation, apply, and verification
//! with backoff; the first failure stops the plan. Or, dry, prints every step's changes and the current
//! status of its gates, changing nothing.

use std::io::Write;
use std::time::Duration;

use mcp_doctor_checks::Status;
use tokio::time::Instant;

use crate::gate::{GateResult, Gates};
use crate::journal::{JOURNAL_SCHEMA, Journal, StepRecord, StepResult};
use crate::plan::{Plan, PlannedStep};
use crate::step::Env;

/// First and longest wait between verification attempts.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How mutating steps are confirmed.
pub enum Confirm {
    /// `--yes`: apply without asking.
    Yes,
    /// `--dry-run`: apply nothing.
    DryRun,
    /// Ask before each mutating step; the function gets the question and returns the answer.
    Ask(Box<dyn FnMut(&str) -> bool + Send>),
}

pub struct RunOutcome {
    pub journal: Journal,
}

impl RunOutcome {
    pub fn completed(&self) -> bool {
        self.journal.completed
    }
}

pub struct Executor<'a> {
    pub gates: &'a Gates,
    pub env: &'a Env,
    pub confirm: Confirm,
    /// Where progress is printed (stdout for the CLI).
    pub out: &'a mut dyn Write,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `nodes.ready pass: all 4 nodes are Ready`.
fn verdict(g: &GateResult) -> String {
    format!("{} {}: {}", g.id, g.status, g.message)
}

impl Executor<'_> {
    fn say(&mut self, line: impl AsRef<str>) {
        // Progress that cannot be printed (closed stdout) does not stop the plan; the journal has it.
        let _ = writeln!(self.out, "{}", line.as_ref());
        let _ = self.out.flush();
    }

    fn dry(&self) -> bool {
        matches!(self.confirm, Confirm::DryRun)
    }

    /// Runs (or, dry, previews) `plan`; `name` labels the journal.
    pub async fn run(&mut self, plan: &Plan, name: &str) -> RunOutcome {
        let started_at = jiff::Timestamp::now();
        let clock = Instant::now();
        let total = plan.steps.len();
        if self.dry() {
            self.say(format!(
                "Dry run of {name}: nothing is changed. Each step's changes are computed from the cluster and host as they are now, before the steps above it would run."
            ));
        }
        let mut records: Vec<StepRecord> = Vec::new();
        let mut stopped = false;
        for (i, planned) in plan.steps.iter().enumerate() {
            let mut record = StepRecord {
                index: i + 1,
                step: planned.step.kind().to_string(),
                description: planned.step.describe(),
                requires: Vec::new(),
                planned: Vec::new(),
                notes: Vec::new(),
                changes: Vec::new(),
                verifies: Vec::new(),
                verify_attempts: 0,
                result: StepResult::NotRun,
                error: None,
                duration_ms: 0,
            };
            if stopped {
                records.push(record);
                continue;
            }
            self.say(format!(
                "[{}/{total}] {}: {}",
                i + 1,
                record.step,
                record.description
            ));
            let step_clock = Instant::now();
            let go_on = if self.dry() {
                self.preview(planned, &mut record).await
            } else {
                self.execute(planned, &mut record).await
            };
            record.duration_ms = millis(step_clock.elapsed());
            if !go_on && !self.dry() {
                stopped = true;
                let rest = total - (i + 1);
                if rest > 0 {
                    self.say(format!(
                        "stopped: step {} did not complete; the {rest} step(s) after it were not run",
                        i + 1
                    ));
                } else {
                    self.say(format!("stopped: step {} did not complete", i + 1));
                }
            }
            records.push(record);
        }
        let completed = records.iter().all(|r| {
            matches!(r.result, StepResult::Done)
                || (r.result == StepResult::Planned && !r.requires.iter().any(GateResult::blocks))
        });
        if completed {
            self.say(if self.dry() {
                format!("Every gate passes now: `--yes` would run all {total} step(s).")
            } else {
                format!("Done: all {total} step(s) completed.")
            });
        }
        RunOutcome {
            journal: Journal {
                schema: JOURNAL_SCHEMA,
                plan: name.to_string(),
                dry_run: self.dry(),
                started_at: started_at
                    .round(jiff::Unit::Millisecond)
                    .unwrap_or(started_at)
                    .to_string(),
                duration_ms: millis(clock.elapsed()),
                completed,
                steps: records,
            },
        }
    }

    /// Evaluates a step's gates and prints them; returns the first blocking verdict.
    async fn gate(&mut self, planned: &PlannedStep, record: &mut StepRecord) -> Option<GateResult> {
        if planned.requires.is_empty() {
            self.say("  requires: nothing");
            return None;
        }
        let results = self.gates.evaluate(&planned.requires).await;
        let named: Vec<&GateResult> = results.iter().filter(|g| g.named).collect();
        if named.len() > 8 {
            let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
            for g in &named {
                *counts.entry(g.status.to_string()).or_default() += 1;
            }
            let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            self.say(format!(
                "  requires {} checks: {}",
                named.len(),
                summary.join(", ")
            ));
            // Passes and skips are summed up; anything else is worth its own line.
            for g in named
                .iter()
                .filter(|g| !matches!(g.status, Status::Pass | Status::Skip))
            {
                self.say(format!("  requires {}", verdict(g)));
            }
        } else {
            for g in &named {
                self.say(format!("  requires {}", verdict(g)));
            }
        }
        record.requires = results.clone();
        // A dependency that blocks is the root cause; named checks it blocks merely skip.
        results.into_iter().find(GateResult::blocks)
    }

    fn report_block(&mut self, g: &GateResult, dry: bool) {
        let lead = if dry {
            "would stop here"
        } else {
            "gate failed"
        };
        self.say(format!("  {lead}: {}", verdict(g)));
        if let Some(rem) = &g.remediation {
            self.say(format!("  remediation {}", rem.replace('\n', "\n    ")));
        }
    }

    async fn preview(&mut self, planned: &PlannedStep, record: &mut StepRecord) -> bool {
        let blocked = self.gate(planned, record).await;
        let mut ok = true;
        match planned.step.plan(self.env).await {
            Ok(plan) => {
                if plan.changes.is_empty() {
                    self.say(if planned.step.mutating() {
                        "  would change: nothing (already done)"
                    } else {
                        "  changes nothing: it only waits"
                    });
                }
                for c in &plan.changes {
                    self.say(format!("  would {c}"));
                }
                for n in &plan.notes {
                    self.say(format!("  note: {n}"));
                }
                record.planned = plan.changes;
                record.notes = plan.notes;
            }
            Err(e) => {
                ok = false;
                self.say(format!("  cannot plan: {e}"));
                record.error = Some(e);
            }
        }
        if !planned.verifies.is_empty() {
            self.say(format!(
                "  then verifies {} (waiting up to {}s)",
                planned.verifies.join(", "),
                planned.deadline.as_secs()
            ));
        }
        if let Some(g) = &blocked {
            self.report_block(g, true);
            ok = false;
        }
        record.result = if ok {
            StepResult::Planned
        } else {
            StepResult::GateFailed
        };
        ok
    }

    async fn execute(&mut self, planned: &PlannedStep, record: &mut StepRecord) -> bool {
        if let Some(g) = self.gate(planned, record).await {
            self.report_block(&g, false);
            record.result = StepResult::GateFailed;
            record.error = Some(format!("gate {}", verdict(&g)));
            return false;
        }
        let plan = match planned.step.plan(self.env).await {
            Ok(p) => p,
            Err(e) => return self.fail(record, e),
        };
        for c in &plan.changes {
            self.say(format!("  will {c}"));
        }
        for n in &plan.notes {
            self.say(format!("  note: {n}"));
        }
        record.planned = plan.changes.clone();
        record.notes = plan.notes.clone();
        if plan.changes.is_empty() {
            if planned.step.mutating() {
                self.say("  nothing to change (already done)");
            }
        } else {
            if planned.step.mutating()
                && let Confirm::Ask(ask) = &mut self.confirm
                && !ask(&format!("Apply step {} ({})?", record.index, record.step))
            {
                self.say("  declined: nothing changed");
                record.result = StepResult::Declined;
                return false;
            }
            match planned.step.apply(self.env).await {
                Ok(changes) => {
                    for c in &changes {
                        self.say(format!("  changed: {c}"));
                    }
                    record.changes = changes;
                }
                Err(e) => return self.fail(record, e),
            }
        }
        if !planned.verifies.is_empty() && !self.verify(planned, record).await {
            record.result = StepResult::VerifyFailed;
            return false;
        }
        record.result = StepResult::Done;
        true
    }

    fn fail(&mut self, record: &mut StepRecord, e: String) -> bool {
        self.say(format!("  failed: {e}"));
        record.result = StepResult::Failed;
        record.error = Some(e);
        false
    }

    /// Re-evaluates the verifying checks with backoff until all pass or the deadline passes.
    async fn verify(&mut self, planned: &PlannedStep, record: &mut StepRecord) -> bool {
        let clock = Instant::now();
        let deadline = clock + planned.deadline;
        let mut backoff = FIRST_BACKOFF;
        loop {
            record.verify_attempts += 1;
            let results = self.gates.evaluate(&planned.verifies).await;
            let named: Vec<GateResult> = results.iter().filter(|g| g.named).cloned().collect();
            let passed = named.iter().all(|g| g.status == Status::Pass);
            record.verifies = results;
            if passed {
                let list: Vec<String> = named.iter().map(|g| format!("{} pass", g.id)).collect();
                self.say(format!(
                    "  verified: {} (attempt {}, {:.1}s)",
                    list.join(", "),
                    record.verify_attempts,
                    clock.elapsed().as_secs_f64()
                ));
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                let failing: Vec<&GateResult> =
                    named.iter().filter(|g| g.status != Status::Pass).collect();
                self.say(format!(
                    "  verification failed after {}s ({} attempts):",
                    planned.deadline.as_secs(),
                    record.verify_attempts
                ));
                for g in &failing {
                    self.say(format!("    {}", verdict(g)));
                    if let Some(rem) = &g.remediation {
                        self.say(format!("    remediation {}", rem.replace('\n', "\n      ")));
                    }
                }
                record.error = Some(format!(
                    "not verified within {}s: {}",
                    planned.deadline.as_secs(),
                    failing
                        .iter()
                        .map(|g| verdict(g))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                return false;
            }
            tokio::time::sleep(backoff.min(deadline - now)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}
