use async_trait::async_trait;
use futures::future::join_all;
use serde::Serialize;

use crate::check::{Check, Context, unreadable};
use crate::config::vars;
use crate::declare_check;
use crate::evidence::{DnsQuery, EvidenceError};
use crate::model::{CheckMeta, Outcome, Status};

use super::lookup::{self, Host};

declare_check! {
    /// ### What it checks
    /// With `--acme-email`, that Let's Encrypt may issue for each public host, by the CAA rules a CA
    /// follows (RFC 8659): look up CAA at the host, and while the answer is empty (NOERROR without CAA
    /// records, or NXDOMAIN) at its parent, climbing label by label; the first non-empty set decides.
    ///
    /// - no CAA set anywhere up the tree: any CA may issue (pass);
    /// - the set has `issue` records: one must name `letsencrypt.org`, and if it carries
    ///   `validationmethods=`, the list must include `http-01`;
    /// - a record with the critical flag (128) and a tag Let's Encrypt does not know blocks issuance;
    /// - `issuewild` only governs wildcard names, which HTTP-01 cannot validate anyway;
    /// - an `accounturi=` binding passes, with a note (staging and production accounts differ);
    /// - a CAA lookup that fails (SERVFAIL, timeout) fails: Let's Encrypt refuses to issue then; a
    ///   REFUSED above the host (an authoritative-only `--dns-server` asked about the TLD) ends the climb.
    ///
    /// The answers judged are those of each `--dns-server`, else of this machine's resolver.
    ///
    /// ### Why it matters
    /// A CAA set written for another CA makes every Let's Encrypt order fail with `CAA record for <name>
    /// prevents issuance`, after setup already waited for certificates.
    ///
    /// ### What a failure looks like
    /// `CAA at example.com (0 issue "sectigo.com") does not allow letsencrypt.org to issue for
    /// platform.example.com (asked of the system resolver)`
    ///
    /// ### How to fix
    /// Add `0 issue "letsencrypt.org"` to the CAA set that applies (`rem.dns-caa`).
    pub struct Caa {
        id: "dns.caa",
        title: "With Let's Encrypt, CAA records allow letsencrypt.org to issue",
        category: "dns",
        modes: Setup,
        depends_on: ["dns.hosts-config"],
        reads: [],
    }
}

/// Tags Let's Encrypt understands (RFC 8659, RFC 8657 parameters live inside `issue`, RFC 9495).
const KNOWN_TAGS: [&str; 5] = [
    "issue",
    "issuewild",
    "iodef",
    "contactemail",
    "contactphone",
];
const LETS_ENCRYPT: &str = "letsencrypt.org";

