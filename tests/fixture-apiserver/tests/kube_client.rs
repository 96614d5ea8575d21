//! The fixture server as kube-rs sees it: real kubeconfig, TLS, bearer token, paging and error decoding.

use std::path::Path;
use std::time::{Duration, Instant};

use fixture_apiserver::{FixtureServer, ServerOptions};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Secret};
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, Discovery};
use serde_json::{Value, json};
use tempfile::TempDir;

fn write(root: &Path, rel: &str, value: &Value) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

fn node(name: &str, rv: u32) -> Value {
    json!({
        "metadata": {"name": name, "resourceVersion": rv.to_string()},
        "status": {"nodeInfo": {"kubeletVersion": "v1.30.4"}},
    })
}

fn pod(namespace: &str, name: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "150"},
        "spec": {"containers": [{"name": "main", "image": "registry.example.test/app:1"}]},
    })
}

/// Three nodes, three pods in two namespaces, secrets forbidden, config maps timing out, an MCPServer CRD
/// with no objects, a recorded target and version.
fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "cluster/nodes/_cluster.json",
        &json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": [
            node("node-a", 210), node("node-b", 212), node("node-c", 200),
        ]}),
    );
    write(
        root,
        "cluster/pods/_all.json",
        &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [
            pod("demo", "web-1"), pod("demo", "web-2"), pod("kube-system", "coredns-1"),
        ]}),
    );
    write(
        root,
        "evidence/kube/list/secrets/_all.json",
        &json!({"key": "kube/list/secrets/_all", "error": {"kind": "forbidden", "message": ""}}),
    );
    write(
        root,
        "evidence/kube/list/configmaps/_all.json",
        &json!({"key": "kube/list/configmaps/_all",
                "error": {"kind": "timeout", "what": "GET /api/v1/configmaps", "secs": 10}}),
    );
    write(
        root,
        "cluster/customresourcedefinitions.apiextensions.k8s.io/_cluster.json",
        &json!({"items": [{"metadata": {"name": "mcpservers.mcpruntime.org"}}]}),
    );
    write(
        root,
        "evidence/kube/target.json",
        &json!({"key": "kube/target", "ok": {
            "kubeconfig": "/home/u/.kube/config", "kubeconfig_mode": 384, "context": "prod-admin",
            "cluster": "prod", "user": "admin", "server": "https://10.0.0.1:6443", "in_cluster": false,
        }}),
    );
    write(
        root,
        "cluster/version.json",
        &json!({"major": "1", "minor": "30", "gitVersion": "v1.30.4+k3s1", "platform": "linux/arm64"}),
    );
    dir
}

async fn config(kubeconfig: &Path) -> Config {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(kubeconfig).unwrap();
    let mut cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    cfg.connect_timeout = Some(Duration::from_secs(5));
    cfg.read_timeout = Some(Duration::from_secs(10));
    cfg.default_retry = false;
    cfg
}

async fn client(server: &FixtureServer) -> Client {
    Client::try_from(config(server.kubeconfig_path()).await).unwrap()
}

fn start(fixture: &TempDir, opts: ServerOptions) -> FixtureServer {
    FixtureServer::start(fixture.path(), opts).unwrap()
}

fn api_status(err: kube::Error) -> Box<kube::core::Status> {
    match err {
        kube::Error::Api(status) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn names<T: kube::Resource>(items: &[T]) -> Vec<String> {
    items
        .iter()
        .map(|o| o.meta().name.clone().unwrap_or_default())
        .collect()
}

/// A raw GET, for the answers kube-rs does not decode into a type: (status, content type, body).
async fn raw(client: &Client, method: &str, uri: &str) -> (u16, String, String) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(kube::client::Body::empty())
        .unwrap();
    let resp = client.send(req).await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let body = resp.into_body().collect_bytes().await.unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn lists_nodes_across_pages_with_continue_tokens() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let nodes: Api<Node> = Api::all(client(&server).await);

    let first = nodes.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(names(&first.items), ["node-a", "node-b"]);
    assert_eq!(first.metadata.resource_version.as_deref(), Some("212"));
    assert_eq!(first.metadata.remaining_item_count, Some(1));
    let token = first
        .metadata
        .continue_
        .clone()
        .expect("a continue token on the first page");

    let second = nodes
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(&second.items), ["node-c"]);
    assert_eq!(second.metadata.continue_, None);
    assert_eq!(second.metadata.remaining_item_count, None);

    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| r.method == "GET" && r.path == "/api/v1/nodes"),
        "{log:?}"
    );
    assert!(
        log[0].query.as_deref().unwrap().contains("limit=2"),
        "{log:?}"
    );
    assert!(
        log[1]
            .query
            .as_deref()
            .unwrap()
            .contains(&format!("continue={token}")),
        "{log:?}"
    );
}

