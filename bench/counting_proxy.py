#!/usr/bin/env python3
"""Puts an nginx in front of a real API server so that bench/scale.sh can count what each phase asks of it
(a real server's own request log is out of reach): reads a minified kubeconfig
(`kubectl config view --raw --minify -o json`), and writes under DIR an nginx.conf that listens on
127.0.0.1:PORT with a certificate of its own, forwards every request to the server (presenting the user's
client certificate when the kubeconfig has one; a bearer token or an exec plugin's passes through as the
Authorization header), streams answers unbuffered, and logs one line per request,
`<unix seconds.ms> <method> <path>[?query] <status> <body bytes sent>`, to DIR/access.log; and a kubeconfig,
DIR/kubeconfig, for the same user through the proxy.

    counting_proxy.py KUBECONFIG_JSON DIR PORT
"""

import base64
import json
import os
import subprocess
import sys
import urllib.parse

from curl_config import material

SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"


def main():
    cfg = json.load(open(sys.argv[1]))
    out, port = sys.argv[2], int(sys.argv[3])
    os.makedirs(os.path.join(out, "tmp"), exist_ok=True)
    cluster = cfg["clusters"][0]["cluster"]
    user = cfg["users"][0]["user"]
    upstream = cluster["server"].rstrip("/")
    host = urllib.parse.urlsplit(upstream).hostname

    # The proxy's certificate, for 127.0.0.1, from a CA of its own (rustls refuses a CA certificate as a leaf).
    ca_crt, ca_key = os.path.join(out, "proxy-ca.crt"), os.path.join(out, "proxy-ca.key")
    crt, key, csr = (os.path.join(out, f) for f in ("proxy.crt", "proxy.key", "proxy.csr"))
    ext = os.path.join(out, "proxy.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n")
    for command in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mcp-doctor-bench-proxy-ca",
         "-keyout", ca_key, "-out", ca_crt],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=mcp-doctor-bench-proxy", "-keyout", key,
         "-out", csr],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
         "-extfile", ext, "-out", crt],
    ):
        subprocess.run(command, check=True, capture_output=True)

    upstream_tls = []
    if cluster.get("insecure-skip-tls-verify"):
        upstream_tls.append("proxy_ssl_verify off;")
    else:
        ca = material(cluster, "certificate-authority", os.path.join(out, "upstream-ca.crt")) or SYSTEM_CAS
        upstream_tls += ["proxy_ssl_verify on;", f"proxy_ssl_trusted_certificate {ca};", "proxy_ssl_verify_depth 4;"]
    # nginx checks the upstream's certificate against a DNS name only, never an IP address: a server addressed
    # by IP is checked against `kubernetes`, a name every kube-apiserver serving certificate carries.
    is_ip = host.replace(".", "").isdigit() or ":" in host
    name = cluster.get("tls-server-name") or ("kubernetes" if is_ip else host)
    upstream_tls += [f"proxy_ssl_name {name};", "proxy_ssl_server_name on;"]
    client_crt = material(user, "client-certificate", os.path.join(out, "client.crt"))
    client_key = material(user, "client-key", os.path.join(out, "client.key"))
    if client_crt and client_key:
        upstream_tls += [f"proxy_ssl_certificate {client_crt};", f"proxy_ssl_certificate_key {client_key};"]

    d = out
    upstream_directives = "\n            ".join(upstream_tls)
    # Workers of a root nginx would switch to `nobody`, who cannot read DIR; one process, so its PID is all.
    conf = f"""daemon off;
master_process off;
{"user root;" if os.geteuid() == 0 else ""}
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    log_format counted '$msec $request_method $request_uri $status $body_bytes_sent';
    access_log {d}/access.log counted;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    upstream apiserver {{
        server {urllib.parse.urlsplit(upstream).netloc};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {crt};
        ssl_certificate_key {key};
        client_max_body_size 64m;
        location / {{
            proxy_pass https://apiserver;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host {urllib.parse.urlsplit(upstream).netloc};
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
            {upstream_directives}
        }}
    }}
}}
"""
    with open(os.path.join(out, "nginx.conf"), "w") as f:
        f.write(conf)

    with open(ca_crt, "rb") as f:
        proxy_ca = base64.b64encode(f.read()).decode()
    proxied_user = {k: v for k, v in user.items() if not k.startswith("client-")}
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "through-proxy", "cluster": {
            "server": f"https://127.0.0.1:{port}", "certificate-authority-data": proxy_ca}}],
        "users": [{"name": "bench", "user": proxied_user}],
        "contexts": [{"name": "through-proxy", "context": {"cluster": "through-proxy", "user": "bench"}}],
        "current-context": "through-proxy",
    }
    with open(os.path.join(out, "kubeconfig"), "w") as f:
        json.dump(kubeconfig, f)
    os.chmod(os.path.join(out, "kubeconfig"), 0o600)


if __name__ == "__main__":
    main()
