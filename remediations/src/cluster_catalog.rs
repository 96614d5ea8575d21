//! Remediations for the cluster checks: API access, permissions, versions, core add-ons, storage.

use crate::{Distribution, RemediationDef};

pub static CLUSTER: &[RemediationDef] = &[
    // --- cluster: API access ---
    RemediationDef {
        id: "rem.no-kubeconfig",
        title: "Point mcp-doctor at the cluster",
        text: "Pass --kubeconfig PATH (or export KUBECONFIG=PATH). On a k3s server the admin kubeconfig is /etc/rancher/k3s/k3s.yaml; from a workstation copy it first (see rem.kubeconfig-loopback).",
        per_distribution: &[
            (
                Distribution::Kind,
                "kind writes the context into ~/.kube/config: `kind get kubeconfig --name kind > kind.yaml` and pass --kubeconfig kind.yaml.",
            ),
            (
                Distribution::Minikube,
                "`minikube update-context` writes the context into ~/.kube/config.",
            ),
        ],
    },
    RemediationDef {
        id: "rem.bad-kubeconfig",
        title: "Repair the kubeconfig",
        text: "Check {kubeconfig} with `kubectl config view --kubeconfig {kubeconfig}`: the current-context must exist, name a cluster and a user, and any certificate-authority / client-certificate files it names must exist. Pass --context NAME to pick another context.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.kubeconfig-loopback",
        title: "Replace 127.0.0.1 in a copied k3s kubeconfig",
        text: "The k3s kubeconfig names https://127.0.0.1:6443, which only works on the server itself. On your workstation:\n  sed -i.bak 's/127.0.0.1/<cp-node-ip>/g' {kubeconfig}\n  chmod 0600 {kubeconfig}\nand make sure port 6443 on the control-plane node is reachable from here (install k3s with --tls-san <cp-node-ip> so the certificate covers that address).",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.k3s-not-running",
        title: "Start k3s on this server",
        text: "This machine is the k3s server and its API server does not answer at {server}. See why, then start it:\n  sudo systemctl status k3s\n  sudo journalctl -u k3s --since -10m\n  sudo systemctl start k3s\nIf port {port} is held by another program (`sudo ss -ltnp 'sport = :{port}'` names it), stop that program first. Do not edit {kubeconfig}: on the server it rightly points at 127.0.0.1.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.api-loopback-down",
        title: "Start k3s here, or point the kubeconfig at the server",
        text: "{kubeconfig} points at {server}, which only works on the k3s server itself.\nIf this machine is the k3s server, k3s is not running:\n  sudo systemctl status k3s\n  sudo journalctl -u k3s --since -10m\n  sudo systemctl start k3s\nIf the file was copied from the server to this machine, replace 127.0.0.1 with the server's address:\n  sed -i.bak 's/127.0.0.1/<cp-node-ip>/g' {kubeconfig}\n  chmod 0600 {kubeconfig}\nRun with --host-root / (on this machine) so mcp-doctor can tell which case this is.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.local-cluster-down",
        title: "Start the local development cluster",
        text: "Context {context} names a local development cluster, and nothing answers at {server}. Start it: k3d `k3d cluster start {name}`, kind `docker start {name}-control-plane`, minikube `minikube start`, Docker Desktop: Settings > Kubernetes > Enable Kubernetes. Then `kubectl --context {context} get --raw /readyz` must print ok.",
        per_distribution: &[
            (
                Distribution::Kind,
                "kind runs the cluster in the container {name}-control-plane: `docker ps -a --filter name={name}-control-plane` shows whether it stopped, `docker start {name}-control-plane` starts it again (or recreate it: `kind delete cluster --name {name} && kind create cluster --name {name}`).",
            ),
            (
                Distribution::Minikube,
                "`minikube status` shows what stopped; `minikube start` starts it again (the API port changes on restart: `minikube update-context` rewrites the kubeconfig).",
            ),
            (
                Distribution::DockerDesktop,
                "Open Docker Desktop > Settings > Kubernetes, enable Kubernetes and wait until it reports Kubernetes running.",
            ),
        ],
    },
    RemediationDef {
        id: "rem.api-not-tls",
        title: "Point the kubeconfig at the API server's HTTPS port",
        text: "What answers at {server} is not a Kubernetes API server speaking TLS. On the machine behind {server}, see which program holds port {port} (`sudo ss -ltnp 'sport = :{port}'`), and check that {server} in {kubeconfig} names the API server's HTTPS address and port (k3s: 6443). If k3s should hold that port, stop the other program and `sudo systemctl restart k3s`.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.api-unreachable",
        title: "Reach the API server",
        text: "Check that {server} is the control-plane address, that the API server runs (`systemctl status k3s` on a k3s server, `kubectl get --raw /readyz` from a machine that works), and that port 6443 is open between here and the control plane. Raise --timeout if the link is merely slow.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.api-tls",
        title: "Use the cluster's own CA",
        text: "The server certificate was not issued by the CA in {kubeconfig}: copy a fresh kubeconfig from the control plane (k3s: /etc/rancher/k3s/k3s.yaml). If you reach the server by an address the certificate does not list, add it (k3s: --tls-san <address>, then restart k3s).",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.api-credentials",
        title: "Renew the credentials",
        text: "The token or client certificate in {kubeconfig} was rejected. Fetch a fresh kubeconfig from the control plane, or renew the token your identity provider issued.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.read-permissions",
        title: "Grant read access to what the checks read",
        text: "This identity lacks:\n{missing}\nRun mcp-doctor with a read-only identity bound to the `view` ClusterRole plus list on nodes, namespaces, storageclasses and customresourcedefinitions, e.g.\n  kubectl create clusterrolebinding mcp-doctor-view --clusterrole=view --user=<user>",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.version-skew",
        title: "Bring the versions into the supported skew",
        text: "Upgrade the control plane first, then every kubelet to within three minors of it (API server now: {server_version}).",
        per_distribution: &[(
            Distribution::K3s,
            "Upgrade the server, then rerun the install script on each agent with the server's version:\n  curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=<server version> K3S_URL=https://<cp-node-ip>:6443 K3S_TOKEN=<node-token> sh -s - agent",
        )],
    },
    // --- cluster: core add-ons and storage ---
    RemediationDef {
        id: "rem.coredns-missing",
        title: "Install CoreDNS",
        text: "Install CoreDNS in kube-system with your platform tooling; setup's in-cluster registry push resolves the registry Service through cluster DNS.",
        per_distribution: &[(
            Distribution::K3s,
            "On the k3s server: `mcp-runtime bootstrap --apply --provider k3s` reapplies the bundled CoreDNS manifest under /var/lib/rancher/k3s/server/manifests; also check that k3s was not installed with --disable coredns.",
        )],
    },
    RemediationDef {
        id: "rem.coredns-unready",
        title: "Get CoreDNS ready",
        text: "Inspect why: `kubectl -n kube-system describe deploy {deployment}` and `kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide`, then the events of the pods named above (taints and pressure on every node keep it Pending; a crash loop shows in `kubectl -n kube-system logs -l k8s-app=kube-dns`).",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.default-storage-class",
        title: "Mark one StorageClass default",
        text: "kubectl patch storageclass {class} -p '{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}'\nOr install a storage provisioner first (Longhorn, NFS, a CSI driver) and mark its class default.",
        per_distribution: &[(
            Distribution::K3s,
            "k3s ships local-path: kubectl patch storageclass local-path -p '{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}'\n(if k3s was installed with --disable local-storage, `mcp-runtime bootstrap --apply --provider k3s` reapplies it).",
        )],
    },
    RemediationDef {
        id: "rem.several-default-storage-classes",
        title: "Keep a single default StorageClass",
        text: "Unmark all but one, e.g.\n  kubectl patch storageclass {class} -p '{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"false\"}}}'",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.durable-storage",
        title: "Use durable storage for production",
        text: "{class} keeps volumes on one node. For production install a replicated or networked class (Longhorn, NFS, a CSI driver), make it the default, and plan registry and Sentinel backups.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.stuck-terminating",
        title: "Release what holds the deletion",
        text: "See what is left: `kubectl get namespace {namespace} -o yaml` (status.conditions name the remaining content and finalizers), then `kubectl api-resources --verbs=list --namespaced -o name | xargs -n1 kubectl get -n {namespace} --ignore-not-found`. Let the operator finish, or remove the finalizers it can no longer remove:\n  kubectl -n {namespace} patch mcpserver <name> --type=merge -p '{\"metadata\":{\"finalizers\":null}}'\nFor the CRD: kubectl patch crd mcpservers.mcpruntime.org --type=merge -p '{\"metadata\":{\"finalizers\":null}}'",
        per_distribution: &[],
    },
];
