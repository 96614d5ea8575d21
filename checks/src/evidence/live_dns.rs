//! The live DNS source, on hickory-resolver: the system resolver view (the servers of `/etc/resolv.conf`,
//! with `/etc/hosts` answered first, as `getent hosts` does) when a query names no server, and direct
//! queries to a chosen `ip[:port]` (default port 53) when it does.
//!
//! Every answer keeps its response code: NXDOMAIN, SERVFAIL, REFUSED and NOERROR-with-no-data come back
//! as answers (`rcode` says which), a server that does not answer within the timeout is an
//! [`EvidenceError::Timeout`], and a server that cannot be reached at all is
//! [`EvidenceError::Unreachable`]. A and AAAA answers keep the CNAME chain that led to them. Identical
//! queries are asked once per run, and every answer (errors included) is journaled under
//! [`keys::dns`](super::journal::keys::dns) so a replay gives the same.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Hosts, TokioResolver};
use tokio::sync::OnceCell;

use super::journal::keys;
use super::{DnsAnswer, DnsQuery, DnsSource, EvidenceError, Journal, UnreachableCause};

/// Where the system view's answers come from. The defaults are the machine's; tests point them at a
/// DNS server on a loopback port and a hosts file of their own (resolv.conf cannot name a port).
#[derive(Debug, Clone, Default)]
pub struct SystemView {
    /// Servers to ask instead of those in `/etc/resolv.conf`.
    pub servers: Option<Vec<SocketAddr>>,
    /// A hosts file instead of `/etc/hosts`.
    pub hosts_file: Option<PathBuf>,
    /// Do not ask the system resolver at all (its queries are `not configured`, checks skip).
    pub disabled: bool,
}

impl SystemView {
    /// The machine's view, unless `MCP_DOCTOR_SYSTEM_DNS` (`ip[:port]`, comma-separated, or `none` to
    /// ask nothing) and `MCP_DOCTOR_HOSTS_FILE` override it: hooks for tests (which must never leave the
    /// loopback) and for air-gapped runs.
    pub fn from_env() -> SystemView {
        let var = std::env::var("MCP_DOCTOR_SYSTEM_DNS").ok();
        let disabled = var.as_deref().map(str::trim) == Some("none");
        let servers = var.filter(|_| !disabled).map(|v| {
            v.split(',')
                .filter_map(|s| parse_server(s.trim()).ok())
                .collect::<Vec<_>>()
        });
        SystemView {
            servers,
            hosts_file: std::env::var_os("MCP_DOCTOR_HOSTS_FILE").map(PathBuf::from),
            disabled,
        }
    }
}

/// Parses `ip`, `ip:port`, `[v6]:port` (default port 53).
pub fn parse_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{s:?} is not an IP address with an optional port (e.g. 192.0.2.53 or 192.0.2.53:5353)"))
}

type Memo = Arc<OnceCell<Result<DnsAnswer, EvidenceError>>>;
/// A resolver per view (None = the system view), or why it could not be built.
type Built = Arc<Result<TokioResolver, String>>;

/// DNS from this machine. Build one per run.
pub struct LiveDns {
    view: SystemView,
    timeout: Duration,
    journal: Arc<Journal>,
    resolvers: Mutex<HashMap<Option<String>, Built>>,
    memo: Mutex<HashMap<DnsQuery, Memo>>,
}

impl LiveDns {
    /// `timeout` bounds each query as a whole (every server and transport tried).
    pub fn new(view: SystemView, timeout: Duration, journal: Arc<Journal>) -> LiveDns {
        LiveDns {
            view,
            timeout,
            journal,
            resolvers: Mutex::new(HashMap::new()),
            memo: Mutex::new(HashMap::new()),
        }
    }

    fn resolver(&self, server: Option<&str>) -> Built {
        let key = server.map(str::to_string);
        let mut map = self.resolvers.lock().expect("resolver lock");
        map.entry(key)
            .or_insert_with(|| Arc::new(self.build(server)))
            .clone()
    }

    fn build(&self, server: Option<&str>) -> Result<TokioResolver, String> {
        let per_try = self.timeout.mul_f32(0.45).max(Duration::from_millis(200));
        let direct = |addrs: &[SocketAddr]| {
            let servers = addrs
                .iter()
                .map(|a| {
                    let mut ns = NameServerConfig::udp_and_tcp(a.ip());
                    for c in &mut ns.connections {
                        c.port = a.port();
                    }
                    ns
                })
                .collect();
            (
                ResolverConfig::from_parts(None, vec![], servers),
                ResolverOpts::default(),
            )
        };
        let (config, mut opts, hosts) = match server {
            Some(s) => {
                let addr = parse_server(s)?;
                let (c, o) = direct(&[addr]);
                (c, o, None)
            }
            None if self.view.disabled => {
                return Err(
                    "the system resolver is not asked in this run (MCP_DOCTOR_SYSTEM_DNS=none)"
                        .into(),
                );
            }
            None => {
                let (c, o) = match &self.view.servers {
                    Some(addrs) => direct(addrs),
                    None => hickory_resolver::system_conf::read_system_conf()
                        .map_err(|e| format!("cannot read /etc/resolv.conf: {e}"))?,
                };
                let path = self
                    .view
                    .hosts_file
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/etc/hosts"));
                let mut hosts = Hosts::default();
                if let Ok(file) = std::fs::File::open(&path) {
                    hosts
                        .read_hosts_conf(file)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                }
                (c, o, Some(hosts))
            }
        };
        opts.timeout = per_try;
        opts.attempts = 1;
        opts.cache_size = 0;
        opts.preserve_intermediates = true;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 1;
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = opts;
        let mut resolver = builder.build().map_err(|e| e.to_string())?;
        if let Some(hosts) = hosts {
            resolver.set_hosts(Arc::new(hosts));
        }
        Ok(resolver)
    }

