//! RBAC enforcement: the token is a ServiceAccount bound (ClusterRoleBinding) to one ClusterRole, and every
//! request is authorized against that role's rules as kube-apiserver's RBAC authorizer does: a request no rule
//! allows gets the 403 `Forbidden` Status in the server's wording, and SelfSubjectAccessReviews answer from
//! the same rules.
//!
//! What every authenticated user may do whatever its bindings is allowed here too: `GET /version`
//! (`system:public-info-viewer`) and discovery (`system:discovery`). `system:basic-user`'s grant of
//! SelfSubjectAccessReviews is deliberately not: the role under test must name it, so this server proves the
//! role is sufficient on a cluster whose default grants were trimmed.

use k8s_openapi::api::rbac::v1::ClusterRole;

/// One `PolicyRule` of the role, with its lists as given (`*` matches anything).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    verbs: Vec<String>,
    api_groups: Vec<String>,
    resources: Vec<String>,
    resource_names: Vec<String>,
}

/// A ServiceAccount, the only identity the server then knows, bound to a ClusterRole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacPolicy {
    namespace: String,
    service_account: String,
    binding: String,
    role: String,
    rules: Vec<Rule>,
}

/// The resource attributes of a request, as the authorizer sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceRequest<'a> {
    pub(crate) verb: &'a str,
    pub(crate) group: &'a str,
    /// The plural, with `/<subresource>` for a subresource (`pods/log`).
    pub(crate) resource: String,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
}

impl RbacPolicy {
    /// ServiceAccount `namespace/service_account` bound by ClusterRoleBinding `binding` to `role` (its name
    /// and rules; an aggregated role's rules must be given already aggregated).
    pub fn new(
        namespace: &str,
        service_account: &str,
        binding: &str,
        role: &ClusterRole,
    ) -> RbacPolicy {
        let rules = role
            .rules
            .iter()
            .flatten()
            .map(|r| Rule {
                verbs: r.verbs.clone(),
                api_groups: r.api_groups.clone().unwrap_or_default(),
                resources: r.resources.clone().unwrap_or_default(),
                resource_names: r.resource_names.clone().unwrap_or_default(),
            })
            .collect();
        RbacPolicy {
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
            binding: binding.to_string(),
            role: role.metadata.name.clone().unwrap_or_default(),
            rules,
        }
    }

    /// The user name the API server gives the ServiceAccount's token.
    pub fn user(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }

    /// Whether a rule allows the request (RBAC's `RuleAllows`).
    pub(crate) fn allows(&self, req: &ResourceRequest<'_>) -> bool {
        let has = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        self.rules.iter().any(|rule| {
            has(&rule.verbs, req.verb)
                && has(&rule.api_groups, req.group)
                && resource_matches(&rule.resources, &req.resource)
                && (rule.resource_names.is_empty()
                    || req
                        .name
                        .is_some_and(|n| rule.resource_names.iter().any(|r| r == n)))
        })
    }

    /// `status.reason` of an allowed SelfSubjectAccessReview, in the RBAC authorizer's words.
    pub(crate) fn allowed_reason(&self) -> String {
        format!(
            "RBAC: allowed by ClusterRoleBinding \"{}\" of ClusterRole \"{}\" to ServiceAccount \"{}/{}\"",
            self.binding, self.role, self.service_account, self.namespace
        )
    }

    /// The message of the 403 for a denied request, in the server's wording.
    pub(crate) fn forbidden_message(&self, req: &ResourceRequest<'_>) -> String {
        let base = req.resource.split('/').next().unwrap_or_default();
        let key = if req.group.is_empty() {
            base.to_string()
        } else {
            format!("{base}.{}", req.group)
        };
        let subject = match req.name {
            Some(name) => format!("{key} \"{name}\""),
            None => key,
        };
        let place = match req.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" {place}",
            self.user(),
            req.verb,
            req.resource,
            req.group
        )
    }
}

/// `*` matches every resource, `pods` only `pods`, `*/log` every `log` subresource, `pods/*` every
/// subresource of pods.
fn resource_matches(rules: &[String], resource: &str) -> bool {
    rules.iter().any(|r| {
        r == "*"
            || r == resource
            || r.strip_prefix("*/").is_some_and(|sub| {
                resource
                    .split_once('/')
                    .is_some_and(|(_, have)| have == sub)
            })
            || r.strip_suffix("/*").is_some_and(|base| {
                resource
                    .split_once('/')
                    .is_some_and(|(have, _)| have == base)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::rbac::v1::PolicyRule;

    fn policy(rules: Vec<PolicyRule>) -> RbacPolicy {
        let mut role = ClusterRole {
            rules: Some(rules),
            ..Default::default()
        };
        role.metadata.name = Some("viewer".into());
        RbacPolicy::new("ops", "doctor", "viewer-binding", &role)
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        PolicyRule {
            api_groups: Some(v(groups)),
            resources: Some(v(resources)),
            verbs: v(verbs),
            ..Default::default()
        }
    }

    fn req<'a>(
        verb: &'a str,
        group: &'a str,
        resource: &str,
        ns: Option<&'a str>,
    ) -> ResourceRequest<'a> {
        ResourceRequest {
            verb,
            group,
            resource: resource.into(),
            namespace: ns,
            name: None,
        }
    }

    #[test]
    fn rules_allow_exactly_their_verbs_groups_and_resources() {
        let p = policy(vec![
            rule(&[""], &["pods", "nodes"], &["get", "list"]),
            rule(&["apps"], &["*"], &["list"]),
        ]);
        assert!(p.allows(&req("list", "", "pods", Some("demo"))));
        assert!(p.allows(&req("list", "", "nodes", None)));
        assert!(!p.allows(&req("watch", "", "pods", None)));
        assert!(!p.allows(&req("list", "", "secrets", None)));
        assert!(!p.allows(&req("get", "", "pods/log", Some("demo"))));
        assert!(p.allows(&req("list", "apps", "deployments", None)));
        assert!(!p.allows(&req("get", "apps", "deployments", None)));
        assert!(!p.allows(&req("list", "batch", "jobs", None)));
    }

    /// The wording of `shared/reference/kube-apiserver-wire/v1.32/forbidden-list-pods-noperm.json` and
    /// `forbidden-list-nodes-noperm.json`, for the ServiceAccount's user name.
    #[test]
    fn denials_are_worded_as_the_api_server_words_them() {
        let p = policy(Vec::new());
        assert_eq!(
            p.forbidden_message(&req("list", "", "pods", Some("demo"))),
            "pods is forbidden: User \"system:serviceaccount:ops:doctor\" cannot list resource \"pods\" in API group \"\" in the namespace \"demo\""
        );
        assert_eq!(
            p.forbidden_message(&req("list", "", "nodes", None)),
            "nodes is forbidden: User \"system:serviceaccount:ops:doctor\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
        let mut get = req("get", "apps", "deployments", Some("demo"));
        get.name = Some("web");
        assert_eq!(
            p.forbidden_message(&get),
            "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:ops:doctor\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"demo\""
        );
    }
}
