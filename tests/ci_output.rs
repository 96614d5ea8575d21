//! The tool in a CI pipeline: waivers (waived, expired, limited to a subject, refused with a position), the
//! exit code with and without them, `--format github` and `--summary` against golden files, every format
//! in one run, completions and man pages from the clap definitions, and the kubectl plugin run through a
//! real `kubectl` against the fixture API server.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Node mcp-worker-1 is under DiskPressure: `nodes.pressure` and `node.disk-usage` fail, both about
/// node/mcp-worker-1.
const DISK_PRESSURE: &str = "k3s-disk-pressure";

fn waiver(check: &str, extra: &str, expires: &str) -> String {
    format!(
        "  - check: {check}\n{extra}    reason: disk replacement booked, INC-4711\n    owner: platform-team\n    expires: {expires}\n"
    )
}

fn write_waivers(dir: &Path, entries: &[String]) -> PathBuf {
    let path = dir.join("waivers.yaml");
    std::fs::write(&path, format!("waivers:\n{}", entries.concat())).unwrap();
    path
}

/// `analyze <fixture>` from `cwd` with `args`; (exit code, JSON report from --json, stdout, stderr).
fn analyze(cwd: &Path, scenario: &str, args: &[&str]) -> (i32, Value, String, String) {
    let json = cwd.join("report.json");
    let _ = std::fs::remove_file(&json);
    let out = mcp_doctor(cwd)
        .current_dir(cwd)
        .arg("analyze")
        .arg(fixture(scenario))
        .arg("--json")
        .arg(&json)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = std::fs::read_to_string(&json)
        .map(|t| valid_report(&t))
        .unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn check<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in the report"))
}

#[test]
fn waivers_decide_the_exit_code_and_show_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, report, _, _) = analyze(tmp.path(), DISK_PRESSURE, &[]);
    assert_eq!(code, 1, "the failing fixture fails without waivers");
    assert_eq!(check(&report, "nodes.pressure")["status"], "fail");

    let file = write_waivers(
        tmp.path(),
        &[
            waiver(
                "nodes.pressure",
                "    subject: node/mcp-worker-1\n",
                "2999-12-31",
            ),
            waiver("node.disk-usage", "", "2999-12-31"),
        ],
    );
    let junit = tmp.path().join("report.xml");
    let (code, report, table, stderr) = analyze(
        tmp.path(),
        DISK_PRESSURE,
        &[
            "--waivers",
            file.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "every failure is waived: {table}");
    assert!(stderr.contains("2 waivers from"), "announced: {stderr}");
    for id in ["nodes.pressure", "node.disk-usage"] {
        let c = check(&report, id);
        assert_eq!(c["status"], "fail", "the verdict is kept: {c}");
        assert_eq!(c["waiver"]["reason"], "disk replacement booked, INC-4711");
        assert_eq!(c["waiver"]["owner"], "platform-team");
        assert_eq!(c["waiver"]["expires"], "2999-12-31");
    }
    assert_eq!(
        check(&report, "nodes.pressure")["waiver"]["subjects"],
        serde_json::json!(["node/mcp-worker-1"])
    );
    assert_eq!(report["summary"]["waived"], 2);
    assert_eq!(report["summary"]["fail"], 2);
    assert!(
        table.contains("~ waived nodes.pressure") && table.contains("waived until 2999-12-31"),
        "{table}"
    );
    assert!(table.contains("(2 waived)"), "{table}");
    assert_valid_junit_file(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<skipped type="skip" message="waived: disk replacement booked, INC-4711"#),
        "{xml}"
    );
    assert!(
        !xml.contains("<failure"),
        "a waived failure is no JUnit failure"
    );

    // Waived results still gate when --fail-on warn is not the question: a warn fixture stays 0.
    let (code, _, _, _) = analyze(
        tmp.path(),
        DISK_PRESSURE,
        &["--waivers", file.to_str().unwrap(), "--fail-on", "warn"],
    );
    assert_eq!(code, 0);
}

