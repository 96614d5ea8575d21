#!/usr/bin/env python3
"""Generates the tls-* fixture scenarios from fixtures/k3s-4node-healthy.

Certificates are real X.509 (python3-cryptography), made once and committed; private keys exist only in this
process's memory and are never written: Secrets carry `tls.crt` (and `ca.crt`) and an empty `tls.key`, as a
recorded bundle holds them. CertificateRequests carry real CSRs. cert-manager objects follow what cert-manager
v1.16 writes (condition types, reasons and messages). Every scenario is judged as of MCP_DOCTOR_NOW.

Run from the repository root: python3 scripts/gen-tls-fixtures.py (then set expected.json by hand).
"""

import base64
import copy
import datetime as dt
import hashlib
import json
import shutil
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
BASE = ROOT / "k3s-4node-healthy"
NOW = dt.datetime(2026, 11, 21, 12, 0, 0, tzinfo=dt.timezone.utc)
DOMAIN = "example.com"
REG, MCP, PLAT = f"registry.{DOMAIN}", f"mcp.{DOMAIN}", f"platform.{DOMAIN}"
SVC = "registry.registry.svc.cluster.local"
CLUSTER_IP = "10.43.12.34"


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def uid(*parts):
    return str(uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]))


def rv(*parts):
    return str(2000 + int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:4], 16) % 5000)


def key():
    return ec.generate_private_key(ec.SECP256R1())


def name(cn, org=None, country=None):
    attrs = []
    if country:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def ca(subject, signer=None, signer_key=None, not_before=dt.datetime(2024, 3, 13, tzinfo=dt.timezone.utc),
       not_after=dt.datetime(2035, 3, 12, tzinfo=dt.timezone.utc), path_len=None):
    k = key()
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(signer.subject if signer else subject)
         .public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True))
    return b.sign(signer_key or k, hashes.SHA256()), k


def leaf(dns, issuer, issuer_key, not_before, days=90, cn=True):
    k = key()
    b = (x509.CertificateBuilder().subject_name(name(dns[0]) if cn else x509.Name([]))
         .issuer_name(issuer.subject).public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_before + dt.timedelta(days=days))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    return b.sign(issuer_key, hashes.SHA256())


def pem(*certs):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def b64(data):
    return base64.b64encode(data).decode()


def csr(dns):
    k = key()
    req = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
           .sign(k, hashes.SHA256()))
    return b64(req.public_bytes(serialization.Encoding.PEM))


# One set of CAs for every scenario: a Let's Encrypt-shaped chain and setup's internal mcp-runtime-ca.
LE_ROOT, LE_ROOT_KEY = ca(name("ISRG Root X1", "Internet Security Research Group", "US"),
                          not_before=dt.datetime(2015, 6, 4, tzinfo=dt.timezone.utc))
LE_R11, LE_R11_KEY = ca(name("R11", "Let's Encrypt", "US"), LE_ROOT, LE_ROOT_KEY, path_len=0)
MCP_CA, MCP_CA_KEY = ca(name("mcp-runtime-ca"), not_before=dt.datetime(2026, 11, 18, 9, 30, tzinfo=dt.timezone.utc),
                        not_after=dt.datetime(2036, 11, 16, 9, 30, tzinfo=dt.timezone.utc))
ISSUED = dt.datetime(2026, 10, 22, 9, 41, 7, tzinfo=dt.timezone.utc)


def le_secret(ns, nm, dns, not_before=ISSUED, days=90, issuer_name="letsencrypt-prod", cert_name=None):
    c = leaf(dns, LE_R11, LE_R11_KEY, not_before, days)
    ann = {"cert-manager.io/alt-names": ",".join(dns), "cert-manager.io/certificate-name": cert_name or nm,
           "cert-manager.io/common-name": dns[0], "cert-manager.io/ip-sans": "", "cert-manager.io/issuer-group": "cert-manager.io",
           "cert-manager.io/issuer-kind": "ClusterIssuer", "cert-manager.io/issuer-name": issuer_name, "cert-manager.io/uri-sans": ""}
    return secret(ns, nm, {"tls.crt": b64(pem(c, LE_R11)), "tls.key": ""}, ann, not_before), c


def secret(ns, nm, data, ann, created):
    return {"metadata": {"name": nm, "namespace": ns, "uid": uid("secret", ns, nm), "resourceVersion": rv("secret", ns, nm),
                         "creationTimestamp": ts(created), "labels": {"controller.cert-manager.io/fao": "true"},
                         "annotations": ann},
            "data": data, "type": "kubernetes.io/tls"}


