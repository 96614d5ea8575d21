use async_trait::async_trait;
use mcp_doctor_remediations::{Distribution, Vars};

use crate::check::{Check, Context};
use crate::declare_check;
use crate::evidence::{EvidenceError, KubeTarget, UnreachableCause};
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// The kubeconfig (or in-cluster config) loads, its context exists, and the API server answers
    /// `GET /version` within the timeout. It is the root of every cluster check.
    ///
    /// ### Why it matters
    /// Every other cluster check, and `mcp-runtime setup` itself, talks to this API server. The failure is
    /// told apart so the fix is obvious: no kubeconfig at all, a refused port, a port that accepts the
    /// connection but never answers TLS, a port that answers something other than TLS, a name that does not
    /// resolve, a timeout, a CA that does not match the server's certificate, or expired credentials (401).
    /// For `https://127.0.0.1`, the node facts (`--host-root /` or `--host-facts`) tell whether this machine
    /// is the k3s server (then k3s is not running) or not (then the kubeconfig was copied from the server
    /// without replacing 127.0.0.1); the kubeconfig `/etc/rancher/k3s/k3s.yaml` itself also says it is the
    /// server. Without either, both causes are named. A context of a local development cluster (`kind-*`,
    /// `k3d-*`, `minikube`, `docker-desktop`) on 127.0.0.1 means that cluster is not running.
    ///
    /// ### What a failure looks like
    /// On a workstation: `kubeconfig /home/ops/mcp-k3s.yaml points at https://127.0.0.1:6443 and the
    /// connection was refused; this machine (ops-laptop) is not the k3s server: the kubeconfig was copied from
    /// the k3s server without replacing 127.0.0.1 with the server's address`. On the server: `k3s is not
    /// running on this machine: the connection to https://127.0.0.1:6443 was refused (...)`.
    ///
    /// ### How to fix
    /// For a copied k3s kubeconfig: `sed -i.bak 's/127.0.0.1/<cp-node-ip>/g' ./mcp-k3s.yaml`. On the k3s
    /// server: `sudo systemctl status k3s`, `sudo journalctl -u k3s --since -10m`, `sudo systemctl start k3s`.
    /// When the port answers something other than TLS, find the program holding it
    /// (`sudo ss -ltnp 'sport = :6443'`). For certificate errors, refresh the kubeconfig from the cluster; for
    /// 401, renew the credentials; otherwise check that port 6443 is reachable from this machine.
    pub struct ApiReachable {
        id: "cluster.api-reachable",
        title: "Kubernetes API reachable",
        category: "cluster",
        modes: Both,
        depends_on: [],
        reads: [],
    }
}

#[async_trait]
impl Check for ApiReachable {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let target = ctx.evidence.kube.target().await;
        match ctx.evidence.kube.version().await {
            Ok(v) => {
                let server = target
                    .as_ref()
                    .map(|t| t.server.as_str())
                    .unwrap_or("the API server");
                Outcome::pass(format!("{server} answered, Kubernetes {}", v.git_version))
                    .detail("server_version", &v.git_version)
                    .detail("target", target.ok())
            }
            Err(err) => {
                let target = target.ok();
                let host = if asks_about_this_machine(&err, target.as_ref()) {
                    this_machine(ctx, target.as_ref()).await
                } else {
                    ThisMachine::Unknown
                };
                diagnose(&err, target.as_ref(), &host)
            }
        }
    }
}

/// What the evidence says about the machine mcp-doctor ran on, for a server at 127.0.0.1.
#[derive(Debug, Clone, PartialEq)]
enum ThisMachine {
    /// It is the k3s server: its node name when known, and what says so.
    K3sServer { node: Option<String>, why: String },
    /// Its node facts show none of a k3s server's files.
    NotServer { node: String },
    /// No evidence either way.
    Unknown,
}

/// The kubeconfig k3s writes on its server.
const K3S_KUBECONFIG: &str = "/etc/rancher/k3s/k3s.yaml";

