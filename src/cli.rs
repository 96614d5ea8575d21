//! Command-line flags. Parsing only: what the flags mean is wired in `main.rs`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "mcp-doctor",
    version,
    about = "Health checks and conformance for clusters that run MCP Runtime",
    long_about = "Health checks and conformance for clusters that run MCP Runtime.\n\n\
        Before install:  mcp-doctor preflight --env-file deploy.env --platform-mode public --with-tls ...\n\
        After install:   mcp-doctor doctor\n\
        In CI:           mcp-doctor preflight --format junit --junit report.xml --json report.json\n\
        Offline:         mcp-doctor analyze bundle.tar.gz\n\n\
        Exit codes: 0 nothing failed; 1 a check failed or errored (or warned, with --fail-on warn);\n\
        2 the tool could not start (bad flag, unreadable env file or bundle); 130 interrupted.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Diagnose an installed platform (or, with --for-setup, the cluster before setup).
    Doctor(DoctorArgs),
    /// Will `mcp-runtime setup` succeed here? Same as `doctor --for-setup`; accepts setup's own flags.
    Preflight(DoctorArgs),
    /// Replay a bundle or fixture (directory or .tar.gz) offline and print the same verdicts.
    Analyze(AnalyzeArgs),
    /// The verdicts that changed between two bundles or recordings, and the evidence beneath each.
    Diff(DiffArgs),
    /// Run the doctor and pack a support bundle: its evidence, the platform's objects and logs, redacted.
    Bundle(BundleArgs),
    /// List every check: id, title, category, modes and dependencies.
    List(ListArgs),
    /// Print what a check (or remediation) verifies, why, what failure looks like and how to fix it.
    Explain(ExplainArgs),
    /// Print the resolved configuration and where each value came from (flag, env, env-file, default).
    Config(ConfigArgs),
    /// Write this node's facts (registry config, /etc/hosts, disk usage, file modes) as JSON.
    HostFacts(HostFactsArgs),
    /// Delete what an interrupted probe or self-test run left (objects labelled managed-by=mcp-doctor).
    Sweep(SweepArgs),
    /// Print a shell completion script generated from these flags: `mcp-doctor completions bash`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) generated from these flags: `mcp-doctor man | man -l -`.
    Man(ManArgs),
    /// Print the least read-only RBAC (ServiceAccount, ClusterRole, ClusterRoleBinding) the checks need.
    Rbac(RbacArgs),
    /// Run the doctor every --interval and serve its results as Prometheus metrics (/metrics, /healthz).
    Serve(ServeArgs),
    /// Run an installer plan: each step gated on the checks it needs, verified afterwards.
    Install(InstallArgs),
    /// Carry out a failing check's remediation when an installer step automates it, then re-run the check.
    Fix(FixArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Junit,
    /// GitHub Actions workflow commands: one ::error/::warning/::notice annotation per check that needs a look.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    Dev,
    Prod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Fail,
    Warn,
}

/// How the report is written.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also write the JSON report (schema mcp-doctor.report/v1) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a JUnit XML report to FILE (one testsuite per category).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Exit 1 on `fail`/`error` (default) or also on `warn`.
    #[arg(long, value_enum, default_value = "fail")]
    pub fail_on: FailOnArg,
    /// Table format: print each check's structured details under it (e.g. where every setting came from).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Also write a Markdown job summary to FILE (counts, the checks that need attention, fixes), e.g.
    /// `--summary "$GITHUB_STEP_SUMMARY"`.
    #[arg(long, value_name = "FILE.md")]
    pub summary: Option<PathBuf>,
    /// Accepted, expiring exceptions (YAML: check, optional subject, reason, owner, expires). A waived
    /// fail/warn is reported as waived and does not set the exit code. [default: .mcp-doctor-waivers.yaml
    /// in the working directory, when present]
    #[arg(long, value_name = "FILE", conflicts_with = "no_waivers")]
    pub waivers: Option<PathBuf>,
    /// Ignore .mcp-doctor-waivers.yaml in the working directory: every verdict counts.
    #[arg(long)]
    pub no_waivers: bool,
    /// Also write the results as Prometheus metrics (text exposition format) to FILE, e.g. for
    /// node-exporter's textfile collector.
    #[arg(long, value_name = "FILE.prom")]
    pub metrics: Option<PathBuf>,
}

