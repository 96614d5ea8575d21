#!/usr/bin/env python3
"""Turns a minified kubeconfig (`kubectl config view --raw --minify -o json`) into a curl config file: the
CA, and a bearer token or a client certificate, written as files under DIR. Prints the config; its first
line, `# server URL`, names the API server."""

import base64
import json
import os
import sys


def material(holder, key, path):
    """The file a kubeconfig entry (cluster or user) names for `key`: its `key` path, or its `key-data`
    written to `path` (private); None when it has neither. Also used by counting_proxy.py."""
    if holder.get(key + "-data"):
        with open(path, "wb") as f:
            f.write(base64.b64decode(holder[key + "-data"]))
        os.chmod(path, 0o600)
        return path
    return holder.get(key)


def main():
    cfg = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    cluster = cfg["clusters"][0]["cluster"]
    user = cfg["users"][0]["user"]
    lines = [f"# server {cluster['server'].rstrip('/')}", "silent", "show-error"]

    ca = material(cluster, "certificate-authority", os.path.join(out, "ca.crt"))
    if ca:
        lines.append(f'cacert = "{ca}"')
    if cluster.get("insecure-skip-tls-verify"):
        lines.append("insecure")
    if user.get("token"):
        lines.append(f'header = "Authorization: Bearer {user["token"]}"')
    cert = material(user, "client-certificate", os.path.join(out, "client.crt"))
    key = material(user, "client-key", os.path.join(out, "client.key"))
    if cert and key:
        lines += [f'cert = "{cert}"', f'key = "{key}"']
    print("\n".join(lines))


if __name__ == "__main__":
    main()