#[tokio::test]
async fn page_size_cap_forces_continue_tokens() {
    let fixture = fixture();
    let server = start(
        &fixture,
        ServerOptions {
            page_size_cap: Some(1),
            ..ServerOptions::default()
        },
    );
    let nodes: Api<Node> = Api::all(client(&server).await);

    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = nodes.list(&params).await.unwrap();
        assert_eq!(page.items.len(), 1);
        seen.extend(names(&page.items));
        match page.metadata.continue_ {
            Some(token) => params = ListParams::default().limit(500).continue_token(&token),
            None => break,
        }
    }
    assert_eq!(seen, ["node-a", "node-b", "node-c"]);
    assert_eq!(server.requests().len(), 3);

    // Without `limit` the real server answers in one piece, and so does this one.
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

#[tokio::test]
async fn namespace_lists_are_filtered_from_the_all_namespaces_file() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let client = client(&server).await;

    let demo = Api::<Pod>::namespaced(client.clone(), "demo")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(names(&demo.items), ["web-1", "web-2"]);
    let all = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 3);
    let empty = Api::<Pod>::namespaced(client, "nowhere")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(empty.items.is_empty());
    assert_eq!(server.requests()[0].path, "/api/v1/namespaces/demo/pods");
}

#[tokio::test]
async fn recorded_forbidden_is_a_403_in_the_servers_wording() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let client = client(&server).await;

    let status = api_status(
        Api::<Secret>::all(client.clone())
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 403);
    assert_eq!(status.reason, "Forbidden");
    assert_eq!(
        status.message,
        r#"secrets is forbidden: User "fixture-user" cannot list resource "secrets" in API group "" at the cluster scope"#
    );
    assert_eq!(status.details.unwrap().kind, "secrets");

    let status = api_status(
        Api::<Secret>::namespaced(client, "demo")
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        r#"secrets is forbidden: User "fixture-user" cannot list resource "secrets" in API group "" in the namespace "demo""#
    );
}

#[tokio::test]
async fn objects_are_got_by_name_and_missing_ones_are_404() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let client = client(&server).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");

    let web = pods.get("web-1").await.unwrap();
    assert_eq!(web.metadata.namespace.as_deref(), Some("demo"));

    let status = api_status(pods.get("does-not-exist").await.unwrap_err());
    assert_eq!(status.code, 404);
    assert_eq!(status.reason, "NotFound");
    assert_eq!(status.message, r#"pods "does-not-exist" not found"#);
    let details = status.details.unwrap();
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("does-not-exist", "pods")
    );
    assert!(pods.get_opt("does-not-exist").await.unwrap().is_none());

    // Namespaces are not in the fixture: a built-in kind, so an empty cluster rather than a missing API.
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt("demo")
            .await
            .unwrap()
            .is_none()
    );

    let (code, _, body) = raw(&client, "GET", "/api/v1/nodes/node-b").await;
    assert_eq!(code, 200);
    let node: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (node["kind"].as_str(), node["apiVersion"].as_str()),
        (Some("Node"), Some("v1"))
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_401() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let text = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    assert!(text.contains("\"fixture-token\""));
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("kubeconfig");
    std::fs::write(
        &wrong,
        text.replace("\"fixture-token\"", "\"stolen-token\""),
    )
    .unwrap();

    let client = Client::try_from(config(&wrong).await).unwrap();
    let status = api_status(
        Api::<Node>::all(client)
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status.code, status.reason.as_str(), status.message.as_str()),
        (401, "Unauthorized", "Unauthorized")
    );
    assert_eq!(
        server.requests().len(),
        1,
        "the refused request is logged too"
    );
}

