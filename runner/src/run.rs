//! Runs the selected checks as a dependency graph: each check starts once every selected check it depends
//! on has finished, independent checks run concurrently (at most `jobs` at once), each has a time limit,
//! and a check whose dependency did not pass is skipped rather than run against a broken foundation.
//!
//! One scheduling loop owns all state; checks run as tokio tasks that only return their [`Outcome`]. That
//! keeps the bookkeeping free of locks, lets one timer in the loop enforce every time limit (aborting the
//! task), and turns a panicking check into an `error` via its `JoinError` instead of crashing the run.
//! Limits rely on checks awaiting: a check that blocks its thread can stall the runtime's timer too.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use mcp_doctor_checks::{Check, Context, Outcome, Status};
use tokio::task::{AbortHandle, JoinError, JoinSet};
use tokio::time::Instant;

use crate::events::{Event, EventSink};
use crate::report::{CheckResult, REPORT_SCHEMA_ID, Report, RootCause, Summary, Tool, millis};

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Most checks running at once (`--jobs`); 0 is treated as 1.
    pub jobs: usize,
    /// Time limit of a check that declares none of its own (`--timeout`).
    pub timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: 8,
            timeout: Duration::from_secs(15),
        }
    }
}

/// Runs `checks` (the selection, in registry order; the caller has already set `ctx.selected`) and returns
/// the report, listing results in that same order.
///
/// - A dependency that is not in the selection is treated as satisfied.
/// - A check whose dependency ended other than `pass`/`warn` is `skip` "dependency <id> <status>", which
///   cascades down a chain; a check that does not apply is `skip` with its own reason.
/// - A check exceeding its time limit (`meta.timeout`, else `opts.timeout`) is `error` "timed out after Ns";
///   a panicking check is `error` "check panicked: ...". Neither stops the run.
/// - When `cancel` completes (the binary passes Ctrl-C), no further check starts, running ones are aborted,
///   and every unfinished check is `skip` "run interrupted" in a report marked `interrupted`. A `cancel`
///   that never fires is `std::future::pending()`; note that a failed `tokio::signal::ctrl_c()` resolves
///   at once, so wrap it to stay pending on error.
///
/// Checks are `&'static` because they run on tokio tasks: keep the registry in a `static` or leak it once.
pub async fn run(
    checks: &[&'static dyn Check],
    ctx: Arc<Context>,
    opts: &RunOptions,
    events: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> Report {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let mut run = Scheduler::new(checks, ctx.clone(), opts, events);
    let mut cancel = pin!(cancel);
    let mut interrupted = false;
    loop {
        run.start_ready();
        let Some(deadline) = run.next_deadline() else {
            break;
        };
        tokio::select! {
            biased;
            () = &mut cancel => {
                interrupted = true;
                break;
            }
            Some(joined) = run.tasks.join_next_with_id() => run.collect(joined),
            () = tokio::time::sleep_until(deadline) => run.expire(),
        }
    }
    let leftover = if interrupted {
        Outcome::skip("run interrupted")
    } else {
        // Only reachable when the selection's dependencies form a cycle (the registry rejects those).
        Outcome::error("not run: its dependencies form a cycle")
    };
    let checks = run.finish_remaining(leftover);
    let summary = Summary::of(&checks);
    let root_causes = RootCause::of(&checks);
    Report {
        schema: REPORT_SCHEMA_ID.into(),
        tool: Tool::this(),
        mode: ctx.mode,
        profile: ctx.profile,
        source: ctx.evidence.origin,
        cluster: None,
        started_at: started_at
            .round(jiff::Unit::Millisecond)
            .unwrap_or(started_at),
        duration_ms: millis(clock.elapsed()),
        summary,
        checks,
        root_causes,
        interrupted,
        notes: Vec::new(),
    }
}

/// Where one check is in its life.
enum Slot {
    Waiting,
    Running {
        started: Instant,
        deadline: Instant,
        limit: Duration,
        task: AbortHandle,
    },
    /// Boxed: a result is far larger than the other states.
    Done(Box<CheckResult>),
}

struct Scheduler<'a> {
    checks: &'a [&'static dyn Check],
    /// Position of each selected check by id, to find dependencies.
    index: HashMap<&'static str, usize>,
    slots: Vec<Slot>,
    tasks: JoinSet<Outcome>,
    ctx: Arc<Context>,
    jobs: usize,
    timeout: Duration,
    events: &'a dyn EventSink,
    done: usize,
}

/// Whether a waiting check may start.
enum Readiness {
    Ready,
    /// A selected dependency has not finished yet.
    Pending,
    /// A dependency finished with a status that does not let dependents run.
    Blocked {
        dependency: &'static str,
        status: Status,
    },
}

