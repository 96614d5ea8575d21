//! Plans: an ordered list of steps with their arguments, read from YAML.
//!
//! ```yaml
//! description: the k3s guide's cluster-side preparation, then setup
//! steps:
//!   - step: label-ingress-node
//!     node: mcp-ingress-1
//!   - step: unlabel-enablelb
//!     keep: mcp-ingress-1
//!     timeout: 180            # seconds the verification may wait
//!   - step: run
//!     argv: [./bin/mcp-runtime, status]
//!     requires: [nodes.ready] # added to the step's own gates
//! ```
//!
//! Every key is checked: an unknown key, a key the step does not take, a missing argument, or an unknown
//! check id is an error naming the file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mcp_doctor_checks::{Mode, Registry};
use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::step::Step;
use crate::steps::apply_manifests::ApplyManifests;
use crate::steps::label_ingress_node::LabelIngressNode;
use crate::steps::run_command::RunCommand;
use crate::steps::setup::Setup;
use crate::steps::unlabel_enablelb::UnlabelEnablelb;
use crate::steps::wait_for::WaitFor;
use crate::steps::write_registry_config::WriteRegistryConfig;

/// One step of a plan, with the gates the plan adds to the step's own.
pub struct PlannedStep {
    pub step: Box<dyn Step>,
    pub requires: Vec<String>,
    pub verifies: Vec<String>,
    pub deadline: Duration,
}

impl PlannedStep {
    /// A step with its own gates and deadline only.
    pub fn new(step: Box<dyn Step>) -> PlannedStep {
        PlannedStep {
            requires: step.requires(),
            verifies: step.verifies(),
            deadline: step.verify_deadline(),
            step,
        }
    }
}

pub struct Plan {
    /// The plan file (its directory anchors relative paths and receives the journal).
    pub path: PathBuf,
    pub description: Option<String>,
    pub steps: Vec<PlannedStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    description: Option<String>,
    steps: Vec<Spanned<Value>>,
}

/// Every key a step entry may have; which apply to which step is checked in [`build`].
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Entry {
    step: String,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    verifies: Vec<String>,
    timeout: Option<u64>,
    node: Option<String>,
    keep: Option<String>,
    mirror: Option<String>,
    endpoint: Option<String>,
    ca_file: Option<String>,
    hosts: Option<String>,
    path: Option<String>,
    argv: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    checks: Option<Vec<String>>,
    binary: Option<String>,
    extra_args: Option<Vec<String>>,
}

/// The argument keys each step takes (besides `step`, `requires`, `verifies`, `timeout`).
const ARGUMENTS: [(&str, &[&str]); 7] = [
    ("label-ingress-node", &["node"]),
    ("unlabel-enablelb", &["keep"]),
    (
        "write-registry-config",
        &["mirror", "endpoint", "ca_file", "hosts"],
    ),
    ("apply-manifests", &["path"]),
    ("run", &["argv", "env"]),
    ("setup", &["binary", "extra_args", "env"]),
    ("wait-for", &["checks"]),
];

/// Reads the plan at `path`.
pub fn read(path: &Path, registry: &Registry) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the plan {}: {e}", path.display()))?;
    parse(path, &text, registry)
}

/// Parses a plan's text; errors read `FILE:LINE:COLUMN: what is wrong`.
pub fn parse(path: &Path, text: &str, registry: &Registry) -> Result<Plan, String> {
    let shown = path.display();
    let file: PlanFile = serde_saphyr::from_str(text).map_err(|e| {
        let message = e.to_string();
        let first = message.lines().next().unwrap_or_default().to_string();
        match e.location() {
            Some(at) => format!("{shown}:{}:{}: {first}", at.line(), at.column()),
            None => format!("{shown}: {first}"),
        }
    })?;
    if file.steps.is_empty() {
        return Err(format!("{shown}: the plan has no steps"));
    }
    let mut steps = Vec::new();
    for (i, spanned) in file.steps.into_iter().enumerate() {
        let at = spanned.referenced;
        let located = |why: String| {
            format!(
                "{shown}:{}:{}: step {}: {why}",
                at.line(),
                at.column(),
                i + 1
            )
        };
        let entry: Entry =
            serde_json::from_value(spanned.value).map_err(|e| located(e.to_string()))?;
        steps.push(build(entry, registry).map_err(located)?);
    }
    Ok(Plan {
        path: path.to_path_buf(),
        description: file.description,
        steps,
    })
}

