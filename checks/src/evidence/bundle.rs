//! The bundle's own files besides the journal: `manifest.json` (what was collected, in which mode) and
//! `config.env` (the configuration the run judged, secrets masked), so `analyze` replays the same run.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{Mode, Profile};
use crate::settings::{EnvFile, ResolvedConfig, SETTINGS, ValueSource};

pub const BUNDLE_SCHEMA: &str = "mcp-doctor.bundle/v1";
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// What every bundle withholds.
pub fn redactions() -> Vec<String> {
    vec![
        "Secret data values except tls.crt and ca.crt (keys are kept)".into(),
        "Secret stringData".into(),
        "metadata.managedFields and last-applied-configuration annotations".into(),
        "contents of kubeconfig and node-token files (only their modes)".into(),
        format!("secret settings in config.env (shown as {MASKED})"),
    ]
}

/// Reads `manifest.json`; a bundle without one (a hand-written fixture) replays in doctor mode.
pub fn read_manifest(root: &Path) -> Result<Option<Manifest>, String> {
    let path = root.join("manifest.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{} is not a bundle manifest: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
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
