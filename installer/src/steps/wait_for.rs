//! ### What it does
//! `wait-for <check-ids>` (argument `checks: [ids]`, optional `timeout` in seconds, default 300): blocks
//! until every named check passes, re-evaluating them on fresh evidence with backoff, or the deadline
//! expires (the step then fails with each check's last message).
//!
//! ### Requires / verifies
//! Requires nothing; verifies the named checks.
//!
//! ### What it changes
//! Nothing: it only waits, so it is never asked for confirmation.

use std::time::Duration;

use async_trait::async_trait;

use crate::step::{Change, Env, Step, StepPlan};

pub struct WaitFor {
    pub checks: Vec<String>,
}

#[async_trait]
impl Step for WaitFor {
    fn kind(&self) -> &'static str {
        "wait-for"
    }

    fn describe(&self) -> String {
        format!("wait until {} pass", self.checks.join(", "))
    }

    fn requires(&self) -> Vec<String> {
        Vec::new()
    }

    fn verifies(&self) -> Vec<String> {
        self.checks.clone()
    }

    fn verify_deadline(&self) -> Duration {
        Duration::from_secs(300)
    }

    fn mutating(&self) -> bool {
        false
    }

    async fn plan(&self, _env: &Env) -> Result<StepPlan, String> {
        Ok(StepPlan::default())
    }

    async fn apply(&self, _env: &Env) -> Result<Vec<Change>, String> {
        Ok(Vec::new())
    }
}
