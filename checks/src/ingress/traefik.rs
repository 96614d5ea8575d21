//! Which Traefik installs a cluster has, and which one is "the" Traefik the platform uses. Shared by the
//! `ingress.*` and `svclb.*` checks so they all judge the same install.
//!
//! An install is a Deployment named `traefik` (or labelled `app.kubernetes.io/name=traefik`) in a namespace,
//! with the Service that publishes it, plus, in `kube-system`, the k3s HelmChart `traefik` that deploys the
//! bundled one. k3s deploys its Traefik into `kube-system`; mcp-runtime's repo-managed one lives in `traefik`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use mcp_doctor_remediations::Vars;
use serde_json::Value;

use crate::check::{Context, unreadable};
use crate::evidence::{Scope, kinds, list_typed};
use crate::model::{Mode, Outcome};

/// Where k3s deploys its bundled Traefik (HelmChart `traefik`).
pub const K3S_NAMESPACE: &str = "kube-system";
/// Where `mcp-runtime setup --ingress traefik` installs the repo-managed Traefik.
pub const REPO_NAMESPACE: &str = "traefik";
/// The IngressClass the platform's Ingresses name.
pub const CLASS: &str = "traefik";
/// The CRD that says k3s's Helm controller (and so its HelmCharts) exists.
pub const HELMCHART_CRD: &str = "helmcharts.helm.cattle.io";

/// Who put a Traefik there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// k3s's packaged Traefik: `kube-system`, deployed by the HelmChart `traefik`.
    K3sBundled,
    /// mcp-runtime's own manifests, namespace `traefik`.
    RepoManaged,
    /// A Traefik somewhere else (installed by hand or by another chart).
    Other,
}

/// One Traefik install.
#[derive(Debug, Clone)]
pub struct Install {
    pub namespace: String,
    pub flavor: Flavor,
    pub deployment: Option<Deployment>,
    /// The k3s HelmChart `kube-system/traefik` exists.
    pub helm_chart: bool,
    pub service: Option<Service>,
}

impl Install {
    /// `k3s's bundled Traefik (kube-system, HelmChart traefik)`, `repo-managed Traefik (namespace traefik)`.
    pub fn label(&self) -> String {
        match self.flavor {
            Flavor::K3sBundled if self.helm_chart => {
                format!(
                    "k3s's bundled Traefik ({}, HelmChart traefik)",
                    self.namespace
                )
            }
            Flavor::K3sBundled => format!("Traefik in {}", self.namespace),
            Flavor::RepoManaged => format!("repo-managed Traefik (namespace {})", self.namespace),
            Flavor::Other => format!("Traefik in namespace {}", self.namespace),
        }
    }

    pub fn deployment_name(&self) -> &str {
        self.deployment
            .as_ref()
            .and_then(|d| d.metadata.name.as_deref())
            .unwrap_or("traefik")
    }

    /// `deployment/<ns>/<name>`.
    pub fn deployment_ref(&self) -> String {
        format!("deployment/{}/{}", self.namespace, self.deployment_name())
    }

    /// Desired replicas (the API defaults an unset count to 1).
    pub fn desired(&self) -> i32 {
        self.deployment
            .as_ref()
            .and_then(|d| d.spec.as_ref()?.replicas)
            .unwrap_or(1)
    }

    pub fn ready(&self) -> i32 {
        self.deployment
            .as_ref()
            .and_then(|d| d.status.as_ref()?.ready_replicas)
            .unwrap_or(0)
    }

    /// Deployed and not scaled to zero; a HelmChart whose Deployment does not exist yet counts as active
    /// (k3s's helm-install job is about to create it).
    pub fn active(&self) -> bool {
        match &self.deployment {
            Some(_) => self.desired() > 0,
            None => self.helm_chart,
        }
    }
}

/// `service/<ns>/<name>`.
pub fn service_ref(svc: &Service) -> String {
    format!(
        "service/{}/{}",
        svc.metadata.namespace.as_deref().unwrap_or("default"),
        svc.metadata.name.as_deref().unwrap_or("?")
    )
}

/// `<ns>/<name>` of a Service.
pub fn service_name(svc: &Service) -> String {
    format!(
        "{}/{}",
        svc.metadata.namespace.as_deref().unwrap_or("default"),
        svc.metadata.name.as_deref().unwrap_or("?")
    )
}

/// The Service type (`ClusterIP` when unset, as the API defaults it).
pub fn service_type(svc: &Service) -> &str {
    svc.spec
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("ClusterIP")
}

/// The addresses in `status.loadBalancer.ingress` (IP, or hostname when the provider gives one).
pub fn lb_ingress(svc: &Service) -> Vec<String> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .collect()
}

/// `80→web (nodePort 30080), 443→websecure (nodePort 30443)`: the ports a Service publishes.
pub fn describe_ports(svc: &Service) -> String {
    let ports: Vec<String> = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| {
            let target = match &p.target_port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => {
                    s.clone()
                }
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i)) => {
                    i.to_string()
                }
                None => p.port.to_string(),
            };
            let name = p.name.as_deref().unwrap_or("");
            let mut s = format!("{}→{target}", p.port);
            if !name.is_empty() && name != target {
                s.push_str(&format!(" ({name})"));
            }
            if let Some(np) = p.node_port {
                s.push_str(&format!(" nodePort {np}"));
            }
            s
        })
        .collect();
    ports.join(", ")
}

