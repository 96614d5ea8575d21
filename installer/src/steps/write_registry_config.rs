//! ### What it does
//! `write-registry-config` (arguments `mirror: <host[:port]>`, `endpoint: <url>`, optional `ca_file:
//! <path on the node>`, optional `hosts: "<ip> <name>"`): gives the node's containerd access to the
//! registry the platform's images name, as the Cluster Readiness guide's k3s section does. It merges the
//! mirror (and, with a CA, the `configs` TLS entry) into `/etc/rancher/k3s/registries.yaml` under
//! `--host-root`, keeping every existing entry, and on the dev path adds the `/etc/hosts` line. The entries
//! are the ones the registry remediation's snippet shows (`registries_yaml_document`), hardened the same
//! way under `--profile prod` (HTTPS, no `/etc/hosts` line).
//!
//! ### Requires / verifies
//! Nothing by default: it changes host files, not the cluster, and k3s reads them only at start; add
//! `verifies` (e.g. `containerd.mirror-match`) in the plan after a restart.
//!
//! ### What it changes
//! `write /etc/rancher/k3s/registries.yaml (+mirror registry.local:32000 -> http://127.0.0.1:32000; keeps 2
//! other entries)` after copying the old file to `registries.yaml.mcp-doctor-<UTC timestamp>.bak`;
//! `append /etc/hosts 127.0.0.1 registry.local`; with `--restart-runtime`, `restart k3s` (`systemctl restart
//! k3s`, or `k3s-agent` on an agent), otherwise a note that k3s must be restarted. Nothing when the file
//! already holds the entries. A file that is not valid YAML, or an `/etc/hosts` that maps the name to
//! another address, stops the step: it never overwrites what it cannot read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use mcp_doctor_checks::Profile;
use mcp_doctor_remediations::{RegistryAccess, registries_yaml_document};
use serde_json::{Map, Value};

use crate::step::{Change, Env, Step, StepPlan};

/// Where k3s reads its registry configuration.
pub const REGISTRIES_YAML: &str = "/etc/rancher/k3s/registries.yaml";
const ETC_HOSTS: &str = "/etc/hosts";
/// How long `systemctl restart` may take.
const RESTART_TIMEOUT: Duration = Duration::from_secs(180);

pub struct WriteRegistryConfig {
    pub mirror: String,
    pub endpoint: String,
    pub ca_file: Option<String>,
    /// `<ip> <name>` for `/etc/hosts`.
    pub hosts: Option<(String, String)>,
}

/// What the step would write.
struct Desired {
    /// The merged registries.yaml, when it differs from the file.
    registries: Option<(Value, usize)>,
    /// The `/etc/hosts` line to append.
    hosts_line: Option<String>,
}

impl WriteRegistryConfig {
    fn access(&self, profile: Profile) -> RegistryAccess {
        let access = RegistryAccess {
            host: self.mirror.clone(),
            endpoint: self.endpoint.clone(),
            ca_file: self.ca_file.clone(),
            hosts_line: self.hosts.clone(),
        };
        if profile == Profile::Prod {
            access.hardened()
        } else {
            access
        }
    }

    fn desired(&self, env: &Env) -> Result<Desired, String> {
        let access = self.access(env.profile);
        let document = registries_yaml_document(std::slice::from_ref(&access));
        let wanted: Value = serde_saphyr::from_str(&document)
            .map_err(|e| format!("the generated registries.yaml does not parse: {e}"))?;
        let path = env.host_path(REGISTRIES_YAML);
        let existing = read_yaml(&path)?;
        let (merged, kept) = merge_registries(&existing, &wanted);
        let registries = (merged != existing).then_some((merged, kept));
        let hosts_line = match &access.hosts_line {
            Some((ip, name)) => hosts_line_needed(&env.host_path(ETC_HOSTS), ip, name)?,
            None => None,
        };
        Ok(Desired {
            registries,
            hosts_line,
        })
    }