#[tokio::test]
async fn latency_trips_the_client_read_timeout() {
    let fixture = fixture();
    let server = start(
        &fixture,
        ServerOptions {
            latency: Some(Duration::from_secs(3)),
            ..ServerOptions::default()
        },
    );
    let mut cfg = config(server.kubeconfig_path()).await;
    cfg.read_timeout = Some(Duration::from_secs(1));
    let nodes: Api<Node> = Api::all(Client::try_from(cfg).unwrap());

    let started = Instant::now();
    let err = nodes.list(&ListParams::default()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "gave up after {:?}: {err}",
        started.elapsed()
    );
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "a timeout, not an answer: {err}"
    );
}

#[tokio::test]
async fn a_recorded_timeout_hangs_the_request() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let mut cfg = config(server.kubeconfig_path()).await;
    cfg.read_timeout = Some(Duration::from_secs(1));
    let client = Client::try_from(cfg).unwrap();

    let started = Instant::now();
    let err = Api::<ConfigMap>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "a timeout, not an answer: {err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server is still answering everything else.
    assert_eq!(
        Api::<Node>::all(client)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

/// A resource's discovery entry is kube-apiserver's: every verb it supports whoever asks (a read-only
/// server still lists `patch` and `watch`), the server's short names and categories, a namespace without
/// `deletecollection`, and a custom resource in the apiextensions server's verb order.
#[tokio::test]
async fn discovery_lists_the_real_verbs_and_short_names() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let client = client(&server).await;
    let resource = |list: &Value, name: &str| -> Value {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not in {list}"))
    };
    let get = |path: &'static str| {
        let client = client.clone();
        async move {
            let (code, _, body) = raw(&client, "GET", path).await;
            assert_eq!(code, 200, "{path}: {body}");
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    let core = get("/api/v1").await;
    let all_verbs = json!([
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch"
    ]);
    let pods = resource(&core, "pods");
    assert_eq!(pods["verbs"], all_verbs);
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(pods["categories"], json!(["all"]));
    let namespaces = resource(&core, "namespaces");
    assert_eq!(
        namespaces["verbs"],
        json!([
            "create", "delete", "get", "list", "patch", "update", "watch"
        ])
    );
    assert_eq!(namespaces["shortNames"], json!(["ns"]));
    assert!(resource(&core, "secrets").get("shortNames").is_none());

    let apiextensions = get("/apis/apiextensions.k8s.io/v1").await;
    assert_eq!(
        resource(&apiextensions, "customresourcedefinitions")["shortNames"],
        json!(["crd", "crds"])
    );
    let servers = resource(&get("/apis/mcpruntime.org/v1alpha1").await, "mcpservers");
    assert_eq!(
        servers["verbs"],
        json!([
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch"
        ])
    );
    assert_eq!(
        (servers["singularName"].as_str(), servers["kind"].as_str()),
        (Some("mcpserver"), Some("MCPServer"))
    );
}

#[tokio::test]
async fn version_discovery_and_kubeconfig_names_follow_the_fixture() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    assert_eq!(server.context(), "prod-admin");
    assert!(server.addr().ip().is_loopback());
    assert_eq!(server.url(), format!("https://{}", server.addr()));
    let kc = Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    assert_eq!(kc.current_context.as_deref(), Some("prod-admin"));
    assert_eq!(kc.clusters[0].name, "prod");
    assert_eq!(
        kc.clusters[0].cluster.as_ref().unwrap().server.as_deref(),
        Some(server.url().as_str())
    );
    assert_eq!(kc.auth_infos[0].name, "admin");

    let client = client(&server).await;
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(
        (version.git_version.as_str(), version.platform.as_str()),
        ("v1.30.4+k3s1", "linux/arm64")
    );

    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let core = discovery.get("").unwrap();
    let core_plurals: Vec<String> = core
        .recommended_resources()
        .into_iter()
        .map(|(r, _)| r.plural)
        .collect();
    assert!(
        core_plurals.contains(&"nodes".to_string()) && core_plurals.contains(&"pods".to_string())
    );
    let apps = discovery.get("apps").unwrap();
    assert!(apps.recommended_kind("Deployment").is_some());
    assert!(
        discovery.has_group("mcpruntime.org"),
        "its CRD is in the fixture's CRD list"
    );
    assert!(
        !discovery.has_group("cert-manager.io"),
        "nothing in the fixture installs cert-manager"
    );

    // An installed CRD with no objects lists empty; one that is not installed is not routed at all.
    let (code, _, body) = raw(
        &client,
        "GET",
        "/apis/mcpruntime.org/v1alpha1/namespaces/demo/mcpservers",
    )
    .await;
    assert_eq!(code, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            list["kind"].as_str(),
            list["items"].as_array().map(Vec::len)
        ),
        (Some("MCPServerList"), Some(0))
    );
    let (code, content_type, body) =
        raw(&client, "GET", "/apis/cert-manager.io/v1/certificates").await;
    assert_eq!(
        (code, content_type.as_str(), body.as_str()),
        (404, "text/plain; charset=utf-8", "404 page not found\n")
    );
}

