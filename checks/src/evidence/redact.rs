//! Redaction by structure: the one place that decides what of a cluster may leave the site.
//!
//! Objects are redacted by what their fields are, not by luck of a pattern: Secret values (except the
//! public certificates `tls.crt` and `ca.crt`), env values whose names look secret in every pod template,
//! ConfigMap values under secret-looking keys, and anything shaped like a kubeconfig. Free text (log lines,
//! annotations, event messages, every other string of an object) passes through narrow line redactors:
//! bearer tokens, passwords in URLs, PEM private keys, JWTs and `x-api-key` headers.
//!
//! A redacted value becomes `<redacted sha256:first8>` of the value, so equal secrets stay comparable
//! across files without being readable. Each redaction is counted per redactor, for the manifest's report.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regex::{Captures, Regex, RegexSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ResourceKind;

/// The redactors, as named in the manifest's redaction report.
pub mod redactor {
    /// A Secret's `data` value (other than a public certificate).
    pub const SECRET_DATA: &str = "secret-data";
    /// A Secret's `stringData` (the API never returns it; dropped if it does).
    pub const SECRET_STRING_DATA: &str = "secret-string-data";
    /// An env var value whose name looks secret, in a Pod or workload template.
    pub const SECRET_ENV: &str = "secret-env";
    /// A ConfigMap value whose key looks secret.
    pub const SECRET_KEY: &str = "configmap-secret-key";
    /// A value that is a kubeconfig (clusters, users and their credentials).
    pub const KUBECONFIG: &str = "kubeconfig";
    /// A resolved setting whose name looks secret.
    pub const SECRET_SETTING: &str = "secret-setting";
    pub const PEM_PRIVATE_KEY: &str = "pem-private-key";
    pub const BEARER_TOKEN: &str = "bearer-token";
    pub const BASIC_AUTH_URL: &str = "basic-auth-url";
    pub const JWT: &str = "jwt";
    pub const API_KEY_HEADER: &str = "x-api-key";
    /// A value under a secret-looking key in a node's configuration file (`password:` in registries.yaml,
    /// `token:` in the k3s config, `auth = ` in containerd's config.toml).
    pub const CONFIG_SECRET_VALUE: &str = "config-secret-value";
}

/// Secret keys that hold public certificates and are kept.
pub const PUBLIC_SECRET_KEYS: &[&str] = &["tls.crt", "ca.crt"];

/// Parts of a name that mark its value as secret (`DB_PASSWORD`, `GITHUB_TOKEN`, `SENTRY_DSN`, ...).
const SECRET_NAME_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "SECRET",
    "KEY",
    "APIKEY",
    "DSN",
    "CREDENTIAL",
    "AUTH",
];

/// Counts of redactions by redactor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(BTreeMap<&'static str, u64>);

impl Tally {
    pub fn add(&mut self, redactor: &'static str, n: u64) {
        if n > 0 {
            *self.0.entry(redactor).or_default() += n;
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        for (r, n) in &other.0 {
            self.add(r, *n);
        }
    }

    pub fn get(&self, redactor: &str) -> u64 {
        self.0.get(redactor).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.0.iter().map(|(r, n)| (*r, *n))
    }
}

/// One row of the manifest's redaction report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RedactionCount {
    pub redactor: String,
    pub file: String,
    pub count: u64,
}

/// `<redacted sha256:1a2b3c4d>`: the first 8 hex digits of the value's SHA-256.
pub fn marker(value: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, value);
    let hex: String = digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("<redacted sha256:{hex}>")
}

fn is_marker(s: &str) -> bool {
    s.starts_with("<redacted sha256:") && s.ends_with('>') && s.len() == 26
}

/// Does a variable or key name look like it holds a secret? Compared on its upper-cased words, so
/// `db-password`, `apiKey` and `SENTRY_DSN` match and `MONKEY_COUNT` or `AUTHOR` do not.
pub fn looks_secret(name: &str) -> bool {
    words(name).iter().any(|w| {
        SECRET_NAME_PARTS.iter().any(|part| match *part {
            // Short parts must be a whole word (`MONKEY` is not a key), long ones may sit anywhere.
            "KEY" | "DSN" | "AUTH" => w == part,
            _ => w.contains(part),
        })
    })
}

/// `apiKey` -> [API, KEY]; `db-password` -> [DB, PASSWORD]; `tls.key` -> [TLS, KEY].
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Does a text look like a kubeconfig (or a part holding its credentials)?
fn looks_like_kubeconfig(text: &str) -> bool {
    let has = |k: &str| text.contains(k);
    (has("kind: Config") || has("\"kind\": \"Config\"") || has("\"kind\":\"Config\""))
        && (has("clusters") || has("users"))
        || (has("client-key-data") || has("client-certificate-data"))
}