/// Which checks run and how.
#[derive(Args, Debug, Clone)]
pub struct SelectionArgs {
    /// Run only these checks (comma-separated ids; see `mcp-doctor list`).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Do not run these checks (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub skip: Vec<String>,
    /// At most this many checks run at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Seconds a check may take before it is reported as `error: timed out`.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// `prod` applies production expectations (durable storage, no insecure registries, ...).
    #[arg(long, value_enum, default_value = "dev")]
    pub profile: ProfileArg,
}

/// The flags of `mcp-runtime setup`, so preflight judges exactly the setup run about to happen.
#[derive(Args, Debug, Clone, Default)]
pub struct SetupFlags {
    /// setup --platform-mode (tenant | org | public).
    #[arg(long, help_heading = "Setup flags")]
    pub platform_mode: Option<String>,
    /// setup --registry-mode (auto | bundled-http | bundled-https | external).
    #[arg(long, help_heading = "Setup flags")]
    pub registry_mode: Option<String>,
    /// setup --storage-mode (dynamic | hostpath).
    #[arg(long, help_heading = "Setup flags")]
    pub storage_mode: Option<String>,
    /// setup --ingress (traefik | none).
    #[arg(long, help_heading = "Setup flags")]
    pub ingress: Option<String>,
    /// setup --with-tls.
    #[arg(long, help_heading = "Setup flags")]
    pub with_tls: bool,
    /// setup --strict-prod.
    #[arg(long, help_heading = "Setup flags")]
    pub strict_prod: bool,
    /// setup --skip-cert-manager-install.
    #[arg(long, help_heading = "Setup flags")]
    pub skip_cert_manager_install: bool,
    /// setup --test-mode (throwaway certificates and relaxed checks for CI clusters).
    #[arg(long, help_heading = "Setup flags")]
    pub test_mode: bool,
    /// setup --acme-staging (Let's Encrypt's staging directory: untrusted certificates, generous limits).
    #[arg(long, help_heading = "Setup flags")]
    pub acme_staging: bool,
    /// setup --provided-tls-secrets (the TLS Secrets are created by you, not by cert-manager).
    #[arg(long, help_heading = "Setup flags")]
    pub provided_tls_secrets: bool,
    /// setup --acme-email (Let's Encrypt contact; not an admin).
    #[arg(long, help_heading = "Setup flags")]
    pub acme_email: Option<String>,
    /// setup --tls-cluster-issuer.
    #[arg(long, help_heading = "Setup flags")]
    pub tls_cluster_issuer: Option<String>,
    /// setup --external-registry-url.
    #[arg(long, help_heading = "Setup flags")]
    pub external_registry_url: Option<String>,
    /// setup --external-registry-username.
    #[arg(long, help_heading = "Setup flags")]
    pub external_registry_username: Option<String>,
    /// Publish a throwaway token through the cluster and fetch it through each public host (mutates).
    #[arg(long, help_heading = "Front door")]
    pub http01_self_test: bool,
    /// Run short-lived probe pods for the facts only the cluster has (`dns.in-cluster`); they are
    /// deleted after the run, and `mcp-doctor sweep` removes what a killed run left.
    #[arg(long, help_heading = "Front door")]
    pub probe_pods: bool,
    /// Image of the probe pods (`http01.self-test`, `--probe-pods`): busybox by default; air-gapped
    /// clusters point it at their own registry.
    #[arg(long, value_name = "IMAGE", help_heading = "Front door")]
    pub probe_image: Option<String>,
    /// The namespace holding the Sentinel components (default: detected, `mcp-sentinel` or the split layout).
    #[arg(long, value_name = "NAMESPACE", help_heading = "Platform")]
    pub platform_namespace: Option<String>,
}

impl SetupFlags {
    /// The flags given, keyed by setting key.
    pub fn to_map(&self) -> std::collections::BTreeMap<String, String> {
        let mut m = std::collections::BTreeMap::new();
        let mut put = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v.clone());
            }
        };
        put("platform_mode", self.platform_mode.as_ref());
        put("registry_mode", self.registry_mode.as_ref());
        put("storage_mode", self.storage_mode.as_ref());
        put("ingress", self.ingress.as_ref());
        put("acme_email", self.acme_email.as_ref());
        put("tls_cluster_issuer", self.tls_cluster_issuer.as_ref());
        put("probe_image", self.probe_image.as_ref());
        put("platform_namespace", self.platform_namespace.as_ref());
        put("external_registry_url", self.external_registry_url.as_ref());
        put(
            "external_registry_username",
            self.external_registry_username.as_ref(),
        );
        for (k, on) in [
            ("with_tls", self.with_tls),
            ("strict_prod", self.strict_prod),
            ("skip_cert_manager_install", self.skip_cert_manager_install),
            ("test_mode", self.test_mode),
            ("acme_staging", self.acme_staging),
            ("provided_tls_secrets", self.provided_tls_secrets),
            ("http01_self_test", self.http01_self_test),
            ("probe_pods", self.probe_pods),
        ] {
            if on {
                m.insert(k.to_string(), "true".into());
            }
        }
        m
    }
}

