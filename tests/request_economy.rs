//! Request economy of the default `doctor` run, from the fixture API server's request log, over every
//! scenario, with pages of two items so that every list of more than two objects is paginated:
//!
//! - only reads: `GET`s, plus `POST`s of SelfSubjectAccessReviews;
//! - each (kind, scope) listed once: exactly one first page per list path, each continue token followed
//!   once, and as many pages as the list's object count needs (so no list is repeated or cut short);
//! - no object fetched twice.

mod common;

use std::collections::BTreeMap;

use common::*;
use fixture_apiserver::{FixtureServer, RequestLogEntry, ServerOptions};
use mcp_doctor_checks::evidence::{ResourceKind, Scope};
use mcp_doctor_checks::facts::LISTED_IN_A_MESSAGE;
use serde_json::Value;

const PAGE: usize = 2;
/// kubectl's page size, for the generated cluster.
const BIG_PAGE: usize = 500;
const ACCESS_REVIEWS: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// (list path, objects listed) of every list the recording holds.
fn recorded_lists(record: &std::path::Path) -> BTreeMap<String, usize> {
    let mut lists = BTreeMap::new();
    let base = record.join("evidence/kube/list");
    let Ok(resources) = std::fs::read_dir(&base) else {
        return lists;
    };
    for resource in resources.flatten() {
        let key = resource.file_name().to_string_lossy().into_owned();
        let kind = ResourceKind::by_key(&key).unwrap_or_else(|| panic!("unknown resource {key}"));
        for entry in std::fs::read_dir(resource.path()).unwrap().flatten() {
            let entry_json: Value =
                serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
            let Some(count) = entry_json["ok"]["count"].as_u64() else {
                continue;
            };
            let stem = entry
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string();
            lists.insert(
                kind.list_path(&Scope::from_file_stem(&stem)),
                count as usize,
            );
        }
    }
    lists
}

/// Runs `doctor` live on the scenario in `dir` with `--record`; the recording and the JSON report.
fn doctor_recorded(
    dir: &std::path::Path,
    kubeconfig: &std::path::Path,
    tmp: &std::path::Path,
) -> (std::path::PathBuf, Value) {
    let record = tmp.join("recording");
    let out = live_on_fixture(tmp, "doctor", kubeconfig, dir)
        .arg("--record")
        .arg(&record)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "doctor {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (record, valid_report(&String::from_utf8_lossy(&out.stdout)))
}

/// What is wrong with a run's requests, given the lists its recording holds and the server's page size;
/// empty when nothing is.
fn economy_violations(
    requests: &[RequestLogEntry],
    lists: &BTreeMap<String, usize>,
    page: usize,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    let mut pages: BTreeMap<&str, usize> = BTreeMap::new();
    let mut continued: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in requests {
        if r.method == "POST" && r.path == ACCESS_REVIEWS {
            continue;
        }
        if r.method != "GET" {
            wrong.push(format!("{} {} is not a read", r.method, r.path));
            continue;
        }
        let query = r.query.as_deref().unwrap_or("");
        match query.split('&').find_map(|p| p.strip_prefix("continue=")) {
            Some(token) => *continued.entry((r.path.as_str(), token)).or_default() += 1,
            None => *first.entry(r.path.as_str()).or_default() += 1,
        }
        if lists.contains_key(&r.path) {
            *pages.entry(r.path.as_str()).or_default() += 1;
        }
    }
    for (path, n) in &first {
        if *n != 1 {
            wrong.push(format!("{path} was asked {n} times"));
        }
    }
    for ((path, _), n) in &continued {
        if *n != 1 {
            wrong.push(format!("a continue token of {path} was followed {n} times"));
        }
    }
    for (path, count) in lists {
        let want = count.div_ceil(page).max(1);
        let got = pages.get(path.as_str()).copied().unwrap_or_default();
        if got != want {
            wrong.push(format!(
                "{path}: {got} pages for {count} objects in pages of {page} (want {want})"
            ));
        }
    }
    wrong
}

