use super::*;
use crate::evidence::ProbeFailure;
use crate::http01::test_support::*;
use crate::http01::{PROBE_TOKEN, challenge_url};
use crate::test_support::expect;

const HOST: &str = "platform.example.com";
const V4: &str = "203.0.113.10";
const V6: &str = "2001:db8::10";

fn one(answer_: crate::evidence::HttpAnswer) -> Scenario {
    scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .answer(HOST, V4, answer_)
}

async fn fails(s: Scenario, needles: &[&str], remediation: &str) -> Outcome {
    let o = s.run(&ChallengePath).await;
    let rem = expect(&o, Status::Fail, needles);
    assert_eq!(rem, remediation, "{o:#?}");
    assert_eq!(o.subjects, vec![format!("host/{HOST}")]);
    o
}

#[tokio::test]
async fn traefik_404_and_solver_are_healthy() {
    let o = one(traefik_404()).run(&ChallengePath).await;
    expect(&o, Status::Pass, &["Traefik answers (404 page not found"]);
    let solver = answer(200, &[], &format!("{PROBE_TOKEN}.abcDEF123_-xyz"));
    let o = one(solver).run(&ChallengePath).await;
    expect(&o, Status::Pass, &["cert-manager solver"]);
}

#[tokio::test]
async fn auth_and_waf_fail() {
    let a = answer(
        401,
        &[
            ("server", "nginx"),
            ("www-authenticate", "Basic realm=\"registry\""),
        ],
        "<html>401</html>",
    );
    fails(
        one(a),
        &[
            "from 203.0.113.10 (A): answered 401: authentication is required",
            "Basic realm",
        ],
        "rem.http01-front-door",
    )
    .await;
    let a = answer(
        403,
        &[("server", "cloudflare"), ("cf-ray", "8a1b2c3d4e5f-AMS")],
        "<html>",
    );
    fails(
        one(a),
        &["answered 403", "(Cloudflare)"],
        "rem.http01-front-door",
    )
    .await;
}

#[tokio::test]
async fn proxy_error_page_block_page_and_5xx_fail() {
    let cf = answer(
        522,
        &[
            ("server", "cloudflare"),
            ("cf-ray", "8a1b2c3d4e5f-AMS"),
            ("content-type", "text/html"),
        ],
        "<!DOCTYPE html><title>Connection timed out | Cloudflare</title>",
    );
    fails(
        one(cf),
        &[
            "Cloudflare answered with its own error page (522",
            "CF-Ray: 8a1b2c3d4e5f-AMS",
        ],
        "rem.http01-front-door",
    )
    .await;
    let block = answer(503, &[], "<html>Application blocked: acme-protocol</html>");
    fails(
        one(block),
        &["firewall block page", "acme-protocol"],
        "rem.http01-front-door",
    )
    .await;
    let bad_gw = answer(
        502,
        &[("server", "nginx/1.22.1")],
        "<html>502 Bad Gateway</html>",
    );
    fails(
        one(bad_gw),
        &["answered 502, a server error (Server: nginx/1.22.1)"],
        "rem.http01-front-door",
    )
    .await;
    let html404 = answer(
        404,
        &[("server", "nginx"), ("content-type", "text/html")],
        "<html>404 Not Found</html>",
    );
    fails(
        one(html404),
        &["404 with a page that is not Traefik's"],
        "rem.http01-front-door",
    )
    .await;
}

#[tokio::test]
async fn cached_answers_fail_even_when_they_look_healthy() {
    let mut cached = traefik_404();
    cached.headers.push(("age".into(), "120".into()));
    cached.headers.push(("x-cache".into(), "HIT".into()));
    fails(
        one(cached),
        &["a cache answered (404 with Age: 120, cache status HIT"],
        "rem.http01-front-door",
    )
    .await;
    let stale = answer(200, &[], "oldtoken.thumbprint");
    fails(
        one(stale),
        &["key authorization of another token"],
        "rem.http01-front-door",
    )
    .await;
}

