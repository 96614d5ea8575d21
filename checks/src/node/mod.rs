//! node checks.

use crate::Check;

pub fn checks() -> Vec<Box<dyn Check>> {
    vec![]
}
