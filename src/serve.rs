//! `mcp-doctor serve`: runs the doctor every `--interval` (the first run at start) and serves the latest
//! results as Prometheus metrics on `/metrics`, and `/healthz` for liveness probes.
//!
//! Runs happen one after the other on one task, so they never overlap; each is abandoned after
//! `--run-timeout`. A run that cannot start or times out is reported (`mcp_doctor_last_run_success 0`) and
//! leaves the previous verdicts in place; it never stops the server. SIGTERM or Ctrl-C stops accepting
//! connections, lets the requests in flight finish, and exits 0.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use mcp_doctor_runner::Report;
use mcp_doctor_runner::reporters::metrics::{self, RunAttempt};
use tokio::net::TcpListener;
use tokio::sync::{RwLock, watch};

use crate::StartError;
use crate::cli::ServeArgs;

/// How long connections still open at shutdown may take to finish their requests.
const DRAIN: Duration = Duration::from_secs(5);

/// The latest report and the attempt that ended last; None until the first run ends.
#[derive(Default)]
struct Latest {
    report: Option<Report>,
    attempt: Option<RunAttempt>,
}

pub async fn serve(args: ServeArgs) -> Result<u8, StartError> {
    if args.doctor.record.is_some() {
        return Err(StartError(
            "serve does not take --record: each run would overwrite the last (`doctor --record` does)"
                .into(),
        ));
    }
    // Unknown check ids and an unreadable env file stop the server before it listens, as they stop `doctor`.
    crate::run::validate(&args.doctor)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", args.listen)))?;
    let interval = Duration::from_secs(args.interval.unsigned_abs());
    let run_timeout = args
        .run_timeout
        .map_or(interval, |secs| Duration::from_secs(secs.unsigned_abs()));
    eprintln!(
        "mcp-doctor serve: listening on http://{} (/metrics, /healthz); a run every {}s, each limited to {}s",
        listener.local_addr().unwrap_or(args.listen),
        interval.as_secs(),
        run_timeout.as_secs()
    );

    let latest = Arc::new(RwLock::new(Latest::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let runs = tokio::spawn(run_periodically(
        args,
        interval,
        run_timeout,
        Arc::clone(&latest),
        stop_rx,
    ));
    serve_http(listener, latest).await;
    // serve_http returns on the stop signal; tell the run loop, and do not wait for a run in progress.
    let _ = stop_tx.send(true);
    runs.abort();
    eprintln!("mcp-doctor serve: stopped");
    Ok(0)
}

/// Resolves when SIGTERM (the kubelet stopping the pod) or Ctrl-C arrives.
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn run_periodically(
    args: ServeArgs,
    interval: Duration,
    run_timeout: Duration,
    latest: Arc<RwLock<Latest>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let started = Instant::now();
        let outcome = tokio::time::timeout(
            run_timeout,
            crate::run::run_doctor(&args.doctor, false, false, None),
        )
        .await;
        let duration = started.elapsed();
        let finished_at = jiff::Timestamp::now();
        let mut guard = latest.write().await;
        match outcome {
            Ok(Ok(run)) => {
                let s = &run.report.summary;
                eprintln!(
                    "mcp-doctor serve: run finished in {:.1}s: {} pass, {} warn, {} fail, {} skip, {} error",
                    duration.as_secs_f64(),
                    s.pass,
                    s.warn,
                    s.fail,
                    s.skip,
                    s.error
                );
                if let Err(e) = crate::run::write_report_files(&run.report, &args.doctor.output) {
                    eprintln!("mcp-doctor serve: {}", e.0);
                }
                guard.attempt = Some(RunAttempt {
                    finished_at,
                    duration,
                    produced_report: true,
                });
                guard.report = Some(run.report);
            }
            Ok(Err(e)) => {
                eprintln!("mcp-doctor serve: the run could not start: {}", e.0);
                guard.attempt = Some(failed(finished_at, duration));
            }
            Err(_) => {
                eprintln!(
                    "mcp-doctor serve: the run did not finish within {}s and was abandoned",
                    run_timeout.as_secs()
                );
                guard.attempt = Some(failed(finished_at, duration));
            }
        }
        drop(guard);
        let next = interval.saturating_sub(started.elapsed());
        tokio::select! {
            () = tokio::time::sleep(next) => {}
            _ = stop.changed() => return,
        }
    }
}

fn failed(finished_at: jiff::Timestamp, duration: Duration) -> RunAttempt {
    RunAttempt {
        finished_at,
        duration,
        produced_report: false,
    }
}

async fn serve_http(listener: TcpListener, latest: Arc<RwLock<Latest>>) {
    let graceful = GracefulShutdown::new();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else {
                    // Out of file descriptors or a connection reset before accept: try again shortly.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let latest = Arc::clone(&latest);
                let service = service_fn(move |req| {
                    let latest = Arc::clone(&latest);
                    async move { Ok::<_, Infallible>(answer(&req, &latest).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(tcp), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    // A client that goes away ends its connection only.
                    let _ = conn.await;
                });
            }
            () = &mut stop => break,
        }
    }
    drop(listener);
    eprintln!("mcp-doctor serve: stopping");
    // Requests in flight finish; a connection that stays open past DRAIN is dropped.
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

async fn answer<B>(req: &Request<B>, latest: &RwLock<Latest>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/metrics" => {
            let guard = latest.read().await;
            match &guard.attempt {
                Some(attempt) => {
                    let body = metrics::render(guard.report.as_ref(), attempt);
                    let mut reply = Response::new(Full::new(Bytes::from(body)));
                    reply.headers_mut().insert(
                        header::CONTENT_TYPE,
                        header::HeaderValue::from_static(metrics::CONTENT_TYPE),
                    );
                    reply
                }
                None => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the first run has not finished yet\n",
                ),
            }
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics or /healthz\n",
        ),
    }
}

fn text(code: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut reply = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *reply.status_mut() = code;
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    reply
}