#[tokio::test]
async fn timeout_and_refused_point_at_port_80() {
    let s = scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .failure(HOST, V4, ProbeFailure::Timeout);
    fails(
        s,
        &["from 203.0.113.10 (A): timeout (203.0.113.10)"],
        "rem.http01-port80",
    )
    .await;
    let s = scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .failure(HOST, V4, ProbeFailure::Refused);
    fails(s, &["port 80 refused the connection"], "rem.http01-port80").await;
}

#[tokio::test]
async fn redirects_are_walked_by_the_validators_rules() {
    let start = challenge_url(HOST);
    let https = format!("https://{HOST}/.well-known/acme-challenge/{PROBE_TOKEN}");
    // Redirect to https on 443, then Traefik's 404: healthy.
    let s = one(answer(301, &[("location", &https)], "")).answer_url(&https, V4, traefik_404());
    let o = s.run(&ChallengePath).await;
    expect(&o, Status::Pass, &["Traefik answers"]);
    // To port 8080: rejected before any request.
    let to_8080 = format!("http://{HOST}:8080/.well-known/acme-challenge/{PROBE_TOKEN}");
    fails(
        one(answer(301, &[("location", &to_8080)], "")),
        &[
            "on port 8080: Let's Encrypt follows redirects only to ports 80 and 443",
            "(hops: ",
        ],
        "rem.http01-redirect",
    )
    .await;
    // Non-http scheme, 303, missing slash.
    fails(
        one(answer(302, &[("location", "ftp://example.com/x")], "")),
        &["a ftp URL"],
        "rem.http01-redirect",
    )
    .await;
    fails(
        one(answer(303, &[("location", &https)], "")),
        &["redirects with 303"],
        "rem.http01-redirect",
    )
    .await;
    let slash = format!("https://{HOST}.well-known/acme-challenge/{PROBE_TOKEN}");
    fails(
        one(answer(301, &[("location", &slash)], "")),
        &["a slash is missing"],
        "rem.http01-redirect",
    )
    .await;
    // A loop back to the start.
    let s = one(answer(301, &[("location", &https)], "")).answer_url(
        &https,
        V4,
        answer(301, &[("location", &start)], ""),
    );
    fails(
        s,
        &[
            "redirect loop: http://platform.example.com/",
            "-> https://",
            "-> http://platform",
        ],
        "rem.http01-redirect",
    )
    .await;
    // Plain HTTP to the HTTPS port.
    let on_443 = format!("http://{HOST}:443/.well-known/acme-challenge/{PROBE_TOKEN}");
    let s = one(answer(301, &[("location", &on_443)], "")).answer_url(
        &on_443,
        V4,
        answer(
            400,
            &[("server", "nginx")],
            "<center>The plain HTTP request was sent to HTTPS port</center>",
        ),
    );
    fails(
        s,
        &["plain HTTP reached an HTTPS port"],
        "rem.http01-redirect",
    )
    .await;
}

#[tokio::test]
async fn more_than_ten_redirects_fail() {
    let url = |i: usize| format!("http://{HOST}/{i}");
    let mut s = one(answer(302, &[("location", &url(1))], ""));
    for i in 1..=11 {
        s = s.answer_url(&url(i), V4, answer(302, &[("location", &url(i + 1))], ""));
    }
    fails(s, &["more than 10 redirects"], "rem.http01-redirect").await;
}

#[tokio::test]
async fn an_aaaa_answering_wrongly_fails_although_ipv4_is_fine() {
    let s = scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .aaaa(HOST, &[V6])
        .answer(HOST, V4, traefik_404())
        .answer(HOST, V6, answer(403, &[("server", "nginx")], "forbidden"));
    fails(
        s,
        &[
            "from [2001:db8::10] (AAAA): answered 403",
            "Let's Encrypt uses the AAAA and does not fall back",
        ],
        "rem.http01-front-door",
    )
    .await;
}

#[tokio::test]
async fn internal_front_door_warns_and_missing_evidence_skips() {
    let o = one(traefik_404())
        .flag("front_door", "internal")
        .run(&ChallengePath)
        .await;
    expect(
        &o,
        Status::Warn,
        &["internal front door", "--tls-cluster-issuer"],
    );
    let o = scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .run(&ChallengePath)
        .await;
    expect(&o, Status::Skip, &["not collected"]);
}

