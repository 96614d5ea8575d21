//! The result model every check produces and every reporter consumes.

use std::fmt;
use std::time::Duration;

use mcp_doctor_remediations::{Distribution, Remediation, Vars};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    /// The check itself could not run: timeout, API error, RBAC 403.
    Error,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Warn,
        Status::Fail,
        Status::Skip,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }

    /// Whether a dependent check may run after this one (`warn` counts as passing).
    pub fn lets_dependents_run(self) -> bool {
        matches!(self, Status::Pass | Status::Warn)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The moment a run is for: before `mcp-runtime setup` (preflight) or after install (doctor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Setup,
    Doctor,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Setup => "setup",
            Mode::Doctor => "doctor",
        }
    }
}

/// The modes a check runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modes {
    Setup,
    Doctor,
    Both,
}

impl Modes {
    pub fn includes(self, mode: Mode) -> bool {
        matches!(
            (self, mode),
            (Modes::Both, _) | (Modes::Setup, Mode::Setup) | (Modes::Doctor, Mode::Doctor)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Modes::Setup => "setup",
            Modes::Doctor => "doctor",
            Modes::Both => "both",
        }
    }
}

/// How strict the judgement is: `prod` applies the seeds' "production expectation" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Dev,
    Prod,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Prod => "prod",
        }
    }
}

/// Where a check reads namespaced kinds; cluster-scoped kinds are always read at the cluster scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadScope {
    /// Across every namespace.
    Cluster,
    /// Only in the platform namespaces (the detected layout), so grants limited to them suffice.
    PlatformNamespaces,
}

/// What a check is, independent of how it runs. Built by [`crate::declare_check!`] from the check's own
/// doc comment, so `explain` and the code cannot drift.
#[derive(Debug)]
pub struct CheckMeta {
    pub id: &'static str,
    pub title: &'static str,
    pub category: &'static str,
    pub modes: Modes,
    pub depends_on: &'static [&'static str],
    /// Kubernetes resources the check lists; `cluster.permissions` reviews access to exactly these.
    pub reads: &'static [&'static crate::evidence::kinds::ResourceKind],
    /// Where the check lists the namespaced kinds of `reads`.
    pub read_scope: ReadScope,
    /// Overrides the run's `--timeout` for this check.
    pub timeout: Option<Duration>,
    /// The doc comment: what it checks, why it matters, what a failure looks like, how to fix.
    pub doc: &'static str,
}

/// What one check concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    /// One line that names the root cause (and the object).
    pub message: String,
    pub details: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub skipped_because: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remediation: Option<Remediation>,
    /// What the finding is about, as `kind/name` or `kind/namespace/name` (`node/mcp-worker-1`,
    /// `service/kube-system/traefik`, `host/registry.example.com`). Two checks that point at the same
    /// remediation for the same subjects share one root cause in the report.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub subjects: Vec<String>,
}

impl Outcome {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Outcome {
            status,
            message: message.into(),
            details: Map::new(),
            skipped_because: None,
            remediation: None,
            subjects: Vec::new(),
        }
    }

    /// A fail or warn (or any status) chosen at run time, e.g. by the worst of several findings.
    /// For `skip`, use [`Outcome::skip`], which also records the reason.
    pub fn of(status: Status, message: impl Into<String>) -> Self {
        Self::new(status, message)
    }

    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Status::Pass, message)
    }
    pub fn warn(message: impl Into<String>) -> Self {
        Self::new(Status::Warn, message)
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Status::Fail, message)
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Status::Error, message)
    }
    /// A skip: the message and `skipped_because` both carry the reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut o = Self::new(Status::Skip, reason.clone());
        o.skipped_because = Some(reason);
        o
    }

    /// Adds one structured detail.
    pub fn detail(mut self, key: &str, value: impl Serialize) -> Self {
        self.details.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// Points at a catalog remediation, rendered for the distribution with the observed facts.
    ///
    /// Panics in debug builds when the id is not in the catalog; the registry test renders every check's
    /// remediations, so a typo is caught by `cargo test`.
    pub fn remediate(mut self, id: &str, distribution: Option<Distribution>, vars: &Vars) -> Self {
        match mcp_doctor_remediations::find(id) {
            Some(def) => self.remediation = Some(def.render(distribution, vars)),
            None => debug_assert!(false, "unknown remediation id {id}"),
        }
        self
    }

    /// Names one thing the finding is about (`node/mcp-worker-1`); repeated subjects are kept once, in the
    /// order first given.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        let subject = subject.into();
        if !self.subjects.contains(&subject) {
            self.subjects.push(subject);
        }
        self
    }

    /// Names several subjects at once, see [`Outcome::subject`].
    pub fn subjects<S: Into<String>>(self, subjects: impl IntoIterator<Item = S>) -> Self {
        subjects.into_iter().fold(self, |o, s| o.subject(s))
    }

    /// Attaches a generated snippet (e.g. the exact command or file that fixes this cluster).
    pub fn snippet(mut self, snippet: impl Into<String>) -> Self {
        if let Some(r) = self.remediation.as_mut() {
            r.snippet = Some(snippet.into());
        }
        self
    }
}
