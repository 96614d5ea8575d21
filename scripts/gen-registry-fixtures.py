#!/usr/bin/env python3
"""Adds the bundled registry's recorded answers and pull secrets to platform-healthy, and writes the registry-*
scenarios from it. Run after scripts/gen-platform-fixtures.py (which rewrites platform-healthy).

What platform-healthy gains (a healthy bundled-https registry as `mcp-doctor doctor --record` saw it):
- the `/v2/` answers: 200 from the registry on NodePort 32000 of mcp-cp-1 (10.0.0.11, the first Ready node by
  name) over HTTPS, and 401 from the admin guard at https://registry.example.com/v2/;
- `imagePullSecrets: mcp-runtime-registry-pull` on the workloads that pull from registry.example.com, and that
  Secret (kubernetes.io/dockerconfigjson) in each of their namespaces, reduced as a recording reduces it: the
  `auths` host keys only."""
import base64, hashlib, json, os, re, shutil, uuid

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
T = '2026-11-18T10:02:11Z'
PULL = 'mcp-runtime-registry-pull'
NODE_V2 = 'https://10.0.0.11:32000/v2/'
PUBLIC_V2 = 'https://registry.example.com/v2/'


def load(p): return json.load(open(p))


def dump(p, d):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    json.dump(d, open(p, 'w'), indent=2)
    open(p, 'a').write('\n')


def safe(s): return re.sub(r'[^A-Za-z0-9._-]', '_', s)


def http(d, url, ok=None, error=None):
    """A journaled answer of a probe without credentials and without a pinned address."""
    key = f'http/direct/{safe(url)}'
    entry = {"key": key, "ok": ok} if error is None else {"key": key, "error": error}
    dump(f'{d}/evidence/{key}.json', entry)


def drop_http(d, url):
    p = f'{d}/evidence/http/direct/{safe(url)}.json'
    if os.path.exists(p): os.remove(p)


def answer(status, headers, body):
    return {"status": status, "headers": [list(h) for h in headers], "body": body, "body_truncated": False,
            "remote_addr": None}


REGISTRY_200 = answer(200, [("content-type", "application/json; charset=utf-8"),
                            ("docker-distribution-api-version", "registry/2.0")], "{}")
GUARD_401 = answer(401, [("content-type", "text/plain; charset=utf-8"),
                         ("www-authenticate", 'Basic realm="registry-admin"')], "401 Unauthorized\n")
TRAEFIK_404 = answer(404, [("content-type", "text/plain; charset=utf-8")], "404 page not found\n")


def edit(d, rel, fn):
    p = f'{d}/cluster/{rel}'
    x = load(p)
    fn(x['items'])
    dump(p, x)


def find(items, ns, name):
    return [i for i in items if i['metadata'].get('namespace') == ns and i['metadata']['name'] == name][0]


def docker_config(*hosts):
    return base64.b64encode(json.dumps({"auths": {h: {} for h in hosts}}, separators=(',', ':')).encode()).decode()


def pull_secret(ns, *hosts):
    return {"metadata": {"name": PULL, "namespace": ns, "uid": uuid_for(ns), "resourceVersion": "7050",
                         "creationTimestamp": T,
                         "labels": {"app.kubernetes.io/managed-by": "mcp-runtime"}},
            "data": {".dockerconfigjson": docker_config(*hosts)}, "type": "kubernetes.io/dockerconfigjson"}


def uuid_for(ns):
    return str(uuid.UUID(hashlib.md5(f'{ns}/{PULL}'.encode()).hexdigest()))


def set_collected(d):
    m = load(f'{d}/manifest.json')
    if 'http' not in m['collected']: m['collected'].append('http')
    redacted = "docker configs reduced to their auths host keys"
    if redacted not in m['redacted']: m['redacted'].append(redacted)
    dump(f'{d}/manifest.json', m)