#[tokio::test]
async fn a_dead_aaaa_with_working_ipv4_warns_because_the_validator_falls_back() {
    let s = scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .aaaa(HOST, &[V6])
        .answer(HOST, V4, traefik_404())
        .failure(HOST, V6, ProbeFailure::Refused);
    let o = s.run(&ChallengePath).await;
    let rem = expect(
        &o,
        Status::Warn,
        &[
            "from [2001:db8::10] (AAAA): port 80 refused the connection",
            "would still validate over IPv4",
        ],
    );
    assert_eq!(rem, "rem.http01-port80");
    // An AAAA that connects but never answers is not a dial failure: no fallback, a failure.
    let s = scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .aaaa(HOST, &[V6])
        .answer(HOST, V4, traefik_404())
        .failure(HOST, V6, ProbeFailure::Timeout);
    let o = s.run(&ChallengePath).await;
    expect(
        &o,
        Status::Fail,
        &["from [2001:db8::10] (AAAA)", "does not fall back"],
    );
}

#[tokio::test]
async fn a_broken_a_behind_a_working_aaaa_warns_and_a_broken_second_a_fails() {
    let s = scenario()
        .only_host(HOST)
        .a(HOST, &[V4])
        .aaaa(HOST, &[V6])
        .answer(HOST, V6, traefik_404())
        .answer(HOST, V4, answer(502, &[("server", "nginx")], "bad gateway"));
    let o = s.run(&ChallengePath).await;
    expect(
        &o,
        Status::Warn,
        &[
            "from 203.0.113.10 (A): answered 502",
            "it uses the AAAA, which works",
        ],
    );
    // Two A records, no AAAA: resolvers rotate the order, so either may be the one used.
    let s = scenario()
        .only_host(HOST)
        .a(HOST, &[V4, "203.0.113.11"])
        .answer(HOST, V4, traefik_404())
        .answer(HOST, "203.0.113.11", answer(403, &[], "no"));
    let o = s.run(&ChallengePath).await;
    expect(&o, Status::Fail, &["from 203.0.113.11 (A): answered 403"]);
}

#[tokio::test]
async fn a_proxy_answering_a_direct_front_door_warns_and_passes_when_declared() {
    let mut via = traefik_404();
    via.headers.push(("via".into(), "1.1 edge-proxy".into()));
    let o = one(via.clone()).run(&ChallengePath).await;
    expect(
        &o,
        Status::Warn,
        &[
            "through a proxy although the front door is direct: platform.example.com (Via: 1.1 edge-proxy)",
            "--front-door proxy",
        ],
    );
    let o = one(via)
        .flag("front_door", "proxy")
        .run(&ChallengePath)
        .await;
    expect(&o, Status::Pass, &["reaches Traefik on every address"]);
}

#[tokio::test]
async fn redirect_targets_must_be_public_names_or_addresses() {
    for (target, needle) in [
        (
            "http://10.0.0.5/.well-known/acme-challenge/x",
            "10.0.0.5 is a reserved address",
        ),
        (
            "http://ingress.local/.well-known/acme-challenge/x",
            "ingress.local does not end in a public top-level domain",
        ),
        (
            "http://traefik/.well-known/acme-challenge/x",
            "traefik does not end in a public top-level domain",
        ),
    ] {
        fails(
            one(answer(302, &[("location", target)], "")),
            &[needle],
            "rem.http01-redirect",
        )
        .await;
    }
    let long = format!("http://{HOST}/{}", "a".repeat(2001));
    fails(
        one(answer(302, &[("location", &long)], "")),
        &["at most 2000"],
        "rem.http01-redirect",
    )
    .await;
    // A public IP literal is followed (current Boulder; the docs still say IP targets are refused).
    let public = "http://93.184.216.34/.well-known/acme-challenge/x";
    let o = one(answer(302, &[("location", public)], ""))
        .answer_url(public, "93.184.216.34", traefik_404())
        .run(&ChallengePath)
        .await;
    expect(&o, Status::Pass, &["Traefik answers"]);
    // Documentation space is reserved: not followed.
    let doc = "http://198.51.100.7/.well-known/acme-challenge/x";
    fails(
        one(answer(302, &[("location", doc)], "")),
        &["198.51.100.7 is a reserved address"],
        "rem.http01-redirect",
    )
    .await;
}
