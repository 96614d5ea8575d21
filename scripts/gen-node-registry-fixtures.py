#!/usr/bin/env python3
"""Writes the node registry scenarios (issue 18) from existing ones: copies a base scenario, then changes only
what the scenario is about (node facts, config.env, pods and their Events). Run from the repository root after
scripts/gen-platform-fixtures.py; then fill expected.json with /work/tools/fill_expected.py and review it.

  k3s-registry-node-missing-hosts-entry   setup;  mcp-worker-2's /etc/hosts lacks registry.local
  k3s-registry-strict-prod-insecure       setup;  --strict-prod, nodes on the dev path (HTTP mirror, /etc/hosts pin)
  k3s-strict-prod-clean                   setup;  --strict-prod, nodes with no insecure registry setting
  registry-bundled-https-untrusted-ca     doctor; platform images from registry.registry.svc.cluster.local:5000,
                                                  no node trusts mcp-runtime-ca, the operator pod fails with x509
  registry-bundled-https-trusted-ca       doctor; same, every node names the CA in registries.yaml
  platform-image-pull-causes              doctor; weather on mcp-worker-2 (no mirror): HTTP vs HTTPS; two more pods
                                                  in mcp-servers: 401 Unauthorized and connection refused
  platform-exec-format-arm64              doctor; mcp-worker-2 is arm64, mcp-sentinel-api crash-loops there with
                                                  exec format error
"""
import base64
import copy
import hashlib
import json
import os
import shutil
import ssl

ROOT = "fixtures"


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2) + "\n")


def clone(base, name, description, mode=None):
    dst = os.path.join(ROOT, name)
    # Reviewed verdicts survive a regeneration; a new scenario starts empty (fill_expected.py fills it).
    kept = None
    if os.path.exists(dst):
        if os.path.exists(os.path.join(dst, "expected.json")):
            kept = load(os.path.join(dst, "expected.json"))
        shutil.rmtree(dst)
    shutil.copytree(os.path.join(ROOT, base), dst)
    m = load(os.path.join(dst, "manifest.json"))
    m["description"] = description
    if mode:
        m["mode"] = mode
    save(os.path.join(dst, "manifest.json"), m)
    save(os.path.join(dst, "expected.json"), kept or {})
    return dst


def set_env(dst, **values):
    path = os.path.join(dst, "config.env")
    lines = [l for l in open(path).read().splitlines() if l.split("=", 1)[0] not in values]
    for k, v in values.items():
        lines.append(f"{k}={v}")
    open(path, "w").write("\n".join(lines) + "\n")


def facts(dst, node):
    return os.path.join(dst, "host", f"{node}.json")


def set_file(doc, path, content=None, sha256=None, mode=420):
    f = {"mode": mode, "uid": 0, "size": len(content or "") or 1200}
    if content is not None:
        f["content"] = content
    if sha256:
        f["sha256"] = sha256
    doc["files"][path] = f


def edit_facts(dst, fn):
    for name in os.listdir(os.path.join(dst, "host")):
        path = os.path.join(dst, "host", name)
        doc = load(path)
        fn(doc["node"], doc)
        save(path, doc)


def hosts_text(node, extra=""):
    return (f"127.0.0.1 localhost\n127.0.1.1 {node}\n{extra}\n# The following lines are desirable for IPv6 capable hosts\n"
            "::1 ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\n"
            "ff02::2 ip6-allrouters\n")


def pull_error(image, detail):
    return (f"failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {detail}")


def set_image(dst, namespace, deployment, image):
    path = os.path.join(dst, "cluster", "deployments.apps", "_all.json")
    doc = load(path)
    for d in doc["items"]:
        if d["metadata"]["namespace"] == namespace and d["metadata"]["name"] == deployment:
            d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    save(path, doc)


def pods(dst):
    return load(os.path.join(dst, "cluster", "pods", "_all.json"))


def save_pods(dst, doc):
    save(os.path.join(dst, "cluster", "pods", "_all.json"), doc)


def find_pod(doc, prefix):
    return next(p for p in doc["items"] if p["metadata"]["name"].startswith(prefix))


