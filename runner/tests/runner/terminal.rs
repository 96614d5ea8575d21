//! The human report as an operator sees it: golden files at 80 and 120 columns and piped, one root cause
//! for two checks that share a fix, and every command of every remediation in the catalog printed
//! byte-for-byte, never wrapped.

use mcp_doctor_checks::Outcome;
use mcp_doctor_remediations::{Distribution, Vars};
use mcp_doctor_runner::reporters::table;
use mcp_doctor_runner::{Report, RunOptions, TableOptions};

use crate::common::{assert_golden, check, run_checks};

fn disk_pressure_vars() -> Vars {
    Vars::from([
        ("node", "mcp-worker-1".to_string()),
        ("condition", "DiskPressure=True".to_string()),
        ("path", "/var/lib/rancher".to_string()),
    ])
}

/// The disk-pressure demo in miniature: two checks that see one cause on one node, a long pass message, a
/// warn without a fix and a skip.
async fn disk_pressure_report() -> Report {
    let k3s = Some(Distribution::K3s);
    let vars = disk_pressure_vars();
    let checks = [
        check(
            "config.platform-mode",
            Outcome::pass(
                "platform mode public (MCP_PLATFORM_MODE=public): browser login via Google \
                 (GOOGLE_CLIENT_ID=1234.apps.googleusercontent.com), admins from \
                 MCP_PLATFORM_ADMIN_EMAIL=admin@example.com",
            ),
        )
        .leak(),
        check(
            "nodes.pressure",
            Outcome::fail(
                "node mcp-worker-1 has DiskPressure=True (KubeletHasDiskPressure: kubelet has disk \
                 pressure) and taint node.kubernetes.io/disk-pressure:NoSchedule",
            )
            .remediate("rem.disk-pressure", k3s, &vars)
            .subject("node/mcp-worker-1"),
        )
        .leak(),
        check(
            "nodes.schedulable",
            Outcome::warn("node mcp-cp-1 is cordoned (SchedulingDisabled)"),
        )
        .leak(),
        check("config.strict-prod", Outcome::skip("--strict-prod is not set")).leak(),
        check(
            "node.disk-usage",
            Outcome::fail(
                "node mcp-worker-1: /var/lib/rancher has 5.9% free (5.8 GiB of 96.8 GiB), below the \
                 kubelet's imagefs.available<15% eviction threshold: the kubelet sets DiskPressure",
            )
            .remediate("rem.disk-pressure", k3s, &vars)
            .subject("node/mcp-worker-1"),
        )
        .leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    report
}

fn at(width: Option<u16>) -> TableOptions {
    TableOptions {
        color: false,
        width,
        verbose: false,
    }
}

/// Durations and start times vary; the human report shows neither, so goldens are stable as rendered.
#[tokio::test(start_paused = true)]
async fn goldens_at_80_and_120_columns_and_piped() {
    let report = disk_pressure_report().await;
    assert_golden(
        "disk-pressure.80.txt",
        &table::render(&report, &at(Some(80))),
    );
    assert_golden(
        "disk-pressure.120.txt",
        &table::render(&report, &at(Some(120))),
    );
    assert_golden(
        "disk-pressure.piped.txt",
        &table::render(&report, &at(None)),
    );
}

#[tokio::test(start_paused = true)]
async fn one_cause_seen_by_two_checks_prints_its_fix_once() {
    let report = disk_pressure_report().await;
    assert_eq!(report.root_causes.len(), 1);
    let cause = &report.root_causes[0];
    assert_eq!(cause.remediation, "rem.disk-pressure");
    assert_eq!(cause.subjects, ["node/mcp-worker-1"]);
    assert_eq!(cause.checks, ["nodes.pressure", "node.disk-usage"]);
    for width in [Some(80), Some(120), None] {
        let out = table::render(&report, &at(width));
        assert_eq!(out.matches("(rem.disk-pressure)").count(), 1, "{out}");
        assert_eq!(
            out.matches("kubectl describe node mcp-worker-1").count(),
            1,
            "{out}"
        );
        assert!(
            out.contains(
                "about node/mcp-worker-1; seen by 2 checks: nodes.pressure, node.disk-usage"
            ),
            "{out}"
        );
        assert!(out.contains("; 1 root cause\n"), "{out}");
        // Both checks point at the cause by number.
        assert_eq!(out.matches("  [1] node mcp-worker-1").count(), 2, "{out}");
    }
}

#[tokio::test(start_paused = true)]
async fn check_lines_fit_the_terminal_and_piped_lines_carry_no_padding() {
    let report = disk_pressure_report().await;
    for width in [80usize, 120] {
        let out = table::render(&report, &at(Some(width as u16)));
        let checks_section = out.split("\nRoot causes").next().unwrap();
        for line in checks_section.lines() {
            assert!(
                console::measure_text_width(line) <= width,
                "wider than {width}: {line}"
            );
        }
        assert!(checks_section.contains('…'), "long messages are cut: {out}");
    }
    let piped = table::render(&report, &at(None));
    assert!(!piped.contains('…'), "piped output keeps messages whole");
    for line in piped.lines() {
        assert_eq!(line, line.trim_end(), "trailing padding: {line:?}");
    }
    let longest_id = "config.platform-mode".len();
    let status_line = piped
        .lines()
        .find(|l| l.contains("config.strict-prod"))
        .unwrap();
    assert_eq!(
        status_line,
        format!(
            "- skip  {:<longest_id$}  --strict-prod is not set",
            "config.strict-prod"
        )
    );
}

/// Every indented line of every remediation (each distribution's text) and every backticked command in
/// its prose appears byte-for-byte in an 80-column report: commands are copyable as printed.
#[tokio::test(start_paused = true)]
async fn every_command_of_every_remediation_is_printed_verbatim() {
    let vars = disk_pressure_vars();
    let mut rendered = Vec::new();
    for def in mcp_doctor_remediations::all() {
        rendered.push(def.render(None, &vars));
        for (distribution, _) in def.per_distribution {
            rendered.push(def.render(Some(*distribution), &vars));
        }
    }
    let checks: Vec<_> = rendered
        .iter()
        .enumerate()
        .map(|(i, fix)| {
            let id: &'static str = Box::leak(format!("fix.case-{i}").into_boxed_str());
            let mut outcome = Outcome::fail(format!("case {i}"));
            outcome.remediation = Some(fix.clone());
            check(id, outcome).leak()
        })
        .collect();
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(report.root_causes.len(), rendered.len());
    let out = table::render(&report, &at(Some(80)));
    let printed: Vec<&str> = out.lines().collect();
    let mut commands = 0;
    for fix in &rendered {
        for line in fix.text.lines() {
            if line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
                commands += 1;
                assert!(
                    printed.iter().any(|p| p.ends_with(line)),
                    "{}: command line not printed whole: {line:?}",
                    fix.id
                );
            }
            for span in line.split('`').skip(1).step_by(2) {
                assert!(
                    printed.iter().any(|p| p.contains(&format!("`{span}`"))),
                    "{}: inline command broken: `{span}`",
                    fix.id
                );
            }
        }
    }
    assert!(
        commands > 50,
        "the catalog has many commands; found {commands}"
    );
}

