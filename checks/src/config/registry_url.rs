//! Registry URL helpers shared by the config checks and the containerd checks: how setup splits a registry
//! URL into host and port, and its rule for what counts as a dev-only registry (`isDevRegistryURL`).

use std::net::IpAddr;

/// A registry URL or image-host prefix split the way image references use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAddress {
    /// `http` or `https` when the value carried a scheme (image references never do).
    pub scheme: Option<String>,
    /// Lower-cased host without brackets, port, path or trailing dot.
    pub host: String,
    pub port: Option<u16>,
    /// Repository path after the host (`mcp-runtime` in `registry.example.com/mcp-runtime`), if any.
    pub path: Option<String>,
}

impl RegistryAddress {
    /// Splits `[scheme://]host[:port][/path]`; IPv6 literals are accepted in brackets (`[fd00::1]:5000`).
    pub fn parse(raw: &str) -> RegistryAddress {
        let s = raw.trim();
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, s),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (
                a,
                Some(p.trim_matches('/').to_string()).filter(|p| !p.is_empty()),
            ),
            None => (rest, None),
        };
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            match inner.split_once(']') {
                Some((h, after)) => (h, after.strip_prefix(':').and_then(|p| p.parse().ok())),
                None => (inner, None),
            }
        } else if authority.matches(':').count() == 1 {
            let (h, p) = authority.split_once(':').unwrap_or((authority, ""));
            (h, p.parse().ok())
        } else {
            // No port, or a bare IPv6 literal.
            (authority, None)
        };
        RegistryAddress {
            scheme,
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
            path,
        }
    }

    /// `host[:port]`, the form containerd matches mirrors against.
    pub fn host_port(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }

    pub fn is_ip_literal(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }
}

/// Setup's dev-only registry rule: empty, `http://…`, `localhost`, `registry.local`, any `*.local` (which
/// includes `*.svc.cluster.local`), or an IP literal. `--strict-prod` rejects such a registry; without it
/// setup only warns.
pub fn is_dev_registry_url(raw: &str) -> bool {
    dev_reason(raw).is_some()
}

/// Why a registry URL is dev-only, as a phrase for messages; None when it is not.
pub fn dev_reason(raw: &str) -> Option<&'static str> {
    if raw.trim().is_empty() {
        return Some("it is empty");
    }
    let addr = RegistryAddress::parse(raw);
    if addr.scheme.as_deref() == Some("http") {
        return Some("it uses plain http://");
    }
    if addr.host.is_empty() {
        return Some("it has no host");
    }
    if addr.host == "localhost" || addr.host.ends_with(".localhost") {
        return Some("it is localhost");
    }
    if addr.host.ends_with(".svc.cluster.local") {
        return Some("it is an in-cluster service name (*.svc.cluster.local)");
    }
    if addr.host == "registry.local" || addr.host.ends_with(".local") {
        return Some("it is a .local name");
    }
    if addr.is_ip_literal() {
        return Some("it is an IP address");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_like_urls_are_recognised() {
        for dev in [
            "",
            "http://registry.example.com",
            "localhost:5000",
            "registry.local",
            "registry.local:5000/mcp",
            "foo.local",
            "registry.registry.svc.cluster.local:5000",
            "10.43.12.7:5000",
            "https://10.43.12.7:5000/x",
            "[fd00::1]:5000",
            "fd00::1",
        ] {
            assert!(is_dev_registry_url(dev), "{dev:?} should be dev-like");
        }
        for prod in [
            "registry.example.com",
            "https://registry.example.com/mcp-runtime",
            "ghcr.io/acme",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        ] {
            assert!(
                !is_dev_registry_url(prod),
                "{prod:?} should not be dev-like"
            );
        }
    }

    #[test]
    fn parse_splits_scheme_host_port_path() {
        let a = RegistryAddress::parse(" HTTPS://Registry.Example.com:443/mcp-runtime/ ");
        assert_eq!(a.scheme.as_deref(), Some("https"));
        assert_eq!(a.host, "registry.example.com");
        assert_eq!(a.port, Some(443));
        assert_eq!(a.path.as_deref(), Some("mcp-runtime"));
        assert_eq!(a.host_port(), "registry.example.com:443");
        let v6 = RegistryAddress::parse("[fd00::1]:5000");
        assert_eq!((v6.host.as_str(), v6.port), ("fd00::1", Some(5000)));
        assert_eq!(v6.host_port(), "[fd00::1]:5000");
        assert!(v6.is_ip_literal());
    }
}
