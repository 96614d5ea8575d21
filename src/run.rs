//! `doctor`, `preflight` and `analyze`: resolve the configuration, open the evidence (live or a bundle),
//! select the checks, run them, write the reports, and turn the report into an exit code.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mcp_doctor_checks::collect::{self, CollectOptions, Collection};
use mcp_doctor_checks::collect_nodes::{
    NodeCollectOptions, NodeFacts, NodeFactsOutcome, collect_node_facts,
};
use mcp_doctor_checks::evidence::archive;
use mcp_doctor_checks::evidence::bundle::{self, BUNDLE_SCHEMA, Manifest, ToolInfo};
use mcp_doctor_checks::evidence::kinds;
use mcp_doctor_checks::evidence::live_dns::{LiveDns, SystemView};
use mcp_doctor_checks::evidence::live_host::{LiveHost, LiveHostSource};
use mcp_doctor_checks::evidence::live_http::{DEFAULT_CONNECTION_TIMEOUT, LiveHttp};
use mcp_doctor_checks::evidence::live_kube::{KubeOptions, LiveKube};
use mcp_doctor_checks::evidence::live_tls::LiveTls;
use mcp_doctor_checks::evidence::probe_objects::{
    LiveProbeObjects, PROBE_NAMESPACE, ProbeObjects, Swept, delete_pending,
};
use mcp_doctor_checks::evidence::redact::{Tally, redactor};
use mcp_doctor_checks::evidence::replay::Bundle;
use mcp_doctor_checks::evidence::{
    Evidence, EvidenceError, HttpSource, Journal, NoLiveProbe, Origin, Scope,
};
use mcp_doctor_checks::http01::ChallengePath;
use mcp_doctor_checks::settings::{ConfigInputs, ResolvedConfig, parse_env_file};
use mcp_doctor_checks::{Check, Context, Mode, Profile, Registry};
use mcp_doctor_runner::reporters::table::TableOptions;
use mcp_doctor_runner::{ClusterInfo, FailOn, Report, RunOptions, Waivers};

use crate::StartError;
use crate::cli::{
    AnalyzeArgs, BundleArgs, DoctorArgs, FailOnArg, Format, OutputArgs, ProfileArg, SelectionArgs,
    SweepArgs,
};

/// The registry lives for the whole process: checks run on tokio tasks.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::builtin)
}

/// A finished run: its report, the evidence it read (with the journal) and the configuration it judged.
pub struct Finished {
    pub report: Report,
    evidence: Evidence,
    config: Arc<ResolvedConfig>,
    /// `bundle --collect-nodes`: how the host-facts DaemonSet fared on each node.
    node_facts: Vec<NodeFactsOutcome>,
}

pub async fn doctor(args: DoctorArgs, preflight: bool) -> Result<u8, StartError> {
    let waivers = crate::waivers::load(&args.output)?;
    let run = run_doctor(&args, preflight, true, None).await?;
    if let Some(dir) = &args.record {
        record(dir, &run, None).map_err(|e| {
            StartError(format!(
                "cannot write the recording to {}: {e}",
                dir.display()
            ))
        })?;
    }
    emit(&run.report, &args.output, &run.config, waivers.as_ref())
}

/// What stops a run before it starts (an unknown check id, an unreadable env file), checked without running.
pub fn validate(args: &DoctorArgs) -> Result<(), StartError> {
    select(mode_of(args, false), &args.selection)?;
    if let Some(p) = &args.config.env_file {
        parse_env_file(p)?;
    }
    Ok(())
}

fn mode_of(args: &DoctorArgs, preflight: bool) -> Mode {
    if preflight || args.for_setup {
        Mode::Setup
    } else {
        Mode::Doctor
    }
}