/// A local development cluster named by the context (or cluster) of the kubeconfig: its kind (for the
/// message), the distribution (for the remediation) and its own name. kind, k3d, minikube and Docker Desktop
/// publish their API on 127.0.0.1 too, and a k3s-server or copied-kubeconfig diagnosis would be wrong there.
fn local_dev_cluster(
    target: Option<&KubeTarget>,
) -> Option<(&'static str, Option<Distribution>, String)> {
    let t = target?;
    [t.context.as_deref(), t.cluster.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|name| {
            if let Some(rest) = name.strip_prefix("kind-") {
                Some(("kind", Some(Distribution::Kind), rest.to_string()))
            } else if let Some(rest) = name.strip_prefix("k3d-") {
                Some(("k3d", None, rest.to_string()))
            } else if name == "minikube" {
                Some(("minikube", Some(Distribution::Minikube), name.to_string()))
            } else if name == "docker-desktop" {
                Some((
                    "Docker Desktop",
                    Some(Distribution::DockerDesktop),
                    name.to_string(),
                ))
            } else {
                None
            }
        })
}

/// Whether the diagnosis depends on which machine the run happened on: a loopback server, out of a pod,
/// that refused or accepted and stayed silent, and not a local development cluster.
fn asks_about_this_machine(err: &EvidenceError, target: Option<&KubeTarget>) -> bool {
    let Some(t) = target.filter(|t| !t.in_cluster) else {
        return false;
    };
    if local_dev_cluster(Some(t)).is_some() {
        return false;
    }
    matches!(
        err,
        EvidenceError::Unreachable {
            cause: UnreachableCause::Refused | UnreachableCause::Silent,
            ..
        }
    ) && is_loopback_server(&server_of(err, Some(t)))
}

/// Reads the node facts of this machine (`--host-root`, or the `--host-facts` file named like it) and the
/// kubeconfig path for whether this is the k3s server.
async fn this_machine(ctx: &Context, target: Option<&KubeTarget>) -> ThisMachine {
    let local = match ctx.evidence.host.local_node().await {
        Ok(Some(node)) => ctx
            .evidence
            .host
            .nodes()
            .await
            .ok()
            .and_then(|facts| facts.get(&node).cloned()),
        _ => None,
    };
    let own_file = target.and_then(|t| t.kubeconfig.as_deref()) == Some(K3S_KUBECONFIG);
    match local {
        Some(facts) => {
            let markers = facts.k3s_server_markers();
            if !markers.is_empty() {
                ThisMachine::K3sServer {
                    why: format!(
                        "node {} is the k3s server: it has {}",
                        facts.node,
                        markers.join(", ")
                    ),
                    node: Some(facts.node),
                }
            } else if own_file {
                ThisMachine::K3sServer {
                    node: Some(facts.node),
                    why: format!(
                        "the kubeconfig in use is {K3S_KUBECONFIG}, which k3s writes on its server"
                    ),
                }
            } else {
                ThisMachine::NotServer { node: facts.node }
            }
        }
        None if own_file => ThisMachine::K3sServer {
            node: None,
            why: format!(
                "the kubeconfig in use is {K3S_KUBECONFIG}, which k3s writes on its server"
            ),
        },
        None => ThisMachine::Unknown,
    }
}

fn server_of(err: &EvidenceError, target: Option<&KubeTarget>) -> String {
    match err {
        EvidenceError::Unreachable { server, .. } if !server.is_empty() => server.clone(),
        _ => target.map(|t| t.server.clone()).unwrap_or_default(),
    }
}

