//! Remediations for the public names: DNS records, resolvers, the front door, CAA.

use crate::RemediationDef;

pub static DNS: &[RemediationDef] = &[
    RemediationDef {
        id: "rem.dns-missing-record",
        title: "Create the public DNS records for the platform hosts",
        text: r#"{host} does not resolve ({why}). Create an A record (and an AAAA record only if the ingress node really serves IPv6) for each public host at your DNS provider:
  platform.<domain>  A  <ingress-public-ip>
  registry.<domain>  A  <ingress-public-ip>
  mcp.<domain>       A  <ingress-public-ip>
A CNAME is fine if its target resolves; a CNAME whose target does not exist is a dangling record: fix or remove it.
Check from here and from inside the cluster, then re-run the doctor:
  dig +short {host} A
  dig +short {host} AAAA
  getent hosts {host}
  kubectl run dns-check --rm -i --restart=Never --image=busybox:1.36 -- nslookup {host}
cert-manager reports NXDOMAIN until this resolves; Let's Encrypt HTTP-01 needs it too."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.dns-server-failure",
        title: "Make the DNS servers answer for the platform hosts",
        text: r#"{resolver} could not answer for {host} ({why}). This is the zone or the server, not the record:
  dig {host} A @<server>          # status: SERVFAIL / REFUSED, or no reply
  dig +trace {host}               # which delegation step fails
Usual causes: the zone failed to load on the authoritative server (a syntax error, an expired DNSSEC signature), a broken delegation (NS records at the registrar point at servers that do not serve the zone), a firewall dropping port 53 (UDP and TCP), or a resolver that refuses recursion for this client. Let's Encrypt treats SERVFAIL and timeouts as a failed validation."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.dns-point-at-ingress",
        title: "Point the public DNS records at the ingress node",
        text: r#"{host} resolves to {addresses}, but Traefik receives public traffic at {expected}. Change the A/AAAA records of {host} to the ingress address and remove any other value (Let's Encrypt tries AAAA first and does not fall back when it answers wrongly):
  {host}  A  {expected_first}
Verify:
  dig +short {host}
If a CDN, WAF or reverse proxy is meant to be in front, say so with --front-door proxy; for an internal load balancer, --front-door internal."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.dns-proxy-bypassed",
        title: "Point the public DNS records at the proxy, not the origin",
        text: r#"With --front-door proxy, {host} should resolve to the proxy, but it resolves to the origin {addresses}, so clients bypass the proxy and the origin is exposed. At the proxy provider, enable proxying for the record (Cloudflare: orange cloud, "Proxied"), or point the record at the proxy's address or hostname; then restrict the origin firewall to the proxy's source ranges.
During the first certificate issuance the guide suggests the opposite on purpose (DNS-only until cert-manager has issued): run with --front-door direct then."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.dns-split-horizon",
        title: "Make every resolver give the same answers for the platform hosts",
        text: r#"{host} resolves differently depending on who asks: {disagreement}. Nodes, cert-manager and Let's Encrypt each use their own resolver, so a split answer makes one of them reach the wrong place.
Look for an /etc/hosts entry, an internal DNS zone that shadows the public one, or a record changed recently whose old value is still cached:
  getent hosts {host}
  grep -n '{host}' /etc/hosts
  dig +short {host} @<each server>
Remove the stale override or make the internal zone carry the same records. If the split is intended (internal LB for internal clients), run with --front-door internal."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.dns-reserved-address",
        title: "Let's Encrypt cannot validate a host in private or reserved address space",
        text: r#"{host} resolves to {addresses} ({range}), which Let's Encrypt refuses to connect to, so --acme-email (HTTP-01) cannot issue a certificate for it.
Either publish a public address for {host} (the ingress node's public IP, or the proxy in front of it), or keep the names internal and issue from your enterprise CA instead of --acme-email:
  mcp-runtime setup ... --with-tls --tls-cluster-issuer <issuer-name>
or pre-create the TLS secrets. See the guide's "Internal Enterprise Proxy or Load Balancer"."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.dns-caa",
        title: "Allow Let's Encrypt in the domain's CAA records",
        text: r#"The CAA records at {caa_owner} ({caa_records}) decide which CAs may issue for {host}, and they do not let Let's Encrypt issue with HTTP-01. Add an issue record for Let's Encrypt at {caa_owner} (keep your other CAs):
  {caa_owner}.  CAA  0 issue "letsencrypt.org"
If a validationmethods parameter is used, it must include http-01:
  {caa_owner}.  CAA  0 issue "letsencrypt.org; validationmethods=http-01"
Remove records with the critical flag (128) and a tag Let's Encrypt does not know. Check:
  dig +short {caa_owner} CAA"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.dns-in-cluster",
        title: "Let the cluster's DNS resolve the public hosts",
        text: "Pods resolve through CoreDNS, which forwards to the nodes' resolvers (or its own forward plugin). Give it an upstream that knows {host}, or pin the name in CoreDNS's NodeHosts, then ask again from a pod:\n  kubectl -n kube-system get configmap coredns -o yaml\n  kubectl -n kube-system edit configmap coredns   # forward . <resolver that knows {host}>, or a NodeHosts line\n  kubectl -n kube-system rollout restart deploy/coredns\nOn k3s, `--resolv-conf /etc/k3s-resolv.conf` on the server sets CoreDNS's upstream for good.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.probe-image",
        title: "Use a probe image the nodes can pull",
        text: "The probe pod (image {image}) did not finish. See why, then pass an image with busybox (sh, nslookup, awk) that every node can pull, e.g. a copy in your own registry:\n  kubectl -n default get events --field-selector involvedObject.kind=Pod | grep mcp-doctor\n  mcp-doctor doctor --probe-pods --probe-image registry.example.com/library/busybox:1.36",
        per_distribution: &[],
    },
];
