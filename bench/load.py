#!/usr/bin/env python3
"""Splits a generated fixture (bench/generate.py) into `kind: List` files of at most 500 objects, ready for
`kubectl apply --server-side` into a real API server: namespaces first, then nodes, then namespaced kinds.
Server-owned fields (uid, resourceVersion, creationTimestamp, managedFields, status) are dropped; the
server writes its own."""

import json
import os
import sys

ORDER = [
    "namespaces/_cluster.json",
    "nodes/_cluster.json",
    "services/_all.json",
    "deployments.apps/_all.json",
    "mcpservers.mcpruntime.org/_all.json",
    "pods/_all.json",
    "events/_all.json",
]
BATCH = 500


def main():
    fixture, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    n = 0
    for rel in ORDER:
        listed = json.load(open(os.path.join(fixture, "cluster", rel)))
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
        for start in range(0, len(items), BATCH):
            n += 1
            with open(os.path.join(out, f"{n:05d}.json"), "w") as f:
                json.dump({"apiVersion": "v1", "kind": "List", "items": items[start:start + BATCH]}, f)


if __name__ == "__main__":
    main()