def waiting_on_pull(pod, image, error, node, ip):
    """The pod as kubelet 1.32 reports it after the first failed pull and one back-off."""
    c = pod["spec"]["containers"][0]
    c["image"] = image
    pod["spec"]["nodeName"] = node
    st = pod["status"]
    st["phase"] = "Pending"
    st["hostIP"] = ip
    for cond in st["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"
            cond["reason"] = "ContainersNotReady"
            cond["message"] = f"containers with unready status: [{c['name']}]"
    st["containerStatuses"] = [{
        "name": c["name"],
        "state": {"waiting": {
            "reason": "ImagePullBackOff",
            "message": f"Back-off pulling image \"{image}\": ErrImagePull: {error}",
        }},
        "ready": False, "restartCount": 0, "image": image, "imageID": "", "started": False, "lastState": {},
    }]


def event(pod, n, reason, message, etype, count, first, last):
    name = pod["metadata"]["name"]
    node = pod["spec"]["nodeName"]
    digest = hashlib.sha256(f"{name}{reason}{n}".encode()).hexdigest()
    c = pod["spec"]["containers"][0]["name"]
    return {
        "metadata": {
            "name": f"{name}.{digest[:16]}",
            "namespace": pod["metadata"]["namespace"],
            "uid": f"{digest[16:24]}-{digest[24:28]}-{digest[28:32]}-{digest[32:36]}-{digest[36:48]}",
            "resourceVersion": str(9000 + n),
            "creationTimestamp": first,
        },
        "involvedObject": {
            "kind": "Pod", "namespace": pod["metadata"]["namespace"], "name": name,
            "uid": pod["metadata"]["uid"], "apiVersion": "v1", "resourceVersion": pod["metadata"]["resourceVersion"],
            "fieldPath": f"spec.containers{{{c}}}",
        },
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": node},
        "firstTimestamp": first,
        "lastTimestamp": last,
        "count": count,
        "type": etype,
        "eventTime": None,
        "reportingComponent": "kubelet",
        "reportingInstance": node,
    }


def pull_events(pod, start, error):
    image = pod["spec"]["containers"][0]["image"]
    out = []
    n = start
    for reason, message, etype, count in [
        ("Pulling", f"Pulling image \"{image}\"", "Normal", 4),
        ("Failed", f"Failed to pull image \"{image}\": {error}", "Warning", 4),
        ("Failed", "Error: ErrImagePull", "Warning", 4),
        ("BackOff", f"Back-off pulling image \"{image}\"", "Normal", 31),
        ("Failed", "Error: ImagePullBackOff", "Warning", 31),
    ]:
        out.append(event(pod, n, reason, message, etype, count, "2026-11-21T11:40:02Z", "2026-11-21T11:58:40Z"))
        n += 1
    return out


def save_events(dst, items):
    save(os.path.join(dst, "cluster", "events", "_all.json"),
         {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "9900"}, "items": items})


def ca_fingerprint(dst):
    secrets = load(os.path.join(dst, "cluster", "secrets", "_all.json"))
    s = next(x for x in secrets["items"] if x["metadata"]["name"] == "registry-internal-tls")
    pem = base64.b64decode(s["data"]["ca.crt"]).decode()
    der = ssl.PEM_cert_to_DER_cert(pem)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


NODE_IPS = {"mcp-cp-1": "10.0.0.11", "mcp-ingress-1": "10.0.0.21", "mcp-worker-1": "10.0.0.31", "mcp-worker-2": "10.0.0.32"}
DEV_MIRROR = "mirrors:\n  \"registry.local:32000\":\n    endpoint:\n      - \"http://registry.local:32000\"\n"


def missing_hosts_entry():
    dst = clone("k3s-registry-dev-healthy", "k3s-registry-node-missing-hosts-entry",
                "k3s-registry-dev-healthy, but mcp-worker-2's /etc/hosts has no registry.local line: its registries.yaml "
                "mirrors registry.local:32000 to http://registry.local:32000 like the other nodes, so containerd there "
                "fails with 'dial tcp: lookup registry.local: no such host'. node.hosts-entry, containerd.mirror-match "
                "and containerd.node-drift name mcp-worker-2 and share one root cause (rem.registry-hosts-entry).")

    def fix(node, doc):
        if node == "mcp-worker-2":
            set_file(doc, "/etc/hosts", hosts_text(node))
    edit_facts(dst, fix)


