//! A tiny OCI image for this machine's architecture: pushed through the registry API, or written straight
//! into a docker-registry's filesystem storage (where the test cannot reach the registry, e.g. in a network
//! namespace).

use std::io::Write;
use std::path::Path;

use ring::digest::{SHA256, digest};

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A one-layer OCI image: a gzip tar with one small file, its config and its manifest.
pub struct TestImage {
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

impl TestImage {
    /// The image whose layer holds `hello.txt` with `content`.
    pub fn new(content: &str) -> TestImage {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, "hello.txt", content.as_bytes())
            .unwrap();
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let layer = gz.finish().unwrap();
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": arch,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]},
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(&config),
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": sha256(&layer),
                "size": layer.len(),
            }],
        }))
        .unwrap();
        TestImage {
            layer,
            config,
            manifest,
        }
    }

    /// The manifest's digest.
    pub fn digest(&self) -> String {
        sha256(&self.manifest)
    }

    /// Push through the registry API at `base` (`http://127.0.0.1:5000`): a monolithic blob upload per blob
    /// (POST, then PUT with `digest=`), then the manifest under `tag`.
    pub async fn push(&self, client: &reqwest::Client, base: &str, repo: &str, tag: &str) {
        for blob in [&self.layer, &self.config] {
            let started = client
                .post(format!("{base}/v2/{repo}/blobs/uploads/"))
                .send()
                .await
                .unwrap();
            assert_eq!(started.status().as_u16(), 202, "blob upload start");
            let location = started.headers()["location"].to_str().unwrap().to_string();
            let location = if location.starts_with('/') {
                format!("{base}{location}")
            } else {
                location
            };
            let sep = if location.contains('?') { '&' } else { '?' };
            let put = client
                .put(format!("{location}{sep}digest={}", sha256(blob)))
                .header("content-type", "application/octet-stream")
                .body(blob.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(put.status().as_u16(), 201, "blob upload");
        }
        let put = client
            .put(format!("{base}/v2/{repo}/manifests/{tag}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(self.manifest.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 201, "manifest upload");
    }

    /// Writes the image into docker-registry's filesystem storage at `root` as `repo:tag`, laid out as the
    /// registry's filesystem driver lays it out (blobs, repository links, the tag).
    pub fn write_to_storage(&self, root: &Path, repo: &str, tag: &str) {
        let v2 = root.join("docker/registry/v2");
        let put_blob = |bytes: &[u8], link: &str| {
            let digest = sha256(bytes);
            let hex = &digest["sha256:".len()..];
            let dir = v2.join(format!("blobs/sha256/{}/{hex}", &hex[..2]));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("data"), bytes).unwrap();
            let linked = v2.join(format!("repositories/{repo}/{link}/sha256/{hex}"));
            std::fs::create_dir_all(&linked).unwrap();
            std::fs::write(linked.join("link"), &digest).unwrap();
            digest
        };
        put_blob(&self.config, "_layers");
        put_blob(&self.layer, "_layers");
        let manifest = put_blob(&self.manifest, "_manifests/revisions");
        let tag_dir = v2.join(format!("repositories/{repo}/_manifests/tags/{tag}"));
        let index = tag_dir.join(format!("index/sha256/{}", &manifest["sha256:".len()..]));
        for dir in [tag_dir.join("current"), index] {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("link"), &manifest).unwrap();
        }
    }
}
