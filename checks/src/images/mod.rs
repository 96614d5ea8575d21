//! Image checks (doctor mode): what the kubelet reports about pulling and starting the platform's images.

mod pull_failures;

pub use pull_failures::ImagesPullFailures;

use crate::Check;

/// The image checks in CHECKS.md row order.
pub fn checks() -> Vec<Box<dyn Check>> {
    vec![Box::new(ImagesPullFailures)]
}