def add_registry_evidence(d):
    """platform-healthy's registry answers and pull secrets (idempotent)."""
    set_collected(d)
    http(d, NODE_V2, ok=REGISTRY_200)
    http(d, PUBLIC_V2, ok=GUARD_401)
    namespaces = set()

    def refer(spec, ns):
        images = [c['image'] for c in spec.get('containers', [])]
        if any(i.startswith('registry.example.com/') for i in images):
            spec['imagePullSecrets'] = [{"name": PULL}]
            namespaces.add(ns)
    edit(d, 'deployments.apps/_all.json',
         lambda items: [refer(o['spec']['template']['spec'], o['metadata']['namespace']) for o in items])
    edit(d, 'pods/_all.json', lambda items: [refer(o['spec'], o['metadata']['namespace']) for o in items])

    def secrets(items):
        items[:] = [s for s in items if s['metadata']['name'] != PULL]
        items.extend(pull_secret(ns, 'registry.example.com') for ns in sorted(namespaces))
    edit(d, 'secrets/_all.json', secrets)


def scenario(name, description, expected_note):
    dst = f'{ROOT}/{name}'
    if os.path.exists(dst): shutil.rmtree(dst)
    shutil.copytree(f'{ROOT}/platform-healthy', dst)
    m = load(f'{dst}/manifest.json')
    m['description'] = description + ' ' + expected_note
    dump(f'{dst}/manifest.json', m)
    return dst


healthy = f'{ROOT}/platform-healthy'
add_registry_evidence(healthy)
m = load(f'{healthy}/manifest.json')
note = (" The bundled registry (bundled-https) answers 200 on NodePort 32000 of mcp-cp-1 over HTTPS and 401 at "
        "https://registry.example.com/v2/; the workloads pulling from registry.example.com reference pull secret "
        "mcp-runtime-registry-pull, which holds registry.example.com. Every registry check passes.")
if note.strip() not in m['description']:
    m['description'] = m['description'] + note
    dump(f'{healthy}/manifest.json', m)

# Service registry/registry deleted by hand.
d = scenario('registry-service-missing',
             "doctor; the healthy platform, except Service registry/registry was deleted (`kubectl -n registry delete svc "
             "registry`): the registry pod runs, but nothing publishes it on port 5000 or NodePort 32000.",
             "registry.service fails naming the Service; registry.reachable and registry.public-route skip behind it.")
edit(d, 'services/_all.json', lambda items: items.remove(find(items, 'registry', 'registry')))
drop_http(d, NODE_V2)
drop_http(d, PUBLIC_V2)

# Storage claim Pending on a StorageClass that does not exist.
d = scenario('registry-storage-pending',
             "doctor; the healthy platform, except the registry's PVC registry/registry-storage asks for StorageClass "
             "`longhorn`, which this cluster does not have: the claim is Pending and the persistentvolume-controller "
             "reports ProvisioningFailed.",
             "registry.service fails naming the PVC, its class and the event; registry.reachable and "
             "registry.public-route skip behind it.")


def pending(items):
    p = find(items, 'registry', 'registry-storage')
    p['spec']['storageClassName'] = 'longhorn'
    del p['spec']['volumeName']
    p['metadata']['annotations'] = {}
    p['status'] = {"phase": "Pending"}


edit(d, 'persistentvolumeclaims/_all.json', pending)
dump(f'{d}/cluster/events/_all.json', {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "7700"},
     "items": [{"metadata": {"name": "registry-storage.1879a0c2f1e3b4d5", "namespace": "registry",
                             "uid": "0f1e2d3c-4b5a-4968-8776-655443322110", "resourceVersion": "7690",
                             "creationTimestamp": "2026-11-18T09:36:00Z"},
                "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": "registry", "name": "registry-storage",
                                   "uid": "e850fc8d-c9ab-d6f2-139e-9970a1203de9", "apiVersion": "v1",
                                   "resourceVersion": "7300"},
                "reason": "ProvisioningFailed",
                "message": "storageclass.storage.k8s.io \"longhorn\" not found",
                "source": {"component": "persistentvolume-controller"},
                "firstTimestamp": "2026-11-18T09:36:00Z", "lastTimestamp": "2026-11-21T11:58:00Z", "count": 1186,
                "type": "Warning", "eventTime": None, "reportingComponent": "persistentvolume-controller",
                "reportingInstance": ""}]})
