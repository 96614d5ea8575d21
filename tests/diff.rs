//! `mcp-doctor diff`: two fixtures that differ by one node condition and one registries.yaml line show
//! exactly those changes, under the verdicts they flipped; a changed DNS answer or HTTP status shows under
//! the verdicts that read it.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

const OLD_LINE: &str = "  \"registry.local:32000\":";
const NEW_LINE: &str = "  \"registry.local:5000\":";

fn diff(a: &Path, b: &Path, tmp: &Path) -> (Option<i32>, Value) {
    let out = mcp_doctor(tmp)
        .arg("diff")
        .arg(a)
        .arg(b)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "diff printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[test]
fn a_node_condition_and_a_registries_line_show_under_the_verdicts_they_flipped() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("yesterday"), tmp.path().join("today"));
    copy_dir(&fixture("k3s-registry-dev-healthy"), &a);
    copy_dir(&a, &b);
    edit_json(&b.join("cluster/nodes/_cluster.json"), |list| {
        let node = list["items"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|n| n["metadata"]["name"] == "mcp-worker-2")
            .unwrap();
        for c in node["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "Ready" {
                c["status"] = "False".into();
            }
        }
    });
    edit_json(&b.join("host/mcp-worker-1.json"), |facts| {
        let file = &mut facts["files"]["/etc/rancher/k3s/registries.yaml"]["content"];
        let text = file.as_str().unwrap().to_string();
        assert!(text.contains(OLD_LINE));
        *file = text.replace(OLD_LINE, NEW_LINE).into();
    });

    let (code, same) = diff(&a, &a, tmp.path());
    assert_eq!(code, Some(0));
    assert!(same["changed"].as_array().unwrap().is_empty());

    let (code, report) = diff(&a, &b, tmp.path());
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["schema"], "mcp-doctor.diff/v1");
    let changed = report["changed"].as_array().unwrap();
    let flipped = |id: &str| changed.iter().find(|c| c["id"] == id);
    for c in changed {
        assert!(
            c["probes"].as_array().unwrap().is_empty(),
            "no probe answer changed: {c}"
        );
    }

    let ready = flipped("nodes.ready").expect("nodes.ready flipped");
    assert_eq!(
        (
            ready["from"]["status"].as_str(),
            ready["to"]["status"].as_str()
        ),
        (Some("pass"), Some("fail"))
    );
    let node_change = serde_json::json!({
        "kind": "Node", "name": "mcp-worker-2", "change": "modified",
        "fields": [r#"status.conditions[Ready].status: "True" -> "False""#]
    });
    assert_eq!(ready["objects"], serde_json::json!([node_change]));

    let mirror = flipped("containerd.mirror-match").expect("containerd.mirror-match flipped");
    assert_eq!(mirror["from"]["status"], "pass");
    assert_ne!(mirror["to"]["status"], "pass");
    let host_change = serde_json::json!({
        "node": "mcp-worker-1", "what": "files./etc/rancher/k3s/registries.yaml",
        "added": [NEW_LINE], "removed": [OLD_LINE]
    });
    assert_eq!(mirror["host"], serde_json::json!([host_change]));

    // Nothing else changed: every verdict that moved shows only these two changes (those it reads).
    for c in changed {
        for o in c["objects"].as_array().unwrap() {
            assert_eq!(o, &node_change, "{}", c["id"]);
        }
        for h in c["host"].as_array().unwrap() {
            assert_eq!(h, &host_change, "{}", c["id"]);
        }
        assert!(
            !c["objects"].as_array().unwrap().is_empty()
                || !c["host"].as_array().unwrap().is_empty(),
            "{} flipped with no evidence beneath it",
            c["id"]
        );
    }

    // The table names the same.
    let out = mcp_doctor(tmp.path())
        .arg("diff")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nodes.ready  pass -> fail"), "{text}");
    assert!(text.contains("modified Node mcp-worker-2"), "{text}");
    assert!(text.contains(&format!("+ {NEW_LINE}")), "{text}");
}

#[test]
fn a_changed_dns_answer_and_http_status_show_under_the_verdicts_that_read_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, dns, http) = (
        tmp.path().join("a"),
        tmp.path().join("dns"),
        tmp.path().join("http"),
    );
    copy_dir(&fixture("platform-healthy"), &a);
    copy_dir(&a, &dns);
    copy_dir(&a, &http);
    edit_json(
        &dns.join("evidence/dns/system/A/platform.example.com.json"),
        |entry| entry["ok"]["records"] = serde_json::json!(["198.51.100.77"]),
    );
    edit_json(
        &http.join("evidence/http/203.0.113.10/https___platform.example.com_.json"),
        |entry| entry["ok"]["status"] = 502.into(),
    );

    let (code, report) = diff(&a, &dns, tmp.path());
    assert_eq!(code, Some(1), "{report:#}");
    let changed = report["changed"].as_array().unwrap();
    let points = changed
        .iter()
        .find(|c| c["id"] == "dns.points-at-ingress")
        .expect("dns.points-at-ingress flipped");
    assert_eq!(points["from"]["status"], "pass");
    assert_eq!(points["to"]["status"], "fail");
    assert_eq!(
        points["probes"],
        serde_json::json!([{
            "probe": "dns A platform.example.com (system resolver)",
            "fields": [r#"records[0]: "203.0.113.10" -> "198.51.100.77""#]
        }])
    );

    let (code, report) = diff(&a, &http, tmp.path());
    assert_eq!(code, Some(1), "{report:#}");
    let changed = report["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{report:#}");
    assert_eq!(changed[0]["id"], "platform.public-endpoints");
    assert_eq!(
        changed[0]["probes"],
        serde_json::json!([{
            "probe": "http GET https://platform.example.com/ via 203.0.113.10",
            "fields": ["status: 200 -> 502"]
        }])
    );
    let out = mcp_doctor(tmp.path())
        .arg("diff")
        .arg(&a)
        .arg(&http)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "  http GET https://platform.example.com/ via 203.0.113.10\n      status: 200 -> 502"
        ),
        "{text}"
    );
}
