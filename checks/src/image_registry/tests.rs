//! The registry checks against hand-built clusters and recorded `/v2/` answers.

use serde_json::{Value, json};

use super::pull_secrets::key_matches;
use super::*;
use crate::evidence::journal::keys;
use crate::evidence::{EvidenceError, HttpAnswer, HttpProbe, ProbeFailure, Scope};
use crate::model::{Mode, Status};
use crate::test_support::{Case, expect, forbidden, node, secret};

fn internal_tls() -> Value {
    secret(NAMESPACE, INTERNAL_TLS_SECRET, "kubernetes.io/tls")
}

fn service(node_port: Option<i64>) -> Value {
    let mut port = json!({"name": "registry", "protocol": "TCP", "port": 5000, "targetPort": 5000});
    if let Some(p) = node_port {
        port["nodePort"] = json!(p);
    }
    json!({
        "metadata": {"name": SERVICE, "namespace": NAMESPACE},
        "spec": {"type": if node_port.is_some() { "NodePort" } else { "ClusterIP" },
                 "ports": [port], "clusterIP": "10.43.12.34"},
    })
}

fn pvc(phase: &str) -> Value {
    json!({
        "metadata": {"name": STORAGE_PVC, "namespace": NAMESPACE},
        "spec": {"storageClassName": "longhorn", "accessModes": ["ReadWriteOnce"]},
        "status": {"phase": phase},
    })
}

/// An installed bundled registry, judged by `doctor`, with these secrets in the registry namespace.
fn installed(secrets: Vec<Value>) -> Case {
    Case::new()
        .mode(Mode::Doctor)
        .env("MCP_PLATFORM_DOMAIN", "example.com")
        .env("MCP_SETUP_WITH_TLS", "true")
        .objects(&kinds::SECRETS, Scope::AllNamespaces, secrets)
        .objects(
            &kinds::SERVICES,
            Scope::AllNamespaces,
            vec![service(Some(32000))],
        )
        .objects(
            &kinds::PERSISTENT_VOLUME_CLAIMS,
            Scope::AllNamespaces,
            vec![pvc("Bound")],
        )
        .objects(
            &kinds::NODES,
            Scope::Cluster,
            vec![
                node_at("mcp-worker-1", "10.0.0.31"),
                node_at("mcp-cp-1", "10.0.0.11"),
            ],
        )
}

fn node_at(name: &str, ip: &str) -> Value {
    let mut n = node(name);
    n["status"]["addresses"] = json!([
        {"type": "InternalIP", "address": ip},
        {"type": "Hostname", "address": name},
    ]);
    n
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> HttpAnswer {
    HttpAnswer {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
        body_truncated: false,
        remote_addr: None,
    }
}

fn registry_401() -> HttpAnswer {
    answer(
        401,
        &[
            ("content-type", "application/json"),
            ("docker-distribution-api-version", "registry/2.0"),
            ("www-authenticate", "Basic realm=\"registry\""),
        ],
        "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":null}]}\n",
    )
}

fn get(url: &str, connect_to: Option<&str>, api_key: Option<&str>) -> HttpProbe {
    let mut headers = vec![("user-agent".to_string(), "mcp-doctor".to_string())];
    if let Some(k) = api_key {
        headers.push(("x-api-key".into(), k.into()));
    }
    HttpProbe {
        method: "GET".into(),
        url: url.into(),
        connect_to: connect_to.map(str::to_string),
        headers,
    }
}

fn refused(url: &str, address: &str) -> EvidenceError {
    EvidenceError::Probe {
        cause: ProbeFailure::Refused,
        address: address.into(),
        url: url.into(),
        message: format!("connection to {address} refused"),
    }
}

// ---- registry.mode

#[tokio::test]
async fn mode_before_setup_comes_from_the_configuration() {
    let o = Case::new().run(&RegistryModeCheck).await;
    expect(&o, Status::Pass, &["bundled-http", "auto"]);
    let o = Case::new()
        .env("PROVISIONED_REGISTRY_URL", "registry.example.com/mcp")
        .run(&RegistryModeCheck)
        .await;
    expect(
        &o,
        Status::Pass,
        &[
            "external",
            "PROVISIONED_REGISTRY_URL=registry.example.com/mcp",
        ],
    );
    let o = Case::new()
        .flag("registry_mode", "bundle-https")
        .run(&RegistryModeCheck)
        .await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &["--registry-mode bundle-https is not a registry mode"]
        ),
        "rem.registry-mode"
    );
}

