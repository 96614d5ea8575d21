use std::net::IpAddr;

use async_trait::async_trait;
use serde_json::json;

use crate::check::{Check, Context};
use crate::config::{Finding, shown, vars, verdict};
use crate::declare_check;
use crate::model::{CheckMeta, Outcome, Profile, Status};
use crate::settings::{ResolvedConfig, Setting, ValueSource};

declare_check! {
    /// ### What it checks
    /// The three public hosts setup will use, each with where it came from:
    ///
    /// - platform = `MCP_PLATFORM_INGRESS_HOST`, else `platform.<MCP_PLATFORM_DOMAIN>`;
    /// - registry = `MCP_REGISTRY_INGRESS_HOST` or `MCP_REGISTRY_HOST`, else `registry.<MCP_PLATFORM_DOMAIN>`;
    /// - mcp = `MCP_MCP_INGRESS_HOST`, else `mcp.<MCP_PLATFORM_DOMAIN>`.
    ///
    /// `MCP_PLATFORM_DOMAIN` takes the apex only. A scheme, port, path, upper case or trailing dot is
    /// normalised away by setup (warning, with the value to set), and a value that already starts with
    /// `platform.`, `registry.` or `mcp.` would derive `platform.platform.example.com` (warning).
    /// Each host must be a valid lower-case DNS name (RFC 1123 labels of at most 63 characters from
    /// `a-z0-9-`, not starting or ending with `-`; at most 253 characters; at least one dot; not an IP
    /// address), and the three must be distinct (fail otherwise). Setup also needs the host configuration to
    /// be complete (`MCP_PLATFORM_DOMAIN`, or all three explicit hosts) as soon as `--with-tls` or one explicit
    /// host is set (fail; a warning under `--test-mode`, which setup exempts).
    ///
    /// With no host configuration at all: a `--with-tls` run fails (certificates need names); a `public` mode
    /// run without TLS warns; otherwise setup uses path-based dev routing on the ingress address and
    /// `registry.local` for the registry, which passes (a warning under `--profile prod`).
    ///
    /// ### Why it matters
    /// Every later step keys on these names: the Ingress rules, the certificates and their SANs, the image
    /// host nodes pull from, the DNS records the operator has to create. A wrong apex gives
    /// `platform.platform.example.com`, which has no DNS record, and cert-manager then reports NXDOMAIN while
    /// the dashboard answers with Traefik's 404.
    ///
    /// ### What a failure looks like
    /// `MCP_PLATFORM_DOMAIN is not set: a TLS install (--with-tls) needs public host names for its
    /// certificates; set MCP_PLATFORM_DOMAIN=example.com (the apex only), or all of MCP_PLATFORM_INGRESS_HOST,
    /// MCP_REGISTRY_INGRESS_HOST and MCP_MCP_INGRESS_HOST`
    ///
    /// `MCP_PLATFORM_DOMAIN=platform.example.com looks like a host, not the apex: setup would derive
    /// platform.platform.example.com; set MCP_PLATFORM_DOMAIN=example.com`
    ///
    /// ### How to fix
    /// Export the apex before setup and create the three DNS records (remediation `rem.platform-domain`):
    ///
    /// ```sh
    /// export MCP_PLATFORM_DOMAIN=example.com
    /// # platform.example.com, registry.example.com, mcp.example.com -> <ingress-public-ip>
    /// ```
    ///
    /// or set `MCP_PLATFORM_INGRESS_HOST`, `MCP_REGISTRY_INGRESS_HOST` and `MCP_MCP_INGRESS_HOST` to three
    /// distinct lower-case names.
    pub struct HostsConfig {
        id: "dns.hosts-config",
        title: "The platform, registry and mcp hosts are well formed and distinct",
        category: "dns",
        modes: Setup,
        depends_on: [],
        reads: [],
    }
}

/// (role, explicit env var setup reads for it).
const ROLES: [(&str, &str); 3] = [
    ("platform", "MCP_PLATFORM_INGRESS_HOST"),
    ("registry", "MCP_REGISTRY_INGRESS_HOST"),
    ("mcp", "MCP_MCP_INGRESS_HOST"),
];
const EXPLICIT_KEYS: [&str; 3] = [
    "platform_ingress_host",
    "registry_ingress_host",
    "mcp_ingress_host",
];

#[async_trait]
impl Check for HostsConfig {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let cfg = &ctx.config;
        let apex = apex_hint(cfg);
        let rem = vars([("domain", apex.clone())]);
        let test_mode = cfg.flag("test_mode");
        let mut findings = domain_findings(cfg, &apex);