/// How clients reach the public hosts, and which DNS servers to ask besides this machine's resolver.
#[derive(Args, Debug, Clone, Default)]
pub struct FrontDoorArgs {
    /// What the public DNS records point at, so the dns and http01 checks know what to expect.
    /// `direct`: at the ingress node / load balancer that runs Traefik (the records must equal its
    /// addresses). `proxy`: at Cloudflare, a WAF or a reverse proxy in front of it (the records must NOT
    /// be the origin, or the proxy shields nothing). `internal`: at an internal enterprise LB in internal
    /// DNS (private addresses are expected; Let's Encrypt HTTP-01 cannot work, use --tls-cluster-issuer).
    /// Env: MCP_DOCTOR_FRONT_DOOR. [default: direct]
    #[arg(long, value_enum, value_name = "SHAPE", help_heading = "Front door")]
    pub front_door: Option<FrontDoor>,
    /// Also ask this DNS server directly, IP[:PORT] (port 53 by default); repeatable. The public checks
    /// (points-at-ingress, reserved-address, caa) judge its answers instead of this machine's resolver,
    /// and dns.consistent compares the two (a split-horizon /etc/hosts or internal DNS shows up there).
    /// Use your authoritative server or a public resolver: --dns-server 1.1.1.1 --dns-server 8.8.8.8.
    /// Env: MCP_DOCTOR_DNS_SERVERS (comma-separated).
    #[arg(long = "dns-server", value_name = "IP[:PORT]", help_heading = "Front door",
          value_parser = parse_dns_server)]
    pub dns_servers: Vec<String>,
}

/// The three front-door shapes of the k3s guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FrontDoor {
    /// client -> DNS A record -> ingress node public IP -> ServiceLB -> Traefik
    Direct,
    /// client -> Cloudflare/WAF/proxy -> origin ingress IP -> ServiceLB -> Traefik
    Proxy,
    /// internal client -> internal DNS/proxy/LB -> ServiceLB -> Traefik
    Internal,
}

fn parse_dns_server(s: &str) -> Result<String, String> {
    mcp_doctor_checks::evidence::live_dns::parse_server(s).map(|_| s.to_string())
}

impl FrontDoorArgs {
    fn put(&self, m: &mut std::collections::BTreeMap<String, String>) {
        if let Some(f) = self.front_door {
            let v = match f {
                FrontDoor::Direct => "direct",
                FrontDoor::Proxy => "proxy",
                FrontDoor::Internal => "internal",
            };
            m.insert("front_door".into(), v.into());
        }
        if !self.dns_servers.is_empty() {
            m.insert("dns_servers".into(), self.dns_servers.join(","));
        }
    }
}

/// Where the configuration comes from.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigSourceArgs {
    /// A deployment env file (KEY=value lines); flags and the environment take precedence over it.
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    #[command(flatten)]
    pub setup: SetupFlags,
    #[command(flatten)]
    pub front_door: FrontDoorArgs,
    #[command(flatten)]
    pub probes: ProbeArgs,
}

impl ConfigSourceArgs {
    /// Every flag given that is a setting, keyed by setting key.
    pub fn to_map(&self) -> std::collections::BTreeMap<String, String> {
        let mut m = self.setup.to_map();
        self.front_door.put(&mut m);
        self.probes.put(&mut m);
        m
    }
}