impl<'a> Scheduler<'a> {
    fn new(
        checks: &'a [&'static dyn Check],
        ctx: Arc<Context>,
        opts: &RunOptions,
        events: &'a dyn EventSink,
    ) -> Self {
        Scheduler {
            checks,
            index: checks
                .iter()
                .enumerate()
                .map(|(i, c)| (c.meta().id, i))
                .collect(),
            slots: checks.iter().map(|_| Slot::Waiting).collect(),
            tasks: JoinSet::new(),
            ctx,
            jobs: opts.jobs.max(1),
            timeout: opts.timeout,
            events,
            done: 0,
        }
    }

    fn running(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Running { .. }))
            .count()
    }

    /// Skips what can no longer run and starts what can, in registry order, until nothing changes (a skip
    /// can unblock or block a check listed earlier).
    fn start_ready(&mut self) {
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..self.checks.len() {
                if !matches!(self.slots[i], Slot::Waiting) {
                    continue;
                }
                match self.readiness(i) {
                    Readiness::Pending => {}
                    Readiness::Blocked { dependency, status } => {
                        self.finish(
                            i,
                            Outcome::skip(format!("dependency {dependency} {status}")),
                            Duration::ZERO,
                        );
                        changed = true;
                    }
                    Readiness::Ready if self.running() < self.jobs => {
                        let check = self.checks[i];
                        if let Some(reason) = check.not_applicable(&self.ctx) {
                            self.finish(i, Outcome::skip(reason), Duration::ZERO);
                            changed = true;
                        } else {
                            self.spawn(i);
                        }
                    }
                    Readiness::Ready => {}
                }
            }
        }
    }

    fn readiness(&self, i: usize) -> Readiness {
        let mut pending = false;
        for dep in self.checks[i].meta().depends_on {
            let Some(&d) = self.index.get(dep) else {
                continue;
            };
            match &self.slots[d] {
                // The reason names the first blocking dependency in `depends_on` order once every one
                // before it has finished, so the report does not depend on which finished first.
                Slot::Done(r) if !r.status.lets_dependents_run() && !pending => {
                    return Readiness::Blocked {
                        dependency: self.checks[d].meta().id,
                        status: r.status,
                    };
                }
                Slot::Done(r) if !r.status.lets_dependents_run() => {}
                Slot::Done(_) => {}
                Slot::Waiting | Slot::Running { .. } => pending = true,
            }
        }
        if pending {
            Readiness::Pending
        } else {
            Readiness::Ready
        }
    }

    fn spawn(&mut self, i: usize) {
        let check = self.checks[i];
        let meta = check.meta();
        let ctx = self.ctx.clone();
        let limit = meta.timeout.unwrap_or(self.timeout);
        let started = Instant::now();
        // A limit too large to add (`--timeout` of centuries) means "no limit"; a year stands in for it.
        let deadline = started
            .checked_add(limit)
            .unwrap_or_else(|| started + Duration::from_secs(365 * 24 * 3600));
        let task = self.tasks.spawn(async move { check.run(&ctx).await });
        self.slots[i] = Slot::Running {
            started,
            deadline,
            limit,
            task,
        };
        self.events.event(&Event::Started {
            id: meta.id,
            done: self.done,
            total: self.checks.len(),
        });
    }

    /// The earliest time limit among running checks; None when nothing runs (the run is over).
    fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Running { deadline, .. } => Some(*deadline),
                _ => None,
            })
            .min()
    }

    /// Records a task's result. A task aborted for its time limit was already recorded, so its
    /// cancellation finds no running slot and is ignored.
    fn collect(&mut self, joined: Result<(tokio::task::Id, Outcome), JoinError>) {
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, outcome),
            Err(e) => (e.id(), Outcome::error(task_failure(e))),
        };
        let found = self
            .slots
            .iter()
            .position(|s| matches!(s, Slot::Running { task, .. } if task.id() == id));
        if let Some(i) = found
            && let Slot::Running { started, .. } = self.slots[i]
        {
            self.finish(i, outcome, started.elapsed());
        }
    }

    /// Aborts and records every running check past its time limit.
    fn expire(&mut self) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            if let Slot::Running {
                started,
                deadline,
                limit,
                ref task,
            } = self.slots[i]
                && deadline <= now
            {
                task.abort();
                self.finish(
                    i,
                    Outcome::error(format!("timed out after {}s", limit.as_secs())),
                    now - started,
                );
            }
        }
    }

    fn finish(&mut self, i: usize, outcome: Outcome, duration: Duration) {
        let result = self.record(i, outcome, duration);
        self.slots[i] = Slot::Done(Box::new(result));
    }

    /// Builds check `i`'s result and announces it.
    fn record(&mut self, i: usize, outcome: Outcome, duration: Duration) -> CheckResult {
        let meta = self.checks[i].meta();
        let result = CheckResult::new(meta, outcome, duration);
        self.done += 1;
        self.events.event(&Event::Finished {
            id: meta.id,
            status: result.status,
            message: &result.message,
            duration,
            done: self.done,
            total: self.checks.len(),
        });
        result
    }

    /// Aborts whatever still runs, gives every unfinished check `leftover`, and returns the results in
    /// registry order.
    fn finish_remaining(mut self, leftover: Outcome) -> Vec<CheckResult> {
        self.tasks.abort_all();
        let slots = std::mem::take(&mut self.slots);
        slots
            .into_iter()
            .enumerate()
            .map(|(i, slot)| match slot {
                Slot::Done(result) => *result,
                Slot::Waiting | Slot::Running { .. } => {
                    self.record(i, leftover.clone(), Duration::ZERO)
                }
            })
            .collect()
    }
}

/// The message for a check task that ended without an outcome: a panic (with its payload when it is
/// text) or, in principle, an external cancellation.
fn task_failure(e: JoinError) -> String {
    if e.is_panic() {
        let payload = e.into_panic();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-text panic payload".into());
        format!("check panicked: {text}")
    } else {
        format!("check task ended without a result: {e}")
    }
}
