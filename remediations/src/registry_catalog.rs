//! Remediations for the nodes' container runtime registry configuration (containerd, k3s registries.yaml).

use crate::{Distribution, RemediationDef};

pub static REGISTRY: &[RemediationDef] = &[
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
