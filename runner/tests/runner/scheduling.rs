//! How the runner schedules: dependencies, skips, concurrency, time limits, panics, Ctrl-C, order.

use std::sync::Arc;
use std::time::Duration;

use mcp_doctor_checks::evidence::Origin;
use mcp_doctor_checks::{Mode, Outcome, Profile, Status};
use mcp_doctor_remediations::Remediation;
use mcp_doctor_runner::{FailOn, REPORT_SCHEMA_ID, RunOptions, Summary};

use crate::common::{Gauge, check, run_checks, run_until, verdicts};

fn v(id: &str, status: &str, message: &str) -> (String, String, String) {
    (id.into(), status.into(), message.into())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test]
async fn a_failed_dependency_skips_the_whole_chain() {
    let checks = [
        check("t.a", Outcome::fail("a broke")).leak(),
        check("t.b", Outcome::pass("never")).after(&["t.a"]).leak(),
        check("t.c", Outcome::pass("never")).after(&["t.b"]).leak(),
        check("t.d", Outcome::pass("independent")).leak(),
    ];
    let (report, events) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(
        verdicts(&report),
        vec![
            v("t.a", "fail", "a broke"),
            v("t.b", "skip", "dependency t.a fail"),
            v("t.c", "skip", "dependency t.b skip"),
            v("t.d", "pass", "independent"),
        ]
    );
    assert_eq!(
        report.checks[1].skipped_because.as_deref(),
        Some("dependency t.a fail")
    );
    assert_eq!(
        report.checks[2].skipped_because.as_deref(),
        Some("dependency t.b skip")
    );
    assert!(
        !events.contains(&"start t.b".to_string()),
        "a skipped check never starts: {events:?}"
    );
}

