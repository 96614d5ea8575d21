//! Test scenes for the ingress and svclb checks: the seed's reference k3s topology with k3s's Traefik
//! pinned by ServiceLB to mcp-ingress-1, and the variations the checks must tell apart.

use serde_json::{Value, json};

use crate::evidence::{Scope, kinds};
use crate::facts::PUBLIC_INGRESS_LABELS;
use crate::svclb::servicelb::{ENABLELB, SVCNAME, SVCNAMESPACE};
use crate::test_support::{Case, node};

/// The uid of the k3s Traefik Service; its svclb DaemonSet is `svclb-traefik-4c5e2f1a`.
pub const TRAEFIK_UID: &str = "4c5e2f1a-93d0-4b8e-a1c7-2f6d8e9b0c11";

/// Every object of a scene, by kind.
pub struct FrontDoor {
    pub nodes: Vec<Value>,
    pub deployments: Vec<Value>,
    pub daemonsets: Vec<Value>,
    pub services: Vec<Value>,
    pub pods: Vec<Value>,
    pub classes: Vec<Value>,
    pub helm_charts: Vec<Value>,
    pub crds: Vec<Value>,
    pub env: Vec<(String, String)>,
}

/// A node with addresses and extra labels.
pub fn node_at(name: &str, internal: &str, external: Option<&str>, labels: &[&str]) -> Value {
    let mut n = node(name);
    let mut addresses = vec![json!({"type": "InternalIP", "address": internal})];
    if let Some(e) = external {
        addresses.push(json!({"type": "ExternalIP", "address": e}));
    }
    addresses.push(json!({"type": "Hostname", "address": name}));
    n["status"]["addresses"] = json!(addresses);
    for l in labels {
        n["metadata"]["labels"][*l] = json!("true");
    }
    n
}

pub fn ingress_class(name: &str, controller: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {"controller": controller}})
}

pub fn deployment(namespace: &str, name: &str, ready: i64) -> Value {
    json!({"metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": "traefik"}},
           "spec": {"replicas": 1},
           "status": {"replicas": 1, "readyReplicas": ready, "availableReplicas": ready}})
}

/// A Traefik LoadBalancer Service publishing web 80→web and websecure 443→websecure.
pub fn lb_service(namespace: &str, uid: &str, ingress: &[&str]) -> Value {
    let ingress: Vec<Value> = ingress
        .iter()
        .map(|ip| json!({"ip": ip, "ipMode": "VIP"}))
        .collect();
    json!({
        "metadata": {"name": "traefik", "namespace": namespace, "uid": uid,
                     "labels": {"app.kubernetes.io/name": "traefik"}},
        "spec": {"type": "LoadBalancer", "ipFamilies": ["IPv4"],
                 "ports": [
                     {"name": "web", "port": 80, "protocol": "TCP", "targetPort": "web", "nodePort": 31080},
                     {"name": "websecure", "port": 443, "protocol": "TCP", "targetPort": "websecure", "nodePort": 31443}]},
        "status": {"loadBalancer": {"ingress": ingress}}
    })
}

/// A svclb pod for a Service, Running and Ready on a node.
pub fn svclb_pod(svc_namespace: &str, uid: &str, node: &str, suffix: &str) -> Value {
    let ds = format!("svclb-traefik-{}", &uid[..8]);
    let container = |port: i64| {
        json!({"name": format!("lb-tcp-{port}"), "image": "rancher/klipper-lb:v0.4.13",
               "ports": [{"name": format!("lb-tcp-{port}"), "containerPort": port, "hostPort": port, "protocol": "TCP"}]})
    };
    json!({
        "metadata": {"name": format!("{ds}-{suffix}"), "namespace": "kube-system",
                     "labels": {"app": ds, SVCNAME: "traefik", SVCNAMESPACE: svc_namespace},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds, "uid": uid, "controller": true}]},
        "spec": {"nodeName": node, "containers": [container(80), container(443)],
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}}},
        "status": {"phase": "Running", "podIP": "10.42.1.5",
                   "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]}
    })
}