        let hosts = cfg.public_hosts();
        let roles: Vec<(&str, &str, Option<Setting>)> = ROLES
            .iter()
            .zip([hosts.platform, hosts.registry, hosts.mcp])
            .map(|((role, env), s)| (*role, *env, s))
            .collect();
        let details: serde_json::Map<String, serde_json::Value> = roles
            .iter()
            .map(|(role, _, s)| {
                let v = s
                    .as_ref()
                    .map(|s| json!({ "host": s.value.trim(), "source": s.source.to_string() }));
                (role.to_string(), v.unwrap_or(serde_json::Value::Null))
            })
            .collect();

        for (role, env, setting) in &roles {
            let Some(s) = setting else { continue };
            let host = s.value.trim();
            if let Some(problem) = dns_name_problem(host) {
                let fix = match &s.source {
                    ValueSource::Derived(_) => format!("set MCP_PLATFORM_DOMAIN={apex}"),
                    source => format!(
                        "set {}={}",
                        env_name(source, env),
                        suggest_host(host, role, &apex)
                    ),
                };
                findings.push(Finding::fail(
                    format!(
                        "{role} host {host:?} ({}) is not a valid DNS name: {problem}; {fix}",
                        s.source
                    ),
                    "rem.platform-domain",
                    rem.clone(),
                ));
            }
        }
        for (i, (a_role, _, a)) in roles.iter().enumerate() {
            for (b_role, b_env, b) in &roles[i + 1..] {
                if let (Some(a), Some(b)) = (a, b)
                    && a.value.trim().eq_ignore_ascii_case(b.value.trim())
                {
                    findings.push(Finding::fail(
                        format!(
                            "the {a_role} and {b_role} hosts are both {} ({} and {}): each needs its own name for its Ingress \
                             rule and certificate; set {}={b_role}.{apex}",
                            a.value.trim(),
                            a.source,
                            b.source,
                            env_name(&b.source, b_env)
                        ),
                        "rem.platform-domain",
                        rem.clone(),
                    ));
                }
            }
        }

        let configured: Vec<&str> = roles
            .iter()
            .filter(|(_, _, s)| s.is_some())
            .map(|(r, _, _)| *r)
            .collect();
        let with_tls = cfg.flag("with_tls");
        let explicit = EXPLICIT_KEYS.iter().find_map(|k| shown(cfg, k));
        let mut missing_config = |message: String, must: bool| {
            let status = if must && !test_mode {
                Status::Fail
            } else {
                Status::Warn
            };
            let suffix = if must && test_mode {
                " (--test-mode: setup does not enforce this)"
            } else {
                ""
            };
            findings.push(Finding {
                status,
                message: format!("{message}{suffix}"),
                remediation: "rem.platform-domain",
                vars: rem.clone(),
            });
        };
        let all_three =
            "MCP_PLATFORM_INGRESS_HOST, MCP_REGISTRY_INGRESS_HOST and MCP_MCP_INGRESS_HOST";
        if configured.is_empty() {
            let tls = shown(cfg, "with_tls").unwrap_or_else(|| "--with-tls".into());
            if with_tls {
                missing_config(
                    format!(
                        "MCP_PLATFORM_DOMAIN is not set: a TLS install ({tls}) needs public host names for its certificates; \
                         set MCP_PLATFORM_DOMAIN={apex} (the apex only), or all of {all_three}"
                    ),
                    true,
                );
            } else if cfg.value("platform_mode") == Some("public") {
                missing_config(
                    format!(
                        "MCP_PLATFORM_DOMAIN is not set: a public-mode platform without public host names is only reachable \
                         by path on the ingress address, and browser login needs a stable host; set MCP_PLATFORM_DOMAIN={apex}"
                    ),
                    false,
                );
            } else if ctx.profile == Profile::Prod {
                missing_config(
                    format!(
                        "no public hosts are configured: setup will use path-based dev routing and registry.local, which \
                         --profile prod does not accept; set MCP_PLATFORM_DOMAIN={apex}"
                    ),
                    false,
                );
            }
        } else if configured.len() < 3
            && cfg.platform_domain().is_none()
            && (with_tls || explicit.is_some())
        {
            let missing: Vec<&str> = roles
                .iter()
                .filter(|(_, _, s)| s.is_none())
                .map(|(_, env, _)| *env)
                .collect();
            let given = explicit.unwrap_or_else(|| "--with-tls".into());
            missing_config(
                format!(
                    "the host configuration is incomplete: {given} is set but {} and MCP_PLATFORM_DOMAIN are not; set \
                     MCP_PLATFORM_DOMAIN={apex}, or all of {all_three}",
                    missing.join(", ")
                ),
                true,
            );
        }