def strict_prod_insecure():
    dst = clone("k3s-registry-dev-healthy", "k3s-registry-strict-prod-insecure",
                "k3s-registry-dev-healthy judged for setup --strict-prod (MCP_STRICT_PROD=true): every node still "
                "carries the dev path's workarounds (registries.yaml mirrors registry.local:32000 to plain HTTP and "
                "skips TLS verification for it, /etc/hosts pins registry.local to 127.0.0.1), which the production "
                "rules forbid. containerd.insecure-in-prod fails on all four nodes with the production (TLS) snippet.")
    set_env(dst, MCP_STRICT_PROD="true")
    text = DEV_MIRROR + "configs:\n  \"registry.local:32000\":\n    tls:\n      insecure_skip_verify: true\n"

    def fix(node, doc):
        set_file(doc, "/etc/rancher/k3s/registries.yaml", text, mode=384)
    edit_facts(dst, fix)


def strict_prod_clean():
    dst = clone("k3s-4node-healthy", "k3s-strict-prod-clean",
                "k3s-4node-healthy judged for setup --strict-prod (MCP_STRICT_PROD=true): no node has a registries.yaml, "
                "an /etc/hosts registry pin or any insecure registry setting, so containerd.insecure-in-prod passes.")
    set_env(dst, MCP_STRICT_PROD="true")