#[tokio::test]
async fn mode_after_install_follows_the_internal_certificate() {
    let o = installed(vec![internal_tls()])
        .run(&RegistryModeCheck)
        .await;
    expect(
        &o,
        Status::Pass,
        &["bundled-https", "registry-internal-tls exists"],
    );
    let o = installed(vec![]).run(&RegistryModeCheck).await;
    expect(&o, Status::Pass, &["bundled-http", "does not exist"]);
    let o = installed(vec![])
        .env("MCP_SETUP_REGISTRY_MODE", "bundled-https")
        .run(&RegistryModeCheck)
        .await;
    expect(
        &o,
        Status::Warn,
        &[
            "MCP_SETUP_REGISTRY_MODE=bundled-https asks for bundled-https",
            "serves HTTP",
        ],
    );
}

#[tokio::test]
async fn mode_never_guesses_when_secrets_are_forbidden() {
    let scope = Scope::AllNamespaces;
    let o = installed(vec![])
        .list_error(
            &kinds::SECRETS,
            scope.clone(),
            forbidden(&kinds::SECRETS, &scope),
        )
        .run(&RegistryModeCheck)
        .await;
    expect(
        &o,
        Status::Error,
        &["registry-internal-tls", "permission denied"],
    );
}

// ---- registry.service

#[tokio::test]
async fn service_with_node_port_and_bound_storage_passes() {
    let o = installed(vec![]).run(&RegistryService).await;
    expect(
        &o,
        Status::Pass,
        &["5000:32000", "registry-storage is Bound"],
    );
}

#[tokio::test]
async fn service_missing_or_on_another_node_port_fails_naming_it() {
    let o = installed(vec![])
        .objects(&kinds::SERVICES, Scope::AllNamespaces, vec![])
        .run(&RegistryService)
        .await;
    let rem = expect(
        &o,
        Status::Fail,
        &["Service registry/registry does not exist"],
    );
    assert_eq!(rem, "rem.registry-service-missing");
    assert_eq!(o.subjects, ["service/registry/registry"]);

    let o = installed(vec![])
        .objects(
            &kinds::SERVICES,
            Scope::AllNamespaces,
            vec![service(Some(30500))],
        )
        .run(&RegistryService)
        .await;
    let rem = expect(&o, Status::Fail, &["NodePort 30500, not 32000"]);
    assert_eq!(rem, "rem.registry-node-port");
    let text = &o.remediation.as_ref().unwrap().text;
    assert!(text.contains("\"value\":32000"), "{text}");

    let o = installed(vec![])
        .objects(&kinds::SERVICES, Scope::AllNamespaces, vec![service(None)])
        .run(&RegistryService)
        .await;
    expect(&o, Status::Fail, &["type ClusterIP without a NodePort"]);
}

#[tokio::test]
async fn pending_storage_fails_with_its_newest_event() {
    let event = |reason: &str, message: &str, at: &str| {
        json!({
            "metadata": {"name": format!("registry-storage.{reason}"), "namespace": NAMESPACE},
            "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": NAMESPACE, "name": STORAGE_PVC},
            "reason": reason, "message": message, "lastTimestamp": at, "type": "Warning",
        })
    };
    let o = installed(vec![])
        .objects(
            &kinds::PERSISTENT_VOLUME_CLAIMS,
            Scope::AllNamespaces,
            vec![pvc("Pending")],
        )
        .objects(
            &kinds::EVENTS,
            Scope::AllNamespaces,
            vec![
                event(
                    "ExternalProvisioning",
                    "waiting for a volume",
                    "2026-11-21T10:00:00Z",
                ),
                event(
                    "ProvisioningFailed",
                    "storageclass.storage.k8s.io \"longhorn\" not found",
                    "2026-11-21T11:00:00Z",
                ),
            ],
        )
        .run(&RegistryService)
        .await;
    let rem = expect(
        &o,
        Status::Fail,
        &[
            "PVC registry/registry-storage is Pending (storage class longhorn)",
            "newest event ProvisioningFailed: storageclass.storage.k8s.io \"longhorn\" not found",
        ],
    );
    assert_eq!(rem, "rem.registry-storage");
    assert_eq!(
        o.subjects,
        ["persistentvolumeclaim/registry/registry-storage"]
    );
}

