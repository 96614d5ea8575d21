use async_trait::async_trait;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::http01::{PROBE_TOKEN, Walk, front_door, hosts, show_ip, walk_all};
use crate::model::{CheckMeta, Outcome, Status};

declare_check! {
    /// ### What it checks
    /// What answers `http://<host>/.well-known/acme-challenge/<token>` for each public host, from every
    /// address the host resolves to, walking redirects by Let's Encrypt's rules: at most 10, only 301, 302,
    /// 307 and 308, only to `http`/`https` on ports 80 and 443 (certificates of `https` hops are not
    /// checked, as the validator does not check them), each redirect target resolved afresh AAAA first.
    ///
    /// Healthy answers: Traefik's plain `404 page not found` (the path is routed to the ingress and no
    /// solver holds this probe's token, as expected) or a cert-manager solver's key authorization.
    ///
    /// Failures, each named in the message with the address and the hops involved: a timeout or refused
    /// connection; 401/403 (auth or a WAF); a proxy's own HTML error page (Cloudflare: `Server: cloudflare`,
    /// `CF-Ray`); a firewall block page (`acme-protocol`, nginx's testcookie); a cached answer (`Age` > 0,
    /// `X-Cache`/`CF-Cache-Status` HIT); another token's key authorization; a redirect loop or more than 10
    /// redirects; a redirect with 303 or another status, to a port other than 80/443, to a non-http(s)
    /// scheme, to a host ending in `.well-known` (missing slash), to a reserved IP literal or a name
    /// without a public top-level domain, or to a path over 2000 bytes; `The plain HTTP request was sent to
    /// HTTPS port`; a 5xx; a 404 page that is not Traefik's; any other answer.
    ///
    /// AAAA first: the validator uses the first AAAA and falls back to the first A only when it cannot
    /// connect on the first request; an AAAA that answers wrongly fails validation even when IPv4 is fine,
    /// so any address that answers wrongly fails this check. With `--front-door internal` a healthy path
    /// is a warning: it works from here, but Let's Encrypt validates from the internet.
    ///
    /// ### Why it matters
    /// cert-manager's HTTP-01 solver only works when the validator's request reaches Traefik unchanged. A
    /// proxy that caches, authenticates, blocks or redirects the path elsewhere leaves every Certificate
    /// pending, and the symptom in cert-manager (`wrong status code '403'`, `Timeout during connect`) does not
    /// say which hop is to blame.
    ///
    /// ### What a failure looks like
    /// `registry.example.com from 203.0.113.10 (A): answered 401: authentication is required on the
    /// challenge path (Server: nginx, WWW-Authenticate: Basic realm="registry"); the validator sends no
    /// credentials`
    ///
    /// `platform.example.com from 203.0.113.10 (A): redirects to http://platform.example.com:8080/..., on port
    /// 8080: Let's Encrypt follows redirects only to ports 80 and 443 (hops: http://platform.example.com/...
    /// 301)`
    ///
    /// ### How to fix
    /// Let `/.well-known/acme-challenge/*` through every hop to Traefik unchanged: no auth, no cache, no WAF
    /// rule, no forced redirect to another port (remediations `rem.http01-front-door`,
    /// `rem.http01-redirect`, `rem.http01-port80`); or put the proxy in DNS-only mode until cert-manager
    /// has issued, as the k3s guide suggests.
    pub struct ChallengePath {
        id: "http01.challenge-path",
        title: "The ACME challenge path of each public host reaches Traefik",
        category: "http01",
        modes: Setup,
        depends_on: [],
        reads: [],
        timeout_secs: 45,
    }
}

