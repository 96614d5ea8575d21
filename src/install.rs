//! `install --plan FILE` and `fix <check-id>`: wiring for the installer crate. The gates run the registry's
//! checks on fresh live evidence each time (a new client, as `doctor` opens one), the steps write through a
//! kube client from the same kubeconfig, and host files go under `--host-root`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcp_doctor_checks::Status;
use mcp_doctor_checks::evidence::KubeSource;
use mcp_doctor_checks::evidence::live_kube::{KubeOptions, LiveKube};
use mcp_doctor_checks::settings::{ConfigInputs, ResolvedConfig, parse_env_file};
use mcp_doctor_installer::gate::FreshEvidence;
use mcp_doctor_installer::kube_write::KubeWriter;
use mcp_doctor_installer::plan::{self, Plan};
use mcp_doctor_installer::{Confirm, Env, Executor, Gates};

use crate::StartError;
use crate::cli::{
    ApplyArgs, DoctorArgs, FailOnArg, FixArgs, Format, InstallArgs, OutputArgs, SelectionArgs,
};
use crate::run::{live_evidence, process_env, profile_of, registry, request_timeout};

/// What both commands open: the gates, the step environment, and how changes are confirmed.
struct Session {
    gates: Gates,
    env: Env,
}

/// The doctor arguments that open live evidence exactly as `preflight` would with the same flags.
fn doctor_args(args: &ApplyArgs) -> DoctorArgs {
    DoctorArgs {
        for_setup: true,
        output: OutputArgs {
            format: Format::Table,
            json: None,
            junit: None,
            fail_on: FailOnArg::Fail,
            verbose: false,
            summary: None,
            // Gates judge the raw verdicts: a waiver accepts a finding in reports, never readiness.
            waivers: None,
            no_waivers: true,
            metrics: None,
        },
        selection: SelectionArgs {
            only: Vec::new(),
            skip: Vec::new(),
            jobs: 8,
            timeout: args.timeout,
            profile: args.profile,
        },
        config: args.config.clone(),
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        host_root: args.host_root.clone().filter(|_| args.host_facts.is_none()),
        host_facts: args.host_facts.clone(),
        from: None,
        record: None,
    }
}

async fn open(args: &ApplyArgs, plan_dir: PathBuf) -> Result<Session, StartError> {
    let env_file = match &args.config.env_file {
        Some(p) => Some((p.display().to_string(), parse_env_file(p)?)),
        None => None,
    };
    let config = Arc::new(ResolvedConfig::resolve(&ConfigInputs {
        flags: args.config.to_map(),
        env: process_env(),
        env_file,
    }));
    let doctor = Arc::new(doctor_args(args));
    // Opened once here so a bad flag (an unreadable --ca-file) stops the tool before any step.
    live_evidence(&doctor, None).await?;
    let fresh: FreshEvidence = Arc::new(move || {
        let doctor = doctor.clone();
        Box::pin(async move {
            live_evidence(&doctor, None)
                .await
                .map(|(evidence, _, _)| evidence)
                .map_err(|e| e.0)
        })
    });
    let timeout = request_timeout(args.timeout);
    let kube = LiveKube::connect(
        &KubeOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            request_timeout: timeout,
        },
        mcp_doctor_checks::evidence::Journal::new(),
    )
    .await;
    let writer = match kube.client_handle() {
        Some((client, server)) => Ok(KubeWriter::new(client, server, timeout)),
        None => Err(match kube.target().await {
            Err(e) => e.to_string(),
            Ok(_) => "no client".into(),
        }),
    };
    let profile = profile_of(args.profile);
    Ok(Session {
        gates: Gates {
            registry: registry(),
            fresh,
            config: config.clone(),
            profile,
            check_timeout: Duration::from_secs(args.timeout),
        },
        env: Env {
            kube: writer,
            host_root: args.host_root.clone().unwrap_or_else(|| PathBuf::from("/")),
            plan_dir,
            config,
            profile,
            restart_runtime: args.restart_runtime,
            kubeconfig: args.kubeconfig.clone(),
        },
    })
}

/// `--yes`, `--dry-run`, or asking on a terminal; without a terminal, a refusal (exit 2).
fn confirmation(args: &ApplyArgs, mutating: bool) -> Result<Confirm, StartError> {
    if args.dry_run {
        return Ok(Confirm::DryRun);
    }
    if args.yes || !mutating {
        return Ok(Confirm::Yes);
    }
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(StartError(
            "refusing to change anything without confirmation: not on a terminal, so nobody can be asked; \
             pass --yes to apply, or --dry-run to see what would change"
                .into(),
        ));
    }
    Ok(Confirm::Ask(Box::new(|question: &str| {
        print!("{question} [y/N] ");
        // A prompt that cannot be shown or answered is a no.
        if std::io::stdout().flush().is_err() {
            return false;
        }
        let mut answer = String::new();
        match std::io::stdin().lock().read_line(&mut answer) {
            Ok(_) => matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"),
            Err(_) => false,
        }
    })))
}