#[tokio::test]
async fn the_skip_reason_names_the_first_failed_dependency_whichever_finished_first() {
    // t.slow fails after t.fast has failed; t.c lists t.slow first, so its reason is t.slow's, every run.
    let checks = [
        check("t.slow", Outcome::fail("slow broke"))
            .sleeps(ms(150))
            .leak(),
        check("t.fast", Outcome::fail("fast broke")).leak(),
        check("t.c", Outcome::pass("never"))
            .after(&["t.slow", "t.fast"])
            .leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(report.checks[2].message, "dependency t.slow fail");
}

#[tokio::test]
async fn an_error_in_a_dependency_also_skips() {
    let checks = [
        check("t.a", Outcome::error("403")).leak(),
        check("t.b", Outcome::pass("never")).after(&["t.a"]).leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(report.checks[1].message, "dependency t.a error");
}

#[tokio::test]
async fn warn_lets_dependents_run() {
    let checks = [
        check("t.a", Outcome::warn("degraded")).leak(),
        check("t.b", Outcome::pass("ran")).after(&["t.a"]).leak(),
    ];
    let (report, events) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(
        verdicts(&report),
        vec![v("t.a", "warn", "degraded"), v("t.b", "pass", "ran")]
    );
    assert_eq!(
        events,
        [
            "start t.a",
            "finish t.a warn",
            "start t.b",
            "finish t.b pass"
        ]
    );
}

#[tokio::test]
async fn a_dependency_outside_the_selection_counts_as_satisfied() {
    let checks = [check("t.b", Outcome::pass("ran"))
        .after(&["t.unselected"])
        .leak()];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(verdicts(&report), vec![v("t.b", "pass", "ran")]);
}

#[tokio::test(start_paused = true)]
async fn a_check_waits_for_a_dependency_listed_after_it() {
    let checks = [
        check("t.a", Outcome::pass("second")).after(&["t.b"]).leak(),
        check("t.b", Outcome::pass("first")).sleeps(ms(50)).leak(),
    ];
    let (report, events) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(
        events,
        [
            "start t.b",
            "finish t.b pass",
            "start t.a",
            "finish t.a pass"
        ]
    );
    assert_eq!(
        verdicts(&report),
        vec![v("t.a", "pass", "second"), v("t.b", "pass", "first")]
    );
}

#[tokio::test(start_paused = true)]
async fn concurrency_never_exceeds_jobs() {
    for jobs in [1, 3] {
        let gauge = Arc::new(Gauge::default());
        let ids = ["c.a", "c.b", "c.c", "c.d", "c.e", "c.f", "c.g", "c.h"];
        let checks: Vec<_> = ids
            .iter()
            .map(|id| {
                check(id, Outcome::pass("ok"))
                    .sleeps(ms(100))
                    .gauge(&gauge)
                    .leak()
            })
            .collect();
        let (report, _) = run_checks(
            &checks,
            RunOptions {
                jobs,
                ..RunOptions::default()
            },
        )
        .await;
        assert_eq!(report.summary.pass, ids.len());
        assert_eq!(
            gauge.max(),
            jobs,
            "with --jobs {jobs}, at most {jobs} checks run at once, and that many do"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn independent_checks_run_concurrently_around_a_dependency() {
    let gauge = Arc::new(Gauge::default());
    let checks = [
        check("t.root", Outcome::pass("ok"))
            .sleeps(ms(10))
            .gauge(&gauge)
            .leak(),
        check("t.x", Outcome::pass("ok"))
            .after(&["t.root"])
            .sleeps(ms(10))
            .gauge(&gauge)
            .leak(),
        check("t.y", Outcome::pass("ok"))
            .after(&["t.root"])
            .sleeps(ms(10))
            .gauge(&gauge)
            .leak(),
    ];
    let (_, events) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(gauge.max(), 2, "t.x and t.y overlap, t.root runs alone");
    assert_eq!(&events[..2], ["start t.root", "finish t.root pass"]);
}

#[tokio::test(start_paused = true)]
async fn a_check_over_its_time_limit_is_an_error() {
    let checks = [
        check("t.slow", Outcome::pass("never"))
            .sleeps(Duration::from_secs(60))
            .leak(),
        check("t.own", Outcome::pass("never"))
            .sleeps(Duration::from_secs(60))
            .timeout(Duration::from_secs(2))
            .leak(),
        check("t.after", Outcome::pass("never"))
            .after(&["t.slow"])
            .leak(),
    ];
    let opts = RunOptions {
        timeout: Duration::from_secs(15),
        ..RunOptions::default()
    };
    let (report, _) = run_checks(&checks, opts).await;
    assert_eq!(
        verdicts(&report),
        vec![
            v("t.slow", "error", "timed out after 15s"),
            v("t.own", "error", "timed out after 2s"),
            v("t.after", "skip", "dependency t.slow error"),
        ]
    );
    assert_eq!(report.checks[0].duration_ms, 15_000);
    assert_eq!(report.checks[1].duration_ms, 2_000);
    assert_eq!(report.duration_ms, 15_000);
}

#[tokio::test(start_paused = true)]
async fn the_report_keeps_registry_order_whatever_finishes_first() {
    let checks = [
        check("t.a", Outcome::pass("slowest")).sleeps(ms(30)).leak(),
        check("t.b", Outcome::pass("middle")).sleeps(ms(20)).leak(),
        check("t.c", Outcome::pass("fastest")).sleeps(ms(10)).leak(),
    ];
    let (report, events) = run_checks(&checks, RunOptions::default()).await;
    let finished: Vec<_> = events
        .iter()
        .filter(|e| e.starts_with("finish"))
        .cloned()
        .collect();
    assert_eq!(
        finished,
        ["finish t.c pass", "finish t.b pass", "finish t.a pass"]
    );
    let ids: Vec<_> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["t.a", "t.b", "t.c"]);
    assert_eq!(
        report
            .checks
            .iter()
            .map(|c| c.duration_ms)
            .collect::<Vec<_>>(),
        [30, 20, 10]
    );
}

#[tokio::test]
async fn a_panicking_check_is_an_error_and_the_run_goes_on() {
    let checks = [
        check("t.boom", Outcome::pass("never"))
            .panics("index out of range")
            .leak(),
        check("t.next", Outcome::pass("fine")).leak(),
        check("t.dep", Outcome::pass("never"))
            .after(&["t.boom"])
            .leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(
        verdicts(&report),
        vec![
            v("t.boom", "error", "check panicked: index out of range"),
            v("t.next", "pass", "fine"),
            v("t.dep", "skip", "dependency t.boom error"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_reports_what_finished_and_skips_the_rest() {
    let gauge = Arc::new(Gauge::default());
    let checks = [
        check("t.quick", Outcome::pass("done"))
            .sleeps(Duration::from_secs(1))
            .leak(),
        check("t.slow", Outcome::pass("never"))
            .sleeps(Duration::from_secs(100))
            .timeout(Duration::from_secs(300))
            .gauge(&gauge)
            .leak(),
        check("t.later", Outcome::pass("never"))
            .after(&["t.slow"])
            .leak(),
    ];
    let ctrl_c = tokio::time::sleep(Duration::from_secs(5));
    let (report, events) = run_until(&checks, RunOptions::default(), ctrl_c).await;
    assert!(report.interrupted);
    assert_eq!(
        verdicts(&report),
        vec![
            v("t.quick", "pass", "done"),
            v("t.slow", "skip", "run interrupted"),
            v("t.later", "skip", "run interrupted"),
        ]
    );
    assert_eq!(report.duration_ms, 5_000);
    assert_eq!(report.exit_code(FailOn::Fail), 130);
    assert!(!events.contains(&"start t.later".to_string()));
    tokio::task::yield_now().await;
    assert_eq!(gauge.now(), 0, "the running check was aborted");
    let json = mcp_doctor_runner::reporters::json::render(&report);
    assert!(json.contains("\"interrupted\": true"), "{json}");
}

#[tokio::test]
async fn a_check_that_does_not_apply_is_skipped_with_its_reason() {
    let checks = [
        check("t.tls", Outcome::pass("never"))
            .not_applicable("TLS was not requested")
            .leak(),
        check("t.sans", Outcome::pass("never"))
            .after(&["t.tls"])
            .leak(),
    ];
    let (report, events) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(
        verdicts(&report),
        vec![
            v("t.tls", "skip", "TLS was not requested"),
            v("t.sans", "skip", "dependency t.tls skip")
        ]
    );
    assert_eq!(events, ["finish t.tls skip", "finish t.sans skip"]);
}

#[tokio::test]
async fn a_dependency_cycle_ends_in_errors_not_a_hang() {
    let checks = [
        check("t.a", Outcome::pass("never")).after(&["t.b"]).leak(),
        check("t.b", Outcome::pass("never")).after(&["t.a"]).leak(),
        check("t.c", Outcome::pass("ok")).leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    let cycle = "not run: its dependencies form a cycle";
    assert_eq!(
        verdicts(&report),
        vec![
            v("t.a", "error", cycle),
            v("t.b", "error", cycle),
            v("t.c", "pass", "ok")
        ]
    );
}

#[tokio::test]
async fn outcomes_are_normalized_to_the_contract() {
    let fix = Remediation {
        id: "fix.it".into(),
        title: "Fix it".into(),
        text: "do this".into(),
        snippet: None,
    };
    let mut bare_skip = Outcome::fail("no separate reason");
    bare_skip.status = Status::Skip;
    let mut passing_with_fix = Outcome::pass("all good");
    passing_with_fix.remediation = Some(fix.clone());
    let mut failing_with_reason = Outcome::fail("broken");
    failing_with_reason.skipped_because = Some("stale".into());
    failing_with_reason.remediation = Some(fix.clone());
    let checks = [
        check("t.skip", bare_skip).leak(),
        check("t.pass", passing_with_fix).leak(),
        check("t.fail", failing_with_reason).leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(
        report.checks[0].skipped_because.as_deref(),
        Some("no separate reason")
    );
    assert_eq!(
        report.checks[1].remediation, None,
        "a pass carries no remediation"
    );
    assert_eq!(
        report.checks[2].skipped_because, None,
        "only a skip says why it skipped"
    );
    assert_eq!(report.checks[2].remediation, Some(fix));
}

#[tokio::test]
async fn the_report_describes_the_run() {
    let checks = [
        check("t.a", Outcome::pass("ok").detail("nodes", 3)).leak(),
        check("u.b", Outcome::warn("meh")).after(&["t.a"]).leak(),
    ];
    let (report, _) = run_checks(&checks, RunOptions::default()).await;
    assert_eq!(report.schema, REPORT_SCHEMA_ID);
    assert_eq!(report.tool.name, "mcp-doctor");
    assert_eq!(
        (report.mode, report.profile, report.source),
        (Mode::Doctor, Profile::Dev, Origin::Bundle)
    );
    assert_eq!(
        report.summary,
        Summary {
            pass: 1,
            warn: 1,
            fail: 0,
            skip: 0,
            error: 0,
            waived: 0
        }
    );
    assert_eq!(report.checks[0].details["nodes"], 3);
    assert_eq!(report.checks[1].category, "u");
    assert_eq!(report.checks[1].title, "Synthetic u.b");
    assert_eq!(report.checks[1].depends_on, ["t.a"]);
    assert!(report.cluster.is_none() && !report.interrupted);
}

#[tokio::test]
async fn exit_codes_follow_fail_on() {
    let run = |outcome: Outcome| async move {
        let checks = [
            check("t.a", Outcome::pass("ok")).leak(),
            check("t.b", outcome).leak(),
        ];
        run_checks(&checks, RunOptions::default()).await.0
    };
    let passing = run(Outcome::pass("ok")).await;
    let warning = run(Outcome::warn("hmm")).await;
    let failing = run(Outcome::fail("no")).await;
    let erroring = run(Outcome::error("403")).await;
    let skipping = run(Outcome::skip("not collected")).await;
    assert_eq!(
        [
            passing.exit_code(FailOn::Fail),
            passing.exit_code(FailOn::Warn)
        ],
        [0, 0]
    );
    assert_eq!(
        [
            warning.exit_code(FailOn::Fail),
            warning.exit_code(FailOn::Warn)
        ],
        [0, 1]
    );
    assert_eq!(
        [
            failing.exit_code(FailOn::Fail),
            failing.exit_code(FailOn::Warn)
        ],
        [1, 1]
    );
    assert_eq!(
        [
            erroring.exit_code(FailOn::Fail),
            erroring.exit_code(FailOn::Warn)
        ],
        [1, 1]
    );
    assert_eq!(
        [
            skipping.exit_code(FailOn::Fail),
            skipping.exit_code(FailOn::Warn)
        ],
        [0, 0]
    );
}

#[tokio::test]
async fn an_empty_selection_gives_an_empty_report() {
    let (report, events) = run_checks(&[], RunOptions::default()).await;
    assert!(report.checks.is_empty() && events.is_empty());
    assert_eq!(report.summary.total(), 0);
    assert_eq!(report.exit_code(FailOn::Warn), 0);
}
