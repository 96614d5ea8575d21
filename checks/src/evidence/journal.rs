//! The journal: every answer a live run's evidence sources gave, errors included, keyed so a replay finds
//! it. `--record DIR` writes it in the bundle layout:
//!
//! ```text
//! evidence/kube/target.json                      {"key": .., "ok": KubeTarget} or {"key": .., "error": ..}
//! evidence/kube/version.json
//! evidence/kube/list/<resource>/<scope>.json     ok = {"objects": "cluster/<resource>/<scope>.json", "count": N}
//! evidence/kube/get/<resource>/<ns|_cluster>/<name>.json
//! evidence/kube/access/<verb>/<resource>/<ns|_cluster>.json
//! cluster/<resource>/<scope>.json                the objects, as a List the API would return
//! evidence/host/local.json                      which node of host/ the run happened on, or null
//! host/<node>.json                               node facts
//! evidence/kube/logs/<ns>/<pod>/<container>[.previous].json   ok = {"file": "logs/...", "lines": N}
//! logs/<ns>/<pod>/<container>[.previous].log     the log's last lines, redacted (bundles only)
//! ```
//! `<scope>` is `_cluster`, `_all` or a namespace; `<resource>` is `nodes`, `deployments.apps`, ...

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};

use super::host::HostFacts;
use super::redact::{self, RedactionCount, Tally};
use super::{
    AccessQuestion, DnsQuery, EvidenceError, HeldList, HttpProbe, LogQuery, ResourceKind, Scope,
    TlsProbe, is_credential_header,
};

/// Keys of journal entries; the one place that names them, for the recorder and the replayer alike.
pub mod keys {
    use super::*;

    pub const TARGET: &str = "kube/target";
    pub const VERSION: &str = "kube/version";
    /// Why node facts were not available, when they were not (the facts themselves live in `host/`).
    pub const HOST: &str = "host/nodes";
    /// Which node's facts describe the machine the run happened on (`null`: none of them).
    pub const HOST_LOCAL: &str = "host/local";
    /// The time certificates were judged at (Unix seconds), see `TlsSource::now`.
    pub const CLOCK: &str = "tls/clock";

    pub fn list(kind: &ResourceKind, scope: &Scope) -> String {
        format!(
            "kube/list/{}/{}",
            kind.resource_key(),
            safe(scope.file_stem())
        )
    }

    pub fn get(kind: &ResourceKind, namespace: Option<&str>, name: &str) -> String {
        format!(
            "kube/get/{}/{}/{}",
            kind.resource_key(),
            safe(namespace.unwrap_or("_cluster")),
            safe(name)
        )
    }

    pub fn access(q: &AccessQuestion) -> String {
        format!(
            "kube/access/{}/{}/{}",
            safe(&q.verb),
            safe(&q.resource_key()),
            safe(q.namespace.as_deref().unwrap_or("_cluster"))
        )
    }

    /// Where the objects of a list live in a bundle.
    pub fn objects_file(kind: &ResourceKind, scope: &Scope) -> String {
        format!(
            "cluster/{}/{}.json",
            kind.resource_key(),
            safe(scope.file_stem())
        )
    }

    pub fn dns(q: &DnsQuery) -> String {
        let server = q.server.as_deref().unwrap_or("system");
        format!(
            "dns/{}/{}/{}",
            safe(server),
            safe(&q.record_type),
            safe(&q.name)
        )
    }

    /// A probe sending credentials is another question than the same URL without them: the names of its
    /// credential headers (never their values) end the key, `..._with_x-api-key`.
    pub fn http(p: &HttpProbe) -> String {
        let credentials: Vec<String> = p
            .headers
            .iter()
            .filter(|(name, _)| is_credential_header(name))
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect();
        let with = if credentials.is_empty() {
            String::new()
        } else {
            safe(&format!("_with_{}", credentials.join("_")))
        };
        format!(
            "http/{}/{}{with}",
            safe(p.connect_to.as_deref().unwrap_or("direct")),
            safe(&p.url),
        )
    }

    /// A container's log (`previous`: the container instance before its last restart).
    pub fn logs(q: &LogQuery) -> String {
        format!("kube/logs/{}", log_stem(q))
    }

    /// Where a log's lines live in a bundle.
    pub fn log_file(q: &LogQuery) -> String {
        format!("logs/{}.log", log_stem(q))
    }

    fn log_stem(q: &LogQuery) -> String {
        let previous = if q.previous { ".previous" } else { "" };
        format!(
            "{}/{}/{}{previous}",
            safe(&q.namespace),
            safe(&q.pod),
            safe(&q.container)
        )
    }

    pub fn tls(p: &TlsProbe) -> String {
        format!("tls/{}/{}", safe(&p.address), safe(&p.server_name))
    }

    /// A path component that cannot escape its folder: Kubernetes names are already `[a-z0-9.-]`, anything
    /// else is replaced.
    pub fn safe(s: &str) -> String {
        let cleaned: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
            "_".into()
        } else {
            cleaned
        }
    }
}