#[test]
fn an_expired_waiver_stops_waiving_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_waivers(
        tmp.path(),
        &[
            waiver("nodes.pressure", "", "2999-12-31"),
            waiver("node.disk-usage", "", "2000-01-01"),
        ],
    );
    let (code, report, table, _) = analyze(
        tmp.path(),
        DISK_PRESSURE,
        &["--waivers", file.to_str().unwrap()],
    );
    assert_eq!(code, 1, "the expired waiver no longer waives: {table}");
    let usage = check(&report, "node.disk-usage");
    assert!(usage.get("waiver").is_none(), "{usage}");
    assert!(
        usage["message"]
            .as_str()
            .unwrap()
            .ends_with("[waiver expired 2000-01-01: disk replacement booked, INC-4711]"),
        "{usage}"
    );
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n.as_str().unwrap().contains(
            "waivers.yaml:6 for node.disk-usage expired on 2000-01-01 (owner platform-team)"
        )),
        "{notes:?}"
    );
    assert!(table.contains("Note: waiver"), "{table}");
    assert!(
        table.contains("Needs attention: ✖ node.disk-usage\n"),
        "{table}"
    );
}

#[test]
fn a_subject_limited_waiver_covers_only_its_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_waivers(
        tmp.path(),
        &[
            waiver(
                "nodes.pressure",
                "    subjects: [node/mcp-worker-2]\n",
                "2999-12-31",
            ),
            waiver(
                "node.disk-usage",
                "    subject: node/mcp-worker-1\n",
                "2999-12-31",
            ),
        ],
    );
    let (code, report, _, _) = analyze(
        tmp.path(),
        DISK_PRESSURE,
        &["--waivers", file.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(check(&report, "nodes.pressure").get("waiver").is_none());
    assert!(check(&report, "node.disk-usage").get("waiver").is_some());
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains(
            "for nodes.pressure not applied: it is limited to node/mcp-worker-2 but the result also names node/mcp-worker-1"
        )),
        "{notes:?}"
    );
}

#[test]
fn an_error_is_never_waived() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_waivers(tmp.path(), &[waiver("cluster.coredns", "", "2999-12-31")]);
    let (code, report, _, _) = analyze(
        tmp.path(),
        "k3s-rbac-denied",
        &["--waivers", file.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let coredns = check(&report, "cluster.coredns");
    assert_eq!(coredns["status"], "error");
    assert!(coredns.get("waiver").is_none());
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .contains("for cluster.coredns not applied: the check ended in error"),
        "{}",
        report["notes"]
    );
}

#[test]
fn the_default_file_applies_unless_no_waivers() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join(".mcp-doctor-waivers.yaml"),
        format!(
            "waivers:\n{}{}",
            waiver("nodes.pressure", "", "2999-12-31"),
            waiver("node.disk-usage", "", "2999-12-31")
        ),
    )
    .unwrap();
    let (code, _, _, stderr) = analyze(tmp.path(), DISK_PRESSURE, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 waivers from .mcp-doctor-waivers.yaml"),
        "{stderr}"
    );
    let (code, report, _, stderr) = analyze(tmp.path(), DISK_PRESSURE, &["--no-waivers"]);
    assert_eq!(code, 1);
    assert!(!stderr.contains("waivers from"), "{stderr}");
    assert!(report["summary"].get("waived").is_none());
}

#[test]
fn a_bad_waivers_file_exits_2_with_file_line_and_column_before_any_check_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "waivers:\n  - check: nodes.nope\n    reason: r\n    owner: o\n    expires: 2999-01-01\n",
            "w.yaml:2:12: unknown check id \"nodes.nope\"",
        ),
        (
            "waivers:\n  - check: nodes.pressure\n    owner: o\n    expires: 2999-01-01\n",
            "w.yaml:2:5: the entry has no `reason`",
        ),
        (
            "waivers:\n  - check: nodes.pressure\n    reason: r\n    owner: o\n",
            "w.yaml:2:5: the entry has no `expires`",
        ),
        (
            "waivers:\n  - check: nodes.pressure\n    reason: \"unterminated\n  owner: o\n",
            "w.yaml:4:3: ",
        ),
        ("waivers: [\n", "w.yaml:1:10: unclosed bracket"),
    ];
    for (text, needle) in cases {
        std::fs::write(tmp.path().join("w.yaml"), text).unwrap();
        let (code, _, _, stderr) = analyze(tmp.path(), DISK_PRESSURE, &["--waivers", "w.yaml"]);
        assert_eq!(code, 2, "{text}\n{stderr}");
        assert!(
            stderr.starts_with(&format!("mcp-doctor: waivers file {needle}")),
            "{text}\n{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line, no run: {stderr}");
    }
    let (code, _, _, stderr) = analyze(tmp.path(), DISK_PRESSURE, &["--waivers", "missing.yaml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("waivers file missing.yaml: cannot read it"),
        "{stderr}"
    );
}

