#!/usr/bin/env python3
"""Splits a generated fixture (bench/generate.py) into `kind: List` files of at most 500 objects, ready for
`kubectl apply --server-side` into a real API server: namespaces first, then nodes, then namespaced kinds.
Server-owned fields (uid, resourceVersion, creationTimestamp, managedFields, status) are dropped; the
server writes its own. The MCPServer CustomResourceDefinition goes to a file of its own, `crd.json`, for
bench/scale.sh to create (when the server lacks it) and wait for before the MCPServers."""

import json
import os
import sys

ORDER = [
    "namespaces/_cluster.json",
    "nodes/_cluster.json",
    "services/_all.json",
    "deployments.apps/_all.json",
    "ingresses.networking.k8s.io/_all.json",
    "mcpservers.mcpruntime.org/_all.json",
    "pods/_all.json",
    "events/_all.json",
]
BATCH = 500


CRDS = "customresourcedefinitions.apiextensions.k8s.io/_cluster.json"
MCPSERVER_CRD = "mcpservers.mcpruntime.org"


def applicable(listed):
    """The list's items as objects to apply: typed, and without the fields the server owns."""
    api_version = listed["apiVersion"]
    kind = listed["kind"][: -len("List")]
    items = []
    for item in listed["items"]:
        item = dict(item)
        item.setdefault("apiVersion", api_version)
        item.setdefault("kind", kind)
        item.pop("status", None)
        meta = dict(item["metadata"])
        for field in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
            meta.pop(field, None)
        item["metadata"] = meta
        if kind == "Service":
            item["spec"] = {k: v for k, v in item["spec"].items() if k not in ("clusterIP", "clusterIPs")}
        items.append(item)
    return items


def main():
    fixture, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    crds = applicable(json.load(open(os.path.join(fixture, "cluster", CRDS))))
    with open(os.path.join(out, "crd.json"), "w") as f:
        json.dump(next(c for c in crds if c["metadata"]["name"] == MCPSERVER_CRD), f)
    n = 0
    for rel in ORDER:
        items = applicable(json.load(open(os.path.join(fixture, "cluster", rel))))
        for start in range(0, len(items), BATCH):
            n += 1
            with open(os.path.join(out, f"{n:05d}.json"), "w") as f:
                json.dump({"apiVersion": "v1", "kind": "List", "items": items[start:start + BATCH]}, f)


if __name__ == "__main__":
    main()