/// One doctor (or preflight) run; `show_progress` streams the checks' progress to stderr;
/// `collect_nodes` first collects the node facts it judges with the host-facts DaemonSet.
pub async fn run_doctor(
    args: &DoctorArgs,
    preflight: bool,
    show_progress: bool,
    collect_nodes: Option<&NodeCollectOptions>,
) -> Result<Finished, StartError> {
    let mode = mode_of(args, preflight);
    let profile = profile_of(args.selection.profile);
    let selected = select(mode, &args.selection)?;
    let env_file = match &args.config.env_file {
        Some(p) => Some((p.display().to_string(), parse_env_file(p)?)),
        None => None,
    };
    // Keeps an extracted .tar.gz alive until the run is over.
    let mut _extracted = None;
    // Write access for the opt-in mutating probe; live runs only.
    let mut probe_objects: Option<Arc<dyn ProbeObjects>> = None;
    let mut node_facts = Vec::new();
    let (evidence, env_file) = match &args.from {
        Some(path) => {
            let (root, tmp) = open_bundle(path)?;
            _extracted = tmp;
            // A bundle of another format is refused here as `analyze` refuses it.
            bundle::read_manifest(&root)?;
            // The bundle's own configuration, unless the command line gives one.
            let env_file = match env_file {
                Some(f) => Some(f),
                None => bundle::read_config_env(&root)?,
            };
            (replay_evidence(&root)?, env_file)
        }
        None => {
            let (evidence, objects, outcomes) = live_evidence(args, collect_nodes).await?;
            probe_objects = objects;
            node_facts = outcomes;
            (evidence, env_file)
        }
    };
    let flags = args.config.to_map();
    let inputs = ConfigInputs {
        flags,
        env: process_env(),
        env_file,
    };
    let config = Arc::new(ResolvedConfig::resolve(&inputs));
    let objects =
        probe_objects.filter(|_| config.flag("http01_self_test") || config.flag("probe_pods"));
    let mut ctx = Context::new(mode, profile, config.clone(), evidence.clone());
    ctx.objects = objects.clone();
    let report = execute(ctx, &selected, &args.selection, show_progress).await;
    if let Some(objects) = &objects {
        // Whatever a check cut off by its timeout or by Ctrl-C created is deleted here.
        for (object, e) in delete_pending(objects.as_ref()).await {
            eprintln!(
                "mcp-doctor: could not delete {object}: {e}; run `mcp-doctor sweep` to remove it"
            );
        }
    }
    Ok(Finished {
        report,
        evidence,
        config,
        node_facts,
    })
}

/// `mcp-doctor bundle`: the doctor's run recorded, plus what [`collect`] gathers, packed reproducibly into
/// one file (or, with `--preview`, only listed).
pub async fn bundle(args: BundleArgs) -> Result<u8, StartError> {
    if args.doctor.from.is_some() || args.doctor.record.is_some() {
        return Err(StartError(
            "bundle collects from the live cluster: --from and --record do not apply (`analyze` reads bundles)"
                .into(),
        ));
    }
    let waivers = crate::waivers::load(&args.doctor.output)?;
    let run = run_doctor(&args.doctor, false, true, args.node_collection().as_ref()).await?;
    let opts = CollectOptions {
        platform_namespace: run.config.value("platform_namespace").map(str::to_string),
        log_lines: args.log_lines,
        since_seconds: args.since,
    };
    let mut collection = collect::collect(&run.evidence, &opts).await;
    for o in &run.node_facts {
        if let Some(why) = &o.detail {
            collection
                .unreadable
                .push(format!("host facts of node {}: {why}", o.node));
        }
    }
    collection.node_facts = run.node_facts.clone();
    let staging = tempfile::tempdir()
        .map_err(|e| StartError(format!("cannot create a temporary directory: {e}")))?;
    crate::install::bundle_journals(&args.install_journals, staging.path())?;
    let manifest = record(staging.path(), &run, Some(collection))
        .map_err(|e| StartError(format!("cannot write the bundle: {e}")))?;
    if args.preview {
        print!("{}", crate::bundle::preview(staging.path(), &manifest)?);
        return Ok(0);
    }
    archive::pack(staging.path(), &args.output_file).map_err(|e| {
        StartError(format!(
            "cannot write the bundle to {}: {e}",
            args.output_file.display()
        ))
    })?;
    eprintln!(
        "mcp-doctor: wrote {} ({} redactions; `mcp-doctor analyze {}` replays it)",
        args.output_file.display(),
        manifest
            .redaction_report
            .iter()
            .map(|r| r.count)
            .sum::<u64>(),
        args.output_file.display()
    );
    emit(
        &run.report,
        &args.doctor.output,
        &run.config,
        waivers.as_ref(),
    )
}

