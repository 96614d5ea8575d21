use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use mcp_doctor_remediations::Vars;
use serde_json::{Value, json};

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::kinds::{self, ResourceKind};
use crate::evidence::probe_objects::{
    ObjectRef, PROBE_NAMESPACE, ProbeObjects, RUN_ID_LABEL, delete_these, forget, new_run_id,
    pod_waiting, probe_metadata, remember, restricted_pod,
};
use crate::http01::{addresses_of_each, hosts, show_ip, walk_url};
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// Opt-in (`--http01-self-test`), and the only check here that changes the cluster: it publishes a
    /// throwaway random token at `/.well-known/acme-challenge/<token>` through a temporary ConfigMap, Pod,
    /// Service and Ingress in `default` (labelled `app.kubernetes.io/managed-by=mcp-doctor` and
    /// `mcp-doctor.io/run-id=<run id>`; image `--probe-image`, busybox `httpd` by default; restricted
    /// security context: non-root, read-only root filesystem, no privilege escalation, all capabilities
    /// dropped, RuntimeDefault seccomp; the token lives in the ConfigMap, never in the arguments), fetches
    /// it through each public host the way the validator does (the address Let's Encrypt would use, redirects
    /// walked by its rules), and deletes everything again. Deletion happens on success and failure by the
    /// check itself, and after the report for a check cut off by its timeout or by Ctrl-C;
    /// `mcp-doctor sweep` removes what a killed run left behind.
    ///
    /// ### Why it matters
    /// `http01.challenge-path` proves the path reaches Traefik; only a real token proves that Traefik routes
    /// a new Ingress for the challenge path to a pod, the way cert-manager's solver will be routed: DNS ->
    /// proxy -> ServiceLB -> Traefik -> Service -> Pod.
    ///
    /// ### What a failure looks like
    /// `platform.example.com from 203.0.113.10 (A): the published token was not served: Traefik answers (404
    /// page not found ...): the temporary Ingress is not routed by the Traefik this host reaches`
    ///
    /// ### How to fix
    /// Follow the hop the message names (remediations `rem.http01-front-door`, `rem.http01-port80`); a 404
    /// from Traefik means the Ingress class or the Traefik watching the namespace is wrong.
    pub struct SelfTest {
        id: "http01.self-test",
        title: "A published test token is served through each public host (opt-in, mutating)",
        category: "http01",
        modes: Setup,
        depends_on: [],
        reads: [],
        timeout_secs: 120,
    }
}

/// Where the probe objects live.
pub const NAMESPACE: &str = PROBE_NAMESPACE;
const POD_READY_WITHIN: Duration = Duration::from_secs(60);
/// The kubelet stops the token pod after this, and `sweep` may delete the run's objects after it.
const POD_DEADLINE: Duration = Duration::from_secs(300);
const ROUTED_WITHIN: Duration = Duration::from_secs(30);

#[async_trait]
impl Check for SelfTest {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        if !ctx.config.flag("http01_self_test") {
            return Some(
                "opt-in: pass --http01-self-test to publish a throwaway token through the cluster"
                    .into(),
            );
        }
        super::not_applicable(ctx)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let Some(objects) = ctx.objects.clone() else {
            return Outcome::skip(
                "the self-test creates objects in the cluster, which a replayed bundle cannot do",
            );
        };
        let run_id = new_run_id();
        let token = random_b64(32);
        let body = format!("{token}.mcp-doctor-self-test-{run_id}");
        let image = ctx
            .config
            .value("probe_image")
            .unwrap_or("busybox:1.36")
            .to_string();
        let name = format!("mcp-doctor-http01-{run_id}");
        let hosts = hosts(&ctx.config);
        let plan = manifests(&name, &run_id, &token, &body, &image, &hosts);
        let planned: Vec<ObjectRef> = plan.iter().map(|(k, o)| object_ref(k, o)).collect();
        let created = match create_all(objects.as_ref(), plan).await {
            Ok(c) => c,
            Err((what, e)) => {
                let cleanup = cleanup(objects.as_ref(), &planned).await;
                return unreadable(&format!("(create) the self-test's {what}"), &e)
                    .detail("cleanup", cleanup);
            }
        };
        let outcome = probe(
            ctx,
            objects.as_ref(),
            &name,
            &run_id,
            &token,
            &body,
            &image,
            &hosts,
        )
        .await;
        let cleanup = cleanup(objects.as_ref(), &planned).await;
        let created: Vec<String> = created.iter().map(|o| o.to_string()).collect();
        outcome
            .detail("run_id", &run_id)
            .detail("created", created)
            .detail("cleanup", cleanup)
    }
}