        let pass = if configured.is_empty() {
            "no public hosts are configured: setup uses path-based dev routing on the ingress address and registry.local \
             for the registry"
                .to_string()
        } else {
            let list: Vec<String> = roles
                .iter()
                .filter_map(|(role, _, s)| s.as_ref().map(|s| format!("{role} {}", s.value.trim())))
                .collect();
            format!("public hosts are valid and distinct: {}", list.join(", "))
        };
        verdict(findings, pass)
            .detail("hosts", details)
            .detail("platform_domain", cfg.value("platform_domain"))
            .detail("platform_domain_normalized", cfg.platform_domain())
    }
}

/// What setup would have to normalise in `MCP_PLATFORM_DOMAIN`, and an apex that looks like a host.
fn domain_findings(cfg: &ResolvedConfig, apex: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let (Some(raw), Some(given)) = (cfg.value("platform_domain"), shown(cfg, "platform_domain"))
    else {
        return findings;
    };
    let rem = vars([("domain", apex.to_string())]);
    let Some(domain) = cfg.platform_domain() else {
        findings.push(Finding::fail(
            format!("{given} has no host name in it; set MCP_PLATFORM_DOMAIN={apex}"),
            "rem.platform-domain",
            rem,
        ));
        return findings;
    };
    let after_scheme = raw.split_once("://").map(|(_, r)| r).unwrap_or(raw);
    let host_part = after_scheme.split('/').next().unwrap_or("");
    let reasons: Vec<&str> = [
        (raw.contains("://"), "a scheme"),
        (host_part.contains(':'), "a port"),
        (after_scheme.contains('/'), "a path"),
        (
            raw.chars().any(|c| c.is_ascii_uppercase()),
            "upper-case letters",
        ),
        (host_part.ends_with('.'), "a trailing dot"),
    ]
    .into_iter()
    .filter_map(|(has, what)| has.then_some(what))
    .collect();
    if !reasons.is_empty() {
        findings.push(Finding::warn(
            format!(
                "{given} is not a bare apex (it has {}): setup normalises it to {domain}; set MCP_PLATFORM_DOMAIN={apex}",
                reasons.join(", ")
            ),
            "rem.platform-domain",
            rem.clone(),
        ));
    }
    if let Some(prefix) = host_prefix(&domain) {
        findings.push(Finding::warn(
            format!(
                "{given} looks like a host, not the apex: setup would derive platform.{domain} (the {prefix} prefix \
                 repeated); set MCP_PLATFORM_DOMAIN={apex}"
            ),
            "rem.platform-domain",
            rem,
        ));
    }
    findings
}

/// `platform.`, `registry.` or `mcp.` when a domain starts with one of the derived prefixes and what follows
/// is itself a domain (`platform.example.com`, but not the apex `mcp.io`).
fn host_prefix(domain: &str) -> Option<&'static str> {
    ["platform.", "registry.", "mcp."].into_iter().find(|p| {
        domain
            .strip_prefix(p)
            .is_some_and(|rest| rest.contains('.'))
    })
}

/// The apex the fix should name: the normalised domain without a host prefix, else `example.com`.
fn apex_hint(cfg: &ResolvedConfig) -> String {
    match cfg.platform_domain() {
        Some(d) => match host_prefix(&d) {
            Some(p) => d[p.len()..].to_string(),
            None => d,
        },
        None => "example.com".into(),
    }
}

/// The env var a setting was read from (for explicit hosts), falling back to the role's usual name.
fn env_name(source: &ValueSource, fallback: &str) -> String {
    match source {
        ValueSource::Env(name) => name.clone(),
        ValueSource::EnvFile(at) => at
            .rsplit_once(':')
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| fallback.into()),
        _ => fallback.into(),
    }
}

fn suggest_host(host: &str, role: &str, apex: &str) -> String {
    let normalized = crate::settings::normalize_domain(host);
    if dns_name_problem(&normalized).is_none() {
        normalized
    } else {
        format!("{role}.{apex}")
    }
}

