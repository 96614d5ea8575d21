//! Progress while a run is under way: the runner emits an [`Event`] when a check starts and when it
//! finishes, and an [`EventSink`] shows them. Progress always goes to stderr so stdout carries only the
//! report (`--format json > report.json` stays clean).

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mcp_doctor_checks::Status;

/// Something that happened during a run. `done`/`total` count finished checks against the selection, so a
/// sink needs no state of its own to show `[ 3/14]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A check's `run` was spawned (checks skipped without running never start).
    Started {
        id: &'a str,
        done: usize,
        total: usize,
    },
    /// A check has its final status; every selected check finishes exactly once, including skips and,
    /// on Ctrl-C, the ones interrupted.
    Finished {
        id: &'a str,
        status: Status,
        message: &'a str,
        duration: Duration,
        done: usize,
        total: usize,
    },
}

/// Receives run events. Called from the runner's scheduling loop, never concurrently with itself.
pub trait EventSink: Send + Sync {
    fn event(&self, event: &Event<'_>);
}

/// Shows nothing: for callers that print no progress (tests, `analyze` in scripts).
pub struct NoProgress;

impl EventSink for NoProgress {
    fn event(&self, _event: &Event<'_>) {}
}

/// One line per event on stderr, for logs and CI where spinners would leave escape-code debris:
/// `[ 3/14] PASS  nodes.ready  4 nodes Ready`.
pub struct PlainProgress;

impl EventSink for PlainProgress {
    fn event(&self, event: &Event<'_>) {
        eprintln!("{}", plain_line(event));
    }
}

/// Transient progress for a person at a terminal: one line on stderr with a spinner, the count of finished
/// checks and the ids of those still running, redrawn in place and cleared when the last check finishes,
/// so the terminal keeps only the report (verdicts are not printed twice).
pub struct LiveProgress {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
}

impl LiveProgress {
    pub fn new() -> LiveProgress {
        LiveProgress::with_target(ProgressDrawTarget::stderr())
    }

    fn with_target(target: ProgressDrawTarget) -> LiveProgress {
        let style = ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg} {elapsed}")
            .expect("the progress template is valid");
        let bar = ProgressBar::with_draw_target(None, target).with_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        LiveProgress {
            bar,
            running: Mutex::new(Vec::new()),
        }
    }
}

impl Default for LiveProgress {
    fn default() -> Self {
        LiveProgress::new()
    }
}

impl Drop for LiveProgress {
    /// An interrupted or aborted run must not leave a half-drawn line behind either.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl EventSink for LiveProgress {
    fn event(&self, event: &Event<'_>) {
        // A poisoned lock only means an earlier event panicked mid-update; the list is still usable.
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let (done, total) = match *event {
            Event::Started { id, done, total } => {
                running.push(id.to_string());
                (done, total)
            }
            Event::Finished {
                id, done, total, ..
            } => {
                running.retain(|r| r != id);
                (done, total)
            }
        };
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        self.bar
            .set_message(format!("running {}", running.join(", ")));
        if done == total {
            self.bar.finish_and_clear();
        }
    }
}

/// The renderer a run should use.
pub enum Progress {
    Live(LiveProgress),
    Plain(PlainProgress),
}

impl EventSink for Progress {
    fn event(&self, event: &Event<'_>) {
        match self {
            Progress::Live(p) => p.event(event),
            Progress::Plain(p) => p.event(event),
        }
    }
}

/// Spinners only for a person at a terminal: plain lines when stderr (where progress is drawn) is not a
/// TTY, or when `CI` is set (CI consoles often claim to be TTYs but keep every redraw in the log).
pub fn progress_for(stderr_is_tty: bool, ci_env: bool) -> Progress {
    if stderr_is_tty && !ci_env {
        Progress::Live(LiveProgress::new())
    } else {
        Progress::Plain(PlainProgress)
    }
}

/// `[ 3/14] PASS  nodes.ready  4 nodes Ready` for a finish, `[ 2/14] START nodes.ready` for a start; the
/// counter is padded to the width of the total so columns line up.
fn plain_line(event: &Event<'_>) -> String {
    match *event {
        Event::Started { id, done, total } => format!("{} START {id}", counter(done, total)),
        Event::Finished {
            id,
            status,
            message,
            done,
            total,
            ..
        } => {
            let status = status.as_str().to_uppercase();
            format!("{} {status:<5} {id}  {message}", counter(done, total))
        }
    }
}

fn counter(done: usize, total: usize) -> String {
    let width = total.to_string().len();
    format!("[{done:>width$}/{total}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(
        id: &str,
        status: Status,
        message: &'static str,
        done: usize,
        total: usize,
    ) -> String {
        let e = Event::Finished {
            id,
            status,
            message,
            duration: Duration::from_millis(5),
            done,
            total,
        };
        plain_line(&e)
    }

    #[test]
    fn plain_lines_align_status_and_counter() {
        assert_eq!(
            finished("nodes.ready", Status::Pass, "4 nodes Ready", 3, 14),
            "[ 3/14] PASS  nodes.ready  4 nodes Ready"
        );
        assert_eq!(
            finished("tls.cert", Status::Error, "timed out after 15s", 14, 14),
            "[14/14] ERROR tls.cert  timed out after 15s"
        );
        assert_eq!(
            plain_line(&Event::Started {
                id: "dns.caa",
                done: 2,
                total: 14
            }),
            "[ 2/14] START dns.caa"
        );
        assert_eq!(
            finished("a.b", Status::Skip, "x", 1, 1),
            "[1/1] SKIP  a.b  x"
        );
    }

    #[test]
    fn progress_is_live_only_on_a_terminal_outside_ci() {
        assert!(matches!(progress_for(true, false), Progress::Live(_)));
        assert!(matches!(progress_for(true, true), Progress::Plain(_)));
        assert!(matches!(progress_for(false, false), Progress::Plain(_)));
        assert!(matches!(progress_for(false, true), Progress::Plain(_)));
    }

    #[test]
    fn live_progress_tracks_running_checks_and_clears_at_the_end() {
        let live = LiveProgress::with_target(ProgressDrawTarget::hidden());
        for id in ["a.one", "a.two"] {
            live.event(&Event::Started {
                id,
                done: 0,
                total: 2,
            });
        }
        assert_eq!(*live.running.lock().unwrap(), vec!["a.one", "a.two"]);
        let finished = |id| Event::Finished {
            id,
            status: Status::Pass,
            message: "ok",
            duration: Duration::ZERO,
            done: if id == "a.one" { 1 } else { 2 },
            total: 2,
        };
        live.event(&finished("a.one"));
        assert_eq!(*live.running.lock().unwrap(), vec!["a.two"]);
        assert!(!live.bar.is_finished());
        live.event(&finished("a.two"));
        assert!(live.running.lock().unwrap().is_empty());
        assert!(live.bar.is_finished());
    }
}
