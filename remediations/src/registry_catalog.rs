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
];