    async fn ask(&self, q: &DnsQuery) -> Result<DnsAnswer, EvidenceError> {
        let server_shown = q
            .server
            .clone()
            .unwrap_or_else(|| "the system resolver".into());
        let rtype = match q.record_type.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::AAAA,
            "CNAME" => RecordType::CNAME,
            "CAA" => RecordType::CAA,
            "TXT" => RecordType::TXT,
            other => {
                return Err(EvidenceError::NotConfigured {
                    message: format!("record type {other} is not supported"),
                });
            }
        };
        let resolver = self.resolver(q.server.as_deref());
        let resolver = match resolver.as_ref() {
            Ok(r) => r,
            Err(e) => {
                return Err(EvidenceError::NotConfigured {
                    message: format!("cannot ask {server_shown}: {e}"),
                });
            }
        };
        // A trailing dot: no search-list expansion, the name as given.
        let fqdn = format!("{}.", q.name.trim_end_matches('.'));
        let lookup =
            tokio::time::timeout(self.timeout, resolver.lookup(fqdn.as_str(), rtype)).await;
        let timeout = || EvidenceError::Timeout {
            what: format!("{server_shown} ({} {})", q.record_type, q.name),
            secs: self.timeout.as_secs().max(1),
        };
        let lookup = match lookup {
            Err(_) => return Err(timeout()),
            Ok(r) => r,
        };
        match lookup {
            Ok(l) => {
                let mut answer = DnsAnswer {
                    rcode: rcode_name(l.message().metadata.response_code),
                    records: Vec::new(),
                    cname_chain: Vec::new(),
                };
                for r in l.answers() {
                    match &r.data {
                        RData::CNAME(c) if rtype != RecordType::CNAME => {
                            answer.cname_chain.push(trim_dot(&c.0.to_string()));
                        }
                        data if r.record_type() == rtype => answer.records.push(render(data)),
                        _ => {}
                    }
                }
                Ok(answer)
            }
            Err(e) => match classify(&e) {
                Classified::Rcode(rcode) => Ok(DnsAnswer {
                    cname_chain: if matches!(rcode.as_str(), "NXDOMAIN" | "NOERROR")
                        && rtype != RecordType::CNAME
                    {
                        // hickory chases a CNAME itself and reports only the last name's NXDOMAIN or NODATA:
                        // walk the chain explicitly so a dangling CNAME is named as such.
                        self.walk_cnames(resolver, &fqdn).await
                    } else {
                        Vec::new()
                    },
                    rcode,
                    records: Vec::new(),
                }),
                Classified::Timeout => Err(timeout()),
                Classified::Unreachable(cause) => Err(EvidenceError::Unreachable {
                    cause,
                    server: server_shown.clone(),
                    message: format!(
                        "cannot ask {server_shown} for {} {}: {e}",
                        q.record_type, q.name
                    ),
                }),
            },
        }
    }
}

impl LiveDns {
    /// The CNAME targets from `fqdn` on (at most 8 hops), asked one CNAME query at a time.
    async fn walk_cnames(&self, resolver: &TokioResolver, fqdn: &str) -> Vec<String> {
        let mut chain: Vec<String> = Vec::new();
        let mut name = fqdn.to_string();
        for _ in 0..8 {
            let next = tokio::time::timeout(
                self.timeout,
                resolver.lookup(name.as_str(), RecordType::CNAME),
            )
            .await;
            let Ok(Ok(l)) = next else { break };
            let target = l.answers().iter().find_map(|r| match &r.data {
                RData::CNAME(c) => Some(trim_dot(&c.0.to_string())),
                _ => None,
            });
            match target {
                Some(t) if !chain.contains(&t) => {
                    name = format!("{t}.");
                    chain.push(t);
                }
                _ => break,
            }
        }
        chain
    }
}

enum Classified {
    Rcode(String),
    Timeout,
    Unreachable(UnreachableCause),
}

fn classify(e: &NetError) -> Classified {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            Classified::Rcode(rcode_name(nr.response_code))
        }
        NetError::Dns(DnsError::ResponseCode(code)) => Classified::Rcode(rcode_name(*code)),
        NetError::Timeout => Classified::Timeout,
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Classified::Timeout,
        NetError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Classified::Unreachable(UnreachableCause::Refused)
        }
        // Every server failed; hickory folds per-server timeouts into this.
        NetError::NoConnections => Classified::Timeout,
        _ => Classified::Unreachable(UnreachableCause::Other),
    }
}

/// The mnemonic of a response code, as dig prints it.
pub fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

fn trim_dot(s: &str) -> String {
    s.trim_end_matches('.').to_string()
}

/// Record data as text: an address, a target name, or a CAA record as `flags tag "value"`.
fn render(data: &RData) -> String {
    match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(c) => trim_dot(&c.0.to_string()),
        RData::CAA(caa) => format!(
            "{} {} \"{}\"",
            caa.flags(),
            caa.tag,
            String::from_utf8_lossy(&caa.value)
        ),
        other => other.to_string(),
    }
}

#[async_trait]
impl DnsSource for LiveDns {
    async fn resolve(&self, q: &DnsQuery) -> Result<DnsAnswer, EvidenceError> {
        let cell = {
            let mut memo = self.memo.lock().expect("memo lock");
            memo.entry(q.clone()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let result = self.ask(q).await;
            self.journal.record(&keys::dns(q), &result);
            result
        })
        .await
        .clone()
    }
}
