//! Remediations for the platform checks (doctor mode): namespaces, CRD, operator, Sentinel, bootstrap.

use crate::RemediationDef;

pub static PLATFORM: &[RemediationDef] = &[
    RemediationDef {
        id: "rem.platform-rerun-setup",
        title: "Re-run setup to restore what is missing",
        text: "Setup creates the platform namespaces, the MCPServer CRD, the operator and Sentinel; run it again with the flags and env file of the original install (it is idempotent), then confirm:\n  ./bin/mcp-runtime setup --env-file deploy.env\n  kubectl get crd mcpservers.mcpruntime.org\n  kubectl get ns mcp-runtime registry mcp-sentinel mcp-servers",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-image-pull",
        title: "Make the platform images pullable from every node",
        text: "The kubelet cannot pull the image named in the message. Check that every node resolves and trusts the registry (see the registry and dns checks), that the image was published (setup's \"Publish runtime images\" step), and that the pull secret exists; then restart the rollout:\n  kubectl -n {namespace} describe pod -l control-plane=controller-manager\n  kubectl -n {namespace} rollout restart deploy/{deployment}",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-workload-not-ready",
        title: "Find why the platform workload is not ready",
        text: "Read the pods' events and the previous container's logs, fix what they name, then restart:\n  kubectl -n {namespace} get pods -o wide\n  kubectl -n {namespace} describe {workload}\n  kubectl -n {namespace} logs {workload} --previous",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-stale-pvc-user",
        title: "Delete the stale pods that hold the Terminating PVC",
        text: "A PVC stays Terminating while a pod still mounts it (often a stale pod of an old ReplicaSet). Delete those pods, let the claim go, then scale the StatefulSet back up so it recreates its claim:\n  kubectl -n {namespace} delete pod {pods}\n  kubectl -n {namespace} get pvc\n  kubectl -n {namespace} scale statefulset <name> --replicas=1",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-admin-bootstrap",
        title: "Set both admin bootstrap keys (or neither)",
        text: "The API seeds the first platform admin only when both PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD are set. Add {missing} to the Secret (or remove both once an admin exists), then restart the API:\n  kubectl -n {namespace} edit secret mcp-sentinel-secrets\n  kubectl -n {namespace} rollout restart deploy/mcp-sentinel-api",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-stale-pods",
        title: "Delete Failed pods left in the platform namespaces",
        text: "Find why they failed first (an eviction names the resource the node ran out of; see nodes.pressure), then delete them:\n  kubectl -n {namespace} get pods --field-selector=status.phase=Failed\n  kubectl -n {namespace} delete pods --field-selector=status.phase=Failed",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-ingress-no-address",
        title: "Get the platform Ingresses picked up by Traefik",
        text: "An Ingress gets its address from the controller that serves its class. Check the class and Traefik's Service (see ingress.exposure and ingress.traefik-class), then the Ingress's events:\n  kubectl get ingress -A -o wide\n  kubectl -n {namespace} describe ingress\n  kubectl -n kube-system get svc traefik",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-mcpserver-not-reconciled",
        title: "Find why the operator did not reconcile the MCPServer",
        text: "The operator creates a Deployment, Service and Ingress named after each MCPServer. Read its status and the operator's logs (platform.operator must pass first):\n  kubectl -n {namespace} get mcpserver -o yaml\n  kubectl -n mcp-runtime logs deploy/mcp-runtime-operator-controller-manager --since=30m",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-public-route",
        title: "Give the public host and path a route through Traefik",
        text: "Traefik (or what answered) has no route for {host} and this path. Check that a platform Ingress has a rule for the host with the class Traefik serves, that its middlewares exist, and what Traefik logs about it:\n  kubectl get ingress -A -o wide | grep {host}\n  kubectl -n {namespace} describe ingress\n  kubectl -n kube-system logs deploy/traefik --since=30m | grep -i -e error -e {host}",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-endpoint-backend",
        title: "Bring up the workload behind the public route",
        text: "The route on {host} exists but its Service has no ready endpoints (502/503/504). Find the backend that is down and why:\n  kubectl -n {namespace} get endpointslices\n  kubectl -n {namespace} get pods -o wide\n  kubectl -n {namespace} describe pod <the pod that is not Ready>",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-admin-guard",
        title: "Put the admin guard back in front of Grafana",
        text: "/grafana on {host} answered without credentials: the Ingress lost its sentinel-admin-auth@file middleware (or Traefik does not load it). Restore the annotation setup writes and check Traefik loaded the middleware:\n  kubectl -n {namespace} get ingress -o yaml | grep -n router.middlewares\n  kubectl -n kube-system logs deploy/traefik --since=30m | grep -i middleware\nRe-running setup with the original env file restores it.",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-api-key",
        title: "Use an admin API key of this platform",
        text: "The key given with --api-key or MCP_ADMIN_API_KEY was not accepted on {host}. Use an admin key of this platform (the platform UI lists them for an admin), and pass it through the environment so it stays off command lines:\n  export MCP_ADMIN_API_KEY=<admin key>\n  mcp-doctor doctor --only platform.public-endpoints",
        per_distribution: &[],
    },
    RemediationDef {
        id: "rem.platform-front-door",
        title: "Make the public host reach Traefik",
        text: "What answered for {host} is not the platform (a proxy or firewall page, or no answer at all). Check where the name points and what is in front of Traefik (see dns.points-at-ingress and http01.reachable), then ask Traefik directly on the ingress node:\n  getent hosts {host}\n  curl -k -i --resolve {host}:443:<ingress node IP> https://{host}/",
        per_distribution: &[],
    },
];
