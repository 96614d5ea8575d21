//! The resolved configuration of the setup run being judged: setup's flags, then the environment variables
//! setup reads, then an optional `--env-file`, then defaults. Every value remembers where it came from, so
//! `mcp-doctor config` can say why a host or mode is what it is.
//!
//! The table of settings follows mcp-runtime's own precedence: a flag wins, then the first non-empty env var
//! of its list (a `MCP_SETUP_*` name before the plain one), then the env file, then the default.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::Serialize;

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueSource {
    Flag(String),
    Env(String),
    EnvFile(String),
    Default,
    /// Computed from other values (e.g. `platform.<domain>`).
    Derived(String),
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Flag(n) => write!(f, "flag {n}"),
            ValueSource::Env(n) => write!(f, "env {n}"),
            ValueSource::EnvFile(n) => write!(f, "env-file {n}"),
            ValueSource::Default => f.write_str("default"),
            ValueSource::Derived(from) => write!(f, "derived from {from}"),
        }
    }
}

/// One resolved value and its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub value: String,
    pub source: ValueSource,
}

/// A setting the tool knows: its flag (if setup has one), the env vars read in order, and a default.
pub struct SettingDef {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub env: &'static [&'static str],
    pub default: Option<&'static str>,
    /// Secrets are shown as `<set>` by `config`, never in clear.
    pub secret: bool,
}

const fn def(
    key: &'static str,
    flag: Option<&'static str>,
    env: &'static [&'static str],
) -> SettingDef {
    SettingDef {
        key,
        flag,
        env,
        default: None,
        secret: false,
    }
}