/// How the probes reach and verify the public hosts and the registry.
#[derive(Args, Debug, Clone, Default)]
pub struct ProbeArgs {
    /// Also trust the CA certificates in this PEM file when verifying served certificates (enterprise PKI).
    #[arg(
        long,
        value_name = "PEM",
        env = "MCP_DOCTOR_CA_FILE",
        help_heading = "Probes"
    )]
    pub ca_file: Option<PathBuf>,
    /// Connect TLS probes of the public hosts to this address (e.g. the ingress node, `IP[:PORT]`, port
    /// 443 by default) while still sending each host as SNI.
    #[arg(long, value_name = "ADDR", help_heading = "Probes")]
    pub tls_connect: Option<String>,
    /// The platform admin API key, sent only as the `x-api-key` header of authenticated probes (prefer
    /// the MCP_ADMIN_API_KEY environment variable: a flag is visible in the process list).
    #[arg(long, value_name = "KEY", help_heading = "Probes")]
    pub api_key: Option<String>,
    /// Probe the bundled registry's `/v2/` at this base URL (`http(s)://host:port`) instead of the
    /// registry Service's NodePort on a node address.
    #[arg(long, value_name = "URL", help_heading = "Probes")]
    pub registry_url: Option<String>,
}

impl ProbeArgs {
    fn put(&self, m: &mut std::collections::BTreeMap<String, String>) {
        if let Some(ca) = &self.ca_file {
            m.insert("ca_file".into(), ca.display().to_string());
        }
        if let Some(addr) = &self.tls_connect {
            m.insert("tls_connect".into(), addr.clone());
        }
        if let Some(key) = &self.api_key {
            m.insert("api_key".into(), key.clone());
        }
        if let Some(url) = &self.registry_url {
            m.insert("registry_url".into(), url.clone());
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// Judge the cluster before `mcp-runtime setup` (what `preflight` does).
    #[arg(long)]
    pub for_setup: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub config: ConfigSourceArgs,
    /// Kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current-context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Read this node's facts from a mounted root (`/` on a node).
    #[arg(long, value_name = "DIR", conflicts_with = "host_facts")]
    pub host_root: Option<PathBuf>,
    /// Read node facts from `host-facts` JSON files (one per node) in DIR.
    #[arg(long, value_name = "DIR")]
    pub host_facts: Option<PathBuf>,
    /// Replay a bundle or fixture instead of asking the cluster.
    #[arg(long, value_name = "BUNDLE", conflicts_with_all = ["kubeconfig", "context", "host_root", "host_facts", "record"])]
    pub from: Option<PathBuf>,
    /// Record every answer into DIR in the bundle layout, for `analyze`.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct BundleArgs {
    /// Write the bundle to FILE.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE.tar.gz",
        default_value = "mcp-doctor-bundle.tar.gz"
    )]
    pub output_file: PathBuf,
    /// Take the last N lines of each platform container's log (and of its previous instance).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub log_lines: i64,
    /// Only log lines newer than this: `30s`, `15m`, `2h`, `1d`.
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub since: Option<i64>,
    /// Print what would leave the site (files, sizes, redactions) and write nothing.
    #[arg(long)]
    pub preview: bool,
    /// Collect every node's host facts with a short-lived DaemonSet in `default` (its pods run
    /// `mcp-doctor host-facts` over a read-only mount of the node's root, tolerating every taint); it is
    /// deleted when the collection ends, and `mcp-doctor sweep` removes what a killed run left.
    #[arg(long, conflicts_with_all = ["host_root", "host_facts"])]
    pub collect_nodes: bool,
    /// Image of the host-facts DaemonSet: an image with `mcp-doctor` on its PATH (the repository's Dockerfile
    /// builds it); air-gapped clusters point it at their own registry.
    /// [default: ghcr.io/mcp-runtime/mcp-doctor:<this version>]
    #[arg(long, value_name = "IMAGE", requires = "collect_nodes")]
    pub collect_image: Option<String>,
    /// Seconds to wait for every node's facts; a node whose pod has not answered by then is reported.
    #[arg(long, value_name = "SECS", default_value_t = 120, requires = "collect_nodes",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub collect_timeout: u64,
    /// Also pack this `install` run journal (`<plan>.journal-<UTC>.json`) under `install/`; repeatable.
    #[arg(long = "install-journal", value_name = "FILE")]
    pub install_journals: Vec<PathBuf>,
    #[command(flatten)]
    pub doctor: DoctorArgs,
}

impl BundleArgs {
    /// How `--collect-nodes` collects, when given.
    pub fn node_collection(&self) -> Option<mcp_doctor_checks::collect_nodes::NodeCollectOptions> {
        self.collect_nodes
            .then(|| mcp_doctor_checks::collect_nodes::NodeCollectOptions {
                image: self.collect_image.clone().unwrap_or_else(|| {
                    format!(
                        "ghcr.io/mcp-runtime/mcp-doctor:{}",
                        env!("CARGO_PKG_VERSION")
                    )
                }),
                timeout: std::time::Duration::from_secs(self.collect_timeout),
            })
    }
}