fn is_traefik(
    name: Option<&str>,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> bool {
    name == Some("traefik")
        || labels
            .and_then(|l| l.get("app.kubernetes.io/name"))
            .is_some_and(|v| v == "traefik")
}

fn flavor(namespace: &str) -> Flavor {
    match namespace {
        K3S_NAMESPACE => Flavor::K3sBundled,
        REPO_NAMESPACE => Flavor::RepoManaged,
        _ => Flavor::Other,
    }
}

/// Whether the cluster serves k3s HelmCharts (the CRD is listed), so a missing chart means "none", not
/// "could not look".
async fn helm_chart_exists(ctx: &Context) -> Result<bool, Outcome> {
    let kube = ctx.evidence.kube.as_ref();
    let crds = kube
        .list(&kinds::CUSTOM_RESOURCE_DEFINITIONS, &Scope::Cluster)
        .await
        .map_err(|e| unreadable("the CustomResourceDefinitions", &e))?;
    let served = crds
        .iter()
        .any(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(HELMCHART_CRD));
    if !served {
        return Ok(false);
    }
    let charts = kube
        .list(&kinds::HELM_CHARTS, &Scope::Namespace(K3S_NAMESPACE.into()))
        .await
        .map_err(|e| unreadable("the HelmCharts in kube-system", &e))?;
    Ok(charts
        .iter()
        .any(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some("traefik")))
}

/// Every Traefik install, in namespace order with `kube-system` first.
pub async fn installs(ctx: &Context) -> Result<Vec<Install>, Outcome> {
    let kube = ctx.evidence.kube.as_ref();
    let deployments: Vec<Deployment> = list_typed(kube, &kinds::DEPLOYMENTS, &Scope::AllNamespaces)
        .await
        .map_err(|e| unreadable("the deployments", &e))?;
    let services = services(ctx).await?;
    let helm_chart = helm_chart_exists(ctx).await?;

    let mut namespaces: Vec<String> = deployments
        .iter()
        .filter(|d| is_traefik(d.metadata.name.as_deref(), d.metadata.labels.as_ref()))
        .filter_map(|d| d.metadata.namespace.clone())
        .collect();
    if helm_chart {
        namespaces.push(K3S_NAMESPACE.into());
    }
    namespaces.sort_by_key(|ns| (ns != K3S_NAMESPACE, ns.clone()));
    namespaces.dedup();

    Ok(namespaces
        .into_iter()
        .map(|ns| {
            let deployment = deployments
                .iter()
                .filter(|d| d.metadata.namespace.as_deref() == Some(ns.as_str()))
                .filter(|d| is_traefik(d.metadata.name.as_deref(), d.metadata.labels.as_ref()))
                .min_by_key(|d| d.metadata.name.as_deref() != Some("traefik"))
                .cloned();
            let service = services
                .iter()
                .filter(|s| s.metadata.namespace.as_deref() == Some(ns.as_str()))
                .filter(|s| is_traefik(s.metadata.name.as_deref(), s.metadata.labels.as_ref()))
                .min_by_key(|s| {
                    (
                        service_type(s) == "ClusterIP",
                        s.metadata.name.as_deref() != Some("traefik"),
                    )
                })
                .cloned();
            let chart = helm_chart && ns == K3S_NAMESPACE;
            Install {
                flavor: flavor(&ns),
                namespace: ns,
                deployment,
                helm_chart: chart,
                service,
            }
        })
        .collect())
}

/// Every Service (once per run).
pub async fn services(ctx: &Context) -> Result<Vec<Service>, Outcome> {
    list_typed(
        ctx.evidence.kube.as_ref(),
        &kinds::SERVICES,
        &Scope::AllNamespaces,
    )
    .await
    .map_err(|e| unreadable("the services", &e))
}

/// The Traefik the platform uses: the one `PLATFORM_TRAEFIK_NAMESPACE` names, else the active k3s one, else
/// the first active one, else the first.
pub fn chosen<'a>(ctx: &Context, installs: &'a [Install]) -> Option<&'a Install> {
    if let Some(ns) = ctx.config.value("traefik_namespace")
        && let Some(i) = installs.iter().find(|i| i.namespace == ns)
    {
        return Some(i);
    }
    installs
        .iter()
        .find(|i| i.active())
        .or_else(|| installs.first())
}

/// The outcome of a check that needs a Traefik when there is none: before setup with `--ingress traefik`
/// (the default) that is expected (setup installs it), so `skip`; otherwise a failure.
pub async fn no_traefik(ctx: &Context) -> Outcome {
    let ingress = ctx.config.value("ingress").unwrap_or("traefik");
    if ctx.mode == Mode::Setup && ingress != "none" {
        return Outcome::skip(format!(
            "no Traefik is installed yet: setup --ingress {ingress} installs the repo-managed one in namespace {REPO_NAMESPACE}"
        ));
    }
    let nodes = crate::facts::nodes(ctx).await.unwrap_or_default();
    let why = match crate::svclb::servicelb::k3s_disables(&nodes, "traefik") {
        Some((server, arg)) => format!(" (the k3s server {server} runs with {arg})"),
        None => String::new(),
    };
    Outcome::fail(format!(
        "no Traefik is installed{why}: no Deployment traefik in any namespace and no k3s HelmChart \
         kube-system/traefik{}",
        if ctx.mode == Mode::Setup {
            "; setup runs with --ingress none and expects an existing Traefik"
        } else {
            ""
        }
    ))
    .remediate(
        "rem.traefik-missing",
        ctx.distribution().await,
        &Vars::new(),
    )
    .subject(format!("deployment/{K3S_NAMESPACE}/traefik"))
}

/// The installed Traefik the platform uses, or the outcome when there is none (see [`no_traefik`]).
pub async fn the_traefik(ctx: &Context) -> Result<(Vec<Install>, usize), Outcome> {
    let all = installs(ctx).await?;
    match chosen(ctx, &all) {
        Some(c) => {
            let index = all
                .iter()
                .position(|i| i.namespace == c.namespace)
                .unwrap_or(0);
            Ok((all, index))
        }
        None => Err(no_traefik(ctx).await),
    }
}
