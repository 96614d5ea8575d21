//! The run as Prometheus metrics in the text exposition format (version 0.0.4), written by `--metrics FILE`
//! (node-exporter's textfile collector, a push) and served by `mcp-doctor serve` on `/metrics`.
//!
//! Labels hold check ids and statuses only, never messages or subjects, so the number of series is bounded
//! by the registry: one `mcp_doctor_check_status` series per check and status. The statuses come from
//! [`Status::ALL`], so a status added to the model appears here without a change.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use mcp_doctor_checks::Status;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};

use crate::Report;

/// The `Content-Type` of what [`render`] returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// How the latest run attempt ended, which may be later than the report shown (a run that could not finish
/// leaves the previous report's verdicts in place).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunAttempt {
    /// When the attempt ended.
    pub finished_at: jiff::Timestamp,
    pub duration: Duration,
    /// Whether the attempt produced a report: false when it could not start (bad configuration) or was
    /// abandoned at its timeout. A run whose checks fail (even an unreachable API) did produce a report.
    pub produced_report: bool,
}

impl RunAttempt {
    /// The attempt that produced `report`.
    pub fn of(report: &Report) -> RunAttempt {
        let duration = Duration::from_millis(report.duration_ms);
        RunAttempt {
            finished_at: report
                .started_at
                .checked_add(duration)
                .unwrap_or(report.started_at),
            duration,
            produced_report: true,
        }
    }
}

/// Labels of one series, in the order they are written.
type Labels = Vec<(&'static str, String)>;

/// A gauge family written in the order its series were added (registry order, then [`Status::ALL`]), so
/// the same run always gives the same file; prometheus-client's `Family` writes in hash order.
#[derive(Debug)]
struct OrderedGauges {
    name: &'static str,
    help: &'static str,
    series: Vec<(Labels, i64)>,
}

impl Collector for OrderedGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family =
            encoder.encode_descriptor(self.name, self.help, None, MetricType::Gauge)?;
        for (labels, value) in &self.series {
            ConstGauge::new(*value).encode(family.encode_family(labels)?)?;
        }
        Ok(())
    }
}

/// The metrics of the latest attempt and of the latest report (None before any run produced one).
pub fn render(report: Option<&Report>, attempt: &RunAttempt) -> String {
    let mut registry = Registry::default();

    let checks = report.map(|r| r.checks.as_slice()).unwrap_or_default();
    let mut check_status = OrderedGauges {
        name: "mcp_doctor_check_status",
        help: "1 for the status each check ended in, 0 for the others.",
        series: Vec::new(),
    };
    for check in checks {
        for status in Status::ALL {
            check_status.series.push((
                vec![("check", check.id.clone()), ("status", status.to_string())],
                i64::from(check.status == status),
            ));
        }
    }
    let mut counts = OrderedGauges {
        name: "mcp_doctor_checks",
        help: "How many checks ended in each status.",
        series: Vec::new(),
    };
    if report.is_some() {
        for status in Status::ALL {
            let count = checks.iter().filter(|c| c.status == status).count();
            counts.series.push((
                vec![("status", status.to_string())],
                i64::try_from(count).unwrap_or(i64::MAX),
            ));
        }
    }
    registry.register_collector(Box::new(check_status));
    registry.register_collector(Box::new(counts));

    let success = Gauge::<i64>::default();
    success.set(i64::from(attempt.produced_report));
    registry.register(
        "mcp_doctor_last_run_success",
        "1 when the last run finished with a report, 0 when it could not start or timed out",
        success,
    );
    let finished = Gauge::<f64, AtomicU64>::default();
    finished.set(attempt.finished_at.as_millisecond() as f64 / 1000.0);
    registry.register_with_unit(
        "mcp_doctor_last_run_timestamp",
        "When the last run ended, in seconds since the Unix epoch",
        Unit::Seconds,
        finished,
    );
    let duration = Gauge::<f64, AtomicU64>::default();
    duration.set(attempt.duration.as_secs_f64());
    registry.register_with_unit(
        "mcp_doctor_last_run_duration",
        "How long the last run took",
        Unit::Seconds,
        duration,
    );
    registry.register_collector(Box::new(OrderedGauges {
        name: "mcp_doctor_build_info",
        help: "The mcp-doctor version.",
        series: vec![(vec![("version", env!("CARGO_PKG_VERSION").to_string())], 1)],
    }));

    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .expect("writing to a String cannot fail");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CheckResult, Summary, Tool};
    use mcp_doctor_checks::evidence::Origin;
    use mcp_doctor_checks::{Mode, Profile};

    fn result(id: &str, status: Status, message: &str) -> CheckResult {
        CheckResult {
            id: id.into(),
            title: String::new(),
            category: "cluster".into(),
            status,
            message: message.into(),
            details: Default::default(),
            depends_on: Vec::new(),
            skipped_because: None,
            remediation: None,
            subjects: vec!["node/a\"b".into()],
            waiver: None,
            duration_ms: 1,
        }
    }

    fn report(checks: Vec<CheckResult>) -> Report {
        Report {
            schema: crate::REPORT_SCHEMA_ID.into(),
            tool: Tool::this(),
            mode: Mode::Doctor,
            profile: Profile::Dev,
            source: Origin::Live,
            cluster: None,
            started_at: "2026-11-21T12:00:00Z".parse().unwrap(),
            duration_ms: 1500,
            summary: Summary::of(&checks),
            checks,
            root_causes: Vec::new(),
            interrupted: false,
            notes: Vec::new(),
        }
    }

    #[test]
    fn one_series_per_check_and_status_and_no_free_text() {
        let r = report(vec![
            result("nodes.ready", Status::Fail, "node \"a\" is NotReady\n"),
            result("cluster.api-reachable", Status::Pass, "ok"),
        ]);
        let text = render(Some(&r), &RunAttempt::of(&r));
        assert_eq!(text, render(Some(&r), &RunAttempt::of(&r)), "deterministic");
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("mcp_doctor_check_status{"))
            .collect();
        assert_eq!(series.len(), 2 * Status::ALL.len(), "{text}");
        assert!(
            text.contains("mcp_doctor_check_status{check=\"nodes.ready\",status=\"fail\"} 1\n")
        );
        assert!(
            text.contains("mcp_doctor_check_status{check=\"nodes.ready\",status=\"pass\"} 0\n")
        );
        assert!(text.contains("mcp_doctor_checks{status=\"fail\"} 1\n"));
        assert!(text.contains("mcp_doctor_checks{status=\"warn\"} 0\n"));
        assert!(text.contains("mcp_doctor_last_run_success 1\n"));
        assert!(text.contains("mcp_doctor_last_run_duration_seconds 1.5\n"));
        assert!(text.contains("mcp_doctor_last_run_timestamp_seconds 1795262401.5\n"));
        assert!(
            !text.contains("NotReady") && !text.contains("node/a"),
            "{text}"
        );
    }

    #[test]
    fn a_failed_attempt_without_a_report_has_no_check_series() {
        let attempt = RunAttempt {
            finished_at: "2026-11-21T12:00:00Z".parse().unwrap(),
            duration: Duration::from_secs(30),
            produced_report: false,
        };
        let text = render(None, &attempt);
        assert!(text.contains("mcp_doctor_last_run_success 0\n"), "{text}");
        assert!(!text.contains("mcp_doctor_check_status{"), "{text}");
    }
}