def bundled_https(name, trusted):
    what = ("every node's registries.yaml mirrors registry.registry.svc.cluster.local:5000 to itself over HTTPS "
            "with configs.tls.ca_file /etc/rancher/k3s/mcp-runtime-ca.crt, whose fingerprint (host facts) is the CA in "
            "registry-internal-tls: every check passes"
            if trusted else
            "no node trusts mcp-runtime-ca (no registries.yaml, no certs.d CA, nothing added to the system trust store): "
            "the operator's new pod on mcp-worker-1 is in ImagePullBackOff with 'x509: certificate signed by unknown "
            "authority'. containerd.ca-trust, containerd.mirror-match and images.pull-failures name all four nodes and "
            "share one root cause (rem.containerd-ca-trust); platform.operator fails on the same pull")
    dst = clone("platform-healthy", name,
                "platform-healthy on the bundled-https internal pull path: MCP_REGISTRY_ENDPOINT is unset, so platform "
                "images are rendered as registry.registry.svc.cluster.local:5000/... and every node's /etc/hosts maps "
                "that name to the registry ClusterIP 10.43.12.34; the registry pod serves registry-internal-tls, issued "
                f"by cert-manager/mcp-runtime-ca. {what}.")
    lines = [l for l in open(os.path.join(dst, "config.env")).read().splitlines()
             if not l.startswith("MCP_REGISTRY_ENDPOINT=")]
    open(os.path.join(dst, "config.env"), "w").write("\n".join(lines) + "\n")
    host = "registry.registry.svc.cluster.local:5000"
    op_image = f"{host}/mcp-runtime-operator:v0.9.2"
    api_image = f"{host}/mcp-sentinel-api:v0.9.2"
    set_image(dst, "mcp-runtime", "mcp-runtime-operator-controller-manager", op_image)
    set_image(dst, "mcp-sentinel", "mcp-sentinel-api", api_image)
    add_pull_secret_host(dst, host)
    doc = pods(dst)
    api = find_pod(doc, "mcp-sentinel-api-")
    api["spec"]["containers"][0]["image"] = api_image
    api["status"]["containerStatuses"][0]["image"] = api_image
    api["status"]["containerStatuses"][0]["imageID"] = f"{host}/mcp-sentinel-api@sha256:" + hashlib.sha256(b"api").hexdigest()
    op = find_pod(doc, "mcp-runtime-operator-controller-manager-")
    op["spec"]["containers"][0]["image"] = op_image
    op["status"]["containerStatuses"][0]["image"] = op_image
    op["status"]["containerStatuses"][0]["imageID"] = f"{host}/mcp-runtime-operator@sha256:" + hashlib.sha256(b"op").hexdigest()
    events = []
    if not trusted:
        error = ("rpc error: code = Unknown desc = " + pull_error(
            op_image, f"failed to do request: Head \"https://{host}/v2/mcp-runtime-operator/manifests/v0.9.2\": "
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"))
        waiting_on_pull(op, op_image, error, "mcp-worker-1", NODE_IPS["mcp-worker-1"])
        events = pull_events(op, 1, error)
        set_deployment_unavailable(dst, "mcp-runtime", "mcp-runtime-operator-controller-manager")
    save_pods(dst, doc)
    save_events(dst, events)
    fingerprint = ca_fingerprint(dst)
    registries = (f"mirrors:\n  \"{host}\":\n    endpoint:\n      - \"https://{host}\"\nconfigs:\n  \"{host}\":\n"
                  "    tls:\n      ca_file: /etc/rancher/k3s/mcp-runtime-ca.crt\n")

    def fix(node, doc):
        set_file(doc, "/etc/hosts", hosts_text(node, "10.43.12.34 registry.registry.svc.cluster.local\n"))
        if trusted:
            set_file(doc, "/etc/rancher/k3s/registries.yaml", registries, mode=384)
            set_file(doc, "/etc/rancher/k3s/mcp-runtime-ca.crt", sha256=[fingerprint])
    edit_facts(dst, fix)


def add_pull_secret_host(dst, host):
    """setup's pull secrets hold the host the images name (as recorded: the auths host names only)."""
    path = os.path.join(dst, "cluster", "secrets", "_all.json")
    doc = load(path)
    for sec in doc["items"]:
        if sec["metadata"]["name"] == "mcp-runtime-registry-pull":
            cfg = json.loads(base64.b64decode(sec["data"][".dockerconfigjson"]))
            cfg["auths"][host] = {}
            sec["data"][".dockerconfigjson"] = base64.b64encode(
                json.dumps(cfg, separators=(",", ":")).encode()).decode()
    save(path, doc)


def set_deployment_unavailable(dst, namespace, name):
    path = os.path.join(dst, "cluster", "deployments.apps", "_all.json")
    doc = load(path)
    for d in doc["items"]:
        if d["metadata"]["namespace"] == namespace and d["metadata"]["name"] == name:
            st = d["status"]
            # The API server omits zero counts.
            st.pop("readyReplicas", None)
            st.pop("availableReplicas", None)
            st["unavailableReplicas"] = 1
            for c in st.get("conditions", []):
                if c["type"] == "Available":
                    c["status"] = "False"
                    c["reason"] = "MinimumReplicasUnavailable"
                    c["message"] = "Deployment does not have minimum availability."
    save(path, doc)


def image_pull_causes():
    dst = clone("platform-healthy", "platform-image-pull-causes",
                "platform-healthy where MCPServer mcp-servers/weather was rebuilt on the dev registry "
                "(registry.local:32000/mcp-servers/weather:0.3.2): mcp-cp-1, mcp-ingress-1 and mcp-worker-1 mirror "
                "registry.local:32000 to http://registry.local:32000, mcp-worker-2 (where weather runs) has no "
                "registries.yaml, so its pull fails with 'http: server gave HTTP response to HTTPS client'. Two more "
                "pods in mcp-servers fail differently: notes (registry.example.com, 401 Unauthorized) and ticker (the "
                "registry ClusterIP 10.43.12.34:5000, connection refused). images.pull-failures classifies all three "
                "and leads with mcp-worker-2's missing mirror, the root cause it shares with containerd.mirror-match "
                "and containerd.node-drift (rem.containerd-mirror).")
    image = "registry.local:32000/mcp-servers/weather:0.3.2"
    set_image(dst, "mcp-servers", "weather", image)
    servers = os.path.join(dst, "cluster", "mcpservers.mcpruntime.org", "_all.json")
    s = load(servers)
    for item in s["items"]:
        item["spec"]["image"] = image
    save(servers, s)
    set_deployment_unavailable(dst, "mcp-servers", "weather")
    doc = pods(dst)
    weather = find_pod(doc, "weather-")
    http = ("rpc error: code = Unknown desc = " + pull_error(
        image, "failed to do request: Head \"https://registry.local:32000/v2/mcp-servers/weather/manifests/0.3.2\": "
        "http: server gave HTTP response to HTTPS client"))
    waiting_on_pull(weather, image, http, "mcp-worker-2", NODE_IPS["mcp-worker-2"])
    events = pull_events(weather, 1, http)
    extra = [
        ("notes-5b7d9c8f4-h7x2k", "notes", "registry.example.com/notes:1.4.0", "mcp-worker-1",
         "rpc error: code = Unknown desc = " + pull_error(
             "registry.example.com/notes:1.4.0",
             "pulling from host registry.example.com failed with status code [manifests 1.4.0]: 401 Unauthorized")),
        ("ticker-7c4f8b6d9-p5q8n", "ticker", "10.43.12.34:5000/ticker:2.0.1", "mcp-worker-1",
         "rpc error: code = Unknown desc = " + pull_error(
             "10.43.12.34:5000/ticker:2.0.1",
             "failed to do request: Head \"https://10.43.12.34:5000/v2/ticker/manifests/2.0.1\": dial tcp "
             "10.43.12.34:5000: connect: connection refused")),
    ]
    for i, (pname, app, img, node, err) in enumerate(extra):
        p = copy.deepcopy(weather)
        digest = hashlib.sha256(pname.encode()).hexdigest()
        p["metadata"]["name"] = pname
        p["metadata"]["uid"] = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        p["metadata"]["labels"] = {"app": app, "pod-template-hash": pname.split("-")[1]}
        p["metadata"].pop("ownerReferences", None)
        p["spec"]["containers"][0]["name"] = app
        p["status"]["podIP"] = f"10.42.2.{170 + i}"
        waiting_on_pull(p, img, err, node, NODE_IPS[node])
        doc["items"].append(p)
        events += pull_events(p, 10 + 10 * i, err)
    save_pods(dst, doc)
    save_events(dst, events)

    def fix(node, doc):
        set_file(doc, "/etc/hosts", hosts_text(node, "127.0.0.1 registry.local\n"))
        if node != "mcp-worker-2":
            set_file(doc, "/etc/rancher/k3s/registries.yaml", DEV_MIRROR, mode=384)
    edit_facts(dst, fix)


def exec_format_arm64():
    dst = clone("platform-healthy", "platform-exec-format-arm64",
                "platform-healthy after mcp-worker-2 was replaced by an arm64 machine (kubernetes.io/arch=arm64) while "
                "setup still builds linux/amd64 images (MCP_IMAGE_PLATFORM=linux/amd64): mcp-sentinel-api, scheduled "
                "there, crash-loops; its last termination (exit 255, message from the log as FallbackToLogsOnError "
                "writes it) is 'exec /usr/local/bin/mcp-sentinel-api: exec format error'. images.pull-failures names "
                "the node, the image and the architecture mismatch (rem.mixed-architecture, with nodes.architecture).")
    path = os.path.join(dst, "cluster", "nodes", "_cluster.json")
    nodes = load(path)
    for n in nodes["items"]:
        if n["metadata"]["name"] == "mcp-worker-2":
            n["metadata"]["labels"]["kubernetes.io/arch"] = "arm64"
            n["metadata"]["labels"]["beta.kubernetes.io/arch"] = "arm64"
            n["status"]["nodeInfo"]["architecture"] = "arm64"
    save(path, nodes)
    doc = pods(dst)
    api = find_pod(doc, "mcp-sentinel-api-")
    c = api["spec"]["containers"][0]["name"]
    st = api["status"]
    st["phase"] = "Running"
    for cond in st["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"
            cond["reason"] = "ContainersNotReady"
            cond["message"] = f"containers with unready status: [{c}]"
    cs = st["containerStatuses"][0]
    cs["state"] = {"waiting": {
        "reason": "CrashLoopBackOff",
        "message": f"back-off 5m0s restarting failed container={c} pod={api['metadata']['name']}_mcp-sentinel({api['metadata']['uid']})",
    }}
    cs["lastState"] = {"terminated": {
        "exitCode": 255, "reason": "Error",
        "message": "exec /usr/local/bin/mcp-sentinel-api: exec format error\n",
        "startedAt": "2026-11-21T11:55:01Z", "finishedAt": "2026-11-21T11:55:01Z",
        "containerID": cs.get("containerID", ""),
    }}
    cs["ready"] = False
    cs["started"] = False
    cs["restartCount"] = 9
    save_pods(dst, doc)
    set_deployment_unavailable(dst, "mcp-sentinel", "mcp-sentinel-api")
    save_events(dst, [event(api, 1, "BackOff",
                            f"Back-off restarting failed container {c} in pod {api['metadata']['name']}_mcp-sentinel({api['metadata']['uid']})",
                            "Warning", 42, "2026-11-21T11:31:12Z", "2026-11-21T11:58:55Z")])


K3S_RENDERED_TOML = ("/var/lib/rancher/k3s/agent/etc/containerd/config.toml")
K3S_CERTS_D = "/var/lib/rancher/k3s/agent/etc/containerd/certs.d"
# What k3s v1.32 (containerd 2.0) writes: config version 3, config_path at its certs.d.
RENDERED_CONFIG = ("# File generated by k3s. DO NOT EDIT. Use config.toml.tmpl instead.\nversion = 3\nroot = \"/var/lib/rancher/k3s/agent/containerd\"\n"
                   "state = \"/run/k3s/containerd\"\n\n[plugins.'io.containerd.cri.v1.images'.registry]\n"
                   f"  config_path = \"{K3S_CERTS_D}\"\n")
RENDERED_DEV_HOSTS = ("server = \"https://registry.local:32000\"\n\n[host.\"http://registry.local:32000/v2\"]\n"
                      "  capabilities = [\"pull\", \"resolve\"]\n  override_path = true\n")


def not_restarted():
    dst = clone("k3s-registry-dev-healthy", "k3s-registry-not-restarted",
                "k3s-registry-dev-healthy with k3s's rendered containerd files collected: on mcp-cp-1, mcp-ingress-1 "
                "and mcp-worker-1 certs.d/registry.local:32000/hosts.toml is what registries.yaml renders to; on "
                "mcp-worker-2 registries.yaml was edited after k3s started, so its rendered certs.d has no "
                "registry.local:32000 and containerd there still pulls over HTTPS ('http: server gave HTTP response "
                "to HTTPS client'). containerd.config-valid warns that k3s was not restarted since the edit; "
                "containerd.mirror-match and containerd.node-drift name mcp-worker-2.")

    def fix(node, doc):
        set_file(doc, K3S_RENDERED_TOML, RENDERED_CONFIG, mode=384)
        if node != "mcp-worker-2":
            set_file(doc, f"{K3S_CERTS_D}/registry.local:32000/hosts.toml", RENDERED_DEV_HOSTS, mode=384)
    edit_facts(dst, fix)


def restarted(dst, pod_prefix, count, exit_code, reason, started, finished, running_since):
    """The pod's first container, Running and Ready again after its `count`-th restart."""
    doc = pods(dst)
    cs = find_pod(doc, pod_prefix)["status"]["containerStatuses"][0]
    cs["restartCount"] = count
    cs["state"] = {"running": {"startedAt": running_since}}
    cs["lastState"] = {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started,
                                      "finishedAt": finished, "containerID": cs["containerID"]}}
    save_pods(dst, doc)


def sentinel_flapping():
    dst = clone("platform-healthy", "platform-sentinel-flapping",
                "platform-healthy, but kafka-0's container has restarted 4 times, the last at 11:52:03 (exit code 137, "
                "OOMKilled), 7 min 57 s before the judging time; the StatefulSet is 1/1 ready right now. "
                "platform.sentinel warns that kafka is flapping.")
    restarted(dst, "kafka-0", 4, 137, "OOMKilled",
              "2026-11-21T11:40:12Z", "2026-11-21T11:52:03Z", "2026-11-21T11:52:05Z")


def operator_flapping():
    dst = clone("platform-healthy", "platform-operator-flapping",
                "platform-healthy, but the operator's manager container has restarted 7 times, the last at "
                "11:56:10 (exit code 2, Error), 3 minutes 50 seconds before the judging time: it is Running and Ready "
                "right now, so readiness alone passes it. platform.operator warns that it is flapping (restarts are "
                "judged by how recent they are, never by their lifetime total).")
    restarted(dst, "mcp-runtime-operator-controller-manager-", 7, 2, "Error",
              "2026-11-21T11:51:40Z", "2026-11-21T11:56:10Z", "2026-11-21T11:56:12Z")


if __name__ == "__main__":
    sentinel_flapping()
    operator_flapping()
    not_restarted()
    missing_hosts_entry()
    strict_prod_insecure()
    strict_prod_clean()
    bundled_https("registry-bundled-https-untrusted-ca", trusted=False)
    bundled_https("registry-bundled-https-trusted-ca", trusted=True)
    image_pull_causes()
    exec_format_arm64()
