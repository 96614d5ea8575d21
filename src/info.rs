//! `list`, `explain`, `config` and `host-facts`: commands that read the registry, the catalog, the
//! configuration or this node, and run no checks.

use comfy_table::{ContentArrangement, Table, presets};
use mcp_doctor_checks::check::doc_text;
use mcp_doctor_checks::evidence::live_host;
use mcp_doctor_checks::settings::{ConfigInputs, ResolvedConfig, parse_env_file};
use serde_json::json;

use crate::StartError;
use crate::cli::{ConfigArgs, ExplainArgs, HostFactsArgs, ListArgs, ListFormat};
use crate::run::registry;

pub fn list(args: &ListArgs) -> Result<u8, StartError> {
    let metas: Vec<_> = registry().metas().collect();
    match args.format {
        ListFormat::Json => {
            let rows: Vec<_> = metas
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id,
                        "title": m.title,
                        "category": m.category,
                        "modes": m.modes.as_str(),
                        "depends_on": m.depends_on,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        ListFormat::Table => {
            let mut t = Table::new();
            t.load_style(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
            t.set_header(vec!["ID", "MODES", "TITLE", "DEPENDS ON"]);
            for m in &metas {
                t.add_row(vec![
                    m.id.to_string(),
                    m.modes.as_str().into(),
                    m.title.into(),
                    m.depends_on.join(", "),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(0)
}

pub fn explain(args: &ExplainArgs) -> Result<u8, StartError> {
    if let Some(check) = registry().get(&args.id) {
        let m = check.meta();
        println!("{} — {}", m.id, m.title);
        println!(
            "category: {}   modes: {}   depends on: {}",
            m.category,
            m.modes.as_str(),
            if m.depends_on.is_empty() {
                "nothing".to_string()
            } else {
                m.depends_on.join(", ")
            }
        );
        println!("\n{}", doc_text(m.doc));
        return Ok(0);
    }
    if let Some(rem) = mcp_doctor_remediations::find(&args.id) {
        println!("{}", rem.explain().trim_end());
        return Ok(0);
    }
    if let Some((kind, doc)) = mcp_doctor_installer::steps::docs()
        .into_iter()
        .find(|(kind, _)| *kind == args.id)
    {
        println!("installer step {kind}\n\n{}", doc.trim_end());
        return Ok(0);
    }
    Err(StartError(format!(
        "no check, remediation or installer step has id {:?}; `mcp-doctor list` shows the checks",
        args.id
    )))
}

pub fn config(args: &ConfigArgs) -> Result<u8, StartError> {
    let env_file = match &args.config.env_file {
        Some(p) => Some((p.display().to_string(), parse_env_file(p)?)),
        None => None,
    };
    let env = mcp_doctor_checks::evidence::bundle::known_env_names()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.to_string(), v)))
        .collect();
    let config = ResolvedConfig::resolve(&ConfigInputs {
        flags: args.config.to_map(),
        env,
        env_file,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&config_json(&config))?);
        return Ok(0);
    }
    println!("{}", config_table(&config, false));
    Ok(0)
}

/// The resolved configuration as JSON (`config --json`, a bundle's `config.json`): every setting with where
/// it came from, secrets as `<set>`.
pub fn config_json(config: &ResolvedConfig) -> serde_json::Value {
    let hosts = config.public_hosts();
    let settings: serde_json::Map<_, _> = config
        .entries()
        .map(|(d, s)| {
            let v = s.map(
                |s| json!({"value": shown_value(d.secret, &s.value), "source": s.source.to_string()}),
            );
            (d.key.to_string(), v.unwrap_or(serde_json::Value::Null))
        })
        .collect();
    let host = |h: &Option<mcp_doctor_checks::settings::Setting>| {
        h.as_ref()
            .map(|s| json!({"value": s.value, "source": s.source.to_string()}))
    };
    json!({
        "public_hosts": {"platform": host(&hosts.platform), "registry": host(&hosts.registry), "mcp": host(&hosts.mcp)},
        "settings": settings,
    })
}

pub async fn host_facts(args: &HostFactsArgs) -> Result<u8, StartError> {
    let mut facts = live_host::collect(&args.host_root).await?;
    if let Some(name) = args.node_name.as_deref().filter(|n| !n.is_empty()) {
        facts.node = name.to_string();
    }
    let text = serde_json::to_string_pretty(&facts)? + "\n";
    match &args.output {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| StartError(format!("cannot write {}: {e}", p.display())))?,
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| StartError(format!("cannot write the facts: {e}")))?;
        }
    }
    if args.hold {
        hold().await?;
    }
    Ok(0)
}

/// Waits for SIGTERM or SIGINT. As PID 1 of a container the process must handle SIGTERM itself: the kernel
/// ignores a signal PID 1 has no handler for, and the pod would wait out its grace period.
async fn hold() -> Result<(), StartError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| StartError(format!("cannot wait for SIGTERM: {e}")))?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// The resolved configuration as a table (SETTING, VALUE, FROM): `mcp-doctor config`, and under the report
/// with `--verbose`. `only_set` leaves out the settings nothing gave a value. Secrets show as `<set>`.
pub fn config_table(config: &ResolvedConfig, only_set: bool) -> Table {
    let hosts = config.public_hosts();
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec!["SETTING", "VALUE", "FROM"]);
    for (name, h) in [
        ("platform host", &hosts.platform),
        ("registry host", &hosts.registry),
        ("mcp host", &hosts.mcp),
    ] {
        match h {
            Some(s) => t.add_row(vec![
                name.to_string(),
                s.value.clone(),
                s.source.to_string(),
            ]),
            None => t.add_row(vec![
                name.to_string(),
                "(unset)".into(),
                "set MCP_PLATFORM_DOMAIN".into(),
            ]),
        };
    }
    for (d, s) in config.entries() {
        // Secrets are named by their variable: a secret on a command line leaks into `ps` and shell history.
        let flag_or_env = match d.flag {
            Some(flag) if !d.secret => flag.to_string(),
            _ => d.env.first().copied().unwrap_or("").to_string(),
        };
        match s {
            Some(s) => t.add_row(vec![
                flag_or_env,
                shown_value(d.secret, &s.value),
                s.source.to_string(),
            ]),
            None if only_set => continue,
            None => t.add_row(vec![flag_or_env, "(unset)".into(), String::new()]),
        };
    }
    t
}

/// A setting's value for display: secrets as `<set>`, never in clear.
fn shown_value(secret: bool, value: &str) -> String {
    if secret {
        "<set>".to_string()
    } else {
        value.to_string()
    }
}