/// `30s`, `15m`, `2h`, `1d` (a bare number is seconds) -> seconds.
fn parse_since(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 15m, 2h or 1d"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    match n.checked_mul(factor) {
        Some(secs) if secs > 0 => Ok(secs),
        _ => Err(format!("{s:?} must be a positive duration")),
    }
}

#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// The earlier bundle, recording or fixture (directory or .tar.gz).
    pub a: PathBuf,
    /// The later one.
    pub b: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Args, Debug, Clone)]
pub struct AnalyzeArgs {
    /// A bundle directory or .tar.gz, or a fixture directory.
    pub bundle: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    /// `prod` applies production expectations.
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
}

#[derive(Args, Debug, Clone)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    /// A check id (`nodes.ready`) or remediation id (`rem.disk-pressure`).
    pub id: String,
}

#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub config: ConfigSourceArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// List what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current-context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Seconds to wait for each API request.
    #[arg(long, default_value_t = 15, value_name = "SECS")]
    pub timeout: u64,
}

/// The default name of the ServiceAccount, ClusterRole and ClusterRoleBinding, and of their namespace.
pub const RBAC_DEFAULT_NAME: &str = "mcp-doctor";

#[derive(Args, Debug, Clone)]
pub struct RbacArgs {
    /// The access `preflight` needs instead of `doctor`'s.
    #[arg(long)]
    pub for_setup: bool,
    /// Only the access these checks need (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Leave out the access only these checks need (comma-separated ids).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Namespace of the ServiceAccount.
    #[arg(long, value_name = "NS", default_value = RBAC_DEFAULT_NAME)]
    pub namespace: String,
    /// Name of the ServiceAccount, ClusterRole and ClusterRoleBinding.
    #[arg(long, value_name = "NAME", default_value = RBAC_DEFAULT_NAME)]
    pub name: String,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve /metrics and /healthz on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9464")]
    pub listen: std::net::SocketAddr,
    /// Time between the start of one run and the next (`30s`, `15m`, `1h`); the first run starts at once.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_since)]
    pub interval: i64,
    /// A run still going after this long is abandoned and reported as failed (default: the interval).
    #[arg(long, value_name = "DURATION", value_parser = parse_since)]
    pub run_timeout: Option<i64>,
    #[command(flatten)]
    pub doctor: DoctorArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: ShellArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug, Clone)]
pub struct ManArgs {
    /// The page of one subcommand (`mcp-doctor man doctor`); without it, the main page.
    pub subcommand: Option<String>,
}

/// The name a kubectl plugin is installed under (krew naming: `kubectl mcp-doctor` runs `kubectl-mcp_doctor`).
pub const KUBECTL_PLUGIN_FILE: &str = "kubectl-mcp_doctor";

/// The command line definition, named as the user calls it: `kubectl mcp-doctor` when this binary was
/// started as the kubectl plugin (`argv0` is its file name), `mcp-doctor` otherwise.
pub fn command(argv0: Option<&std::ffi::OsStr>) -> clap::Command {
    let cmd = <Cli as clap::CommandFactory>::command();
    let as_plugin = argv0
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|name| name == KUBECTL_PLUGIN_FILE);
    if !as_plugin {
        return cmd;
    }
    let long_about = cmd
        .get_long_about()
        .map(|a| a.to_string().replace("mcp-doctor ", "kubectl mcp-doctor "))
        .unwrap_or_default();
    cmd.name("kubectl mcp-doctor")
        .bin_name("kubectl mcp-doctor")
        .display_name("kubectl mcp-doctor")
        .long_about(long_about)
}

/// Flags that kubectl users put before the subcommand (`kubectl mcp-doctor --context prod doctor`), the way
/// kubectl's own global flags go; each takes a value.
const CLUSTER_FLAGS: [&str; 2] = ["--kubeconfig", "--context"];