drop_http(d, NODE_V2)
drop_http(d, PUBLIC_V2)

# registry-internal-tls exists, but the registry pod still serves plain HTTP.
d = scenario('registry-internal-tls-serves-http',
             "doctor; the healthy platform, except the registry pod was not restarted after setup created "
             "registry/registry-internal-tls: NodePort 32000 answers plain HTTP, so the HTTPS probe's handshake fails "
             "(the server's HTTP 400 is not a TLS record) and the same path over HTTP answers 200.",
             "registry.reachable fails: the Secret exists but the registry answers plain HTTP.")
http(d, NODE_V2, error={"kind": "probe", "cause": "tls", "address": "10.0.0.11:32000", "url": NODE_V2,
                        "message": "TLS handshake with 10.0.0.11:32000 failed: error sending request for url "
                                   "(https://10.0.0.11:32000/v2/): client error (Connect): received corrupt message of "
                                   "type InvalidContentType"})
http(d, 'http://10.0.0.11:32000/v2/', ok=REGISTRY_200)

# The public route is answered by Traefik's 404: the router was dropped.
d = scenario('registry-public-route-traefik-404',
             "doctor; the healthy platform, except the Traefik file provider no longer defines middleware "
             "registry-admin-auth@file, so Traefik drops the registry Ingress's router (`middleware "
             "\"registry-admin-auth@file\" does not exist`) and answers https://registry.example.com/v2/ with its own "
             "`404 page not found`. The Ingress objects themselves are unchanged.",
             "registry.public-route fails: misrouted.")
http(d, PUBLIC_V2, ok=TRAEFIK_404)

# The registry Ingress still routes the placeholder host of an earlier dev install.
d = scenario('registry-ingress-host-mismatch',
             "doctor; the healthy platform, except the registry Ingress still routes registry.local (an earlier dev "
             "install without MCP_PLATFORM_DOMAIN) while the configuration derives registry.example.com; its TLS hosts "
             "were updated to registry.example.com and mcp.example.com.",
             "registry.ingress-hosts fails naming both hosts; registry.public-route skips behind it.")


def placeholder(items):
    find(items, 'registry', 'registry')['spec']['rules'][0]['host'] = 'registry.local'


edit(d, 'ingresses.networking.k8s.io/_all.json', placeholder)
http(d, PUBLIC_V2, ok=TRAEFIK_404)

# The operator's pull secret holds the dev registry, not registry.example.com.
d = scenario('registry-pull-secret-wrong-host',
             "doctor; the healthy platform, except Secret mcp-runtime/mcp-runtime-registry-pull was created for the dev "
             "registry registry.local:32000 and never updated, while the operator pulls "
             "registry.example.com/mcp-runtime-operator:v0.9.2 (the pod runs from the node's image cache).",
             "registry.pull-secrets fails naming the Secret, its host and the image host.")


def wrong_host(items):
    find(items, 'mcp-runtime', PULL)['data']['.dockerconfigjson'] = docker_config('registry.local:32000')


edit(d, 'secrets/_all.json', wrong_host)


# The configuration asks for the plain HTTP registry, but the cluster serves it over HTTPS.
d = scenario('registry-mode-mismatch',
             "doctor; the healthy bundled-https platform judged with a deployment env that says "
             "MCP_SETUP_REGISTRY_MODE=bundled-http (the file was edited after install): the cluster still holds "
             "registry/registry-internal-tls and the registry answers HTTPS.",
             "registry.mode warns that the configuration and the cluster disagree; the registry checks follow the "
             "cluster (HTTPS) and pass; tls.registry-internal-cert skips (not applicable to bundled-http).")
env = open(f'{d}/config.env').read().replace('MCP_SETUP_REGISTRY_MODE=bundled-https', 'MCP_SETUP_REGISTRY_MODE=bundled-http')
open(f'{d}/config.env', 'w').write(env)
print("ok")
