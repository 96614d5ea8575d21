//! `mcp-doctor diff A B`: the verdicts that changed between two bundles (or recordings, or fixtures), and
//! under each the evidence that changed beneath it. Both are replayed with this build's checks; each changed
//! check is then replayed alone on both through [`Tracked`] and [`TrackedProbes`], so the evidence listed is
//! exactly what it read: objects, node facts, and the DNS, HTTP and TLS answers it was given.

use std::fmt::Write;
use std::sync::Arc;

use mcp_doctor_checks::evidence::compare::{
    self, HostChange, ObjectChange, ProbeChange, Reads, Tracked, TrackedProbes,
};
use mcp_doctor_checks::evidence::kinds::{self, ResourceKind};
use mcp_doctor_checks::evidence::{DnsSource, Evidence, HostSource, HttpSource, TlsSource};
use mcp_doctor_runner::Report;
use serde::Serialize;
use serde_json::json;

use crate::StartError;
use crate::cli::{DiffArgs, ListFormat};
use crate::run::{Replay, open_bundle};

pub const DIFF_SCHEMA: &str = "mcp-doctor.diff/v1";

#[derive(Serialize)]
struct Verdict {
    status: String,
    message: String,
}

#[derive(Serialize)]
struct Changed {
    id: String,
    title: String,
    from: Verdict,
    to: Verdict,
    objects: Vec<ObjectChange>,
    host: Vec<HostChange>,
    probes: Vec<ProbeChange>,
}

/// Exit 0 when no verdict changed, 1 when one did (as diff(1) does).
pub async fn diff(args: DiffArgs) -> Result<u8, StartError> {
    let (root_a, _keep_a) = open_bundle(&args.a)?;
    let (root_b, _keep_b) = open_bundle(&args.b)?;
    let (a, b) = (Replay::open(&root_a, None)?, Replay::open(&root_b, None)?);
    let report_a = a.run(&a.evidence()?, None, false).await?;
    let report_b = b.run(&b.evidence()?, None, false).await?;
    let mut changed = Vec::new();
    for x in &report_a.checks {
        let Some(y) = report_b.checks.iter().find(|c| c.id == x.id) else {
            continue;
        };
        if x.status == y.status {
            continue;
        }
        let (reads_a, answers_a) = reads_of(&a, &x.id).await?;
        let (reads_b, answers_b) = reads_of(&b, &x.id).await?;
        let reads = merge(reads_a, reads_b);
        let objects = reads
            .kinds
            .iter()
            .filter_map(|plural| kinds::ALL.iter().find(|k| k.plural == *plural))
            .flat_map(|kind: &&ResourceKind| compare::object_changes(&root_a, &root_b, kind))
            .collect();
        let host = if reads.host {
            let facts = |e: Evidence| async move { e.host.nodes().await.ok() };
            match (facts(a.evidence()?).await, facts(b.evidence()?).await) {
                (Some(fa), Some(fb)) => compare::host_changes(&fa, &fb),
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        changed.push(Changed {
            id: x.id.clone(),
            title: x.title.clone(),
            from: verdict(&report_a, &x.id),
            to: verdict(&report_b, &x.id),
            objects,
            host,
            probes: compare::probe_changes(&answers_a, &answers_b),
        });
    }
    let text = match args.format {
        ListFormat::Json => {
            serde_json::to_string_pretty(&json!({
                "schema": DIFF_SCHEMA,
                "a": args.a.display().to_string(),
                "b": args.b.display().to_string(),
                "changed": changed,
            }))? + "\n"
        }
        ListFormat::Table => render(&args, &changed),
    };
    print!("{text}");
    Ok(u8::from(!changed.is_empty()))
}

fn verdict(report: &Report, id: &str) -> Verdict {
    let c = report.checks.iter().find(|c| c.id == id);
    Verdict {
        status: c.map(|c| c.status.to_string()).unwrap_or_default(),
        message: c.map(|c| c.message.clone()).unwrap_or_default(),
    }
}

/// What check `id` reads when replayed alone on the bundle, and the probe answers it is given.
async fn reads_of(
    replay: &Replay,
    id: &str,
) -> Result<(Reads, std::collections::BTreeMap<String, serde_json::Value>), StartError> {
    let evidence = replay.evidence()?;
    let tracked = Tracked::new(evidence.kube.clone(), evidence.host.clone());
    let probes = TrackedProbes::new(
        evidence.dns.clone(),
        evidence.http.clone(),
        evidence.tls.clone(),
    );
    let watched = Evidence {
        kube: tracked.clone(),
        host: tracked.clone() as Arc<dyn HostSource>,
        dns: probes.clone() as Arc<dyn DnsSource>,
        http: probes.clone() as Arc<dyn HttpSource>,
        tls: probes.clone() as Arc<dyn TlsSource>,
        ..evidence
    };
    replay.run(&watched, Some(id), false).await?;
    Ok((tracked.reads(), probes.answers()))
}

fn merge(mut a: Reads, b: Reads) -> Reads {
    a.kinds.extend(b.kinds);
    a.host |= b.host;
    a
}

fn render(args: &DiffArgs, changed: &[Changed]) -> String {
    let mut out = String::new();
    if changed.is_empty() {
        let _ = writeln!(
            out,
            "No verdict changed between {} and {}.",
            args.a.display(),
            args.b.display()
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} verdict(s) changed from {} to {}:",
        changed.len(),
        args.a.display(),
        args.b.display()
    );
    for c in changed {
        let _ = writeln!(
            out,
            "\n{}  {} -> {}  ({})\n  was: {}\n  now: {}",
            c.id, c.from.status, c.to.status, c.title, c.from.message, c.to.message
        );
        if c.objects.is_empty() && c.host.is_empty() && c.probes.is_empty() {
            let _ = writeln!(
                out,
                "  no change in the objects, node facts or probe answers it reads"
            );
        }
        for o in &c.objects {
            let name = match &o.namespace {
                Some(ns) => format!("{ns}/{}", o.name),
                None => o.name.clone(),
            };
            let _ = writeln!(out, "  {} {} {name}", o.change, o.kind);
            for f in &o.fields {
                let _ = writeln!(out, "      {f}");
            }
        }
        for p in &c.probes {
            let _ = writeln!(out, "  {}", p.probe);
            for f in &p.fields {
                let _ = writeln!(out, "      {f}");
            }
        }
        for h in &c.host {
            let _ = writeln!(out, "  node {}: {}", h.node, h.what);
            for l in &h.removed {
                let _ = writeln!(out, "      - {l}");
            }
            for l in &h.added {
                let _ = writeln!(out, "      + {l}");
            }
        }
    }
    out
}