#[tokio::test]
async fn service_skips_for_an_external_registry() {
    let o = installed(vec![])
        .flag("registry_mode", "external")
        .run(&RegistryService)
        .await;
    expect(&o, Status::Skip, &["external"]);
}

// ---- registry.reachable

/// The first Ready node by name, mcp-cp-1, is reached at this InternalIP.
fn node_ip() -> String {
    "10.0.0.11".into()
}

#[tokio::test]
async fn reachable_passes_on_401_over_https_at_the_node_port() {
    let url = format!("https://{}:32000/v2/", node_ip());
    let o = installed(vec![internal_tls()])
        .http(&get(&url, None, None), Ok(registry_401()))
        .run(&RegistryReachable)
        .await;
    expect(
        &o,
        Status::Pass,
        &[&url, "401 over HTTPS", "NodePort 32000 on node mcp-cp-1"],
    );
}

#[tokio::test]
async fn reachable_fails_when_the_registry_answers_http_despite_the_internal_certificate() {
    let ip = node_ip();
    let https = format!("https://{ip}:32000/v2/");
    let tls_error = EvidenceError::Probe {
        cause: ProbeFailure::Tls,
        address: format!("{ip}:32000"),
        url: https.clone(),
        message: "TLS handshake failed: received corrupt message".into(),
    };
    let o = installed(vec![internal_tls()])
        .http(&get(&https, None, None), Err(tls_error))
        .http(
            &get(&format!("http://{ip}:32000/v2/"), None, None),
            Ok(registry_401()),
        )
        .run(&RegistryReachable)
        .await;
    let rem = expect(
        &o,
        Status::Fail,
        &[
            "registry-internal-tls exists",
            "answers plain HTTP (401) instead of HTTPS",
        ],
    );
    assert_eq!(rem, "rem.registry-scheme-mismatch");
}

#[tokio::test]
async fn reachable_fails_when_https_is_served_without_the_internal_certificate() {
    let url = format!("http://{}:32000/v2/", node_ip());
    let go_400 = answer(
        400,
        &[],
        "Client sent an HTTP request to an HTTPS server.\n",
    );
    let o = installed(vec![])
        .http(&get(&url, None, None), Ok(go_400))
        .run(&RegistryReachable)
        .await;
    expect(&o, Status::Fail, &["serves HTTPS", "does not exist"]);
}

#[tokio::test]
async fn reachable_fails_on_refused_and_skips_without_probing() {
    let url = format!("http://{}:32000/v2/", node_ip());
    let o = installed(vec![])
        .http(
            &get(&url, None, None),
            Err(refused(&url, "10.0.0.11:32000")),
        )
        .run(&RegistryReachable)
        .await;
    let rem = expect(
        &o,
        Status::Fail,
        &["no answer from the registry", "refused"],
    );
    assert_eq!(rem, "rem.registry-unreachable");
    // Nothing recorded for the probe: not collected, so skip.
    let o = installed(vec![]).run(&RegistryReachable).await;
    expect(&o, Status::Skip, &["not collected"]);
}

#[tokio::test]
async fn reachable_probes_the_registry_url_when_given() {
    let o = installed(vec![])
        .flag("registry_url", "https://127.0.0.1:5000/ignored")
        .http(
            &get("http://127.0.0.1:5000/v2/", None, None),
            Ok(answer(
                200,
                &[("docker-distribution-api-version", "registry/2.0")],
                "{}",
            )),
        )
        .run(&RegistryReachable)
        .await;
    expect(&o, Status::Pass, &["200 over HTTP", "--registry-url"]);
    let o = installed(vec![])
        .flag("registry_url", "registry-without-port")
        .run(&RegistryReachable)
        .await;
    expect(&o, Status::Error, &["no host:port"]);
}

// ---- registry.public-route

const PUBLIC: &str = "https://registry.example.com/v2/";

#[tokio::test]
async fn public_route_401_passes_and_the_admin_key_gets_the_registry() {
    let o = installed(vec![internal_tls()])
        .http(
            &get(PUBLIC, None, None),
            Ok(answer(
                401,
                &[("content-type", "text/plain")],
                "Unauthorized",
            )),
        )
        .run(&RegistryPublicRoute)
        .await;
    expect(
        &o,
        Status::Pass,
        &["401 without credentials", "not checked"],
    );

    let ok = answer(
        200,
        &[("docker-distribution-api-version", "registry/2.0")],
        "{}",
    );
    let o = installed(vec![internal_tls()])
        .env("MCP_ADMIN_API_KEY", "k-123")
        .http(&get(PUBLIC, None, None), Ok(registry_401()))
        .http(&get(PUBLIC, None, Some("k-123")), Ok(ok))
        .run(&RegistryPublicRoute)
        .await;
    expect(
        &o,
        Status::Pass,
        &["200 with docker-distribution-api-version: registry/2.0"],
    );
    assert!(!format!("{o:?}").contains("k-123"), "the key leaked: {o:?}");
}