/// Answers recorded during a live run.
#[derive(Default)]
pub struct Journal {
    entries: Mutex<BTreeMap<String, Value>>,
    /// The objects of each list, by bundle file: the very list the live source holds (shared, not copied),
    /// written out as the List the API returned only when the journal is.
    objects: Mutex<BTreeMap<String, RecordedList>>,
    host: Mutex<Option<BTreeMap<String, HostFacts>>>,
    /// Text files of the bundle (logs), already redacted.
    files: Mutex<BTreeMap<String, String>>,
    /// What was redacted, by (file, redactor).
    redactions: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl Journal {
    pub fn new() -> Arc<Journal> {
        Arc::new(Journal::default())
    }

    /// Records the result of one request under `key`.
    pub fn record<T: Serialize>(&self, key: &str, result: &Result<T, EvidenceError>) {
        let entry = match result {
            Ok(v) => json!({"key": key, "ok": v}),
            Err(e) => json!({"key": key, "error": e}),
        };
        self.entries
            .lock()
            .expect("journal lock")
            .insert(key.to_string(), entry);
    }

    /// Records a list: the entry, and the objects as the List the API returned.
    pub fn record_list(
        &self,
        kind: &ResourceKind,
        scope: &Scope,
        result: &Result<Arc<Vec<Value>>, EvidenceError>,
    ) {
        let key = keys::list(kind, scope);
        match result {
            Ok(items) => {
                let file = keys::objects_file(kind, scope);
                self.record::<Value>(&key, &Ok(json!({"objects": file, "count": items.len()})));
                self.keep_objects(kind, file, HeldList::Values(Arc::clone(items)));
            }
            Err(e) => self.record::<Value>(&key, &Err(e.clone())),
        }
    }

    /// As [`Journal::record_list`], for a list held as compact JSON text ([`HeldList::Json`]).
    pub fn record_list_json(
        &self,
        kind: &ResourceKind,
        scope: &Scope,
        result: &Result<Arc<Vec<Box<str>>>, EvidenceError>,
    ) {
        let key = keys::list(kind, scope);
        match result {
            Ok(items) => {
                let file = keys::objects_file(kind, scope);
                self.record::<Value>(&key, &Ok(json!({"objects": file, "count": items.len()})));
                self.keep_objects(kind, file, HeldList::Json(Arc::clone(items)));
            }
            Err(e) => self.record::<Value>(&key, &Err(e.clone())),
        }
    }

    fn keep_objects(&self, kind: &ResourceKind, file: String, items: HeldList) {
        self.objects.lock().expect("journal lock").insert(
            file,
            RecordedList {
                api_version: kind.api_version(),
                kind: kind.kind.to_string(),
                items,
            },
        );
    }

    /// Records a log: the entry, and its (redacted) lines as a file of the bundle.
    pub fn record_log(&self, q: &LogQuery, result: &Result<String, EvidenceError>) {
        let key = keys::logs(q);
        match result {
            Ok(text) => {
                let file = keys::log_file(q);
                let lines = text.lines().count();
                self.record::<Value>(&key, &Ok(json!({"file": file, "lines": lines})));
                self.files
                    .lock()
                    .expect("journal lock")
                    .insert(file, text.clone());
            }
            Err(e) => self.record::<Value>(&key, &Err(e.clone())),
        }
    }

    /// Redacts ConfigMap values that recorded Pods and workloads read into secret-looking env vars
    /// ([`redact::secret_config_map_refs`]): a rule across objects, so it runs on the whole journal before
    /// it is written into a bundle.
    pub fn redact_secret_references(&self) {
        let mut objects = self.objects.lock().expect("journal lock");
        let mut refs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for list in objects.values() {
            let Some(kind) = super::kinds::ALL.iter().find(|k| k.kind == list.kind) else {
                continue;
            };
            let mut note = |item: &Value| {
                for (ns, name, key) in redact::secret_config_map_refs(kind, item) {
                    refs.entry((ns, name)).or_default().push(key);
                }
            };
            match &list.items {
                HeldList::Values(items) => items.iter().for_each(&mut note),
                HeldList::Json(items) => items
                    .iter()
                    .filter_map(|text| serde_json::from_str::<Value>(text).ok())
                    .for_each(|item| note(&item)),
            }
        }
        let mut counts = Vec::new();
        for (file, list) in objects.iter_mut() {
            if list.kind != "ConfigMap" {
                continue;
            }
            let mut tally = Tally::default();
            // The live source may still hold these objects: redact a copy of its list, not what checks read.
            let Ok(values) = list.items.values() else {
                continue;
            };
            let mut values = Arc::unwrap_or_clone(values);
            for item in values.iter_mut() {
                let id = |p: &str| {
                    item.pointer(p)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let Some(keys) = refs.get(&(id("/metadata/namespace"), id("/metadata/name")))
                else {
                    continue;
                };
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                tally.add(
                    redact::redactor::SECRET_KEY,
                    redact::config_map_keys(item, &keys),
                );
            }
            list.items = HeldList::Values(Arc::new(values));
            counts.push((file.clone(), tally));
        }
        drop(objects);
        for (file, tally) in counts {
            self.record_redactions(&file, &tally);
        }
    }

    /// Counts what was redacted from `file` (a path in the bundle layout).
    pub fn record_redactions(&self, file: &str, tally: &Tally) {
        let mut all = self.redactions.lock().expect("journal lock");
        for (redactor, n) in tally.iter() {
            *all.entry((file.to_string(), redactor)).or_default() += n;
        }
    }

    /// The redaction report: every (redactor, file, count), sorted.
    pub fn redaction_report(&self) -> Vec<RedactionCount> {
        let mut rows: Vec<RedactionCount> = self
            .redactions
            .lock()
            .expect("journal lock")
            .iter()
            .map(|((file, redactor), count)| RedactionCount {
                redactor: redactor.to_string(),
                file: file.clone(),
                count: *count,
            })
            .collect();
        rows.sort();
        rows
    }

    /// Keeps the node facts for the bundle's `host/`, with the secret values of their config files redacted
    /// (`super::redact::host_facts`) and counted in the redaction report.
    pub fn record_host(&self, facts: &BTreeMap<String, HostFacts>) {
        let mut redacted = facts.clone();
        for (node, f) in redacted.iter_mut() {
            let tally = super::redact::host_facts(f);
            self.record_redactions(&format!("host/{}.json", keys::safe(node)), &tally);
        }
        *self.host.lock().expect("journal lock") = Some(redacted);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.lock().expect("journal lock").is_empty()
            && self.host.lock().expect("journal lock").is_none()
    }

    /// Writes the journal under `dir` in the bundle layout; returns the relative paths written.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        let mut written = Vec::new();
        // Creates `rel` under `dir` and fills it through a buffered writer.
        let mut put = |rel: &str,
                       fill: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>|
         -> std::io::Result<()> {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
            fill(&mut out)?;
            out.flush()?;
            written.push(rel.to_string());
            Ok(())
        };
        for (key, entry) in self.entries.lock().expect("journal lock").iter() {
            put(&format!("evidence/{key}.json"), &|out| {
                out.write_all(&pretty(entry))
            })?;
        }
        for (file, list) in self.objects.lock().expect("journal lock").iter() {
            put(file, &|out| list.write_pretty(out))?;
        }
        if let Some(host) = self.host.lock().expect("journal lock").as_ref() {
            for (node, facts) in host {
                let facts = serde_json::to_value(facts).unwrap_or(Value::Null);
                put(&format!("host/{}.json", keys::safe(node)), &|out| {
                    out.write_all(&pretty(&facts))
                })?;
            }
        }
        for (file, text) in self.files.lock().expect("journal lock").iter() {
            put(file, &|out| out.write_all(text.as_bytes()))?;
        }
        Ok(written)
    }
}

/// One recorded list: its `apiVersion`, its kind (`Pod`) and its objects, shared with the source that read
/// them.
struct RecordedList {
    api_version: String,
    kind: String,
    items: HeldList,
}

/// The objects of a list, serialized one by one (JSON text is decoded for its turn only).
struct Items<'a>(&'a HeldList);

