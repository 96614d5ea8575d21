use std::time::Duration;

use async_trait::async_trait;
use mcp_doctor_remediations::Vars;
use serde_json::json;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::probe_objects::{
    PROBE_NAMESPACE, new_run_id, probe_metadata, restricted_pod, run_pod,
};
use crate::http01::hosts;
use crate::model::{CheckMeta, Outcome};

declare_check! {
    /// ### What it checks
    /// Opt-in (`--probe-pods`): from inside the cluster, each public host (`platform.<domain>`,
    /// `registry.<domain>`, `mcp.<domain>`) resolves through the cluster's DNS (CoreDNS), as the pods that
    /// push to, pull from or call the platform see it. A short-lived probe pod in `default` runs
    /// `nslookup` for each host (image `--probe-image`, busybox by default: air-gapped clusters point it at
    /// their registry), under the restricted Pod Security Standard, with `activeDeadlineSeconds`, labelled
    /// `app.kubernetes.io/managed-by=mcp-doctor` and a run id; its log is the result, and the pod is
    /// deleted on success, failure, timeout and Ctrl-C (`mcp-doctor sweep` removes what a killed run left
    /// once it expired). Only host names go into the pod.
    ///
    /// ### Why it matters
    /// This machine resolving a host proves nothing about the cluster: CoreDNS forwards to the nodes'
    /// resolvers (or its own `forward`), and a host that only exists in a laptop's `/etc/hosts` or a
    /// split-horizon zone fails inside with `dial tcp: lookup registry.example.com: no such host` (the
    /// seed's image-publish failure).
    ///
    /// ### What a failure looks like
    /// `inside the cluster registry.example.com does not resolve: ** server can't find
    /// registry.example.com: NXDOMAIN`; a probe pod that never starts is an `error` naming its waiting
    /// reason (e.g. `ImagePullBackOff` for an image the nodes cannot pull).
    ///
    /// ### How to fix
    /// Give CoreDNS an upstream that knows the names (its `forward` plugin, or k3s `--resolv-conf`), or add
    /// them to CoreDNS's `NodeHosts`; for a probe pod that cannot start, pass `--probe-image` with a busybox
    /// image the nodes can pull.
    pub struct InCluster {
        id: "dns.in-cluster",
        title: "Public hosts resolve inside the cluster (opt-in probe pod)",
        category: "dns",
        modes: Both,
        depends_on: [],
        reads: [],
        timeout_secs: 90,
    }
}

/// How long the check waits for the probe pod to finish (a cold image pull included).
const POD_WAIT: Duration = Duration::from_secs(60);
/// The kubelet stops the pod after this; `sweep` may delete it after [`POD_LIFETIME`].
const POD_DEADLINE: Duration = Duration::from_secs(120);
const POD_LIFETIME: Duration = Duration::from_secs(180);
const CONTAINER: &str = "dns";
/// One line per host, `mcp-doctor-dns <host> <exit code> <addresses, or nslookup's error line>`; the hosts
/// are the script's arguments, never spliced into it.
const SCRIPT: &str = r#"for h in "$@"; do
  out=$(nslookup "$h" 2>&1); rc=$?
  addrs=$(printf '%s\n' "$out" | awk '/^Name:/{n=1;next} n && /^Address/{print $NF}' | tr '\n' ' ')
  err=$(printf '%s\n' "$out" | grep -m1 '^\*\*')
  printf 'mcp-doctor-dns %s %s %s\n' "$h" "$rc" "${addrs:-$err}"
done"#;
const LINE_PREFIX: &str = "mcp-doctor-dns ";

#[async_trait]
impl Check for InCluster {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        if !ctx.config.flag("probe_pods") {
            return Some(
                "opt-in: pass --probe-pods to ask the cluster's DNS from a short-lived pod".into(),
            );
        }
        hosts(&ctx.config).is_empty().then(|| {
            "no public hosts are configured (MCP_PLATFORM_DOMAIN or MCP_*_INGRESS_HOST)".into()
        })
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let Some(objects) = ctx.objects.clone() else {
            return Outcome::skip(
                "an in-cluster probe runs a pod, which only a live run against a cluster can do",
            );
        };
        let hosts = hosts(&ctx.config);
        let image = ctx.config.value("probe_image").unwrap_or("busybox:1.36");
        let run_id = new_run_id();
        let name = format!("mcp-doctor-dns-{run_id}");
        let meta = probe_metadata(
            &name,
            PROBE_NAMESPACE,
            &run_id,
            "mcp-doctor-dns-probe",
            POD_LIFETIME,
        );
        let mut command = vec![
            "sh".to_string(),
            "-c".into(),
            SCRIPT.into(),
            "mcp-doctor-dns".into(),
        ];
        command.extend(hosts.iter().cloned());
        let container = json!({
            "name": CONTAINER,
            "image": image,
            "command": command,
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "32Mi"}},
        });
        let pod = restricted_pod(meta, container, POD_DEADLINE);
        let shown = format!("probe pod {PROBE_NAMESPACE}/{name} (image {image})");
        let run = match run_pod(objects.as_ref(), pod, CONTAINER, POD_WAIT).await {
            Ok(r) => r,
            Err(e) => return unreadable(&format!("the result of the {shown}"), &e),
        };
        let Some(log) = run.log.as_deref().filter(|_| run.phase == "Succeeded") else {
            let why = match (&run.waiting, &run.log) {
                (Some(w), _) => format!("did not finish within {}s: {w}", POD_WAIT.as_secs()),
                (None, Some(log)) => format!("ended {}: {}", run.phase, last_line(log)),
                (None, None) => format!("ended {}", run.phase),
            };
            let mut vars = Vars::new();
            vars.insert("image", image.to_string());
            return Outcome::error(format!("the {shown} {why}"))
                .detail("run_id", &run_id)
                .remediate("rem.probe-image", ctx.distribution().await, &vars);
        };
        let mut resolved = Vec::new();
        let mut failed = Vec::new();
        for host in &hosts {
            let line = log
                .lines()
                .filter_map(|l| l.strip_prefix(LINE_PREFIX))
                .find(|l| l.split_whitespace().next() == Some(host.as_str()));
            let Some(line) = line else {
                failed.push((
                    host.clone(),
                    "the probe printed no answer for it".to_string(),
                ));
                continue;
            };
            let mut parts = line.splitn(3, ' ');
            let (_, code, rest) = (
                parts.next(),
                parts.next(),
                parts.next().unwrap_or("").trim(),
            );
            if code == Some("0") && !rest.is_empty() {
                resolved.push(format!(
                    "{host} {}",
                    rest.split_whitespace().collect::<Vec<_>>().join(", ")
                ));
            } else if rest.is_empty() {
                failed.push((host.clone(), "no address in the answer".to_string()));
            } else {
                failed.push((host.clone(), rest.to_string()));
            }
        }
        if failed.is_empty() {
            return Outcome::pass(format!(
                "inside the cluster (probe pod, image {image}): {}",
                resolved.join("; ")
            ))
            .detail("run_id", &run_id);
        }
        let message = failed
            .iter()
            .map(|(h, why)| format!("inside the cluster {h} does not resolve: {why}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut vars = Vars::new();
        vars.insert("host", failed[0].0.clone());
        Outcome::fail(message)
            .detail("run_id", &run_id)
            .detail("resolved", resolved)
            .subjects(failed.iter().map(|(h, _)| format!("host/{h}")))
            .remediate("rem.dns-in-cluster", ctx.distribution().await, &vars)
    }
}

fn last_line(log: &str) -> &str {
    log.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
}
