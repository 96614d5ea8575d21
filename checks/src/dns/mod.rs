//! dns checks: the public names the platform is reached by, as this machine's resolver and the chosen
//! DNS servers answer for them.

mod caa;
mod consistent;
mod hosts_config;
mod in_cluster;
pub mod ingress;
pub mod lookup;
mod points_at_ingress;
mod reserved_address;
mod resolve;

pub use caa::Caa;
pub use consistent::Consistent;
pub use hosts_config::{HostsConfig, dns_name_problem};
pub use in_cluster::InCluster;
pub use points_at_ingress::PointsAtIngress;
pub use reserved_address::ReservedAddress;
pub use resolve::Resolve;

use crate::Check;

pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(HostsConfig),
        Box::new(Resolve),
        Box::new(PointsAtIngress),
        Box::new(Consistent),
        Box::new(ReservedAddress),
        Box::new(Caa),
        Box::new(InCluster),
    ]
}

#[cfg(test)]
mod tests;