pub async fn analyze(args: AnalyzeArgs) -> Result<u8, StartError> {
    let waivers = crate::waivers::load(&args.output)?;
    let (root, _extracted) = open_bundle(&args.bundle)?;
    let replay = Replay::open(&root, args.profile.map(profile_of))?;
    let report = replay.run(&replay.evidence()?, None, true).await?;
    emit(&report, &args.output, &replay.config, waivers.as_ref())
}

/// A bundle opened for replay: the mode and profile it was made in, and its configuration.
pub struct Replay {
    pub root: PathBuf,
    mode: Mode,
    profile: Profile,
    pub config: Arc<ResolvedConfig>,
}

impl Replay {
    pub fn open(root: &Path, profile: Option<Profile>) -> Result<Replay, StartError> {
        let manifest = bundle::read_manifest(root)?;
        let inputs = ConfigInputs {
            env_file: bundle::read_config_env(root)?,
            ..Default::default()
        };
        Ok(Replay {
            root: root.to_path_buf(),
            mode: manifest.as_ref().map(|m| m.mode).unwrap_or(Mode::Doctor),
            profile: profile
                .or(manifest.as_ref().map(|m| m.profile))
                .unwrap_or_default(),
            config: Arc::new(ResolvedConfig::resolve(&inputs)),
        })
    }

    pub fn evidence(&self) -> Result<Evidence, StartError> {
        replay_evidence(&self.root)
    }

    /// Runs every check of the bundle's mode, or only `only`, on `evidence`; `progress` shows it on stderr.
    pub async fn run(
        &self,
        evidence: &Evidence,
        only: Option<&str>,
        progress: bool,
    ) -> Result<Report, StartError> {
        let selection = SelectionArgs {
            only: only.map(str::to_string).into_iter().collect(),
            skip: Vec::new(),
            jobs: 8,
            timeout: 15,
            profile: ProfileArg::Dev,
        };
        let selected = select(self.mode, &selection)?;
        let ctx = Context::new(
            self.mode,
            self.profile,
            self.config.clone(),
            evidence.clone(),
        );
        Ok(execute(ctx, &selected, &selection, progress).await)
    }
}

pub(crate) fn profile_of(p: ProfileArg) -> Profile {
    match p {
        ProfileArg::Dev => Profile::Dev,
        ProfileArg::Prod => Profile::Prod,
    }
}

/// The checks of this mode, narrowed by `--only` / `--skip`; an unknown id stops the tool (exit 2).
pub fn select(mode: Mode, sel: &SelectionArgs) -> Result<Vec<&'static dyn Check>, StartError> {
    let registry = registry();
    for id in sel.only.iter().chain(&sel.skip) {
        if registry.get(id).is_none() {
            return Err(StartError(format!(
                "unknown check id {id:?}; `mcp-doctor list` shows them all"
            )));
        }
    }
    Ok(registry
        .checks()
        .iter()
        .map(|c| c.as_ref())
        .filter(|c| c.meta().modes.includes(mode))
        .filter(|c| sel.only.is_empty() || sel.only.iter().any(|id| id == c.meta().id))
        .filter(|c| !sel.skip.iter().any(|id| id == c.meta().id))
        .collect())
}

/// Only the variables the settings read, so the resolved configuration is reproducible from its sources.
pub(crate) fn process_env() -> BTreeMap<String, String> {
    bundle::known_env_names()
        .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
        .collect()
}