def cond(type_, status, reason, message, t, gen=1):
    return {"lastTransitionTime": ts(t), "message": message, "observedGeneration": gen, "reason": reason,
            "status": status, "type": type_}


def owner(api, kind, nm, ns):
    return [{"apiVersion": api, "blockOwnerDeletion": True, "controller": True, "kind": kind, "name": nm,
             "uid": uid(kind, ns, nm)}]


def certificate(ns, nm, secret_name, dns, issuer, ready=True, not_before=ISSUED, revision=1, ingress=None, conds=None):
    meta = {"name": nm, "namespace": ns, "uid": uid("Certificate", ns, nm), "resourceVersion": rv("cert", ns, nm),
            "generation": 1, "creationTimestamp": ts(not_before - dt.timedelta(minutes=1))}
    if ingress:
        meta["ownerReferences"] = owner("networking.k8s.io/v1", "Ingress", ingress, ns)
    spec = {"dnsNames": dns, "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
            "secretName": secret_name, "usages": ["digital signature", "key encipherment"]}
    if ready:
        status = {"conditions": [cond("Ready", "True", "Ready", "Certificate is up to date and has not expired", not_before)],
                  "notAfter": ts(not_before + dt.timedelta(days=90)), "notBefore": ts(not_before),
                  "renewalTime": ts(not_before + dt.timedelta(days=60)), "revision": revision}
    else:
        status = {"conditions": conds}
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta, "spec": spec, "status": status}


def request(ns, cert, revision, dns, issuer, created, state="Issued", msg=None):
    nm = f"{cert}-{revision}"
    meta = {"name": nm, "namespace": ns, "uid": uid("CertificateRequest", ns, nm), "resourceVersion": rv("cr", ns, nm),
            "generation": 1, "creationTimestamp": ts(created),
            "annotations": {"cert-manager.io/certificate-name": cert, "cert-manager.io/certificate-revision": str(revision),
                            "cert-manager.io/private-key-secret-name": f"{cert}-k7x2p"},
            "ownerReferences": owner("cert-manager.io/v1", "Certificate", cert, ns)}
    conds = [cond("Approved", "True", "cert-manager.io", "Certificate request has been approved by cert-manager.io", created)]
    if state == "Issued":
        conds.append(cond("Ready", "True", "Issued", "Certificate fetched from issuer successfully", created + dt.timedelta(seconds=41)))
    else:
        conds.append(cond("Ready", "False", "Pending", msg, created))
    return {"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest", "metadata": meta,
            "spec": {"extra": {"authentication.kubernetes.io/pod-name": ["cert-manager-7d4b5c8f6-q2x9m"]},
                     "groups": ["system:serviceaccounts", "system:serviceaccounts:cert-manager", "system:authenticated"],
                     "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
                     "request": csr(dns), "uid": uid("sa", "cert-manager"),
                     "usages": ["digital signature", "key encipherment"],
                     "username": "system:serviceaccount:cert-manager:cert-manager"},
            "status": {"conditions": conds}}


def order(ns, cr, dns, created, state="valid", reason=None):
    h = str(int(hashlib.sha256(cr.encode()).hexdigest()[:8], 16))
    nm = f"{cr}-{h}"
    o = {"apiVersion": "acme.cert-manager.io/v1", "kind": "Order",
         "metadata": {"name": nm, "namespace": ns, "uid": uid("Order", ns, nm), "resourceVersion": rv("order", ns, nm),
                      "generation": 1, "creationTimestamp": ts(created),
                      "annotations": {"cert-manager.io/certificate-name": cr.rsplit("-", 1)[0],
                                      "cert-manager.io/certificate-revision": cr.rsplit("-", 1)[1],
                                      "cert-manager.io/private-key-secret-name": f"{cr.rsplit('-', 1)[0]}-k7x2p"},
                      "ownerReferences": owner("cert-manager.io/v1", "CertificateRequest", cr, ns)},
         "spec": {"dnsNames": dns, "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-prod"},
                  "request": csr(dns)},
         "status": {"authorizations": [
             {"challenges": [{"token": tok(d), "type": "http-01", "url": f"https://acme-v02.api.letsencrypt.org/acme/chall/2063498917/{h}{i}/Wq3kLg"}],
              "identifier": d, "initialState": "pending" if state != "valid" else "valid",
              "url": f"https://acme-v02.api.letsencrypt.org/acme/authz/2063498917/{h}{i}", "wildcard": False}
             for i, d in enumerate(dns)],
             "finalizeURL": f"https://acme-v02.api.letsencrypt.org/acme/finalize/2063498917/{h}",
             "state": state, "url": f"https://acme-v02.api.letsencrypt.org/acme/order/2063498917/{h}"}}
    if reason:
        o["status"]["reason"] = reason
    return o


