use async_trait::async_trait;
use mcp_doctor_remediations::Vars;
use serde_json::json;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::host::{DiskUsage, HostFacts};
use crate::facts;
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// From each node's host facts, the free space and free inodes of the node filesystem (`/`) and of the
    /// image filesystem (`/var/lib/rancher` on k3s/rke2, else `/var/lib/containerd`) against the kubelet's
    /// default hard eviction thresholds: `nodefs.available<10%`, `imagefs.available<15%`,
    /// `nodefs.inodesFree<5%`, `imagefs.inodesFree<5%`. Below a threshold fails; within 10 percentage points
    /// above it warns.
    ///
    /// ### Why it matters
    /// When a threshold is crossed the kubelet sets DiskPressure: it evicts pods and taints the node
    /// `node.kubernetes.io/disk-pressure:NoSchedule`. Setup's image build-and-push phase on a small node is
    /// exactly what crosses it, leaving `registry-pusher-*` Pending halfway through the install. Warning
    /// before that lets you free space first. On a single-disk node both filesystems are the same one, so
    /// the 15% image threshold is the one that bites.
    ///
    /// ### What a failure looks like
    /// `node mcp-worker-1: / has 8% free (1.6 GiB of 20.0 GiB), below the kubelet's nodefs.available<10%
    /// eviction threshold: the kubelet sets DiskPressure`, or the warning `node mcp-worker-1: / has 14% free
    /// (2.8 GiB of 20.0 GiB), within 10 points of the kubelet's nodefs.available<10% eviction threshold`.
    ///
    /// ### How to fix
    /// On the node, find what uses the space (`du -xh --max-depth=2 /var/lib/rancher | sort -h`), remove
    /// unused images (`k3s crictl rmi --prune`), clear build caches under `/tmp` and `/root/.cache/go-build`,
    /// or grow the disk. Past the threshold, follow the disk-pressure recovery (restart the runtime, verify
    /// `DiskPressure=False`).
    pub struct NodeDiskUsage {
        id: "node.disk-usage",
        title: "Node disks are above the kubelet's eviction thresholds",
        category: "node",
        modes: Both,
        depends_on: [],
        reads: [],
    }
}

/// Warn when free space is within this many percentage points above a threshold.
const WARN_MARGIN: f64 = 10.0;

/// Where the image filesystem lives, first found wins: k3s/rke2 keep containerd's root under
/// `/var/lib/rancher`, plain containerd under `/var/lib/containerd`.
const IMAGE_FS_PATHS: &[&str] = &["/var/lib/rancher", "/var/lib/containerd"];

/// One of the kubelet's default hard eviction signals.
struct Signal {
    name: &'static str,
    threshold: f64,
    inodes: bool,
}

const NODEFS: [Signal; 2] = [
    Signal {
        name: "nodefs.available",
        threshold: 10.0,
        inodes: false,
    },
    Signal {
        name: "nodefs.inodesFree",
        threshold: 5.0,
        inodes: true,
    },
];
const IMAGEFS: [Signal; 2] = [
    Signal {
        name: "imagefs.available",
        threshold: 15.0,
        inodes: false,
    },
    Signal {
        name: "imagefs.inodesFree",
        threshold: 5.0,
        inodes: true,
    },
];

/// A signal at or near its threshold on one node's filesystem.
struct Finding {
    status: Status,
    node: String,
    path: &'static str,
    message: String,
}

