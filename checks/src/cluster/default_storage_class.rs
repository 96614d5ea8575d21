use async_trait::async_trait;
use k8s_openapi::api::storage::v1::StorageClass;
use mcp_doctor_remediations::Vars;

use crate::check::{Check, Context, unreadable};
use crate::declare_check;
use crate::evidence::{Scope, kinds, list_typed};
use crate::model::{CheckMeta, Outcome, Profile};

/// The GA annotation and the beta one older clusters still carry; either marks a default class.
const DEFAULT_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

declare_check! {
    /// ### What it checks
    /// Exactly one StorageClass is marked default (annotation `storageclass.kubernetes.io/is-default-class`
    /// or its beta form set to `true`). Under `--profile prod`, a default `local-path` class on a
    /// multi-node cluster warns.
    ///
    /// ### Why it matters
    /// The registry and the Sentinel StatefulSets (clickhouse, kafka, loki, tempo, postgres) claim volumes
    /// without naming a class. With no default their PVCs stay Pending and setup waits until it times out;
    /// with two, which one is used is undefined. `local-path` keeps data on one node's disk: losing that node
    /// loses the registry.
    ///
    /// ### What a failure looks like
    /// `no default StorageClass: PVCs without a storageClassName (registry, Sentinel) will stay Pending;
    /// classes present: local-path`
    ///
    /// ### How to fix
    /// `kubectl patch storageclass <name> -p '{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}'`
    /// and set the annotation to `false` on the others.
    pub struct DefaultStorageClass {
        id: "storage.default-class",
        title: "Exactly one default StorageClass",
        category: "storage",
        modes: Setup,
        depends_on: ["cluster.api-reachable"],
        reads: [kinds::STORAGE_CLASSES, kinds::NODES],
    }
}

#[async_trait]
impl Check for DefaultStorageClass {
    fn meta(&self) -> &'static CheckMeta {
        &Self::META
    }

    async fn run(&self, ctx: &Context) -> Outcome {
        let classes: Vec<StorageClass> = match list_typed(
            ctx.evidence.kube.as_ref(),
            &kinds::STORAGE_CLASSES,
            &Scope::Cluster,
        )
        .await
        {
            Ok(c) => c,
            Err(e) => return unreadable("StorageClasses", &e),
        };
        let names: Vec<String> = classes
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        let defaults: Vec<&StorageClass> = classes.iter().filter(|c| is_default(c)).collect();
        let distribution = ctx.distribution().await;
        let mut vars = Vars::new();
        vars.insert(
            "class",
            names.first().cloned().unwrap_or_else(|| "<name>".into()),
        );
        match defaults.as_slice() {
            [] => Outcome::fail(format!(
                "no default StorageClass: PVCs without a storageClassName (registry, Sentinel) will stay Pending; classes present: {}",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ))
            .detail("classes", &names)
            .remediate("rem.default-storage-class", distribution, &vars),
            [only] => {
                let name = only.metadata.name.clone().unwrap_or_default();
                let local = only.provisioner == "rancher.io/local-path";
                if local && ctx.profile == Profile::Prod {
                    let nodes = match crate::facts::nodes(ctx).await {
                        Ok(n) => n.len(),
                        Err(e) => return unreadable("the nodes", &e),
                    };
                    if nodes > 1 {
                        vars.insert("class", name.clone());
                        return Outcome::warn(format!(
                            "default StorageClass {name} is local-path on a {nodes}-node cluster: registry and Sentinel data live on one node's disk and are lost with it"
                        ))
                        .remediate("rem.durable-storage", distribution, &vars)
                        .subject(format!("storageclass/{name}"));
                    }
                }
                Outcome::pass(format!("default StorageClass {name} ({})", only.provisioner)).detail("default", name)
            }
            several => {
                let names: Vec<String> = several.iter().filter_map(|c| c.metadata.name.clone()).collect();
                vars.insert("class", names[0].clone());
                Outcome::warn(format!(
                    "{} StorageClasses are marked default ({}): which one a PVC gets is undefined",
                    names.len(),
                    names.join(", ")
                ))
                .detail("defaults", &names)
                .remediate("rem.several-default-storage-classes", distribution, &vars)
                .subjects(names.iter().map(|n| format!("storageclass/{n}")))
            }
        }
    }
}

fn is_default(c: &StorageClass) -> bool {
    c.metadata.annotations.as_ref().is_some_and(|a| {
        DEFAULT_ANNOTATIONS
            .iter()
            .any(|k| a.get(*k).is_some_and(|v| v.eq_ignore_ascii_case("true")))
    })
}