def tok(d):
    return base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).decode().rstrip("=")


def challenge(ns, order_name, dns, state, reason, created, presented=True):
    h = str(int(hashlib.sha256((order_name + dns).encode()).hexdigest()[:8], 16))
    nm = f"{order_name}-{h}"
    return {"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge",
            "metadata": {"name": nm, "namespace": ns, "uid": uid("Challenge", ns, nm), "resourceVersion": rv("ch", ns, nm),
                         "generation": 1, "creationTimestamp": ts(created), "finalizers": ["finalizer.acme.cert-manager.io"],
                         "ownerReferences": owner("acme.cert-manager.io/v1", "Order", order_name, ns)},
            "spec": {"authorizationURL": f"https://acme-v02.api.letsencrypt.org/acme/authz/2063498917/{h}",
                     "dnsName": dns, "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-prod"},
                     "key": tok(dns) + ".x8Vc4QmE2s0o7f3tWl9bYq1dPz6kRjHn5uAiGvKeNcM",
                     "solver": {"http01": {"ingress": {"ingressClassName": "traefik"}}},
                     "token": tok(dns), "type": "HTTP-01",
                     "url": f"https://acme-v02.api.letsencrypt.org/acme/chall/2063498917/{h}/Wq3kLg", "wildcard": False},
            "status": {"presented": presented, "processing": state == "pending", "reason": reason, "state": state}}


def cluster_issuer(nm, spec, ready=True, reason=None, message=None, created=dt.datetime(2026, 11, 18, 9, 31, tzinfo=dt.timezone.utc)):
    if ready:
        reason, message = ("ACMEAccountRegistered", "The ACME account was registered with the ACME server") if "acme" in spec \
            else ("KeyPairVerified", "Signing CA verified")
    st = {"conditions": [cond("Ready", "True" if ready else "False", reason, message, created)]}
    if "acme" in spec and ready:
        st["acme"] = {"lastPrivateKeyHash": "Jq2wK8dT3xV9mB1nC4zL7pR0sY5fH6gA2eU8iO3kM1Q=",
                      "lastRegisteredEmail": spec["acme"]["email"],
                      "uri": "https://acme-v02.api.letsencrypt.org/acme/acct/2063498917"}
    return {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
            "metadata": {"name": nm, "uid": uid("ClusterIssuer", nm), "resourceVersion": rv("ci", nm), "generation": 1,
                         "creationTimestamp": ts(created)},
            "spec": spec, "status": st}


LE_PROD = cluster_issuer("letsencrypt-prod", {"acme": {
    "email": "ops@example.com", "privateKeySecretRef": {"name": "letsencrypt-prod-account-key"},
    "server": "https://acme-v02.api.letsencrypt.org/directory",
    "solvers": [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]}})
MCP_CA_ISSUER = cluster_issuer("mcp-runtime-ca", {"ca": {"secretName": "mcp-runtime-ca"}})


def crd(plural, group, kind, scope="Namespaced"):
    nm = f"{plural}.{group}"
    t = dt.datetime(2026, 11, 18, 9, 29, 50, tzinfo=dt.timezone.utc)
    return {"metadata": {"name": nm, "uid": uid("crd", nm), "resourceVersion": rv("crd", nm), "generation": 1,
                         "creationTimestamp": ts(t),
                         "labels": {"app": "cert-manager", "app.kubernetes.io/instance": "cert-manager",
                                    "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/version": "v1.16.2"},
                         "annotations": {"helm.sh/resource-policy": "keep"}},
            "spec": {"group": group, "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                                               "listKind": f"{kind}List", "categories": ["cert-manager"]},
                     "scope": scope,
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object"}}, "subresources": {"status": {}}}],
                     "conversion": {"strategy": "None"}},
            "status": {"conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": ts(t), "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": ts(t), "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted"}],
                "acceptedNames": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List",
                                  "categories": ["cert-manager"]},
                "storedVersions": ["v1"]}}


CM_CRDS = [crd("certificaterequests", "cert-manager.io", "CertificateRequest"),
           crd("certificates", "cert-manager.io", "Certificate"),
           crd("challenges", "acme.cert-manager.io", "Challenge"),
           crd("clusterissuers", "cert-manager.io", "ClusterIssuer", "Cluster"),
           crd("issuers", "cert-manager.io", "Issuer"),
           crd("orders", "acme.cert-manager.io", "Order")]


