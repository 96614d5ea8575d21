//! `fixture-apiserver <fixture-dir> [--latency-ms N] [--page-size N] [--request-log FILE] [--writable]`: serves a fixture
//! over HTTPS until Ctrl-C (or SIGTERM), for trying the tool by hand or benchmarking it (`bench/scale.sh`). It
//! prints `KUBECONFIG=<path>` on stdout; export that in another shell.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use fixture_apiserver::{FixtureServer, ServerOptions};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(about = "Serve a fixture directory the way kube-apiserver does, over HTTPS")]
struct Args {
    /// A bundle or fixture directory (evidence/, cluster/, ...).
    fixture_dir: PathBuf,
    /// Delay every answer by this many milliseconds.
    #[arg(long, value_name = "N")]
    latency_ms: Option<u64>,
    /// Serve at most N items per page when the client sends `limit`.
    #[arg(long, value_name = "N")]
    page_size: Option<usize>,
    /// Append one line per answered request to FILE, `<unix ms> <method> <path>[?query] <status> <bytes>`,
    /// written within a second of the answer (and on exit).
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
    /// Serve on N threads (default: one per CPU), so a client's concurrent requests are answered in parallel.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Accept PATCHes and server-side applies (kept in memory, listed beside the fixture's objects), as
    /// `bench/scale.sh --load` sends; without it a write gets the 403 of a read-only user.
    #[arg(long)]
    writable: bool,
    /// The bearer token to accept (written into the kubeconfig).
    #[arg(long, default_value = "fixture-token")]
    token: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let opts = ServerOptions {
        token: args.token,
        latency: args.latency_ms.map(Duration::from_millis),
        page_size_cap: args.page_size,
        patches: args.writable,
        threads: Some(args.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })),
        ..ServerOptions::default()
    };
    let server = FixtureServer::start(&args.fixture_dir, opts)?;
    // Registered before the kubeconfig is announced, so a stop that follows at once still cleans up.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "KUBECONFIG={}", server.kubeconfig_path().display())?;
    stdout.flush()?;
    eprintln!(
        "fixture-apiserver: serving {} at {} (context {}); Ctrl-C or SIGTERM to stop",
        args.fixture_dir.display(),
        server.url(),
        server.context()
    );
    let mut written = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            _ = tick.tick() => {}
        }
        if let Some(path) = &args.request_log {
            written = append_answers(&server, path, written)?;
        }
    }
    if let Some(path) = &args.request_log {
        append_answers(&server, path, written)?;
    }
    Ok(())
}

/// Appends the answers after the first `written` to `path`; returns how many are written now.
fn append_answers(server: &FixtureServer, path: &Path, written: usize) -> anyhow::Result<usize> {
    let answered = server.answered();
    if answered.len() > written {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        for a in &answered[written..] {
            let query = a.request.query.as_deref().map(|q| format!("?{q}"));
            writeln!(
                file,
                "{} {} {}{} {} {}",
                a.at_ms,
                a.request.method,
                a.request.path,
                query.unwrap_or_default(),
                a.status,
                a.bytes
            )?;
        }
    }
    Ok(answered.len())
}
