//! nginx as a single process (`daemon off; master_process off`, so no worker outlives its PID) whose files
//! all live in the test's directory, playing front doors (Traefik, proxies, guards). Ports 80 and 443 on
//! 127.0.0.x need root.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use crate::{Peer, is_root};

/// Traefik's answer when no router matches: Go's `http.NotFound`, `404 page not found\n` in
/// `text/plain; charset=utf-8`. An nginx `location` body.
pub const TRAEFIK_404: &str =
    r#"default_type "text/plain; charset=utf-8"; return 404 "404 page not found\n";"#;

/// A whole nginx.conf around `servers` (the `server { ... }` blocks and directives of the `http` context):
/// every path under `dir`, `{dir}` in `servers` replaced by it; `dir/www` exists for a `root`, and the
/// cache zone `front` for a caching proxy.
fn nginx_conf(dir: &Path, servers: &str) -> String {
    let d = dir.display().to_string();
    for sub in ["tmp", "cache", "www"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // Workers of a root nginx would switch to `nobody`, who cannot read the temporary directory.
    let user = if is_root() { "user root;" } else { "" };
    let servers = servers.replace("{dir}", &d);
    format!(
        "daemon off;
master_process off;
{user}
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    server_tokens off;
    default_type text/plain;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    proxy_cache_path {d}/cache keys_zone=front:1m;
{servers}
}}
"
    )
}

/// Writes [`nginx_conf`] into `dir`, starts nginx (`bin`) on it and returns once every address in
/// `listening` accepts connections; panics with its logs when it does not.
pub fn start_nginx(bin: &Path, dir: &Path, servers: &str, listening: &[SocketAddr]) -> Peer {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir, servers)).unwrap();
    let error_log = dir.join("error.log");
    let mut nginx = Peer::start(
        "nginx",
        Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(&error_log)
            .arg("-c")
            .arg(&conf),
        &dir.join("nginx.out"),
    )
    .with_log(error_log);
    nginx
        .wait_listening(listening)
        .unwrap_or_else(|e| panic!("{e}"));
    nginx
}
