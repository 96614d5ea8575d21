use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;
use crate::evidence::journal::keys;
use crate::evidence::probe_objects::{EXPIRES_AT_ANNOTATION, MANAGED_BY, Swept, sweep};
use crate::evidence::replay::Bundle;
use crate::evidence::{
    DnsAnswer, DnsQuery, Evidence, EvidenceError, HttpAnswer, HttpProbe, HttpSource,
};
use crate::model::{Mode, Profile};
use crate::settings::{ConfigInputs, ResolvedConfig};
use crate::test_support::expect;

/// An API server in memory: created objects, pods Ready at once.
#[derive(Default)]
struct FakeCluster {
    objects: Mutex<BTreeMap<String, Value>>,
    deleted: Mutex<Vec<String>>,
    forbid: Option<&'static str>,
}

#[async_trait]
impl ProbeObjects for FakeCluster {
    async fn create(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        mut object: Value,
    ) -> Result<(), EvidenceError> {
        if self.forbid == Some(kind.plural) {
            return Err(EvidenceError::Forbidden {
                message: format!(
                    "{} is forbidden: User \"ops\" cannot create resource \"{}\"",
                    kind.plural, kind.plural
                ),
            });
        }
        if kind.plural == "pods" {
            object["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
        }
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        self.objects
            .lock()
            .unwrap()
            .insert(format!("{}/{ns}/{name}", kind.plural), object);
        Ok(())
    }
    async fn get(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(&format!("{}/{ns}/{name}", kind.plural))
            .cloned())
    }
    async fn delete(&self, o: &ObjectRef) -> Result<(), EvidenceError> {
        self.objects
            .lock()
            .unwrap()
            .remove(&format!("{}/{}/{}", o.kind.plural, o.namespace, o.name));
        self.deleted.lock().unwrap().push(o.to_string());
        Ok(())
    }
    async fn list_managed(
        &self,
        kind: &'static ResourceKind,
    ) -> Result<Vec<(ObjectRef, Option<String>)>, EvidenceError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, v)| {
                k.starts_with(&format!("{}/", kind.plural))
                    && v["metadata"]["labels"][MANAGED_BY.0] == MANAGED_BY.1
            })
            .map(|(_, v)| {
                let object = ObjectRef {
                    kind,
                    namespace: v["metadata"]["namespace"].as_str().unwrap().into(),
                    name: v["metadata"]["name"].as_str().unwrap().into(),
                };
                let expires = v["metadata"]["annotations"][EXPIRES_AT_ANNOTATION]
                    .as_str()
                    .map(str::to_string);
                (object, expires)
            })
            .collect())
    }
    async fn logs(&self, ns: &str, pod: &str, _: &str) -> Result<String, EvidenceError> {
        Err(EvidenceError::Api {
            code: 400,
            reason: "BadRequest".into(),
            message: format!("the self-test reads no log ({ns}/{pod})"),
        })
    }
    async fn list_labelled(
        &self,
        kind: &'static ResourceKind,
        ns: &str,
        selector: &str,
    ) -> Result<Vec<Value>, EvidenceError> {
        let (key, value) = selector.split_once('=').unwrap();
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, v)| {
                k.starts_with(&format!("{}/{ns}/", kind.plural))
                    && v["metadata"]["labels"][key] == value
            })
            .map(|(_, v)| v.clone())
            .collect())
    }
    async fn logs_up_to(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        _: i64,
    ) -> Result<String, EvidenceError> {
        self.logs(ns, pod, container).await
    }
}

/// Traefik in front of the fake cluster: serves a token when an Ingress and ConfigMap for it exist.
struct FakeTraefik {
    cluster: Arc<FakeCluster>,
    routes: bool,
}

#[async_trait]
impl HttpSource for FakeTraefik {
    async fn fetch(&self, p: &HttpProbe) -> Result<HttpAnswer, EvidenceError> {
        let path = p.url.split('?').next().unwrap();
        let token = path.rsplit('/').next().unwrap();
        let objects = self.cluster.objects.lock().unwrap();
        let served = objects
            .iter()
            .filter(|(k, _)| k.starts_with("configmaps/"))
            .find_map(|(_, cm)| cm["data"][token].as_str().map(str::to_string))
            .filter(|_| self.routes && objects.keys().any(|k| k.starts_with("ingresses/")));
        Ok(match served {
            Some(body) => HttpAnswer {
                status: 200,
                headers: vec![],
                body,
                body_truncated: false,
                remote_addr: None,
            },
            None => HttpAnswer {
                status: 404,
                headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                body: "404 page not found\n".into(),
                body_truncated: false,
                remote_addr: None,
            },
        })
    }
}