#[tokio::test]
async fn public_route_rejected_key_and_header_less_200_fail() {
    let case = || {
        installed(vec![internal_tls()])
            .env("MCP_ADMIN_API_KEY", "k-123")
            .http(&get(PUBLIC, None, None), Ok(registry_401()))
    };
    let o = case()
        .http(&get(PUBLIC, None, Some("k-123")), Ok(registry_401()))
        .run(&RegistryPublicRoute)
        .await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &["401 with the admin API key", "not accepted"]
        ),
        "rem.registry-api-key-rejected"
    );
    let o = case()
        .http(
            &get(PUBLIC, None, Some("k-123")),
            Ok(answer(200, &[("content-type", "text/plain")], "ok")),
        )
        .run(&RegistryPublicRoute)
        .await;
    expect(
        &o,
        Status::Fail,
        &["without docker-distribution-api-version"],
    );
}

#[tokio::test]
async fn public_route_tells_traefik_404_from_a_proxy() {
    let traefik = answer(
        404,
        &[("content-type", "text/plain; charset=utf-8")],
        "404 page not found\n",
    );
    let o = installed(vec![])
        .http(&get(PUBLIC, None, None), Ok(traefik))
        .run(&RegistryPublicRoute)
        .await;
    let rem = expect(
        &o,
        Status::Fail,
        &["Traefik's 404 page not found", "misrouted"],
    );
    assert_eq!(rem, "rem.registry-public-route-misrouted");
    assert_eq!(o.subjects, ["ingress/registry/registry"]);

    let html = answer(
        403,
        &[
            ("content-type", "text/html; charset=UTF-8"),
            ("server", "cloudflare"),
        ],
        "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title>",
    );
    let o = installed(vec![])
        .http(&get(PUBLIC, None, None), Ok(html))
        .run(&RegistryPublicRoute)
        .await;
    let rem = expect(&o, Status::Fail, &["HTML page", "server cloudflare"]);
    assert_eq!(rem, "rem.registry-public-route-proxy");

    let too_large = answer(
        413,
        &[("content-type", "text/html"), ("server", "nginx")],
        "<html>",
    );
    let o = installed(vec![])
        .http(&get(PUBLIC, None, None), Ok(too_large))
        .run(&RegistryPublicRoute)
        .await;
    expect(&o, Status::Fail, &["413", "limits request bodies"]);

    let timeout = EvidenceError::Probe {
        cause: ProbeFailure::Timeout,
        address: "registry.example.com:443".into(),
        url: PUBLIC.into(),
        message: "connected to registry.example.com:443, but no answer within 10s".into(),
    };
    let o = installed(vec![])
        .http(&get(PUBLIC, None, None), Err(timeout))
        .run(&RegistryPublicRoute)
        .await;
    expect(
        &o,
        Status::Fail,
        &["no answer within 10s", "holds the connection"],
    );

    let open = answer(
        200,
        &[("docker-distribution-api-version", "registry/2.0")],
        "{}",
    );
    let o = installed(vec![])
        .http(&get(PUBLIC, None, None), Ok(open))
        .run(&RegistryPublicRoute)
        .await;
    assert_eq!(
        expect(&o, Status::Warn, &["200 without credentials"]),
        "rem.registry-public-route-open"
    );

    // A 200 that is not the registry's (no API version header): something else answers the route.
    let default_site = answer(
        200,
        &[("content-type", "text/plain"), ("server", "nginx")],
        "welcome",
    );
    let o = installed(vec![])
        .http(&get(PUBLIC, None, None), Ok(default_site))
        .run(&RegistryPublicRoute)
        .await;
    assert_eq!(
        expect(
            &o,
            Status::Fail,
            &["neither the registry nor its auth guard"]
        ),
        "rem.registry-public-route-proxy"
    );
}

