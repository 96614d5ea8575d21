//! Hostile inputs through the CLI: malformed and enormous kubeconfigs, API servers and probe targets that
//! never answer, answer garbage or answer forever, DNS servers that are silent or send garbage, YAML and
//! TOML bombs in node files, malformed host facts and env files, and bundles that try to escape or explode.
//!
//! Every case runs the real binary under an address-space limit (a bomb fails the case, not the machine)
//! and a hard wall-clock limit (a hang is killed and fails the case), and must end with exit 1 or 2, a
//! message that names the problem, and no panic. The peers are small listeners on 127.0.0.1 started by
//! the case and stopped when it ends; the cases run in parallel threads.

mod common;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{fixture, mcp_doctor_process};

/// Address-space cap of every run.
const MEMORY_LIMIT_BYTES: u64 = 2 << 30;
/// A run still going after this is killed and its case fails as a hang.
const HARD_TIMEOUT: Duration = Duration::from_secs(40);
/// `--timeout` of every run that talks to a peer: the tool must give up on its own well before HARD_TIMEOUT.
const CHECK_TIMEOUT_SECS: u64 = 2;
/// What a run that waits on a peer may take: the per-check timeout, the runner's slack, process start.
const PEER_BUDGET: Duration = Duration::from_secs(CHECK_TIMEOUT_SECS * 3 + 14);
/// Captured output beyond this is dropped (a run that prints megabytes fails its case on its own).
const MAX_CAPTURE: usize = 4 << 20;
/// Cases run at once.
const PARALLEL: usize = 4;

// ---------------------------------------------------------------------------------------------------
// Running the binary

/// How a case's run must end.
struct Expect {
    codes: &'static [i32],
    /// Substrings of stdout or stderr that name the problem: one of them must be there.
    says: Vec<String>,
    within: Duration,
}

fn fails(says: impl Into<String>) -> Expect {
    fails_saying_one_of(&[&says.into()])
}

/// A run that fails with one of several messages (which of two timeouts fires first is a race).
fn fails_saying_one_of(says: &[&str]) -> Expect {
    Expect {
        codes: &[1],
        says: says.iter().map(|s| s.to_string()).collect(),
        within: PEER_BUDGET,
    }
}

fn cannot_start(says: impl Into<String>) -> Expect {
    Expect {
        codes: &[2],
        says: vec![says.into()],
        within: PEER_BUDGET,
    }
}

/// One run of the binary in a scratch HOME.
struct Invocation {
    home: tempfile::TempDir,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
}

