//! The registry of checks, validated when built: ids are unique and well formed, every dependency exists,
//! and the dependency graph has no cycle.

use std::collections::{BTreeMap, BTreeSet};

use crate::check::Check;
use crate::model::CheckMeta;

/// A registry that failed validation.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("check id {0:?} is registered twice")]
    DuplicateId(String),
    #[error("check id {0:?} does not match ^[a-z0-9]+\\.[a-z0-9-]+$")]
    BadId(String),
    #[error("check {check} depends on unknown check {dependency}")]
    UnknownDependency { check: String, dependency: String },
    #[error("checks depend on each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// All checks in registry order (the order reports list them in).
pub struct Registry {
    checks: Vec<Box<dyn Check>>,
}

impl Registry {
    pub fn new(checks: Vec<Box<dyn Check>>) -> Result<Registry, RegistryError> {
        validate(checks.iter().map(|c| c.meta()))?;
        Ok(Registry { checks })
    }

    /// Every built-in check.
    pub fn builtin() -> Registry {
        Registry::new(crate::all_checks()).expect("the built-in registry is valid (tested)")
    }

    pub fn checks(&self) -> &[Box<dyn Check>] {
        &self.checks
    }

    pub fn get(&self, id: &str) -> Option<&dyn Check> {
        self.checks
            .iter()
            .find(|c| c.meta().id == id)
            .map(|c| c.as_ref())
    }

    pub fn metas(&self) -> impl Iterator<Item = &'static CheckMeta> + '_ {
        self.checks.iter().map(|c| c.meta())
    }
}

/// `^[a-z0-9]+\.[a-z0-9-]+$`
pub fn valid_id(id: &str) -> bool {
    let Some((area, name)) = id.split_once('.') else {
        return false;
    };
    !area.is_empty()
        && !name.is_empty()
        && area
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn validate<'a>(metas: impl Iterator<Item = &'a CheckMeta>) -> Result<(), RegistryError> {
    let mut deps: BTreeMap<&str, &[&str]> = BTreeMap::new();
    for m in metas {
        if !valid_id(m.id) {
            return Err(RegistryError::BadId(m.id.into()));
        }
        if deps.insert(m.id, m.depends_on).is_some() {
            return Err(RegistryError::DuplicateId(m.id.into()));
        }
    }
    for (id, ds) in &deps {
        for d in ds.iter() {
            if !deps.contains_key(d) {
                return Err(RegistryError::UnknownDependency {
                    check: (*id).into(),
                    dependency: (*d).into(),
                });
            }
        }
    }
    // Depth-first search with colours; the path on the stack names the cycle.
    let mut done = BTreeSet::new();
    for start in deps.keys() {
        let mut path = Vec::new();
        visit(start, &deps, &mut done, &mut path)?;
    }
    Ok(())
}

fn visit<'a>(
    id: &'a str,
    deps: &BTreeMap<&'a str, &'a [&'a str]>,
    done: &mut BTreeSet<&'a str>,
    path: &mut Vec<&'a str>,
) -> Result<(), RegistryError> {
    if done.contains(id) {
        return Ok(());
    }
    if let Some(pos) = path.iter().position(|p| *p == id) {
        let mut cycle: Vec<String> = path[pos..].iter().map(|s| s.to_string()).collect();
        cycle.push(id.to_string());
        return Err(RegistryError::Cycle(cycle));
    }
    path.push(id);
    for d in deps[id].iter() {
        visit(d, deps, done, path)?;
    }
    path.pop();
    done.insert(id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Context;
    use crate::model::{Modes, Outcome, ReadScope};

    struct Fake(&'static CheckMeta);

    #[async_trait::async_trait]
    impl Check for Fake {
        fn meta(&self) -> &'static CheckMeta {
            self.0
        }
        async fn run(&self, _ctx: &Context) -> Outcome {
            Outcome::pass("ok")
        }
    }

    fn fake(id: &'static str, depends_on: &'static [&'static str]) -> Box<dyn Check> {
        Box::new(Fake(Box::leak(Box::new(CheckMeta {
            id,
            title: "t",
            category: "test",
            modes: Modes::Both,
            depends_on,
            reads: &[],
            read_scope: ReadScope::Cluster,
            timeout: None,
            doc: "",
        }))))
    }

    #[test]
    fn accepts_a_valid_graph() {
        assert!(Registry::new(vec![fake("a.one", &[]), fake("a.two", &["a.one"])]).is_ok());
    }

    #[test]
    fn rejects_duplicate_ids() {
        let err = Registry::new(vec![fake("a.one", &[]), fake("a.one", &[])])
            .err()
            .unwrap();
        assert_eq!(err, RegistryError::DuplicateId("a.one".into()));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "nodot",
            "Upper.case",
            "a.b.c",
            "a.under_score",
            ".x",
            "x.",
            "a-b.c",
        ] {
            let err = Registry::new(vec![fake(bad, &[])]).err().unwrap();
            assert_eq!(err, RegistryError::BadId(bad.into()), "{bad}");
        }
    }

    #[test]
    fn rejects_unknown_dependencies() {
        let err = Registry::new(vec![fake("a.one", &["a.missing"])])
            .err()
            .unwrap();
        assert_eq!(
            err,
            RegistryError::UnknownDependency {
                check: "a.one".into(),
                dependency: "a.missing".into()
            }
        );
    }

    #[test]
    fn rejects_cycles_and_names_them() {
        let err = Registry::new(vec![
            fake("a.one", &["a.two"]),
            fake("a.two", &["a.three"]),
            fake("a.three", &["a.one"]),
        ])
        .err()
        .unwrap();
        assert_eq!(
            err,
            RegistryError::Cycle(vec![
                "a.one".into(),
                "a.two".into(),
                "a.three".into(),
                "a.one".into()
            ])
        );
        let err = Registry::new(vec![fake("a.self", &["a.self"])])
            .err()
            .unwrap();
        assert!(matches!(err, RegistryError::Cycle(_)));
    }

    #[test]
    fn builtin_registry_is_valid_and_documented() {
        let r = Registry::new(crate::all_checks()).expect("valid");
        for m in r.metas() {
            let doc = crate::check::doc_text(m.doc);
            for section in [
                "What it checks",
                "Why it matters",
                "What a failure looks like",
                "How to fix",
            ] {
                assert!(
                    doc.contains(section),
                    "{} doc lacks section {section:?}",
                    m.id
                );
            }
            assert!(m.id.starts_with(&format!("{}.", m.id.split('.').next().unwrap())));
        }
    }
}
