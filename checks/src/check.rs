//! The check trait, the context a check runs in, and the macro that declares a check from its doc comment.

use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Node, Pod};
use mcp_doctor_remediations::Distribution;
use tokio::sync::OnceCell;

use crate::evidence::{Evidence, EvidenceError, Scope, kinds, list_typed, list_typed_where};
use crate::model::{CheckMeta, Mode, Outcome, Profile};
use crate::settings::ResolvedConfig;

/// One diagnostic. Implementations live one per file under their area, declared with [`declare_check!`].
#[async_trait]
pub trait Check: Send + Sync + 'static {
    fn meta(&self) -> &'static CheckMeta;

    /// Why the check does not apply to this run (e.g. TLS was not requested); None when it applies.
    /// A check that does not apply is reported as `skip` with this reason.
    fn not_applicable(&self, _ctx: &Context) -> Option<String> {
        None
    }

    /// Judges the evidence. Reads facts only through `ctx.evidence`.
    async fn run(&self, ctx: &Context) -> Outcome;
}

/// Everything a check may read.
pub struct Context {
    pub mode: Mode,
    pub profile: Profile,
    pub config: Arc<ResolvedConfig>,
    pub evidence: Evidence,
    /// The checks selected for this run, so `cluster.permissions` can review exactly what they read.
    pub selected: Vec<&'static CheckMeta>,
    /// Write access for opt-in mutating probes (`http01.self-test`); None unless the run opted in and is
    /// live.
    pub objects: Option<Arc<dyn crate::evidence::probe_objects::ProbeObjects>>,
    distribution: OnceCell<Option<Distribution>>,
    servicelb_pods: OnceCell<Result<Arc<Vec<Pod>>, EvidenceError>>,
    nodes: OnceCell<Result<Arc<Vec<Node>>, EvidenceError>>,
}

impl Context {
    pub fn new(
        mode: Mode,
        profile: Profile,
        config: Arc<ResolvedConfig>,
        evidence: Evidence,
    ) -> Self {
        Context {
            mode,
            profile,
            config,
            evidence,
            selected: Vec::new(),
            objects: None,
            distribution: OnceCell::new(),
            servicelb_pods: OnceCell::new(),
            nodes: OnceCell::new(),
        }
    }

    /// The detected distribution (memoized), used to render remediations; None when it cannot be told.
    pub async fn distribution(&self) -> Option<Distribution> {
        *self
            .distribution
            .get_or_init(|| async {
                crate::facts::detect_distribution(self)
                    .await
                    .ok()
                    .map(|d| d.distribution)
            })
            .await
    }

    /// The cluster's nodes, decoded once per run and shared: most node and front-door checks read them.
    pub async fn nodes(&self) -> Result<Arc<Vec<Node>>, EvidenceError> {
        self.nodes
            .get_or_init(|| async {
                list_typed(self.evidence.kube.as_ref(), &kinds::NODES, &Scope::Cluster)
                    .await
                    .map(Arc::new)
            })
            .await
            .clone()
    }

    /// The pods of every namespace that ServiceLB's reasoning can involve: its svclb pods and any pod that
    /// holds a host port (see [`crate::svclb::servicelb::involves_servicelb`]). Decoded once per run and
    /// shared by the checks that need them, which run concurrently; the other pods are never held decoded
    /// (on a big cluster, all pods decoded would be the largest thing a run holds).
    pub async fn servicelb_pods(&self) -> Result<Arc<Vec<Pod>>, EvidenceError> {
        self.servicelb_pods
            .get_or_init(|| async {
                list_typed_where(
                    self.evidence.kube.as_ref(),
                    &kinds::PODS,
                    &Scope::AllNamespaces,
                    crate::svclb::servicelb::involves_servicelb,
                )
                .await
                .map(Arc::new)
            })
            .await
            .clone()
    }
}

/// Turns an evidence error into the outcome of a check that needed that evidence: absent evidence is `skip`,
/// anything else (403, timeout, API error) is `error` naming what could not be read. Never `pass`.
pub fn unreadable(needed: &str, err: &EvidenceError) -> Outcome {
    match err {
        EvidenceError::NotCollected { .. } | EvidenceError::NotConfigured { .. } => {
            Outcome::skip(format!("cannot read {needed}: {err}"))
        }
        EvidenceError::Forbidden { message } => Outcome::error(format!(
            "cannot read {needed}: permission denied ({message})"
        ))
        .detail("missing_permission", message),
        _ => Outcome::error(format!("cannot read {needed}: {err}")),
    }
    .detail("evidence_error", err)
}

/// Strips the single leading space rustdoc leaves on each `///` line.
pub fn doc_text(raw: &str) -> String {
    raw.lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Declares a check: a unit struct carrying its doc comment and a `META` constant built from it.
///
/// ```ignore
/// declare_check! {
///     /// ### What it checks
///     /// ...
///     pub struct NodesReady {
///         id: "nodes.ready", title: "Every node is Ready", category: "cluster", modes: Both,
///         depends_on: ["cluster.api-reachable"], reads: [kinds::NODES],
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_check {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident {
            id: $id:literal,
            title: $title:literal,
            category: $category:literal,
            modes: $modes:ident,
            depends_on: [$($dep:literal),* $(,)?],
            reads: [$($read:expr),* $(,)?]
            $(, read_scope: $scope:ident)?
            $(, timeout_secs: $timeout:literal)?
            $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        $vis struct $name;

        impl $name {
            pub const META: $crate::model::CheckMeta = $crate::model::CheckMeta {
                id: $id,
                title: $title,
                category: $category,
                modes: $crate::model::Modes::$modes,
                depends_on: &[$($dep),*],
                reads: &[$(&$read),*],
                read_scope: $crate::declare_check!(@scope $($scope)?),
                timeout: $crate::declare_check!(@timeout $($timeout)?),
                doc: concat!($($doc, "\n"),*),
            };
        }
    };
    (@scope) => { $crate::model::ReadScope::Cluster };
    (@scope $scope:ident) => { $crate::model::ReadScope::$scope };
    (@timeout) => { None };
    (@timeout $secs:literal) => { Some(std::time::Duration::from_secs($secs)) };
}
