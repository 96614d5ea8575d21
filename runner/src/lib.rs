//! The runner of mcp-doctor: executes the selected checks as a dependency graph (bounded concurrency,
//! per-check time limits, skips that cascade from failed dependencies, Ctrl-C), streams progress, and
//! turns the result into the `mcp-doctor.report/v1` [`Report`] and its renderings (table, JSON, JUnit, GitHub
//! workflow commands, a Markdown summary), after applying the [`waivers`] a pipeline accepted.

pub mod events;
pub mod report;
pub mod reporters;
pub mod run;
pub mod waivers;

pub use events::{
    Event, EventSink, LiveProgress, NoProgress, PlainProgress, Progress, progress_for,
};
pub use report::{
    CheckResult, ClusterInfo, EXIT_INTERRUPTED, FailOn, REPORT_SCHEMA, REPORT_SCHEMA_ID, Report,
    RootCause, Summary, Tool,
};
pub use reporters::table::{TableOptions, terminal_width};
pub use run::{RunOptions, run};
pub use waivers::{AppliedWaiver, DEFAULT_WAIVERS_FILE, Waiver, WaiverError, Waivers};