#[tokio::test]
async fn public_route_honours_tls_connect_and_skips_without_a_host() {
    let o = installed(vec![])
        .flag("tls_connect", "127.0.0.9:8443")
        .http(
            &get(
                "https://registry.example.com:8443/v2/",
                Some("127.0.0.9"),
                None,
            ),
            Ok(registry_401()),
        )
        .run(&RegistryPublicRoute)
        .await;
    expect(&o, Status::Pass, &["401 without credentials"]);
    let o = Case::new()
        .mode(Mode::Doctor)
        .run(&RegistryPublicRoute)
        .await;
    expect(&o, Status::Skip, &["no public registry host"]);
}

#[test]
fn credentialed_probes_are_journaled_apart_without_the_credential() {
    let anonymous = keys::http(&get(PUBLIC, None, None));
    let admin = keys::http(&get(PUBLIC, None, Some("k-123")));
    assert_ne!(anonymous, admin);
    assert!(!admin.contains("k-123"), "{admin}");
}

// ---- registry.ingress-hosts

fn ingress(rules: &[&str], tls: &[&str]) -> Value {
    json!({
        "metadata": {"name": INGRESS, "namespace": NAMESPACE},
        "spec": {
            "ingressClassName": "traefik",
            "tls": [{"hosts": tls, "secretName": "registry-tls"}],
            "rules": rules.iter().map(|h| json!({"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "registry", "port": {"number": 5000}}}}]}})).collect::<Vec<_>>(),
        },
    })
}

#[tokio::test]
async fn ingress_hosts_agree_or_name_the_mismatch() {
    let both = ["registry.example.com", "mcp.example.com"];
    let o = installed(vec![])
        .objects(
            &kinds::INGRESSES,
            Scope::AllNamespaces,
            vec![ingress(&both, &both)],
        )
        .run(&RegistryIngressHosts)
        .await;
    expect(&o, Status::Pass, &["registry.example.com is among them"]);

    let o = installed(vec![])
        .objects(
            &kinds::INGRESSES,
            Scope::AllNamespaces,
            vec![ingress(&["registry.local"], &["registry.local"])],
        )
        .run(&RegistryIngressHosts)
        .await;
    let rem = expect(
        &o,
        Status::Fail,
        &["routes registry.local, but the configured registry host is registry.example.com"],
    );
    assert_eq!(rem, "rem.registry-ingress-hosts");
    assert!(
        o.remediation
            .unwrap()
            .text
            .contains("\"value\":\"registry.example.com\"")
    );

    let o = installed(vec![])
        .objects(
            &kinds::INGRESSES,
            Scope::AllNamespaces,
            vec![ingress(&both, &["registry.example.com"])],
        )
        .run(&RegistryIngressHosts)
        .await;
    expect(
        &o,
        Status::Fail,
        &["routes mcp.example.com but its TLS hosts are registry.example.com"],
    );

    let o = installed(vec![])
        .objects(&kinds::INGRESSES, Scope::AllNamespaces, vec![])
        .run(&RegistryIngressHosts)
        .await;
    expect(
        &o,
        Status::Fail,
        &["Ingress registry/registry does not exist"],
    );
}

// ---- registry.pull-secrets

fn docker_config(namespace: &str, name: &str, hosts: &[&str]) -> Value {
    use base64::Engine;
    let auths: serde_json::Map<String, Value> =
        hosts.iter().map(|h| (h.to_string(), json!({}))).collect();
    let mut s = secret(namespace, name, "kubernetes.io/dockerconfigjson");
    s["data"] = json!({".dockerconfigjson": base64::engine::general_purpose::STANDARD
        .encode(json!({"auths": auths}).to_string())});
    s
}

fn operator(pull_secret: &str) -> Value {
    json!({
        "metadata": {"name": "mcp-runtime-operator-controller-manager", "namespace": "mcp-runtime"},
        "spec": {"template": {"spec": {
            "imagePullSecrets": [{"name": pull_secret}],
            "containers": [{"name": "manager", "image": "registry.example.com/mcp-runtime-operator:v0.9.2"}],
        }}},
    })
}

fn with_workloads(secrets: Vec<Value>) -> Case {
    installed(secrets)
        .objects(
            &kinds::DEPLOYMENTS,
            Scope::AllNamespaces,
            vec![operator("pull-creds")],
        )
        .objects(&kinds::PODS, Scope::AllNamespaces, vec![])
        .objects(&kinds::CUSTOM_RESOURCE_DEFINITIONS, Scope::Cluster, vec![])
}

#[tokio::test]
async fn pull_secret_for_the_image_host_passes() {
    let o = with_workloads(vec![docker_config(
        "mcp-runtime",
        "pull-creds",
        &["https://registry.example.com/v1/"],
    )])
    .run(&RegistryPullSecrets)
    .await;
    expect(&o, Status::Pass, &["1 referenced pull secret(s)"]);
}

#[tokio::test]
async fn pull_secret_missing_mistyped_or_for_another_host_fails() {
    let o = with_workloads(vec![]).run(&RegistryPullSecrets).await;
    let rem = expect(
        &o,
        Status::Fail,
        &[
            "Secret mcp-runtime/pull-creds",
            "Deployment mcp-runtime/mcp-runtime-operator-controller-manager",
            "does not exist",
        ],
    );
    assert_eq!(rem, "rem.registry-pull-secret");
    assert_eq!(o.subjects, ["secret/mcp-runtime/pull-creds"]);

    let o = with_workloads(vec![secret("mcp-runtime", "pull-creds", "Opaque")])
        .run(&RegistryPullSecrets)
        .await;
    expect(
        &o,
        Status::Fail,
        &["of type Opaque, not kubernetes.io/dockerconfigjson"],
    );

    let o = with_workloads(vec![docker_config(
        "mcp-runtime",
        "pull-creds",
        &["ghcr.io"],
    )])
    .run(&RegistryPullSecrets)
    .await;
    let rem = expect(
        &o,
        Status::Fail,
        &["holds credentials for ghcr.io, not for the image host registry.example.com"],
    );
    assert!(
        o.remediation
            .unwrap()
            .text
            .contains("--docker-server=registry.example.com"),
        "{rem}"
    );
}

#[tokio::test]
async fn pull_secrets_never_pass_on_forbidden_secrets() {
    let scope = Scope::AllNamespaces;
    let o = with_workloads(vec![])
        .list_error(
            &kinds::SECRETS,
            scope.clone(),
            forbidden(&kinds::SECRETS, &scope),
        )
        .run(&RegistryPullSecrets)
        .await;
    expect(&o, Status::Error, &["permission denied"]);
}

/// Read per namespace: the referenced Secret's namespace denied is an error naming it, never a pass.
#[tokio::test]
async fn pull_secrets_read_each_platform_namespace() {
    let at = Scope::Namespace("mcp-runtime".into());
    let o = with_workloads(vec![])
        .list_error(&kinds::SECRETS, at.clone(), forbidden(&kinds::SECRETS, &at))
        .run(&RegistryPullSecrets)
        .await;
    expect(
        &o,
        Status::Error,
        &["secrets in namespace mcp-runtime", "permission denied"],
    );
}

#[test]
fn docker_config_keys_match_like_kubelet() {
    assert!(key_matches("registry.example.com", "registry.example.com"));
    assert!(key_matches(
        "https://Registry.Example.com/v2/",
        "registry.example.com"
    ));
    assert!(key_matches("*.example.com", "registry.example.com"));
    assert!(!key_matches("*.example.com", "a.registry.example.com"));
    assert!(key_matches("https://index.docker.io/v1/", "docker.io"));
    assert!(key_matches("registry.local:32000", "registry.local:32000"));
    assert!(!key_matches("registry.local", "registry.local:32000"));
    assert!(!key_matches("registry.local:5000", "registry.local:32000"));
    assert!(!key_matches("ghcr.io", "registry.example.com"));
}

#[test]
fn v2_answers_read_as_what_answered() {
    assert_eq!(
        V2Answer::read(&registry_401()),
        V2Answer::Registry {
            status: 401,
            api_header: true
        }
    );
    assert_eq!(
        V2Answer::read(&answer(
            404,
            &[("content-type", "text/plain; charset=utf-8")],
            "404 page not found\n"
        )),
        V2Answer::TraefikNotFound
    );
    // The same words from something else (HTML) are not Traefik's.
    assert!(matches!(
        V2Answer::read(&answer(
            404,
            &[("content-type", "text/html")],
            "<html>404 page not found</html>"
        )),
        V2Answer::HtmlPage { status: 404, .. }
    ));
    assert_eq!(
        V2Answer::read(&answer(403, &[("content-type", "text/plain")], "Forbidden")),
        V2Answer::AuthGuard { status: 403 }
    );
}