#[async_trait]
impl Check for ChallengePath {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        super::not_applicable(ctx)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = hosts(&ctx.config);
        let (walked, errors) = match walk_all(ctx, &hosts).await {
            Ok(x) => x,
            Err(e) => return unreadable("the HTTP-01 challenge path", &e),
        };
        let door = front_door(&ctx.config);
        let mut failures: Vec<(String, Status, String, &'static str, Vars)> = Vec::new();
        let mut healthy: Vec<String> = Vec::new();
        // Healthy hosts whose answer came through a proxy (host, the header that says so).
        let mut proxied: Vec<(String, String)> = Vec::new();
        let mut all_walks: Vec<&Walk> = Vec::new();
        for (host, addrs, walks) in &walked {
            all_walks.extend(walks.iter());
            if walks.is_empty() {
                // No address at all: http01.reachable and the DNS checks say so; nothing to walk here.
                failures.push((
                    host.clone(),
                    Status::Fail,
                    format!(
                        "{host} has no A or AAAA record, so the challenge path cannot be reached"
                    ),
                    "rem.http01-port80",
                    Vars::from([
                        ("host", host.clone()),
                        ("address", "<ingress-public-ip>".into()),
                    ]),
                ));
                continue;
            }
            let broken: Vec<&Walk> = walks.iter().filter(|w| w.problem().is_some()).collect();
            if broken.is_empty() {
                let kinds: Vec<String> = walks
                    .iter()
                    .map(|w| match &w.verdict {
                        super::Verdict::Healthy { text, .. } => text.clone(),
                        super::Verdict::Problem { text, .. } => text.clone(),
                    })
                    .collect();
                let addrs_text: Vec<String> = addrs.all().map(|ip| show_ip(&ip)).collect();
                if let Some(sig) = walks
                    .iter()
                    .find_map(|w| w.last.as_ref().and_then(super::proxy_signature))
                {
                    proxied.push((host.clone(), sig));
                }
                healthy.push(format!(
                    "{host} ({}): {}",
                    addrs_text.join(", "),
                    kinds.first().cloned().unwrap_or_default()
                ));
                continue;
            }
            // Which addresses Let's Encrypt may use: an AAAA (record order varies between resolvers, so any
            // of them); an A only when there is no AAAA, or when an AAAA fails at dial level on the first
            // request. A wrong answer from an address it may use fails; a broken address it never uses warns.
            let (v6, v4): (Vec<&Walk>, Vec<&Walk>) = walks.iter().partition(|w| w.family == "AAAA");
            let may_use_v4 = v6.is_empty() || v6.iter().any(|w| w.dial_failed());
            let fatal = |w: &Walk| {
                w.problem().is_some()
                    && (if w.family == "AAAA" {
                        !w.dial_failed()
                    } else {
                        may_use_v4
                    })
            };
            let w = broken
                .iter()
                .copied()
                .find(|w| fatal(w))
                .unwrap_or(broken[0]);
            let status = if broken.iter().any(|w| fatal(w)) {
                Status::Fail
            } else {
                Status::Warn
            };
            let (kind, text) = w.problem().expect("broken");
            let ip: std::net::IpAddr = w.start.parse().expect("walk start is an IP");
            let mut message = format!("{host} from {} ({}): {text}", show_ip(&ip), w.family);
            let walked_redirects = w.hops.iter().any(|h| h.location.is_some());
            if (w.hops.len() > 1 || walked_redirects) && kind != super::Problem::RedirectLoop {
                message.push_str(&format!(" (hops: {})", w.trail()));
            }
            let others: Vec<String> = broken
                .iter()
                .filter(|o| o.start != w.start)
                .map(|o| format!("{} ({})", show_ip(&o.start.parse().expect("IP")), o.family))
                .collect();
            if !others.is_empty() {
                message.push_str(&format!("; also broken from {}", others.join(", ")));
            }
            let v4_fine = !v4.is_empty() && v4.iter().all(|w| w.problem().is_none());
            let v6_fine = !v6.is_empty() && v6.iter().all(|w| w.problem().is_none());
            if status == Status::Fail && w.family == "AAAA" && v4_fine {
                message.push_str(
                    "; IPv4 answers correctly, but Let's Encrypt uses the AAAA and does not fall back to IPv4 when it answers",
                );
            } else if status == Status::Warn && w.family == "AAAA" {
                message.push_str(
                    "; Let's Encrypt would still validate over IPv4 (it falls back only because the AAAA cannot be connected to), but fix or remove the AAAA record",
                );
            } else if status == Status::Warn && v6_fine {
                message.push_str(
                    "; Let's Encrypt would still validate (it uses the AAAA, which works), but IPv4-only clients hit the broken address",
                );
            }
            let remediation = kind.remediation(w.hops.len() == 1);
            failures.push((
                host.clone(),
                status,
                message,
                remediation,
                Vars::from([
                    ("host", host.clone()),
                    ("address", show_ip(&ip)),
                    ("token", PROBE_TOKEN.to_string()),
                ]),
            ));
        }
        let distribution = ctx.distribution().await;
        // Fails first, so the message and the remediation lead with what blocks issuance.
        failures.sort_by_key(|(_, status, _, _, _)| *status != Status::Fail);
        let outcome = if let Some((_, status, _, remediation, vars)) = failures.first() {
            let message = failures
                .iter()
                .map(|(_, _, m, _, _)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            Outcome::of(*status, message)
                .subjects(failures.iter().map(|(h, _, _, _, _)| format!("host/{h}")))
                .remediate(remediation, distribution, vars)
        } else if !errors.is_empty() {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            Outcome::error(format!(
                "cannot look up the public hosts: {}",
                text.join("; ")
            ))
        } else if door == "internal" {
            let host = hosts.first().cloned().unwrap_or_default();
            Outcome::warn(format!(
                "the challenge path reaches Traefik from here ({}), but with an internal front door Let's Encrypt, which \
                 validates from the internet, cannot reach it: use --tls-cluster-issuer or pre-created TLS secrets",
                healthy.join("; ")
            ))
            .subjects(hosts.iter().map(|h| format!("host/{h}")))
            .remediate(
                "rem.http01-front-door",
                distribution,
                &Vars::from([
                    ("host", host),
                    ("address", "<ingress-public-ip>".into()),
                    ("token", PROBE_TOKEN.to_string()),
                ]),
            )
        } else if door == "direct" && !proxied.is_empty() {
            // The k3s guide's direct shape has DNS pointing at the ingress node; a proxy answering means the
            // records point elsewhere than declared. Issuance works today, but the proxy's rules decide it.
            let list: Vec<String> = proxied
                .iter()
                .map(|(h, sig)| format!("{h} ({sig})"))
                .collect();
            let host = proxied[0].0.clone();
            Outcome::warn(format!(
                "the challenge path reaches Traefik, but through a proxy although the front door is direct: {};                  pass --front-door proxy if that is intended, and keep /.well-known/acme-challenge/* passing through                  it without auth, cache or redirects",
                list.join(", ")
            ))
            .subjects(proxied.iter().map(|(h, _)| format!("host/{h}")))
            .remediate(
                "rem.http01-front-door",
                distribution,
                &Vars::from([
                    ("host", host),
                    ("address", "<proxy-ip>".into()),
                    ("token", PROBE_TOKEN.to_string()),
                ]),
            )
        } else {
            Outcome::of(
                Status::Pass,
                format!(
                    "the challenge path reaches Traefik on every address: {}",
                    healthy.join("; ")
                ),
            )
        };
        outcome
            .detail("front_door", door)
            .detail("walks", &all_walks)
    }
}

#[cfg(test)]
mod tests;
