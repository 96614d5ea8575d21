//! mcp-doctor: the thin binary. It parses flags and wires the crates together: settings and evidence from
//! `mcp-doctor-checks`, the run and the reports from `mcp-doctor-runner`.

mod bundle;
mod cli;
mod diff;
mod docs;
mod info;
mod install;
mod rbac;
mod run;
mod serve;
mod waivers;

use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::{Cli, Command};

/// Exit code when the tool cannot start: bad flags, unreadable env file or bundle.
pub const EXIT_CANNOT_START: u8 = 2;

/// A problem that stops the tool before any check runs; printed as one line, exit 2.
#[derive(Debug)]
pub struct StartError(pub String);

impl<E: std::fmt::Display> From<E> for StartError {
    fn from(e: E) -> Self {
        StartError(e.to_string())
    }
}

fn main() -> ExitCode {
    // `mcp-doctor explain ... | head` must end quietly like any Unix tool when the reader goes away, not
    // panic in `println!`: restore the default action of SIGPIPE, which Rust sets to ignore.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // One crypto provider for every TLS client (kube, probes): ring. Err means already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Installed as `kubectl-mcp_doctor`, the binary is the kubectl plugin `kubectl mcp-doctor`: its help
    // and completions name it so.
    let argv0 = std::env::args_os().next();
    let cmd = cli::command(argv0.as_deref());
    let args = cli::cluster_flags_after_subcommand(std::env::args_os().collect());
    let cli = match Cli::from_arg_matches(&cmd.clone().get_matches_from(args)) {
        Ok(cli) => cli,
        Err(e) => e.format(&mut cmd.clone()).exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return start_error(StartError(format!("cannot start the async runtime: {e}"))),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Doctor(args) => run::doctor(args, false).await,
            Command::Preflight(args) => run::doctor(args, true).await,
            Command::Analyze(args) => run::analyze(args).await,
            Command::Bundle(args) => run::bundle(args).await,
            Command::Diff(args) => diff::diff(args).await,
            Command::List(args) => info::list(&args),
            Command::Explain(args) => info::explain(&args),
            Command::Config(args) => info::config(&args),
            Command::HostFacts(args) => info::host_facts(&args).await,
            Command::Sweep(args) => run::sweep(args).await,
            Command::Completions(args) => docs::completions(&args),
            Command::Man(args) => docs::man(&args, cmd),
            Command::Rbac(args) => rbac::rbac(&args),
            Command::Serve(args) => serve::serve(args).await,
            Command::Install(args) => install::install(args).await,
            Command::Fix(args) => install::fix(args).await,
        }
    });
    // Do not wait for stuck requests of timed-out checks: the report is out.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => start_error(e),
    }
}

fn start_error(e: StartError) -> ExitCode {
    eprintln!("mcp-doctor: {}", e.0);
    ExitCode::from(EXIT_CANNOT_START)
}