/// Every setting setup (and so preflight) reads. Keys are the names checks use.
pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        default: Some("tenant"),
        ..def(
            "platform_mode",
            Some("--platform-mode"),
            &["MCP_SETUP_PLATFORM_MODE", "MCP_PLATFORM_MODE"],
        )
    },
    SettingDef {
        default: Some("auto"),
        ..def(
            "registry_mode",
            Some("--registry-mode"),
            &["MCP_SETUP_REGISTRY_MODE", "MCP_REGISTRY_MODE"],
        )
    },
    SettingDef {
        default: Some("dynamic"),
        ..def(
            "storage_mode",
            Some("--storage-mode"),
            &["MCP_STORAGE_MODE"],
        )
    },
    SettingDef {
        default: Some("traefik"),
        ..def("ingress", Some("--ingress"), &["MCP_SETUP_INGRESS"])
    },
    SettingDef {
        default: Some("false"),
        ..def("with_tls", Some("--with-tls"), &["MCP_SETUP_WITH_TLS"])
    },
    SettingDef {
        default: Some("false"),
        ..def("strict_prod", Some("--strict-prod"), &["MCP_STRICT_PROD"])
    },
    SettingDef {
        default: Some("false"),
        ..def(
            "skip_cert_manager_install",
            Some("--skip-cert-manager-install"),
            &["MCP_SETUP_SKIP_CERT_MANAGER_INSTALL"],
        )
    },
    SettingDef {
        default: Some("false"),
        ..def("test_mode", Some("--test-mode"), &["MCP_SETUP_TEST_MODE"])
    },
    SettingDef {
        default: Some("false"),
        ..def(
            "acme_staging",
            Some("--acme-staging"),
            &["MCP_ACME_STAGING"],
        )
    },
    SettingDef {
        default: Some("false"),
        ..def(
            "provided_tls_secrets",
            Some("--provided-tls-secrets"),
            &["MCP_SETUP_PROVIDED_TLS_SECRETS"],
        )
    },
    def("acme_email", Some("--acme-email"), &["MCP_ACME_EMAIL"]),
    def(
        "tls_cluster_issuer",
        Some("--tls-cluster-issuer"),
        &["MCP_SETUP_TLS_CLUSTER_ISSUER", "MCP_TLS_CLUSTER_ISSUER"],
    ),
    def(
        "external_registry_url",
        Some("--external-registry-url"),
        &["PROVISIONED_REGISTRY_URL"],
    ),
    def(
        "external_registry_username",
        Some("--external-registry-username"),
        &["PROVISIONED_REGISTRY_USERNAME"],
    ),
    SettingDef {
        secret: true,
        ..def(
            "external_registry_password",
            Some("--external-registry-password"),
            &["PROVISIONED_REGISTRY_PASSWORD"],
        )
    },
    def("platform_domain", None, &["MCP_PLATFORM_DOMAIN"]),
    def(
        "platform_ingress_host",
        None,
        &["MCP_PLATFORM_INGRESS_HOST"],
    ),
    def(
        "registry_ingress_host",
        None,
        &["MCP_REGISTRY_INGRESS_HOST"],
    ),
    def("mcp_ingress_host", None, &["MCP_MCP_INGRESS_HOST"]),
    def("registry_host", None, &["MCP_REGISTRY_HOST"]),
    def("registry_endpoint", None, &["MCP_REGISTRY_ENDPOINT"]),
    def("image_platform", None, &["MCP_IMAGE_PLATFORM"]),
    def("platform_admin_email", None, &["MCP_PLATFORM_ADMIN_EMAIL"]),
    def("admin_users", None, &["ADMIN_USERS", "MCP_ADMIN_USERS"]),
    def(
        "google_client_id",
        None,
        &["GOOGLE_CLIENT_ID", "MCP_GOOGLE_CLIENT_ID"],
    ),
    def("oidc_issuer", None, &["OIDC_ISSUER"]),
    def("oidc_audience", None, &["OIDC_AUDIENCE"]),
    def("oidc_jwks_url", None, &["OIDC_JWKS_URL"]),
    def("password_admin_email", None, &["PLATFORM_ADMIN_EMAIL"]),
    SettingDef {
        secret: true,
        ..def(
            "password_admin_password",
            None,
            &["PLATFORM_ADMIN_PASSWORD"],
        )
    },
    def(
        "platform_image_pull_secret",
        None,
        &["MCP_PLATFORM_IMAGE_PULL_SECRET"],
    ),
    SettingDef {
        default: Some("false"),
        ..def(
            "http01_self_test",
            Some("--http01-self-test"),
            &["MCP_DOCTOR_HTTP01_SELF_TEST"],
        )
    },
    SettingDef {
        default: Some("busybox:1.36"),
        ..def(
            "probe_image",
            Some("--probe-image"),
            &["MCP_DOCTOR_PROBE_IMAGE"],
        )
    },
    SettingDef {
        default: Some("false"),
        ..def(
            "probe_pods",
            Some("--probe-pods"),
            &["MCP_DOCTOR_PROBE_PODS"],
        )
    },
    def("traefik_namespace", None, &["PLATFORM_TRAEFIK_NAMESPACE"]),
    // mcp-doctor's own TLS probing settings (not setup's).
    def("ca_file", Some("--ca-file"), &["MCP_DOCTOR_CA_FILE"]),
    def(
        "tls_connect",
        Some("--tls-connect"),
        &["MCP_DOCTOR_TLS_CONNECT"],
    ),
    def("judge_time", None, &["MCP_DOCTOR_NOW"]),
    // An admin API key for the guarded public routes; sent only as an `x-api-key` header.
    SettingDef {
        secret: true,
        ..def("api_key", Some("--api-key"), &["MCP_ADMIN_API_KEY"])
    },
    def("tls_probe", None, &["MCP_DOCTOR_TLS_PROBE"]),
    // mcp-doctor's own settings (not setup's): how the public names are reached and who to ask.
    SettingDef {
        default: Some("direct"),
        ..def(
            "front_door",
            Some("--front-door"),
            &["MCP_DOCTOR_FRONT_DOOR"],
        )
    },
    def(
        "dns_servers",
        Some("--dns-server"),
        &["MCP_DOCTOR_DNS_SERVERS"],
    ),
    def("team_traefik_watch", None, &["PLATFORM_TEAM_TRAEFIK_WATCH"]),
    // mcp-doctor's own: the platform admin API key for authenticated probes of the public routes. It is
    // only ever sent as the `x-api-key` header, and masked wherever configuration is shown or recorded.
    SettingDef {
        secret: true,
        ..def("api_key", Some("--api-key"), &["MCP_ADMIN_API_KEY"])
    },
    // mcp-doctor's own: where to reach the bundled registry's `/v2/` from here, when the registry
    // Service's NodePort on a node address is not reachable from where the tool runs.
    def(
        "registry_url",
        Some("--registry-url"),
        &["MCP_DOCTOR_REGISTRY_URL"],
    ),
    // mcp-doctor's own: where the Sentinel components live when the layout is not the detected one.
    def(
        "platform_namespace",
        Some("--platform-namespace"),
        &["MCP_DOCTOR_PLATFORM_NAMESPACE"],
    ),
];

