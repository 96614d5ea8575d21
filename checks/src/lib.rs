//! mcp-doctor's checks and everything they stand on: the check model, the registry, and the evidence layer
//! (live and replayed) through which every check reads its facts.
//!
//! Adding a check: write one file under its area (e.g. `cluster/nodes_ready.rs` for `nodes.ready`) with a
//! [`declare_check!`] whose doc comment has the sections *What it checks*, *Why it matters*, *What a failure
//! looks like* and *How to fix*, implement [`Check`], and add one line to the area's `checks()`.

pub mod check;
pub mod collect;
pub mod collect_nodes;
pub mod evidence;
pub mod facts;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod model;
pub mod registry;
pub mod settings;
#[cfg(test)]
mod test_support;

pub mod certmanager;
pub mod cluster;
pub mod config;
pub mod containerd;
pub mod dns;
pub mod http01;
pub mod image_registry;
pub mod images;
pub mod ingress;
pub mod node;
pub mod platform;
pub mod svclb;
pub mod tls;

pub use check::{Check, Context, unreadable};
pub use model::{CheckMeta, Mode, Modes, Outcome, Profile, ReadScope, Status};
pub use registry::{Registry, RegistryError};

/// Every built-in check, in registry (report) order.
pub fn all_checks() -> Vec<Box<dyn Check>> {
    let mut v = Vec::new();
    v.extend(config::checks());
    v.extend(dns::checks());
    v.extend(http01::checks());
    v.extend(cluster::checks());
    v.extend(ingress::checks());
    v.extend(svclb::checks());
    v.extend(node::checks());
    v.extend(containerd::checks());
    v.extend(image_registry::checks());
    v.extend(tls::checks());
    v.extend(certmanager::checks());
    v.extend(platform::checks());
    v.extend(images::checks());
    v
}
