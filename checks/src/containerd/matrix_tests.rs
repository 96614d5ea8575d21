//! The pull matrix observed with a real containerd 1.6.20 (survey §2.3, plus its CRI and legacy-mode
//! runs): every case's predicted class and message must equal what was observed.

use super::*;
use crate::containerd::config::HostsDir;
use crate::containerd::reference::parse;

const IP: &str = "192.0.2.10";
const ROOT: &str = "/etc/containerd/certs.d";
const V1620: Option<Version> = Some((1, 6, 20));
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn registry(images: &[&str]) -> Behavior {
    Behavior::Registry(images.iter().map(|s| s.to_string()).collect())
}

fn world() -> World {
    let plain = || Listener {
        proto: Proto::Http,
        behavior: registry(&[
            "team/app:v1",
            "library/hello:v1",
            &format!("team/app@{DIGEST}"),
        ]),
    };
    let tls = || Listener {
        proto: Proto::Https {
            ca: "ca.crt".into(),
        },
        behavior: registry(&["team/app:v1", "tls/app:v1"]),
    };
    let odd = |b: Behavior| Listener {
        proto: Proto::Http,
        behavior: b,
    };
    let mut w = World {
        resolver: Some("10.255.255.53:53".into()),
        ..World::default()
    };
    w.listeners.insert(format!("{IP}:5000"), plain());
    w.listeners.insert("127.0.0.1:5000".into(), plain());
    w.listeners.insert("localhost:5000".into(), plain());
    w.listeners.insert(format!("{IP}:5443"), tls());
    w.listeners.insert("127.0.0.1:5443".into(), tls());
    w.listeners
        .insert(format!("{IP}:8081"), odd(Behavior::Status(401)));
    w.listeners.insert(
        format!("{IP}:8082"),
        odd(Behavior::Redirect(format!("https://{IP}:8443"))),
    );
    w.listeners
        .insert(format!("{IP}:8083"), odd(Behavior::Html));
    w.listeners
        .insert(format!("{IP}:8084"), odd(Behavior::Status(502)));
    w
}

/// `config_path` mode with these `certs.d` directories: (name, hosts.toml, certificate files).
fn dirs(entries: &[(&str, Option<&str>, &[&str])]) -> NodeRegistry {
    NodeRegistry {
        config_path: vec![ROOT.into()],
        dirs: entries
            .iter()
            .map(|(name, toml, certs)| {
                (
                    format!("{ROOT}/{name}"),
                    HostsDir {
                        hosts_toml: toml.map(String::from),
                        cert_files: certs.iter().map(|s| s.to_string()).collect(),
                    },
                )
            })
            .collect(),
        ..NodeRegistry::default()
    }
}

fn legacy(mirrors: &[(&str, &[&str])]) -> NodeRegistry {
    NodeRegistry {
        mirrors: mirrors
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        ..NodeRegistry::default()
    }
}

struct Case {
    id: &'static str,
    reg: NodeRegistry,
    flags: ClientFlags,
    reference: String,
    class: Class,
    /// A substring of the observed error (empty for successes).
    observed: String,
    /// A substring of an observed containerd log line, when the case is about one.
    note: Option<&'static str>,
}

fn case(
    id: &'static str,
    reg: NodeRegistry,
    reference: &str,
    class: Class,
    observed: &str,
) -> Case {
    Case {
        id,
        reg,
        flags: ClientFlags::default(),
        reference: reference.to_string(),
        class,
        observed: observed.to_string(),
        note: None,
    }
}