#[tokio::test]
async fn the_default_version_when_the_fixture_has_none() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cluster/nodes/_cluster.json",
        &json!({"items": [node("only", 5)]}),
    );
    let server = start(&dir, ServerOptions::default());
    let version = client(&server).await.apiserver_version().await.unwrap();
    assert_eq!(
        (
            version.major.as_str(),
            version.minor.as_str(),
            version.git_version.as_str()
        ),
        ("1", "32", "v1.32.0")
    );
    assert_eq!(server.context(), "fixture");
}

#[tokio::test]
async fn wire_errors_match_the_real_server() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let client = client(&server).await;

    let (code, content_type, body) =
        raw(&client, "GET", "/api/v1/nodes?limit=1&continue=not-a-token").await;
    assert_eq!((code, content_type.as_str()), (400, "application/json"));
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["reason"], "BadRequest");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid continue token: continue key is not valid: ")
    );
    assert!(status.get("details").is_none());

    let (code, content_type, body) = raw(&client, "GET", "/api/v1/widgets").await;
    assert_eq!(
        (code, content_type.as_str(), body.as_str()),
        (404, "text/plain; charset=utf-8", "404 page not found\n")
    );

    let (code, _, body) = raw(&client, "DELETE", "/api/v1/nodes/node-a").await;
    assert_eq!(code, 405);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["reason"],
        "MethodNotAllowed"
    );

    // Set-based selectors are refused; equality-based ones filter (none of the fixture's pods match).
    let (code, _, body) = raw(
        &client,
        "GET",
        "/api/v1/pods?labelSelector=app%20in%20(web)",
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let (code, _, body) = raw(&client, "GET", "/api/v1/pods?labelSelector=app%3Dweb").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["items"],
        json!([])
    );

    let log = server.requests();
    assert_eq!(log[2].method, "DELETE");
    assert_eq!(
        log[3].query.as_deref(),
        Some("labelSelector=app%20in%20(web)")
    );
}

#[tokio::test]
async fn field_selectors_select_as_the_real_server_does() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let client = client(&server).await;
    let pods: Api<Pod> = Api::all(client.clone());
    let selected = |fields: &'static str| {
        let pods = pods.clone();
        async move {
            names(
                &pods
                    .list(&ListParams::default().fields(fields))
                    .await
                    .unwrap()
                    .items,
            )
        }
    };
    assert_eq!(
        selected("metadata.namespace=demo").await,
        ["web-1", "web-2"]
    );
    assert_eq!(
        selected("metadata.namespace!=demo,metadata.name!=web-1").await,
        ["coredns-1"]
    );
    // An absent field compares as "": none of the fixture's pods is scheduled or has a phase.
    assert_eq!(selected("spec.nodeName=").await.len(), 3);
    assert!(selected("status.phase=Pending").await.is_empty());

    // A field the server cannot select by is its 400, in the wording of the kind's conversion.
    let err = pods
        .list(&ListParams::default().fields("spec.containers=main"))
        .await
        .unwrap_err();
    let status = api_status(err);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    assert_eq!(status.message, "field label not supported: spec.containers");
    let (code, _, body) = raw(
        &client,
        "GET",
        "/apis/mcpruntime.org/v1alpha1/mcpservers?fieldSelector=spec.image%3Dx",
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["message"],
        r#""spec.image" is not a known field selector: only "metadata.name", "metadata.namespace""#
    );
}