pub async fn install(args: InstallArgs) -> Result<u8, StartError> {
    let plan: Plan = plan::read(&args.plan, registry()).map_err(StartError)?;
    let mutating = plan.steps.iter().any(|s| s.step.mutating());
    let confirm = confirmation(&args.apply, mutating)?;
    let plan_dir = args
        .plan
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    let session = open(&args.apply, plan_dir.clone()).await?;
    if let Some(d) = &plan.description {
        println!("{d}");
    }
    let mut stdout = std::io::stdout();
    let mut executor = Executor {
        gates: &session.gates,
        env: &session.env,
        confirm,
        out: &mut stdout,
    };
    let outcome = executor.run(&plan, &args.plan.display().to_string()).await;
    if outcome.journal.dry_run {
        // A dry run writes nothing, not even its journal: the output above is the whole record.
        return Ok(if outcome.completed() { 0 } else { 1 });
    }
    let stem = args
        .plan
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "plan".into());
    match outcome.journal.write(&plan_dir, &stem) {
        Ok(path) => eprintln!("mcp-doctor: run journal written to {}", path.display()),
        Err(e) => eprintln!(
            "mcp-doctor: could not write the run journal in {}: {e}",
            plan_dir.display()
        ),
    }
    Ok(if outcome.completed() { 0 } else { 1 })
}

pub async fn fix(args: FixArgs) -> Result<u8, StartError> {
    if registry().get(&args.check).is_none() {
        return Err(StartError(format!(
            "unknown check id {:?}; `mcp-doctor list` shows them all",
            args.check
        )));
    }
    let confirm = confirmation(&args.apply, true)?;
    let session = open(&args.apply, PathBuf::from(".")).await?;
    let ids = vec![args.check.clone()];
    let before = session.gates.evaluate(&ids).await;
    let Some(result) = before.iter().find(|g| g.named) else {
        return Err(StartError(format!("{} did not run", args.check)));
    };
    println!("{} {}: {}", result.id, result.status, result.message);
    match result.status {
        Status::Pass => {
            println!("nothing to fix");
            return Ok(0);
        }
        // Skipped because a check it depends on failed: that one is the thing to fix first.
        Status::Skip if result.message.starts_with("dependency ") => {
            println!("fix the dependency first: `mcp-doctor fix` it, or see its remediation");
            return Ok(1);
        }
        Status::Skip => {
            println!("nothing to fix: the check does not apply here");
            return Ok(0);
        }
        _ => {}
    }
    let Some(remediation) = &result.remediation_id else {
        println!("{} names no remediation to carry out", result.id);
        return Ok(1);
    };
    let steps =
        match mcp_doctor_installer::fix::steps_for(&args.check, remediation, &session.env).await {
            Ok(steps) => steps,
            Err(why) => {
                println!("cannot fix it automatically: {why}");
                if let Some(text) = &result.remediation {
                    println!("remediation {text}");
                }
                return Ok(1);
            }
        };
    let plan = Plan {
        path: PathBuf::from("."),
        description: None,
        steps,
    };
    println!("Plan to fix {} ({remediation}):", args.check);
    let dry = matches!(confirm, Confirm::DryRun);
    let mut stdout = std::io::stdout();
    let mut executor = Executor {
        gates: &session.gates,
        env: &session.env,
        confirm,
        out: &mut stdout,
    };
    let outcome = executor.run(&plan, &format!("fix {}", args.check)).await;
    if dry {
        return Ok(if outcome.completed() { 0 } else { 1 });
    }
    let after = session.gates.evaluate(&ids).await;
    let Some(now) = after.iter().find(|g| g.named) else {
        return Err(StartError(format!("{} did not run", args.check)));
    };
    println!("{} now {}: {}", now.id, now.status, now.message);
    Ok(if outcome.completed() && now.status == Status::Pass {
        0
    } else {
        1
    })
}

/// `bundle --install-journal FILE`: copies each run journal into the bundle's `install/` folder, after
/// checking that it is one (a bundle must not carry an arbitrary file by mistake).
pub fn bundle_journals(journals: &[PathBuf], staging: &std::path::Path) -> Result<(), StartError> {
    if journals.is_empty() {
        return Ok(());
    }
    let dir = staging.join("install");
    std::fs::create_dir_all(&dir)
        .map_err(|e| StartError(format!("cannot create {}: {e}", dir.display())))?;
    for path in journals {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StartError(format!("cannot read {}: {e}", path.display())))?;
        let schema = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["schema"].as_str().map(str::to_string));
        if schema.as_deref() != Some(mcp_doctor_installer::journal::JOURNAL_SCHEMA) {
            return Err(StartError(format!(
                "{} is not an install run journal (schema {})",
                path.display(),
                mcp_doctor_installer::journal::JOURNAL_SCHEMA
            )));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "journal.json".into());
        std::fs::write(dir.join(name), text)
            .map_err(|e| StartError(format!("cannot write the journal into the bundle: {e}")))?;
    }
    Ok(())
}
