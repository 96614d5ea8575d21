//! The catalog of remediations that checks point to.
//!
//! A remediation is keyed by a stable id (`rem.<name>`), has a title and a text per distribution (k3s, kind,
//! minikube, docker-desktop, kubeadm/generic), and may carry a snippet generated from what a check observed.
//! Checks never hold fix text themselves: they name a remediation id and the facts to fill in, so the same fix
//! reads the same wherever it is pointed to, and `mcp-doctor explain rem.<name>` shows it.

pub mod automation;
mod catalog;
mod cluster_catalog;
mod dns_catalog;
mod ingress_catalog;
mod platform_catalog;
mod registry_catalog;
mod registry_snippet;
mod tls_catalog;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use automation::automated_by;
pub use registry_snippet::{RegistryAccess, registries_yaml_document, registry_snippet};

/// The Kubernetes distribution a cluster runs; remediation text differs per distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    K3s,
    Rke2,
    Kind,
    Minikube,
    DockerDesktop,
    /// kubeadm or any distribution without a recognisable marker.
    Generic,
}

impl Distribution {
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::K3s => "k3s",
            Distribution::Rke2 => "rke2",
            Distribution::Kind => "kind",
            Distribution::Minikube => "minikube",
            Distribution::DockerDesktop => "docker-desktop",
            Distribution::Generic => "generic",
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the catalog. `text` applies to every distribution unless `per_distribution` has a more specific
/// text for the detected one. Texts may contain `{name}` placeholders filled from [`Vars`].
#[derive(Debug)]
pub struct RemediationDef {
    pub id: &'static str,
    pub title: &'static str,
    pub text: &'static str,
    pub per_distribution: &'static [(Distribution, &'static str)],
}

/// Facts a check observed, used to fill a remediation's placeholders (`{node}`, `{namespace}` ...).
pub type Vars = BTreeMap<&'static str, String>;

/// A remediation rendered for one situation: what the report carries under a non-passing check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    pub id: String,
    pub title: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub snippet: Option<String>,
}

impl RemediationDef {
    /// Renders this remediation for a distribution (None when unknown: the generic text is used).
    pub fn render(&self, distribution: Option<Distribution>, vars: &Vars) -> Remediation {
        let template = distribution
            .and_then(|d| self.per_distribution.iter().find(|(pd, _)| *pd == d))
            .map(|(_, t)| *t)
            .unwrap_or(self.text);
        Remediation {
            id: self.id.to_string(),
            title: self.title.to_string(),
            text: fill(template, vars),
            snippet: None,
        }
    }

    /// Every text of this entry, for `explain`.
    pub fn explain(&self) -> String {
        let mut out = format!("{}: {}\n\n{}\n", self.id, self.title, self.text);
        for (d, t) in self.per_distribution {
            out.push_str(&format!("\nOn {d}:\n{t}\n"));
        }
        out
    }
}

/// Every remediation, area by area.
pub fn all() -> impl Iterator<Item = &'static RemediationDef> {
    catalog::CATALOG
        .iter()
        .chain(cluster_catalog::CLUSTER)
        .chain(ingress_catalog::INGRESS)
        .chain(tls_catalog::TLS)
        .chain(dns_catalog::DNS)
        .chain(registry_catalog::REGISTRY)
        .chain(platform_catalog::PLATFORM)
}

/// Looks a remediation up by id.
pub fn find(id: &str) -> Option<&'static RemediationDef> {
    all().find(|r| r.id == id)
}

/// Replaces `{key}` with the value from `vars`; unknown placeholders stay visible so a missing fact is noticed.
fn fill(template: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_placeholder(&after[..end]) => {
                let key = &after[..end];
                match vars.get(key) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..start + end + 2]),
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_placeholder(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for r in all() {
            assert!(r.id.starts_with("rem."), "{} must start with rem.", r.id);
            assert!(seen.insert(r.id), "duplicate remediation id {}", r.id);
            assert!(!r.text.trim().is_empty(), "{} has no text", r.id);
        }
    }

    #[test]
    fn fill_replaces_known_and_keeps_unknown_and_json_braces() {
        let mut vars = Vars::new();
        vars.insert("node", "mcp-worker-2".into());
        assert_eq!(
            fill("kubectl describe node {node} {missing} {\"a\": 1}", &vars),
            "kubectl describe node mcp-worker-2 {missing} {\"a\": 1}"
        );
    }

    #[test]
    fn distribution_specific_text_wins() {
        let def = RemediationDef {
            id: "rem.test",
            title: "t",
            text: "generic",
            per_distribution: &[(Distribution::K3s, "k3s text")],
        };
        let vars = Vars::new();
        assert_eq!(def.render(Some(Distribution::K3s), &vars).text, "k3s text");
        assert_eq!(def.render(Some(Distribution::Kind), &vars).text, "generic");
        assert_eq!(def.render(None, &vars).text, "generic");
    }
}
