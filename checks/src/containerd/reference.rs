//! Image references parsed and normalised by the distribution/reference rules (`normalize.go`,
//! `reference.go`): `docker.io/library` defaults, host detection by `.`, `:`, `localhost` or an uppercase
//! letter, ports, tags, digests. A small parser: the Rust crates that parse references either pull in a
//! whole registry client or do not apply the `library/` and host rules exactly.

use std::fmt;

/// A normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host as written (with `:port`), `docker.io` for Docker Hub.
    pub domain: String,
    /// The repository path, e.g. `library/ubuntu`.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError(pub String);

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ImageRef {
    /// The object a manifest request names: the digest when there is one, else the tag.
    pub fn object(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
    pub fn is_digest(&self) -> bool {
        self.digest.is_some()
    }
    /// The registry host without a port.
    pub fn hostname(&self) -> &str {
        split_port(&self.domain).0
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `host:port` → (`host`, Some(`port`)); `[::1]:5000` → (`[::1]`, Some(`5000`)).
pub fn split_port(hostport: &str) -> (&str, Option<&str>) {
    if let Some(rest) = hostport.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let host = &hostport[..end + 2];
            let after = &hostport[end + 2..];
            return (host, after.strip_prefix(':'));
        }
        return (hostport, None);
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (hostport, None),
    }
}

/// `localhost` or a loopback IP literal (containerd's `IsLocalhost`; the port is ignored).
pub fn is_localhost(hostport: &str) -> bool {
    let host = split_port(hostport).0;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn is_component(c: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok || sep.is_empty() {
            return false;
        }
    }
    true
}

fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn is_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    !alg.is_empty()
        && alg.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'+' | b'.' | b'_' | b'-')
        })
        && hex.len() >= 32
        && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

fn is_domain(d: &str) -> bool {
    let (host, port) = split_port(d);
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    if host.starts_with('[') {
        return host.ends_with(']')
            && host[1..host.len() - 1]
                .parse::<std::net::Ipv6Addr>()
                .is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Parse and normalise a reference the way the kubelet and containerd do (`ParseDockerRef`): the default
/// tag `latest` is added only when there is neither a tag nor a digest.
pub fn parse(raw: &str) -> Result<ImageRef, RefError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(RefError("invalid reference format: empty".into()));
    }
    if s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    {
        return Err(RefError(format!(
            "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
        )));
    }
    let (rest, digest) = match s.split_once('@') {
        Some((n, d)) => {
            if !is_digest(d) {
                return Err(RefError(format!(
                    "invalid reference format: bad digest {d:?}"
                )));
            }
            (n, Some(d.to_string()))
        }
        None => (s, None),
    };
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let t = &rest[last_slash + i + 1..];
            if !is_tag(t) {
                return Err(RefError(format!("invalid reference format: bad tag {t:?}")));
            }
            (&rest[..last_slash + i], Some(t.to_string()))
        }
        None => (rest, None),
    };
    let (mut domain, mut path) = match name.split_once('/') {
        Some((first, remainder))
            if first == "localhost"
                || first.contains('.')
                || first.contains(':')
                || first.bytes().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_string(), remainder.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if domain == "docker.io" && !path.contains('/') {
        path = format!("library/{path}");
    }
    if !is_domain(&domain) {
        return Err(RefError(format!(
            "invalid reference format: bad registry host {domain:?}"
        )));
    }
    if path.split('/').any(|c| !is_component(c)) {
        let why = if path.bytes().any(|c| c.is_ascii_uppercase()) {
            "repository name must be lowercase"
        } else {
            "invalid reference format"
        };
        return Err(RefError(format!("{why}: {raw:?}")));
    }
    let tag = if tag.is_none() && digest.is_none() {
        Some("latest".to_string())
    } else {
        tag
    };
    Ok(ImageRef {
        domain,
        path,
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn normalises_by_the_distribution_rules() {
        let cases = [
            ("ubuntu", "docker.io/library/ubuntu:latest"),
            ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
            ("hello", "docker.io/library/hello:latest"),
            ("team/app:v1", "docker.io/team/app:v1"),
            ("docker.io/ubuntu", "docker.io/library/ubuntu:latest"),
            ("index.docker.io/team/app", "docker.io/team/app:latest"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/team/app:v1", "localhost:5000/team/app:v1"),
            ("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1"),
            ("[::1]:5000/app", "[::1]:5000/app:latest"),
            ("myreg:5000/app", "myreg:5000/app:latest"),
            ("example.com/app", "example.com/app:latest"),
            (
                "registry.local:32000/mcp/server:1.2",
                "registry.local:32000/mcp/server:1.2",
            ),
            ("Registry.Example/app", "Registry.Example/app:latest"),
            ("ghcr.io/app", "ghcr.io/app:latest"),
            ("registry.local/app", "registry.local/app:latest"),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw).expect(raw).to_string(), want, "{raw}");
        }
    }

    #[test]
    fn digests_keep_no_default_tag_and_both_are_kept() {
        let r = parse(&format!("team/app@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.object(), D);
        let r = parse(&format!("team/app:v1@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.object(), D);
    }

    #[test]
    fn rejects_malformed_references() {
        for raw in [
            "",
            "team/App",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "app@sha256:abc",
            "app:-bad",
            "a//b",
            "registry.local:port/app",
            "app:",
        ] {
            assert!(parse(raw).is_err(), "{raw:?} should be rejected");
        }
    }

    #[test]
    fn localhost_and_ports() {
        assert!(is_localhost("127.0.0.1:5000"));
        assert!(is_localhost("localhost"));
        assert!(is_localhost("[::1]:5000"));
        assert!(!is_localhost("registry.local:32000"));
        assert_eq!(
            split_port("registry.local:32000"),
            ("registry.local", Some("32000"))
        );
        assert_eq!(split_port("[::1]:5000"), ("[::1]", Some("5000")));
    }
}
