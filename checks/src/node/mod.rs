//! Node checks: facts read on the nodes themselves (`--host-root`, or `host-facts` JSON files).

mod disk_usage;
mod hosts_entry;
mod kubeconfig;

pub use disk_usage::NodeDiskUsage;
pub use hosts_entry::NodeHostsEntry;
pub use kubeconfig::NodeKubeconfig;

use crate::Check;

/// The node checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(NodeHostsEntry),
        Box::new(NodeDiskUsage),
        Box::new(NodeKubeconfig),
    ]
}
