//! Builds http01 situations as recorded evidence: DNS answers and HTTP answers per address, replayed.

use serde_json::json;

use crate::check::Check;
use crate::evidence::journal::keys;
use crate::evidence::{DnsAnswer, DnsQuery, EvidenceError, HttpAnswer, ProbeFailure};
use crate::http01::{challenge_url, probe};
use crate::model::Outcome;
use crate::test_support::Case;

pub struct Scenario {
    case: Case,
}

/// Let's Encrypt requested (`--acme-email`); hosts come from [`Scenario::only_host`] or the env.
pub fn scenario() -> Scenario {
    Scenario {
        case: Case::new().flag("acme_email", "ops@example.com"),
    }
}

impl Scenario {
    /// The platform host only (no apex, so no registry and mcp hosts).
    pub fn only_host(mut self, host: &str) -> Scenario {
        self.case = self.case.env("MCP_PLATFORM_INGRESS_HOST", host);
        self
    }

    pub fn flag(mut self, key: &str, value: &str) -> Scenario {
        self.case = self.case.flag(key, value);
        self
    }

    fn dns(mut self, host: &str, rt: &str, rcode: &str, records: &[&str]) -> Scenario {
        let q = DnsQuery {
            name: host.into(),
            record_type: rt.into(),
            server: None,
        };
        let key = keys::dns(&q);
        let ans = DnsAnswer {
            rcode: rcode.into(),
            records: records.iter().map(|r| r.to_string()).collect(),
            ..Default::default()
        };
        self.case = self.case.file(
            &format!("evidence/{key}.json"),
            json!({"key": key, "ok": ans}).to_string(),
        );
        self
    }

    pub fn a(self, host: &str, ips: &[&str]) -> Scenario {
        let s = self.dns(host, "A", "NOERROR", ips);
        // A host without AAAA answers NOERROR with no records unless told otherwise.
        s.dns_default_aaaa(host)
    }

    fn dns_default_aaaa(self, host: &str) -> Scenario {
        let q = DnsQuery {
            name: host.into(),
            record_type: "AAAA".into(),
            server: None,
        };
        let key = keys::dns(&q);
        if self.case_has(&format!("evidence/{key}.json")) {
            self
        } else {
            self.dns(host, "AAAA", "NOERROR", &[])
        }
    }

    fn case_has(&self, rel: &str) -> bool {
        self.case.has_file(rel)
    }

    pub fn aaaa(self, host: &str, ips: &[&str]) -> Scenario {
        self.dns(host, "AAAA", "NOERROR", ips)
    }

    pub fn nxdomain(self, host: &str) -> Scenario {
        self.dns(host, "A", "NXDOMAIN", &[])
            .dns(host, "AAAA", "NXDOMAIN", &[])
    }

    /// The answer to the challenge URL of `host` on `ip`.
    pub fn answer(self, host: &str, ip: &str, answer: HttpAnswer) -> Scenario {
        self.answer_url(&challenge_url(host), ip, answer)
    }

    pub fn answer_url(mut self, url: &str, ip: &str, answer: HttpAnswer) -> Scenario {
        let key = keys::http(&probe(url, &ip.parse().expect("ip")));
        self.case = self.case.file(
            &format!("evidence/{key}.json"),
            json!({"key": key, "ok": answer}).to_string(),
        );
        self
    }

    pub fn failure(self, host: &str, ip: &str, cause: ProbeFailure) -> Scenario {
        self.failure_url(&challenge_url(host), ip, cause)
    }

    pub fn failure_url(mut self, url: &str, ip: &str, cause: ProbeFailure) -> Scenario {
        let key = keys::http(&probe(url, &ip.parse().expect("ip")));
        let err = EvidenceError::Probe {
            cause,
            address: ip.into(),
            url: url.into(),
            message: format!("{} ({ip})", cause.as_str()),
        };
        self.case = self.case.file(
            &format!("evidence/{key}.json"),
            json!({"key": key, "error": err}).to_string(),
        );
        self
    }

    pub async fn run(self, check: &dyn Check) -> Outcome {
        self.case.run(check).await
    }
}

pub fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> HttpAnswer {
    HttpAnswer {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
        body_truncated: false,
        remote_addr: None,
    }
}

/// Traefik's answer for a path it routes nowhere (or a solver's for a token it does not hold).
pub fn traefik_404() -> HttpAnswer {
    answer(
        404,
        &[("content-type", "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
}
