//! What a step is: its checks before and after, what it would change, and how it changes it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mcp_doctor_checks::Profile;
use mcp_doctor_checks::settings::ResolvedConfig;
use serde::Serialize;

use crate::kube_write::KubeWriter;

/// One concrete change: `PATCH node mcp-ingress-1 labels +svccontroller.k3s.cattle.io/enablelb=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `PATCH`, `apply`, `write`, `append`, `run`, `restart`.
    pub action: String,
    /// The object or file: `node mcp-ingress-1`, `/etc/rancher/k3s/registries.yaml`.
    pub target: String,
    /// What about it changes.
    pub detail: String,
}

impl Change {
    pub fn new(action: &str, target: impl Into<String>, detail: impl Into<String>) -> Change {
        Change {
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.action, self.target)?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        Ok(())
    }
}

/// What a step would do now: its changes (empty: nothing to do) and notes for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepPlan {
    pub changes: Vec<Change>,
    pub notes: Vec<String>,
}

/// Everything a step may use.
pub struct Env {
    /// Write access to the cluster; Err says why there is none (unreachable, no kubeconfig).
    pub kube: Result<KubeWriter, String>,
    /// The node's root filesystem for host files (`/` on a node; a mount elsewhere).
    pub host_root: PathBuf,
    /// The directory of the plan file: relative paths in a plan are relative to it.
    pub plan_dir: PathBuf,
    pub config: Arc<ResolvedConfig>,
    pub profile: Profile,
    /// `--restart-runtime`: restart k3s after changing its registry configuration.
    pub restart_runtime: bool,
    /// The kubeconfig the tool uses, passed on to `mcp-runtime setup`.
    pub kubeconfig: Option<PathBuf>,
}

impl Env {
    pub fn kube(&self) -> Result<&KubeWriter, String> {
        self.kube
            .as_ref()
            .map_err(|e| format!("cannot reach the cluster: {e}"))
    }

    /// A path on the host, under `host_root`.
    pub fn host_path(&self, absolute: &str) -> PathBuf {
        self.host_root.join(absolute.trim_start_matches('/'))
    }
}

/// One installer step. Each built-in step is a file in `steps/`, documented like a check.
#[async_trait]
pub trait Step: Send + Sync {
    /// The step's kind as plans name it: `label-ingress-node`.
    fn kind(&self) -> &'static str;
    /// One line: what this step does, with its arguments.
    fn describe(&self) -> String;
    /// Checks that must not fail or error right before the step runs.
    fn requires(&self) -> Vec<String>;
    /// Checks that must pass after the step (retried until the step's deadline).
    fn verifies(&self) -> Vec<String>;
    /// How long verification may wait by default.
    fn verify_deadline(&self) -> Duration {
        Duration::from_secs(120)
    }
    /// Whether the step changes anything (a step that only waits is never confirmed).
    fn mutating(&self) -> bool {
        true
    }
    /// What `apply` would change now, read from the cluster and the host; changes nothing.
    async fn plan(&self, env: &Env) -> Result<StepPlan, String>;
    /// Makes the changes `plan` lists now (nothing, when there are none) and returns them.
    async fn apply(&self, env: &Env) -> Result<Vec<Change>, String>;
}
