//! Remediations for the ingress checks: Traefik, its Service, LoadBalancer providers and k3s ServiceLB.

use crate::{Distribution, RemediationDef};

pub static INGRESS: &[RemediationDef] = &[
    // --- Traefik ---
    RemediationDef {
        id: "rem.traefik-missing",
        title: "Install Traefik, or let setup install it",
        text: "Setup with --ingress none expects a running Traefik. Either let setup install the repo-managed one (run it with --ingress traefik, the default), or install Traefik yourself and name its namespace in PLATFORM_TRAEFIK_NAMESPACE.",
        per_distribution: &[(
            Distribution::K3s,
            "k3s ships Traefik unless the server runs with --disable traefik. The k3s guide keeps k3s's Traefik: remove --disable traefik from the server's arguments (or `disable: [traefik]` from /etc/rancher/k3s/config.yaml) and restart it:\n  sudo systemctl restart k3s\n  kubectl -n kube-system get helmchart traefik\n  kubectl -n kube-system rollout status deploy/traefik\nthen run setup with --ingress none, PLATFORM_TRAEFIK_NAMESPACE=kube-system and PLATFORM_TEAM_TRAEFIK_WATCH=disabled. Otherwise run setup with --ingress traefik to install the repo-managed Traefik.",
        )],
    },
    RemediationDef {
        id: "rem.traefik-ingressclass",
        title: "Recreate the IngressClass traefik",
        text: "Create the class Traefik watches:\n  kubectl apply -f - <<'EOF'\n  apiVersion: networking.k8s.io/v1\n  kind: IngressClass\n  metadata:\n    name: traefik\n  spec:\n    controller: traefik.io/ingress-controller\n  EOF\nTraefik in {namespace} must run with its Kubernetes Ingress provider on (the chart's default).",
        per_distribution: &[(
            Distribution::K3s,
            "k3s's Traefik chart creates the class unless its values turn it off. Let the chart own it again:\n  kubectl apply -f - <<'EOF'\n  apiVersion: helm.cattle.io/v1\n  kind: HelmChartConfig\n  metadata:\n    name: traefik\n    namespace: kube-system\n  spec:\n    valuesContent: |-\n      ingressClass:\n        enabled: true\n        isDefaultClass: true\n  EOF\nor create it directly (for a Traefik in {namespace} not deployed by k3s):\n  kubectl apply -f - <<'EOF'\n  apiVersion: networking.k8s.io/v1\n  kind: IngressClass\n  metadata:\n    name: traefik\n  spec:\n    controller: traefik.io/ingress-controller\n  EOF",
        )],
    },
    RemediationDef {
        id: "rem.traefik-unready",
        title: "Get Traefik ready",
        text: "See why its pods are not ready:\n  kubectl -n {namespace} describe deploy {deployment}\n  kubectl -n {namespace} get pods -l app.kubernetes.io/name=traefik -o wide\n  kubectl -n {namespace} logs deploy/{deployment}\nScheduling failures name taints or resources; a crash loop names a bad argument or CRD version.",
        per_distribution: &[(
            Distribution::K3s,
            "See why its pods are not ready:\n  kubectl -n {namespace} describe deploy {deployment}\n  kubectl -n {namespace} get pods -l app.kubernetes.io/name=traefik -o wide\n  kubectl -n {namespace} logs deploy/{deployment}\nFor k3s's bundled Traefik also look at the chart install: kubectl -n kube-system logs job/helm-install-traefik (a HelmChartConfig with bad values fails there).",
        )],
    },
    RemediationDef {
        id: "rem.traefik-single-stack",
        title: "Keep one Traefik: k3s's",
        text: "Stop the extra Traefik so only one owns ports 80 and 443:\n{remove}\nThen, as the k3s guide says, run setup with --ingress none and set in the deployment env (see config/deployments/mcpruntime-org.env.example):\n  PLATFORM_TRAEFIK_NAMESPACE=kube-system\n  PLATFORM_TEAM_TRAEFIK_WATCH=disabled\nso team create does not patch the repo-managed Traefik.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.k3s-traefik-settings",
        title: "Configure setup for k3s's Traefik",
        text: "k3s's Traefik is active in kube-system. Run setup with --ingress none so it does not install a second Traefik, and set in the deployment env (see config/deployments/mcpruntime-org.env.example):\n  PLATFORM_TRAEFIK_NAMESPACE=kube-system\n  PLATFORM_TEAM_TRAEFIK_WATCH=disabled",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.traefik-namespace-setting",
        title: "Name the running Traefik's namespace",
        text: "PLATFORM_TRAEFIK_NAMESPACE={configured} in the deployment env names no running Traefik; the active one is in {namespace}. Set\n  PLATFORM_TRAEFIK_NAMESPACE={namespace}\nor, to follow the k3s guide, keep k3s's Traefik in kube-system instead (re-enable it on the server and remove the one in {namespace}).",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.traefik-entrypoints",
        title: "Publish web on 80 and websecure on 443",
        text: "Service {service} must publish Traefik's web entrypoint on port 80 (HTTP-01 only uses 80) and websecure on 443; the containers keep listening on 8000/8443.\n{fix}",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.traefik-not-exposed",
        title: "Expose Traefik outside the cluster",
        text: "Make Traefik's Service in {namespace} a LoadBalancer (chart value service.type=LoadBalancer, the default) so a LoadBalancer provider gives it an address, or a NodePort Service behind an external load balancer:\n  kubectl -n {namespace} get svc -l app.kubernetes.io/name=traefik",
        per_distribution: &[],
    },
    // --- LoadBalancer providers ---
    RemediationDef {
        id: "rem.lb-pending-local",
        title: "Reach a pending LoadBalancer on a local cluster",
        text: "Nothing gives LoadBalancer Services an address here; use the Service's NodePorts ({ports}) on a node address, or install MetalLB with a pool of local addresses.",
        per_distribution: &[
            (
                Distribution::Kind,
                "kind has no LoadBalancer provider: {service} stays <pending>. Either run cloud-provider-kind on the host (it gives LoadBalancer Services an address), or map host ports to the Service's NodePorts ({ports}) when creating the cluster:\n  kind: Cluster\n  apiVersion: kind.x-k8s.io/v1alpha4\n  nodes:\n  - role: control-plane\n    extraPortMappings:\n    - containerPort: {web_node_port}\n      hostPort: 80\n    - containerPort: {websecure_node_port}\n      hostPort: 443\n(extraPortMappings apply at `kind create cluster --config`; for a quick test: kubectl -n {namespace} port-forward svc/{name} 8080:80 8443:443).",
            ),
            (
                Distribution::Minikube,
                "minikube gives LoadBalancer Services an address only while a tunnel runs: keep\n  minikube tunnel\nrunning in another terminal ({service} then gets 127.0.0.1 or the minikube IP), or use the NodePorts ({ports}) on `minikube ip`.",
            ),
            (
                Distribution::DockerDesktop,
                "Docker Desktop publishes LoadBalancer Services on localhost through its VM; a <pending> {service} usually means another process on this machine holds 80 or 443. Free them (lsof -i :80 -i :443) and restart Docker Desktop's Kubernetes, or use the NodePorts ({ports}) on localhost.",
            ),
        ],
    },
    RemediationDef {
        id: "rem.lb-provider-missing",
        title: "Install a LoadBalancer provider",
        text: "Nothing serves LoadBalancer Services, so {service} stays <pending>. Install MetalLB with an address pool of this network:\n  kubectl apply -f https://raw.githubusercontent.com/metallb/metallb/v0.14.9/config/manifests/metallb-native.yaml\n  kubectl apply -f - <<'EOF'\n  apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata:\n    name: public\n    namespace: metallb-system\n  spec:\n    addresses:\n    - <first-ip>-<last-ip>\n  ---\n  apiVersion: metallb.io/v1beta1\n  kind: L2Advertisement\n  metadata:\n    name: public\n    namespace: metallb-system\n  EOF\nor kube-vip, or your cloud's controller; or switch Traefik's Service to NodePort behind an external load balancer.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.lb-provider-pending",
        title: "Find why the LoadBalancer provider gives no address",
        text: "{providers} runs but {service} has no address: check its address pools and logs, e.g. for MetalLB\n  kubectl -n metallb-system get ipaddresspools,l2advertisements\n  kubectl -n metallb-system logs deploy/controller\n  kubectl describe service -n <namespace> <name>    # the events name the allocation error",
        per_distribution: &[],
    },
    // --- k3s ServiceLB ---
    RemediationDef {
        id: "rem.servicelb-disabled",
        title: "Re-enable k3s ServiceLB (or install another provider)",
        text: "The k3s server {server} runs with {arg}, so no svclb pods exist and LoadBalancer Services stay <pending>. The k3s guide relies on ServiceLB: remove the flag from the server's arguments (in the k3s systemd unit, or `disable: [servicelb]` in /etc/rancher/k3s/config.yaml) and restart it on {server}:\n  sudo systemctl restart k3s\n  kubectl -n kube-system get ds -l svccontroller.k3s.cattle.io/svcname=traefik\nIf ServiceLB was disabled on purpose, install MetalLB or kube-vip instead (see rem.lb-provider-missing).",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.servicelb-no-daemonset",
        title: "Find why ServiceLB has no pods for the Service",
        text: "ServiceLB (the k3s cloud controller) should have created a DaemonSet svclb-{name}-<uid> for {service}. Check:\n  kubectl -n kube-system get ds,pods -l svccontroller.k3s.cattle.io/svcname={name} -o wide\n  kubectl describe service -n <namespace> {name}          # events from the service-lb-controller\n  sudo journalctl -u k3s | grep -i servicelb              # on the server\nA Service with spec.loadBalancerClass is ignored by ServiceLB; so is every Service when the server runs with --disable servicelb or --disable-cloud-controller.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.svclb-host-port",
        title: "Free the host ports ServiceLB needs",
        text: "ServiceLB binds host ports {ports} on {node} for {service}, and host port {held_ports} there is already taken. Find what holds it:\n{holders}\nMove that workload off {node} (a nodeSelector or affinity away from the ingress node), drop its hostPort, or scale it down; a second LoadBalancer Service on the same port cannot share a node with Traefik's under ServiceLB (k3s #1969). Then let the DaemonSet retry:\n  kubectl -n {pod_namespace} delete pod {pod}\n  kubectl -n {pod_namespace} get pods -o wide | grep svclb",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.svclb-pod-lingering",
        title: "Let the svclb pods leave the nodes that lost the ServiceLB label",
        text: "svclb pods still run on {nodes}, which no longer carry svccontroller.k3s.cattle.io/enablelb=true, so 80/443 still answer there. The DaemonSet controller deletes them within seconds of the label change; watch them go:\n  kubectl get pods -A -o wide | grep svclb\nIf they stay, delete them (the DaemonSet does not recreate them there):\n{commands}",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.svclb-pod-stuck",
        title: "Get the svclb pod running",
        text: "svclb pod {pod_namespace}/{pod} on {node} does not run ({why}).\n  kubectl -n {pod_namespace} describe pod {pod}\nsvclb pods tolerate only the control-plane taints and CriticalAddonsOnly: remove other NoSchedule taints from {node} (kubectl taint node {node} <key>-) or move the enablelb label to a node without them. An image that cannot be pulled is rancher/klipper-lb: mirror it in /etc/rancher/k3s/registries.yaml.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.svclb-pin-ingress-node",
        title: "Pin ServiceLB to the ingress node",
        text: "Put the guide's three labels on the ingress node and take the ServiceLB label off every other node:\n{commands}\nk3s then runs svclb pods only on {node} and advertises only its address. Check:\n  kubectl get pods -A -o wide | grep svclb",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.svclb-address-mismatch",
        title: "Make the LoadBalancer address the ingress node's",
        text: "{service} advertises {addresses}. k3s advertises the ExternalIPs of the nodes running a Ready svclb pod (their InternalIPs when none has one): give the ingress node its public address with --node-external-ip <public-ip> on its k3s agent, keep svclb pods only there, and check\n  kubectl get nodes -o wide\n  kubectl get pods -A -o wide | grep svclb",
        per_distribution: &[],
    },
];