impl Invocation {
    fn new() -> Invocation {
        Invocation {
            home: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }
    fn dir(&self) -> &Path {
        self.home.path()
    }
    fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
    fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
    fn env(mut self, k: &'static str, v: impl Into<OsString>) -> Self {
        self.env.push((k, v.into()));
        self
    }
    /// Writes `bytes` to `name` in the scratch folder and returns its path.
    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Runs the binary and checks how it ended.
    fn expect(self, expect: Expect) -> Result<(), String> {
        let mut cmd = mcp_doctor_process(self.dir());
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: MEMORY_LIMIT_BYTES,
                    rlim_max: MEMORY_LIMIT_BYTES,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| format!("cannot start: {e}"))?;
        let capture = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 65536];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if kept.len() < MAX_CAPTURE {
                        kept.extend_from_slice(&buf[..n]);
                    }
                }
                kept
            })
        };
        let out = capture(Box::new(child.stdout.take().unwrap()));
        let err = capture(Box::new(child.stderr.take().unwrap()));
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break Some(status);
            }
            if started.elapsed() > HARD_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = started.elapsed();
        let text = format!(
            "--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.join().unwrap()),
            String::from_utf8_lossy(&err.join().unwrap())
        );
        let shown = || {
            let tail: String = text.chars().take(6000).collect();
            format!("args {:?}\n{tail}", self.args)
        };
        let Some(status) = status else {
            return Err(format!("hung: killed after {elapsed:?}\n{}", shown()));
        };
        if text.contains("panicked") {
            return Err(format!("panicked\n{}", shown()));
        }
        let Some(code) = status.code() else {
            return Err(format!(
                "killed by {status} (the memory limit?) after {elapsed:?}\n{}",
                shown()
            ));
        };
        if !expect.codes.contains(&code) {
            return Err(format!(
                "exit {code}, expected {:?}\n{}",
                expect.codes,
                shown()
            ));
        }
        if !expect.says.iter().any(|says| text.contains(says)) {
            return Err(format!(
                "output does not say {:?}\n{}",
                expect.says,
                shown()
            ));
        }
        if elapsed > expect.within {
            return Err(format!(
                "took {elapsed:?}, more than {:?}\n{}",
                expect.within,
                shown()
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------
// Peers: small listeners on 127.0.0.1, stopped when dropped

/// A TCP server that hands each connection to `serve` on a thread of its own. `serve` gets the stop flag
/// and must return soon after it is set.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

type Serve = dyn Fn(TcpStream, &AtomicBool) + Send + Sync;

impl Server {
    fn start(serve: impl Fn(TcpStream, &AtomicBool) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let serve: Arc<Serve> = Arc::new(serve);
        let flag = stop.clone();
        let accept = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let (serve, flag) = (serve.clone(), flag.clone());
                        std::thread::spawn(move || serve(stream, &flag));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Server {
            addr,
            stop,
            accept: Some(accept),
        }
    }
    fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Sleeps in short steps until the server stops (or `limit` passes).
fn idle(stop: &AtomicBool, limit: Duration) {
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Reads one request head (up to the blank line); None when the client went away.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// An HTTP/1.1 server answering every request with `answer(path)` = (status line, content type, body).
fn http_server(answer: fn(&str) -> (&'static str, &'static str, Vec<u8>)) -> Server {
    Server::start(move |mut s, _| {
        while let Some(head) = read_head(&mut s) {
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, content_type, body) = answer(&path);
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            if s.write_all(head.as_bytes()).is_err() || s.write_all(&body).is_err() {
                return;
            }
        }
    })
}

/// `/version` as kube-apiserver 1.32 sends it.
fn version_json() -> Vec<u8> {
    br#"{"major":"1","minor":"32","gitVersion":"v1.32.3+k3s1","gitCommit":"079ffa8d","gitTreeState":"clean","buildDate":"2025-03-18T00:00:00Z","goVersion":"go1.23.6","compiler":"gc","platform":"linux/amd64"}"#.to_vec()
}

/// Accepts connections and never sends a byte.
fn silent_server() -> Server {
    Server::start(|_s, stop| idle(stop, Duration::from_secs(60)))
}

/// Sends the answer head one byte per second.
fn slow_headers_server() -> Server {
    Server::start(|mut s, stop| {
        let _ = read_head(&mut s);
        for b in b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        {
            if stop.load(Ordering::Relaxed) || s.write_all(&[*b]).is_err() {
                return;
            }
            idle(stop, Duration::from_secs(1));
        }
    })
}

/// Answers 200 declaring 4 GB of JSON, and sends whitespace towards it as fast as it is read.
fn huge_body_server() -> Server {
    Server::start(|mut s, stop| {
        let _ = read_head(&mut s);
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4294967296\r\n\r\n";
        let chunk = [b' '; 65536];
        if s.write_all(head.as_bytes()).is_err() {
            return;
        }
        while !stop.load(Ordering::Relaxed) && s.write_all(&chunk).is_ok() {}
    })
}

/// Answers 200 with a chunked body that never ends, trickled (see [`send_chunks_until_stopped`]).
fn endless_body_server(content_type: &'static str) -> Server {
    Server::start(move |mut s, stop| {
        if send_chunked_head(&mut s, content_type) {
            send_chunks_until_stopped(&mut s, stop, Some(Duration::from_millis(5)));
        }
    })
}

/// Answers 200 with a chunked JSON body that never ends, as fast as the client reads it.
fn flood_body_server() -> Server {
    Server::start(|mut s, stop| {
        if send_chunked_head(&mut s, "application/json") {
            send_chunks_until_stopped(&mut s, stop, None);
        }
    })
}

/// Reads the request and sends a 200 head announcing a chunked body; false when the client went away.
fn send_chunked_head(s: &mut TcpStream, content_type: &str) -> bool {
    let _ = read_head(s);
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).is_ok()
}

/// Sends 16 KiB chunks of a chunked body until stopped or the client goes away, with `pause` between
/// them. Paced at 5 ms (about 3 MB/s), even a release build's client sees a body that does not end within
/// its timeout, rather than one that crosses the answer-size cap first.
fn send_chunks_until_stopped(s: &mut TcpStream, stop: &AtomicBool, pause: Option<Duration>) {
    let framed = [
        format!("{:x}\r\n", 16384).into_bytes(),
        vec![b' '; 16384],
        b"\r\n".to_vec(),
    ]
    .concat();
    while !stop.load(Ordering::Relaxed) && s.write_all(&framed).is_ok() {
        if let Some(pause) = pause {
            std::thread::sleep(pause);
        }
    }
}

/// A TLS server (certificate from a test CA, for 127.0.0.1) that completes the handshake and then sends
/// nothing; returns it with the CA file.
fn tls_silent_server(dir: &Path) -> (Server, PathBuf) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let files = mcp_doctor_test_peers::tls::issue_tls(dir, &["127.0.0.1"]);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&files.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let config = Arc::new(config);
    let server = Server::start(move |mut s, stop| {
        let Ok(mut conn) = rustls::ServerConnection::new(config.clone()) else {
            return;
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut s).is_err() {
                return;
            }
        }
        idle(stop, Duration::from_secs(60));
    });
    (server, files.ca)
}

/// Answers a TLS ClientHello with bytes that are no TLS record.
fn tls_garbage_server() -> Server {
    Server::start(|mut s, stop| {
        let mut hello = [0u8; 512];
        let _ = s.read(&mut hello);
        let _ = s.write_all(b"\x15\x99garbage instead of a ServerHello\r\n\x00\xff\xfe");
        idle(stop, Duration::from_secs(60));
    })
}

/// A UDP DNS server that answers every query with `reply(query)`, None = silence.
struct UdpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpServer {
    fn start(reply: fn(&[u8]) -> Option<Vec<u8>>) -> UdpServer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf)
                    && let Some(answer) = reply(&buf[..n])
                {
                    let _ = socket.send_to(&answer, from);
                }
            }
        });
        UdpServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Inputs