/// Requests must give up before the runner's per-check timeout does, so a hung server is journaled as a
/// timeout (and replays as one) instead of being cut off unrecorded.
pub(crate) fn request_timeout(check_timeout_secs: u64) -> Duration {
    Duration::from_millis(check_timeout_secs * 1000 * 4 / 5).max(Duration::from_millis(500))
}

/// What a live run reads from: the evidence, write access for opt-in probes, and how `--collect-nodes`
/// fared on each node.
type Live = (
    Evidence,
    Option<Arc<dyn ProbeObjects>>,
    Vec<NodeFactsOutcome>,
);

pub(crate) async fn live_evidence(
    args: &DoctorArgs,
    collect_nodes: Option<&NodeCollectOptions>,
) -> Result<Live, StartError> {
    // A node-facts flag naming nothing readable is a bad flag, not a run whose node checks all skip.
    for (flag, dir) in [
        ("--host-root", &args.host_root),
        ("--host-facts", &args.host_facts),
    ] {
        if let Some(dir) = dir.as_ref().filter(|d| !d.is_dir()) {
            return Err(StartError(format!(
                "{flag} {} is not a directory",
                dir.display()
            )));
        }
    }
    let journal = Journal::new();
    let kube = LiveKube::connect(
        &KubeOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            request_timeout: request_timeout(args.selection.timeout),
        },
        journal.clone(),
    )
    .await;
    let mut node_facts = Vec::new();
    let host = match (&args.host_root, &args.host_facts, collect_nodes) {
        (Some(root), ..) => LiveHost::Root(root.clone()),
        (None, Some(dir), _) => LiveHost::FactsDir(dir.clone()),
        (None, None, Some(opts)) => {
            let timeout = request_timeout(args.selection.timeout);
            let collected = host_facts_from_nodes(&kube, opts, timeout).await;
            LiveHost::Collected(collected.map(|c| {
                node_facts = c.outcomes;
                c.facts
            }))
        }
        (None, None, None) => LiveHost::None,
    };
    let objects = kube.client_handle().map(|(client, server)| {
        LiveProbeObjects::new(client, server, request_timeout(args.selection.timeout))
            as Arc<dyn ProbeObjects>
    });
    let tls = LiveTls::new(
        args.config.probes.ca_file.as_deref(),
        request_timeout(args.selection.timeout),
        journal.clone(),
    )
    .map_err(StartError)?;
    // Each DNS query gives up well within a check's timeout (checks ask their queries concurrently).
    let dns_timeout = request_timeout(args.selection.timeout).min(Duration::from_secs(4));
    let dns = LiveDns::new(SystemView::from_env(), dns_timeout, journal.clone());
    // The validator's 10 s per connection, unless the http01 checks' own timeout leaves less: an answer
    // must be journaled before the runner cuts the check off.
    let http01_timeout = ChallengePath::META
        .timeout
        .map(|t| t.as_secs())
        .unwrap_or(args.selection.timeout);
    let http_timeout = DEFAULT_CONNECTION_TIMEOUT.min(request_timeout(http01_timeout));
    let evidence = Evidence {
        kube: Arc::new(kube),
        dns: Arc::new(dns),
        http: live_http(journal.clone(), http_timeout),
        tls: Arc::new(tls),
        host: Arc::new(LiveHostSource::new(host, journal.clone())),
        journal,
        origin: Origin::Live,
    };
    Ok((evidence, objects, node_facts))
}