/// A parsed `--env-file`: its path (for provenance) and its variables.
pub type EnvFile = (String, BTreeMap<String, String>);

/// The inputs configuration is resolved from.
#[derive(Debug, Default, Clone)]
pub struct ConfigInputs {
    /// Setup flags given on the command line, keyed by setting key (`platform_mode`, `with_tls`, ...).
    pub flags: BTreeMap<String, String>,
    /// The process environment (only the variables in [`SETTINGS`] are read).
    pub env: BTreeMap<String, String>,
    /// Parsed `--env-file`, with its path for provenance.
    pub env_file: Option<EnvFile>,
}

/// The configuration a run judges.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResolvedConfig {
    values: BTreeMap<&'static str, Setting>,
}

/// The three public hosts setup will use, each with its origin (None = not configured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicHosts {
    pub platform: Option<Setting>,
    pub registry: Option<Setting>,
    pub mcp: Option<Setting>,
}

/// The registry mode setup will use, by setup's rules (`--registry-mode`, default `auto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedRegistryMode {
    /// `auto` without an external registry URL: the bundled registry; setup serves it over plain HTTP,
    /// and after install the cluster says which (`registry/registry-internal-tls`).
    AutoBundled,
    BundledHttp,
    BundledHttps,
    /// `external`, or `auto` with an external registry URL (setup then uses the provisioned registry).
    External,
    /// A value setup rejects.
    Unknown(String),
}

/// An `--env-file` that could not be read or parsed; the CLI exits 2 with this message.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    #[error("cannot read env file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("env file {path} is larger than {limit} bytes: is this a deployment env file?")]
    TooLarge { path: String, limit: u64 },
    #[error("env file {path} line {line}: expected KEY=value, found {text:?}")]
    Syntax {
        path: String,
        line: usize,
        text: String,
    },
}

/// The largest env file read.
const MAX_ENV_FILE_BYTES: u64 = 1 << 20;

/// Parses the `KEY=value` format of the deployment env files: `#` comments, blank lines, an optional
/// `export ` prefix, and values optionally wrapped in one pair of single or double quotes.
pub fn parse_env_file(path: &Path) -> Result<BTreeMap<String, String>, EnvFileError> {
    let shown = path.display().to_string();
    let read = |source| EnvFileError::Read {
        path: shown.clone(),
        source,
    };
    // Bounded: `--env-file /dev/zero` must end. Deployment env files are a few dozen lines.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ENV_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read)?;
    if bytes.len() as u64 > MAX_ENV_FILE_BYTES {
        return Err(EnvFileError::TooLarge {
            path: shown.clone(),
            limit: MAX_ENV_FILE_BYTES,
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({e})"),
        ))
    })?;
    parse_env_text(shown, &text)
}

/// [`parse_env_file`] of text already read; `shown` names the file in errors.
pub fn parse_env_text(shown: String, text: &str) -> Result<BTreeMap<String, String>, EnvFileError> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(EnvFileError::Syntax {
                path: shown,
                line: i + 1,
                text: raw.chars().take(120).collect(),
            });
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(EnvFileError::Syntax {
                path: shown,
                line: i + 1,
                text: raw.chars().take(120).collect(),
            });
        }
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

