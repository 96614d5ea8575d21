//! Which remediations the installer can carry out: `mcp-doctor fix <check-id>` plans the named installer
//! steps for a failing check whose remediation is listed here, and `explain` can say so. The steps take
//! their arguments from the cluster as observed (e.g. which node carries the public-ingress labels).

/// (remediation id, the installer steps that carry it out, in order).
pub static AUTOMATABLE: &[(&str, &[&str])] = &[(
    "rem.svclb-pin-ingress-node",
    &["label-ingress-node", "unlabel-enablelb"],
)];

/// The installer steps that carry out remediation `id`, if it is automatable.
pub fn automated_by(id: &str) -> Option<&'static [&'static str]> {
    AUTOMATABLE
        .iter()
        .find(|(rem, _)| *rem == id)
        .map(|(_, steps)| *steps)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_automatable_remediation_is_in_the_catalog() {
        for (id, steps) in super::AUTOMATABLE {
            assert!(crate::find(id).is_some(), "{id} is not in the catalog");
            assert!(!steps.is_empty(), "{id} names no step");
        }
    }
}