/// `bundle --collect-nodes`: every node's facts from the host-facts DaemonSet, deleted again on every path
/// (Ctrl-C included); Err, as the node facts' evidence error, when none could be collected at all.
async fn host_facts_from_nodes(
    kube: &LiveKube,
    opts: &NodeCollectOptions,
    request_timeout: Duration,
) -> Result<NodeFacts, EvidenceError> {
    let none = |why: String| EvidenceError::NotConfigured {
        message: format!("no node facts: {why}"),
    };
    let nodes =
        match mcp_doctor_checks::evidence::KubeSource::list(kube, &kinds::NODES, &Scope::Cluster)
            .await
        {
            Ok(items) => items,
            Err(e) => {
                return Err(none(format!(
                    "the nodes to collect from could not be listed: {e}"
                )));
            }
        };
    let Some((client, server)) = kube.client_handle() else {
        return Err(none("the cluster could not be reached".into()));
    };
    let objects = LiveProbeObjects::new(client, server, request_timeout);
    eprintln!(
        "mcp-doctor: collecting host facts from {} node(s) with a DaemonSet in namespace {PROBE_NAMESPACE} \
         (image {}, up to {}s)",
        nodes.len(),
        opts.image,
        opts.timeout.as_secs()
    );
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let result = tokio::select! {
        r = collect_node_facts(objects.as_ref(), nodes.as_slice(), opts) => Some(r),
        () = interrupted => None,
    };
    // The DaemonSet is deleted however the collection ended (a create that timed out may still have happened).
    for (object, e) in delete_pending(objects.as_ref()).await {
        eprintln!(
            "mcp-doctor: could not delete {object}: {e}; run `mcp-doctor sweep` to remove it"
        );
    }
    let Some(result) = result else {
        eprintln!("mcp-doctor: interrupted while collecting host facts; nothing was written");
        std::process::exit(i32::from(mcp_doctor_runner::EXIT_INTERRUPTED));
    };
    let collected = result.map_err(|e| {
        none(format!(
            "the host-facts DaemonSet could not be created in namespace {PROBE_NAMESPACE}: {e}"
        ))
    })?;
    for o in &collected.outcomes {
        if let Some(why) = &o.detail {
            eprintln!("mcp-doctor: no host facts from node {}: {why}", o.node);
        }
    }
    if collected.facts.is_empty() {
        return Err(none(format!(
            "the host-facts DaemonSet {} collected none (see the bundle manifest's collection.node_facts)",
            collected.daemon_set
        )));
    }
    Ok(collected)
}

/// The live HTTP prober, unless `MCP_DOCTOR_HTTP_PROBE=off` turns it off: test harnesses that serve public
/// names from a local DNS server set it so no probe can leave the machine (the checks then skip).
fn live_http(journal: Arc<Journal>, timeout: Duration) -> Arc<dyn HttpSource> {
    if std::env::var("MCP_DOCTOR_HTTP_PROBE").is_ok_and(|v| v == "off") {
        Arc::new(NoLiveProbe {
            what: "mcp-doctor with MCP_DOCTOR_HTTP_PROBE=off",
        })
    } else {
        Arc::new(LiveHttp::new(journal, timeout))
    }
}

/// `mcp-doctor sweep`: deletes (or with `--dry-run` lists) every object labelled
/// app.kubernetes.io/managed-by=mcp-doctor that an interrupted self-test left behind.
pub async fn sweep(args: SweepArgs) -> Result<u8, StartError> {
    let kube = LiveKube::connect(
        &KubeOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            request_timeout: request_timeout(args.timeout),
        },
        Journal::new(),
    )
    .await;
    let Some((client, server)) = kube.client_handle() else {
        let why = match mcp_doctor_checks::evidence::KubeSource::target(&kube).await {
            Err(e) => e.to_string(),
            Ok(_) => "no client".into(),
        };
        eprintln!("mcp-doctor sweep: cannot reach the cluster: {why}");
        return Ok(1);
    };
    let objects = LiveProbeObjects::new(client, server, request_timeout(args.timeout));
    let results = mcp_doctor_checks::evidence::probe_objects::sweep(objects, args.dry_run).await;
    let mut code = 0;
    if results.is_empty() {
        println!("nothing to sweep: no object is labelled app.kubernetes.io/managed-by=mcp-doctor");
    }
    for (object, result) in results {
        match result {
            Swept::Deleted if args.dry_run => println!("would delete {object}"),
            Swept::Deleted => println!("deleted {object}"),
            Swept::Kept { expires_at } => {
                println!("kept {object}: a run may still use it until {expires_at}")
            }
            Swept::Failed(e) => {
                code = 1;
                println!("could not delete {object}: {e}");
            }
        }
    }
    Ok(code)
}

