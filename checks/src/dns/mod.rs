//! dns checks: the public names the platform is reached by.

mod hosts_config;

pub use hosts_config::{HostsConfig, dns_name_problem};

use crate::Check;

pub fn checks() -> Vec<Box<dyn Check>> {
    vec![Box::new(HostsConfig)]
}
