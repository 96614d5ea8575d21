//! The installer: ordered steps, each gated on the checks it needs.
//!
//! A [`Step`] declares the checks it `requires` (evaluated fresh, with their dependencies, through the same
//! runner as `doctor`, right before it runs: a `fail` or `error` among them stops the step and everything
//! after it) and the checks it `verifies` afterwards (retried with backoff until they pass or the step's
//! deadline). Steps are idempotent: `plan` lists exactly what `apply` would change now, and `apply` changes
//! only that. A [`plan::Plan`] is an ordered list of steps read from YAML; [`execute`] runs it (or, dry,
//! only prints each step's changes and the current status of its gates) and writes a [`journal`].
//!
//! Mutations of the cluster go through kube-rs ([`kube_write`]): JSON merge PATCHes for labels and
//! server-side apply with the field manager `mcp-doctor`, each under a timeout.

pub mod execute;
pub mod fix;
pub mod gate;
pub mod journal;
pub mod kube_write;
pub mod plan;
pub mod step;
pub mod steps;

pub use execute::{Confirm, Executor, RunOutcome};
pub use gate::Gates;
pub use plan::Plan;
pub use step::{Change, Env, Step, StepPlan};