def cm_deployment(nm, component, ready=1):
    t = dt.datetime(2026, 11, 18, 9, 29, 55, tzinfo=dt.timezone.utc)
    app = {"cert-manager": "cert-manager", "cert-manager-cainjector": "cainjector", "cert-manager-webhook": "webhook"}[nm]
    labels = {"app": app, "app.kubernetes.io/component": component, "app.kubernetes.io/instance": "cert-manager",
              "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": app, "app.kubernetes.io/version": "v1.16.2",
              "helm.sh/chart": "cert-manager-v1.16.2"}
    status = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": ready,
              "availableReplicas": ready,
              "conditions": [{"type": "Available", "status": "True" if ready else "False",
                              "lastUpdateTime": ts(t), "lastTransitionTime": ts(t),
                              "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                              "message": "Deployment has minimum availability." if ready else "Deployment does not have minimum availability."}]}
    return {"metadata": {"name": nm, "namespace": "cert-manager", "uid": uid("deploy", nm), "resourceVersion": rv("deploy", nm),
                         "generation": 1, "creationTimestamp": ts(t), "labels": labels,
                         "annotations": {"deployment.kubernetes.io/revision": "1", "meta.helm.sh/release-name": "cert-manager",
                                         "meta.helm.sh/release-namespace": "cert-manager"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/component": component,
                                                                 "app.kubernetes.io/instance": "cert-manager",
                                                                 "app.kubernetes.io/name": app}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"serviceAccountName": nm, "containers": [{
                                      "name": nm if nm != "cert-manager" else "cert-manager-controller",
                                      "image": f"quay.io/jetstack/{nm if nm != 'cert-manager' else 'cert-manager-controller'}:v1.16.2"}]}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}},
            "status": status}


def namespace(nm):
    t = dt.datetime(2026, 11, 18, 9, 29, 40, tzinfo=dt.timezone.utc)
    return {"metadata": {"name": nm, "uid": uid("ns", nm), "resourceVersion": rv("ns", nm), "creationTimestamp": ts(t),
                         "labels": {"kubernetes.io/metadata.name": nm}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def ingress(ns, nm, host_list, secret_name, annotations=None):
    t = dt.datetime(2026, 11, 18, 9, 40, tzinfo=dt.timezone.utc)
    ann = {"traefik.ingress.kubernetes.io/router.entrypoints": "websecure", "traefik.ingress.kubernetes.io/router.tls": "true"}
    if ns == "registry":
        ann["traefik.ingress.kubernetes.io/router.middlewares"] = "registry-admin-auth@file"
    ann.update(annotations or {})
    svc = {"registry": ("registry", 5000), "mcp-sentinel": ("mcp-sentinel-ui", 80)}[ns]
    return {"metadata": {"name": nm, "namespace": ns, "uid": uid("ing", ns, nm), "resourceVersion": rv("ing", ns, nm),
                         "generation": 1, "creationTimestamp": ts(t), "annotations": ann},
            "spec": {"ingressClassName": "traefik",
                     "tls": [{"hosts": host_list, "secretName": secret_name}],
                     "rules": [{"host": h, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                         "service": {"name": svc[0], "port": {"number": svc[1]}}}}]}} for h in host_list]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}