fn cases() -> Vec<Case> {
    let none = || dirs(&[]);
    let app = format!("{IP}:5000/team/app:v1");
    let tls = format!("{IP}:5443/tls/app:v1");
    let http_host = format!("[host.\"http://{IP}:5000\"]\n");
    let https_to_http = "http: server gave HTTP response to HTTPS client";
    let x509 = "x509: certificate signed by unknown authority";
    let dns_up = "dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host";
    let dns_inv = "dial tcp: lookup registry.example.invalid on 10.255.255.53:53: no such host";
    let inv = "registry.example.invalid/team/app:v1";
    let port_dir = format!("{IP}:5000");
    let tls_dir = format!("{IP}:5443");
    let docker_mirror = format!(
        "server = \"https://registry-1.docker.io\"\n[host.\"http://{IP}:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
    );
    let pull_only = format!(
        "server = \"https://registry-1.docker.io\"\n[host.\"http://{IP}:5000\"]\n  capabilities = [\"pull\"]\n"
    );
    let mirror_of = |port: u16| format!("[host.\"http://{IP}:{port}\"]\n");
    let mut out = vec![
        case("A1", none(), "127.0.0.1:5000/team/app:v1", Class::Ok, ""),
        case("A2", none(), "localhost:5000/team/app:v1", Class::Ok, ""),
        case(
            "A3",
            none(),
            &app,
            Class::HttpResponseToHttpsClient,
            &format!(
                "failed to do request: Head \"https://{IP}:5000/v2/team/app/manifests/v1\": {https_to_http}"
            ),
        ),
        Case {
            flags: ClientFlags {
                plain_http: true,
                ..ClientFlags::default()
            },
            ..case("A4", none(), &app, Class::Ok, "")
        },
        case("A5", none(), &tls, Class::X509UnknownAuthority, x509),
        Case {
            flags: ClientFlags {
                tls_ca: Some("ca.crt".into()),
                ..ClientFlags::default()
            },
            ..case("A6", none(), &tls, Class::Ok, "")
        },
        Case {
            flags: ClientFlags {
                skip_verify: true,
                ..ClientFlags::default()
            },
            ..case("A7", none(), &tls, Class::Ok, "")
        },
        case(
            "A8",
            none(),
            "127.0.0.1:5443/tls/app:v1",
            Class::Status(400),
            "pulling from host 127.0.0.1:5443 failed with status code [manifests v1]: 400 Bad Request",
        ),
        case(
            "B1",
            dirs(&[(&port_dir, Some(&http_host), &[])]),
            &app,
            Class::Ok,
            "",
        ),
        Case {
            note: Some("invalid `host` tree"),
            ..case(
                "B1'",
                dirs(&[(
                    &port_dir,
                    Some(&format!("server = \"http://{IP}:5000\"\n")),
                    &[],
                )]),
                &app,
                Class::HttpResponseToHttpsClient,
                https_to_http,
            )
        },
        case(
            "B2",
            dirs(&[(IP, Some(&http_host), &[])]),
            &app,
            Class::HttpResponseToHttpsClient,
            https_to_http,
        ),
        case(
            "B3",
            dirs(&[(&format!("{IP}_5000_"), Some(&http_host), &[])]),
            &app,
            Class::Ok,
            "",
        ),
        case(
            "B5",
            dirs(&[("_default", Some(&http_host), &[])]),
            inv,
            Class::Ok,
            "",
        ),
        case(
            "B6",
            dirs(&[("docker.io", Some(&docker_mirror), &[])]),
            "docker.io/team/app:v1",
            Class::Ok,
            "",
        ),
        case(
            "B6 (hello)",
            dirs(&[("docker.io", Some(&docker_mirror), &[])]),
            "docker.io/library/hello:v1",
            Class::Ok,
            "",
        ),
        case(
            "B6c",
            dirs(&[("docker.io", Some(&docker_mirror), &[])]),
            "docker.io/team/missing:v1",
            Class::NoSuchHost,
            dns_up,
        ),
        case(
            "B7",
            dirs(&[("docker.io", Some(&pull_only), &[])]),
            "docker.io/team/app:v1",
            Class::NoSuchHost,
            dns_up,
        ),
        case(
            "B7b",
            dirs(&[("docker.io", Some(&pull_only), &[])]),
            &format!("docker.io/team/app@{DIGEST}"),
            Class::Ok,
            "",
        ),
        case(
            "B8",
            dirs(&[(
                &tls_dir,
                Some(&format!(
                    "[host.\"https://{IP}:5443\"]\n  ca = \"{ROOT}/{IP}:5443/ca.crt\"\n"
                )),
                &[],
            )]),
            &tls,
            Class::Ok,
            "",
        ),
        case(
            "B9",
            dirs(&[(
                &tls_dir,
                Some(&format!(
                    "[host.\"https://{IP}:5443\"]\n  skip_verify = true\n"
                )),
                &[],
            )]),
            &tls,
            Class::Ok,
            "",
        ),
        case(
            "B10",
            dirs(&[(
                &port_dir,
                Some(&format!("[host.\"https://{IP}:5000\"]\n")),
                &[],
            )]),
            &app,
            Class::HttpResponseToHttpsClient,
            https_to_http,
        ),
        case(
            "B11",
            dirs(&[(
                &tls_dir,
                Some(&format!("[host.\"http://{IP}:5443\"]\n")),
                &[],
            )]),
            &tls,
            Class::Status(400),
            &format!(
                "pulling from host {IP}:5443 failed with status code [manifests v1]: 400 Bad Request"
            ),
        ),
        Case {
            note: Some("failed to decode hosts.toml"),
            ..case(
                "B12",
                dirs(&[(
                    &port_dir,
                    Some(&format!(
                        "server = \"http://{IP}:5000\n[host.\"http://{IP}:5000\"]\n"
                    )),
                    &[],
                )]),
                &app,
                Class::HttpResponseToHttpsClient,
                https_to_http,
            )
        },
        Case {
            note: Some("invalid `host` tree"),
            ..case(
                "B13",
                dirs(&[(
                    &tls_dir,
                    Some(&format!("server = \"https://{IP}:5443\"\n")),
                    &["ca.crt"],
                )]),
                &tls,
                Class::Ok,
                "",
            )
        },
        case(
            "B14",
            dirs(&[(&tls_dir, None, &["myca.crt"])]),
            &tls,
            Class::Ok,
            "",
        ),
        case(
            "B15",
            dirs(&[(
                &port_dir,
                Some(&format!(
                    "server = \"http://{IP}:5000\"\n[host.\"http://127.0.0.1:5999\"]\n"
                )),
                &[],
            )]),
            &app,
            Class::Ok,
            "",
        ),
        case(
            "B16",
            dirs(&[(
                "registry.example.invalid",
                Some(&format!(
                    "[host.\"http://{IP}:5000/v2/mirror\"]\n  override_path = true\n"
                )),
                &[],
            )]),
            inv,
            Class::NoSuchHost,
            dns_inv,
        ),
        case(
            "B17",
            dirs(&[("Registry.Example.Invalid", Some(&http_host), &[])]),
            inv,
            Class::NoSuchHost,
            dns_inv,
        ),
        case(
            "N1",
            dirs(&[("registry.example.invalid", Some(&mirror_of(8081)), &[])]),
            inv,
            Class::Status(401),
            &format!(
                "pulling from host {IP}:8081 failed with status code [manifests v1]: 401 Unauthorized"
            ),
        ),
        case(
            "N2",
            dirs(&[("registry.example.invalid", Some(&mirror_of(8082)), &[])]),
            inv,
            Class::ConnectionRefused,
            &format!("dial tcp {IP}:8443: connect: connection refused"),
        ),
        case(
            "N3",
            dirs(&[("registry.example.invalid", Some(&mirror_of(8083)), &[])]),
            inv,
            Class::UnexpectedMediaType,
            "unexpected media type text/html for sha256:",
        ),
        case(
            "N4",
            dirs(&[("registry.example.invalid", Some(&mirror_of(8084)), &[])]),
            inv,
            Class::Status(502),
            &format!(
                "pulling from host {IP}:8084 failed with status code [manifests v1]: 502 Bad Gateway"
            ),
        ),
        // CRI runs in config_path mode.
        case(
            "CRI hello",
            dirs(&[("docker.io", Some(&docker_mirror), &[])]),
            "hello",
            Class::NoSuchHost,
            dns_up,
        ),
        case(
            "CRI team/app",
            dirs(&[("docker.io", Some(&docker_mirror), &[])]),
            "team/app:v1",
            Class::Ok,
            "",
        ),
    ];
    let endpoint = format!("http://{IP}:5000");
    let ep: &[&str] = &[&endpoint];
    out.extend([
        case("L1", legacy(&[("docker.io", ep)]), "team/app:v1", Class::Ok, ""),
        case("L2", legacy(&[("*", ep)]), inv, Class::Ok, ""),
        case("L3", legacy(&[("*", ep)]), &app, Class::Ok, ""),
        case("L4", legacy(&[("noscheme.example.invalid", &[&format!("{IP}:5000")])]), "noscheme.example.invalid/team/app:v1",
            Class::HttpResponseToHttpsClient,
            &format!("Head \"https://{IP}:5000/v2/team/app/manifests/v1?ns=noscheme.example.invalid\": {https_to_http}")),
        case("L5", legacy(&[(IP, ep)]), &app, Class::HttpResponseToHttpsClient, https_to_http),
        case("L6", NodeRegistry { config_path: vec![ROOT.into()], ..legacy(&[("docker.io", ep)]) }, "team/app:v1",
            Class::CriPluginNotLoaded, "unknown service runtime.v1.ImageService"),
    ]);
    out
}

