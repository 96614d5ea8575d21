//! Answers evidence requests from a bundle or fixture directory (see [`super::journal`] for the layout).
//!
//! Journal entries are authoritative. A hand-written fixture may skip them and drop plain List files into
//! `cluster/`: a namespace list is then served from `cluster/<resource>/_all.json` filtered by namespace, an
//! error recorded for `_all` applies to every namespace, a `get` is answered from the lists, and an access
//! review is allowed unless the list it asks about is recorded as forbidden. Anything else is
//! `not collected`, and the checks that needed it `skip`.
//!
//! The fixture API server answers from the same functions, so a fixture means the same thing live and replayed.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::journal::keys;
use super::live_host::read_facts_dir;
use super::{
    AccessAnswer, AccessQuestion, DnsAnswer, DnsQuery, DnsSource, EvidenceError, HeldList,
    HostFacts, HostSource, HttpAnswer, HttpProbe, HttpSource, KubeSource, KubeTarget, LogQuery,
    ResourceKind, Scope, ServerVersion, TlsAnswer, TlsProbe, TlsSource,
};

/// A bundle or fixture directory opened for replay. Clones share one cache of parsed lists.
#[derive(Debug, Clone)]
pub struct Bundle {
    root: PathBuf,
    lists: Arc<ListCache>,
}

/// Every list answered so far, by journal key, in each form asked for: a bundle does not change while it
/// is read, so each List file is parsed once however many checks (or, in the fixture API server, pages and
/// access reviews) ask for it.
#[derive(Default)]
struct ListCache {
    /// As `Value`s: what the fixture API server pages, filters and patches.
    values: Memo<Value>,
    /// As compact JSON text, a fraction of the memory of `Value`s: what `analyze`'s checks decode from.
    json: Memo<Box<str>>,
}

/// A list's items in one form, or why it could not be read.
type ListedAs<T> = Result<Arc<Vec<T>>, EvidenceError>;

struct Memo<T>(Mutex<HashMap<String, ListedAs<T>>>);

impl<T> Memo<T> {
    fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or_default()
    }
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo(Mutex::default())
    }
}

impl std::fmt::Debug for ListCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ListCache({} lists as values, {} as text)",
            self.values.len(),
            self.json.len()
        )
    }
}

/// A form a bundle's list items are held in.
trait ListItem: Sized + Clone {
    /// The cache of this form.
    fn memo(cache: &ListCache) -> &Memo<Self>;
    fn from_value(value: Value) -> Self;
    /// `metadata.namespace`, to serve a namespace from the all-namespaces list.
    fn in_namespace(&self, namespace: &str) -> bool;
}

impl ListItem for Value {
    fn memo(cache: &ListCache) -> &Memo<Self> {
        &cache.values
    }
    fn from_value(value: Value) -> Self {
        value
    }
    fn in_namespace(&self, namespace: &str) -> bool {
        self.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace)
    }
}

impl ListItem for Box<str> {
    fn memo(cache: &ListCache) -> &Memo<Self> {
        &cache.json
    }
    /// Compact whatever the file's layout (recordings are indented for people to read).
    fn from_value(value: Value) -> Self {
        value.to_string().into_boxed_str()
    }
    fn in_namespace(&self, namespace: &str) -> bool {
        #[derive(serde::Deserialize)]
        struct Object<'a> {
            #[serde(borrow)]
            metadata: Option<Metadata<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct Metadata<'a> {
            #[serde(borrow)]
            namespace: Option<std::borrow::Cow<'a, str>>,
        }
        serde_json::from_str::<Object>(self)
            .ok()
            .and_then(|o| o.metadata?.namespace)
            .is_some_and(|ns| ns == namespace)
    }
}

/// A List file as written; its items are turned into the form asked for one at a time as the file is
/// read, so neither the file nor a tree of all its objects is ever held (a recorded pod list is as large
/// as the cluster's pods, indented).
#[derive(serde::Deserialize)]
#[serde(bound = "T: ListItem")]
struct ListFile<T> {
    #[serde(default)]
    items: Option<Items<T>>,
}

struct Items<T>(Vec<T>);

impl<'de, T: ListItem> serde::Deserialize<'de> for Items<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Each<T>(std::marker::PhantomData<T>);
        impl<'de, T: ListItem> serde::de::Visitor<'de> for Each<T> {
            type Value = Items<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of objects")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Items<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(object) = seq.next_element::<Value>()? {
                    items.push(T::from_value(object));
                }
                Ok(Items(items))
            }
        }
        deserializer.deserialize_seq(Each(std::marker::PhantomData))
    }
}

