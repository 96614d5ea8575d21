//! Remediations for the tls and certmanager checks: certificates served and stored, cert-manager, issuers
//! and issuance.

use crate::RemediationDef;

pub static TLS: &[RemediationDef] = &[
    RemediationDef {
        id: "rem.tls-endpoint-unreachable",
        title: "Make the public host answer TLS on port 443",
        text: r#"Nothing completed a TLS handshake for {host} at {address}. Check that the name points at the ingress node or load balancer and that Traefik's websecure entrypoint (service port 443) is exposed:
  getent hosts {host}
  kubectl -n kube-system get svc traefik -o wide
  curl -vk --connect-to {host}:443:{address} https://{host}/
A proxy or firewall in front must pass TCP 443 through to Traefik."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-traefik-default",
        title: "Give the host its own certificate instead of Traefik's default",
        text: r#"Traefik serves its self-signed TRAEFIK DEFAULT CERT when no Ingress TLS entry with an existing Secret matches the host. Find the Ingress for {host}, the Secret it names, and whether cert-manager wrote it:
  kubectl get ingress -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,HOSTS:.spec.tls[*].hosts,SECRET:.spec.tls[*].secretName
  kubectl get certificate -A
  kubectl get secret -n registry registry-tls; kubectl get secret -n mcp-sentinel mcp-sentinel-platform-tls
If the Secret is missing, certmanager.certificates names why the Certificate is not Ready. If the Ingress lacks a tls entry for {host}, rerun setup with --with-tls."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-staging-issuer",
        title: "Issue from Let's Encrypt production instead of staging",
        text: r#"Staging certificates chain to "(STAGING)" roots nobody trusts. Point the ACME issuer at production and reissue:
  kubectl get clusterissuer -o custom-columns=NAME:.metadata.name,SERVER:.spec.acme.server
  kubectl patch clusterissuer <issuer> --type merge -p '{"spec":{"acme":{"server":"https://acme-v02.api.letsencrypt.org/directory"}}}'
or rerun setup without --acme-staging. Then delete the staging certificate so cert-manager issues a trusted one (mind the 5-per-week duplicate limit):
  kubectl -n {namespace} delete secret {secret}"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-name-mismatch",
        title: "Serve a certificate that covers the host",
        text: r#"The certificate served for {host} does not name it. Look at which Ingress and Secret Traefik picked, and what that certificate covers:
  kubectl get ingress -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,HOSTS:.spec.tls[*].hosts,SECRET:.spec.tls[*].secretName
  kubectl get certificate -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,SECRET:.spec.secretName,DNS:.spec.dnsNames
Add the host to the owning Certificate's spec.dnsNames (registry-cert covers registry.<domain> and mcp.<domain>; the platform host has its own mcp-sentinel-platform-tls), or have clients use a name it covers. An IP address needs an IP SAN; prefer a DNS name."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-cert-expired",
        title: "Renew the certificate",
        text: r#"Find out why it was not renewed. If no Certificate writes the Secret, give it its owner back: rerun setup --with-tls, or for the platform host re-add the issuer annotation to its Ingress (ingress-shim then creates the Certificate):
  kubectl get certificate -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,SECRET:.spec.secretName,READY:.status.conditions[0].status
  kubectl -n mcp-sentinel annotate ingress mcp-sentinel-platform-ui cert-manager.io/cluster-issuer=<issuer>
If a Certificate owns it, certmanager.certificates names the failing Order or Challenge; fix that, then reissue:
  cmctl renew -n {namespace} <certificate>
Without cmctl, deleting the Secret makes cert-manager issue it again:
  kubectl -n {namespace} delete secret {secret}
A certificate that is "not valid yet" was issued by a CA whose clock runs ahead: check the issuer's time (timedatectl on the CA host)."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-self-signed",
        title: "Replace the self-signed certificate",
        text: r#"{host} serves a self-signed certificate. Issue it from a CA clients trust: --acme-email for Let's Encrypt, or --tls-cluster-issuer <issuer> for your enterprise CA, then rerun setup --with-tls. If the self-signed certificate is intentional (a lab), trust it explicitly when probing:
  mcp-doctor doctor --ca-file {ca_file}"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-intermediate-missing",
        title: "Serve the full chain (leaf plus intermediates)",
        text: r#"{host} sends only its leaf certificate. Clients without the intermediate cannot build a chain to a root. tls.crt must hold the leaf followed by every intermediate:
  cat leaf.crt intermediate.crt > fullchain.crt
  kubectl -n <namespace> create secret tls <secret> --cert=fullchain.crt --key=leaf.key --dry-run=client -o yaml | kubectl apply -f -
cert-manager writes the full chain itself; a hand-made Secret (--provided-tls-secrets) must include it. If the issuer named in the message is your private root, trust it instead:
  mcp-doctor doctor --ca-file {ca_file}"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-untrusted-ca",
        title: "Chain to a CA the clients trust",
        text: r#"The chain {host} serves ends at a CA that is not trusted here. For enterprise PKI, pass that CA when probing and make sure every node and client trusts it:
  mcp-doctor doctor --ca-file {ca_file}
  sudo cp ca.crt /usr/local/share/ca-certificates/corp-ca.crt && sudo update-ca-certificates   # on each node, then restart k3s/containerd
Otherwise issue the certificate from a public CA (--acme-email) and rerun setup --with-tls."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-cert-names",
        title: "Make registry-cert cover the registry and MCP hosts",
        text: r#"registry/registry-cert must list both public names, and it writes registry/registry-tls. Rerun setup with MCP_PLATFORM_DOMAIN set (or both MCP_REGISTRY_INGRESS_HOST and MCP_MCP_INGRESS_HOST), or patch the Certificate; cert-manager reissues:
  kubectl -n registry get certificate registry-cert -o jsonpath='{.spec.dnsNames}'
  kubectl -n registry patch certificate registry-cert --type merge -p '{"spec":{"dnsNames":{names_json}}}'
  kubectl -n registry get certificate registry-cert -w"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-cert-names",
        title: "Make the platform certificate cover the platform host",
        text: r#"platform.<domain> is owned by the mcp-sentinel-platform-ui Ingress; ingress-shim issues its certificate into mcp-sentinel/mcp-sentinel-platform-tls (registry-cert is not expected to cover it). Check that the Ingress's tls hosts name {names}, then reissue:
  kubectl -n mcp-sentinel get ingress mcp-sentinel-platform-ui -o jsonpath='{.spec.tls}'
  kubectl -n mcp-sentinel delete secret mcp-sentinel-platform-tls"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-secret-double-owner",
        title: "Keep one Certificate per TLS Secret",
        text: r#"Keep Certificate {keep} for Secret {namespace}/{secret} and remove the other owner. If an Ingress carries a cert-manager.io/cluster-issuer (or issuer) annotation, ingress-shim recreates its Certificate, so remove the annotation first (the registry Ingress must not carry one):
  kubectl -n {namespace} annotate ingress {ingress} cert-manager.io/cluster-issuer- cert-manager.io/issuer-
  kubectl -n {namespace} delete certificate {stale}
  kubectl -n {namespace} get certificate {keep} -w
Then apply TLS again (setup --with-tls refuses while another Certificate references registry-tls)."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.certificate-not-ready",
        title: "Follow the Certificate's issuance chain",
        text: r#"Walk Certificate -> CertificateRequest -> Order -> Challenge and read each status:
  kubectl -n {namespace} describe certificate {certificate}
  kubectl -n {namespace} get certificaterequest,order,challenge
  kubectl -n {namespace} describe challenge
  kubectl -n cert-manager logs deploy/cert-manager --tail=100
Fix what the newest of them reports, then let cert-manager retry (cmctl renew -n {namespace} {certificate})."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-secret-missing",
        title: "Restore the TLS Secret's owner",
        text: r#"Secret {namespace}/{secret} is missing, unreadable or has no Certificate renewing it. Rerun setup --with-tls so it applies the platform's Certificates, or restore the Secret from your encrypted TLS backup (hack/deploy/mcpruntime-org/setup.sh restores what clean.sh --yes saved):
  kubectl -n {namespace} get secret {secret}
  kubectl get certificate -A"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-pull-host-ip",
        title: "Pull by a name the registry certificate covers, not the ClusterIP",
        text: r#"Kubelets verify the registry certificate against the exact image host, and the certificate has no IP SANs. Do not use the registry Service ClusterIP ({pull_host}). On the public TLS path use the public name, which the ingress serves with registry-tls:
  export MCP_REGISTRY_ENDPOINT={registry_host}
or, for bundled HTTPS inside the cluster, leave MCP_REGISTRY_ENDPOINT unset so images use registry.registry.svc.cluster.local:5000 (make nodes resolve that name and trust cert-manager/mcp-runtime-ca). Then rerun setup so image refs are rendered again."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-internal-cert-names",
        title: "Reissue the internal registry certificate for the pull host",
        text: r#"registry/registry-internal-tls must cover registry.registry.svc.cluster.local and the rendered pull host. Rerun setup with the MCP_REGISTRY_ENDPOINT you pull by, so it reissues the internal certificate; it lacks {missing}:
  kubectl -n registry get certificate
  kubectl -n registry delete secret registry-internal-tls   # cert-manager issues it again"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.cert-manager-install",
        title: "Install cert-manager",
        text: r#"TLS needs cert-manager. Either let setup install it (drop --skip-cert-manager-install) or install it first:
  helm repo add jetstack https://charts.jetstack.io
  helm install cert-manager jetstack/cert-manager -n cert-manager --create-namespace --set crds.enabled=true
  kubectl -n cert-manager rollout status deploy/cert-manager-webhook"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.cert-manager-not-ready",
        title: "Get cert-manager's pods ready",
        text: r#"Look at why the cert-manager deployments in {namespace} are not ready:
  kubectl -n {namespace} get deploy,pods -o wide
  kubectl -n {namespace} describe pods
  kubectl -n {namespace} logs deploy/cert-manager-webhook --tail=50
Usual causes: images cannot be pulled, the webhook's port is blocked between the API server and the nodes, or the pods are Pending for lack of resources."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.cluster-issuer-missing",
        title: "Create the ClusterIssuer setup will use",
        text: r#"--tls-cluster-issuer {issuer} must name an existing, Ready ClusterIssuer (install cert-manager and your enterprise issuer first), or pass the name that exists:
  kubectl get clusterissuers
  kubectl apply -f {issuer}-clusterissuer.yaml
  kubectl wait clusterissuer/{issuer} --for=condition=Ready --timeout=60s"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.cluster-issuer-not-ready",
        title: "Make the ClusterIssuer Ready",
        text: r#"Read the issuer's Ready condition and fix what it names (a missing CA key pair Secret in the cert-manager namespace, an ACME account that cannot register, an unreachable Vault):
  kubectl describe clusterissuer {issuer}
  kubectl -n cert-manager get secrets
  kubectl -n cert-manager logs deploy/cert-manager --tail=100 | grep -i {issuer}"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.http01-solver-class",
        title: "Solve HTTP-01 through Traefik",
        text: r#"The HTTP-01 solver of ClusterIssuer {issuer} creates Ingresses of class {class}, which no controller serves here. Point it at Traefik:
  kubectl patch clusterissuer {issuer} --type json -p '[{"op":"replace","path":"/spec/acme/solvers/0/http01/ingress","value":{"ingressClassName":"traefik"}}]'"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.acme-self-check-failed",
        title: "Let the HTTP-01 challenge reach cert-manager's solver",
        text: r#"cert-manager's self check of http://{host}/.well-known/acme-challenge/ did not reach the solver. {host} must resolve to the ingress node, port 80 must reach Traefik's web entrypoint (service port 80, not 8000), and a proxy in front must pass /.well-known/acme-challenge/* through without auth or redirects:
  getent hosts {host}
  kubectl -n kube-system get svc traefik -o wide
  kubectl -n {namespace} get ingress,svc,pods -l acme.cert-manager.io/http01-solver=true
  curl -i http://{host}/.well-known/acme-challenge/{token}
A Traefik "404 page not found" means the solver Ingress is not served (wrong ingress class, or another controller owns port 80). cert-manager retries by itself once the path answers 200."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.acme-challenge-nxdomain",
        title: "Publish the DNS record the challenge needs",
        text: r#"{host} does not resolve. Create its A/AAAA record pointing at the ingress node's public address (platform, registry and mcp all need one), then check from outside the cluster:
  dig +short {host}
  kubectl run dns-check --rm -i --restart=Never --image=busybox:1.36 -- nslookup {host}
For private-only DNS, Let's Encrypt HTTP-01 cannot work: use --tls-cluster-issuer with your enterprise CA."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.acme-rate-limited",
        title: "Wait out the Let's Encrypt rate limit; restore instead of reissuing",
        text: r#"Let's Encrypt refuses new orders for these names until the time in the message. Do not delete Secrets or reinstall meanwhile; if you have a backup of the TLS Secrets, restore it:
  kubectl apply -f registry-tls.backup.yaml -f mcp-sentinel-platform-tls.backup.yaml
Before the next reinstall back them up (hack/deploy/mcpruntime-org/clean.sh --yes) and restore after setup (hack/deploy/mcpruntime-org/setup.sh). Keep backups encrypted and out of git: TLS Secrets contain private keys."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.le-duplicate-budget",
        title: "Stop reissuing; back up and restore TLS across reinstalls",
        text: r#"Let's Encrypt allows 5 duplicate certificates per exact set of names ({names}) per 7 days; the budget frees up from {until}. Until then do not wipe the namespaces or delete TLS Secrets. Before a reinstall, back up the TLS Secrets and Certificates and restore them afterwards:
  hack/deploy/mcpruntime-org/clean.sh --yes     # backs up platform-runtime TLS before delete
  hack/deploy/mcpruntime-org/setup.sh           # restores it after setup
Keep the backups encrypted and out of git: TLS Secrets contain private keys."#,
        per_distribution: &[],
    },
];