#[tokio::test]
async fn access_reviews_follow_the_recorded_lists() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client(&server).await);
    let ask = |resource: &str, namespace: Option<&str>| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some("list".into()),
                resource: Some(resource.into()),
                namespace: namespace.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };

    let denied = reviews
        .create(&PostParams::default(), &ask("secrets", Some("demo")))
        .await
        .unwrap();
    assert!(!denied.status.unwrap().allowed);
    let allowed = reviews
        .create(&PostParams::default(), &ask("pods", None))
        .await
        .unwrap();
    assert!(allowed.status.unwrap().allowed);
    assert_eq!(
        allowed
            .spec
            .resource_attributes
            .unwrap()
            .resource
            .as_deref(),
        Some("pods")
    );

    let log = server.requests();
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        )
    );
}

#[tokio::test]
async fn dropping_the_server_stops_it_and_removes_its_files() {
    let fixture = fixture();
    let server = start(&fixture, ServerOptions::default());
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let ca = server.ca_cert_path().to_path_buf();
    assert!(
        std::fs::read_to_string(&ca)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let cfg = config(&kubeconfig).await;
    drop(server);

    assert!(!kubeconfig.exists() && !ca.exists());
    let err = Api::<Node>::all(Client::try_from(cfg).unwrap())
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(!matches!(err, kube::Error::Api(_)), "{err}");
}

#[test]
fn start_refuses_a_directory_that_is_not_a_fixture() {
    let empty = tempfile::tempdir().unwrap();
    let err = FixtureServer::start(empty.path(), ServerOptions::default())
        .err()
        .expect("an empty dir is refused");
    assert!(err.to_string().contains("not a bundle made by"), "{err}");
}

/// The kinds the front-door checks read, served from the shipped k3s fixture the way kube-apiserver lists
/// them: built-in lists strip `kind`/`apiVersion` from items, the k3s CRD group `helm.cattle.io` is
/// discovered (its CRD is listed) and its list keeps them and an empty `continue`; on kind, where that CRD
/// does not exist, the group is not routed at all.
#[tokio::test]
async fn front_door_kinds_and_the_k3s_helm_group_are_served_like_the_real_server() {
    let k3s = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/k3s-4node-healthy");
    let server = FixtureServer::start(&k3s, ServerOptions::default()).unwrap();
    let client = client(&server).await;

    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let helm = discovery
        .get("helm.cattle.io")
        .expect("helm.cattle.io is discovered");
    let (chart, caps) = helm
        .recommended_kind("HelmChart")
        .expect("HelmChart is served");
    assert_eq!(
        (chart.plural.as_str(), chart.version.as_str()),
        ("helmcharts", "v1")
    );
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

    let (code, _, body) = raw(
        &client,
        "GET",
        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts",
    )
    .await;
    assert_eq!(code, 200);
    let charts: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(charts["kind"], "HelmChartList");
    assert_eq!(charts["apiVersion"], "helm.cattle.io/v1");
    assert_eq!(charts["metadata"]["continue"], "");
    let items = charts["items"].as_array().unwrap();
    assert!(items.iter().any(|c| c["metadata"]["name"] == "traefik"));
    assert!(
        items
            .iter()
            .all(|c| c["kind"] == "HelmChart" && c["apiVersion"] == "helm.cattle.io/v1")
    );

    for (path, kind, api_version) in [
        ("/api/v1/services", "ServiceList", "v1"),
        ("/apis/apps/v1/daemonsets", "DaemonSetList", "apps/v1"),
        (
            "/apis/networking.k8s.io/v1/ingressclasses",
            "IngressClassList",
            "networking.k8s.io/v1",
        ),
    ] {
        let (code, _, body) = raw(&client, "GET", path).await;
        assert_eq!(code, 200, "{path}");
        let list: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (list["kind"].as_str(), list["apiVersion"].as_str()),
            (Some(kind), Some(api_version))
        );
        let items = list["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{path}");
        assert!(
            items
                .iter()
                .all(|i| i.get("kind").is_none() && i.get("apiVersion").is_none()),
            "{path}"
        );
    }
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), "kube-system");
    let traefik = services.get("traefik").await.unwrap();
    assert_eq!(traefik.spec.unwrap().type_.as_deref(), Some("LoadBalancer"));

    let kind = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kind-single-node");
    let server = FixtureServer::start(&kind, ServerOptions::default()).unwrap();
    let client = self::client(&server).await;
    let (code, content_type, body) =
        raw(&client, "GET", "/apis/helm.cattle.io/v1/helmcharts").await;
    assert_eq!(
        (code, content_type.as_str(), body.as_str()),
        (404, "text/plain; charset=utf-8", "404 page not found\n")
    );
}