impl Bundle {
    pub fn open(root: &Path) -> Result<Bundle, String> {
        if !root.is_dir() {
            return Err(format!("{} is not a bundle directory", root.display()));
        }
        let has_content = ["evidence", "cluster", "host", "manifest.json"]
            .iter()
            .any(|p| root.join(p).exists());
        if !has_content {
            return Err(format!(
                "{} holds no evidence/, cluster/, host/ or manifest.json: not a bundle made by `mcp-doctor bundle` or `doctor --record`",
                root.display()
            ));
        }
        Ok(Bundle {
            root: root.to_path_buf(),
            lists: Arc::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A journal entry: Some(Ok(value)) / Some(Err(error)) when recorded, None when absent.
    pub fn entry(&self, key: &str) -> Option<Result<Value, EvidenceError>> {
        let path = self.root.join("evidence").join(format!("{key}.json"));
        let text = std::fs::read_to_string(&path).ok()?;
        let decode = |message: String| EvidenceError::Decode {
            what: path.display().to_string(),
            message,
        };
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => return Some(Err(decode(e.to_string()))),
        };
        if let Some(err) = v.get("error") {
            return Some(Err(
                serde_json::from_value(err.clone()).unwrap_or_else(|e| decode(e.to_string()))
            ));
        }
        match v.get("ok") {
            Some(ok) => Some(Ok(ok.clone())),
            None => Some(Err(decode("entry has neither \"ok\" nor \"error\"".into()))),
        }
    }

    fn typed_entry<T: DeserializeOwned>(&self, key: &str) -> Option<Result<T, EvidenceError>> {
        self.entry(key).map(|r| {
            r.and_then(|v| {
                serde_json::from_value(v).map_err(|e| EvidenceError::Decode {
                    what: key.into(),
                    message: e.to_string(),
                })
            })
        })
    }

    fn read_list_file<T: ListItem>(&self, rel: &str) -> Option<Result<Vec<T>, EvidenceError>> {
        let path = self.root.join(rel);
        let file = std::fs::File::open(&path).ok()?;
        let read = std::io::BufReader::with_capacity(1 << 16, file);
        Some(
            serde_json::from_reader::<_, ListFile<T>>(read)
                .map(|list| list.items.map(|items| items.0).unwrap_or_default())
                .map_err(|e| EvidenceError::Decode {
                    what: path.display().to_string(),
                    message: e.to_string(),
                }),
        )
    }

    /// The objects of a kind in a scope, by the rules in the module doc.
    pub fn list(&self, kind: &ResourceKind, scope: &Scope) -> Result<Vec<Value>, EvidenceError> {
        self.list_shared(kind, scope)
            .map(|items| items.as_ref().clone())
    }

    /// As [`Bundle::list`], shared: each (kind, scope) is read and parsed once per opened bundle.
    pub fn list_shared(
        &self,
        kind: &ResourceKind,
        scope: &Scope,
    ) -> Result<Arc<Vec<Value>>, EvidenceError> {
        self.list_cached(kind, scope)
    }

    /// As [`Bundle::list_shared`], each object held as compact JSON text.
    pub fn list_json(
        &self,
        kind: &ResourceKind,
        scope: &Scope,
    ) -> Result<Arc<Vec<Box<str>>>, EvidenceError> {
        self.list_cached(kind, scope)
    }

    fn list_cached<T: ListItem>(&self, kind: &ResourceKind, scope: &Scope) -> ListedAs<T> {
        let key = keys::list(kind, scope);
        let memo = T::memo(&self.lists);
        let cached = memo.0.lock().expect("list cache lock").get(&key).cloned();
        if let Some(found) = cached {
            return found;
        }
        let found = self.read_list(kind, scope);
        memo.0
            .lock()
            .expect("list cache lock")
            .insert(key, found.clone());
        found
    }

    fn read_list<T: ListItem>(
        &self,
        kind: &ResourceKind,
        scope: &Scope,
    ) -> Result<Arc<Vec<T>>, EvidenceError> {
        if let Some(found) = self.list_exact(kind, scope) {
            return found.map(Arc::new);
        }
        if let Scope::Namespace(ns) = scope
            && self.list_exact_exists(kind, &Scope::AllNamespaces)
        {
            return self
                .list_cached::<T>(kind, &Scope::AllNamespaces)
                .map(|all| Arc::new(all.iter().filter(|o| o.in_namespace(ns)).cloned().collect()));
        }
        Err(EvidenceError::NotCollected {
            what: format!("list of {} in {}", kind.resource_key(), scope),
        })
    }

    /// Whether the bundle says anything (objects or an error) about a list, without reading it.
    fn list_exact_exists(&self, kind: &ResourceKind, scope: &Scope) -> bool {
        let entry = self
            .root
            .join("evidence")
            .join(format!("{}.json", keys::list(kind, scope)));
        entry.is_file() || self.root.join(keys::objects_file(kind, scope)).is_file()
    }

    fn list_exact<T: ListItem>(
        &self,
        kind: &ResourceKind,
        scope: &Scope,
    ) -> Option<Result<Vec<T>, EvidenceError>> {
        match self.entry(&keys::list(kind, scope)) {
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(v)) => {
                let file = v.get("objects").and_then(Value::as_str).map(str::to_string);
                let file = file.unwrap_or_else(|| keys::objects_file(kind, scope));
                Some(self.read_list_file(&file).unwrap_or_else(|| {
                    Err(EvidenceError::NotCollected {
                        what: format!("{file} (named by the journal) is missing"),
                    })
                }))
            }
            None => self.read_list_file(&keys::objects_file(kind, scope)),
        }
    }

    pub fn get(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError> {
        if let Some(found) = self.entry(&keys::get(kind, namespace, name)) {
            return match found {
                Ok(Value::Null) => Ok(None),
                Ok(v) => Ok(Some(v)),
                Err(EvidenceError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            };
        }
        let scope = match namespace {
            Some(ns) => Scope::Namespace(ns.to_string()),
            None => Scope::Cluster,
        };
        let items = self.list_shared(kind, &scope)?;
        Ok(items
            .iter()
            .find(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
            .cloned())
    }

    pub fn access(&self, q: &AccessQuestion) -> Result<AccessAnswer, EvidenceError> {
        if let Some(found) = self.typed_entry(&keys::access(q)) {
            return found;
        }
        let kind = ResourceKind::by_key(&q.resource_key());
        let denied = kind.is_some_and(|k| {
            let scope = match &q.namespace {
                Some(ns) => Scope::Namespace(ns.clone()),
                None => Scope::everywhere(k),
            };
            q.verb == "list"
                && matches!(
                    self.list_shared(k, &scope),
                    Err(EvidenceError::Forbidden { .. })
                )
        });
        Ok(AccessAnswer {
            allowed: !denied,
            reason: None,
        })
    }

    /// A container's log: the journal's entry and the file it names, or for a hand-written fixture the
    /// file at its place in `logs/`; `tail_lines` applies as the API server applies it.
    pub fn logs(&self, q: &LogQuery) -> Result<String, EvidenceError> {
        let file = match self.entry(&keys::logs(q)) {
            Some(Err(e)) => return Err(e),
            Some(Ok(v)) => v
                .get("file")
                .and_then(Value::as_str)
                .map_or_else(|| keys::log_file(q), str::to_string),
            None => keys::log_file(q),
        };
        let text = std::fs::read_to_string(self.root.join(&file)).map_err(|_| {
            EvidenceError::NotCollected {
                what: q.to_string(),
            }
        })?;
        Ok(match q.tail_lines.and_then(|n| usize::try_from(n).ok()) {
            Some(n) => {
                let lines: Vec<&str> = text.lines().collect();
                let kept = &lines[lines.len().saturating_sub(n)..];
                kept.iter().map(|l| format!("{l}\n")).collect()
            }
            None => text,
        })
    }

    pub fn version(&self) -> Result<ServerVersion, EvidenceError> {
        if let Some(found) = self.typed_entry(keys::VERSION) {
            return found;
        }
        let path = self.root.join("cluster/version.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| EvidenceError::Decode {
                what: path.display().to_string(),
                message: e.to_string(),
            }),
            Err(_) => Err(EvidenceError::NotCollected {
                what: "the API server version (/version)".into(),
            }),
        }
    }

    pub fn target(&self) -> Result<KubeTarget, EvidenceError> {
        self.typed_entry(keys::TARGET).unwrap_or_else(|| {
            Err(EvidenceError::NotCollected {
                what: "the kubeconfig and context in use".into(),
            })
        })
    }

    pub fn host(&self) -> Result<BTreeMap<String, HostFacts>, EvidenceError> {
        if let Some(Err(e)) = self.entry(keys::HOST) {
            return Err(e);
        }
        let dir = self.root.join("host");
        if !dir.is_dir() {
            return Err(EvidenceError::NotCollected {
                what: "node facts (host/)".into(),
            });
        }
        read_facts_dir(&dir)
    }
}

impl super::Evidence {
    /// Every source answered from one bundle: what `analyze` and `doctor --from` read.
    pub fn replay(bundle: Bundle) -> super::Evidence {
        let source = Arc::new(ReplaySource::new(bundle));
        super::Evidence {
            kube: source.clone(),
            dns: source.clone(),
            http: source.clone(),
            tls: source.clone(),
            host: source,
            journal: super::Journal::new(),
            origin: super::Origin::Bundle,
        }
    }
}

/// The replay side of every evidence source.
pub struct ReplaySource {
    bundle: Bundle,
    host: tokio::sync::OnceCell<Result<Arc<BTreeMap<String, HostFacts>>, EvidenceError>>,
}

impl ReplaySource {
    pub fn new(bundle: Bundle) -> Self {
        ReplaySource {
            bundle,
            host: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait]
impl KubeSource for ReplaySource {
    async fn target(&self) -> Result<KubeTarget, EvidenceError> {
        self.bundle.target()
    }
    async fn version(&self) -> Result<ServerVersion, EvidenceError> {
        self.bundle.version()
    }
    async fn list(
        &self,
        kind: &'static ResourceKind,
        scope: &Scope,
    ) -> Result<Arc<Vec<Value>>, EvidenceError> {
        self.bundle.list_shared(kind, scope)
    }
    /// Held as text, as live: replaying a big cluster's bundle takes about the memory of its lists.
    async fn list_held(
        &self,
        kind: &'static ResourceKind,
        scope: &Scope,
    ) -> Result<HeldList, EvidenceError> {
        self.bundle.list_json(kind, scope).map(HeldList::Json)
    }
    async fn get(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, EvidenceError> {
        self.bundle.get(kind, namespace, name)
    }
    async fn access(&self, q: &AccessQuestion) -> Result<AccessAnswer, EvidenceError> {
        self.bundle.access(q)
    }

    async fn logs(&self, q: &LogQuery) -> Result<String, EvidenceError> {
        self.bundle.logs(q)
    }
}

#[async_trait]
impl HostSource for ReplaySource {
    async fn nodes(&self) -> Result<Arc<BTreeMap<String, HostFacts>>, EvidenceError> {
        self.host
            .get_or_init(|| async { self.bundle.host().map(Arc::new) })
            .await
            .clone()
    }

    async fn local_node(&self) -> Result<Option<String>, EvidenceError> {
        self.nodes().await?;
        replay_probe(
            &self.bundle,
            keys::HOST_LOCAL.into(),
            "which node's facts describe the machine the run happened on".into(),
        )
    }
}

/// Replays a journaled probe answer by its key, or reports it as not collected.
fn replay_probe<T: DeserializeOwned>(
    bundle: &Bundle,
    key: String,
    what: String,
) -> Result<T, EvidenceError> {
    bundle
        .typed_entry(&key)
        .unwrap_or(Err(EvidenceError::NotCollected { what }))
}

#[async_trait]
impl DnsSource for ReplaySource {
    async fn resolve(&self, q: &DnsQuery) -> Result<DnsAnswer, EvidenceError> {
        let server = q.server.as_deref().unwrap_or("the system resolver");
        replay_probe(
            &self.bundle,
            keys::dns(q),
            format!("DNS {} {} via {server}", q.record_type, q.name),
        )
    }
}

#[async_trait]
impl HttpSource for ReplaySource {
    async fn fetch(&self, p: &HttpProbe) -> Result<HttpAnswer, EvidenceError> {
        replay_probe(
            &self.bundle,
            keys::http(p),
            format!("HTTP {} {}", p.method, p.url),
        )
    }
}

#[async_trait]
impl TlsSource for ReplaySource {
    async fn handshake(&self, p: &TlsProbe) -> Result<TlsAnswer, EvidenceError> {
        replay_probe(
            &self.bundle,
            keys::tls(p),
            format!("TLS handshake with {} (SNI {})", p.address, p.server_name),
        )
    }

    async fn now(&self) -> i64 {
        match self.bundle.typed_entry::<i64>(keys::CLOCK) {
            Some(Ok(t)) => t,
            _ => super::unix_now(),
        }
    }
}