/// The command line with `--kubeconfig`/`--context` given before the subcommand moved after it, where the
/// subcommands that reach a cluster define them; anything else is left as it is for clap to judge (so a
/// subcommand without such a flag still gets clap's error naming it).
pub fn cluster_flags_after_subcommand(args: Vec<OsString>) -> Vec<OsString> {
    let mut rest = args.into_iter();
    let mut out: Vec<OsString> = rest.next().into_iter().collect();
    let mut moved = Vec::new();
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        let with_value = CLUSTER_FLAGS
            .iter()
            .any(|flag| text.strip_prefix(flag).is_some_and(|v| v.starts_with('=')));
        if with_value {
            moved.push(arg);
        } else if CLUSTER_FLAGS.contains(&text.as_ref()) {
            moved.push(arg);
            moved.extend(rest.next());
        } else {
            let subcommand = !text.starts_with('-');
            out.push(arg);
            if subcommand {
                out.append(&mut moved);
            }
            out.extend(rest);
            break;
        }
    }
    // Flags with no subcommand after them: put back, so clap reports what is missing.
    out.append(&mut moved);
    out
}

/// How `install` and `fix` reach the cluster and host, and whether they may change them.
#[derive(Args, Debug, Clone)]
pub struct ApplyArgs {
    /// Print what each step would change and the current status of its gates; change nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Apply without asking (required when not on a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Restart k3s (systemctl) after changing its registries.yaml, instead of saying it must be restarted.
    #[arg(long)]
    pub restart_runtime: bool,
    #[command(flatten)]
    pub config: ConfigSourceArgs,
    /// Kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current-context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The node's root filesystem: host files are read and written under it [default: /].
    #[arg(long, value_name = "DIR")]
    pub host_root: Option<PathBuf>,
    /// Gates read node facts from `host-facts` JSON files in DIR (nodes you cannot reach) instead of
    /// from --host-root; steps still write under --host-root.
    #[arg(long, value_name = "DIR")]
    pub host_facts: Option<PathBuf>,
    /// `prod` applies production expectations (and writes no insecure registry entries).
    #[arg(long, value_enum, default_value = "dev")]
    pub profile: ProfileArg,
    /// Seconds a gate check may take (API requests give up sooner).
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(Args, Debug, Clone)]
pub struct InstallArgs {
    /// The plan: a YAML file of ordered steps (see installer/plans/k3s-4node.yaml).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    #[command(flatten)]
    pub apply: ApplyArgs,
}

#[derive(Args, Debug, Clone)]
pub struct FixArgs {
    /// The failing check to fix (`svclb.enablelb-labels`).
    pub check: String,
    #[command(flatten)]
    pub apply: ApplyArgs,
}

#[derive(Args, Debug, Clone)]
pub struct HostFactsArgs {
    /// The node's root filesystem.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub host_root: PathBuf,
    /// The node's name as the cluster knows it (default: the host root's /etc/hostname, else this machine's).
    #[arg(long, value_name = "NAME", env = mcp_doctor_checks::collect_nodes::NODE_NAME_ENV)]
    pub node_name: Option<String>,
    /// After writing, keep running until SIGTERM or Ctrl-C: the pods of the `bundle --collect-nodes`
    /// DaemonSet must not exit.
    #[arg(long)]
    pub hold: bool,
    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::{cluster_flags_after_subcommand, parse_since};

    #[test]
    fn cluster_flags_before_the_subcommand_move_after_it() {
        let moved = |line: &str| {
            let args = line.split(' ').map(std::ffi::OsString::from).collect();
            let out: Vec<String> = cluster_flags_after_subcommand(args)
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect();
            out.join(" ")
        };
        assert_eq!(
            moved("m --context prod doctor --only x"),
            "m doctor --context prod --only x"
        );
        assert_eq!(
            moved("m --kubeconfig=k --context c preflight"),
            "m preflight --kubeconfig=k --context c"
        );
        for unchanged in [
            "m doctor --context prod",
            "m --version",
            "m explain nodes.ready",
            "m --help doctor",
        ] {
            assert_eq!(moved(unchanged), unchanged);
        }
        // No subcommand, or a flag clap must judge first: nothing is lost, nothing reordered past it.
        assert_eq!(moved("m --context prod"), "m --context prod");
        assert_eq!(moved("m --context"), "m --context");
        assert_eq!(
            moved("m --context prod --bogus doctor"),
            "m --bogus doctor --context prod"
        );
    }

    #[test]
    fn since_takes_seconds_minutes_hours_and_days() {
        assert_eq!(parse_since("90"), Ok(90));
        assert_eq!(parse_since("30s"), Ok(30));
        assert_eq!(parse_since("15m"), Ok(900));
        assert_eq!(parse_since("2h"), Ok(7200));
        assert_eq!(parse_since("1d"), Ok(86_400));
        for bad in ["", "h", "2w", "0s", "-5m", "1.5h", "99999999999999999999d"] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }
}