/// Deletes what this run planned (and so may have created); a list of what could not be deleted (empty when
/// clean).
async fn cleanup(objects: &dyn ProbeObjects, planned: &[ObjectRef]) -> Value {
    let failed = delete_these(objects, planned).await;
    if failed.is_empty() {
        json!("deleted")
    } else {
        json!(
            failed
                .iter()
                .map(|(o, e)| format!("{o}: {e} (run `mcp-doctor sweep`)"))
                .collect::<Vec<_>>()
        )
    }
}

async fn create_all(
    objects: &dyn ProbeObjects,
    plan: Vec<(&'static ResourceKind, Value)>,
) -> Result<Vec<ObjectRef>, (String, crate::evidence::EvidenceError)> {
    let mut created = Vec::new();
    for (kind, object) in plan {
        let r = object_ref(kind, &object);
        // Remembered before the request: a create cut off mid-way may still have happened.
        remember(r.clone());
        if let Err(e) = objects.create(kind, NAMESPACE, object).await {
            if e.is_absent() || matches!(e, crate::evidence::EvidenceError::NotFound { .. }) {
                forget(&r);
            }
            return Err((r.to_string(), e));
        }
        created.push(r);
    }
    Ok(created)
}

fn object_ref(kind: &'static ResourceKind, object: &Value) -> ObjectRef {
    ObjectRef {
        kind,
        namespace: NAMESPACE.into(),
        name: object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .into(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn probe(
    ctx: &Context,
    objects: &dyn ProbeObjects,
    name: &str,
    run_id: &str,
    token: &str,
    body: &str,
    image: &str,
    hosts: &[String],
) -> Outcome {
    let distribution = ctx.distribution().await;
    // 1. The pod serves the token.
    let deadline = Instant::now() + POD_READY_WITHIN;
    loop {
        match objects.get(&kinds::PODS, NAMESPACE, name).await {
            Ok(Some(pod)) if pod_ready(&pod) => break,
            Ok(pod) if Instant::now() >= deadline => {
                let why = pod
                    .as_ref()
                    .map(pod_waiting)
                    .unwrap_or_else(|| "it is gone".into());
                return Outcome::error(format!(
                    "the self-test pod {NAMESPACE}/{name} (image {image}) did not become Ready within {}s: {why}; \
                     pass --probe-image with an image the nodes can pull that has busybox httpd",
                    POD_READY_WITHIN.as_secs()
                ))
                .detail("run_id", run_id);
            }
            Ok(_) => {}
            Err(e) => return unreadable(&format!("the self-test pod {NAMESPACE}/{name}"), &e),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // 2. Each host serves it, from the address Let's Encrypt would use. Traefik picks a new Ingress up within
    //    seconds: retry (a fresh query string each time, which routing ignores) until it serves or time is up.
    let mut failures: Vec<(String, String, &'static str, Vars)> = Vec::new();
    let mut served: Vec<String> = Vec::new();
    let looked_up = addresses_of_each(ctx, hosts).await;
    for (host, addrs) in hosts.iter().zip(looked_up) {
        let addrs = match addrs {
            Ok(a) => a,
            Err(e) => return unreadable(&format!("the addresses of {host}"), &e),
        };
        let Some(mut ip) = addrs.aaaa.first().or(addrs.a.first()).copied() else {
            failures.push((
                host.clone(),
                format!("{host} has no A or AAAA record"),
                "rem.http01-port80",
                Vars::from([
                    ("host", host.clone()),
                    ("address", "<ingress-public-ip>".into()),
                ]),
            ));
            continue;
        };
        let deadline = Instant::now() + ROUTED_WITHIN;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let url = format!("http://{host}/.well-known/acme-challenge/{token}?attempt={attempt}");
            let mut walk = match walk_url(ctx, host, ip, url.clone()).await {
                Ok(w) => w,
                Err(super::Absent(e)) => {
                    return unreadable(&format!("the token through {host}"), &e);
                }
            };
            // Like the validator: from an AAAA that cannot be connected to, on to the first A.
            if ip.is_ipv6()
                && walk.dial_failed()
                && let Some(v4) = addrs.a.first().copied()
            {
                ip = v4;
                walk = match walk_url(ctx, host, ip, url).await {
                    Ok(w) => w,
                    Err(super::Absent(e)) => {
                        return unreadable(&format!("the token through {host}"), &e);
                    }
                };
            };
            let ok = walk
                .last
                .as_ref()
                .is_some_and(|a| a.status == 200 && a.body.trim_end() == body);
            if ok {
                served.push(format!("{host} ({})", show_ip(&ip)));
                break;
            }
            let retry_worth = matches!(walk.last.as_ref().map(|a| a.status), Some(404 | 502 | 503));
            if !retry_worth || Instant::now() >= deadline {
                let seen = match &walk.verdict {
                    super::Verdict::Problem { text, .. } | super::Verdict::Healthy { text, .. } => {
                        text.clone()
                    }
                };
                let seen = match walk.last.as_ref() {
                    Some(a) if a.status == 200 => {
                        format!("answered 200 with something else than the token ({seen})")
                    }
                    _ => seen,
                };
                let remediation = match walk.problem() {
                    Some((kind, _)) => kind.remediation(walk.hops.len() == 1),
                    None => "rem.http01-front-door",
                };
                failures.push((
                    host.clone(),
                    format!(
                        "{host} from {} ({}): the published token was not served: {seen}{}",
                        show_ip(&ip),
                        walk.family,
                        if walk.hops.len() > 1 {
                            format!(" (hops: {})", walk.trail())
                        } else {
                            String::new()
                        }
                    ),
                    remediation,
                    Vars::from([("host", host.clone()), ("address", show_ip(&ip))]),
                ));
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if let Some((_, _, remediation, vars)) = failures.first() {
        let message = failures
            .iter()
            .map(|(_, m, _, _)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Outcome::fail(message)
            .subjects(failures.iter().map(|(h, _, _, _)| format!("host/{h}")))
            .remediate(remediation, distribution, vars);
    }
    Outcome::of(
        Status::Pass,
        format!(
            "a throwaway token published through a temporary Ingress was served end to end through {}",
            served.join(", ")
        ),
    )
}

fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn random_b64(bytes: usize) -> String {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("system randomness");
    buf.iter()
        .map(|b| {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            ALPHABET[(*b & 63) as usize] as char
        })
        .collect()
}

/// The ConfigMap, Pod, Service and Ingress of one self-test run, in creation order.
pub fn manifests(
    name: &str,
    run_id: &str,
    token: &str,
    body: &str,
    image: &str,
    hosts: &[String],
) -> Vec<(&'static ResourceKind, Value)> {
    let meta = probe_metadata(
        name,
        NAMESPACE,
        run_id,
        "mcp-doctor-http01-self-test",
        POD_DEADLINE,
    );
    let config_map = json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
        "data": {token: body},
    });
    let container = json!({
        "name": "token",
        "image": image,
        "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
        "ports": [{"containerPort": 8080, "name": "http"}],
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
        "volumeMounts": [{"name": "token", "mountPath": "/www/.well-known/acme-challenge", "readOnly": true}]
    });
    let mut pod = restricted_pod(meta.clone(), container, POD_DEADLINE);
    pod["spec"]["volumes"] = json!([{"name": "token", "configMap": {"name": name}}]);
    let service = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": {"selector": {RUN_ID_LABEL: run_id}, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]}
    });
    let rules: Vec<Value> = hosts
        .iter()
        .map(|h| {
            json!({"host": h, "http": {"paths": [{
                "path": format!("/.well-known/acme-challenge/{token}"),
                "pathType": "Exact",
                "backend": {"service": {"name": name, "port": {"number": 80}}}
            }]}})
        })
        .collect();
    let ingress = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
        "spec": {"ingressClassName": "traefik", "rules": rules}
    });
    vec![
        (&kinds::CONFIGMAPS, config_map),
        (&kinds::PODS, pod),
        (&kinds::SERVICES, service),
        (&kinds::INGRESSES, ingress),
    ]
}

#[cfg(test)]
mod tests;