/// Checks share a root cause when they point to the same remediation about the same subjects (in any
/// order), or, naming no subject, render the same remediation; anything else stays apart.
#[tokio::test(start_paused = true)]
async fn root_causes_group_by_remediation_and_subjects() {
    let vars = disk_pressure_vars();
    let other_node = Vars::from([("node", "mcp-worker-2".to_string())]);
    let fix = |o: Outcome, v: &Vars| o.remediate("rem.disk-pressure", None, v);
    let checks = [
        check(
            "a.one",
            fix(Outcome::fail("x"), &vars).subjects(["node/mcp-worker-1", "node/b"]),
        )
        .leak(),
        check(
            "a.two",
            fix(Outcome::warn("x"), &vars).subjects(["node/b", "node/mcp-worker-1"]),
        )
        .leak(),
        check(
            "a.three",
            fix(Outcome::fail("x"), &other_node).subject("node/mcp-worker-2"),
        )
        .leak(),
        check("b.one", fix(Outcome::error("x"), &vars)).leak(),
        check("b.two", fix(Outcome::fail("x"), &vars)).leak(),
        check("b.three", fix(Outcome::fail("x"), &other_node)).leak(),
        check("c.pass", fix(Outcome::pass("x"), &vars)).leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    let causes: Vec<(Vec<String>, Vec<String>, String)> = report
        .root_causes
        .iter()
        .map(|c| (c.checks.clone(), c.subjects.clone(), c.status.to_string()))
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        causes,
        vec![
            (
                strings(&["a.one", "a.two"]),
                strings(&["node/mcp-worker-1", "node/b"]),
                "fail".into()
            ),
            (
                strings(&["a.three"]),
                strings(&["node/mcp-worker-2"]),
                "fail".into()
            ),
            (strings(&["b.one", "b.two"]), vec![], "error".into()),
            (strings(&["b.three"]), vec![], "fail".into()),
        ]
    );
}

/// A cause about many subjects wraps its "about …; seen by …" line like prose, within the width.
#[tokio::test(start_paused = true)]
async fn a_long_subject_list_wraps_within_the_width() {
    let vars = disk_pressure_vars();
    let subjects: Vec<String> = (1..=12).map(|i| format!("node/mcp-worker-{i}")).collect();
    let checks = [check(
        "nodes.pressure",
        Outcome::fail("many nodes")
            .remediate("rem.disk-pressure", None, &vars)
            .subjects(subjects.clone()),
    )
    .leak()];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    let out = table::render(&report, &at(Some(80)));
    let about: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.contains("about node/mcp-worker-1,"))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(about.len() > 1, "wrapped: {out}");
    for line in &about {
        assert!(console::measure_text_width(line) <= 80, "{line}");
    }
    for subject in &subjects {
        assert!(out.contains(subject.as_str()), "{subject} missing: {out}");
    }
}