#[async_trait]
impl Check for Caa {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    fn not_applicable(&self, ctx: &Context) -> Option<String> {
        if ctx.config.value("acme_email").is_none() {
            return Some(
                "Let's Encrypt is not requested (no --acme-email / MCP_ACME_EMAIL): CAA concerns the CA that issues"
                    .into(),
            );
        }
        lookup::no_hosts(&ctx.config)
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let hosts = lookup::hosts(&ctx.config);
        let views = lookup::public_views(&ctx.config);
        let jobs = hosts.iter().flat_map(|h| {
            views
                .iter()
                .map(move |v| async move { (h, v.clone(), climb(ctx, &h.name, v.clone()).await) })
        });
        let results = join_all(jobs).await;
        // (status, message, host, owner or resolver, records or why, remediation)
        let mut findings: Vec<(Status, String, Host, String, String, &'static str)> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let mut details = Vec::new();
        for (host, view, result) in &results {
            let view_shown = lookup::view_name(view.as_deref());
            let found = match result {
                Ok(f) => f,
                Err(e) if e.is_absent() => return unreadable(&format!("CAA for {}", host.name), e),
                Err(e) => {
                    findings.push((
                        Status::Fail,
                        format!(
                            "the CAA lookup for {} failed ({e}): Let's Encrypt refuses to issue when it cannot read CAA",
                            host.name
                        ),
                        (*host).clone(),
                        view_shown.clone(),
                        e.to_string(),
                        "rem.dns-server-failure",
                    ));
                    continue;
                }
            };
            details.push(
                serde_json::json!({ "host": host.name, "resolver": view_shown, "caa": found }),
            );
            let Found::Set { owner, records } = found else {
                continue;
            };
            match evaluate(records) {
                Verdict::Allowed { note } => {
                    if let Some(n) = note {
                        notes.push(format!("{}: {n}", host.name));
                    }
                }
                Verdict::Blocked(why) => findings.push((
                    Status::Fail,
                    format!(
                        "CAA at {owner} ({}) {why} for {} (asked of {view_shown})",
                        records.join("; "),
                        host.name
                    ),
                    (*host).clone(),
                    owner.clone(),
                    records.join("; "),
                    "rem.dns-caa",
                )),
            }
        }
        // Lookup failures are recorded as Found::Lookup by `climb`.
        for (host, view, result) in &results {
            if let Ok(Found::Lookup { name, rcode }) = result {
                findings.push((
                    Status::Fail,
                    format!(
                        "the CAA lookup for {name} answered {rcode} (asked of {}): Let's Encrypt refuses to issue for {} \
                         when it cannot read CAA",
                        lookup::view_name(view.as_deref()),
                        host.name
                    ),
                    (*host).clone(),
                    lookup::view_name(view.as_deref()),
                    format!("{rcode} for CAA at {name}"),
                    "rem.dns-server-failure",
                ));
            }
        }
        if let Some((status, message, host, at, what, rem)) = findings.first().cloned() {
            let mut msg = message;
            if findings.len() > 1 {
                msg.push_str(&format!(" (and {} more, see details)", findings.len() - 1));
            }
            return Outcome::of(status, msg)
                .detail("caa", details)
                .subjects(findings.iter().map(|f| f.2.subject()))
                .remediate(
                    rem,
                    None,
                    &vars([
                        ("host", host.name),
                        ("caa_owner", at.clone()),
                        ("caa_records", what.clone()),
                        ("resolver", at),
                        ("why", what),
                    ]),
                );
        }
        let mut msg =
            "CAA allows letsencrypt.org (or no CAA set restricts issuance) for every public host"
                .to_string();
        if !notes.is_empty() {
            msg.push_str(&format!("; note: {}", notes.join("; ")));
        }
        Outcome::pass(msg).detail("caa", details)
    }
}

/// What the climb found.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "found", rename_all = "kebab-case")]
enum Found {
    /// No CAA set on the name or any parent.
    Nothing,
    /// The relevant set and the name it is at.
    Set { owner: String, records: Vec<String> },
    /// A lookup on the way answered an error code.
    Lookup { name: String, rcode: String },
}

/// The names a CA asks, from the host up to (and including) its top-level label.
fn names_up(host: &str) -> Vec<String> {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    (0..labels.len()).map(|i| labels[i..].join(".")).collect()
}

async fn climb(ctx: &Context, host: &str, server: Option<String>) -> Result<Found, EvidenceError> {
    for name in names_up(host) {
        let q = DnsQuery {
            name: name.clone(),
            record_type: "CAA".into(),
            server: server.clone(),
        };
        let a = ctx.evidence.dns.resolve(&q).await?;
        match a.rcode.as_str() {
            "NOERROR" if !a.records.is_empty() => {
                return Ok(Found::Set {
                    owner: name,
                    records: a.records,
                });
            }
            "NOERROR" | "NXDOMAIN" => continue,
            // An authoritative-only --dns-server refuses names above its zones (the TLD): the climb ends
            // there with nothing found, as it would at a recursive resolver for a TLD without CAA. A
            // refusal for the host itself is a real failure.
            "REFUSED" if name != host.trim_end_matches('.') => return Ok(Found::Nothing),
            rcode => {
                return Ok(Found::Lookup {
                    name,
                    rcode: rcode.to_string(),
                });
            }
        }
    }
    Ok(Found::Nothing)
}

/// One CAA record: `flags tag "value"`.
#[derive(Debug, PartialEq)]
struct Record {
    critical: bool,
    tag: String,
    value: String,
}

fn parse(text: &str) -> Option<Record> {
    let mut parts = text.trim().splitn(3, char::is_whitespace);
    let flags: u8 = parts.next()?.parse().ok()?;
    let tag = parts.next()?.to_ascii_lowercase();
    let value = parts.next().unwrap_or("").trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    Some(Record {
        critical: flags & 128 != 0,
        tag,
        value: value.to_string(),
    })
}

enum Verdict {
    Allowed { note: Option<String> },
    Blocked(String),
}

/// RFC 8659 section 4 for a non-wildcard name and the http-01 method.
fn evaluate(records: &[String]) -> Verdict {
    let parsed: Vec<Record> = records.iter().filter_map(|r| parse(r)).collect();
    if let Some(r) = parsed
        .iter()
        .find(|r| r.critical && !KNOWN_TAGS.contains(&r.tag.as_str()))
    {
        return Verdict::Blocked(format!(
            "has the critical tag {:?}, which Let's Encrypt does not know, so it blocks every issuance",
            r.tag
        ));
    }
    let issue: Vec<&Record> = parsed.iter().filter(|r| r.tag == "issue").collect();
    if issue.is_empty() {
        return Verdict::Allowed { note: None };
    }
    let mut wrong_method = None;
    for r in &issue {
        let mut parts = r.value.split(';');
        let domain = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if domain != LETS_ENCRYPT {
            continue;
        }
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        if let Some((_, methods)) = params.iter().find(|(k, _)| k == "validationmethods")
            && !methods.split(',').any(|m| m.trim() == "http-01")
        {
            wrong_method = Some(methods.clone());
            continue;
        }
        let note = params
            .iter()
            .find(|(k, _)| k == "accounturi")
            .map(|(_, v)| {
                format!("issuance is bound to the ACME account {v}; a staging or another account cannot issue")
            });
        return Verdict::Allowed { note };
    }
    if let Some(m) = wrong_method {
        return Verdict::Blocked(format!(
            "allows letsencrypt.org only with validationmethods={m}, which excludes http-01"
        ));
    }
    let named: Vec<String> = issue
        .iter()
        .map(|r| r.value.split(';').next().unwrap_or("").trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    if named.is_empty() {
        Verdict::Blocked("forbids every CA (issue \";\"), letsencrypt.org included,".into())
    } else {
        Verdict::Blocked(format!(
            "allows only {}, not letsencrypt.org, to issue",
            named.join(", ")
        ))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn eval(r: &[&str]) -> Result<Option<String>, String> {
        match evaluate(&r.iter().map(|s| s.to_string()).collect::<Vec<_>>()) {
            Verdict::Allowed { note } => Ok(note),
            Verdict::Blocked(w) => Err(w),
        }
    }

    #[test]
    fn rfc8659_rules() {
        assert!(eval(&["0 issue \"letsencrypt.org\""]).is_ok());
        assert!(eval(&["0 issue \"LetsEncrypt.org; validationmethods=dns-01,http-01\""]).is_ok());
        assert!(eval(&["0 issuewild \"sectigo.com\"", "0 iodef \"mailto:x@y\""]).is_ok());
        assert!(
            eval(&["0 issue \"sectigo.com\""])
                .unwrap_err()
                .contains("sectigo.com")
        );
        assert!(
            eval(&["0 issue \";\""])
                .unwrap_err()
                .contains("forbids every CA")
        );
        assert!(
            eval(&["0 issue \"letsencrypt.org; validationmethods=dns-01\""])
                .unwrap_err()
                .contains("excludes http-01")
        );
        assert!(
            eval(&["0 issue \"letsencrypt.org\"", "128 tbs \"x\""])
                .unwrap_err()
                .contains("critical tag")
        );
        assert!(eval(&["0 issue \"letsencrypt.org\"", "0 tbs \"x\""]).is_ok());
        assert!(
            eval(&["0 issue \"letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1\""])
                .unwrap()
                .unwrap()
                .contains("ACME account")
        );
        assert_eq!(names_up("a.b.test"), ["a.b.test", "b.test", "test"]);
    }
}