/// Names the cause of a failed `/version` call and the fix for it.
fn diagnose(err: &EvidenceError, target: Option<&KubeTarget>, host: &ThisMachine) -> Outcome {
    let mut vars = Vars::new();
    let kubeconfig = target
        .and_then(|t| t.kubeconfig.clone())
        .unwrap_or_else(|| "your kubeconfig".into());
    let server = server_of(err, target);
    vars.insert("kubeconfig", kubeconfig.clone());
    vars.insert("server", server.clone());
    vars.insert("port", server_port(&server));
    let loopback = is_loopback_server(&server) && target.is_some_and(|t| !t.in_cluster);
    let mut subjects: Vec<String> = target
        .and_then(|t| t.context.clone().or_else(|| t.cluster.clone()))
        .filter(|c| !c.is_empty())
        .map(|c| format!("cluster/{}", c.replace('/', "_")))
        .into_iter()
        .collect();
    let (outcome, remediation) = match err {
        EvidenceError::NotCollected { .. } | EvidenceError::NotConfigured { .. } => {
            return Outcome::skip(format!("cannot tell whether the API answered: {err}"));
        }
        EvidenceError::Unreachable {
            cause: UnreachableCause::NoKubeconfig,
            message,
            ..
        } => (
            Outcome::fail(format!("no cluster to talk to: {message}")),
            "rem.no-kubeconfig",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::BadKubeconfig,
            message,
            ..
        } => (Outcome::fail(message.clone()), "rem.bad-kubeconfig"),
        EvidenceError::Unreachable {
            cause: cause @ (UnreachableCause::Refused | UnreachableCause::Silent),
            ..
        } if loopback && local_dev_cluster(target).is_some() => {
            let (kind, distribution, name) = local_dev_cluster(target).unwrap_or_default();
            let context = target.and_then(|t| t.context.clone()).unwrap_or_default();
            vars.insert("context", context.clone());
            vars.insert("name", name);
            let seen = if *cause == UnreachableCause::Refused {
                format!("connection to {server} refused")
            } else {
                format!(
                    "something accepted the connection to {server} but never answered the TLS handshake"
                )
            };
            return Outcome::fail(format!(
                "{seen}: the local {kind} cluster of context {context} is not running (or still starting)"
            ))
            .detail("evidence_error", err)
            .detail("target", target)
            .subjects(subjects)
            .remediate("rem.local-cluster-down", distribution, &vars);
        }
        EvidenceError::Unreachable {
            cause: cause @ (UnreachableCause::Refused | UnreachableCause::Silent),
            ..
        } if loopback => {
            let refused = *cause == UnreachableCause::Refused;
            let (text, rem) = match host {
                ThisMachine::K3sServer { node, why } => {
                    if let Some(node) = node {
                        subjects.push(format!("node/{node}"));
                    }
                    let text = if refused {
                        format!(
                            "k3s is not running on this machine: the connection to {server} was refused \
                             ({why}, so {kubeconfig} rightly points at 127.0.0.1)"
                        )
                    } else {
                        format!(
                            "k3s is not answering on this machine: something accepted the connection to {server} \
                             but never answered the TLS handshake, so k3s is hung or still starting, or another \
                             program holds the port ({why})"
                        )
                    };
                    (text, "rem.k3s-not-running")
                }
                ThisMachine::NotServer { node } => {
                    let seen = if refused {
                        "the connection was refused".to_string()
                    } else {
                        "a local program accepted the connection but never answered the TLS handshake"
                            .to_string()
                    };
                    (
                        format!(
                            "kubeconfig {kubeconfig} points at {server} and {seen}; this machine ({node}) is not \
                             the k3s server (its node facts show no k3s server files): the kubeconfig was copied \
                             from the k3s server without replacing 127.0.0.1 with the server's address"
                        ),
                        "rem.kubeconfig-loopback",
                    )
                }
                ThisMachine::Unknown => {
                    let text = if refused {
                        format!(
                            "connection to {server} refused, and nothing tells whether this machine is the k3s \
                             server: either k3s is not running here, or kubeconfig {kubeconfig} was copied from \
                             the k3s server without replacing 127.0.0.1 with the server's address (run with \
                             --host-root / to tell which)"
                        )
                    } else {
                        format!(
                            "something accepted the connection to {server} but never answered the TLS handshake, \
                             and nothing tells whether this machine is the k3s server: either k3s \
                             here is hung or still starting (or another program holds the port), or kubeconfig \
                             {kubeconfig} was copied from the k3s server without replacing 127.0.0.1 with the \
                             server's address (run with --host-root / to tell which)"
                        )
                    };
                    (text, "rem.api-loopback-down")
                }
            };
            (Outcome::fail(text), rem)
        }
        EvidenceError::Unreachable {
            cause: UnreachableCause::Dns,
            message,
            ..
        } => (
            Outcome::fail(format!(
                "the API server name in {server} does not resolve from here ({message})"
            )),
            "rem.api-unreachable",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::Refused,
            ..
        } => (
            Outcome::fail(format!(
                "connection to {server} refused: nothing listens there (API server down, wrong port, or a firewall rejecting 6443)"
            )),
            "rem.api-unreachable",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::Silent,
            ..
        } => (
            Outcome::fail(format!(
                "{server} accepted the connection but never answered the TLS handshake: the API server is hung \
                 or still starting, or a load balancer or proxy in front of it has no backend"
            )),
            "rem.api-unreachable",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::Timeout,
            ..
        }
        | EvidenceError::Timeout { .. } => {
            return Outcome::error(format!("no answer from {server} in time: {err}"))
                .detail("evidence_error", err)
                .subjects(subjects)
                .remediate("rem.api-unreachable", None, &vars);
        }
        EvidenceError::Unreachable {
            cause: UnreachableCause::Tls,
            message,
            ..
        } => (
            Outcome::fail(format!(
                "TLS handshake with {server} failed: the certificate does not match the CA in {kubeconfig} ({message})"
            )),
            "rem.api-tls",
        ),
        EvidenceError::Unreachable {
            cause: UnreachableCause::TlsProtocol,
            message,
            ..
        } => (
            Outcome::fail(format!(
                "{server} accepted the connection but did not complete a TLS handshake ({message}): what listens \
                 there is not the Kubernetes API server (plain HTTP, another protocol, or a program that drops the \
                 connection)"
            )),
            "rem.api-not-tls",
        ),
        EvidenceError::Unauthorized { .. } => (
            Outcome::fail(format!(
                "{server} rejected the credentials in {kubeconfig} (401 Unauthorized): expired or revoked token or certificate"
            )),
            "rem.api-credentials",
        ),
        other => (
            Outcome::fail(format!("{server} did not answer /version: {other}")),
            "rem.api-unreachable",
        ),
    };
    let outcome = outcome
        .detail("evidence_error", err)
        .detail("target", target);
    let outcome = match host {
        ThisMachine::Unknown => outcome,
        ThisMachine::K3sServer { why, .. } => outcome.detail("this_machine", why),
        ThisMachine::NotServer { node } => outcome.detail(
            "this_machine",
            format!("node {node}, not a k3s server (no k3s server files in its node facts)"),
        ),
    };
    outcome
        .subjects(subjects)
        .remediate(remediation, None, &vars)
}

