//! containerd and registries: image references, each node's registry configuration, and the simulator that
//! predicts which endpoints containerd tries for an image and how the pull ends.

mod ca_trust;
pub mod config;
mod config_valid;
pub mod fix;
mod image_refs;
mod insecure_in_prod;
pub(crate) mod mirror_match;
mod node_drift;
pub mod reference;
pub mod simulate;
pub mod trust;

pub use ca_trust::ContainerdCaTrust;
pub use config_valid::ContainerdConfigValid;
pub use image_refs::RegistryImageRefs;
pub use insecure_in_prod::ContainerdInsecureInProd;
pub use mirror_match::ContainerdMirrorMatch;
pub use node_drift::ContainerdNodeDrift;

use crate::Check;

/// The containerd and registry checks.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(ContainerdConfigValid),
        Box::new(ContainerdMirrorMatch),
        Box::new(ContainerdCaTrust),
        Box::new(ContainerdNodeDrift),
        Box::new(ContainerdInsecureInProd),
        Box::new(RegistryImageRefs),
    ]
}
