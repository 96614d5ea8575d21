#!/usr/bin/env python3
"""Seeds each fuzz target's corpus (the folder given, default `corpus`) with the real files of the fixtures:
registries.yaml, hosts.toml and config.toml as the nodes' host facts hold them, the k3s/kubeadm kubeconfigs
of those facts, config.env and manifest.json of every scenario, the images the fixtures' pods run, and a
small scenario packed as a bundle .tar.gz. Idempotent: a seed is named by the hash of its bytes."""
import glob
import hashlib
import io
import json
import os
import sys
import tarfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
corpus = sys.argv[1] if len(sys.argv) > 1 else "corpus"


def seed(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(corpus, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def images(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "image" and isinstance(v, str):
                yield v
            else:
                yield from images(v)
    elif isinstance(value, list):
        for v in value:
            yield from images(v)


fixtures = os.path.join(ROOT, "fixtures")
for facts_file in glob.glob(os.path.join(fixtures, "*", "host", "*.json")):
    with open(facts_file) as f:
        facts = json.load(f)
    for path, fact in facts.get("files", {}).items():
        text = fact.get("content")
        if not text:
            continue
        if path.endswith("registries.yaml"):
            seed("registries_yaml", text)
        elif path.endswith("hosts.toml"):
            seed("hosts_toml", text)
        elif path.endswith("config.toml"):
            seed("containerd_config_toml", text)
        elif path.endswith(("k3s.yaml", "admin.conf")):
            seed("kubeconfig", text)
for env in glob.glob(os.path.join(fixtures, "*", "config.env")):
    seed("env_file", open(env, "rb").read())
for manifest in glob.glob(os.path.join(fixtures, "*", "manifest.json")):
    seed("bundle_manifest", open(manifest, "rb").read())
for pods in glob.glob(os.path.join(fixtures, "*", "cluster", "pods", "**", "*.json"), recursive=True):
    with open(pods) as f:
        for image in set(images(json.load(f))):
            seed("image_reference", image)
# The kubeconfig the fixture API server writes (tests/fixture-apiserver/src/tls.rs).
seed("kubeconfig", 'apiVersion: v1\nkind: Config\nclusters:\n- name: "fixture"\n  cluster:\n'
     '    server: "https://127.0.0.1:6443"\n    certificate-authority: "ca.crt"\nusers:\n'
     '- name: "admin"\n  user:\n    token: "t"\ncontexts:\n- name: "fixture"\n  context:\n'
     '    cluster: "fixture"\n    user: "admin"\ncurrent-context: "fixture"\n')
# A small scenario as `mcp-doctor bundle` packs it: one top-level folder.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as tar:
    tar.add(os.path.join(fixtures, "api-unreachable"), arcname="mcp-doctor-bundle")
seed("bundle_archive", buf.getvalue())
