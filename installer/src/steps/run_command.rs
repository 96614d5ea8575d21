//! ### What it does
//! `run <argv...>` (arguments `argv: [program, args...]`, optional `env: {NAME: value}`, optional
//! `timeout` in seconds): runs an external command, typically `./bin/mcp-runtime setup ...`, in the current
//! directory, its output streamed to the terminal as it comes, and checks its exit code.
//!
//! ### Requires / verifies
//! Nothing by default; a plan names what the command needs (`requires`) and what it should bring about
//! (`verifies`).
//!
//! ### What it changes
//! Whatever the command does: the plan shows `run ./bin/mcp-runtime setup --platform-mode public ...`. A
//! command cannot be known to be idempotent, so it runs every time the plan does. A non-zero exit code (or
//! a timeout, which kills it) stops the plan with that code.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::step::{Change, Env, Step, StepPlan};

pub struct RunCommand {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub timeout: Option<Duration>,
}

/// `argv` as a shell would show it, quoting what needs quotes.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words in an environment variable's name that mark its value secret: shown and journaled as `***`.
const SECRET_NAME_WORDS: [&str; 5] = ["PASSWORD", "TOKEN", "SECRET", "KEY", "CREDENTIAL"];

/// The change a command run is, with the environment it adds (secret-looking values masked: plans and
/// journals are printed and bundled).
pub fn run_change(argv: &[String], env: &BTreeMap<String, String>) -> Change {
    let vars: Vec<String> = env
        .iter()
        .map(|(k, v)| {
            let upper = k.to_ascii_uppercase();
            if SECRET_NAME_WORDS.iter().any(|w| upper.contains(w)) {
                format!("{k}=***")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    let mut line = vars.join(" ");
    if !line.is_empty() {
        line.push(' ');
    }
    line.push_str(&shell_words(argv));
    Change::new("run", line, "")
}

/// Runs `argv` with its output inherited (streamed) and fails unless it exits 0 within `timeout`.
pub async fn run_argv(
    argv: &[String],
    env: &BTreeMap<String, String>,
    timeout: Option<Duration>,
) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Err("run needs a command: argv is empty".into());
    };
    let mut command = tokio::process::Command::new(program);
    command.args(args).envs(env).kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let status = match timeout {
        Some(limit) => match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                // Err only when it already exited.
                let _ = child.kill().await;
                return Err(format!(
                    "{} did not finish within {}s and was killed",
                    shell_words(argv),
                    limit.as_secs()
                ));
            }
        },
        None => child.wait().await,
    }
    .map_err(|e| format!("cannot wait for {program}: {e}"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(format!("{} exited with code {code}", shell_words(argv))),
        None => Err(format!(
            "{} was killed by a signal ({status})",
            shell_words(argv)
        )),
    }
}

#[async_trait]
impl Step for RunCommand {
    fn kind(&self) -> &'static str {
        "run"
    }

    fn describe(&self) -> String {
        format!("run {}", shell_words(&self.argv))
    }

    fn requires(&self) -> Vec<String> {
        Vec::new()
    }

    fn verifies(&self) -> Vec<String> {
        Vec::new()
    }

    async fn plan(&self, _env: &Env) -> Result<StepPlan, String> {
        Ok(StepPlan {
            changes: vec![run_change(&self.argv, &self.env)],
            notes: Vec::new(),
        })
    }

    async fn apply(&self, _env: &Env) -> Result<Vec<Change>, String> {
        run_argv(&self.argv, &self.env, self.timeout).await?;
        Ok(vec![run_change(&self.argv, &self.env)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        let argv: Vec<String> = [
            "./bin/mcp-runtime",
            "setup",
            "--acme-email",
            "ops@example.com",
            "a b",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            shell_words(&argv),
            "./bin/mcp-runtime setup --acme-email ops@example.com 'a b'"
        );
    }

    #[test]
    fn secret_looking_environment_values_are_masked() {
        let env = BTreeMap::from([
            (
                "PROVISIONED_REGISTRY_PASSWORD".to_string(),
                "hunter2".to_string(),
            ),
            ("MCP_SETUP_WAIT_TIMEOUT".to_string(), "1200".to_string()),
        ]);
        let shown = run_change(&["x".to_string()], &env).to_string();
        assert_eq!(
            shown,
            "run MCP_SETUP_WAIT_TIMEOUT=1200 PROVISIONED_REGISTRY_PASSWORD=*** x"
        );
    }

    #[tokio::test]
    async fn a_failing_command_reports_its_exit_code() {
        let argv = vec!["sh".to_string(), "-c".into(), "exit 3".into()];
        let e = run_argv(&argv, &BTreeMap::new(), None).await.unwrap_err();
        assert!(e.ends_with("exited with code 3"), "{e}");
        let argv = vec!["sleep".to_string(), "5".into()];
        let e = run_argv(&argv, &BTreeMap::new(), Some(Duration::from_millis(100)))
            .await
            .unwrap_err();
        assert!(e.contains("did not finish within"), "{e}");
    }
}