impl ResolvedConfig {
    pub fn resolve(inputs: &ConfigInputs) -> ResolvedConfig {
        let mut values = BTreeMap::new();
        for d in SETTINGS {
            let from_flag = d.flag.and_then(|flag| {
                inputs.flags.get(d.key).map(|v| Setting {
                    value: v.clone(),
                    source: ValueSource::Flag(flag.to_string()),
                })
            });
            let from_env = || {
                d.env.iter().find_map(|name| {
                    inputs
                        .env
                        .get(*name)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| Setting {
                            value: v.clone(),
                            source: ValueSource::Env(name.to_string()),
                        })
                })
            };
            let from_file = || {
                inputs.env_file.as_ref().and_then(|(path, vars)| {
                    d.env.iter().find_map(|name| {
                        vars.get(*name)
                            .filter(|v| !v.trim().is_empty())
                            .map(|v| Setting {
                                value: v.clone(),
                                source: ValueSource::EnvFile(format!("{path}:{name}")),
                            })
                    })
                })
            };
            let from_default = || {
                d.default.map(|v| Setting {
                    value: v.to_string(),
                    source: ValueSource::Default,
                })
            };
            if let Some(s) = from_flag
                .or_else(from_env)
                .or_else(from_file)
                .or_else(from_default)
            {
                values.insert(d.key, s);
            }
        }
        ResolvedConfig { values }
    }

    /// A resolved setting by key; None when unset and without default.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.values.get(key)
    }

    /// The trimmed value of a setting, None when unset or blank.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key)
            .map(|s| s.value.trim())
            .filter(|v| !v.is_empty())
    }

    /// A boolean setting: setup accepts only `1` and `true` as true.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.value(key), Some("1") | Some("true"))
    }

    /// Every resolved setting in table order, for `mcp-doctor config`.
    pub fn entries(&self) -> impl Iterator<Item = (&'static SettingDef, Option<&Setting>)> {
        SETTINGS.iter().map(|d| (d, self.values.get(d.key)))
    }

    /// The apex domain as given, normalised the way setup does: trimmed, scheme, path and port stripped,
    /// lower-cased. `dns.hosts-config` reports when normalisation had to change anything.
    pub fn platform_domain(&self) -> Option<String> {
        self.value("platform_domain")
            .map(normalize_domain)
            .filter(|d| !d.is_empty())
    }

    /// The registry mode setup will use: `auto` means the external registry when its URL is configured,
    /// else the bundled one.
    pub fn registry_mode(&self) -> RequestedRegistryMode {
        match self.value("registry_mode").unwrap_or("auto") {
            "auto" if self.value("external_registry_url").is_some() => {
                RequestedRegistryMode::External
            }
            "auto" => RequestedRegistryMode::AutoBundled,
            "bundled-http" => RequestedRegistryMode::BundledHttp,
            "bundled-https" => RequestedRegistryMode::BundledHttps,
            "external" => RequestedRegistryMode::External,
            other => RequestedRegistryMode::Unknown(other.to_string()),
        }
    }

    /// `--dns-server` values (`ip[:port]`), in the order given; empty when none.
    pub fn dns_servers(&self) -> Vec<String> {
        self.value("dns_servers")
            .map(|v| {
                v.split([',', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The public hosts setup derives: an explicit `MCP_*_INGRESS_HOST` wins, else `<name>.<domain>`.
    pub fn public_hosts(&self) -> PublicHosts {
        let domain = self.platform_domain();
        let pick = |explicit: &[&str], prefix: &str| -> Option<Setting> {
            explicit
                .iter()
                .find_map(|k| self.get(k).filter(|s| !s.value.trim().is_empty()).cloned())
                .or_else(|| {
                    domain.as_ref().map(|d| Setting {
                        value: format!("{prefix}.{d}"),
                        source: ValueSource::Derived("MCP_PLATFORM_DOMAIN".into()),
                    })
                })
        };
        PublicHosts {
            platform: pick(&["platform_ingress_host"], "platform"),
            registry: pick(&["registry_ingress_host", "registry_host"], "registry"),
            mcp: pick(&["mcp_ingress_host"], "mcp"),
        }
    }
}

/// Trim, strip `http(s)://`, any path and port, a trailing dot, and lower-case.
pub fn normalize_domain(raw: &str) -> String {
    let s = raw.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let s = s.split('/').next().unwrap_or("");
    let s = s.rsplit_once(':').map(|(h, _)| h).unwrap_or(s);
    s.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(flags: &[(&str, &str)], env: &[(&str, &str)]) -> ConfigInputs {
        ConfigInputs {
            flags: flags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env_file: None,
        }
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let mut i = inputs(&[], &[("MCP_PLATFORM_MODE", "org")]);
        i.env_file = Some((
            "deploy.env".into(),
            [("MCP_PLATFORM_MODE".to_string(), "public".to_string())].into(),
        ));
        let c = ResolvedConfig::resolve(&i);
        assert_eq!(
            c.get("platform_mode").unwrap().source,
            ValueSource::Env("MCP_PLATFORM_MODE".into())
        );
        i.flags.insert("platform_mode".into(), "public".into());
        let c = ResolvedConfig::resolve(&i);
        assert_eq!(
            c.get("platform_mode").unwrap().source,
            ValueSource::Flag("--platform-mode".into())
        );
        i.flags.clear();
        i.env.clear();
        let c = ResolvedConfig::resolve(&i);
        assert_eq!(
            c.get("platform_mode").unwrap().source,
            ValueSource::EnvFile("deploy.env:MCP_PLATFORM_MODE".into())
        );
        let c = ResolvedConfig::resolve(&ConfigInputs::default());
        assert_eq!(
            c.get("platform_mode").unwrap(),
            &Setting {
                value: "tenant".into(),
                source: ValueSource::Default
            }
        );
    }

    #[test]
    fn setup_prefixed_env_is_read_first() {
        let c = ResolvedConfig::resolve(&inputs(
            &[],
            &[
                ("MCP_TLS_CLUSTER_ISSUER", "a"),
                ("MCP_SETUP_TLS_CLUSTER_ISSUER", "b"),
            ],
        ));
        assert_eq!(c.value("tls_cluster_issuer"), Some("b"));
    }

    #[test]
    fn hosts_derive_from_apex_and_explicit_vars_override() {
        let c = ResolvedConfig::resolve(&inputs(
            &[],
            &[
                ("MCP_PLATFORM_DOMAIN", "Example.COM"),
                ("MCP_MCP_INGRESS_HOST", "tools.example.com"),
            ],
        ));
        let h = c.public_hosts();
        assert_eq!(h.platform.unwrap().value, "platform.example.com");
        assert_eq!(h.registry.unwrap().value, "registry.example.com");
        let mcp = h.mcp.unwrap();
        assert_eq!(mcp.value, "tools.example.com");
        assert_eq!(mcp.source, ValueSource::Env("MCP_MCP_INGRESS_HOST".into()));
    }

    #[test]
    fn normalize_strips_scheme_port_path() {
        assert_eq!(
            normalize_domain(" https://Example.com:8443/x "),
            "example.com"
        );
        assert_eq!(normalize_domain("example.com."), "example.com");
    }

    #[test]
    fn env_file_parses_quotes_comments_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.env");
        std::fs::write(&p, "# c\n\nexport A=1\nB=\"two words\"\nC='x'\n").unwrap();
        let m = parse_env_file(&p).unwrap();
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two words");
        assert_eq!(m["C"], "x");
        std::fs::write(&p, "A=1\nnot a pair\n").unwrap();
        let e = parse_env_file(&p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
