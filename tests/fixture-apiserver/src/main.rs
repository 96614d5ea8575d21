//! `fixture-apiserver <fixture-dir> [--latency-ms N] [--page-size N]`: serves a fixture over HTTPS until
//! Ctrl-C (or SIGTERM), for trying the tool by hand. It prints `KUBECONFIG=<path>` on stdout; export that in another shell.

use std::io::Write;
use std::path::PathBuf;
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
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}