/// A kubeconfig for `server` (token auth; the CA when given).
fn kubeconfig_text(server: &str, ca: Option<&Path>) -> String {
    let ca = ca
        .map(|p| format!("    certificate-authority: {}\n", p.display()))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n{ca}\
         users:\n- name: u\n  user:\n    token: hostile-test\n\
         contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
    )
}

/// `doctor` against the API server at `server`.
fn doctor_against(server: &str, ca: Option<&Path>) -> Invocation {
    let inv = Invocation::new();
    let kc = inv.file("kubeconfig", kubeconfig_text(server, ca));
    inv.arg("doctor")
        .arg("--kubeconfig")
        .arg(kc)
        .args(["--timeout", &CHECK_TIMEOUT_SECS.to_string()])
}

/// `doctor --kubeconfig FILE` with FILE holding `bytes`.
fn with_kubeconfig(bytes: impl AsRef<[u8]>) -> Invocation {
    let inv = Invocation::new();
    let kc = inv.file("kubeconfig", bytes);
    inv.arg("doctor")
        .args(["--only", "cluster.api-reachable", "--kubeconfig"])
        .arg(kc)
        .args(["--timeout", &CHECK_TIMEOUT_SECS.to_string()])
}

/// YAML nested `depth` levels deep in flow style.
fn deep_yaml(depth: usize) -> String {
    format!("clusters: {}{}\n", "[".repeat(depth), "]".repeat(depth))
}