struct LineRedactor {
    name: &'static str,
    pattern: Regex,
    /// Builds the replacement from the match; the secret part is always replaced by its marker.
    replace: fn(&Captures) -> String,
}

static LINE_REDACTORS: LazyLock<Vec<LineRedactor>> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("redactor patterns are valid");
    vec![
        // Whole PEM blocks first, so a key's base64 lines are never left to the other patterns.
        LineRedactor {
            name: redactor::PEM_PRIVATE_KEY,
            pattern: re(
                r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
            ),
            replace: |c| {
                format!(
                    "-----BEGIN {}PRIVATE KEY-----{}-----END {}PRIVATE KEY-----",
                    &c[1],
                    marker(c[0].as_bytes()),
                    &c[1]
                )
            },
        },
        LineRedactor {
            name: redactor::JWT,
            pattern: re(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
            replace: |c| marker(c[0].as_bytes()),
        },
        LineRedactor {
            name: redactor::BEARER_TOKEN,
            pattern: re(r"(?i)\b(bearer\s+)([A-Za-z0-9\-._~+/]{6,}=*)"),
            replace: |c| format!("{}{}", &c[1], marker(c[2].as_bytes())),
        },
        LineRedactor {
            name: redactor::API_KEY_HEADER,
            pattern: re(r#"(?i)(x-api-key["']?\s*[:=]\s*["']?)([^\s"',;]+)"#),
            replace: |c| format!("{}{}", &c[1], marker(c[2].as_bytes())),
        },
        LineRedactor {
            name: redactor::BASIC_AUTH_URL,
            pattern: re(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:)([^/\s@]+)@"),
            replace: |c| format!("{}{}@", &c[1], marker(c[2].as_bytes())),
        },
    ]
});

/// Every line redactor's pattern in one set: most strings (names, labels, images) match none, and one pass
/// of the set says so without the per-pattern captures that `replace_all` sets up.
static LINE_REDACTOR_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(LINE_REDACTORS.iter().map(|r| r.pattern.as_str()))
        .expect("redactor patterns are valid")
});

/// Passes free text through every line redactor.
pub fn text(input: &str, tally: &mut Tally) -> String {
    text_cow(input, tally).into_owned()
}

/// As [`text`], borrowing the input when nothing in it is redacted (the common case, and no copy).
fn text_cow<'a>(input: &'a str, tally: &mut Tally) -> Cow<'a, str> {
    let matched = LINE_REDACTOR_SET.matches(input);
    if !matched.matched_any() {
        return Cow::Borrowed(input);
    }
    let mut out = Cow::Borrowed(input);
    for (i, r) in LINE_REDACTORS.iter().enumerate() {
        // A set match on the input stands for this pattern on the text the earlier redactors left, too:
        // they only put markers in, and a marker matches none of the patterns.
        if !matched.matched(i) {
            continue;
        }
        let mut n = 0;
        let replaced = r.pattern.replace_all(&out, |c: &Captures| {
            n += 1;
            (r.replace)(c)
        });
        if n > 0 {
            tally.add(r.name, n);
            out = Cow::Owned(replaced.into_owned());
        }
    }
    out
}

/// `key: value` (YAML) or `key = value` (TOML) on one line, the key optionally quoted or a list item's.
static CONFIG_ENTRY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(\s*(?:-\s+)?["']?([A-Za-z0-9_.\-]+)["']?\s*(?::\s+|=\s*))(\S.*?)\s*$"#)
        .expect("the config entry pattern is valid")
});

/// A YAML key alone on its line (`password:`, maybe with a comment): its value is on the lines below.
static CONFIG_KEY_ALONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:-\s+)?["']?([A-Za-z0-9_.\-]+)["']?\s*:\s*(?:#.*)?$"#)
        .expect("the key-alone pattern is valid")
});

/// A YAML block scalar's header (`|`, `>-`, `|2+`, maybe with a comment): the value is the lines below.
static BLOCK_SCALAR_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[|>](?:[1-9][+-]?|[+-][1-9]?)?(?:\s+#.*)?$")
        .expect("the block scalar pattern is valid")
});

