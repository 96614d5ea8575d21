//! The remediation catalog. One entry per fix; checks point to these ids.

use crate::{Distribution, RemediationDef};

pub static CATALOG: &[RemediationDef] = &[];