    fn changes(&self, env: &Env, desired: &Desired, backup: Option<&str>) -> Vec<Change> {
        let access = self.access(env.profile);
        let mut changes = Vec::new();
        if let Some((_, kept)) = &desired.registries {
            let mut detail = format!("(+mirror {} -> {}", access.host, access.endpoint);
            if let Some(ca) = &access.ca_file {
                detail.push_str(&format!(", CA {ca}"));
            }
            detail.push_str(&format!("; keeps {kept} other entries"));
            if let Some(b) = backup {
                detail.push_str(&format!("; backup {b}"));
            }
            detail.push(')');
            changes.push(Change::new("write", REGISTRIES_YAML, detail));
        }
        if let Some(line) = &desired.hosts_line {
            changes.push(Change::new("append", ETC_HOSTS, line.clone()));
        }
        if desired.registries.is_some() && env.restart_runtime {
            let unit = k3s_unit(env);
            changes.push(Change::new(
                "restart",
                unit,
                format!("(systemctl restart {unit}: k3s reads registries.yaml only at start)"),
            ));
        }
        changes
    }
}

#[async_trait]
impl Step for WriteRegistryConfig {
    fn kind(&self) -> &'static str {
        "write-registry-config"
    }

    fn describe(&self) -> String {
        format!(
            "let containerd pull {} through {} ({REGISTRIES_YAML} under the host root)",
            self.mirror, self.endpoint
        )
    }

    fn requires(&self) -> Vec<String> {
        Vec::new()
    }

    fn verifies(&self) -> Vec<String> {
        Vec::new()
    }

    async fn plan(&self, env: &Env) -> Result<StepPlan, String> {
        let desired = self.desired(env)?;
        let existed = env.host_path(REGISTRIES_YAML).exists();
        let backup = existed.then_some("registries.yaml.mcp-doctor-<UTC timestamp>.bak");
        let mut notes = Vec::new();
        if desired.registries.is_some() && !env.restart_runtime {
            notes.push(restart_note(env));
        }
        Ok(StepPlan {
            changes: self.changes(env, &desired, backup),
            notes,
        })
    }

    async fn apply(&self, env: &Env) -> Result<Vec<Change>, String> {
        let desired = self.desired(env)?;
        let path = env.host_path(REGISTRIES_YAML);
        let mut backup = None;
        if let Some((merged, _)) = &desired.registries {
            if path.exists() {
                let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
                let name = format!("registries.yaml.mcp-doctor-{stamp}.bak");
                let target = path.with_file_name(&name);
                std::fs::copy(&path, &target).map_err(|e| {
                    format!(
                        "cannot back up {} to {}: {e}",
                        path.display(),
                        target.display()
                    )
                })?;
                backup = Some(name);
            }
            let text = serde_saphyr::to_string(merged)
                .map_err(|e| format!("cannot render registries.yaml: {e}"))?;
            let header =
                "# written by mcp-doctor install (write-registry-config): existing entries kept\n";
            write_file(&path, &format!("{header}{text}"), 0o600)?;
        }
        if let Some(line) = &desired.hosts_line {
            let hosts = env.host_path(ETC_HOSTS);
            let mut text = std::fs::read_to_string(&hosts).unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(line);
            text.push('\n');
            write_file(&hosts, &text, 0o644)?;
        }
        let changes = self.changes(env, &desired, backup.as_deref());
        if desired.registries.is_some() && env.restart_runtime {
            restart(k3s_unit(env)).await?;
        }
        Ok(changes)
    }
}

/// The note shown when k3s is not restarted by the tool.
fn restart_note(env: &Env) -> String {
    let unit = k3s_unit(env);
    format!(
        "k3s reads registries.yaml only at start: restart it on this node (sudo systemctl restart {unit}), \
         or pass --restart-runtime; apply the same file on every node"
    )
}

/// `k3s-agent` on an agent node (its unit file exists under the host root), else `k3s`.
fn k3s_unit(env: &Env) -> &'static str {
    if env
        .host_path("/etc/systemd/system/k3s-agent.service")
        .exists()
    {
        "k3s-agent"
    } else {
        "k3s"
    }
}

async fn restart(unit: &str) -> Result<(), String> {
    let mut command = tokio::process::Command::new("systemctl");
    command.args(["restart", unit]).kill_on_drop(true);
    match tokio::time::timeout(RESTART_TIMEOUT, command.status()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("systemctl restart {unit} failed ({status})")),
        Ok(Err(e)) => Err(format!("cannot run systemctl restart {unit}: {e}")),
        Err(_) => Err(format!(
            "systemctl restart {unit} did not finish within {}s",
            RESTART_TIMEOUT.as_secs()
        )),
    }
}

