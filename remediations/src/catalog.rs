//! The remediation catalog. One entry per fix; checks point to these ids.

use crate::{Distribution, RemediationDef};

pub static CATALOG: &[RemediationDef] = &[
    RemediationDef {
        id: "rem.node-not-ready",
        title: "Bring a NotReady node back",
        text: r#"Find out why the kubelet on {node} stopped reporting Ready:
  kubectl describe node {node}            # Conditions and Events name the cause
On the node:
  sudo systemctl status kubelet containerd
  sudo journalctl -u kubelet -n 200 --no-pager
Usual causes: the kubelet or containerd is stopped or crash-looping, the node cannot reach the API server on port 6443, the CNI plugin is not running (Ready=False with NetworkPluginNotReady), or the node ran out of disk or memory. Fix the cause, then:
  sudo systemctl restart containerd kubelet
  kubectl get node {node} -w              # wait for STATUS Ready
A node that is gone for good: kubectl drain {node} --ignore-daemonsets --delete-emptydir-data && kubectl delete node {node}"#,
        per_distribution: &[
            (
                Distribution::K3s,
                r#"Find out why k3s on {node} stopped reporting Ready:
  kubectl describe node {node}            # Conditions and Events name the cause
On the node (the service is k3s-agent on agents, k3s on the server):
  sudo systemctl status k3s-agent
  sudo journalctl -u k3s-agent -n 200 --no-pager
Usual causes: the service is stopped, the agent cannot reach https://<server>:6443 (firewall, changed server IP, wrong K3S_URL or K3S_TOKEN), flannel uses the wrong interface on a multi-NIC host (install with --flannel-iface <iface>), or the node ran out of disk or memory. Fix the cause, then:
  sudo systemctl restart k3s-agent        # k3s on the server
  kubectl get node {node} -w              # wait for STATUS Ready
A node that is gone for good: kubectl delete node {node}, and on that machine /usr/local/bin/k3s-agent-uninstall.sh"#,
            ),
            (
                Distribution::Rke2,
                r#"Find out why rke2 on {node} stopped reporting Ready:
  kubectl describe node {node}            # Conditions and Events name the cause
On the node (the service is rke2-agent on agents, rke2-server on servers):
  sudo systemctl status rke2-agent
  sudo journalctl -u rke2-agent -n 200 --no-pager
Fix the cause (service stopped, server port 9345/6443 unreachable, disk or memory exhausted), then:
  sudo systemctl restart rke2-agent       # rke2-server on servers
  kubectl get node {node} -w              # wait for STATUS Ready"#,
            ),
            (
                Distribution::Kind,
                r#"kind nodes are containers on this machine. Look at the one behind {node}:
  docker ps -a --filter name={node}
  docker exec {node} systemctl status kubelet containerd
  docker exec {node} journalctl -u kubelet -n 200 --no-pager
Restart it and watch it come back:
  docker restart {node}
  kubectl get node {node} -w
A multi-node kind cluster often does not survive a host or Docker restart; recreate it: kind delete cluster --name <name> && kind create cluster --name <name> --config <config.yaml>"#,
            ),
            (
                Distribution::Minikube,
                r#"Look at the minikube node {node}:
  minikube status
  minikube ssh -n {node} -- sudo journalctl -u kubelet -n 200 --no-pager
Restart the stopped components (keeps the cluster's state):
  minikube start
  kubectl get node {node} -w"#,
            ),
            (
                Distribution::DockerDesktop,
                r#"Restart Docker Desktop, then watch the node: kubectl get node {node} -w
If it stays NotReady, Settings > Kubernetes > Reset Kubernetes Cluster (this deletes every workload)."#,
            ),
        ],
    },
    RemediationDef {
        id: "rem.mixed-architecture",
        title: "Run the platform on nodes of one CPU architecture",
        text: r#"setup builds single-platform images (linux/amd64 or linux/arm64) and rejects mixed-architecture clusters: the platform deployments do not pin pods to an architecture, so a pod that lands on the other kind of node dies with "exec format error".
Keep the {arch} nodes and take the others ({nodes}) out of the cluster, one by one:
  kubectl drain <node> --ignore-daemonsets --delete-emptydir-data
  kubectl delete node <node>
Check with kubectl get nodes -L kubernetes.io/arch, then pin the build platform and rerun setup:
  export MCP_IMAGE_PLATFORM=linux/{arch}"#,
        per_distribution: &[(
            Distribution::K3s,
            r#"setup builds single-platform images (linux/amd64 or linux/arm64) and rejects mixed-architecture clusters: the platform deployments do not pin pods to an architecture, so a pod that lands on the other kind of node dies with "exec format error".
Keep the {arch} nodes and take the others ({nodes}) out of the cluster, one by one:
  kubectl drain <node> --ignore-daemonsets --delete-emptydir-data
  kubectl delete node <node>
  /usr/local/bin/k3s-agent-uninstall.sh        # on that machine, so it does not rejoin
Check with kubectl get nodes -L kubernetes.io/arch, then pin the build platform and rerun setup:
  export MCP_IMAGE_PLATFORM=linux/{arch}"#,
        )],
    },
    RemediationDef {
        id: "rem.image-platform-mismatch",
        title: "Build images for the nodes' architecture",
        text: r#"MCP_IMAGE_PLATFORM={platform} makes setup build images the nodes ({arch}) cannot run: their pods fail with "exec format error". Set it to the nodes' platform (or unset it, and setup detects kubernetes.io/arch itself), in the shell and in the deployment env file if you use one:
  export MCP_IMAGE_PLATFORM=linux/{arch}
then rerun setup so it rebuilds the operator, gateway proxy and Sentinel images."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.disk-pressure",
        title: "Recover a node from DiskPressure",
        text: r#"The kubelet on {node} reports DiskPressure: it evicts pods and taints the node node.kubernetes.io/disk-pressure:NoSchedule, so helper pods such as registry-pusher-* stay Pending and new Sentinel pods fail scheduling with "untolerated taint(s)".
1. Look at the node:
     kubectl describe node {node}
     df -h / && df -i /                           # on the node
2. Clear disposable build and cache data, then unused images:
     sudo rm -rf /tmp/go-build* /root/.cache/go-build
     sudo crictl rmi --prune                      # images no container uses
     docker image prune -a                        # if images are built on this node with Docker
3. If free space is back but the node still reports DiskPressure, restart the runtime so the kubelet's accounting catches up:
     sudo systemctl restart kubelet containerd
4. Verify DiskPressure=False before continuing the rollout (prints False):
     kubectl get node {node} -o jsonpath='{.status.conditions[?(@.type=="DiskPressure")].status}'
If the registry pod was unavailable during the pressure window, expect a brief wave of ErrImagePull / ImagePullBackOff until it is ready again."#,
        per_distribution: &[
            (
                Distribution::K3s,
                r#"The kubelet on {node} reports DiskPressure: it evicts pods and taints the node node.kubernetes.io/disk-pressure:NoSchedule, so helper pods such as registry-pusher-* stay Pending and new Sentinel pods fail scheduling with "untolerated taint(s)".
1. Look at the node:
     kubectl describe node {node}
     df -h / && df -h /var/lib/rancher && df -i /  # on the node
2. Clear disposable build and cache data, then unused images:
     sudo rm -rf /tmp/go-build* /root/.cache/go-build
     sudo k3s crictl rmi --prune                  # images no container uses
     docker image prune -a                        # if images are built on this node with Docker
3. If free space is back but the node still reports DiskPressure, restart k3s so the kubelet's and containerd's accounting catches up:
     sudo systemctl restart k3s                   # k3s-agent on agent nodes
4. Verify DiskPressure=False before continuing the rollout (prints False):
     kubectl get node {node} -o jsonpath='{.status.conditions[?(@.type=="DiskPressure")].status}'
If the registry pod was unavailable during the pressure window, expect a brief wave of ErrImagePull / ImagePullBackOff until it is ready again."#,
            ),
            (
                Distribution::Rke2,
                r#"The kubelet on {node} reports DiskPressure: it evicts pods and taints the node node.kubernetes.io/disk-pressure:NoSchedule, so new pods stay Pending with "untolerated taint(s)".
1. kubectl describe node {node}; on the node: df -h / && df -h /var/lib/rancher && df -i /
2. sudo rm -rf /tmp/go-build* /root/.cache/go-build
   sudo /var/lib/rancher/rke2/bin/crictl --runtime-endpoint unix:///run/k3s/containerd/containerd.sock rmi --prune
3. If free space is back but the node still reports DiskPressure: sudo systemctl restart rke2-agent (rke2-server on servers)
4. Verify DiskPressure=False before continuing (prints False):
     kubectl get node {node} -o jsonpath='{.status.conditions[?(@.type=="DiskPressure")].status}'"#,
            ),
            (
                Distribution::Kind,
                r#"The kubelet on {node} reports DiskPressure. kind nodes are containers, so it is this machine's disk (Docker's data root) that is full; new pods stay Pending with "untolerated taint(s)".
1. df -h / && docker system df
2. Clear disposable build and cache data, then unused images:
     rm -rf /tmp/go-build* ~/.cache/go-build
     docker exec {node} crictl rmi --prune        # images no container in the node uses
     docker image prune -a && docker builder prune
3. If free space is back but the node still reports DiskPressure: docker restart {node}
4. Verify DiskPressure=False before continuing (prints False):
     kubectl get node {node} -o jsonpath='{.status.conditions[?(@.type=="DiskPressure")].status}'"#,
            ),
            (
                Distribution::Minikube,
                r#"The kubelet on {node} reports DiskPressure: new pods stay Pending with "untolerated taint(s)".
1. minikube ssh -n {node} -- df -h /
2. Remove unused images inside the node:
     minikube ssh -n {node} -- sudo crictl rmi --prune
     minikube image ls                            # then minikube image rm <image> for leftovers
3. If the condition does not clear: minikube stop && minikube start
   A disk that is simply too small needs a new cluster: minikube delete && minikube start --disk-size=40g
4. Verify DiskPressure=False before continuing (prints False):
     kubectl get node {node} -o jsonpath='{.status.conditions[?(@.type=="DiskPressure")].status}'"#,
            ),
        ],
    },
    RemediationDef {
        id: "rem.node-pressure",
        title: "Relieve memory or PID pressure on a node",
        text: r#"{node} reports {condition}: the kubelet evicts pods (BestEffort ones first) and taints the node, so new pods stay Pending.
Find the consumer:
  kubectl describe node {node}                    # Allocated resources, Events
  kubectl top pods -A --sort-by=memory            # needs metrics-server (bundled with k3s)
  free -m && ps -eo pid,nlwp,rss,comm --sort=-rss | head -20    # on the node; nlwp = threads (PIDs)
Reduce the load: set memory limits on or scale down the largest workloads, stop runaway processes (a fork loop for PIDPressure), or add memory or another worker. The condition clears by itself once the kubelet sees headroom again."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.node-network-unavailable",
        title: "Repair the pod network on a node",
        text: r#"{node} reports NetworkUnavailable=True: its pod network route is not set up, so pods there cannot reach pods on other nodes.
  kubectl describe node {node}
  kubectl -n kube-system get pods -o wide --field-selector spec.nodeName={node}
Restart the CNI pod (flannel, calico, cilium, ...) on that node: kubectl -n kube-system delete pod <cni-pod-on-{node}>; its DaemonSet recreates it. Its logs name the cause (wrong interface, blocked overlay port, IP pool exhausted)."#,
        per_distribution: &[(
            Distribution::K3s,
            r#"{node} reports NetworkUnavailable=True: its pod network route is not set up, so pods there cannot reach pods on other nodes.
k3s runs flannel inside the k3s process; on the node:
  sudo journalctl -u k3s-agent -n 200 --no-pager | grep -i flannel    # k3s on the server
Common causes: flannel picked the wrong interface on a multi-NIC host (reinstall with --flannel-iface <iface> on every node), or UDP 8472 (VXLAN) is blocked between nodes. Fix it, then: sudo systemctl restart k3s-agent"#,
        )],
    },
    RemediationDef {
        id: "rem.cordoned-nodes",
        title: "Uncordon nodes that should take pods",
        text: r#"Cordoned nodes (STATUS SchedulingDisabled in kubectl get nodes) take no new pods. If the cordon was not deliberate (a drain that never finished, maintenance left behind), make them schedulable again:
  kubectl uncordon {nodes}
Keeping a node that serves something else (docs, a website) cordoned is fine, but leave the public ingress node and at least one worker schedulable."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.disk-space",
        title: "Free disk space before the kubelet's eviction thresholds",
        text: r#"{path} on {node} is close to the kubelet's eviction thresholds (nodefs.available<10%, imagefs.available<15%, inodesFree<5%). Crossing one sets DiskPressure: pods are evicted and new ones stay Pending, typically during setup's image build-and-push phase.
Find what uses the space (on the node):
  sudo du -xh --max-depth=2 {path} | sort -h | tail -20
  sudo du -x --inodes --max-depth=2 {path} | sort -n | tail -20
Free it:
  sudo crictl rmi --prune                         # images no container uses
  sudo rm -rf /tmp/go-build* /root/.cache/go-build
  sudo journalctl --vacuum-size=200M
or grow the filesystem."#,
        per_distribution: &[(
            Distribution::K3s,
            r#"{path} on {node} is close to the kubelet's eviction thresholds (nodefs.available<10%, imagefs.available<15%, inodesFree<5%). Crossing one sets DiskPressure: pods are evicted and new ones stay Pending, typically during setup's image build-and-push phase. k3s keeps images under /var/lib/rancher/k3s/agent/containerd.
Find what uses the space (on the node):
  sudo du -xh --max-depth=3 {path} | sort -h | tail -20
  sudo du -x --inodes --max-depth=3 {path} | sort -n | tail -20
Free it:
  sudo k3s crictl rmi --prune                     # images no container uses
  sudo rm -rf /tmp/go-build* /root/.cache/go-build
  sudo journalctl --vacuum-size=200M
or grow the filesystem."#,
        )],
    },
    RemediationDef {
        id: "rem.kubeconfig-permissions",
        title: "Make cluster credentials readable by their owner only",
        text: r#"A kubeconfig or join token readable by other users hands them the cluster: a kubeconfig copied from a server is a cluster-admin credential.
Restrict the file to its owner:
  chmod 0600 {path}
Keep kubeconfigs out of git and shared folders."#,
        per_distribution: &[(
            Distribution::K3s,
            r#"A kubeconfig or join token readable by other users hands them the cluster: /etc/rancher/k3s/k3s.yaml is a cluster-admin credential, and the node token lets any machine join as a node.
Restrict the file to its owner:
  chmod 0600 {path}
k3s rewrites /etc/rancher/k3s/k3s.yaml at every start with the mode from --write-kubeconfig-mode (an install with --write-kubeconfig-mode 0644 makes it world-readable). To make 0600 stick, drop that flag from the service (INSTALL_K3S_EXEC, or ExecStart in /etc/systemd/system/k3s.service followed by sudo systemctl daemon-reload), set it in /etc/rancher/k3s/config.yaml:
  write-kubeconfig-mode: "0600"
and sudo systemctl restart k3s. Non-root users get a private copy: sudo install -m 0600 -o "$USER" /etc/rancher/k3s/k3s.yaml ~/.kube/config
The join token: sudo chmod 0600 /var/lib/rancher/k3s/server/node-token /var/lib/rancher/k3s/server/token"#,
        )],
    },
    RemediationDef {
        id: "rem.platform-domain",
        title: "Give setup the apex domain (or all three public hosts)",
        text: r#"Set the apex only; setup derives platform.{domain}, registry.{domain} and mcp.{domain} from it:
  export MCP_PLATFORM_DOMAIN={domain}
Not https://{domain}, not {domain}:443, not platform.{domain} (that derives platform.platform.{domain}).
Or name the three hosts explicitly, each a distinct lower-case DNS name:
  export MCP_PLATFORM_INGRESS_HOST=platform.{domain}
  export MCP_REGISTRY_INGRESS_HOST=registry.{domain}
  export MCP_MCP_INGRESS_HOST=mcp.{domain}
Then point all three DNS records at the ingress node (or the proxy in front of it) and check them:
  dig +short platform.{domain} registry.{domain} mcp.{domain}
Set the same values in the deployment env file if you pass one with --env-file."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-mode",
        title: "Use a platform mode setup knows",
        text: r#"--platform-mode (MCP_SETUP_PLATFORM_MODE, MCP_PLATFORM_MODE) takes tenant, org or public, in lower case:
  mcp-runtime setup --platform-mode {mode} ...
tenant: private team-isolated installs (the default). org: a shared internal catalog. public: the catalog is exposed anonymously and publishing needs browser login (GOOGLE_CLIENT_ID, or OIDC_ISSUER + OIDC_AUDIENCE + OIDC_JWKS_URL) and an admin allowlist (MCP_PLATFORM_ADMIN_EMAIL or ADMIN_USERS).
Clear a stale value from the environment or env file: unset MCP_SETUP_PLATFORM_MODE MCP_PLATFORM_MODE"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.public-mode-login",
        title: "Configure browser login for public mode",
        text: r#"Public mode needs a browser login provider before setup. Either Google:
  export GOOGLE_CLIENT_ID=<client-id>.apps.googleusercontent.com    # or MCP_GOOGLE_CLIENT_ID
or an OIDC provider, all three values:
  export OIDC_ISSUER=https://login.example.com
  export OIDC_AUDIENCE=<client-id>
  export OIDC_JWKS_URL=https://login.example.com/.well-known/jwks.json
and the admin allowlist the API checks on login:
  export MCP_PLATFORM_ADMIN_EMAIL={admin_email}                     # or ADMIN_USERS=a@...,b@...
Register https://platform.<domain> as an authorised origin/redirect at the provider. For a private install, use --platform-mode tenant or org instead."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.admin-allowlist",
        title: "Set the OIDC admin allowlist",
        text: r#"Public mode and TLS installs need an admin allowlist before setup:
  export MCP_PLATFORM_ADMIN_EMAIL={admin_email}
or several admins (emails or OIDC subjects):
  export ADMIN_USERS={admin_email},second-admin@example.com          # or MCP_ADMIN_USERS
Setup writes these into the ADMIN_USERS key of the platform secret; the API promotes a user to platform admin when they log in with Google/OIDC and match it. --acme-email is only the Let's Encrypt contact address and makes nobody an admin; PLATFORM_ADMIN_EMAIL/PLATFORM_ADMIN_PASSWORD are the separate password-bootstrap admin."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.tls-flags",
        title: "Pass one certificate source, with --with-tls",
        text: r#"Choose one certificate source and pass --with-tls with it:
  mcp-runtime setup --with-tls --acme-email ops@example.com ...                                  # Let's Encrypt HTTP-01 (public DNS, port 80)
  mcp-runtime setup --with-tls --tls-cluster-issuer <issuer-name> --skip-cert-manager-install ...  # your ClusterIssuer
  mcp-runtime setup --with-tls --provided-tls-secrets ...                                         # pre-created TLS Secrets
--registry-mode bundled-https, --acme-staging and --skip-cert-manager-install also need --with-tls.
Flags fall back to the environment, so clear the one you dropped:
  unset MCP_ACME_EMAIL MCP_SETUP_TLS_CLUSTER_ISSUER MCP_TLS_CLUSTER_ISSUER
Boolean env values must be 1 or true; setup reads yes or on as false: export MCP_SETUP_WITH_TLS=true"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.strict-prod",
        title: "Meet the --strict-prod guardrails",
        text: r#"--strict-prod needs --with-tls and a registry that is not dev-only (no http://, localhost, registry.local, *.local, *.svc.cluster.local or IP address). Either the bundled registry over HTTPS, pulled through its public name:
  export MCP_REGISTRY_ENDPOINT={registry_host}
  mcp-runtime setup --with-tls --acme-email ops@example.com --registry-mode bundled-https --strict-prod ...
or an external registry by its HTTPS DNS name:
  mcp-runtime setup --with-tls --acme-email ops@example.com --registry-mode external \
    --external-registry-url {registry_host}/mcp-runtime --strict-prod ...
For a lab or CI cluster, drop --strict-prod (or use --test-mode, which ignores it)."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.registry-endpoint",
        title: "Pull platform images through the public registry host",
        text: r#"On the public TLS path kubelet must pull platform images by the name the registry certificate covers:
  export MCP_REGISTRY_ENDPOINT={registry_host}
Not the registry Service ClusterIP (10.43.x.x:5000: "x509: cannot validate certificate ... doesn't contain any IP SANs"), not registry.local, not registry.registry.svc.cluster.local:5000 (nodes resolve with host DNS, not CoreDNS). Current value: {endpoint}.
Check from every node that the name resolves to the ingress address and the certificate verifies:
  getent hosts {registry_host}
  curl -sI https://{registry_host}/v2/      # 401 or 403 without credentials is healthy
Then rerun setup so the operator, gateway proxy and Sentinel image refs are rendered with the new host."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.external-registry",
        title: "Complete the external registry settings",
        text: r#"The external registry path needs its URL, and credentials in pairs:
  mcp-runtime setup --registry-mode external --with-tls \
    --external-registry-url {registry_url} \
    --external-registry-username <user> --external-registry-password <password>
or in the environment:
  export PROVISIONED_REGISTRY_URL={registry_url}
  export PROVISIONED_REGISTRY_USERNAME=<user>       # optional, with the password
  export PROVISIONED_REGISTRY_PASSWORD=<password>   # optional, with the username
Omit both username and password for a registry nodes can pull from anonymously or through workload identity. The external settings cannot be combined with --registry-mode bundled-http/bundled-https: keep the bundled registry by unsetting PROVISIONED_REGISTRY_URL, _USERNAME and _PASSWORD. Verify from the build machine: docker login {registry_host}"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-pull-secret",
        title: "Create the platform image pull Secret in both namespaces",
        text: r#"MCP_PLATFORM_IMAGE_PULL_SECRET={secret} must exist in mcp-runtime (operator) and mcp-sentinel (Sentinel workloads) before setup; missing in {namespace}. Create it in both:
  for ns in mcp-runtime mcp-sentinel; do
    kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
    kubectl -n "$ns" create secret docker-registry {secret} \
      --docker-server={registry_host} --docker-username=<user> --docker-password=<token>
  done
  for ns in mcp-runtime mcp-sentinel; do kubectl -n "$ns" get secret {secret}; done
Or unset MCP_PLATFORM_IMAGE_PULL_SECRET and pass --external-registry-username/--external-registry-password, and setup creates the pull secrets itself."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.image-platform",
        title: "Set a supported image platform",
        text: r#"Setup builds single-platform images for linux/amd64 or linux/arm64 only. Set the one your nodes run:
  kubectl get nodes -L kubernetes.io/arch
  export MCP_IMAGE_PLATFORM={platform}
or unset MCP_IMAGE_PLATFORM and setup detects the platform from the nodes' kubernetes.io/arch label. Remove a stale value from the deployment env file too."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.admin-password-pair",
        title: "Set PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD together",
        text: r#"The password-bootstrap admin needs both values ({missing} is missing), or neither:
  export PLATFORM_ADMIN_EMAIL=root@example.com
  export PLATFORM_ADMIN_PASSWORD="$(openssl rand -base64 24)"
With only one, mcp-sentinel-api crash-loops on a clean database with "failed to seed platform admin: PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD must both be set". On an existing install compare the managed Secret with the Deployment:
  kubectl -n mcp-sentinel get secret mcp-sentinel-secrets -o yaml
  kubectl -n mcp-sentinel get deploy mcp-sentinel-api -o yaml
Remove or rotate the bootstrap credentials after the first successful bring-up."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.node-arch-label",
        title: "Restore the kubernetes.io/arch node label",
        text: r#"The kubelet sets kubernetes.io/arch when it registers a node, and setup reads that label to pick the image platform; {node} has lost it. Put it back with the architecture the kubelet reports (kubectl get node {node} -o jsonpath='{.status.nodeInfo.architecture}'):
  kubectl label node {node} kubernetes.io/arch=<arch>
or restart the node's kubelet, which re-applies its default labels."#,
        per_distribution: &[(
            Distribution::K3s,
            r#"The kubelet sets kubernetes.io/arch when it registers a node, and setup reads that label to pick the image platform; {node} has lost it. Put it back with the architecture the kubelet reports (kubectl get node {node} -o jsonpath='{.status.nodeInfo.architecture}'):
  kubectl label node {node} kubernetes.io/arch=<arch>
or restart k3s on that node (sudo systemctl restart k3s-agent; k3s on the server), which re-applies the default labels."#,
        )],
    },
    RemediationDef {
        id: "rem.http01-port80",
        title: "Make port 80 reach Traefik on every address of the host",
        text: r#"Let's Encrypt validates HTTP-01 on port 80 only, from the internet, on the first AAAA of {host} (the first A only when the AAAA cannot be connected to). See what answers on {address}:
  curl -v --max-time 10 --connect-to {host}:80:{address}:80 http://{host}/.well-known/acme-challenge/test
A healthy answer is Traefik's "404 page not found". If the connection is refused or times out:
  kubectl get svc -A -o wide | grep -i traefik          # the LoadBalancer must publish 80 on the ingress node
  sudo ss -ltnp 'sport = :80'                           # on the ingress node: ServiceLB (svclb) listens
  sudo iptables -S INPUT | grep -w 80                   # and the host firewall lets it in
Open TCP 80 from anywhere in the cloud security group / edge firewall (Let's Encrypt publishes no source addresses). If {address} is not the ingress node or the proxy in front of it, fix or remove that DNS record:
  dig +short A {host}; dig +short AAAA {host}"#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.http01-redirect",
        title: "Keep redirects of the ACME challenge path within Let's Encrypt's rules",
        text: r#"Let's Encrypt follows at most 10 redirects, only 301, 302, 307 and 308, only to http or https on ports 80 and 443, and speaks TLS on a redirect to https only (plain HTTP to port 443 fails). Walk the chain the validator sees:
  curl -sSIL --max-redirs 10 http://{host}/.well-known/acme-challenge/test
Exempt the challenge path from the redirect rule in front of Traefik, e.g. in nginx, before the redirect:
  location ^~ /.well-known/acme-challenge/ { proxy_pass http://<ingress-ip>; proxy_set_header Host $host; }
A redirect to https://{host}/ on 443 is fine when HTTPS reaches Traefik too; a redirect to another port, a loop (http -> https -> http), or "http://{host}:443/" is not."#,
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.http01-front-door",
        title: "Let the ACME challenge path through the front door unchanged",
        text: r#"/.well-known/acme-challenge/* must reach Traefik without auth, cache, WAF block, or a proxy error page. See what answers:
  curl -i --connect-to {host}:80:{address}:80 http://{host}/.well-known/acme-challenge/test
Healthy: 404 with the plain body "404 page not found" (Traefik), no Age, no X-Cache: HIT, no CF-Ray.
- Cloudflare or another CDN: set the three records to DNS-only until cert-manager has issued, then enable the proxy (the k3s guide's rollout); or add a cache bypass and a WAF skip rule for /.well-known/acme-challenge/*.
- nginx / HAProxy / an enterprise WAF in front: pass the path through before any auth or cache:
  location ^~ /.well-known/acme-challenge/ { auth_basic off; proxy_cache off; proxy_pass http://<ingress-ip>; proxy_set_header Host $host; }
- A firewall with application filtering (block page mentioning acme-protocol): allow the ACME application for port 80.
- 5xx: the proxy cannot reach its origin; point the origin at the ingress node (port 80) and check Traefik:
  kubectl get pods -A | grep -i traefik
- An internal front door: Let's Encrypt cannot reach it from the internet; use --tls-cluster-issuer <issuer> or pre-created TLS secrets instead of --acme-email."#,
        per_distribution: &[],
    },
];
