//! Test scaffolding: synthetic checks, a context over an empty bundle, an event recorder, golden files, and
//! the contract validators every produced report goes through (JSON Schema and JUnit XSD, from
//! `mcp-doctor-contracts`).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_doctor_checks::evidence::Evidence;
use mcp_doctor_checks::evidence::replay::Bundle;
use mcp_doctor_checks::settings::ResolvedConfig;
use mcp_doctor_checks::{Check, CheckMeta, Context, Mode, Modes, Outcome, Profile, ReadScope};
use mcp_doctor_runner::{Event, EventSink, Report, RunOptions, reporters};
use serde_json::Value;

pub use mcp_doctor_contracts::{assert_valid_junit, schema_errors};

/// What a synthetic check does once it has waited its delay.
#[derive(Clone)]
enum Act {
    Return(Box<Outcome>),
    Panic(&'static str),
}

/// A synthetic check, described builder-style and then [`Spec::leak`]ed to the `&'static` the runner takes.
#[derive(Clone)]
pub struct Spec {
    id: &'static str,
    category: &'static str,
    depends_on: Vec<&'static str>,
    timeout: Option<Duration>,
    delay: Duration,
    act: Act,
    not_applicable: Option<&'static str>,
    gauge: Option<Arc<Gauge>>,
}

/// A check `id` (category = the part before the dot) that returns `outcome` at once.
pub fn check(id: &'static str, outcome: Outcome) -> Spec {
    Spec {
        id,
        category: id.split('.').next().expect("ids have a dot"),
        depends_on: Vec::new(),
        timeout: None,
        delay: Duration::ZERO,
        act: Act::Return(Box::new(outcome)),
        not_applicable: None,
        gauge: None,
    }
}

impl Spec {
    pub fn after(mut self, deps: &[&'static str]) -> Self {
        self.depends_on = deps.to_vec();
        self
    }
    pub fn sleeps(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
    pub fn panics(mut self, message: &'static str) -> Self {
        self.act = Act::Panic(message);
        self
    }
    pub fn not_applicable(mut self, reason: &'static str) -> Self {
        self.not_applicable = Some(reason);
        self
    }
    pub fn gauge(mut self, gauge: &Arc<Gauge>) -> Self {
        self.gauge = Some(gauge.clone());
        self
    }

    pub fn leak(self) -> &'static dyn Check {
        let meta = Box::leak(Box::new(CheckMeta {
            id: self.id,
            title: Box::leak(format!("Synthetic {}", self.id).into_boxed_str()),
            category: self.category,
            modes: Modes::Both,
            depends_on: self.depends_on.clone().leak(),
            reads: &[],
            read_scope: ReadScope::Cluster,
            timeout: self.timeout,
            doc: "",
        }));
        Box::leak(Box::new(Synthetic { meta, spec: self }))
    }
}

struct Synthetic {
    meta: &'static CheckMeta,
    spec: Spec,
}

#[async_trait::async_trait]
impl Check for Synthetic {
    fn meta(&self) -> &'static CheckMeta {
        self.meta
    }

    fn not_applicable(&self, _ctx: &Context) -> Option<String> {
        self.spec.not_applicable.map(str::to_string)
    }

    async fn run(&self, _ctx: &Context) -> Outcome {
        let _inside = self.spec.gauge.as_ref().map(|g| g.enter());
        tokio::time::sleep(self.spec.delay).await;
        match &self.spec.act {
            Act::Return(outcome) => (**outcome).clone(),
            Act::Panic(message) => panic!("{message}"),
        }
    }
}

/// Counts checks running at the same moment and remembers the most seen.
#[derive(Default)]
pub struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(self: &Arc<Self>) -> GaugeGuard {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        GaugeGuard(self.clone())
    }
    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }
    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// Leaves the gauge when the check ends, however it ends (returns, panics or is aborted).
struct GaugeGuard(Arc<Gauge>);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Records events as `start <id>` / `finish <id> <status>` lines.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl EventSink for Recorder {
    fn event(&self, event: &Event<'_>) {
        let line = match event {
            Event::Started { id, .. } => format!("start {id}"),
            Event::Finished { id, status, .. } => format!("finish {id} {status}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

/// A doctor/dev context over an empty bundle (synthetic checks read no evidence), with `selected` set.
pub fn context(checks: &[&'static dyn Check]) -> Arc<Context> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/empty-bundle");
    let evidence = Evidence::replay(Bundle::open(&dir).expect("the empty bundle opens"));
    let mut ctx = Context::new(
        Mode::Doctor,
        Profile::Dev,
        Arc::new(ResolvedConfig::default()),
        evidence,
    );
    ctx.selected = checks.iter().map(|c| c.meta()).collect();
    Arc::new(ctx)
}

/// Runs `checks` to completion and validates the report's JSON and JUnit against their contracts.
pub async fn run_checks(checks: &[&'static dyn Check], opts: RunOptions) -> (Report, Vec<String>) {
    run_until(checks, opts, std::future::pending()).await
}

/// Like [`run_checks`], with a cancellation future.
pub async fn run_until(
    checks: &[&'static dyn Check],
    opts: RunOptions,
    cancel: impl Future<Output = ()>,
) -> (Report, Vec<String>) {
    let recorder = Recorder::default();
    let report = mcp_doctor_runner::run(checks, context(checks), &opts, &recorder, cancel).await;
    assert_valid_json(&report);
    assert_valid_junit(&reporters::junit::render(&report));
    (report, recorder.lines())
}

/// (id, status, message) per check, in report order.
pub fn verdicts(report: &Report) -> Vec<(String, String, String)> {
    report
        .checks
        .iter()
        .map(|c| (c.id.clone(), c.status.to_string(), c.message.clone()))
        .collect()
}

/// The report, as the JSON reporter writes it, satisfies the published schema.
pub fn assert_valid_json(report: &Report) {
    let doc: Value = serde_json::from_str(&reporters::json::render(report))
        .expect("the JSON reporter writes JSON");
    mcp_doctor_contracts::assert_valid_json(&doc);
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from the golden file (UPDATE_GOLDEN=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}
