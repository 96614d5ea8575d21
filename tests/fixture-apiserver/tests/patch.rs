//! PATCH as kube-rs sends it and kube-apiserver answers it: merge patches change an object that later gets
//! and lists return, server-side apply creates and updates with managedFields, and the errors are the
//! server's Status bodies (403 without write access, 404, 409 for a stale resourceVersion, 415, 422 for an
//! apply without a field manager).

use std::path::Path;

use fixture_apiserver::{FixtureServer, ServerOptions};
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use kube::api::{ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::json;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster/nodes/_cluster.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": [
            {"metadata": {"name": "node-a", "resourceVersion": "210", "labels": {"keep": "me", "drop": "me"}}},
        ]}))
        .unwrap(),
    )
    .unwrap();
    dir
}

async fn client(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).unwrap();
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    config.read_timeout = Some(std::time::Duration::from_secs(10));
    Client::try_from(config).unwrap()
}

fn status(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(status) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn start(dir: &tempfile::TempDir, patches: bool) -> FixtureServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    FixtureServer::start(
        dir.path(),
        ServerOptions {
            patches,
            ..ServerOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn a_merge_patch_changes_what_gets_and_lists_return_and_is_recorded() {
    let dir = fixture();
    let server = start(&dir, true);
    let nodes: Api<Node> = Api::all(client(server.kubeconfig_path()).await);
    let body = json!({"metadata": {"labels": {"drop": null, "new": "true"}}});
    let patched = nodes
        .patch("node-a", &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap();
    let labels = patched.metadata.labels.unwrap();
    assert_eq!(labels.get("keep").map(String::as_str), Some("me"));
    assert_eq!(labels.get("new").map(String::as_str), Some("true"));
    assert!(!labels.contains_key("drop"));
    let listed = nodes.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items[0].metadata.labels, Some(labels));
    let m = server.mutations();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].path, "/api/v1/nodes/node-a");
    assert_eq!(m[0].content_type, "application/merge-patch+json");
    assert_eq!(m[0].body, body);
    assert_eq!(m[0].status, 200);
}

#[tokio::test]
async fn patch_errors_are_the_servers_status_bodies() {
    let dir = fixture();
    let read_only = start(&dir, false);
    let nodes: Api<Node> = Api::all(client(read_only.kubeconfig_path()).await);
    let body = json!({"metadata": {"labels": {"a": "b"}}});
    let e = status(
        nodes
            .patch("node-a", &PatchParams::default(), &Patch::Merge(&body))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert!(
        e.message.contains("cannot patch resource \"nodes\""),
        "{}",
        e.message
    );

    let server = start(&dir, true);
    let client = client(server.kubeconfig_path()).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let e = status(
        nodes
            .patch("node-z", &PatchParams::default(), &Patch::Merge(&body))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, "nodes \"node-z\" not found");

    let stale = json!({"metadata": {"resourceVersion": "1", "labels": {"a": "b"}}});
    let e = status(
        nodes
            .patch("node-a", &PatchParams::default(), &Patch::Merge(&stale))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(
        e.message.contains("the object has been modified"),
        "{}",
        e.message
    );

    let list = json!({"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}});
    let e = status(
        nodes
            .patch("node-a", &PatchParams::default(), &Patch::Strategic(&list))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 415);

    let cms: Api<ConfigMap> = Api::namespaced(client, "demo");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}});
    let e = status(
        cms.patch("settings", &PatchParams::default(), &Patch::Apply(&cm))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert!(
        e.message.contains("fieldManager: Required value"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn server_side_apply_creates_then_updates_with_managed_fields() {
    let dir = fixture();
    let server = start(&dir, true);
    let cms: Api<ConfigMap> = Api::namespaced(client(server.kubeconfig_path()).await, "demo");
    let params = PatchParams::apply("mcp-doctor");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}});
    let created = cms
        .patch("settings", &params, &Patch::Apply(&cm))
        .await
        .unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("demo"));
    let managed = created.metadata.managed_fields.unwrap();
    assert_eq!(managed[0].manager.as_deref(), Some("mcp-doctor"));
    assert_eq!(managed[0].operation.as_deref(), Some("Apply"));
    let cm2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "2"}});
    let updated = cms
        .patch("settings", &params, &Patch::Apply(&cm2))
        .await
        .unwrap();
    assert_eq!(updated.data.unwrap()["a"], "2");
    assert_eq!(updated.metadata.managed_fields.unwrap().len(), 1);
    let statuses: Vec<u16> = server.mutations().iter().map(|m| m.status).collect();
    assert_eq!(statuses, [201, 200]);
    let got = cms.get("settings").await.unwrap();
    assert_eq!(got.metadata.uid, created.metadata.uid);
}

#[tokio::test]
async fn an_apply_of_a_field_another_manager_owns_is_a_conflict() {
    let dir = fixture();
    let server = start(&dir, true);
    let cms: Api<ConfigMap> = Api::namespaced(client(server.kubeconfig_path()).await, "demo");
    let cm = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": v}});
    cms.patch(
        "settings",
        &PatchParams::apply("kubectl"),
        &Patch::Apply(&cm("private")),
    )
    .await
    .unwrap();
    // The same value is shared ownership, not a conflict.
    cms.patch(
        "settings",
        &PatchParams::apply("mcp-doctor"),
        &Patch::Apply(&cm("private")),
    )
    .await
    .unwrap();
    let e = status(
        cms.patch(
            "settings",
            &PatchParams::apply("mcp-doctor"),
            &Patch::Apply(&cm("public")),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"kubectl\": .data.mode"
    );
    assert_eq!(
        cms.get("settings").await.unwrap().data.unwrap()["mode"],
        "private"
    );
}