impl FrontDoor {
    /// The seed's topology, healthy: k3s Traefik in kube-system, ServiceLB pinned to mcp-ingress-1.
    pub fn reference() -> FrontDoor {
        let mut cp = node_at("mcp-cp-1", "10.0.0.11", None, &[]);
        cp["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = json!("true");
        cp["metadata"]["annotations"] = json!({"k3s.io/node-args":
            "[\"server\",\"--node-name\",\"mcp-cp-1\",\"--write-kubeconfig-mode\",\"0600\"]"});
        let ingress = node_at(
            "mcp-ingress-1",
            "10.0.0.21",
            Some("203.0.113.10"),
            &[ENABLELB, PUBLIC_INGRESS_LABELS[0], PUBLIC_INGRESS_LABELS[1]],
        );
        FrontDoor {
            nodes: vec![
                cp,
                ingress,
                node_at("mcp-worker-1", "10.0.0.31", None, &[]),
                node_at("mcp-worker-2", "10.0.0.32", None, &[]),
            ],
            deployments: vec![deployment("kube-system", "traefik", 1)],
            daemonsets: vec![],
            services: vec![lb_service("kube-system", TRAEFIK_UID, &["203.0.113.10"])],
            pods: vec![svclb_pod(
                "kube-system",
                TRAEFIK_UID,
                "mcp-ingress-1",
                "x7k2p",
            )],
            classes: vec![ingress_class("traefik", "traefik.io/ingress-controller")],
            helm_charts: vec![
                json!({"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
                                     "metadata": {"name": "traefik", "namespace": "kube-system"}}),
            ],
            crds: vec![json!({"metadata": {"name": "helmcharts.helm.cattle.io"}})],
            env: [
                ("MCP_SETUP_INGRESS", "none"),
                ("PLATFORM_TRAEFIK_NAMESPACE", "kube-system"),
                ("PLATFORM_TEAM_TRAEFIK_WATCH", "disabled"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        }
    }

    /// A kind node with the repo-managed Traefik whose LoadBalancer stays pending.
    pub fn kind() -> FrontDoor {
        let n = json!({"metadata": {"name": "kind-control-plane", "labels": {"kubernetes.io/hostname": "kind-control-plane"}},
                       "spec": {"providerID": "kind://docker/kind/kind-control-plane"},
                       "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                                  "nodeInfo": {"kubeletVersion": "v1.32.2", "architecture": "amd64", "bootID": "",
                                               "containerRuntimeVersion": "containerd://2.0.2", "kernelVersion": "",
                                               "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux",
                                               "osImage": "", "systemUUID": ""}}});
        FrontDoor {
            nodes: vec![n],
            deployments: vec![deployment("traefik", "traefik", 1)],
            daemonsets: vec![],
            services: vec![lb_service(
                "traefik",
                "9a1b2c3d-0000-4000-8000-000000000001",
                &[],
            )],
            pods: vec![],
            classes: vec![ingress_class("traefik", "traefik.io/ingress-controller")],
            helm_charts: vec![],
            crds: vec![],
            env: vec![],
        }
    }

    /// Removes every Traefik (deployments, services, svclb pods, the HelmChart).
    pub fn without_traefik(&mut self) {
        self.deployments.clear();
        self.services.clear();
        self.pods.clear();
        self.helm_charts.clear();
    }

    /// Adds the repo-managed Traefik in namespace traefik, whose svclb pod cannot get 80/443.
    pub fn add_repo_traefik(&mut self) {
        self.deployments.push(deployment("traefik", "traefik", 1));
        self.services.push(lb_service(
            "traefik",
            "7e8f9a0b-1111-4222-8333-444455556666",
            &[],
        ));
    }

    /// A pod of another DaemonSet holds hostPort 80 on mcp-ingress-1: the svclb pod is Pending.
    pub fn pending_on_host_port(&mut self) {
        let svclb = &mut self.pods[0];
        svclb["spec"].as_object_mut().unwrap().remove("nodeName");
        svclb["status"] = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable",
            "message": "0/4 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling."}]});
        self.pods.push(json!({
            "metadata": {"name": "nginx-docs-7d9c5b8f6-k2x9q", "namespace": "docs",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "nginx-docs-7d9c5b8f6", "uid": "u", "controller": true}]},
            "spec": {"nodeName": "mcp-ingress-1", "containers": [{"name": "nginx", "image": "nginx:1.27",
                     "ports": [{"containerPort": 80, "hostPort": 80, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        }));
        self.services[0]["status"] = json!({"loadBalancer": {}});
    }

    /// `--disable servicelb` on the server: no svclb pods, the Service pending.
    pub fn disable_servicelb(&mut self) {
        self.nodes[0]["metadata"]["annotations"]["k3s.io/node-args"] =
            json!("[\"server\",\"--node-name\",\"mcp-cp-1\",\"--disable\",\"servicelb\"]");
        self.pods
            .retain(|p| p["metadata"]["labels"][SVCNAME].is_null());
        self.services[0]["status"] = json!({"loadBalancer": {}});
    }

    pub fn add_metallb(&mut self) {
        self.deployments.push(json!({"metadata": {"name": "controller", "namespace": "metallb-system",
            "labels": {"app": "metallb"}}, "spec": {"replicas": 1}, "status": {"readyReplicas": 1}}));
    }

    /// A svclb pod on every node (no enablelb label anywhere).
    pub fn svclb_everywhere(&mut self) {
        self.pods.clear();
        for (i, n) in ["mcp-cp-1", "mcp-ingress-1", "mcp-worker-1", "mcp-worker-2"]
            .iter()
            .enumerate()
        {
            self.pods
                .push(svclb_pod("kube-system", TRAEFIK_UID, n, &format!("p{i}")));
        }
    }

    /// The scene as a test case (objects written as List files, env vars set).
    pub fn case(&self) -> Case {
        let mut c = Case::new()
            .objects(&kinds::NODES, Scope::Cluster, self.nodes.clone())
            .objects(
                &kinds::DEPLOYMENTS,
                Scope::AllNamespaces,
                self.deployments.clone(),
            )
            .objects(
                &kinds::DAEMONSETS,
                Scope::AllNamespaces,
                self.daemonsets.clone(),
            )
            .objects(
                &kinds::SERVICES,
                Scope::AllNamespaces,
                self.services.clone(),
            )
            .objects(&kinds::PODS, Scope::AllNamespaces, self.pods.clone())
            .objects(
                &kinds::INGRESS_CLASSES,
                Scope::Cluster,
                self.classes.clone(),
            )
            .objects(
                &kinds::HELM_CHARTS,
                Scope::AllNamespaces,
                self.helm_charts.clone(),
            )
            .objects(
                &kinds::CUSTOM_RESOURCE_DEFINITIONS,
                Scope::Cluster,
                self.crds.clone(),
            );
        for (k, v) in &self.env {
            c = c.env(k, v);
        }
        c
    }
}