fn context(cluster: Arc<FakeCluster>, routes: bool) -> (Context, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cluster")).unwrap();
    for (rt, records) in [("A", vec!["203.0.113.10"]), ("AAAA", vec![])] {
        let q = DnsQuery {
            name: "platform.example.com".into(),
            record_type: rt.into(),
            server: None,
        };
        let key = keys::dns(&q);
        let path = dir.path().join(format!("evidence/{key}.json"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let ans = DnsAnswer {
            rcode: "NOERROR".into(),
            records: records.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        std::fs::write(path, json!({"key": key, "ok": ans}).to_string()).unwrap();
    }
    let mut evidence = Evidence::replay(Bundle::open(dir.path()).unwrap());
    evidence.http = Arc::new(FakeTraefik {
        cluster: cluster.clone(),
        routes,
    });
    let config = ResolvedConfig::resolve(&ConfigInputs {
        flags: [
            ("acme_email", "ops@example.com"),
            ("http01_self_test", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        env: [(
            "MCP_PLATFORM_INGRESS_HOST".to_string(),
            "platform.example.com".to_string(),
        )]
        .into(),
        env_file: None,
    });
    let mut ctx = Context::new(Mode::Setup, Profile::Dev, Arc::new(config), evidence);
    ctx.objects = Some(cluster);
    (ctx, dir)
}

#[tokio::test(start_paused = true)]
async fn a_published_token_is_served_and_everything_is_deleted() {
    let cluster = Arc::new(FakeCluster::default());
    let (ctx, _dir) = context(cluster.clone(), true);
    let o = SelfTest.run(&ctx).await;
    expect(
        &o,
        Status::Pass,
        &["served end to end through platform.example.com (203.0.113.10)"],
    );
    assert!(
        cluster.objects.lock().unwrap().is_empty(),
        "left behind: {:?}",
        cluster.objects.lock().unwrap().keys()
    );
    let deleted = cluster.deleted.lock().unwrap().clone();
    assert_eq!(deleted.len(), 4, "{deleted:?}");
    assert!(
        deleted[0].starts_with("ingress/default/mcp-doctor-http01-"),
        "routes go first: {deleted:?}"
    );
    assert_eq!(o.details["cleanup"], "deleted");
}

#[tokio::test(start_paused = true)]
async fn an_unrouted_ingress_fails_and_still_cleans_up() {
    let cluster = Arc::new(FakeCluster::default());
    let (ctx, _dir) = context(cluster.clone(), false);
    let o = SelfTest.run(&ctx).await;
    let rem = expect(
        &o,
        Status::Fail,
        &[
            "platform.example.com from 203.0.113.10 (A): the published token was not served: Traefik answers (404",
        ],
    );
    assert_eq!(rem, "rem.http01-front-door");
    assert!(cluster.objects.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn forbidden_creation_is_an_error_and_deletes_what_was_created() {
    let cluster = Arc::new(FakeCluster {
        forbid: Some("services"),
        ..Default::default()
    });
    let (ctx, _dir) = context(cluster.clone(), true);
    let o = SelfTest.run(&ctx).await;
    expect(
        &o,
        Status::Error,
        &["permission denied", "cannot create resource \"services\""],
    );
    assert!(
        cluster.objects.lock().unwrap().is_empty(),
        "{:?}",
        cluster.objects.lock().unwrap().keys()
    );
}

#[tokio::test]
async fn opt_in_and_replay_skip() {
    let o = crate::test_support::Case::new()
        .flag("acme_email", "ops@example.com")
        .env("MCP_PLATFORM_INGRESS_HOST", "platform.example.com")
        .run(&SelfTest)
        .await;
    expect(&o, Status::Skip, &["opt-in: pass --http01-self-test"]);
    let o = crate::test_support::Case::new()
        .flag("acme_email", "ops@example.com")
        .flag("http01_self_test", "true")
        .env("MCP_PLATFORM_INGRESS_HOST", "platform.example.com")
        .run(&SelfTest)
        .await;
    expect(&o, Status::Skip, &["replayed bundle cannot"]);
}

#[test]
fn the_probe_objects_are_labelled_restricted_and_keep_the_token_out_of_args() {
    let plan = manifests(
        "mcp-doctor-http01-abc",
        "abc",
        "TOKEN123",
        "TOKEN123.x",
        "busybox:1.36",
        &["a.example.com".into()],
    );
    assert_eq!(plan.len(), 4);
    for (_, o) in &plan {
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "mcp-doctor"
        );
        assert_eq!(o["metadata"]["labels"]["mcp-doctor.io/run-id"], "abc");
    }
    let pod = &plan[1].1;
    let c = &pod["spec"]["containers"][0];
    assert!(!c["command"].to_string().contains("TOKEN123"));
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["spec"]["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(
        plan[3].1["spec"]["rules"][0]["http"]["paths"][0]["path"],
        "/.well-known/acme-challenge/TOKEN123"
    );
}

#[tokio::test]
async fn sweep_deletes_expired_managed_objects_and_keeps_a_running_ones() {
    let cluster = Arc::new(FakeCluster::default());
    for (run, expired) in [("old", true), ("new", false)] {
        for (kind, mut o) in manifests(
            &format!("mcp-doctor-http01-{run}"),
            run,
            "T",
            "T.x",
            "busybox:1.36",
            &["a.example.com".into()],
        ) {
            if expired {
                o["metadata"]["annotations"][EXPIRES_AT_ANNOTATION] = json!("2026-01-01T00:00:00Z");
            }
            cluster.create(kind, NAMESPACE, o).await.unwrap();
        }
    }
    let listed = sweep(cluster.clone(), true).await;
    assert_eq!(listed.len(), 8);
    assert_eq!(
        cluster.objects.lock().unwrap().len(),
        8,
        "--dry-run deletes nothing"
    );
    let swept = sweep(cluster.clone(), false).await;
    let deleted = swept.iter().filter(|(_, r)| *r == Swept::Deleted).count();
    let kept = swept
        .iter()
        .filter(|(o, r)| matches!(r, Swept::Kept { .. }) && o.ends_with("-new"))
        .count();
    assert_eq!((deleted, kept), (4, 4), "{swept:?}");
    assert!(
        cluster
            .objects
            .lock()
            .unwrap()
            .keys()
            .all(|k| k.ends_with("-new"))
    );
}
