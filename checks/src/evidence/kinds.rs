//! The Kubernetes resources checks read, described the way the API addresses them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A resource type as the API serves it: `GET /apis/<group>/<version>/[namespaces/<ns>/]<plural>`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ResourceKind {
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
}

impl ResourceKind {
    /// `nodes`, `deployments.apps`, `mcpservers.mcpruntime.org`: kubectl's resource naming, used as folder
    /// names in bundles and fixtures.
    pub fn resource_key(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The URL path that lists this resource in a scope.
    pub fn list_path(&self, scope: &Scope) -> String {
        let prefix = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match scope {
            Scope::Namespace(ns) if self.namespaced => {
                format!("{prefix}/namespaces/{ns}/{}", self.plural)
            }
            _ => format!("{prefix}/{}", self.plural),
        }
    }

    /// Looks a kind up by its resource key (`deployments.apps`).
    pub fn by_key(key: &str) -> Option<&'static ResourceKind> {
        ALL.iter().copied().find(|k| k.resource_key() == key)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource_key())
    }
}

/// Where a list is taken: a cluster-scoped kind, every namespace, or one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    Cluster,
    AllNamespaces,
    Namespace(String),
}

impl Scope {
    /// The file stem for this scope in bundles: `_cluster`, `_all` or the namespace name.
    pub fn file_stem(&self) -> &str {
        match self {
            Scope::Cluster => "_cluster",
            Scope::AllNamespaces => "_all",
            Scope::Namespace(ns) => ns,
        }
    }

    pub fn from_file_stem(stem: &str) -> Scope {
        match stem {
            "_cluster" => Scope::Cluster,
            "_all" => Scope::AllNamespaces,
            ns => Scope::Namespace(ns.to_string()),
        }
    }

    pub fn namespace(&self) -> Option<&str> {
        match self {
            Scope::Namespace(ns) => Some(ns),
            _ => None,
        }
    }

    /// The natural whole-cluster scope of a kind.
    pub fn everywhere(kind: &ResourceKind) -> Scope {
        if kind.namespaced {
            Scope::AllNamespaces
        } else {
            Scope::Cluster
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Cluster => f.write_str("the cluster scope"),
            Scope::AllNamespaces => f.write_str("all namespaces"),
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
        }
    }
}

macro_rules! kinds {
    ($($name:ident = ($group:literal, $version:literal, $plural:literal, $kind:literal, $ns:literal);)*) => {
        $(pub static $name: ResourceKind = ResourceKind {
            group: $group, version: $version, plural: $plural, kind: $kind, namespaced: $ns,
        };)*
        /// Every kind the tool knows, in a stable order.
        pub static ALL: &[&ResourceKind] = &[$(&$name),*];
    };
}

kinds! {
    NODES = ("", "v1", "nodes", "Node", false);
    NAMESPACES = ("", "v1", "namespaces", "Namespace", false);
    PODS = ("", "v1", "pods", "Pod", true);
    SERVICES = ("", "v1", "services", "Service", true);
    SECRETS = ("", "v1", "secrets", "Secret", true);
    CONFIGMAPS = ("", "v1", "configmaps", "ConfigMap", true);
    EVENTS = ("", "v1", "events", "Event", true);
    PERSISTENT_VOLUME_CLAIMS = ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true);
    DEPLOYMENTS = ("apps", "v1", "deployments", "Deployment", true);
    DAEMONSETS = ("apps", "v1", "daemonsets", "DaemonSet", true);
    STATEFULSETS = ("apps", "v1", "statefulsets", "StatefulSet", true);
    STORAGE_CLASSES = ("storage.k8s.io", "v1", "storageclasses", "StorageClass", false);
    INGRESSES = ("networking.k8s.io", "v1", "ingresses", "Ingress", true);
    INGRESS_CLASSES = ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", false);
    CUSTOM_RESOURCE_DEFINITIONS = ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false);
    MCP_SERVERS = ("mcpruntime.org", "v1alpha1", "mcpservers", "MCPServer", true);
    CERTIFICATES = ("cert-manager.io", "v1", "certificates", "Certificate", true);
    CLUSTER_ISSUERS = ("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer", false);
    HELM_CHARTS = ("helm.cattle.io", "v1", "helmcharts", "HelmChart", true);
    ISSUERS = ("cert-manager.io", "v1", "issuers", "Issuer", true);
    CERTIFICATE_REQUESTS = ("cert-manager.io", "v1", "certificaterequests", "CertificateRequest", true);
    ORDERS = ("acme.cert-manager.io", "v1", "orders", "Order", true);
    CHALLENGES = ("acme.cert-manager.io", "v1", "challenges", "Challenge", true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_api_layout() {
        assert_eq!(NODES.list_path(&Scope::Cluster), "/api/v1/nodes");
        assert_eq!(PODS.list_path(&Scope::AllNamespaces), "/api/v1/pods");
        assert_eq!(
            PODS.list_path(&Scope::Namespace("kube-system".into())),
            "/api/v1/namespaces/kube-system/pods"
        );
        assert_eq!(
            DEPLOYMENTS.list_path(&Scope::Namespace("a".into())),
            "/apis/apps/v1/namespaces/a/deployments"
        );
        assert_eq!(
            STORAGE_CLASSES.resource_key(),
            "storageclasses.storage.k8s.io"
        );
        assert_eq!(ResourceKind::by_key("deployments.apps"), Some(&DEPLOYMENTS));
    }

    #[test]
    fn resource_keys_are_unique() {
        let mut keys: Vec<_> = ALL.iter().map(|k| k.resource_key()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ALL.len());
    }
}