/// `14` or `8.5`: truncated to one decimal, so a value below a whole-number threshold never reads as equal
/// to it (9.96 is `9.9`, not `10`).
fn percent(p: f64) -> String {
    let s = format!("{:.1}", (p * 10.0 + 1e-6).floor() / 10.0);
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

fn judge(node: &str, path: &'static str, usage: &DiskUsage, signal: &Signal) -> Option<Finding> {
    let (free, what) = if signal.inodes {
        (
            usage.free_inodes_percent(),
            format!(
                "of inodes free ({} of {})",
                usage.free_inodes, usage.total_inodes
            ),
        )
    } else {
        (
            usage.available_percent(),
            format!(
                "free ({} of {})",
                gib(usage.available_bytes),
                gib(usage.total_bytes)
            ),
        )
    };
    let threshold = format!(
        "the kubelet's {}<{}% eviction threshold",
        signal.name,
        percent(signal.threshold)
    );
    let (status, verdict) = if free < signal.threshold {
        (
            Status::Fail,
            format!("below {threshold}: the kubelet sets DiskPressure"),
        )
    } else if free < signal.threshold + WARN_MARGIN {
        (
            Status::Warn,
            format!("within {} points of {threshold}", percent(WARN_MARGIN)),
        )
    } else {
        return None;
    };
    let message = format!(
        "node {node}: {path} has {}% {what}, {verdict}",
        percent(free)
    );
    Some(Finding {
        status,
        node: node.to_string(),
        path,
        message,
    })
}

/// The filesystems of one node that are judged, with the signals that apply to each.
fn filesystems(facts: &HostFacts) -> Vec<(&'static str, &DiskUsage, &'static [Signal; 2])> {
    let mut out = Vec::new();
    if let Some(root) = facts.disks.get("/") {
        out.push(("/", root, &NODEFS));
    }
    if let Some((path, usage)) = IMAGE_FS_PATHS
        .iter()
        .find_map(|p| facts.disks.get(*p).map(|u| (*p, u)))
    {
        out.push((path, usage, &IMAGEFS));
    }
    out
}

#[async_trait]
impl Check for NodeDiskUsage {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = match ctx.evidence.host.nodes().await {
            Ok(hosts) => hosts,
            Err(e) => return unreadable("node facts", &e),
        };
        let mut findings = Vec::new();
        let mut measured = Vec::new();
        let mut not_measured = Vec::new();
        for (node, facts) in hosts.iter() {
            let filesystems = filesystems(facts);
            if !filesystems.iter().any(|(path, _, _)| *path == "/") {
                not_measured.push(node.clone());
            }
            for (path, usage, signals) in filesystems {
                findings.extend(signals.iter().filter_map(|s| judge(node, path, usage, s)));
                measured.push(json!({
                    "node": node,
                    "path": path,
                    "available_percent": usage.available_percent(),
                    "free_inodes_percent": usage.free_inodes_percent(),
                    "available_bytes": usage.available_bytes,
                    "total_bytes": usage.total_bytes,
                }));
            }
        }
        if measured.is_empty() {
            return Outcome::skip(format!(
                "the node facts ({} node(s)) hold no disk usage: collect them with `mcp-doctor host-facts` on \
                 each node, or pass --host-root /",
                hosts.len()
            ));
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.status));
        let Some(lead) = findings.first() else {
            let gap = match not_measured.as_slice() {
                [] => String::new(),
                nodes => format!(
                    " (no disk usage collected for {})",
                    facts::listed(nodes, ", ")
                ),
            };
            return Outcome::pass(format!(
                "{} node(s) have free space and inodes at least {} points above the kubelet's eviction \
                 thresholds{gap}",
                hosts.len() - not_measured.len(),
                percent(WARN_MARGIN)
            ))
            .detail("filesystems", &measured)
            .detail("not_measured", &not_measured);
        };
        let vars = Vars::from([("node", lead.node.clone()), ("path", lead.path.to_string())]);
        let remediation = if lead.status == Status::Fail {
            "rem.disk-pressure"
        } else {
            "rem.disk-space"
        };
        let message = findings
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Outcome::of(lead.status, message)
            .detail("filesystems", &measured)
            .detail("not_measured", &not_measured)
            .remediate(remediation, ctx.distribution().await, &vars)
            .subjects(
                findings
                    .iter()
                    .filter(|f| f.status == lead.status)
                    .map(|f| format!("node/{}", f.node)),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{context, host_facts};

    const GIB: u64 = 1 << 30;

    /// A node whose `/` has `root_free` GiB of 20 free and whose `/var/lib/rancher` (a separate disk) has
    /// `rancher_free` GiB of 100 free; inodes are plentiful.
    fn node(name: &str, root_free: f64, rancher_free: f64) -> serde_json::Value {
        let gib = |g: f64| (g * GIB as f64) as u64;
        host_facts(
            name,
            &[
                ("/", gib(root_free), 20 * GIB, 900_000, 1_310_720),
                (
                    "/var/lib/rancher",
                    gib(rancher_free),
                    100 * GIB,
                    6_000_000,
                    6_553_600,
                ),
            ],
            &[],
        )
    }

    #[tokio::test]
    async fn passes_with_room_to_spare() {
        let ctx = context(
            &[("host/mcp-worker-1.json", node("mcp-worker-1", 12.0, 60.0))],
            &[],
        );
        let out = NodeDiskUsage.run(&ctx).await;
        assert_eq!(out.status, Status::Pass, "{out:?}");
    }

    #[tokio::test]
    async fn warns_within_ten_points_of_the_nodefs_threshold() {
        let ctx = context(
            &[("host/mcp-worker-1.json", node("mcp-worker-1", 2.8, 60.0))],
            &[],
        );
        let out = NodeDiskUsage.run(&ctx).await;
        assert_eq!(out.status, Status::Warn);
        assert_eq!(
            out.message,
            "node mcp-worker-1: / has 14% free (2.8 GiB of 20.0 GiB), within 10 points of the kubelet's \
             nodefs.available<10% eviction threshold"
        );
        let rem = out.remediation.expect("remediation");
        assert_eq!(rem.id, "rem.disk-space");
        assert!(rem.text.contains("/ on mcp-worker-1"), "{}", rem.text);
    }

    #[tokio::test]
    async fn fails_below_the_imagefs_threshold() {
        let ctx = context(
            &[("host/mcp-worker-1.json", node("mcp-worker-1", 12.0, 12.0))],
            &[],
        );
        let out = NodeDiskUsage.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "node mcp-worker-1: /var/lib/rancher has 12% free (12.0 GiB of 100.0 GiB), below the kubelet's \
             imagefs.available<15% eviction threshold: the kubelet sets DiskPressure"
        );
        assert_eq!(
            out.remediation.expect("remediation").id,
            "rem.disk-pressure"
        );
    }

    #[tokio::test]
    async fn fails_when_inodes_run_out() {
        let facts = host_facts(
            "mcp-cp-1",
            &[("/", 10 * GIB, 20 * GIB, 30_000, 1_310_720)],
            &[],
        );
        let ctx = context(&[("host/mcp-cp-1.json", facts)], &[]);
        let out = NodeDiskUsage.run(&ctx).await;
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.message,
            "node mcp-cp-1: / has 2.2% of inodes free (30000 of 1310720), below the kubelet's nodefs.inodesFree<5% \
             eviction threshold: the kubelet sets DiskPressure"
        );
    }

    #[tokio::test]
    async fn skips_without_host_facts() {
        let ctx = context(&[], &[]);
        let out = NodeDiskUsage.run(&ctx).await;
        assert_eq!(out.status, Status::Skip);
        assert!(out.message.contains("node facts"), "{}", out.message);
    }
}
