#!/usr/bin/env python3
"""Writes a big synthetic cluster as a fixture directory for bench/scale.sh.

The base is fixtures/platform-healthy (a healthy MCP Runtime platform on k3s); onto it go, at --scale 1,
5,000 nodes, 150,000 pods in 1,500 unrelated namespaces (plus the platform's), 10,000 services, 20,000
events and 1,000 MCPServers (each with its Deployment, Pod, Service, Ingress and two Events in mcp-servers). Objects
are clones of the scenario's own objects, which follow the v1.32 wire format, given fresh names, uids and
addresses, and carrying `managedFields` as a real server sends them in lists (the scenario leaves them out
for readability; a real list has them and they are a large part of its bytes).
"""

import argparse
import copy
import gc
import json
import os
import shutil
import uuid

BASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "platform-healthy")
PODS_PER_NAMESPACE = 100


def fields_v1(value):
    """The FieldsV1 set a server writes for the fields of `value` (containers keyed by name)."""
    if isinstance(value, dict):
        out = {".": {}} if value else {}
        for key, child in value.items():
            out["f:" + key] = fields_v1(child)
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
        return {
            "k:" + json.dumps({"name": i["name"]}, separators=(",", ":")): fields_v1(i) for i in value
        }
    return {}


def managed(obj, spec_manager, status_manager, time):
    """managedFields as a real server lists them: one Update for metadata/spec, one for the status subresource."""
    meta = {k: v for k, v in obj["metadata"].items() if k in ("labels", "annotations", "ownerReferences")}
    entries = [{
        "manager": spec_manager, "operation": "Update", "apiVersion": "v1", "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": fields_v1(meta), "f:spec": fields_v1(obj.get("spec", {}))},
    }]
    if "status" in obj:
        entries.append({
            "manager": status_manager, "operation": "Update", "apiVersion": "v1", "time": time,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:status": fields_v1(obj["status"])},
            "subresource": "status",
        })
    return entries


def load(rel):
    with open(os.path.join(BASE, "cluster", rel)) as f:
        return json.load(f)


def save(out, rel, listed):
    path = os.path.join(out, "cluster", rel)
    with open(path, "w") as f:
        json.dump(listed, f, separators=(",", ":"))
    return os.path.getsize(path)


class Names:
    """Fresh uids and resourceVersions, deterministic for a given scale."""

    def __init__(self):
        self.n = 100000

    def uid(self):
        self.n += 1
        return str(uuid.UUID(int=self.n))

    def rv(self):
        return str(self.n)