/// A secret value that goes on past the line of its key.
#[derive(Clone, Copy)]
enum SecretSpan {
    /// The lines indented deeper than the key's column: a YAML block scalar (`block`: every such line is
    /// the value), or what sits under a key alone on its line (a scalar on the next lines or a list of
    /// scalars; nested `key: value` entries there are judged by their own keys).
    Indented { column: usize, block: bool },
    /// A TOML multi-line string, up to its closing delimiter (`"""` or `'''`).
    TomlMultiline(&'static str),
}

/// Where a line's key starts: past its indentation and a list item's dash.
fn key_column(line: &str) -> usize {
    line.find(|c: char| !(c.is_whitespace() || c == '-'))
        .unwrap_or(line.len())
}

/// `body` with everything after its indentation replaced by the marker of that text, then `end`.
fn marked_line(body: &str, end: &str) -> String {
    let content = body.trim_start();
    let indent = &body[..body.len() - content.len()];
    format!("{indent}{}{end}", marker(content.trim_end().as_bytes()))
}

/// A node configuration file's text (YAML or TOML) with the value of every secret-looking key replaced by
/// its marker (quotes kept, so the file still parses), then every line through the free-text redactors.
/// A value may span lines: a YAML block scalar (`password: |`), the scalar or list under a key alone on
/// its line, or a TOML multi-line string; each of its lines becomes a marker. Absolute paths are kept
/// (`key_file = "/etc/..."` names a file, it holds no secret).
pub fn config_text(input: &str, tally: &mut Tally) -> String {
    let mut n = 0;
    let mut span: Option<SecretSpan> = None;
    let mut out = String::with_capacity(input.len());
    for line in input.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        match span {
            Some(SecretSpan::TomlMultiline(delimiter)) => {
                match body.find(delimiter) {
                    Some(close) => {
                        if close > 0 {
                            out.push_str(&marker(&body.as_bytes()[..close]));
                        }
                        out.push_str(&line[close..]);
                        span = None;
                    }
                    None => out.push_str(&marked_line(body, end)),
                }
                continue;
            }
            Some(SecretSpan::Indented { column, block }) => {
                let content = body.trim_start();
                let indent = body.len() - content.len();
                if content.is_empty() || (content.starts_with('#') && !block) {
                    out.push_str(line);
                    continue;
                }
                if indent <= column {
                    span = None;
                } else if block {
                    out.push_str(&marked_line(body, end));
                    continue;
                } else if !CONFIG_ENTRY.is_match(body) && !CONFIG_KEY_ALONE.is_match(body) {
                    // A scalar continued on this line, or a list item's scalar (`- value`).
                    n += 1;
                    match content.strip_prefix("- ") {
                        Some(item) => {
                            let dash = &body[..body.len() - item.len()];
                            out.push_str(dash);
                            out.push_str(&marker(item.trim_end().as_bytes()));
                            out.push_str(end);
                        }
                        None => out.push_str(&marked_line(body, end)),
                    }
                    continue;
                }
            }
            None => {}
        }
        if let Some(c) = CONFIG_KEY_ALONE.captures(body) {
            if looks_secret(&c[1]) {
                span = Some(SecretSpan::Indented {
                    column: key_column(body),
                    block: false,
                });
            }
            out.push_str(line);
            continue;
        }
        let Some(c) = CONFIG_ENTRY.captures(body) else {
            out.push_str(line);
            continue;
        };
        let value = &c[3];
        if !looks_secret(&c[2]) {
            out.push_str(line);
            continue;
        }
        if BLOCK_SCALAR_HEADER.is_match(value) {
            n += 1;
            span = Some(SecretSpan::Indented {
                column: key_column(body),
                block: true,
            });
            out.push_str(line);
            continue;
        }
        let multiline = ["\"\"\"", "'''"]
            .into_iter()
            .find(|d| value.starts_with(d) && value.matches(d).count() == 1);
        if let Some(delimiter) = multiline {
            n += 1;
            span = Some(SecretSpan::TomlMultiline(delimiter));
            let first = &value[delimiter.len()..];
            out.push_str(&c[1]);
            out.push_str(delimiter);
            if !first.is_empty() {
                out.push_str(&marker(first.as_bytes()));
            }
            out.push_str(end);
            continue;
        }
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'');
        let bare = match quote {
            Some(q) => value.trim_start_matches(q).trim_end_matches(q),
            None => value,
        };
        if bare.starts_with('/') || is_marker(bare) {
            out.push_str(line);
            continue;
        }
        n += 1;
        let q = quote.map(String::from).unwrap_or_default();
        out.push_str(&format!("{}{q}{}{q}{end}", &c[1], marker(bare.as_bytes())));
    }
    tally.add(redactor::CONFIG_SECRET_VALUE, n);
    text(&out, tally)
}