def registry_service():
    t = dt.datetime(2026, 11, 18, 9, 35, tzinfo=dt.timezone.utc)
    return {"metadata": {"name": "registry", "namespace": "registry", "uid": uid("svc", "registry"),
                         "resourceVersion": rv("svc", "registry"), "creationTimestamp": ts(t), "labels": {"app": "registry"}},
            "spec": {"ports": [{"name": "registry", "protocol": "TCP", "port": 5000, "targetPort": 5000, "nodePort": 32000}],
                     "selector": {"app": "registry"}, "clusterIP": CLUSTER_IP, "clusterIPs": [CLUSTER_IP], "type": "NodePort",
                     "sessionAffinity": "None", "externalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"],
                     "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {}}}


def internal_secret(dns):
    c = leaf(dns, MCP_CA, MCP_CA_KEY, dt.datetime(2026, 11, 18, 9, 36, 2, tzinfo=dt.timezone.utc), days=365)
    ann = {"cert-manager.io/alt-names": ",".join(dns), "cert-manager.io/certificate-name": "registry-internal-cert",
           "cert-manager.io/common-name": dns[0], "cert-manager.io/ip-sans": "", "cert-manager.io/issuer-group": "cert-manager.io",
           "cert-manager.io/issuer-kind": "ClusterIssuer", "cert-manager.io/issuer-name": "mcp-runtime-ca", "cert-manager.io/uri-sans": ""}
    return secret("registry", "registry-internal-tls", {"ca.crt": b64(pem(MCP_CA)), "tls.crt": b64(pem(c)), "tls.key": ""},
                  ann, dt.datetime(2026, 11, 18, 9, 36, 2, tzinfo=dt.timezone.utc))


INTERNAL_DNS = [SVC, "registry.registry.svc", "registry"]


def healthy():
    """The objects of a healthy TLS install; scenarios copy and change them."""
    reg_secret, _ = le_secret("registry", "registry-tls", [REG, MCP], cert_name="registry-cert")
    plat_secret, _ = le_secret("mcp-sentinel", "mcp-sentinel-platform-tls", [PLAT], not_before=ISSUED + dt.timedelta(minutes=3))
    objs = {
        "certificates": [
            certificate("registry", "registry-cert", "registry-tls", [REG, MCP], "letsencrypt-prod"),
            certificate("registry", "registry-internal-cert", "registry-internal-tls", INTERNAL_DNS, "mcp-runtime-ca",
                        not_before=dt.datetime(2026, 11, 18, 9, 36, 2, tzinfo=dt.timezone.utc)),
            certificate("mcp-sentinel", "mcp-sentinel-platform-tls", "mcp-sentinel-platform-tls", [PLAT], "letsencrypt-prod",
                        not_before=ISSUED + dt.timedelta(minutes=3), ingress="mcp-sentinel-platform-ui"),
        ],
        "requests": [
            request("registry", "registry-cert", 1, [REG, MCP], "letsencrypt-prod", ISSUED - dt.timedelta(seconds=50)),
            request("registry", "registry-internal-cert", 1, INTERNAL_DNS, "mcp-runtime-ca",
                    dt.datetime(2026, 11, 18, 9, 36, 1, tzinfo=dt.timezone.utc)),
            request("mcp-sentinel", "mcp-sentinel-platform-tls", 1, [PLAT], "letsencrypt-prod",
                    ISSUED + dt.timedelta(minutes=2, seconds=10)),
        ],
        "orders": [
            order("registry", "registry-cert-1", [MCP, REG], ISSUED - dt.timedelta(seconds=49)),
            order("mcp-sentinel", "mcp-sentinel-platform-tls-1", [PLAT], ISSUED + dt.timedelta(minutes=2, seconds=11)),
        ],
        "challenges": [],
        "clusterissuers": [LE_PROD, MCP_CA_ISSUER],
        "secrets": [reg_secret, plat_secret, internal_secret(INTERNAL_DNS)],
        "ingresses": [
            ingress("registry", "registry", [REG, MCP], "registry-tls"),
            ingress("mcp-sentinel", "mcp-sentinel-platform-ui", [PLAT], "mcp-sentinel-platform-tls",
                    {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}),
        ],
        "services": [registry_service()],
        "config": {},
        "mode": "doctor",
    }
    return objs


def write_list(path, kind, api, items, rv_="4100"):
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"kind": f"{kind}List", "apiVersion": api, "metadata": {"resourceVersion": rv_}, "items": items}
    if api not in ("v1", "apps/v1", "networking.k8s.io/v1", "apiextensions.k8s.io/v1"):
        body["metadata"]["continue"] = ""
    path.write_text(json.dumps(body, indent=2) + "\n")