#[tokio::test]
async fn created_pods_run_by_their_script_serve_logs_and_are_deleted_as_kube_apiserver_does() {
    use fixture_apiserver::PodScript;
    use kube::api::{DeleteParams, LogParams};
    let f = fixture();
    let server = start(
        &f,
        ServerOptions {
            pods: Some(PodScript::Runs {
                after: Duration::from_millis(800),
                exit_code: 0,
                log: "mcp-doctor-dns a.example.com 0 203.0.113.10 \n".into(),
            }),
            ..ServerOptions::default()
        },
    );
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "probe", "labels": {"app.kubernetes.io/managed-by": "mcp-doctor"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "dns", "image": "busybox:1.36"}]}
    }))
    .unwrap();
    let created = pods.create(&PostParams::default(), &pod).await.unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Pending"));

    // Not started yet: the 400 BadRequest Status the server sends for a waiting container.
    let params = LogParams {
        container: Some("dns".into()),
        ..LogParams::default()
    };
    let waiting = api_status(pods.logs("probe", &params).await.unwrap_err());
    assert_eq!((waiting.code, waiting.reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        waiting.message,
        "container \"dns\" in pod \"probe\" is waiting to start: ContainerCreating"
    );

    tokio::time::sleep(Duration::from_millis(900)).await;
    let done = pods.get("probe").await.unwrap();
    assert_eq!(done.status.unwrap().phase.as_deref(), Some("Succeeded"));
    assert_eq!(
        pods.logs("probe", &params).await.unwrap(),
        "mcp-doctor-dns a.example.com 0 203.0.113.10 \n"
    );
    let listed = pods
        .list(&ListParams::default().labels("app.kubernetes.io/managed-by=mcp-doctor"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    pods.delete("probe", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(server.created(), Vec::<String>::new());
    let gone = api_status(
        pods.delete("probe", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    let missing = api_status(pods.logs("probe", &params).await.unwrap_err());
    assert_eq!(missing.code, 404);
}

#[tokio::test]
async fn writes_are_forbidden_without_a_pod_script() {
    let f = fixture();
    let server = start(&f, ServerOptions::default());
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "default");
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
        "spec": {"containers": [{"name": "dns", "image": "busybox:1.36"}]}
    }))
    .unwrap();
    let denied = api_status(pods.create(&PostParams::default(), &pod).await.unwrap_err());
    assert_eq!((denied.code, denied.reason.as_str()), (403, "Forbidden"));
    assert!(
        denied.message.contains(
            "cannot create resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{}",
        denied.message
    );
}

#[tokio::test]
async fn pod_logs_are_served_as_the_log_subresource() {
    let dir = fixture();
    std::fs::create_dir_all(dir.path().join("logs/demo/web-1")).unwrap();
    std::fs::write(
        dir.path().join("logs/demo/web-1/main.log"),
        "one\ntwo\nthree\n",
    )
    .unwrap();
    let server = start(&dir, ServerOptions::default());
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "demo");
    let params = |previous: bool, tail: Option<i64>| kube::api::LogParams {
        container: Some("main".into()),
        previous,
        tail_lines: tail,
        ..Default::default()
    };
    assert_eq!(
        pods.logs("web-1", &params(false, None)).await.unwrap(),
        "one\ntwo\nthree\n"
    );
    assert_eq!(
        pods.logs("web-1", &params(false, Some(2))).await.unwrap(),
        "two\nthree\n"
    );
    // A pod with no recorded log has a running container that wrote nothing.
    assert_eq!(pods.logs("web-2", &params(false, None)).await.unwrap(), "");
    // The API server's answers for a previous instance that never terminated, an unknown container, a pod
    // that does not exist.
    let err = api_status(pods.logs("web-1", &params(true, None)).await.unwrap_err());
    assert_eq!(err.code, 400);
    assert_eq!(
        err.message,
        "previous terminated container \"main\" in pod \"web-1\" not found"
    );
    let other = kube::api::LogParams {
        container: Some("sidecar".into()),
        ..Default::default()
    };
    let err = api_status(pods.logs("web-1", &other).await.unwrap_err());
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "container sidecar is not valid for pod web-1")
    );
    let err = api_status(pods.logs("gone", &params(false, None)).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "pods \"gone\" not found");
}