impl Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        match self.0 {
            HeldList::Values(items) => items.serialize(serializer),
            HeldList::Json(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for text in items.iter() {
                    let item: Value = serde_json::from_str(text).map_err(S::Error::custom)?;
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
        }
    }
}

impl RecordedList {
    /// Writes the List the API returned, streamed object by object rather than built as one more copy.
    fn write_pretty(&self, mut out: &mut dyn std::io::Write) -> std::io::Result<()> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct List<'a> {
            api_version: String,
            kind: String,
            metadata: Value,
            items: Items<'a>,
        }
        let list = List {
            api_version: self.api_version.clone(),
            kind: format!("{}List", self.kind),
            metadata: json!({}),
            items: Items(&self.items),
        };
        serde_json::to_writer_pretty(&mut out, &list)?;
        out.write_all(b"\n")
    }
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_key_names_credential_headers_but_never_their_values() {
        let mut probe = HttpProbe {
            method: "GET".into(),
            url: "https://platform.example.com/grafana/api/health".into(),
            connect_to: Some("203.0.113.10".into()),
            headers: vec![("user-agent".into(), "t".into())],
        };
        let plain = keys::http(&probe);
        assert_eq!(
            plain,
            "http/203.0.113.10/https___platform.example.com_grafana_api_health"
        );
        probe.headers.push(("X-Api-Key".into(), "s3cret".into()));
        let keyed = keys::http(&probe);
        assert_eq!(keyed, format!("{plain}_with_x-api-key"));
        assert!(!keyed.contains("s3cret"));
    }
}