#[test]
fn the_observed_pull_matrix() {
    let world = world();
    let mut failures = Vec::new();
    let all = cases();
    for c in &all {
        let r = parse(&c.reference).expect(c.id);
        let plan = plan(&c.reg, V1620, &r, &c.flags);
        let p = predict(&plan, &r, &world);
        let note_ok = c
            .note
            .is_none_or(|n| plan.notes.iter().any(|l| l.contains(n)));
        if p.class != c.class || !p.message.contains(&c.observed) || !note_ok {
            failures.push(format!(
                "{}: predicted {:?} {:?} (notes {:?}), observed {:?} {:?} (note {:?}); tried {:?}",
                c.id, p.class, p.message, plan.notes, c.class, c.observed, c.note, p.tried
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn mirrors_carry_the_namespace_and_kubelet_sees_the_cri_prefix() {
    let r = parse("noscheme.example.invalid/team/app:v1").unwrap();
    let reg = legacy(&[("noscheme.example.invalid", &["192.0.2.10:5000"])]);
    let p = predict(
        &plan(&reg, V1620, &r, &ClientFlags::default()),
        &r,
        &world(),
    );
    assert!(p.kubelet_message(&r).starts_with(
        "rpc error: code = Unknown desc = failed to pull and unpack image \"noscheme.example.invalid/team/app:v1\": failed to resolve reference \"noscheme.example.invalid/team/app:v1\": failed to do request: Head"
    ), "{}", p.kubelet_message(&r));
}

#[test]
fn the_assumed_behaviour_names_the_version_gates() {
    let old = assumed_behaviour(V1620);
    assert!(
        old.starts_with("containerd 1.6.20: localhost and loopback hosts are plain HTTP"),
        "{old}"
    );
    assert!(old.contains("rejected (before 1.7.32)"), "{old}");
    let new = assumed_behaviour(Some((1, 7, 32)));
    assert!(
        new.contains("try HTTPS first") && new.contains("only `server` is used"),
        "{new}"
    );
}

#[test]
fn newer_containerd_quirks() {
    let world = world();
    let new = Some((1, 7, 32));
    // Server-only hosts.toml works from 1.7.32.
    let r = parse("192.0.2.10:5000/team/app:v1").unwrap();
    let reg = dirs(&[(
        "192.0.2.10:5000",
        Some("server = \"http://192.0.2.10:5000\"\n"),
        &[],
    )]);
    let pl = plan(&reg, new, &r, &ClientFlags::default());
    assert!(pl.notes.is_empty(), "{:?}", pl.notes);
    assert!(predict(&pl, &r, &world).ok());
    // Loopback TLS on an odd port: HTTPS first with skip-verify from 1.7.8.
    let r = parse("127.0.0.1:5443/tls/app:v1").unwrap();
    assert!(
        predict(
            &plan(&dirs(&[]), new, &r, &ClientFlags::default()),
            &r,
            &world
        )
        .ok()
    );
    // Loopback plain HTTP: HTTPS fails, HTTP fallback succeeds.
    let r = parse("127.0.0.1:5000/team/app:v1").unwrap();
    assert!(
        predict(
            &plan(&dirs(&[]), new, &r, &ClientFlags::default()),
            &r,
            &world
        )
        .ok()
    );
    // An http:// host with TLS settings tries HTTPS first; against a plain registry, the fallback serves it.
    let r = parse("192.0.2.10:5000/team/app:v1").unwrap();
    let reg = dirs(&[(
        "192.0.2.10:5000",
        Some("[host.\"http://192.0.2.10:5000\"]\n  skip_verify = true\n"),
        &[],
    )]);
    let pl = plan(&reg, new, &r, &ClientFlags::default());
    assert!(pl.endpoints[0].https_then_http);
    assert!(predict(&pl, &r, &world).ok());
}

/// k3s `rewrite`: registries.yaml rules rendered into the mirror's hosts.toml change the repository asked
/// of that mirror only (k3s's containerd; the rules are not in the pull matrix, which upstream containerd
/// observed).
#[test]
fn k3s_rewrite_rules_change_the_repository_asked_of_the_mirror() {
    let mirror = |images: &[&str]| {
        let mut world = World::default();
        world.listeners.insert(
            "mirror.test:5000".into(),
            Listener {
                proto: Proto::Http,
                behavior: registry(images),
            },
        );
        world
    };
    let yaml = |rewrite: &str| {
        crate::containerd::config::parse_registries_yaml(&format!(
            "mirrors:\n  registry.local:32000:\n    endpoint:\n      - \"http://mirror.test:5000\"\n{rewrite}"
        ))
        .unwrap()
    };
    let k3s = Some((1, 32, 3));
    let r = parse("registry.local:32000/team/app:v1").unwrap();
    let rewritten = yaml("    rewrite:\n      \"^team/(.*)\": \"mirrored/team/$1\"\n");
    let rendered = crate::containerd::config::render_k3s(Some(&rewritten), k3s);
    let text = rendered
        .dirs
        .values()
        .next()
        .unwrap()
        .hosts_toml
        .clone()
        .unwrap();
    assert!(
        text.contains("[host.\"http://mirror.test:5000/v2\".rewrite]")
            && text.contains("\"^team/(.*)\" = \"mirrored/team/$1\""),
        "{text}"
    );
    let pl = plan(&rendered, Some((2, 0, 4)), &r, &ClientFlags::default());
    assert_eq!(pl.endpoints[0].rewrite.len(), 1);
    // The mirror serves the rewritten repository: found there.
    let p = predict(&pl, &r, &mirror(&["mirrored/team/app:v1"]));
    assert!(p.ok(), "{p:?}");
    // Without the rule the mirror is asked for team/app, answers 404, and the upstream does not exist.
    let plain = crate::containerd::config::render_k3s(Some(&yaml("")), k3s);
    let pl = plan(&plain, Some((2, 0, 4)), &r, &ClientFlags::default());
    let p = predict(&pl, &r, &mirror(&["mirrored/team/app:v1"]));
    assert!(!p.ok(), "{p:?}");
    // A rule that does not match leaves the repository as it is.
    let other = crate::containerd::config::render_k3s(
        Some(&yaml("    rewrite:\n      \"^library/(.*)\": \"x/$1\"\n")),
        k3s,
    );
    let pl = plan(&other, Some((2, 0, 4)), &r, &ClientFlags::default());
    assert!(predict(&pl, &r, &mirror(&["team/app:v1"])).ok());
}
