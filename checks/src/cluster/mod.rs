//! Cluster checks: the API, nodes, core add-ons and storage.

mod api_reachable;
mod coredns;
mod default_storage_class;
mod distribution;
mod nodes_architecture;
mod nodes_pressure;
mod nodes_ready;
mod nodes_schedulable;
mod permissions;
mod stuck_terminating;
mod version_skew;

pub use api_reachable::ApiReachable;
pub use coredns::CoreDns;
pub use default_storage_class::DefaultStorageClass;
pub use distribution::ClusterDistribution;
pub use permissions::Permissions;
pub use stuck_terminating::{MCPSERVER_CRD, PLATFORM_NAMESPACES, StuckTerminating};
pub use version_skew::VersionSkew;

use crate::Check;

/// The cluster checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(ApiReachable),
        Box::new(Permissions),
        Box::new(ClusterDistribution),
        Box::new(VersionSkew),
        Box::new(nodes_ready::NodesReady),
        Box::new(nodes_architecture::NodesArchitecture),
        Box::new(nodes_pressure::NodesPressure),
        Box::new(nodes_schedulable::NodesSchedulable),
        Box::new(CoreDns),
        Box::new(DefaultStorageClass),
        Box::new(StuckTerminating),
    ]
}