#[test]
fn github_format_and_summary_match_golden_files_in_one_run_with_junit_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    // The reason holds CR, LF and `%`; the waiver's notice must carry them escaped. The expired one adds
    // a note; the disk-usage fix (multi-line, with `%` in the message) is an ::error.
    std::fs::write(
        tmp.path().join("w.yaml"),
        "waivers:\n  - check: nodes.pressure\n    subject: node/mcp-worker-1\n    reason: \"disk swap at 100%\\r\\nbooked | INC-4711\"\n    owner: platform-team\n    expires: 2999-12-31\n  - check: node.disk-usage\n    reason: old\n    owner: ops\n    expires: 2000-01-01\n",
    )
    .unwrap();
    let (junit, summary) = (tmp.path().join("r.xml"), tmp.path().join("summary.md"));
    let (code, report, stdout, _) = analyze(
        tmp.path(),
        DISK_PRESSURE,
        &[
            "--waivers",
            "w.yaml",
            "--format",
            "github",
            "--junit",
            junit.to_str().unwrap(),
            "--summary",
            summary.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_golden("github-disk-pressure.txt", &stdout);
    for line in stdout.lines() {
        assert!(
            line.starts_with("::error title=")
                || line.starts_with("::warning title=")
                || line.starts_with("::notice title=")
                || line.starts_with("mcp-doctor: "),
            "{line}"
        );
    }
    assert!(!stdout.contains('\r'), "CR escaped");
    assert_eq!(
        stdout.lines().count(),
        4,
        "one command per non-passing check, one per note, the summary: {stdout}"
    );
    assert!(
        stdout.contains("disk swap at 100%25%0D%0Abooked | INC-4711"),
        "{stdout}"
    );
    assert!(stdout.contains("5.9%25 free"), "{stdout}");
    assert!(stdout.contains("(rem.disk-pressure)%0A"), "{stdout}");
    assert!(stdout.contains("::notice title=nodes.pressure (waived)::fail: "));
    assert!(stdout.contains("::error title=node.disk-usage::"));
    assert_eq!(report["summary"]["waived"], 1);
    assert_valid_junit_file(&junit);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert_golden("summary-disk-pressure.md", &md);
    assert!(
        md.contains("disk swap at 100%<br>booked \\| INC-4711"),
        "cells escape | and newlines: {md}"
    );
}

#[test]
fn a_healthy_run_writes_only_the_summary_line_and_a_clean_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("s.md");
    let (code, _, stdout, _) = analyze(
        tmp.path(),
        "k3s-4node-healthy",
        &["--format", "github", "--summary", summary.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert!(
        stdout
            .lines()
            .all(|l| !l.starts_with("::error") && !l.starts_with("::warning")),
        "{stdout}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("## mcp-doctor setup: nothing needs attention\n"),
        "{md}"
    );
}

/// The subcommands as `--help` lists them.
fn subcommands() -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let out = mcp_doctor(tmp.path()).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let names: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command's line, not the wrapped rest of its description.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 12, "{names:?}");
    names
}

#[test]
fn completions_for_three_shells_name_every_subcommand_and_parse() {
    let tmp = tempfile::tempdir().unwrap();
    let names = subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let out = mcp_doctor(tmp.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} lacks {name}");
        }
        assert!(script.contains("waivers"), "{shell} lacks --waivers");
        let file = tmp.path().join(format!("mcp-doctor.{shell}"));
        std::fs::write(&file, &script).unwrap();
        // Each shell's own parser checks the syntax without running the script.
        let check: &[&str] = match shell {
            "fish" => &["--no-execute"],
            _ => &["-n"],
        };
        let Some([bin]) =
            mcp_doctor_test_peers::require("completions_for_three_shells", [shell], None)
        else {
            continue;
        };
        let status = std::process::Command::new(bin)
            .args(check)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{shell} rejects its completion script: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    let out = mcp_doctor(tmp.path())
        .args(["completions", "powershell"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_pages_render() {
    let tmp = tempfile::tempdir().unwrap();
    let names = subcommands();
    let page = mcp_doctor(tmp.path()).arg("man").output().unwrap();
    assert_eq!(page.status.code(), Some(0));
    let roff = String::from_utf8(page.stdout).unwrap();
    assert!(roff.contains(".TH mcp-doctor 1"), "{roff}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH SUBCOMMANDS",
    ] {
        assert!(roff.contains(section), "lacks {section}");
    }
    for name in &names {
        assert!(
            roff.contains(&format!("mcp\\-doctor\\-{}", name.replace('-', "\\-")))
                || roff.contains(&format!("mcp-doctor-{name}")),
            "man page lacks {name}"
        );
    }
    let doctor = mcp_doctor(tmp.path())
        .args(["man", "doctor"])
        .output()
        .unwrap();
    let doctor = String::from_utf8(doctor.stdout).unwrap();
    assert!(doctor.contains(".TH mcp-doctor-doctor 1"), "{doctor}");
    assert!(doctor.contains("waivers"), "{doctor}");
    let unknown = mcp_doctor(tmp.path())
        .args(["man", "nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    // man(1) itself formats it, when installed.
    let Some([man]) = mcp_doctor_test_peers::require("the_man_pages_render", ["man"], None) else {
        return;
    };
    let file = tmp.path().join("mcp-doctor.1");
    std::fs::write(&file, &roff).unwrap();
    let shown = std::process::Command::new(man)
        .arg("-l")
        .arg(&file)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
    assert!(text.contains("mcp-doctor-doctor(1)"), "{text}");
    assert!(
        !String::from_utf8_lossy(&shown.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
}

/// A directory holding the binary under its krew name, `kubectl-mcp_doctor`.
fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        assert_cmd::cargo::cargo_bin("mcp-doctor"),
        dir.path().join("kubectl-mcp_doctor"),
    )
    .unwrap();
    dir
}

#[test]
fn named_kubectl_mcp_doctor_the_help_says_kubectl_mcp_doctor() {
    let plugins = plugin_dir();
    let out = std::process::Command::new(plugins.path().join("kubectl-mcp_doctor"))
        .args(["doctor", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Usage: kubectl mcp-doctor doctor [OPTIONS]"),
        "{help}"
    );
    let out = std::process::Command::new(plugins.path().join("kubectl-mcp_doctor"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("After install:   kubectl mcp-doctor doctor"),
        "{help}"
    );
}

/// A kubeconfig whose only context points at a loopback port nothing listens on.
fn dead_kubeconfig(dir: &Path) -> (PathBuf, String) {
    let port = mcp_doctor_test_peers::free_port();
    let server = format!("https://127.0.0.1:{port}");
    let path = dir.join("dead.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\nusers:\n- name: dead-user\n  user:\n    token: nothing\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    user: dead-user\ncurrent-context: dead\n"
        ),
    )
    .unwrap();
    (path, server)
}

#[test]
fn kubectl_runs_the_plugin_with_kubeconfig_context_and_merged_kubeconfig() {
    let Some([kubectl]) =
        mcp_doctor_test_peers::require("kubectl_runs_the_plugin", ["kubectl"], None)
    else {
        return;
    };
    let api = fixture_apiserver::FixtureServer::start(
        &fixture("k3s-4node-healthy"),
        fixture_apiserver::ServerOptions::default(),
    )
    .unwrap();
    let plugins = plugin_dir();
    let home = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        plugins.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // kubectl finds `kubectl-mcp_doctor` on PATH and runs it as `kubectl mcp-doctor`.
    let kubectl_cmd = |kubeconfig_env: Option<&str>| {
        let mut cmd = std::process::Command::new(&kubectl);
        cmd.env_clear()
            .env("PATH", &path)
            .env("HOME", home.path())
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env("MCP_DOCTOR_SYSTEM_DNS", "none")
            .env("MCP_DOCTOR_HOSTS_FILE", "/dev/null")
            .env("MCP_DOCTOR_HTTP_PROBE", "off")
            .env("MCP_DOCTOR_TLS_PROBE", "false");
        if let Some(k) = kubeconfig_env {
            cmd.env("KUBECONFIG", k);
        }
        cmd
    };
    let reachable = |out: std::process::Output| -> (i32, Value) {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            out.status.code().unwrap_or(-1),
            check(&report, "cluster.api-reachable").clone(),
        )
    };
    let doctor = [
        "mcp-doctor",
        "doctor",
        "--only",
        "cluster.api-reachable",
        "--format",
        "json",
    ];

    // --kubeconfig, as kubectl users pass it.
    let out = kubectl_cmd(None)
        .args(doctor)
        .arg("--kubeconfig")
        .arg(api.kubeconfig_path())
        .output()
        .unwrap();
    let (code, c) = reachable(out);
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c}");

    // KUBECONFIG naming a missing file, a kubeconfig whose current context is dead, then the fixture's:
    // kubectl skips the missing file and merges the rest (the first current-context wins), so both
    // kubectl and the plugin use the dead context unless --context picks the fixture's.
    let tmp = tempfile::tempdir().unwrap();
    let (dead, dead_server) = dead_kubeconfig(tmp.path());
    let merged = format!(
        "{}:{}:{}",
        tmp.path().join("missing.yaml").display(),
        dead.display(),
        api.kubeconfig_path().display()
    );
    let server_per_kubectl = |context: Option<&str>| {
        let mut cmd = kubectl_cmd(Some(&merged));
        cmd.args([
            "config",
            "view",
            "--minify",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ]);
        if let Some(c) = context {
            cmd.args(["--context", c]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(server_per_kubectl(None), dead_server);
    assert_eq!(server_per_kubectl(Some(api.context())), api.url());

    let out = kubectl_cmd(Some(&merged)).args(doctor).output().unwrap();
    let (code, c) = reachable(out);
    assert_eq!(code, 1, "the dead context is unreachable: {c}");
    assert_ne!(c["status"], "pass");
    assert!(
        c.to_string().contains(&dead_server),
        "the plugin used the context kubectl uses: {c}"
    );

    // A live run gates on the same waivers: the known-dead context is waived, so the plugin exits 0.
    let file = write_waivers(
        tmp.path(),
        &[waiver("cluster.api-reachable", "", "2999-12-31")],
    );
    let out = kubectl_cmd(Some(&merged))
        .args(doctor)
        .arg("--waivers")
        .arg(&file)
        .output()
        .unwrap();
    let (code, c) = reachable(out);
    assert_eq!(code, 0, "{c}");
    assert_eq!(c["status"], "fail");
    assert_eq!(c["waiver"]["owner"], "platform-team");

    let out = kubectl_cmd(Some(&merged))
        .args(doctor)
        .args(["--context", api.context()])
        .output()
        .unwrap();
    let (code, c) = reachable(out);
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c}");
}

#[test]
fn the_krew_manifest_template_is_a_complete_plugin_manifest() {
    let text = std::fs::read_to_string(workspace().join("deploy/krew/mcp-doctor.yaml")).unwrap();
    for placeholder in [
        "{{REPO}}",
        "{{VERSION}}",
        "{{SHA256_LINUX_AMD64}}",
        "{{SHA256_LINUX_ARM64}}",
    ] {
        assert!(text.contains(placeholder), "lacks {placeholder}");
    }
    let filled = text
        .replace("{{REPO}}", "example/mcp-doctor")
        .replace("{{VERSION}}", "0.1.0")
        .replace("{{SHA256_LINUX_AMD64}}", &"a".repeat(64))
        .replace("{{SHA256_LINUX_ARM64}}", &"b".repeat(64));
    let doc: Value = serde_saphyr_value(&filled);
    assert_eq!(
        doc["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(doc["kind"], "Plugin");
    assert_eq!(doc["metadata"]["name"], "mcp-doctor");
    assert_eq!(doc["spec"]["version"], "v0.1.0");
    let platforms = doc["spec"]["platforms"].as_array().unwrap();
    assert!(!platforms.is_empty());
    for p in platforms {
        assert!(p["uri"].as_str().unwrap().starts_with("https://"), "{p}");
        assert_eq!(p["sha256"].as_str().unwrap().len(), 64, "{p}");
        // krew links `bin` as kubectl-mcp_doctor, the name the binary recognises.
        assert_eq!(p["bin"], "mcp-doctor", "{p}");
        assert!(
            p["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["from"] == "mcp-doctor"),
            "{p}"
        );
        assert!(p["selector"]["matchLabels"]["os"].is_string(), "{p}");
    }
    assert!(doc["spec"]["shortDescription"].as_str().unwrap().len() <= 50);
}

/// YAML parsed into a JSON value (through serde, as kube reads kubeconfigs).
fn serde_saphyr_value(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}