fn is_loopback_server(server: &str) -> bool {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

/// The port of a server URL as text (`6443`); 443 when the URL names none.
fn server_port(server: &str) -> String {
    server
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.port_u16())
        .unwrap_or(443)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn target(server: &str) -> KubeTarget {
        KubeTarget {
            kubeconfig: Some("/home/ops/mcp-k3s.yaml".into()),
            context: Some("default".into()),
            server: server.into(),
            ..Default::default()
        }
    }

    fn unreachable(cause: UnreachableCause, server: &str) -> EvidenceError {
        EvidenceError::Unreachable {
            cause,
            server: server.into(),
            message: "boom".into(),
        }
    }

    const LOOPBACK: &str = "https://127.0.0.1:6443";

    fn server_here() -> ThisMachine {
        ThisMachine::K3sServer {
            node: Some("mcp-cp-1".into()),
            why: "node mcp-cp-1 is the k3s server: it has /etc/rancher/k3s/k3s.yaml".into(),
        }
    }

    fn workstation() -> ThisMachine {
        ThisMachine::NotServer {
            node: "ops-laptop".into(),
        }
    }

    #[test]
    fn copied_k3s_kubeconfig_gets_the_sed_fix_only_off_the_server() {
        for cause in [UnreachableCause::Refused, UnreachableCause::Silent] {
            let o = diagnose(
                &unreachable(cause, LOOPBACK),
                Some(&target(LOOPBACK)),
                &workstation(),
            );
            assert_eq!(o.status, Status::Fail);
            assert!(
                o.message.contains("without replacing 127.0.0.1")
                    && o.message.contains("(ops-laptop) is not the k3s server"),
                "{}",
                o.message
            );
            let r = o.remediation.unwrap();
            assert_eq!(r.id, "rem.kubeconfig-loopback");
            assert!(r.text.contains("sed -i.bak 's/127.0.0.1/"));
        }
    }

    #[test]
    fn on_the_k3s_server_k3s_is_not_running() {
        let o = diagnose(
            &unreachable(UnreachableCause::Refused, LOOPBACK),
            Some(&target(LOOPBACK)),
            &server_here(),
        );
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message.starts_with("k3s is not running on this machine"),
            "{}",
            o.message
        );
        assert!(!o.message.contains("copied"), "{}", o.message);
        assert_eq!(o.subjects, ["cluster/default", "node/mcp-cp-1"]);
        let r = o.remediation.unwrap();
        assert_eq!(r.id, "rem.k3s-not-running");
        for cmd in [
            "sudo systemctl status k3s",
            "sudo journalctl -u k3s --since -10m",
            "sudo systemctl start k3s",
        ] {
            assert!(r.text.contains(cmd), "{cmd}: {}", r.text);
        }
        assert!(!r.text.contains("sed "), "{}", r.text);

        let silent = diagnose(
            &unreachable(UnreachableCause::Silent, LOOPBACK),
            Some(&target(LOOPBACK)),
            &server_here(),
        );
        assert!(
            silent
                .message
                .starts_with("k3s is not answering on this machine")
                && silent.message.contains("accepted the connection")
                && !silent.message.contains("refused"),
            "{}",
            silent.message
        );
        assert_eq!(silent.remediation.unwrap().id, "rem.k3s-not-running");
    }

    #[test]
    fn without_host_evidence_both_causes_are_named() {
        for (cause, seen) in [
            (UnreachableCause::Refused, "refused"),
            (UnreachableCause::Silent, "never answered the TLS handshake"),
        ] {
            let o = diagnose(
                &unreachable(cause, LOOPBACK),
                Some(&target(LOOPBACK)),
                &ThisMachine::Unknown,
            );
            assert_eq!(o.status, Status::Fail);
            for needle in [seen, "k3s", "was copied from the k3s server", "--host-root"] {
                assert!(o.message.contains(needle), "{needle}: {}", o.message);
            }
            let r = o.remediation.unwrap();
            assert_eq!(r.id, "rem.api-loopback-down");
            assert!(r.text.contains("sudo systemctl status k3s") && r.text.contains("sed -i.bak"));
        }
    }

    #[test]
    fn refused_silent_and_tls_failures_are_told_apart() {
        let t = target("https://10.0.0.11:6443");
        let cases = [
            (
                unreachable(UnreachableCause::Refused, "https://10.0.0.11:6443"),
                "refused",
                "rem.api-unreachable",
            ),
            (
                unreachable(UnreachableCause::Silent, "https://10.0.0.11:6443"),
                "accepted the connection but never answered the TLS handshake",
                "rem.api-unreachable",
            ),
            (
                unreachable(UnreachableCause::TlsProtocol, "https://10.0.0.11:6443"),
                "did not complete a TLS handshake",
                "rem.api-not-tls",
            ),
            (
                unreachable(UnreachableCause::Dns, "https://cp.example.test:6443"),
                "does not resolve",
                "rem.api-unreachable",
            ),
            (
                unreachable(UnreachableCause::Tls, "https://10.0.0.11:6443"),
                "the certificate does not match the CA",
                "rem.api-tls",
            ),
            (
                EvidenceError::Unauthorized {
                    message: "Unauthorized".into(),
                },
                "401",
                "rem.api-credentials",
            ),
            (
                unreachable(UnreachableCause::NoKubeconfig, ""),
                "no cluster",
                "rem.no-kubeconfig",
            ),
            (
                unreachable(UnreachableCause::BadKubeconfig, ""),
                "boom",
                "rem.bad-kubeconfig",
            ),
        ];
        for (err, needle, rem) in cases {
            let o = diagnose(&err, Some(&t), &ThisMachine::Unknown);
            assert_eq!(o.status, Status::Fail, "{err:?}");
            assert!(o.message.contains(needle), "{needle}: {}", o.message);
            assert_eq!(o.remediation.as_ref().unwrap().id, rem);
        }
    }

    #[test]
    fn a_loopback_port_speaking_no_tls_is_not_called_copied() {
        for host in [server_here(), workstation(), ThisMachine::Unknown] {
            let o = diagnose(
                &unreachable(UnreachableCause::TlsProtocol, LOOPBACK),
                Some(&target(LOOPBACK)),
                &host,
            );
            assert!(
                o.message.contains("did not complete a TLS handshake")
                    && !o.message.contains("copied"),
                "{}",
                o.message
            );
            assert_eq!(o.remediation.unwrap().id, "rem.api-not-tls");
        }
    }

    #[test]
    fn only_a_refused_or_silent_loopback_asks_which_machine_this_is() {
        let t = target(LOOPBACK);
        assert!(asks_about_this_machine(
            &unreachable(UnreachableCause::Refused, LOOPBACK),
            Some(&t)
        ));
        assert!(asks_about_this_machine(
            &unreachable(UnreachableCause::Silent, LOOPBACK),
            Some(&t)
        ));
        assert!(!asks_about_this_machine(
            &unreachable(UnreachableCause::Tls, LOOPBACK),
            Some(&t)
        ));
        assert!(!asks_about_this_machine(
            &unreachable(UnreachableCause::Refused, "https://10.0.0.11:6443"),
            Some(&target("https://10.0.0.11:6443"))
        ));
        let pod = KubeTarget {
            in_cluster: true,
            ..target(LOOPBACK)
        };
        assert!(!asks_about_this_machine(
            &unreachable(UnreachableCause::Refused, LOOPBACK),
            Some(&pod)
        ));
    }

    /// A recorded refusal of 127.0.0.1 judged with (or without) the node facts of the machine it ran on.
    async fn replayed(kubeconfig: &str, facts: Option<(&str, &[(&str, u32)])>) -> Outcome {
        use crate::test_support::{context, host_facts};
        use serde_json::json;
        let node_file = facts.map(|(node, _)| format!("host/{node}.json"));
        let mut files = vec![
            (
                "evidence/kube/target.json",
                json!({"key": "kube/target", "ok": {"kubeconfig": kubeconfig, "context": "default",
                       "server": LOOPBACK, "in_cluster": false}}),
            ),
            (
                "evidence/kube/version.json",
                json!({"key": "kube/version", "error": unreachable(UnreachableCause::Refused, LOOPBACK)}),
            ),
        ];
        if let (Some((node, present)), Some(file)) = (facts, node_file.as_deref()) {
            files.push((file, host_facts(node, &[], present)));
            files.push((
                "evidence/host/local.json",
                json!({"key": "host/local", "ok": node}),
            ));
        }
        context(&files, &[]).run(&ApiReachable).await
    }

    #[tokio::test]
    async fn node_facts_of_this_machine_decide_between_k3s_down_and_a_copied_kubeconfig() {
        use crate::test_support::expect;
        let server = [
            ("/etc/rancher/k3s/k3s.yaml", 0o600),
            ("/var/lib/rancher/k3s/server/token", 0o600),
        ];
        let o = replayed("/root/.kube/config", Some(("mcp-cp-1", &server))).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "k3s is not running on this machine",
                "node mcp-cp-1 is the k3s server",
            ],
        );
        assert_eq!(rem, "rem.k3s-not-running");

        let agent = [("/etc/systemd/system/k3s-agent.service", 0o644)];
        let o = replayed("/home/ops/mcp-k3s.yaml", Some(("ops-laptop", &agent))).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "(ops-laptop) is not the k3s server",
                "without replacing 127.0.0.1",
            ],
        );
        assert_eq!(rem, "rem.kubeconfig-loopback");

        let o = replayed(K3S_KUBECONFIG, None).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "k3s is not running on this machine",
                "which k3s writes on its server",
            ],
        );
        assert_eq!(rem, "rem.k3s-not-running");

        let o = replayed("/home/ops/mcp-k3s.yaml", None).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "either k3s is not running here",
                "was copied from the k3s server",
            ],
        );
        assert_eq!(rem, "rem.api-loopback-down");
    }

    #[test]
    fn a_local_dev_cluster_on_loopback_is_neither_k3s_nor_copied() {
        let kind = KubeTarget {
            context: Some("kind-dev".into()),
            cluster: Some("kind-dev".into()),
            ..target("https://127.0.0.1:41234")
        };
        let err = unreachable(UnreachableCause::Refused, "https://127.0.0.1:41234");
        assert!(!asks_about_this_machine(&err, Some(&kind)));
        let o = diagnose(&err, Some(&kind), &ThisMachine::Unknown);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.message
                .contains("the local kind cluster of context kind-dev is not running")
                && !o.message.contains("k3s")
                && !o.message.contains("copied"),
            "{}",
            o.message
        );
        let r = o.remediation.unwrap();
        assert_eq!(r.id, "rem.local-cluster-down");
        assert!(
            r.text.contains("docker start dev-control-plane"),
            "{}",
            r.text
        );
    }

    #[test]
    fn timeout_is_an_error_not_a_failure() {
        let o = diagnose(
            &EvidenceError::Timeout {
                what: "/version".into(),
                secs: 2,
            },
            Some(&target("https://10.0.0.11:6443")),
            &ThisMachine::Unknown,
        );
        assert_eq!(o.status, Status::Error);
    }
}