/// A node's host facts as they may leave the site: every collected file's text through [`config_text`].
pub fn host_facts(facts: &mut super::host::HostFacts) -> Tally {
    let mut tally = Tally::default();
    for file in facts.files.values_mut() {
        if let Some(content) = file.content.as_mut() {
            *content = config_text(content, &mut tally);
        }
    }
    tally
}

/// Redacts one API object in place, by its kind's structure, then every remaining string as free text.
pub fn object(kind: &ResourceKind, obj: &mut Value) -> Tally {
    let mut tally = Tally::default();
    match kind.kind {
        "Secret" => secret(obj, &mut tally),
        "ConfigMap" => config_map(obj, &mut tally),
        "Pod" => pod_spec(obj.get_mut("spec"), &mut tally),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            pod_spec(obj.pointer_mut("/spec/template/spec"), &mut tally)
        }
        _ => {}
    }
    strings(obj, &mut tally);
    tally
}

fn secret(obj: &mut Value, tally: &mut Tally) {
    if let Some(o) = obj.as_object_mut()
        && let Some(Value::Object(dropped)) = o.remove("stringData")
    {
        tally.add(redactor::SECRET_STRING_DATA, dropped.len() as u64);
    }
    let Some(data) = obj.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in data.iter_mut() {
        if DOCKER_CONFIG_KEYS.contains(&key.as_str()) {
            let hosts = Value::String(registry_hosts_only(key, value.as_str().unwrap_or_default()));
            if *value != hosts {
                *value = hosts;
                tally.add(redactor::SECRET_DATA, 1);
            }
            continue;
        }
        let public = PUBLIC_SECRET_KEYS.contains(&key.as_str());
        if let Some(redacted) = base64_value(value, |decoded| {
            !public || String::from_utf8_lossy(decoded).contains("PRIVATE KEY")
        }) {
            *value = redacted;
            tally.add(redactor::SECRET_DATA, 1);
        }
    }
}

/// Secret keys that hold a docker config: `.dockerconfigjson` (`{"auths": {host: {...}}}`) and the legacy
/// `.dockercfg` (`{host: {...}}`).
pub const DOCKER_CONFIG_KEYS: &[&str] = &[".dockerconfigjson", ".dockercfg"];

/// A base64 docker config reduced to its registry host keys with empty entries (no username, password,
/// auth or token survives), base64 again; empty when the value is not base64 JSON of that shape, so a
/// malformed config reads as one without hosts.
pub fn registry_hosts_only(key: &str, base64_value: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let Some(config) = engine
        .decode(base64_value.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
    else {
        return String::new();
    };
    let hosts = if key == ".dockercfg" {
        config.as_object()
    } else {
        config.get("auths").and_then(Value::as_object)
    };
    let Some(hosts) = hosts else {
        return String::new();
    };
    let reduced: serde_json::Map<String, Value> = hosts
        .keys()
        .map(|h| (h.clone(), Value::Object(Default::default())))
        .collect();
    let reduced = if key == ".dockercfg" {
        Value::Object(reduced)
    } else {
        serde_json::json!({ "auths": reduced })
    };
    engine.encode(reduced.to_string())
}

/// A base64 value (Secret `data`, ConfigMap `binaryData`) replaced by the base64 of its marker, so the
/// object stays what the API serves (clients decode these fields), when `redact` says so of the decoded
/// bytes. None when it stays: empty, already a marker, or kept.
fn base64_value(value: &Value, redact: impl Fn(&[u8]) -> bool) -> Option<Value> {
    let encoded = value.as_str().filter(|s| !s.is_empty())?;
    // Hash what the value is, not its encoding, so it compares with the same secret elsewhere.
    let decoded = STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec());
    if is_marker(&String::from_utf8_lossy(&decoded)) || !redact(&decoded) {
        return None;
    }
    Some(Value::String(STANDARD.encode(marker(&decoded))))
}

fn config_map(obj: &mut Value, tally: &mut Tally) {
    if let Some(binary) = obj.get_mut("binaryData").and_then(Value::as_object_mut) {
        for (key, value) in binary.iter_mut() {
            let secret = looks_secret(key);
            if let Some(redacted) = base64_value(value, |decoded| {
                secret || looks_like_kubeconfig(&String::from_utf8_lossy(decoded))
            }) {
                *value = redacted;
                tally.add(redactor::SECRET_KEY, 1);
            }
        }
    }
    let Some(data) = obj.get_mut("data").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in data.iter_mut() {
        let Some(s) = value.as_str().filter(|s| !s.is_empty() && !is_marker(s)) else {
            continue;
        };
        let which = if looks_secret(key) {
            redactor::SECRET_KEY
        } else if looks_like_kubeconfig(s) {
            redactor::KUBECONFIG
        } else {
            continue;
        };
        *value = Value::String(marker(s.as_bytes()));
        tally.add(which, 1);
    }
}