fn build(entry: Entry, registry: &Registry) -> Result<PlannedStep, String> {
    let Some((_, allowed)) = ARGUMENTS.iter().find(|(k, _)| *k == entry.step) else {
        let kinds: Vec<&str> = ARGUMENTS.iter().map(|(k, _)| *k).collect();
        return Err(format!(
            "unknown step {:?}; the steps are {}",
            entry.step,
            kinds.join(", ")
        ));
    };
    let given = [
        ("node", entry.node.is_some()),
        ("keep", entry.keep.is_some()),
        ("mirror", entry.mirror.is_some()),
        ("endpoint", entry.endpoint.is_some()),
        ("ca_file", entry.ca_file.is_some()),
        ("hosts", entry.hosts.is_some()),
        ("path", entry.path.is_some()),
        ("argv", entry.argv.is_some()),
        ("env", entry.env.is_some()),
        ("checks", entry.checks.is_some()),
        ("binary", entry.binary.is_some()),
        ("extra_args", entry.extra_args.is_some()),
    ];
    if let Some((key, _)) = given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
        return Err(format!(
            "{} does not take `{key}` (it takes: {})",
            entry.step,
            allowed.join(", ")
        ));
    }
    let required = |v: Option<String>, key: &str| {
        v.filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("{} needs `{key}`", entry.step))
    };
    let timeout = entry.timeout.map(Duration::from_secs);
    let step: Box<dyn Step> = match entry.step.as_str() {
        "label-ingress-node" => Box::new(LabelIngressNode {
            node: required(entry.node, "node")?,
        }),
        "unlabel-enablelb" => Box::new(UnlabelEnablelb {
            keep: required(entry.keep, "keep")?,
        }),
        "write-registry-config" => {
            let hosts = match entry.hosts {
                Some(line) => match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                    [ip, name] => Some((ip.to_string(), name.to_string())),
                    _ => return Err(format!("hosts must be \"<address> <name>\", not {line:?}")),
                },
                None => None,
            };
            Box::new(WriteRegistryConfig {
                mirror: required(entry.mirror, "mirror")?,
                endpoint: required(entry.endpoint, "endpoint")?,
                ca_file: entry.ca_file,
                hosts,
            })
        }
        "apply-manifests" => Box::new(ApplyManifests {
            path: PathBuf::from(required(entry.path, "path")?),
        }),
        "run" => {
            let argv = entry.argv.unwrap_or_default();
            if argv.is_empty() {
                return Err("run needs `argv`: the command and its arguments".into());
            }
            Box::new(RunCommand {
                argv,
                env: entry.env.unwrap_or_default(),
                timeout,
            })
        }
        "setup" => Box::new(Setup {
            binary: entry.binary.unwrap_or_else(|| "./bin/mcp-runtime".into()),
            extra_args: entry.extra_args.unwrap_or_default(),
            env: entry.env.unwrap_or_default(),
            timeout,
            preflight: registry
                .metas()
                .filter(|m| m.modes.includes(Mode::Setup))
                .map(|m| m.id.to_string())
                .collect(),
        }),
        "wait-for" => {
            let checks = entry.checks.unwrap_or_default();
            if checks.is_empty() {
                return Err("wait-for needs `checks`: the check ids to wait for".into());
            }
            Box::new(WaitFor { checks })
        }
        _ => unreachable!("every step in ARGUMENTS is built above"),
    };
    let mut planned = PlannedStep::new(step);
    for id in entry.requires {
        if !planned.requires.contains(&id) {
            planned.requires.push(id);
        }
    }
    for id in entry.verifies {
        if !planned.verifies.contains(&id) {
            planned.verifies.push(id);
        }
    }
    let unknown: Vec<&String> = planned
        .requires
        .iter()
        .chain(&planned.verifies)
        .filter(|id| registry.get(id).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown check id(s) {}; `mcp-doctor list` shows them all",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(t) = timeout {
        planned.deadline = t;
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> &'static Registry {
        static R: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        R.get_or_init(Registry::builtin)
    }

    fn err(text: &str) -> String {
        match parse(Path::new("plan.yaml"), text, registry()) {
            Ok(_) => panic!("{text} parsed"),
            Err(e) => e,
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = err("steps:\n  - step: label-ingress-node\n    nod: a\n");
        assert!(e.starts_with("plan.yaml:2:"), "{e}");
        assert!(e.contains("unknown field `nod`"), "{e}");
        let e = err(
            "steps:\n  - step: run\n    argv: [ls]\n  - step: label-ingress-node\n    keep: x\n",
        );
        assert!(e.starts_with("plan.yaml:4:"), "{e}");
        assert!(
            e.contains("step 2: label-ingress-node does not take `keep`"),
            "{e}"
        );
        let e = err("steps:\n  - step: wait-for\n    checks: [nodes.redy]\n");
        assert!(e.contains("unknown check id(s) nodes.redy"), "{e}");
        let e = err("steps: [\n");
        assert!(e.starts_with("plan.yaml:"), "{e}");
        let e = err("steps:\n  - step: teleport\n");
        assert!(e.contains("unknown step \"teleport\""), "{e}");
    }

    #[test]
    fn extra_gates_are_added_to_the_steps_own() {
        let plan = parse(
            Path::new("p.yaml"),
            "steps:\n  - step: label-ingress-node\n    node: a\n    requires: [cluster.distribution]\n    timeout: 5\n",
            registry(),
        )
        .unwrap();
        let s = &plan.steps[0];
        assert_eq!(
            s.requires,
            [
                "cluster.api-reachable",
                "nodes.ready",
                "cluster.distribution"
            ]
        );
        assert_eq!(s.deadline, Duration::from_secs(5));
    }
}