def scenario(nm, objs, description, config_changes):
    d = ROOT / nm
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(BASE, d)
    (d / "expected.json").unlink()
    c = d / "cluster"
    # Namespaces, CRDs and deployments of an installed platform with cert-manager.
    nsl = json.loads((c / "namespaces/_cluster.json").read_text())
    nsl["items"] += [namespace(n) for n in ["cert-manager", "registry", "mcp-sentinel", "mcp-runtime", "mcp-servers"]]
    (c / "namespaces/_cluster.json").write_text(json.dumps(nsl, indent=2) + "\n")
    crds = json.loads((c / "customresourcedefinitions.apiextensions.k8s.io/_cluster.json").read_text())
    crds["items"] += CM_CRDS
    (c / "customresourcedefinitions.apiextensions.k8s.io/_cluster.json").write_text(json.dumps(crds, indent=2) + "\n")
    deps = json.loads((c / "deployments.apps/_all.json").read_text())
    deps["items"] += objs.get("cm_deployments", [cm_deployment("cert-manager", "controller"),
                                                 cm_deployment("cert-manager-cainjector", "cainjector"),
                                                 cm_deployment("cert-manager-webhook", "webhook")])
    (c / "deployments.apps/_all.json").write_text(json.dumps(deps, indent=2) + "\n")
    write_list(c / "secrets/_all.json", "Secret", "v1", objs["secrets"])
    # The base cluster's Services (k3s's Traefik, kube-dns ...) stay; the platform's are added.
    base_services = json.loads((c / "services/_all.json").read_text())["items"] if (c / "services/_all.json").exists() else []
    write_list(c / "services/_all.json", "Service", "v1", base_services + objs["services"])
    write_list(c / "ingresses.networking.k8s.io/_all.json", "Ingress", "networking.k8s.io/v1", objs["ingresses"])
    write_list(c / "certificates.cert-manager.io/_all.json", "Certificate", "cert-manager.io/v1", objs["certificates"])
    write_list(c / "certificaterequests.cert-manager.io/_all.json", "CertificateRequest", "cert-manager.io/v1", objs["requests"])
    write_list(c / "issuers.cert-manager.io/_all.json", "Issuer", "cert-manager.io/v1", [])
    write_list(c / "clusterissuers.cert-manager.io/_cluster.json", "ClusterIssuer", "cert-manager.io/v1", objs["clusterissuers"])
    write_list(c / "orders.acme.cert-manager.io/_all.json", "Order", "acme.cert-manager.io/v1", objs["orders"])
    write_list(c / "challenges.acme.cert-manager.io/_all.json", "Challenge", "acme.cert-manager.io/v1", objs["challenges"])
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["mode"] = objs["mode"]
    manifest["created_at"] = ts(NOW)
    manifest["description"] = description
    manifest["collected"] = ["kube", "host"]
    manifest["redacted"] = ["Secret data values except tls.crt and ca.crt (keys are kept)"]
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    env = (d / "config.env").read_text().splitlines()
    env = [l for l in env if l.split("=", 1)[0] not in config_changes]
    env += [f"{k}={v}" for k, v in config_changes.items() if v is not None]
    env += ["# mcp-doctor: judge certificates as of the recording, and do not probe the public hosts live",
            f"MCP_DOCTOR_NOW={ts(NOW)}", "MCP_DOCTOR_TLS_PROBE=false"]
    (d / "config.env").write_text("\n".join(env) + "\n")