pub fn replay_evidence(root: &Path) -> Result<Evidence, StartError> {
    Ok(Evidence::replay(Bundle::open(root)?))
}

/// A bundle directory as is, or a `.tar.gz` extracted (safely) into a temporary directory.
pub fn open_bundle(path: &Path) -> Result<(PathBuf, Option<tempfile::TempDir>), StartError> {
    if path.is_dir() {
        return Ok((path.to_path_buf(), None));
    }
    if !path.exists() {
        return Err(StartError(format!(
            "bundle {} does not exist",
            path.display()
        )));
    }
    let tmp = tempfile::tempdir()
        .map_err(|e| StartError(format!("cannot create a temporary directory: {e}")))?;
    let root = archive::extract(path, tmp.path())?;
    Ok((root, Some(tmp)))
}

/// Runs the selected checks in `ctx`; `show_progress` streams their progress to stderr.
async fn execute(
    mut ctx: Context,
    selected: &[&'static dyn Check],
    sel: &SelectionArgs,
    show_progress: bool,
) -> Report {
    ctx.selected = selected.iter().map(|c| c.meta()).collect();
    let ctx = Arc::new(ctx);
    let opts = RunOptions {
        jobs: usize::from(sel.jobs),
        timeout: Duration::from_secs(sel.timeout),
    };
    let progress = mcp_doctor_runner::progress_for(
        std::io::stderr().is_terminal(),
        std::env::var_os("CI").is_some(),
    );
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let sink: &dyn mcp_doctor_runner::events::EventSink = if show_progress {
        &progress
    } else {
        &mcp_doctor_runner::events::NoProgress
    };
    let mut report = mcp_doctor_runner::run(selected, ctx.clone(), &opts, sink, interrupt).await;
    report.cluster = cluster_info(&ctx).await;
    report
}

/// Identifies the cluster for the report header from evidence the checks already gathered (memoized);
/// None when the cluster was never reached.
async fn cluster_info(ctx: &Context) -> Option<ClusterInfo> {
    let version = ctx.evidence.kube.version().await.ok()?;
    let nodes = mcp_doctor_checks::facts::nodes(ctx).await.ok();
    Some(ClusterInfo {
        distribution: ctx
            .distribution()
            .await
            .map(|d| d.to_string())
            .unwrap_or_else(|| "unknown".into()),
        server_version: version.git_version,
        node_count: nodes.map(|n| n.len() as u64),
    })
}

/// Writes the report files the flags ask for: `--json`, `--junit`, `--summary`, `--metrics`.
pub fn write_report_files(report: &Report, out: &OutputArgs) -> Result<(), StartError> {
    let write = |path: &PathBuf, text: String| {
        std::fs::write(path, text)
            .map_err(|e| StartError(format!("cannot write {}: {e}", path.display())))
    };
    if let Some(p) = &out.json {
        write(p, mcp_doctor_runner::reporters::json::render(report))?;
    }
    if let Some(p) = &out.junit {
        write(p, mcp_doctor_runner::reporters::junit::render(report))?;
    }
    if let Some(p) = &out.summary {
        write(p, mcp_doctor_runner::reporters::markdown::render(report))?;
    }
    if let Some(p) = &out.metrics {
        let attempt = mcp_doctor_runner::reporters::metrics::RunAttempt::of(report);
        let text = mcp_doctor_runner::reporters::metrics::render(Some(report), &attempt);
        replace_file(p, &text)
            .map_err(|e| StartError(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(())
}

/// Writes `path` by renaming a finished file over it, so a reader (node-exporter's textfile collector
/// scraping while the CronJob writes) sees the old file or the new one, never half of one.
fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".mcp-doctor-")
        .tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    // Readable like a file written with std::fs::write (the temporary file is 0600).
    tmp.as_file()
        .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Applies the waivers to the finished report (recordings keep the raw verdicts, so `analyze` judges them
/// against the waivers of its own day), writes every report asked for, and returns the exit code.
fn emit(
    report: &Report,
    out: &OutputArgs,
    config: &ResolvedConfig,
    waivers: Option<&Waivers>,
) -> Result<u8, StartError> {
    let mut waived;
    let report = match waivers {
        Some(w) => {
            waived = report.clone();
            waived.apply_waivers(w, report.started_on());
            &waived
        }
        None => report,
    };
    write_report_files(report, out)?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = match out.format {
        Format::Table => {
            let opts = TableOptions {
                color,
                width: mcp_doctor_runner::reporters::table::terminal_width(),
                verbose: out.verbose,
            };
            let mut text = mcp_doctor_runner::reporters::table::render(report, &opts);
            if out.verbose {
                text.push_str(&format!(
                    "\nConfiguration (where each value came from):\n{}\n",
                    crate::info::config_table(config, true)
                ));
            }
            text
        }
        Format::Json => mcp_doctor_runner::reporters::json::render(report),
        Format::Junit => mcp_doctor_runner::reporters::junit::render(report),
        Format::Github => mcp_doctor_runner::reporters::github::render(report),
    };
    println!("{}", text.trim_end());
    let fail_on = match out.fail_on {
        FailOnArg::Fail => FailOn::Fail,
        FailOnArg::Warn => FailOn::Warn,
    };
    Ok(report.exit_code(fail_on))
}

/// `--record DIR` and `bundle`: the journal, the reports, the configuration and a manifest, in the bundle
/// layout; returns the manifest written.
fn record(dir: &Path, run: &Finished, collection: Option<Collection>) -> std::io::Result<Manifest> {
    let Finished {
        report,
        evidence,
        config,
        ..
    } = run;
    std::fs::create_dir_all(dir)?;
    // The configuration first: its masked secrets belong in the redaction report.
    let masked = config
        .entries()
        .filter(|(def, setting)| def.secret && setting.is_some())
        .count() as u64;
    let mut tally = Tally::default();
    tally.add(redactor::SECRET_SETTING, masked);
    evidence.journal.record_redactions("config.env", &tally);
    if collection.is_some() {
        evidence.journal.record_redactions("config.json", &tally);
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_string_pretty(&crate::info::config_json(config)).unwrap_or_default()
                + "\n",
        )?;
    }
    evidence.journal.redact_secret_references();
    evidence.journal.write_to(dir)?;
    let mut collected = vec!["kube".to_string()];
    for source in ["dns", "http", "tls"] {
        if dir.join("evidence").join(source).is_dir() {
            collected.push(source.into());
        }
    }
    for source in ["host", "logs", "install"] {
        if dir.join(source).is_dir() {
            collected.push(source.into());
        }
    }
    let manifest = Manifest {
        schema: BUNDLE_SCHEMA.into(),
        tool: ToolInfo {
            name: report.tool.name.clone(),
            version: report.tool.version.clone(),
        },
        created_at: report.started_at.to_string(),
        mode: report.mode,
        profile: report.profile,
        description: None,
        collected,
        redacted: bundle::redactions(),
        collection,
        redaction_report: evidence.journal.redaction_report(),
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n",
    )?;
    std::fs::write(dir.join("config.env"), bundle::config_env(config))?;
    std::fs::write(
        dir.join("report.json"),
        mcp_doctor_runner::reporters::json::render(report),
    )?;
    std::fs::write(
        dir.join("report.junit.xml"),
        mcp_doctor_runner::reporters::junit::render(report),
    )?;
    Ok(manifest)
}
