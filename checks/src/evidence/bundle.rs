//! The bundle's own files besides the journal: `manifest.json` (what was collected, in which mode) and
//! `config.env` (the configuration the run judged, secrets masked), so `analyze` replays the same run.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::redact::RedactionCount;
use crate::model::{Mode, Profile};
use crate::settings::{EnvFile, ResolvedConfig, SETTINGS, ValueSource};

pub const BUNDLE_SCHEMA: &str = "mcp-doctor.bundle/v1";
/// The bundle format version this build reads and writes (the `vN` of [`BUNDLE_SCHEMA`]).
pub const BUNDLE_FORMAT: u32 = 1;
/// What a masked secret setting reads as in `config.env`: present, value withheld.
pub const MASKED: &str = "<redacted>";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub tool: ToolInfo,
    pub created_at: String,
    /// The mode the run was in; `analyze` replays in the same mode.
    pub mode: Mode,
    #[serde(default)]
    pub profile: Profile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which sources answered (`kube`, `host`, ...).
    #[serde(default)]
    pub collected: Vec<String>,
    /// What was withheld from the bundle.
    #[serde(default)]
    pub redacted: Vec<String>,
    /// What `mcp-doctor bundle` collected besides the checks' evidence (absent in a `--record` recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<crate::collect::Collection>,
    /// Every redaction made: which redactor, in which file, how many times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redaction_report: Vec<RedactionCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// What every bundle withholds.
pub fn redactions() -> Vec<String> {
    vec![
        "Secret data values except tls.crt and ca.crt (keys are kept; values as <redacted sha256:first8>)".into(),
        "Secret stringData".into(),
        "env values with secret-looking names (PASSWORD, TOKEN, SECRET, KEY, DSN, CREDENTIAL, AUTH) in pod templates".into(),
        "ConfigMap values under secret-looking keys, and kubeconfigs anywhere".into(),
        "bearer tokens, passwords in URLs, PEM private keys, JWTs and x-api-key values in logs and object text".into(),
        "metadata.managedFields and last-applied-configuration annotations".into(),
        "contents of kubeconfig and node-token files (only their modes)".into(),
        "values under secret-looking keys (password, token, auth, ...) in node config files (registries.yaml, k3s config.yaml, containerd config.toml)".into(),
        format!("secret settings in config.env (shown as {MASKED})"),
    ]
}

/// Reads `manifest.json`; a bundle without one (a hand-written fixture) replays in doctor mode. A bundle of
/// another format version is refused with what to do, before any of it is read as evidence.
pub fn read_manifest(root: &Path) -> Result<Option<Manifest>, String> {
    let path = root.join("manifest.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a bundle manifest: {e}", path.display()))?;
            check_schema(value.get("schema").and_then(|s| s.as_str()), &path)?;
            serde_json::from_value(value)
                .map(Some)
                .map_err(|e| format!("{} is not a bundle manifest: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn check_schema(schema: Option<&str>, path: &Path) -> Result<(), String> {
    let shown = path.display();
    let Some(schema) = schema else {
        return Err(format!(
            "{shown} has no \"schema\": not a manifest written by mcp-doctor"
        ));
    };
    let version = schema
        .strip_prefix("mcp-doctor.bundle/v")
        .and_then(|v| v.parse::<u32>().ok());
    match version {
        Some(BUNDLE_FORMAT) => Ok(()),
        Some(v) if v > BUNDLE_FORMAT => Err(format!(
            "{shown} is bundle format v{v}, newer than this mcp-doctor reads (v{BUNDLE_FORMAT}): analyze it with a newer mcp-doctor"
        )),
        Some(v) => Err(format!(
            "{shown} is bundle format v{v}, older than this mcp-doctor reads (v{BUNDLE_FORMAT}): analyze it with the mcp-doctor release named in its tool.version"
        )),
        None => Err(format!(
            "{shown} has schema {schema:?}, not {BUNDLE_SCHEMA}: not a bundle made by mcp-doctor"
        )),
    }
}

/// Renders the resolved configuration as the env file setup reads, one line per set value, under the first
/// env name of each setting; secrets masked.
pub fn config_env(config: &ResolvedConfig) -> String {
    let mut out =
        String::from("# The configuration this run judged (mcp-doctor); secrets masked.\n");
    for (def, setting) in config.entries() {
        let Some(setting) = setting else { continue };
        // Keep the variable name the value was given under, so replayed messages cite the same name.
        let name = match &setting.source {
            ValueSource::Default | ValueSource::Derived(_) => continue,
            ValueSource::Env(name) => name.as_str(),
            ValueSource::EnvFile(at) => at.rsplit(':').next().unwrap_or_default(),
            ValueSource::Flag(_) => match def.env.first() {
                Some(name) => name,
                None => continue,
            },
        };
        let value = if def.secret {
            MASKED
        } else {
            setting.value.as_str()
        };
        out.push_str(&format!("{name}={value}\n"));
    }
    out
}

/// The env-file map of a bundle's `config.env`, if it has one.
pub fn read_config_env(root: &Path) -> Result<Option<EnvFile>, String> {
    let path = root.join("config.env");
    if !path.exists() {
        return Ok(None);
    }
    crate::settings::parse_env_file(&path)
        .map(|m| Some((path.display().to_string(), m)))
        .map_err(|e| e.to_string())
}

/// Every env var name the settings read, so callers can tell which process variables matter.
pub fn known_env_names() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().flat_map(|d| d.env.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_with(schema: &str) -> Result<Option<Manifest>, String> {
        let dir = tempfile::tempdir().unwrap();
        let text = serde_json::json!({
            "schema": schema,
            "tool": {"name": "mcp-doctor", "version": "9.9.9"},
            "created_at": "2026-12-01T00:00:00Z",
            "mode": "doctor"
        });
        std::fs::write(dir.path().join("manifest.json"), text.to_string()).unwrap();
        read_manifest(dir.path())
    }

    #[test]
    fn reads_its_own_format() {
        assert!(manifest_with(BUNDLE_SCHEMA).unwrap().is_some());
    }

    #[test]
    fn refuses_a_newer_format_and_says_to_upgrade() {
        let err = manifest_with("mcp-doctor.bundle/v2").unwrap_err();
        assert!(
            err.contains("format v2, newer than this mcp-doctor reads (v1)"),
            "{err}"
        );
        assert!(err.contains("newer mcp-doctor"), "{err}");
    }

    #[test]
    fn refuses_an_older_format() {
        let err = manifest_with("mcp-doctor.bundle/v0").unwrap_err();
        assert!(err.contains("format v0, older than"), "{err}");
    }

    #[test]
    fn refuses_a_foreign_or_missing_schema() {
        let err = manifest_with("troubleshoot.sh/v1beta2").unwrap_err();
        assert!(err.contains("not a bundle made by mcp-doctor"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        assert!(
            read_manifest(dir.path())
                .unwrap_err()
                .contains("has no \"schema\"")
        );
    }
}