def clone(template, names, name, namespace=None):
    obj = copy.deepcopy(template)
    meta = obj["metadata"]
    meta["name"] = name
    if namespace is not None:
        meta["namespace"] = namespace
    meta["uid"] = names.uid()
    meta["resourceVersion"] = names.rv()
    return obj


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    s = args.scale
    n_nodes = max(1, round(5000 * s))
    n_pods = max(1, round(150000 * s))
    n_services = max(1, round(10000 * s))
    n_events = max(1, round(20000 * s))
    n_servers = max(1, round(1000 * s))
    n_namespaces = max(1, -(-n_pods // PODS_PER_NAMESPACE))

    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    shutil.copytree(BASE, args.out)
    names = Names()
    time = "2026-11-21T10:00:00Z"
    sizes = {}

    # Nodes: the scenario's four, then clones of its workers with their own names and addresses.
    nodes = load("nodes/_cluster.json")
    workers = [n for n in nodes["items"] if "node-role.kubernetes.io/control-plane" not in n["metadata"].get("labels", {})]
    node_names = []
    for i in range(n_nodes):
        name = f"bench-node-{i:05d}"
        node = clone(workers[i % len(workers)], names, name)
        node["metadata"]["labels"]["kubernetes.io/hostname"] = name
        ip = f"10.{64 + i // 65536}.{(i // 256) % 256}.{i % 256}"
        node["status"]["addresses"] = [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]
        node.get("spec", {}).pop("providerID", None)
        node["metadata"]["managedFields"] = managed(node, "k3s", "k3s", time)
        nodes["items"].append(node)
        node_names.append(name)
    sizes["nodes"] = save(args.out, "nodes/_cluster.json", nodes)

    # Namespaces: the platform's, then unrelated team namespaces.
    namespaces = load("namespaces/_cluster.json")
    ns_template = next(n for n in namespaces["items"] if n["metadata"]["name"] == "mcp-servers")
    teams = [f"team-{i:04d}" for i in range(n_namespaces)]
    for team in teams:
        ns = clone(ns_template, names, team)
        ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": team}
        ns["metadata"]["managedFields"] = managed(ns, "kubectl-create", "kubectl-create", time)
        namespaces["items"].append(ns)
    sizes["namespaces"] = save(args.out, "namespaces/_cluster.json", namespaces)

    # MCPServers, each with the Deployment, Pod, Service and Events its operator and kubelet would make.
    servers = load("mcpservers.mcpruntime.org/_all.json")
    deployments = load("deployments.apps/_all.json")
    pods = load("pods/_all.json")
    services = load("services/_all.json")
    ingresses = load("ingresses.networking.k8s.io/_all.json")
    events = {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}
    events_base = os.path.join(BASE, "..", "platform-image-pull-causes", "cluster", "events", "_all.json")
    with open(events_base) as f:
        event_template = next(e for e in json.load(f)["items"] if e["type"] == "Normal")

    def event(namespace, pod, reason, message, node):
        e = clone(event_template, names, f"{pod['metadata']['name']}.{names.n:016x}", namespace)
        e["involvedObject"].update(namespace=namespace, name=pod["metadata"]["name"], uid=pod["metadata"]["uid"])
        e.update(reason=reason, message=message, source={"component": "kubelet", "host": node}, reportingInstance=node)
        return e

    server_t = servers["items"][0]
    dep_t = next(d for d in deployments["items"] if d["metadata"]["name"] == server_t["metadata"]["name"])
    pod_t = next(p for p in pods["items"] if p["metadata"]["namespace"] == "mcp-servers")
    svc_t = next(v for v in services["items"] if v["metadata"]["namespace"] == "mcp-servers")
    ing_t = next(i for i in ingresses["items"] if i["metadata"]["name"] == server_t["metadata"]["name"])
    for i in range(n_servers):
        name = f"tool-{i:04d}"
        srv = clone(server_t, names, name)
        srv["spec"]["publicPathPrefix"] = name
        servers["items"].append(srv)
        dep = clone(dep_t, names, name)
        dep["metadata"]["managedFields"] = managed(dep, "mcp-runtime-operator", "k3s", time)
        deployments["items"].append(dep)
        node = node_names[i % len(node_names)]
        pod = clone(pod_t, names, f"{name}-6c8f7d9b5-{i:05x}")
        pod["spec"]["nodeName"] = node
        pod["metadata"]["managedFields"] = managed(pod, "k3s", "k3s", time)
        pods["items"].append(pod)
        svc = clone(svc_t, names, name)
        svc["metadata"]["managedFields"] = managed(svc, "mcp-runtime-operator", "k3s", time)
        services["items"].append(svc)
        ing = clone(ing_t, names, name)
        ing["metadata"]["labels"]["app"] = name
        path = ing["spec"]["rules"][0]["http"]["paths"][0]
        path["path"] = f"/{name}"
        path["backend"]["service"]["name"] = name
        ing["metadata"]["managedFields"] = managed(ing, "mcp-runtime-operator", "traefik", time)
        ingresses["items"].append(ing)
        events["items"].append(event("mcp-servers", pod, "Scheduled", f"Successfully assigned mcp-servers/{pod['metadata']['name']} to {node}", node))
        events["items"].append(event("mcp-servers", pod, "Started", f"Started container {name}", node))

    # Unrelated workloads: pods, services and events in the team namespaces.
    app_pods = [p for p in load("pods/_all.json")["items"] if p["metadata"]["namespace"] != "kube-system"]
    for i in range(n_pods):
        team = teams[i // PODS_PER_NAMESPACE]
        node = node_names[(i * 7) % len(node_names)]
        pod = clone(app_pods[i % len(app_pods)], names, f"app-{i % PODS_PER_NAMESPACE:03d}-7d9f{i:06x}", team)
        pod["spec"]["nodeName"] = node
        for ref in pod["metadata"].get("ownerReferences", []):
            ref["uid"] = names.uid()
        pod["status"]["podIP"] = f"10.42.{(i // 256) % 256}.{i % 256}"
        pod["status"]["podIPs"] = [{"ip": pod["status"]["podIP"]}]
        pod["metadata"]["managedFields"] = managed(pod, "kube-controller-manager", "k3s", time)
        pods["items"].append(pod)
        if i < n_events:
            events["items"].append(event(team, pod, "Pulled", "Container image already present on machine", node))
    app_services = [v for v in load("services/_all.json")["items"] if v["metadata"]["namespace"] not in ("default", "kube-system")]
    for i in range(n_services):
        team = teams[i % len(teams)]
        svc = clone(app_services[i % len(app_services)], names, f"svc-{i:05d}", team)
        svc["spec"].pop("clusterIP", None)
        svc["spec"]["clusterIPs"] = [f"10.43.{(i // 256) % 256}.{i % 256}"]
        svc["spec"]["clusterIP"] = svc["spec"]["clusterIPs"][0]
        svc["metadata"]["managedFields"] = managed(svc, "kubectl-client-side-apply", "k3s", time)
        services["items"].append(svc)

    sizes["mcpservers"] = save(args.out, "mcpservers.mcpruntime.org/_all.json", servers)
    sizes["deployments"] = save(args.out, "deployments.apps/_all.json", deployments)
    sizes["pods"] = save(args.out, "pods/_all.json", pods)
    sizes["services"] = save(args.out, "services/_all.json", services)
    sizes["ingresses"] = save(args.out, "ingresses.networking.k8s.io/_all.json", ingresses)
    os.makedirs(os.path.join(args.out, "cluster", "events"), exist_ok=True)
    sizes["events"] = save(args.out, "events/_all.json", events)
    counts = {
        "nodes": len(nodes["items"]), "namespaces": len(namespaces["items"]), "pods": len(pods["items"]),
        "services": len(services["items"]), "events": len(events["items"]), "mcpservers": len(servers["items"]),
    }
    print(json.dumps({"counts": counts, "bytes": sizes}))


if __name__ == "__main__":
    # Millions of small dicts and lists, none in a cycle: the cyclic collector would walk them all again
    # and again as they pile up, which makes generating --scale 1 take many times longer than 10 x 0.1.
    gc.disable()
    main()