def main():
    # 1. Healthy.
    scenario("tls-healthy", healthy(),
             "A healthy TLS install on the reference k3s topology (judged 2026-11-21): cert-manager v1.16 ready; ClusterIssuers "
             "letsencrypt-prod (ACME HTTP-01 via Traefik) and mcp-runtime-ca (CA) Ready; registry/registry-cert wrote registry/registry-tls "
             "for registry.example.com and mcp.example.com, the mcp-sentinel-platform-ui Ingress's ingress-shim Certificate wrote "
             "mcp-sentinel/mcp-sentinel-platform-tls for platform.example.com (both Let's Encrypt R11, 60 days left), and "
             "registry/registry-internal-tls covers registry.registry.svc.cluster.local (mcp-runtime-ca). Every tls and certmanager check "
             "passes; tls.public-endpoints skips because live probing is off in fixtures.", {})

    # 2. registry-cert without mcp.<domain>.
    o = healthy()
    o["certificates"][0] = certificate("registry", "registry-cert", "registry-tls", [REG], "letsencrypt-prod")
    o["secrets"][0], _ = le_secret("registry", "registry-tls", [REG], cert_name="registry-cert")
    o["requests"][0] = request("registry", "registry-cert", 1, [REG], "letsencrypt-prod", ISSUED - dt.timedelta(seconds=50))
    o["orders"][0] = order("registry", "registry-cert-1", [REG], ISSUED - dt.timedelta(seconds=49))
    scenario("tls-registry-cert-missing-mcp", o,
             "registry/registry-cert was applied with only registry.example.com (setup ran with MCP_REGISTRY_INGRESS_HOST but without "
             "MCP_PLATFORM_DOMAIN), so registry/registry-tls lacks mcp.example.com, although the config derives mcp.example.com. "
             "tls.registry-cert fails naming both names.", {})

    # 3. Platform certificate expired, nothing renews it (the ingress-shim annotation was removed).
    o = healthy()
    old = dt.datetime(2026, 8, 11, 12, 0, 0, tzinfo=dt.timezone.utc)
    o["secrets"][1], _ = le_secret("mcp-sentinel", "mcp-sentinel-platform-tls", [PLAT], not_before=old)
    o["certificates"] = [c for c in o["certificates"] if c["metadata"]["name"] != "mcp-sentinel-platform-tls"]
    o["requests"] = [r for r in o["requests"] if r["metadata"]["namespace"] != "mcp-sentinel"]
    o["orders"] = [r for r in o["orders"] if r["metadata"]["namespace"] != "mcp-sentinel"]
    o["ingresses"][1] = ingress("mcp-sentinel", "mcp-sentinel-platform-ui", [PLAT], "mcp-sentinel-platform-tls")
    scenario("tls-platform-cert-expired", o,
             "mcp-sentinel/mcp-sentinel-platform-tls holds a certificate for platform.example.com that expired on 2026-11-09 (12 days "
             "before the recording): the Secret was restored from a backup after a reinstall, and the mcp-sentinel-platform-ui Ingress "
             "lost its cert-manager.io/cluster-issuer annotation, so no Certificate renews it. tls.platform-cert fails with the days.", {})

    # 4. Two Certificates for registry-tls.
    o = healthy()
    o["ingresses"][0] = ingress("registry", "registry", [REG, MCP], "registry-tls",
                                {"cert-manager.io/cluster-issuer": "letsencrypt-prod"})
    second = certificate("registry", "registry-tls", "registry-tls", [REG, MCP], "letsencrypt-prod",
                         not_before=dt.datetime(2026, 11, 20, 15, 2, 11, tzinfo=dt.timezone.utc), ingress="registry")
    o["certificates"].insert(1, second)
    o["requests"].insert(1, request("registry", "registry-tls", 1, [REG, MCP], "letsencrypt-prod",
                                    dt.datetime(2026, 11, 20, 15, 1, 30, tzinfo=dt.timezone.utc)))
    o["secrets"][0], _ = le_secret("registry", "registry-tls", [REG, MCP],
                                   not_before=dt.datetime(2026, 11, 20, 15, 2, 11, tzinfo=dt.timezone.utc), cert_name="registry-tls")
    scenario("tls-two-certificates-registry-tls", o,
             "Someone added cert-manager.io/cluster-issuer: letsencrypt-prod to the registry Ingress; ingress-shim created a second "
             "Certificate registry/registry-tls (owned by the Ingress) for the same Secret as registry/registry-cert, and the two now "
             "issue in turn. certmanager.single-owner and tls.registry-cert fail with one root cause (Secret registry/registry-tls).", {})

    # 5. --tls-cluster-issuer names a ClusterIssuer that does not exist (preflight).
    o = healthy()
    o["mode"] = "setup"
    scenario("tls-cluster-issuer-missing", o,
             "Preflight for an enterprise-PKI setup: MCP_TLS_CLUSTER_ISSUER=corp-ca with --skip-cert-manager-install, cert-manager "
             "installed and ready, but the ClusterIssuers are letsencrypt-prod and mcp-runtime-ca. certmanager.issuer fails naming corp-ca and what exists.",
             {"MCP_ACME_EMAIL": None, "MCP_TLS_CLUSTER_ISSUER": "corp-ca", "MCP_SETUP_SKIP_CERT_MANAGER_INSTALL": "true"})

    # 6. The ClusterIssuer exists but is not Ready (preflight).
    o = healthy()
    o["mode"] = "setup"
    o["clusterissuers"] = [LE_PROD, cluster_issuer("corp-ca", {"ca": {"secretName": "corp-ca-keypair"}}, ready=False,
                                                   reason="ErrGetKeyPair",
                                                   message='Error getting keypair for CA issuer: secrets "corp-ca-keypair" not found')]
    scenario("tls-issuer-not-ready", o,
             "Preflight with MCP_TLS_CLUSTER_ISSUER=corp-ca: the CA ClusterIssuer exists but its key pair Secret corp-ca-keypair was "
             "never created in the cert-manager namespace, so it is Ready=False (ErrGetKeyPair). certmanager.issuer fails with the reason.",
             {"MCP_ACME_EMAIL": None, "MCP_TLS_CLUSTER_ISSUER": "corp-ca", "MCP_SETUP_SKIP_CERT_MANAGER_INSTALL": "true"})

    # 7. HTTP-01 challenge stuck on a 404 self check.
    o = healthy()
    started = dt.datetime(2026, 11, 21, 10, 14, 3, tzinfo=dt.timezone.utc)
    o["certificates"][0] = certificate("registry", "registry-cert", "registry-tls", [REG, MCP], "letsencrypt-prod", ready=False, conds=[
        cond("Ready", "False", "DoesNotExist", "Issuing certificate as Secret does not exist", started),
        cond("Issuing", "True", "DoesNotExist", "Issuing certificate as Secret does not exist", started)])
    o["certificates"][0]["status"]["nextPrivateKeySecretName"] = "registry-cert-k7x2p"
    o["secrets"] = o["secrets"][1:]
    cr = request("registry", "registry-cert", 1, [REG, MCP], "letsencrypt-prod", started + dt.timedelta(seconds=1), state="Pending",
                 msg=None)
    od = order("registry", "registry-cert-1", [MCP, REG], started + dt.timedelta(seconds=2), state="pending")
    cr["status"]["conditions"][1]["message"] = f"Waiting on certificate issuance from order registry/{od['metadata']['name']}: \"pending\""
    o["requests"][0] = cr
    o["orders"][0] = od
    o["challenges"] = [
        challenge("registry", od["metadata"]["name"], REG, "valid", "Successfully authorized domain", started + dt.timedelta(seconds=3)),
        challenge("registry", od["metadata"]["name"], MCP, "pending",
                  "Waiting for HTTP-01 challenge propagation: wrong status code '404', expected '200'", started + dt.timedelta(seconds=3)),
    ]
    scenario("tls-challenge-404", o,
             "First issuance of registry/registry-cert is stuck: the HTTP-01 challenge for registry.example.com is valid, but the one "
             "for mcp.example.com stays pending because cert-manager's self check gets 404 (mcp.example.com's port 80 is answered by "
             "another web server, not Traefik). registry/registry-tls does not exist yet. certmanager.certificates and tls.registry-cert "
             "fail with one root cause naming the Certificate and the Challenge.", {})

    # 8. The pull host is the registry ClusterIP; the internal certificate has no IP SANs.
    o = healthy()
    scenario("tls-registry-clusterip-internal-cert", o,
             "Bundled HTTPS with MCP_REGISTRY_ENDPOINT=10.43.12.34:5000, the ClusterIP of Service registry/registry; "
             "registry/registry-internal-tls covers registry.registry.svc.cluster.local, registry.registry.svc and registry but no IP "
             "SANs, so every kubelet pull fails with x509: cannot validate certificate for 10.43.12.34 because it doesn't contain any IP "
             "SANs. tls.registry-internal-cert fails.",
             {"MCP_REGISTRY_ENDPOINT": f"{CLUSTER_IP}:5000"})

    # 9. Six issuances of the same names within the week.
    o = healthy()
    times = [dt.datetime(2026, 11, d, h, m, 0, tzinfo=dt.timezone.utc)
             for d, h, m in [(16, 9, 12), (17, 14, 40), (18, 9, 41), (19, 11, 5), (20, 16, 30), (21, 9, 2)]]
    o["requests"] = [r for r in o["requests"]
                     if r["metadata"]["annotations"]["cert-manager.io/certificate-name"] != "registry-cert"]
    o["orders"] = [r for r in o["orders"] if not r["metadata"]["name"].startswith("registry-cert-")]
    for i, t in enumerate(times, start=1):
        o["requests"].append(request("registry", "registry-cert", i, [REG, MCP], "letsencrypt-prod", t))
        o["orders"].append(order("registry", f"registry-cert-{i}", [MCP, REG], t + dt.timedelta(seconds=1)))
    o["certificates"][0] = certificate("registry", "registry-cert", "registry-tls", [REG, MCP], "letsencrypt-prod",
                                       not_before=times[-1] + dt.timedelta(seconds=41), revision=6)
    o["secrets"][0], _ = le_secret("registry", "registry-tls", [REG, MCP], not_before=times[-1] + dt.timedelta(seconds=41),
                                   cert_name="registry-cert")
    scenario("tls-reissue-six-in-a-week", o,
             "The platform was reinstalled daily on the same domain without the TLS backup/restore: registry/registry-cert was issued six "
             "times for mcp.example.com and registry.example.com between 2026-11-16 and 2026-11-21 (CertificateRequests registry-cert-1 "
             "to -6), past Let's Encrypt's 5 duplicate certificates per week. certmanager.reissue-budget fails with the date the next "
             "issuance becomes possible.", {})


if __name__ == "__main__":
    main()