/// A YAML file as a mapping: `{}` when absent or empty; an error when it is not a mapping.
fn read_yaml(path: &Path) -> Result<Value, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Value::Object(Map::new())),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_saphyr::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(Value::Null) => Ok(Value::Object(Map::new())),
        Ok(_) => Err(format!(
            "{} is not a YAML mapping: refusing to overwrite it",
            path.display()
        )),
        Err(e) => Err(format!(
            "{} is not valid YAML ({e}): refusing to overwrite it",
            path.display()
        )),
    }
}

/// `existing` with `wanted`'s `mirrors`/`configs` entries set (replacing entries for the same host), and
/// how many other entries it keeps.
fn merge_registries(existing: &Value, wanted: &Value) -> (Value, usize) {
    let mut merged = existing.clone();
    let mut kept = 0;
    for section in ["mirrors", "configs"] {
        let Some(entries) = wanted.get(section).and_then(Value::as_object) else {
            kept += existing
                .get(section)
                .and_then(Value::as_object)
                .map_or(0, Map::len);
            continue;
        };
        let target = merged
            .as_object_mut()
            .expect("read_yaml returns mappings")
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let target = target.as_object_mut().expect("made an object above");
        kept += target.keys().filter(|k| !entries.contains_key(*k)).count();
        for (host, entry) in entries {
            target.insert(host.clone(), entry.clone());
        }
    }
    // Other top-level keys (`auths` in older files) are kept as they are.
    kept += existing.as_object().map_or(0, |m| {
        m.keys()
            .filter(|k| *k != "mirrors" && *k != "configs")
            .count()
    });
    (merged, kept)
}

/// The `/etc/hosts` line to append, None when the name already maps to `ip`; an error when it maps to
/// another address.
fn hosts_line_needed(path: &Path, ip: &str, name: &str) -> Result<Option<String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(address) = fields.next() else {
            continue;
        };
        if fields.any(|n| n == name) {
            if address == ip {
                return Ok(None);
            }
            return Err(format!(
                "{} already maps {name} to {address}, not {ip}: fix that line by hand",
                path.display()
            ));
        }
    }
    Ok(Some(format!("{ip} {name}")))
}

/// Writes `text` to `path` atomically (a temporary file renamed over it), keeping an existing file's mode.
fn write_file(path: &Path, text: &str, new_mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let parent = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(new_mode);
    let tmp = path.with_extension("mcp-doctor-tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot set the mode of {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merging_keeps_other_mirrors_and_replaces_the_same_host() {
        let existing = json!({"mirrors": {"docker.io": {"endpoint": ["https://mirror.corp"]},
                                          "registry.local:32000": {"endpoint": ["http://old"]}},
                              "configs": {"mirror.corp": {"auth": {"username": "u"}}}});
        let wanted =
            json!({"mirrors": {"registry.local:32000": {"endpoint": ["http://127.0.0.1:32000"]}}});
        let (merged, kept) = merge_registries(&existing, &wanted);
        assert_eq!(kept, 2);
        assert_eq!(
            merged["mirrors"]["registry.local:32000"]["endpoint"][0],
            "http://127.0.0.1:32000"
        );
        assert_eq!(
            merged["mirrors"]["docker.io"]["endpoint"][0],
            "https://mirror.corp"
        );
        assert_eq!(merged["configs"]["mirror.corp"]["auth"]["username"], "u");
    }

    #[test]
    fn hosts_line_is_added_once_and_a_conflict_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
        assert_eq!(
            hosts_line_needed(&hosts, "127.0.0.1", "registry.local").unwrap(),
            Some("127.0.0.1 registry.local".into())
        );
        std::fs::write(&hosts, "127.0.0.1 localhost registry.local\n").unwrap();
        assert_eq!(
            hosts_line_needed(&hosts, "127.0.0.1", "registry.local").unwrap(),
            None
        );
        std::fs::write(&hosts, "10.0.0.9 registry.local\n").unwrap();
        let e = hosts_line_needed(&hosts, "127.0.0.1", "registry.local").unwrap_err();
        assert!(e.contains("already maps registry.local to 10.0.0.9"), "{e}");
    }
}