/// Env values with secret-looking names, in every container list of a pod spec. An empty value stays
/// empty: "set but empty" is a finding checks must still see.
fn pod_spec(spec: Option<&mut Value>, tally: &mut Tally) {
    let Some(spec) = spec else { return };
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in containers {
            let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) else {
                continue;
            };
            for var in env {
                let secret = var
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(looks_secret);
                if let Some(v) = var.get_mut("value")
                    && let Some(s) = v.as_str().filter(|s| !s.is_empty() && !is_marker(s))
                    && secret
                {
                    *v = Value::String(marker(s.as_bytes()));
                    tally.add(redactor::SECRET_ENV, 1);
                }
            }
        }
    }
}

/// ConfigMap keys that hold secrets by reference: `(namespace, ConfigMap, key)` for every env var with a
/// secret-looking name that takes its value from a ConfigMap (`valueFrom.configMapKeyRef`), in a Pod or
/// workload template. The key's own name may look harmless (`db`), so name rules alone would miss it.
pub fn secret_config_map_refs(kind: &ResourceKind, obj: &Value) -> Vec<(String, String, String)> {
    let spec = match kind.kind {
        "Pod" => obj.get("spec"),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            obj.pointer("/spec/template/spec")
        }
        _ => None,
    };
    let namespace = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = Vec::new();
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let containers = spec.and_then(|s| s.get(list)).and_then(Value::as_array);
        for var in containers
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("env").and_then(Value::as_array))
            .flatten()
        {
            let secret = var
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(looks_secret);
            let reference = var.pointer("/valueFrom/configMapKeyRef");
            let field = |k: &str| reference.and_then(|r| r.get(k)).and_then(Value::as_str);
            if let (true, Some(name), Some(key)) = (secret, field("name"), field("key")) {
                out.push((namespace.to_string(), name.to_string(), key.to_string()));
            }
        }
    }
    out
}

/// Redacts the given keys of a ConfigMap's `data` (they hold secrets by reference); returns how many.
pub fn config_map_keys(obj: &mut Value, keys: &[&str]) -> u64 {
    let Some(data) = obj.get_mut("data").and_then(Value::as_object_mut) else {
        return 0;
    };
    let mut n = 0;
    for (key, value) in data.iter_mut() {
        if let Some(s) = value.as_str().filter(|s| !s.is_empty() && !is_marker(s))
            && keys.contains(&key.as_str())
        {
            *value = Value::String(marker(s.as_bytes()));
            n += 1;
        }
    }
    n
}