/// Why a name is not a valid lower-case DNS host name for an Ingress rule (RFC 1123), or None when it is.
pub fn dns_name_problem(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some("it is empty".into());
    }
    if host.len() > 253 {
        return Some(format!(
            "it is {} characters long, more than 253",
            host.len()
        ));
    }
    if host.contains("://") {
        return Some("it has a scheme".into());
    }
    if host.contains('/') {
        return Some("it has a path".into());
    }
    if host.parse::<IpAddr>().is_ok() {
        return Some("it is an IP address, and Ingress hosts must be DNS names".into());
    }
    if host.contains(':') {
        return Some("it has a port".into());
    }
    if host.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("it has upper-case letters".into());
    }
    if host.ends_with('.') {
        return Some("it ends with a dot".into());
    }
    if !host.contains('.') {
        return Some("it is a single label without a dot".into());
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Some("it has an empty label (two dots in a row)".into());
        }
        if label.len() > 63 {
            return Some(format!(
                "label {label:?} is {} characters long, more than 63",
                label.len()
            ));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Some(format!(
                "label {label:?} has characters other than a-z, 0-9 and -"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label {label:?} starts or ends with -"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Case, expect};

    #[tokio::test]
    async fn apex_derives_three_valid_hosts() {
        let o = Case::new()
            .flag("with_tls", "true")
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .run(&HostsConfig)
            .await;
        expect(
            &o,
            Status::Pass,
            &[
                "platform platform.example.com,",
                "registry registry.example.com",
                "mcp mcp.example.com",
            ],
        );
        assert_eq!(
            o.details["hosts"]["mcp"]["source"],
            "derived from MCP_PLATFORM_DOMAIN"
        );
    }

    #[tokio::test]
    async fn tls_without_hosts_fails_with_the_fix() {
        let o = Case::new().flag("with_tls", "true").run(&HostsConfig).await;
        let rem = expect(
            &o,
            Status::Fail,
            &[
                "MCP_PLATFORM_DOMAIN is not set",
                "set MCP_PLATFORM_DOMAIN=example.com",
            ],
        );
        assert_eq!(rem, "rem.platform-domain");
        let o = Case::new()
            .flag("with_tls", "true")
            .flag("test_mode", "true")
            .run(&HostsConfig)
            .await;
        expect(&o, Status::Warn, &["--test-mode"]);
    }

    #[tokio::test]
    async fn no_hosts_without_tls_is_dev_routing() {
        let o = Case::new().run(&HostsConfig).await;
        expect(&o, Status::Pass, &["path-based dev routing"]);
        let o = Case::new().profile(Profile::Prod).run(&HostsConfig).await;
        expect(&o, Status::Warn, &["--profile prod"]);
        let o = Case::new()
            .flag("platform_mode", "public")
            .run(&HostsConfig)
            .await;
        expect(
            &o,
            Status::Warn,
            &["public-mode platform without public host names"],
        );
    }

    #[tokio::test]
    async fn host_looking_domain_and_scheme_warn() {
        let o = Case::new()
            .env("MCP_PLATFORM_DOMAIN", "platform.example.com")
            .run(&HostsConfig)
            .await;
        expect(
            &o,
            Status::Warn,
            &[
                "MCP_PLATFORM_DOMAIN=platform.example.com looks like a host",
                "platform.platform.example.com",
                "set MCP_PLATFORM_DOMAIN=example.com",
            ],
        );
        let o = Case::new()
            .env("MCP_PLATFORM_DOMAIN", "https://Example.com:443/")
            .run(&HostsConfig)
            .await;
        expect(
            &o,
            Status::Warn,
            &[
                "it has a scheme, a port, a path, upper-case letters",
                "normalises it to example.com",
            ],
        );
    }

    #[tokio::test]
    async fn invalid_and_duplicate_hosts_fail() {
        let o = Case::new()
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .env("MCP_MCP_INGRESS_HOST", "Tools.example.com")
            .run(&HostsConfig)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "mcp host \"Tools.example.com\" (env MCP_MCP_INGRESS_HOST)",
                "upper-case",
                "set MCP_MCP_INGRESS_HOST=tools.example.com",
            ],
        );
        let o = Case::new()
            .env("MCP_PLATFORM_DOMAIN", "example.com")
            .env("MCP_MCP_INGRESS_HOST", "platform.example.com")
            .run(&HostsConfig)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "the platform and mcp hosts are both platform.example.com",
                "set MCP_MCP_INGRESS_HOST=mcp.example.com",
            ],
        );
        let o = Case::new()
            .env("MCP_PLATFORM_INGRESS_HOST", "platform.example.com")
            .run(&HostsConfig)
            .await;
        expect(
            &o,
            Status::Fail,
            &[
                "incomplete",
                "MCP_REGISTRY_INGRESS_HOST, MCP_MCP_INGRESS_HOST and MCP_PLATFORM_DOMAIN are not",
            ],
        );
    }

    #[test]
    fn dns_names_follow_rfc_1123() {
        assert_eq!(dns_name_problem("platform.example.com"), None);
        assert_eq!(dns_name_problem("a-1.b.example"), None);
        for bad in [
            "",
            "localhost",
            "10.0.0.1",
            "-a.example.com",
            "a_b.example.com",
            "a..b",
            "*.example.com",
            "a.example.com.",
        ] {
            assert!(dns_name_problem(bad).is_some(), "{bad:?} should be invalid");
        }
        assert!(
            dns_name_problem(&format!("{}.com", "a".repeat(64)))
                .unwrap()
                .contains("more than 63")
        );
        assert!(
            dns_name_problem(&format!("{}com", "abcdefghi.".repeat(26)))
                .unwrap()
                .contains("more than 253")
        );
    }
}
