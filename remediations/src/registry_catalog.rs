//! Remediations for the nodes' container runtime registry configuration (containerd, k3s registries.yaml).

use crate::{Distribution, RemediationDef};

pub static REGISTRY: &[RemediationDef] = &[
    RemediationDef {
        id: "rem.registry-hosts-entry",
        title: "Make every node resolve the registry name",
        text: r#"{nodes} cannot resolve {name}: the kubelet pulls through the node's own resolver (not CoreDNS), and only /etc/hosts knows a .local name.
Add the line on each listed node (the other nodes map {name} to {address}):
  echo "{address} {name}" | sudo tee -a /etc/hosts
  getent hosts {name}        # prints {address}
The snippet below is the complete node configuration for that registry on this distribution."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.containerd-ca-trust",
        title: "Make every node trust the CA that issued the registry's certificate",
        text: r#"containerd on {nodes} does not trust {ca}, which issued the certificate {image_host} serves: every pull fails with `x509: certificate signed by unknown authority`.
Export the CA certificate (public part only) and install it on each listed node:
  kubectl -n registry get secret registry-internal-tls -o jsonpath='{.data.ca\.crt}' | base64 -d > mcp-runtime-ca.crt
  openssl x509 -in mcp-runtime-ca.crt -noout -fingerprint -sha256   # {fingerprint}
  sudo install -D -m 0644 mcp-runtime-ca.crt {ca_file}
then point the registry configuration at it (snippet below)."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.containerd-node-drift",
        title: "Give every node that runs platform pods the same registry configuration",
        text: r#"The nodes that can schedule platform pods do not share one registry configuration: {why}.
Apply the same configuration to {nodes} (snippet below, generated from what the other nodes have), or keep platform pods off them with a taint and matching tolerations on the nodes you prepared:
  kubectl taint node <node> mcp-runtime/registry=unprepared:NoSchedule"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.containerd-insecure-in-prod",
        title: "Replace insecure registry settings with HTTPS and a trusted CA",
        text: r#"The production profile forbids what the dev path uses: {why}.
Serve the registry over HTTPS (setup --registry-mode bundled-https, or a managed registry), publish its name in DNS, make every node trust its CA, and remove the insecure entries, the plain-HTTP endpoints and the /etc/hosts registry lines from {nodes}. The snippet below is the production configuration for this distribution."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.collect-host-facts",
        title: "Collect complete node facts",
        text: r#"Some node facts are missing, so the check cannot judge those nodes. On each node run:
  sudo mcp-doctor host-facts -o /tmp/$(hostname).json
copy the files into one directory and pass it with --host-facts DIR (or run mcp-doctor on the node with --host-root /)."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.image-pull-auth",
        title: "Give the kubelet credentials for the registry",
        text: r#"The registry refused the pull of {image} on {node} ({why}): the kubelet sent no or wrong credentials.
Create or fix the pull secret in {namespace} and reference it from the pod's service account:
  kubectl -n {namespace} create secret docker-registry {secret} --docker-server={image_host} --docker-username=<user> --docker-password=<password>
  kubectl -n {namespace} patch serviceaccount default -p '{"imagePullSecrets":[{"name":"{secret}"}]}'
  kubectl -n {namespace} delete pod {pod}    # retried with the secret"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.image-pull-refused",
        title: "Make the registry reachable from the node",
        text: r#"Nothing accepted the connection when {node} pulled {image} ({why}). Check the registry pod and Service, and that the address is reachable from the node (a ClusterIP such as 10.43.x.x:5000 is reached through kube-proxy only while the Service has ready endpoints):
  kubectl -n registry get pods,svc,endpointslices
  curl -sS http://127.0.0.1:32000/v2/    # on {node}, through the NodePort
Prefer a stable pull host over a ClusterIP: a mirror to http://127.0.0.1:<NodePort> (snippet below)."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.containerd-mirror",
        title: "Tell containerd on each node how to reach the image registry",
        text: r#"containerd on {nodes} cannot pull from {image_host}: {why}.
Give it a hosts.toml for that registry on every listed node (config_path must name /etc/containerd/certs.d in /etc/containerd/config.toml; files under it are read on each pull, no restart needed):
  sudo mkdir -p "/etc/containerd/certs.d/{image_host}"
  sudoedit "/etc/containerd/certs.d/{image_host}/hosts.toml"   # the snippet below
Then retry a pull on the node:
  sudo crictl pull {image}"#,
        per_distribution: &[(
            Distribution::K3s,
            r#"containerd on {nodes} cannot pull from {image_host}: {why}.
Put this mirror in /etc/rancher/k3s/registries.yaml on every listed node (the key is the registry host exactly as images name it, with its port and without a scheme; the endpoint says http:// for a plain-HTTP registry), then restart k3s there, because k3s reads the file only at start:
  sudoedit /etc/rancher/k3s/registries.yaml   # the snippet below
  sudo systemctl restart k3s                  # k3s-agent on agent nodes
Then retry a pull on the node:
  sudo k3s crictl pull {image}"#,
        )],
    },
    RemediationDef {
        id: "rem.containerd-config",
        title: "Fix the node's registry configuration file",
        text: r#"{file} on {node} is not what containerd or k3s can use: {why}.
Fix the file (the line and column above point at the first problem), then check it:
  sudo cat -A {file} | sed -n '1,40p'
A mirror key is the registry host exactly as images name it (`registry.local:32000`), never a URL; `mirrors` and `config_path` cannot both be set in containerd's config.toml. Restart the runtime after changing config.toml or registries.yaml (hosts.toml is re-read on each pull):
  sudo systemctl restart containerd"#,
        per_distribution: &[(
            Distribution::K3s,
            r#"{file} on {node} is not what containerd or k3s can use: {why}.
Fix the file (the line and column above point at the first problem). A mirror key is the registry host exactly as images name it (`registry.local:32000`), never a URL. Then restart k3s on that node, because k3s reads registries.yaml only at start:
  sudo systemctl restart k3s                  # k3s-agent on agent nodes
  sudo cat /var/lib/rancher/k3s/agent/etc/containerd/certs.d/*/hosts.toml   # what k3s rendered"#,
        )],
    },
    RemediationDef {
        id: "rem.registry-mode",
        title: "Run setup with the registry mode you mean",
        text: r#"The registry mode is not one setup can use, or the cluster does not match it. Setup accepts auto, bundled-http, bundled-https or external. Rerun setup with the mode you mean, e.g. the bundled registry over HTTPS (setup creates registry/registry-internal-tls from cert-manager/mcp-runtime-ca and restarts the registry on it):
  ./bin/mcp-runtime setup --registry-mode bundled-https --with-tls
or the plain HTTP registry for a lab cluster (nodes then need an insecure mirror for the exact image host):
  ./bin/mcp-runtime setup --registry-mode bundled-http
Check what the cluster holds afterwards:
  kubectl -n registry get secret registry-internal-tls"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-service-missing",
        title: "Recreate the bundled registry Service",
        text: r#"The bundled registry ({mode}) has no usable Service registry/registry on port 5000. Rerun setup, which recreates the registry's Deployment, Service and storage:
  ./bin/mcp-runtime setup --registry-mode {mode}
then confirm:
  kubectl -n registry get svc registry -o wide    # 5000:32000/TCP, type NodePort"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-node-port",
        title: "Publish the registry on NodePort 32000",
        text: r#"Service registry/registry publishes port 5000 on NodePort {actual} instead of {node_port}, where the nodes' mirrors (http://127.0.0.1:{node_port}) and hosts entries (registry.local:{node_port}) point. Put it back:
  kubectl -n registry patch svc registry --type=json -p '[{"op":"replace","path":"/spec/type","value":"NodePort"},{"op":"add","path":"/spec/ports/0/nodePort","value":{node_port}}]'
  kubectl -n registry get svc registry    # 5000:{node_port}/TCP"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-storage",
        title: "Get the registry's storage PVC Bound",
        text: r#"PVC {namespace}/{pvc} is {phase}, so the registry pod cannot start. See why:
  kubectl -n {namespace} describe pvc {pvc}
  kubectl get storageclass        # exactly one should be (default)
A Pending claim needs a StorageClass that provisions (or a free PersistentVolume that matches it). Once one exists, recreate the claim by rerunning setup:
  ./bin/mcp-runtime setup
Keep registry/registry-storage when it is Bound: deleting it wipes every pushed image."#,
        per_distribution: &[(
            Distribution::K3s,
            r#"PVC {namespace}/{pvc} is {phase}, so the registry pod cannot start. See why:
  kubectl -n {namespace} describe pvc {pvc}
  kubectl get storageclass        # k3s ships local-path as (default)
  kubectl -n kube-system get deploy local-path-provisioner
local-path binds only when the registry pod is scheduled (WaitForFirstConsumer): a Pending claim with a Pending pod means the pod cannot be scheduled (kubectl -n {namespace} get pods). If local-path-provisioner is gone, restart k3s on the server (sudo systemctl restart k3s) to redeploy it, then rerun setup."#,
        )],
    },
    RemediationDef {
        id: "rem.registry-unreachable",
        title: "Bring the bundled registry back on its NodePort",
        text: r#"The registry ({mode}) does not answer /v2/ at {address}. Look at the registry pod and its Service:
  kubectl -n {namespace} get pods,svc,endpoints -o wide
  kubectl -n {namespace} logs deploy/registry --tail=50
From a node (this bypasses the public ingress and its auth):
  curl -sk https://127.0.0.1:32000/v2/ -o /dev/null -w '%{http_code}\n'   # bundled-https
  curl -s  http://127.0.0.1:32000/v2/  -o /dev/null -w '%{http_code}\n'   # bundled-http
200 or 401 is healthy. If the node answers and this machine does not, a firewall blocks the NodePort from here: pass --registry-url with an address that reaches it (e.g. a kubectl -n registry port-forward svc/registry 5000)."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-scheme-mismatch",
        title: "Serve the registry over the scheme the install implies",
        text: r#"The registry at {address} does not speak the scheme the install implies (HTTPS exactly when Secret {namespace}/registry-internal-tls exists). Restart it so it reads its current TLS configuration:
  kubectl -n {namespace} rollout restart deploy/registry
  kubectl -n {namespace} rollout status deploy/registry
If it still answers the other scheme, rerun setup with the mode you mean (--registry-mode bundled-https --with-tls, or bundled-http), so the Secret, the registry's configuration and the nodes' mirrors agree."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-public-route-misrouted",
        title: "Route registry.<domain>/v2/ to the registry",
        text: r#"Traefik answers https://{host}/v2/ with its own "404 page not found": no router matches that host and path. Check the registry Ingress, its class, host rules, TLS secret and middleware:
  kubectl -n {namespace} get ingress {ingress} -o yaml
  kubectl get ingressclass traefik
  kubectl -n kube-system logs deploy/traefik --tail=50 | grep -i -e registry -e middleware
The rule host must be {host}, the class the active Traefik's, and the registry-admin-auth@file middleware must exist (a missing middleware drops the router). To fix the host:
  kubectl -n {namespace} patch ingress {ingress} --type=json -p '[{"op":"replace","path":"/spec/rules/0/host","value":"{host}"}]'"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-public-route-proxy",
        title: "Let the front door pass registry traffic",
        text: r#"Something in front of the registry answers https://{host}/v2/ instead of it (an HTML page, a body-size limit, a 5xx or a timeout). In the proxy, CDN or WAF in front of {host}:
- pass /v2/ unchanged (no HTML error or login pages, no caching);
- allow large request bodies (image layers: set no limit, or several GiB) and long uploads;
- pass Authorization and x-api-key headers and range requests.
Then test through the front door and directly at the ingress address:
  curl -i https://{host}/v2/
  curl -ik --resolve {host}:443:<ingress-ip> https://{host}/v2/
401 or 403 without credentials is healthy. A 502/503 from Traefik means the registry pod behind the route is down: kubectl -n {namespace} get pods"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-public-route-open",
        title: "Put the registry route behind the admin guard",
        text: r#"https://{host}/v2/ answers 200 without credentials: anyone who can reach it can push and pull. The registry Ingress should carry the admin guard:
  kubectl -n {namespace} annotate ingress {ingress} --overwrite traefik.ingress.kubernetes.io/router.middlewares=registry-admin-auth@file
  curl -i https://{host}/v2/    # 401 or 403 expected"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-api-key-rejected",
        title: "Use an admin API key the platform accepts",
        text: r#"The registry route is up, but the admin guard refused the API key. Use a current admin key (the platform's API_KEYS in mcp-sentinel/mcp-sentinel-secrets, or one issued to an admin), passed in the environment rather than on a command line:
  export MCP_ADMIN_API_KEY=...          # read from your secret store
  curl -sk -I -H "x-api-key: $MCP_ADMIN_API_KEY" https://{host}/v2/    # 200 and docker-distribution-api-version: registry/2.0"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-ingress-hosts",
        title: "Make the registry Ingress hosts match the registry host",
        text: r#"The registry Ingress must route, and hold TLS for, {host}. Patch rule {rule} (and the TLS hosts) to it:
  kubectl -n registry patch ingress registry --type=json -p '[{"op":"replace","path":"/spec/rules/{rule}/host","value":"{host}"}]'
  kubectl -n registry get ingress registry -o jsonpath='{.spec.rules[*].host} / {.spec.tls[*].hosts}{"\n"}'
or rerun setup with the intended MCP_PLATFORM_DOMAIN / MCP_REGISTRY_INGRESS_HOST, which renders the Ingress and the registry-cert Certificate again."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-pull-secret",
        title: "Recreate the image pull secret for the image host",
        text: r#"Secret {namespace}/{secret} must be a kubernetes.io/dockerconfigjson Secret with an entry for {image_host}. Recreate it (read the password from your secret store, not the command line history):
  kubectl -n {namespace} delete secret {secret} --ignore-not-found
  kubectl -n {namespace} create secret docker-registry {secret} --docker-server={image_host} --docker-username=<user> --docker-password="$REGISTRY_PASSWORD"
Then restart the workloads that reference it so kubelet retries the pulls:
  kubectl -n {namespace} get pods | grep -e ImagePull -e ErrImage"#,
        per_distribution: &[],
    },
];