/// The billion-laughs document: ten levels of ten aliases each, 10^9 leaves once expanded, under `key`.
fn laughs_yaml(key: &str) -> String {
    let mut y = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        y.push_str(&format!(
            "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    y.push_str(&format!("{key}: *a9\n"));
    y
}

/// Bytes that are not UTF-8 (and not a byte-order mark).
const NOT_UTF8: &[u8] = b"mirrors:\n  \"r\xff\xfe\xc0\":\n    endpoint: [\"http://x\"]\n";

/// `doctor --host-root` over a root holding `files` (path under the root, bytes), for `check`.
fn host_root(check: &str, files: &[(&str, Vec<u8>)]) -> Invocation {
    let inv = Invocation::new();
    let root = inv.dir().join("root");
    for (path, bytes) in files {
        inv.file(&format!("root/{path}"), bytes);
    }
    inv.arg("doctor")
        .args(["--only", check, "--host-root"])
        .arg(root)
        .args(["--kubeconfig", "/nonexistent/kubeconfig"])
}

const REGISTRIES: &str = "etc/rancher/k3s/registries.yaml";
const HOSTS_TOML: &str =
    "var/lib/rancher/k3s/agent/etc/containerd/certs.d/registry.local:32000/hosts.toml";
const CONFIG_TOML: &str = "var/lib/rancher/k3s/agent/etc/containerd/config.toml";

/// `doctor --host-facts` over one facts file holding `bytes`.
fn host_facts(bytes: impl AsRef<[u8]>) -> Invocation {
    let inv = Invocation::new();
    inv.file("facts/node-1.json", bytes);
    let dir = inv.dir().join("facts");
    inv.arg("doctor")
        .args(["--only", "containerd.config-valid", "--host-facts"])
        .arg(dir)
        .args(["--kubeconfig", "/nonexistent/kubeconfig"])
}

/// `preflight --env-file FILE` with FILE holding `bytes`.
fn with_env_file(bytes: impl AsRef<[u8]>) -> Invocation {
    let inv = Invocation::new();
    let f = inv.file("deploy.env", bytes);
    inv.arg("preflight")
        .args(["--only", "config.platform-mode", "--env-file"])
        .arg(f)
}

/// A tar entry for [`bundle`]: path written raw (so `..` and `/` survive), kind, data, link target.
struct Entry {
    path: &'static str,
    kind: tar::EntryType,
    data: Vec<u8>,
    link: Option<&'static str>,
}

fn file_entry(path: &'static str, data: impl Into<Vec<u8>>) -> Entry {
    Entry {
        path,
        kind: tar::EntryType::Regular,
        data: data.into(),
        link: None,
    }
}

fn special_entry(path: &'static str, kind: tar::EntryType, link: Option<&'static str>) -> Entry {
    Entry {
        path,
        kind,
        data: Vec::new(),
        link,
    }
}

/// A manifest.json of the current format.
fn manifest() -> Vec<u8> {
    std::fs::read(fixture("api-unreachable").join("manifest.json")).unwrap()
}

/// The bytes of a gzip-compressed tar of `entries`.
fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(e.kind);
        h.set_size(e.data.len() as u64);
        h.set_mode(0o644);
        let name = e.path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        if let Some(link) = e.link {
            h.set_link_name(link).unwrap();
        }
        h.set_cksum();
        b.append(&h, e.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// `analyze FILE.tar.gz` of `bytes`.
fn analyze_archive(bytes: Vec<u8>) -> Invocation {
    let inv = Invocation::new();
    let f = inv.file("bundle.tar.gz", bytes);
    inv.arg("analyze").arg(f)
}

/// `analyze DIR` of a bundle folder holding `files`.
fn analyze_dir(files: &[(&str, Vec<u8>)]) -> Invocation {
    let inv = Invocation::new();
    for (path, bytes) in files {
        inv.file(&format!("bundle/{path}"), bytes);
    }
    let dir = inv.dir().join("bundle");
    inv.arg("analyze").arg(dir)
}

/// `preflight` asking the DNS server at `addr` as the system resolver.
fn dns_against(addr: SocketAddr) -> Invocation {
    Invocation::new()
        .arg("preflight")
        .args(["--only", "dns.resolve", "--timeout", "3"])
        .env("MCP_DOCTOR_SYSTEM_DNS", addr.to_string())
        .env("MCP_PLATFORM_DOMAIN", "hostile.test")
}

/// `doctor` over the platform-healthy fixture, probing the bundled registry at `url`.
fn registry_probe(url: &str, says: &str) -> Result<(), String> {
    let api = fixture_apiserver::FixtureServer::start(
        &fixture("platform-healthy"),
        fixture_apiserver::ServerOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    Invocation::new()
        .arg("doctor")
        .arg("--kubeconfig")
        .arg(api.kubeconfig_path())
        .arg("--env-file")
        .arg(fixture("platform-healthy").join("config.env"))
        .args([
            "--registry-url",
            url,
            "--only",
            "registry.mode,registry.reachable",
        ])
        .args(["--timeout", &CHECK_TIMEOUT_SECS.to_string()])
        .env("MCP_DOCTOR_HTTP_PROBE", "on")
        .expect(fails(says))
}

// ---------------------------------------------------------------------------------------------------
// The cases

type Case = (&'static str, fn() -> Result<(), String>);

const CASES: &[Case] = &[
    // --- kubeconfig files
    ("kubeconfig_deep_nesting", || {
        with_kubeconfig(deep_yaml(100_000)).expect(fails("recursion limit exceeded"))
    }),
    ("kubeconfig_billion_laughs", || {
        with_kubeconfig(laughs_yaml("clusters")).expect(fails("budget breached"))
    }),
    ("kubeconfig_50mb", || {
        let mut big = kubeconfig_text("https://127.0.0.1:1", None).into_bytes();
        big.extend(std::iter::repeat_n(b"# padding\n".as_slice(), 5 << 20).flatten());
        with_kubeconfig(big).expect(fails("larger than 16 MiB"))
    }),
    ("kubeconfig_dev_zero", || {
        Invocation::new()
            .args([
                "doctor",
                "--only",
                "cluster.api-reachable",
                "--kubeconfig",
                "/dev/zero",
            ])
            .expect(fails("larger than 16 MiB"))
    }),
    ("kubeconfig_binary_garbage", || {
        let garbage: Vec<u8> = (0..65536u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        with_kubeconfig(garbage).expect(fails("Invalid UTF-8"))
    }),
    ("kubeconfig_utf16_odd_length", || {
        with_kubeconfig(b"\xff\xfea\x00p\x00i".as_slice()).expect(fails("odd number of bytes"))
    }),
    ("kubeconfig_empty", || {
        with_kubeconfig("").expect(fails("has no current-context"))
    }),
    ("kubeconfig_missing_fields", || {
        with_kubeconfig("apiVersion: v1\nkind: Config\n").expect(fails("has no current-context"))
    }),
    ("kubeconfig_wrong_types", || {
        with_kubeconfig("apiVersion: v1\nkind: Config\nclusters: 5\ncontexts: {a: b}\n")
            .expect(fails("expected sequence start"))
    }),
    ("kubeconfig_context_names_missing_cluster", || {
        with_kubeconfig(
            "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts:\n- name: x\n  context:\n    cluster: gone\n    user: u\ncurrent-context: x\n",
        )
        .expect(fails("failed to load the cluster of context: gone"))
    }),
    ("kubeconfig_current_context_missing", || {
        with_kubeconfig("apiVersion: v1\nkind: Config\ncontexts: []\ncurrent-context: nowhere\n")
            .expect(fails("context \"nowhere\" is not in kubeconfig"))
    }),
    ("kubeconfig_server_not_a_url", || {
        with_kubeconfig(kubeconfig_text("\"::: not a url :::\"", None))
            .expect(fails("failed to parse cluster url"))
    }),
    ("kubeconfig_ca_file_missing", || {
        with_kubeconfig(kubeconfig_text(
            "https://127.0.0.1:1",
            Some(Path::new("/nonexistent/ca.crt")),
        ))
        .expect(fails("failed to read file '\"/nonexistent/ca.crt\"'"))
    }),
    ("kubeconfig_ca_data_not_base64", || {
        with_kubeconfig(kubeconfig_text("https://127.0.0.1:1", None).replace(
            "    server:",
            "    certificate-authority-data: \"%%% not base64 %%%\"\n    server:",
        ))
        .expect(fails("failed to decode base64 data"))
    }),
    ("kubeconfig_token_file_dev_zero", || {
        with_kubeconfig(
            kubeconfig_text("https://127.0.0.1:1", None)
                .replace("    token: hostile-test", "    tokenFile: /dev/zero"),
        )
        .expect(fails("its tokenFile /dev/zero is not a regular file"))
    }),
    ("kubeconfig_exec_plugin_hangs", || {
        // A credential plugin that never returns (the sleep ends on its own if the run is killed).
        with_kubeconfig(kubeconfig_text("https://127.0.0.1:1", None).replace(
            "    token: hostile-test",
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sleep\n      args: [\"20\"]\n      interactiveMode: Never",
        ))
        .expect(fails("credential plugin (exec) did not finish within"))
    }),
    ("kubeconfig_is_a_directory", || {
        Invocation::new()
            .args([
                "doctor",
                "--only",
                "cluster.api-reachable",
                "--kubeconfig",
                "/",
            ])
            .expect(fails("cannot read kubeconfig /"))
    }),
    ("kubeconfig_env_garbage", || {
        let inv = Invocation::new();
        let kc = inv.file("kc", deep_yaml(100_000));
        inv.args(["doctor", "--only", "cluster.api-reachable"])
            .env("KUBECONFIG", kc)
            .expect(fails("recursion limit exceeded"))
    }),
    // --- API servers that misbehave
    ("api_port_closed", || {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        doctor_against(&format!("http://127.0.0.1:{port}"), None).expect(fails("refused"))
    }),
    ("api_never_answers", || {
        let s = silent_server();
        doctor_against(&s.http_url(), None).expect(fails("no answer from http://127.0.0.1"))
    }),
    ("api_closes_immediately", || {
        let s = Server::start(|_s, _| {});
        doctor_against(&s.http_url(), None).expect(fails("did not answer /version"))
    }),
    ("api_tls_then_silent", || {
        let dir = tempfile::tempdir().unwrap();
        let (s, ca) = tls_silent_server(dir.path());
        doctor_against(&s.https_url(), Some(&ca)).expect(fails("no answer from https://127.0.0.1"))
    }),
    ("api_tls_garbage_instead_of_server_hello", || {
        let s = tls_garbage_server();
        doctor_against(&s.https_url(), None).expect(fails("did not complete a TLS handshake"))
    }),
    ("api_speaks_ssh", || {
        let s = Server::start(|mut s, stop| {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
            idle(stop, Duration::from_secs(60));
        });
        doctor_against(&s.http_url(), None).expect(fails("invalid HTTP version parsed"))
    }),
    ("api_not_json", || {
        let s = http_server(|_| ("200 OK", "application/json", b"this is not JSON".to_vec()));
        doctor_against(&s.http_url(), None)
            .expect(fails("did not answer /version: unexpected answer from"))
    }),
    ("api_truncated_json", || {
        let s = http_server(|_| {
            let mut v = version_json();
            v.truncate(40);
            ("200 OK", "application/json", v)
        });
        doctor_against(&s.http_url(), None).expect(fails("EOF while parsing"))
    }),
    ("api_json_nested_deep", || {
        let s = http_server(|_| {
            let body = ["[".repeat(200_000), "]".repeat(200_000)].concat();
            ("200 OK", "application/json", body.into_bytes())
        });
        doctor_against(&s.http_url(), None)
            .expect(fails("did not answer /version: unexpected answer from"))
    }),
    ("api_huge_body", || {
        // A declared 4 GiB body is refused at its first bytes, well inside the 2 s limit.
        let s = huge_body_server();
        doctor_against(&s.http_url(), None).expect(fails("the answer is larger than 512 MiB"))
    }),
    ("api_body_over_the_cap", || {
        // A chunked body that declares no length and never ends, sent as fast as the client reads; a long
        // time limit, so what ends the run is the cap on one answer's size, not the clock.
        let s = flood_body_server();
        let inv = Invocation::new();
        let kc = inv.file("kubeconfig", kubeconfig_text(&s.http_url(), None));
        inv.arg("doctor")
            .args([
                "--only",
                "cluster.api-reachable",
                "--timeout",
                "120",
                "--kubeconfig",
            ])
            .arg(kc)
            .expect(fails("the answer is larger than 512 MiB"))
    }),
    ("api_body_forever", || {
        let s = endless_body_server("application/json");
        doctor_against(&s.http_url(), None).expect(fails("no answer from http://127.0.0.1"))
    }),
    ("api_headers_one_byte_a_second", || {
        let s = slow_headers_server();
        doctor_against(&s.http_url(), None).expect(fails("no answer from http://127.0.0.1"))
    }),
    ("api_wrong_content_type", || {
        let s = http_server(|path| {
            let body = if path.starts_with("/version") {
                version_json()
            } else {
                b"<html><body>not an API</body></html>".to_vec()
            };
            ("200 OK", "text/html", body)
        });
        doctor_against(&s.http_url(), None)
            .expect(fails("cannot read the nodes: unexpected answer from"))
    }),
    ("api_html_502", || {
        let s = http_server(|_| {
            (
                "502 Bad Gateway",
                "text/html",
                b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>".to_vec(),
            )
        });
        doctor_against(&s.http_url(), None).expect(fails("API error 502"))
    }),
    ("api_status_kind_with_200", || {
        let s = http_server(|_| {
            (
                "200 OK",
                "application/json",
                br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: request timed out","reason":"InternalError","code":500}"#.to_vec(),
            )
        });
        doctor_against(&s.http_url(), None).expect(fails("holds no gitVersion"))
    }),
    ("api_lists_with_wrong_types", || {
        let s = http_server(|path| {
            if path.starts_with("/version") {
                ("200 OK", "application/json", version_json())
            } else {
                (
                    "200 OK",
                    "application/json",
                    br#"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":"not a list"}"#.to_vec(),
                )
            }
        });
        doctor_against(&s.http_url(), None).expect(fails("expected a sequence"))
    }),
    ("api_lists_body_forever", || {
        let s = Server::start(|mut s, stop| {
            while let Some(head) = read_head(&mut s) {
                if head.starts_with("GET /version") {
                    let v = version_json();
                    let h = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        v.len()
                    );
                    if s.write_all(h.as_bytes()).is_err() || s.write_all(&v).is_err() {
                        return;
                    }
                    continue;
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n11\r\n{\"kind\":\"List\",\"i\r\n");
                send_chunks_until_stopped(&mut s, stop, Some(Duration::from_millis(5)));
                return;
            }
        });
        doctor_against(&s.http_url(), None).expect(fails("no answer from list nodes"))
    }),
    ("api_unauthorized", || {
        let s = http_server(|_| {
            (
                "401 Unauthorized",
                "application/json",
                br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#.to_vec(),
            )
        });
        doctor_against(&s.http_url(), None).expect(fails("Unauthorized"))
    }),
    // --- DNS
    ("dns_server_never_answers", || {
        let d = UdpServer::start(|_| None);
        dns_against(d.addr).expect(fails("no answer from the system resolver"))
    }),
    ("dns_server_sends_garbage", || {
        let d = UdpServer::start(|q| {
            let mut a = q.get(..2).unwrap_or(&[0, 0]).to_vec();
            a.extend_from_slice(b"\x81\x80\xff\xff\xff\xffgarbage");
            Some(a)
        });
        dns_against(d.addr).expect(fails("decoding error"))
    }),
    ("dns_server_truncates_to_silent_tcp", || {
        // A truncated answer (TC) sends the resolver to TCP on the same port: a listener that never talks.
        let s = silent_server();
        let socket = UdpSocket::bind(s.addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf)
                    && n >= 12
                {
                    let mut a = buf[..n].to_vec();
                    a[2] = 0x82 | (a[2] & 0x01); // QR + TC, keep RD
                    a[3] = 0x80;
                    let _ = socket.send_to(&a, from);
                }
            }
        });
        let r = dns_against(s.addr).expect(fails("dns.resolve"));
        stop.store(true, Ordering::Relaxed);
        let _ = t.join();
        r
    }),
    // --- HTTP probes (the bundled registry's /v2/, through --registry-url)
    ("probe_headers_one_byte_a_second", || {
        let s = slow_headers_server();
        registry_probe(&s.http_url(), "timed out after 2s")
    }),
    ("probe_body_forever", || {
        let s = endless_body_server("text/plain");
        registry_probe(&s.http_url(), "timed out after 2s")
    }),
    ("probe_never_answers", || {
        let s = silent_server();
        registry_probe(&s.http_url(), "timed out after 2s")
    }),
    ("probe_tls_garbage", || {
        let s = tls_garbage_server();
        registry_probe(&s.https_url(), "TLS handshake with 127.0.0.1")
    }),
    // --- node files through --host-root
    ("registries_yaml_invalid_utf8", || {
        host_root(
            "containerd.config-valid",
            &[(REGISTRIES, NOT_UTF8.to_vec())],
        )
        .expect(fails("registries.yaml: not UTF-8 text"))
    }),
    ("registries_yaml_billion_laughs", || {
        host_root(
            "containerd.config-valid",
            &[(REGISTRIES, laughs_yaml("mirrors").into_bytes())],
        )
        .expect(fails("budget breached"))
    }),
    ("registries_yaml_deep_nesting", || {
        let deep = format!("mirrors: {}{}\n", "{a: ".repeat(50_000), "}".repeat(50_000));
        host_root(
            "containerd.config-valid",
            &[(REGISTRIES, deep.into_bytes())],
        )
        .expect(fails("budget breached: Depth"))
    }),
    ("registries_yaml_huge", || {
        let mut big = b"mirrors:\n".to_vec();
        for i in 0..60_000 {
            big.extend(
                format!("  \"r{i}.example\":\n    endpoint: [\"https://m.example\"]\n").as_bytes(),
            );
        }
        host_root("containerd.config-valid", &[(REGISTRIES, big)])
            .expect(fails("more than the 1 MiB mcp-doctor reads"))
    }),
    ("hosts_toml_invalid_utf8", || {
        host_root(
            "containerd.config-valid",
            &[(HOSTS_TOML, b"server = \"https://r\xff\xfe\"\n".to_vec())],
        )
        .expect(fails("hosts.toml: not UTF-8 text"))
    }),
    ("hosts_toml_deep_arrays", || {
        let deep = format!("server = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        host_root(
            "containerd.config-valid",
            &[(HOSTS_TOML, deep.into_bytes())],
        )
        .expect(fails("max recursion depth met"))
    }),
    ("hosts_toml_deep_inline_tables", || {
        let deep = format!("a = {}1{}\n", "{b = ".repeat(100_000), "}".repeat(100_000));
        host_root(
            "containerd.config-valid",
            &[(HOSTS_TOML, deep.into_bytes())],
        )
        .expect(fails("max recursion depth met"))
    }),
    ("config_toml_huge", || {
        let mut big = Vec::new();
        for i in 0..200_000 {
            big.extend(format!("[t{i}]\n").as_bytes());
        }
        host_root("containerd.config-valid", &[(CONFIG_TOML, big)])
            .expect(fails("more than the 1 MiB mcp-doctor reads"))
    }),
    ("config_toml_deep_dotted_keys", || {
        let key = vec!["k"; 100_000].join(".");
        host_root(
            "containerd.config-valid",
            &[(CONFIG_TOML, format!("{key} = 1\n[x\n").into_bytes())],
        )
        .expect(fails("config.toml"))
    }),
    ("config_toml_invalid_utf8", || {
        host_root(
            "containerd.config-valid",
            &[(CONFIG_TOML, b"version = 2\n[plugins.\"\xff\"]\n".to_vec())],
        )
        .expect(fails("config.toml: not UTF-8 text"))
    }),
    // --- host facts
    ("host_facts_not_json", || {
        host_facts("{ this is not json").expect(fails("node-1.json: not a host-facts document"))
    }),
    ("host_facts_wrong_types", || {
        host_facts(r#"{"schema":"mcp-doctor.host-facts/v1","node":7,"files":[1,2,3]}"#)
            .expect(fails("node-1.json: not a host-facts document"))
    }),
    ("host_facts_deep_nesting", || {
        host_facts(["[".repeat(200_000), "]".repeat(200_000)].concat())
            .expect(fails("node-1.json: not a host-facts document"))
    }),
    ("host_facts_invalid_utf8", || {
        host_facts(b"{\"node\": \"\xff\xfe\"}".as_slice())
            .expect(fails("node-1.json: stream did not contain valid UTF-8"))
    }),
    ("host_facts_dir_missing", || {
        Invocation::new()
            .args([
                "doctor",
                "--only",
                "containerd.config-valid",
                "--host-facts",
                "/nonexistent/facts",
            ])
            .args(["--kubeconfig", "/nonexistent/kubeconfig"])
            .expect(cannot_start(
                "--host-facts /nonexistent/facts is not a directory",
            ))
    }),
    // --- env files
    ("env_file_invalid_utf8", || {
        with_env_file(b"MCP_PLATFORM_DOMAIN=ex\xffample.com\n".as_slice())
            .expect(cannot_start("not UTF-8"))
    }),
    ("env_file_dev_zero", || {
        Invocation::new()
            .args(["preflight", "--env-file", "/dev/zero"])
            .expect(cannot_start("larger than"))
    }),
    ("env_file_one_huge_line", || {
        with_env_file(vec![b'A'; 2 << 20]).expect(cannot_start("larger than"))
    }),
    ("env_file_binary_garbage", || {
        with_env_file(b"\x00\x01\x02garbage without an equals sign\n".as_slice())
            .expect(cannot_start("expected KEY=value"))
    }),
    ("env_file_is_a_directory", || {
        Invocation::new()
            .args(["preflight", "--env-file", "/"])
            .expect(cannot_start("cannot read env file /"))
    }),
    // --- bundles
    ("bundle_traversal_path", || {
        analyze_archive(tar_gz(&[
            file_entry("b/manifest.json", manifest()),
            file_entry("b/../../escape.json", "x"),
        ]))
        .expect(cannot_start("climbs out of the bundle"))
    }),
    ("bundle_absolute_path", || {
        analyze_archive(tar_gz(&[file_entry("/tmp/hostile-absolute.json", "x")]))
            .expect(cannot_start("absolute path"))
    }),
    ("bundle_symlink", || {
        analyze_archive(tar_gz(&[
            file_entry("b/manifest.json", manifest()),
            special_entry("b/evidence", tar::EntryType::Symlink, Some("/etc")),
        ]))
        .expect(cannot_start("is a link or special file"))
    }),
    ("bundle_hard_link", || {
        analyze_archive(tar_gz(&[
            file_entry("b/manifest.json", manifest()),
            special_entry("b/passwd", tar::EntryType::Link, Some("/etc/passwd")),
        ]))
        .expect(cannot_start("is a link or special file"))
    }),
    ("bundle_device_file", || {
        analyze_archive(tar_gz(&[special_entry(
            "b/dev",
            tar::EntryType::Char,
            None,
        )]))
        .expect(cannot_start("is a link or special file"))
    }),
    ("bundle_gzip_bomb", || {
        // One entry claiming 300 MB of zeros: a few hundred KB compressed.
        analyze_archive(tar_gz(&[file_entry(
            "b/evidence/zeros.json",
            vec![0u8; 300 << 20],
        )]))
        .expect(cannot_start("too large"))
    }),
    ("bundle_newer_schema", || {
        let newer = String::from_utf8(manifest())
            .unwrap()
            .replace("mcp-doctor.bundle/v1", "mcp-doctor.bundle/v7");
        analyze_archive(tar_gz(&[file_entry("b/manifest.json", newer)]))
            .expect(cannot_start("newer than this mcp-doctor reads"))
    }),
    ("bundle_truncated_gzip", || {
        let mut bytes = tar_gz(&[
            file_entry("b/manifest.json", manifest()),
            file_entry("b/pad.json", vec![b'x'; 100_000]),
        ]);
        bytes.truncate(bytes.len() / 2);
        analyze_archive(bytes).expect(cannot_start("not a gzip-compressed tar archive"))
    }),
    ("bundle_duplicate_entries", || {
        let newer = String::from_utf8(manifest())
            .unwrap()
            .replace("\"doctor\"", "\"setup\"");
        analyze_archive(tar_gz(&[
            file_entry("b/manifest.json", manifest()),
            file_entry("b/manifest.json", newer),
        ]))
        .expect(cannot_start("appears twice"))
    }),
    ("bundle_not_gzip", || {
        analyze_archive(b"PK\x03\x04 this is a zip, not a tar.gz".to_vec())
            .expect(cannot_start("not a gzip-compressed tar archive"))
    }),
    ("bundle_manifest_not_json", || {
        analyze_dir(&[("manifest.json", b"{\"schema\": ".to_vec())])
            .expect(cannot_start("is not a bundle manifest"))
    }),
    ("bundle_manifest_wrong_types", || {
        analyze_dir(&[(
            "manifest.json",
            br#"{"schema":"mcp-doctor.bundle/v1","tool":5,"mode":[]}"#.to_vec(),
        )])
        .expect(cannot_start("is not a bundle manifest"))
    }),
    ("bundle_manifest_without_schema", || {
        analyze_dir(&[(
            "manifest.json",
            br#"{"tool":{"name":"x","version":"1"}}"#.to_vec(),
        )])
        .expect(cannot_start("has no \"schema\""))
    }),
    ("bundle_config_env_invalid_utf8", || {
        analyze_dir(&[
            ("manifest.json", manifest()),
            ("config.env", b"MCP_PLATFORM_DOMAIN=\xff\n".to_vec()),
        ])
        .expect(cannot_start("not UTF-8"))
    }),
    ("bundle_missing", || {
        Invocation::new()
            .args(["analyze", "/nonexistent/bundle.tar.gz"])
            .expect(cannot_start("does not exist"))
    }),
];

#[test]
fn hostile_inputs_end_with_a_clear_message_and_exit_1_or_2() {
    assert!(CASES.len() >= 50, "{} cases", CASES.len());
    let mut names: Vec<_> = CASES.iter().map(|(n, _)| *n).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "case names are unique");
    // HOSTILE_CASE=substring runs only the matching cases.
    let filter = std::env::var("HOSTILE_CASE").unwrap_or_default();
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|(n, _)| n.contains(filter.as_str()))
        .collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                while let Some((name, case)) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let started = Instant::now();
                    let result = case();
                    eprintln!(
                        "{} {name} ({:.1}s)",
                        if result.is_ok() { "ok  " } else { "FAIL" },
                        started.elapsed().as_secs_f64()
                    );
                    if let Err(why) = result {
                        failures.lock().unwrap().push(format!("== {name}: {why}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
