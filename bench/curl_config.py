#!/usr/bin/env python3
"""Turns a minified kubeconfig (`kubectl config view --raw --minify -o json`) into a curl config file: the
CA, and a bearer token or a client certificate, written as files under DIR. Prints the config; its first
line, `# server URL`, names the API server."""

import base64
import json
import os
import sys


def main():
    cfg = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    cluster = cfg["clusters"][0]["cluster"]
    user = cfg["users"][0]["user"]
    lines = [f"# server {cluster['server'].rstrip('/')}", "silent", "show-error"]

    def material(key, name):
        if key + "-data" in user or key + "-data" in cluster:
            data = user.get(key + "-data") or cluster.get(key + "-data")
            path = os.path.join(out, name)
            with open(path, "wb") as f:
                f.write(base64.b64decode(data))
            os.chmod(path, 0o600)
            return path
        return user.get(key) or cluster.get(key)

    ca = material("certificate-authority", "ca.crt")
    if ca:
        lines.append(f'cacert = "{ca}"')
    if cluster.get("insecure-skip-tls-verify"):
        lines.append("insecure")
    if user.get("token"):
        lines.append(f'header = "Authorization: Bearer {user["token"]}"')
    cert = material("client-certificate", "client.crt")
    key = material("client-key", "client.key")
    if cert and key:
        lines += [f'cert = "{cert}"', f'key = "{key}"']
    print("\n".join(lines))


if __name__ == "__main__":
    main()