#[test]
fn doctor_only_reads_and_lists_each_kind_and_scope_once() {
    let mut checked = 0;
    for name in fixture_names() {
        if name == "api-unreachable" {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let opts = ServerOptions {
            page_size_cap: Some(PAGE),
            ..Default::default()
        };
        let server = FixtureServer::start(&fixture(&name), opts).unwrap();
        let (record, _) = doctor_recorded(&fixture(&name), server.kubeconfig_path(), tmp.path());
        let lists = recorded_lists(&record);
        let requests = server.requests();
        assert!(
            !requests.is_empty(),
            "{name}: no request reached the server"
        );
        let wrong = economy_violations(&requests, &lists, PAGE);
        assert!(
            wrong.is_empty(),
            "fixtures/{name}:\n  {}",
            wrong.join("\n  ")
        );
        checked += 1;
    }
    assert!(checked > 50, "only {checked} scenarios ran");
}

/// A cluster many times the scenarios' size, from the benchmark's generator (bench/generate.py at scale
/// 0.02: 104 nodes, 3,033 pods, 31 unrelated namespaces, 21 MCPServers): still each (kind, scope) listed
/// once, and no message grows with the cluster: where a check names nodes, pods or servers it names ten
/// and counts the rest, while its details keep them all.
#[test]
fn a_generated_big_cluster_is_listed_once_and_its_messages_stay_short() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = tmp.path().join("cluster");
    let generated = std::process::Command::new("python3")
        .arg(workspace().join("bench/generate.py"))
        .arg(&cluster)
        .args(["--scale", "0.02"])
        .output()
        .expect("python3 runs bench/generate.py");
    assert!(
        generated.status.success(),
        "bench/generate.py: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let opts = ServerOptions {
        page_size_cap: Some(BIG_PAGE),
        ..Default::default()
    };
    let server = FixtureServer::start(&cluster, opts).unwrap();
    let (record, report) = doctor_recorded(&cluster, server.kubeconfig_path(), tmp.path());
    let wrong = economy_violations(&server.requests(), &recorded_lists(&record), BIG_PAGE);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let results = report["checks"].as_array().unwrap();
    let long: Vec<String> = results
        .iter()
        .filter(|r| {
            generated_names_in(r["message"].as_str().unwrap_or_default()) > LISTED_IN_A_MESSAGE
        })
        .map(|r| format!("{}: {}", r["id"], r["message"]))
        .collect();
    assert!(
        long.is_empty(),
        "messages naming more than {LISTED_IN_A_MESSAGE} of the generated objects:\n{}",
        long.join("\n")
    );
    let servers = results
        .iter()
        .find(|r| r["id"] == "platform.mcpservers")
        .expect("platform.mcpservers ran");
    assert_eq!(servers["status"], "pass", "{servers}");
    assert!(
        servers["message"]
            .as_str()
            .unwrap()
            .ends_with(", and 11 more"),
        "{servers}"
    );
    assert_eq!(
        servers["details"]["mcpservers"].as_array().map(Vec::len),
        Some(21),
        "{servers}"
    );
}

/// A continue token that expires mid-list (the 410 `Expired` kube-apiserver answers once etcd has
/// compacted its revision) starts that list over once from its first page, and the verdicts are those of a
/// run where nothing expired. When every continue token expires, the checks that need a paged list end in
/// `error` naming the expiry, and the run still ends with a report.
#[test]
fn an_expired_continue_token_starts_its_list_over_once() {
    let name = "k3s-4node-healthy";
    let run = |expire_continue_tokens: usize| {
        let tmp = tempfile::tempdir().unwrap();
        let opts = ServerOptions {
            page_size_cap: Some(PAGE),
            expire_continue_tokens,
            ..Default::default()
        };
        let server = FixtureServer::start(&fixture(name), opts).unwrap();
        let (_, report) = doctor_recorded(&fixture(name), server.kubeconfig_path(), tmp.path());
        (report, server.requests())
    };
    let (clean, _) = run(0);
    let (restarted, requests) = run(1);
    assert_eq!(statuses(&restarted), statuses(&clean), "{restarted}");
    let mut first_pages: BTreeMap<&str, usize> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.method == "GET") {
        if !r.query.as_deref().unwrap_or("").contains("continue=") {
            *first_pages.entry(r.path.as_str()).or_default() += 1;
        }
    }
    let started_over: Vec<_> = first_pages.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(started_over.len(), 1, "{first_pages:?}");
    assert_eq!(*started_over[0].1, 2, "{first_pages:?}");

    let (expiring, _) = run(usize::MAX);
    let errors: Vec<&Value> = expiring["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "error")
        .collect();
    assert!(!errors.is_empty(), "{expiring}");
    for c in errors {
        let message = c["message"].as_str().unwrap();
        assert!(
            message.contains("too old to display a consistent list result")
                && message.contains("started over once and expired again"),
            "{c}"
        );
    }
}

/// How many objects a message names, of those bench/generate.py makes (nodes `bench-node-*`, MCPServers
/// `tool-*`, namespaces `team-*`, Services `svc-*`, pods `app-*`), each counted once.
fn generated_names_in(message: &str) -> usize {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            ["bench-node-", "tool-", "team-", "svc-", "app-"]
                .iter()
                .any(|prefix| word.starts_with(prefix))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// The assertion itself catches what it is for: a repeated list, a write, a page too few.
#[test]
fn the_economy_assertion_fails_on_waste() {
    let get = |path: &str, query: Option<&str>| RequestLogEntry {
        method: "GET".into(),
        path: path.into(),
        query: query.map(str::to_string),
    };
    let lists = BTreeMap::from([("/api/v1/nodes".to_string(), 3)]);
    let good = vec![
        get("/api/v1/nodes", Some("&limit=500")),
        get("/api/v1/nodes", Some("&continue=abc&limit=500")),
    ];
    assert!(economy_violations(&good, &lists, PAGE).is_empty());

    let mut repeated = good.clone();
    repeated.push(get("/api/v1/nodes", Some("&limit=500")));
    assert!(!economy_violations(&repeated, &lists, PAGE).is_empty());

    let mut write = good.clone();
    write.push(RequestLogEntry {
        method: "DELETE".into(),
        path: "/api/v1/namespaces/a/pods/p".into(),
        query: None,
    });
    assert!(!economy_violations(&write, &lists, PAGE).is_empty());

    assert!(
        !economy_violations(&good[..1], &lists, PAGE).is_empty(),
        "a page short"
    );
}