/// Every string of a JSON value through the line redactors (kubeconfig-shaped strings as a whole).
fn strings(v: &mut Value, tally: &mut Tally) {
    match v {
        Value::String(s) if looks_like_kubeconfig(s) && !is_marker(s) => {
            *s = marker(s.as_bytes());
            tally.add(redactor::KUBECONFIG, 1);
        }
        Value::String(s) => {
            if let Cow::Owned(redacted) = text_cow(s, tally) {
                *s = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| strings(i, tally)),
        Value::Object(map) => map.values_mut().for_each(|i| strings(i, tally)),
        _ => {}
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn secret_values_in_node_config_files_are_redacted_and_the_files_still_parse() {
        let registries = "mirrors:\n  \"auth.example.com:5000\":\n    endpoint:\n      - \"https://auth.example.com:5000\"\nconfigs:\n  \"registry.example.com\":\n    auth:\n      username: robot\n      password: \"reg-canary-pw\"\n      identity_token: reg-canary-idtoken\n    tls:\n      ca_file: /etc/rancher/k3s/ca.pem\n      key_file: /etc/rancher/k3s/client.key\n";
        let mut tally = Tally::default();
        let out = config_text(registries, &mut tally);
        assert!(!out.contains("reg-canary"), "{out}");
        assert_eq!(tally.get(redactor::CONFIG_SECRET_VALUE), 2);
        for kept in [
            "\"auth.example.com:5000\":",
            "username: robot",
            "key_file: /etc/rancher/k3s/client.key",
        ] {
            assert!(out.contains(kept), "{kept} in {out}");
        }
        assert!(
            out.contains(&format!("password: \"{}\"", marker(b"reg-canary-pw"))),
            "{out}"
        );
        let parsed = crate::containerd::config::parse_registries_yaml(&out).unwrap();
        assert!(parsed.configs["registry.example.com"].tls.is_some());

        let toml = "[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"r.example.com\".auth]\n  auth = \"dG9tOnNlY3JldA==\"\n  token = 'k10-canary'\n[host.\"https://r.example.com\"]\n  ca = \"/etc/ca.pem\"\n";
        let mut tally = Tally::default();
        let out = config_text(toml, &mut tally);
        assert!(
            !out.contains("dG9tOnNlY3JldA") && !out.contains("k10-canary"),
            "{out}"
        );
        assert_eq!(tally.get(redactor::CONFIG_SECRET_VALUE), 2);
        assert!(out.contains("ca = \"/etc/ca.pem\""), "{out}");
        assert!(out.parse::<toml::Table>().is_ok(), "{out}");
        let k3s = "token: K10canary::server:abc\ndatastore-endpoint: postgres://k3s:dbcanary@db:5432/k3s\n";
        let mut tally = Tally::default();
        let out = config_text(k3s, &mut tally);
        assert!(
            !out.contains("K10canary") && !out.contains("dbcanary"),
            "{out}"
        );
        assert_eq!(tally.get(redactor::BASIC_AUTH_URL), 1);
    }
    /// Values that span lines: a YAML block scalar, the scalar or list under a key alone on its line, a
    /// TOML multi-line string. Each line of the value is replaced and the file still parses as before.
    #[test]
    fn secret_values_spanning_lines_are_redacted_and_the_files_still_parse() {
        let registries = "configs:\n  \"registry.example.com\":\n    auth:\n      username: robot\n      password: |\n        block-canary-1\n\n        block-canary-2\n      identity_token: >-\n        folded-canary\n    tls:\n      ca_file: /etc/ca.pem\n  \"other.example.com\":\n    auth:\n      password:\n        plain-canary\n      token:\n        - list-canary-1\n        - list-canary-2\n      username: robot2\n";
        let mut tally = Tally::default();
        let out = config_text(registries, &mut tally);
        assert!(!out.contains("canary"), "{out}");
        // The block scalar and the folded one, the plain scalar and two list items.
        assert_eq!(tally.get(redactor::CONFIG_SECRET_VALUE), 5, "{out}");
        let parsed = crate::containerd::config::parse_registries_yaml(&out).unwrap();
        let auth = |host: &str| {
            let auth = parsed.configs[host].auth.as_ref().unwrap();
            (auth.username.clone(), auth.password.clone())
        };
        assert_eq!(auth("registry.example.com").0.as_deref(), Some("robot"));
        assert_eq!(auth("other.example.com").0.as_deref(), Some("robot2"));
        assert!(
            auth("registry.example.com")
                .1
                .is_some_and(|p| p.contains("<redacted sha256:")),
            "{out}"
        );
        assert!(parsed.configs["registry.example.com"].tls.is_some());

        let toml = "[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"r.example.com\".auth]\n  password = \"\"\"\nml-canary-1\nml-canary-2\"\"\"\n  token = '''lit-canary\nlit-canary-2\n'''\n  username = \"robot\"\n";
        let mut tally = Tally::default();
        let out = config_text(toml, &mut tally);
        assert!(!out.contains("canary"), "{out}");
        assert_eq!(tally.get(redactor::CONFIG_SECRET_VALUE), 2, "{out}");
        let table: toml::Table = out.parse().unwrap_or_else(|e| panic!("{e}\n{out}"));
        let auth = &table["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["configs"]["r.example.com"]
            ["auth"];
        assert_eq!(auth["username"].as_str(), Some("robot"));
        assert!(
            auth["password"]
                .as_str()
                .unwrap()
                .contains("<redacted sha256:")
        );

        // A key alone on its line whose value is a mapping: only the secret-looking entries change.
        let k3s = "kubelet-arg:\n  - max-pods=200\nauth:\n  # the cluster's join secret\n  method: token\n";
        let mut tally = Tally::default();
        assert_eq!(config_text(k3s, &mut tally), k3s);
        assert!(tally.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::kinds;
    use serde_json::json;

    fn redacted(input: &str) -> (String, Tally) {
        let mut t = Tally::default();
        (text(input, &mut t), t)
    }

    #[test]
    fn markers_are_stable_and_short() {
        assert_eq!(marker(b"hunter2"), marker(b"hunter2"));
        assert_ne!(marker(b"hunter2"), marker(b"hunter3"));
        // sha256("") = e3b0c442...
        assert_eq!(marker(b""), "<redacted sha256:e3b0c442>");
        assert!(is_marker(&marker(b"x")));
    }

    #[test]
    fn secret_names() {
        for yes in [
            "DB_PASSWORD",
            "GITHUB_TOKEN",
            "apiKey",
            "SENTRY_DSN",
            "client-secret",
            "AWS_SECRET_ACCESS_KEY",
            "REGISTRY_CREDENTIALS",
            "BASIC_AUTH",
            "tls.key",
            "OPENAI_APIKEY",
        ] {
            assert!(looks_secret(yes), "{yes}");
        }
        for no in [
            "MONKEY_COUNT",
            "AUTHOR",
            "MCP_PLATFORM_DOMAIN",
            "PATH",
            "LOG_LEVEL",
        ] {
            assert!(!looks_secret(no), "{no}");
        }
    }

    #[test]
    fn pem_private_keys() {
        let key =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEcanaryQ\nAAAA\n-----END RSA PRIVATE KEY-----";
        let (out, t) = redacted(&format!("loaded key:\n{key}\ndone"));
        assert!(!out.contains("MIIEcanaryQ"), "{out}");
        assert!(out.starts_with("loaded key:\n-----BEGIN RSA PRIVATE KEY-----<redacted sha256:"));
        assert!(out.ends_with("-----END RSA PRIVATE KEY-----\ndone"));
        assert_eq!(t.get(redactor::PEM_PRIVATE_KEY), 1);
        // A truncated block (a log line cut mid-key) is redacted to the end.
        let (out, _) = redacted("-----BEGIN PRIVATE KEY-----\nMIIEcanaryQ");
        assert!(!out.contains("MIIEcanaryQ"));
        // Certificates are public and stay.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----";
        assert_eq!(redacted(cert).0, cert);
    }

    #[test]
    fn jwts() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl";
        let (out, t) = redacted(&format!("token={jwt} ok"));
        assert_eq!(out, format!("token={} ok", marker(jwt.as_bytes())));
        assert_eq!(t.get(redactor::JWT), 1);
        assert_eq!(
            redacted("eyJ alone is not a token").0,
            "eyJ alone is not a token"
        );
    }

    #[test]
    fn bearer_tokens() {
        let (out, t) = redacted("GET / Authorization: Bearer s3cr3t-canary-token");
        assert_eq!(
            out,
            format!(
                "GET / Authorization: Bearer {}",
                marker(b"s3cr3t-canary-token")
            )
        );
        assert_eq!(t.get(redactor::BEARER_TOKEN), 1);
        assert_eq!(redacted("bearer of bad news").0, "bearer of bad news");
    }

    #[test]
    fn basic_auth_urls() {
        let (out, t) = redacted("connecting to postgres://app:pa55word@db:5432/sentinel");
        assert_eq!(
            out,
            format!(
                "connecting to postgres://app:{}@db:5432/sentinel",
                marker(b"pa55word")
            )
        );
        assert_eq!(t.get(redactor::BASIC_AUTH_URL), 1);
        let plain = "see https://registry.example.com:5000/v2/ and a@b.c";
        assert_eq!(redacted(plain).0, plain);
    }

    #[test]
    fn api_key_headers() {
        for line in [
            "x-api-key: k-canary-1",
            "X-API-Key=k-canary-1",
            r#"{"x-api-key": "k-canary-1"}"#,
        ] {
            let (out, t) = redacted(line);
            assert!(!out.contains("k-canary-1"), "{line} -> {out}");
            assert_eq!(t.get(redactor::API_KEY_HEADER), 1, "{line}");
        }
    }

    #[test]
    fn secrets_keep_only_public_certificates() {
        let mut s = json!({
            "kind": "Secret",
            "data": {
                "tls.crt": STANDARD.encode("-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----"),
                "tls.key": STANDARD.encode("key-canary"),
                "password": STANDARD.encode("pw-canary"),
                "same": STANDARD.encode("pw-canary"),
                "empty": ""
            },
            "stringData": {"x": "y"}
        });
        let t = object(&kinds::SECRETS, &mut s);
        assert!(s["data"]["tls.crt"].as_str().unwrap().starts_with("LS0t"));
        // Still base64, as the API serves Secret data (typed clients decode it).
        assert_eq!(s["data"]["tls.key"], STANDARD.encode(marker(b"key-canary")));
        assert_eq!(
            s["data"]["password"], s["data"]["same"],
            "equal secrets compare"
        );
        assert_eq!(s["data"]["empty"], "");
        assert!(s.get("stringData").is_none());
        assert_eq!(t.get(redactor::SECRET_DATA), 3);
        assert_eq!(t.get(redactor::SECRET_STRING_DATA), 1);
        // Idempotent: redacting again changes nothing and counts nothing.
        let before = s.clone();
        assert!(object(&kinds::SECRETS, &mut s).is_empty());
        assert_eq!(s, before);
        // A private key stuffed into tls.crt is not a public certificate.
        let mut bad =
            json!({"data": {"tls.crt": STANDARD.encode("-----BEGIN PRIVATE KEY-----\nX")}});
        object(&kinds::SECRETS, &mut bad);
        let decoded = STANDARD
            .decode(bad["data"]["tls.crt"].as_str().unwrap())
            .unwrap();
        assert!(is_marker(&String::from_utf8_lossy(&decoded)));
    }

    #[test]
    fn workload_env_with_secret_names() {
        let containers = json!({"containers": [{"name": "api", "env": [
            {"name": "DATABASE_PASSWORD", "value": "pw-canary"},
            {"name": "EMPTY_TOKEN", "value": ""},
            {"name": "FROM_SECRET_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "LOG_LEVEL", "value": "debug"}
        ]}]});
        let mut pod = json!({"kind": "Pod", "spec": containers.clone()});
        let t = object(&kinds::PODS, &mut pod);
        let env = &pod["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], marker(b"pw-canary"));
        assert_eq!(env[1]["value"], "");
        assert_eq!(env[2]["valueFrom"]["secretKeyRef"]["key"], "k");
        assert_eq!(env[3]["value"], "debug");
        assert_eq!(t.get(redactor::SECRET_ENV), 1);
        for kind in [
            &kinds::DEPLOYMENTS,
            &kinds::STATEFULSETS,
            &kinds::DAEMONSETS,
        ] {
            let mut w = json!({"spec": {"template": {"spec": containers.clone()}}});
            assert_eq!(object(kind, &mut w).get(redactor::SECRET_ENV), 1, "{kind}");
        }
    }

    #[test]
    fn config_map_keys_referenced_by_secret_env_vars() {
        let pod = json!({"metadata": {"namespace": "ns"}, "spec": {"containers": [{"env": [
            {"name": "DB_PASSWORD", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "db"}}},
            {"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "level"}}}
        ]}]}});
        let refs = secret_config_map_refs(&kinds::PODS, &pod);
        assert_eq!(
            refs,
            [("ns".to_string(), "app".to_string(), "db".to_string())]
        );
        let mut cm = json!({"data": {"db": "pw-canary", "level": "info"}});
        assert_eq!(config_map_keys(&mut cm, &["db"]), 1);
        assert_eq!(cm["data"]["db"], marker(b"pw-canary"));
        assert_eq!(cm["data"]["level"], "info");
    }

    #[test]
    fn config_maps_and_kubeconfigs() {
        let kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: u\n  user:\n    token: kc-canary\n";
        let mut cm = json!({"data": {
            "API_TOKEN": "tok-canary",
            "kubeconfig.yaml": kubeconfig,
            "settings.yaml": "level: info"
        }});
        let t = object(&kinds::CONFIGMAPS, &mut cm);
        assert_eq!(cm["data"]["API_TOKEN"], marker(b"tok-canary"));
        assert_eq!(cm["data"]["kubeconfig.yaml"], marker(kubeconfig.as_bytes()));
        assert_eq!(cm["data"]["settings.yaml"], "level: info");
        assert_eq!(t.get(redactor::SECRET_KEY), 1);
        assert_eq!(t.get(redactor::KUBECONFIG), 1);
        let mut binary = json!({"binaryData": {"client.key": STANDARD.encode("k"), "logo.png": STANDARD.encode("png")}});
        assert_eq!(
            object(&kinds::CONFIGMAPS, &mut binary).get(redactor::SECRET_KEY),
            1
        );
        assert_eq!(
            binary["binaryData"]["client.key"],
            STANDARD.encode(marker(b"k"))
        );
        assert_eq!(binary["binaryData"]["logo.png"], STANDARD.encode("png"));
        // A kubeconfig anywhere else (an annotation of any kind) is dropped too.
        let mut other = json!({"metadata": {"annotations": {"a": kubeconfig}}});
        assert_eq!(
            object(&kinds::NODES, &mut other).get(redactor::KUBECONFIG),
            1
        );
    }
}
