//! Opens `FILE.tar.gz` bundles safely. Bundles come from other people's machines, so the archive is treated
//! as hostile: only regular files and directories are extracted, no entry may leave the target directory
//! (absolute paths, `..`, links), and the total size and entry count are capped.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Caps that stop a decompression bomb.
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read bundle {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("bundle {path} is not a gzip-compressed tar archive: {message}")]
    Format { path: String, message: String },
    #[error("bundle {path} is unsafe to open: entry {entry:?} {why}")]
    Unsafe {
        path: String,
        entry: String,
        why: &'static str,
    },
    #[error("bundle {path} is too large: more than {limit}")]
    TooLarge { path: String, limit: String },
}

/// Extracts `archive` into `dest` and returns the bundle root inside it (the archive's single top-level
/// folder, or `dest` itself).
pub fn extract(archive: &Path, dest: &Path) -> Result<PathBuf, ArchiveError> {
    let shown = archive.display().to_string();
    let file = std::fs::File::open(archive).map_err(|source| ArchiveError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let format = |e: std::io::Error| ArchiveError::Format {
        path: shown.clone(),
        message: e.to_string(),
    };
    let mut total: u64 = 0;
    let mut count = 0usize;
    for entry in tar.entries().map_err(format)? {
        let mut entry = entry.map_err(format)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(ArchiveError::TooLarge {
                path: shown,
                limit: format!("{MAX_ENTRIES} entries"),
            });
        }
        let raw = entry.path().map_err(format)?.into_owned();
        let name = raw.display().to_string();
        let unsafe_entry = |why| ArchiveError::Unsafe {
            path: shown.clone(),
            entry: name.clone(),
            why,
        };
        let mut rel = PathBuf::new();
        for c in raw.components() {
            match c {
                Component::Normal(p) => rel.push(p),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(unsafe_entry("climbs out of the bundle with .."));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(unsafe_entry("has an absolute path"));
                }
            }
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            if !rel.as_os_str().is_empty() {
                std::fs::create_dir_all(dest.join(&rel)).map_err(|source| ArchiveError::Io {
                    path: shown.clone(),
                    source,
                })?;
            }
            continue;
        }
        if !kind.is_file() {
            return Err(unsafe_entry(
                "is a link or special file; bundles hold only files and folders",
            ));
        }
        let size = entry.header().size().map_err(format)?;
        total = total.saturating_add(size);
        if total > MAX_TOTAL_BYTES {
            return Err(ArchiveError::TooLarge {
                path: shown,
                limit: format!("{MAX_TOTAL_BYTES} bytes unpacked"),
            });
        }
        let target = dest.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ArchiveError::Io {
                path: shown.clone(),
                source,
            })?;
        }
        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
        entry
            .by_ref()
            .take(size)
            .read_to_end(&mut data)
            .map_err(format)?;
        std::fs::write(&target, data).map_err(|source| ArchiveError::Io {
            path: shown.clone(),
            source,
        })?;
    }
    // A bundle made by `tar czf x.tar.gz bundle-dir/` has one top-level folder: use it as the root.
    let top: Vec<_> = std::fs::read_dir(dest)
        .map_err(|source| ArchiveError::Io {
            path: shown.clone(),
            source,
        })?
        .flatten()
        .collect();
    match top.as_slice() {
        [only]
            if only.path().is_dir()
                && !only.path().join("..").eq(dest)
                && !is_bundle_part(&only.file_name()) =>
        {
            Ok(only.path())
        }
        _ => Ok(dest.to_path_buf()),
    }
}

fn is_bundle_part(name: &std::ffi::OsStr) -> bool {
    ["evidence", "cluster", "host", "logs"]
        .iter()
        .any(|p| name == *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive_with(entries: &[(&str, &[u8], tar::EntryType)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        for (name, data, kind) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // set_path refuses `..`; write the raw name to build a hostile archive.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            if *kind == tar::EntryType::Symlink {
                h.set_link_name("/etc/passwd").unwrap();
            }
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        (dir, path)
    }

    #[test]
    fn extracts_a_plain_bundle_and_finds_its_root() {
        let (_d, path) = archive_with(&[("bundle/manifest.json", b"{}", tar::EntryType::Regular)]);
        let out = tempfile::tempdir().unwrap();
        let root = extract(&path, out.path()).unwrap();
        assert!(root.join("manifest.json").is_file());
    }

    #[test]
    fn rejects_parent_dir_absolute_and_links() {
        for (name, kind) in [
            ("../escape.json", tar::EntryType::Regular),
            ("/etc/evil.json", tar::EntryType::Regular),
            ("bundle/link", tar::EntryType::Symlink),
        ] {
            let (_d, path) = archive_with(&[(name, b"x", kind)]);
            let out = tempfile::tempdir().unwrap();
            let err = extract(&path, out.path()).unwrap_err();
            assert!(matches!(err, ArchiveError::Unsafe { .. }), "{name}: {err}");
        }
    }

    #[test]
    fn rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.tar.gz");
        std::fs::write(&p, b"not gzip at all").unwrap();
        let out = tempfile::tempdir().unwrap();
        assert!(matches!(
            extract(&p, out.path()).unwrap_err(),
            ArchiveError::Format { .. }
        ));
    }
}
