//! config checks: what the setup run will need, judged from its flags and environment before it starts.

mod admin_password_pair;
mod external_registry;
mod image_platform;
mod platform_mode;
mod registry_endpoint;
pub mod registry_url;
mod strict_prod;
mod tls_flags;

pub use admin_password_pair::AdminPasswordPair;
pub use external_registry::ExternalRegistry;
pub use image_platform::ImagePlatform;
pub use platform_mode::PlatformMode;
pub use registry_endpoint::RegistryEndpoint;
pub use strict_prod::StrictProd;
pub use tls_flags::TlsFlags;

use mcp_doctor_remediations::Vars;

use crate::Check;
use crate::model::{Outcome, Status};
use crate::settings::{ResolvedConfig, SETTINGS, ValueSource};

pub fn checks() -> Vec<Box<dyn Check>> {
    vec![
        Box::new(PlatformMode),
        Box::new(TlsFlags),
        Box::new(StrictProd),
        Box::new(RegistryEndpoint),
        Box::new(ExternalRegistry),
        Box::new(ImagePlatform),
        Box::new(AdminPasswordPair),
    ]
}

/// How a setting was given, for messages: `--acme-email ops@example.com`, `MCP_ACME_EMAIL=ops@example.com`
/// (from the environment or the env file alike), `platform.example.com` for a derived value. Where it came
/// from (which env file, derived from what) is provenance: `mcp-doctor config`, the JSON details and
/// `--verbose` show it, messages do not. Secret values are shown as `<set>`. None when unset.
pub fn shown(cfg: &ResolvedConfig, key: &str) -> Option<String> {
    let setting = cfg.get(key).filter(|s| !s.value.trim().is_empty())?;
    let def = SETTINGS.iter().find(|d| d.key == key);
    let secret = def.is_some_and(|d| d.secret);
    let boolean = def.is_some_and(|d| d.default == Some("false"));
    let value = if secret {
        "<set>"
    } else {
        setting.value.trim()
    };
    Some(match &setting.source {
        ValueSource::Flag(flag) if boolean && value == "true" => flag.clone(),
        ValueSource::Flag(flag) => format!("{flag} {value}"),
        ValueSource::Env(name) => format!("{name}={value}"),
        ValueSource::EnvFile(at) => {
            let name = at.rsplit_once(':').map_or(key, |(_, name)| name);
            format!("{name}={value}")
        }
        ValueSource::Default => format!("{} {value} (default)", setting_name(key)),
        ValueSource::Derived(_) => value.to_string(),
    })
}

/// The name a user knows a setting by: its flag when setup has one, else its first env var.
pub fn setting_name(key: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|d| d.key == key)
        .and_then(|d| d.flag.or_else(|| d.env.first().copied()))
        .unwrap_or("?")
}

/// A boolean setting given a value setup does not read as true or false (`yes`, `on`, `TRUE`): setup
/// accepts only `1`/`true`, so such a value silently means false. Returns how it was given.
pub fn misread_bool(cfg: &ResolvedConfig, key: &str) -> Option<String> {
    let v = cfg.value(key)?;
    (!matches!(v, "1" | "true" | "0" | "false")).then(|| shown(cfg, key).unwrap_or_default())
}

/// One thing a config check found wrong.
pub struct Finding {
    pub status: Status,
    pub message: String,
    pub remediation: &'static str,
    pub vars: Vars,
}

impl Finding {
    pub fn fail(message: impl Into<String>, remediation: &'static str, vars: Vars) -> Finding {
        Finding {
            status: Status::Fail,
            message: message.into(),
            remediation,
            vars,
        }
    }
    pub fn warn(message: impl Into<String>, remediation: &'static str, vars: Vars) -> Finding {
        Finding {
            status: Status::Warn,
            message: message.into(),
            remediation,
            vars,
        }
    }
}

/// Builds [`Vars`] from pairs.
pub fn vars<const N: usize>(pairs: [(&'static str, String); N]) -> Vars {
    pairs.into_iter().collect()
}

/// The outcome of a list of findings: the worst one leads (its message and remediation), every finding is
/// listed under `problems`; no findings is a pass with `pass_message`.
pub fn verdict(mut findings: Vec<Finding>, pass_message: impl Into<String>) -> Outcome {
    findings.sort_by_key(|f| std::cmp::Reverse(f.status == Status::Fail));
    let Some(first) = findings.first() else {
        return Outcome::pass(pass_message);
    };
    let mut message = first.message.clone();
    if findings.len() > 1 {
        message.push_str(&format!(
            " (and {} more problem(s), see details)",
            findings.len() - 1
        ));
    }
    let base = Outcome::of(first.status, message);
    let problems: Vec<_> = findings
        .iter()
        .map(|f| serde_json::json!({ "status": f.status, "message": f.message, "remediation": f.remediation }))
        .collect();
    base.detail("problems", problems)
        .remediate(first.remediation, None, &first.vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Case;

    #[test]
    fn shown_names_the_setting_without_its_provenance_and_hides_secrets() {
        let ctx = Case::new()
            .flag("acme_email", "ops@example.com")
            .env("PROVISIONED_REGISTRY_PASSWORD", "hunter2")
            .env_file("deploy.env", &[("MCP_PLATFORM_DOMAIN", "example.com")])
            .build();
        let cfg = &ctx.config;
        assert_eq!(
            shown(cfg, "acme_email").unwrap(),
            "--acme-email ops@example.com"
        );
        assert_eq!(
            shown(cfg, "external_registry_password").unwrap(),
            "PROVISIONED_REGISTRY_PASSWORD=<set>"
        );
        assert_eq!(
            shown(cfg, "platform_domain").unwrap(),
            "MCP_PLATFORM_DOMAIN=example.com"
        );
        assert_eq!(shown(cfg, "tls_cluster_issuer"), None);
    }

    #[test]
    fn yes_is_not_true_for_setup() {
        let ctx = Case::new().env("MCP_SETUP_WITH_TLS", "yes").build();
        assert!(!ctx.config.flag("with_tls"));
        assert_eq!(
            misread_bool(&ctx.config, "with_tls").unwrap(),
            "MCP_SETUP_WITH_TLS=yes"
        );
        let ctx = Case::new().flag("with_tls", "true").build();
        assert_eq!(misread_bool(&ctx.config, "with_tls"), None);
    }
}
