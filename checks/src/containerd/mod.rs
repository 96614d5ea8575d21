//! containerd and registries: image references, each node's registry configuration, and the simulator that
//! predicts which endpoints containerd tries for an image and how the pull ends.

pub mod config;
pub mod reference;
pub mod simulate;
