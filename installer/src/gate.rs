//! Gates: the checks a step names, evaluated through the same runner as `doctor`, each time on fresh
//! evidence (a new connection and an empty cache, so a step's own changes are seen), with every check they
//! depend on.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mcp_doctor_checks::evidence::Evidence;
use mcp_doctor_checks::settings::ResolvedConfig;
use mcp_doctor_checks::{Check, Context, Mode, Profile, Registry, Status};
use mcp_doctor_runner::{NoProgress, RunOptions};
use serde::Serialize;

/// Makes a new evidence source (live: a new client, nothing memoized), or says why it cannot.
pub type FreshEvidence =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Evidence, String>> + Send>> + Send + Sync>;

/// One check's verdict at a gate.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    pub id: String,
    pub status: Status,
    pub message: String,
    /// `rem.<id>: <text>` when the check did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// The remediation's id alone (what `fix` looks up).
    #[serde(skip)]
    pub remediation_id: Option<String>,
    /// False for a check evaluated only because a named one depends on it.
    pub named: bool,
}

impl GateResult {
    /// Whether this verdict stops a step: the check failed or could not run.
    pub fn blocks(&self) -> bool {
        matches!(self.status, Status::Fail | Status::Error)
    }
}

/// Evaluates checks on demand.
pub struct Gates {
    pub registry: &'static Registry,
    pub fresh: FreshEvidence,
    pub config: Arc<ResolvedConfig>,
    pub profile: Profile,
    /// Time limit of each check (`--timeout`).
    pub check_timeout: Duration,
}

impl Gates {
    /// `ids` and everything they depend on, in registry order.
    fn closure(&self, ids: &[String]) -> Vec<&'static dyn Check> {
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = ids.iter().map(String::as_str).collect();
        while let Some(id) = stack.pop() {
            if let Some(check) = self.registry.get(id)
                && wanted.insert(check.meta().id)
            {
                stack.extend(check.meta().depends_on.iter().copied());
            }
        }
        self.registry
            .checks()
            .iter()
            .map(|c| c.as_ref())
            .filter(|c| wanted.contains(c.meta().id))
            .collect()
    }

    /// Runs `ids` (with their dependencies) now, on fresh evidence; an empty `ids` is an empty answer.
    pub async fn evaluate(&self, ids: &[String]) -> Vec<GateResult> {
        if ids.is_empty() {
            return Vec::new();
        }
        let selected = self.closure(ids);
        // Setup mode unless a check only runs against an installed platform.
        let mode = if selected
            .iter()
            .all(|c| c.meta().modes.includes(Mode::Setup))
        {
            Mode::Setup
        } else {
            Mode::Doctor
        };
        let evidence = match (self.fresh)().await {
            Ok(e) => e,
            Err(e) => {
                return ids
                    .iter()
                    .map(|id| GateResult {
                        id: id.clone(),
                        status: Status::Error,
                        message: format!("cannot read the cluster or host: {e}"),
                        remediation: None,
                        remediation_id: None,
                        named: true,
                    })
                    .collect();
            }
        };
        let mut ctx = Context::new(mode, self.profile, self.config.clone(), evidence);
        ctx.selected = selected.iter().map(|c| c.meta()).collect();
        let opts = RunOptions {
            jobs: 8,
            timeout: self.check_timeout,
        };
        let report = mcp_doctor_runner::run(
            &selected,
            Arc::new(ctx),
            &opts,
            &NoProgress,
            std::future::pending(),
        )
        .await;
        report
            .checks
            .into_iter()
            .map(|r| GateResult {
                named: ids.contains(&r.id),
                remediation_id: r.remediation.as_ref().map(|rem| rem.id.clone()),
                remediation: r.remediation.map(|rem| format!("{}: {}", rem.id, rem.text)),
                id: r.id,
                status: r.status,
                message: r.message,
            })
            .collect()
    }
}