/// With an RBAC policy the token is a ServiceAccount: what its ClusterRole allows is answered from the
/// fixture, the rest is the API server's 403 for that user (decoded by kube-rs as it decodes a real one), and
/// SelfSubjectAccessReviews answer from the same role, with the RBAC authorizer's reason when allowed.
#[tokio::test]
async fn an_rbac_policy_forbids_what_its_role_does_not_grant() {
    use fixture_apiserver::RbacPolicy;
    use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
    let fixture = fixture();
    let mut role = ClusterRole {
        rules: Some(vec![
            PolicyRule {
                api_groups: Some(vec!["".into()]),
                resources: Some(vec!["pods".into()]),
                verbs: vec!["list".into()],
                ..Default::default()
            },
            PolicyRule {
                api_groups: Some(vec!["authorization.k8s.io".into()]),
                resources: Some(vec!["selfsubjectaccessreviews".into()]),
                verbs: vec!["create".into()],
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    role.metadata.name = Some("pod-lister".into());
    let server = start(
        &fixture,
        ServerOptions {
            rbac: Some(RbacPolicy::new("ops", "doctor", "pod-lister", &role)),
            ..ServerOptions::default()
        },
    );
    let client = client(&server).await;

    let pods: Api<Pod> = Api::all(client.clone());
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        3
    );
    // `get` is not granted, only `list`.
    let in_demo: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let status = api_status(in_demo.get("web-1").await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        "pods \"web-1\" is forbidden: User \"system:serviceaccount:ops:doctor\" cannot get resource \"pods\" in API group \"\" in the namespace \"demo\""
    );
    let nodes: Api<Node> = Api::all(client.clone());
    let status = api_status(nodes.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(
        status.message,
        "nodes is forbidden: User \"system:serviceaccount:ops:doctor\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
    );
    // Discovery and /version need no grant.
    assert!(client.apiserver_version().await.is_ok());
    assert_eq!(
        server.forbidden_requests().len(),
        2,
        "{:?}",
        server.forbidden_requests()
    );

    let reviews: Api<SelfSubjectAccessReview> = Api::all(client);
    let ask = |verb: &str, resource: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                resource: Some(resource.into()),
                namespace: Some("demo".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let allowed = reviews
        .create(&PostParams::default(), &ask("list", "pods"))
        .await
        .unwrap()
        .status
        .unwrap();
    assert!(allowed.allowed);
    assert_eq!(
        allowed.reason.as_deref(),
        Some(
            "RBAC: allowed by ClusterRoleBinding \"pod-lister\" of ClusterRole \"pod-lister\" to ServiceAccount \"doctor/ops\""
        )
    );
    for (verb, resource) in [("get", "pods"), ("list", "secrets"), ("watch", "pods")] {
        let denied = reviews
            .create(&PostParams::default(), &ask(verb, resource))
            .await
            .unwrap()
            .status
            .unwrap();
        assert!(!denied.allowed, "{verb} {resource}");
        assert_eq!(denied.reason, None);
    }
}
