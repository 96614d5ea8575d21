//! containerd and registries: image references, each node's registry configuration, and the simulator that
//! predicts which endpoints containerd tries for an image and how the pull ends.

pub mod config;
mod config_valid;
mod image_refs;
pub mod fix;
pub(crate) mod mirror_match;
pub mod reference;
pub mod simulate;

pub use config_valid::ContainerdConfigValid;
pub use image_refs::RegistryImageRefs;
pub use mirror_match::ContainerdMirrorMatch;

use crate::Check;

/// The containerd and registry checks.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(ContainerdConfigValid),
        Box::new(ContainerdMirrorMatch),
        Box::new(RegistryImageRefs),
    ]
}
