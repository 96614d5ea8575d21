//! Opens `FILE.tar.gz` bundles safely and packs them reproducibly. Bundles come from other people's
//! machines, so the archive is treated as hostile: only regular files and directories are extracted, no
//! entry may leave the target directory (absolute paths, `..`, links, device files) or come twice, and the size of each
//! file, the total size and the entry count are capped. Packing is deterministic (sorted entries, fixed
//! times, owners and modes, gzip without a timestamp), so two bundles of the same state are the same bytes.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Caps that stop a decompression bomb.
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
pub const MAX_FILE_BYTES: u64 = 256 << 20;
pub const MAX_ENTRIES: usize = 100_000;

/// The caps [`extract_with`] enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub total_bytes: u64,
    pub file_bytes: u64,
    pub entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            total_bytes: MAX_TOTAL_BYTES,
            file_bytes: MAX_FILE_BYTES,
            entries: MAX_ENTRIES,
        }
    }
}

/// The folder every entry of a packed bundle sits in.
pub const PACKED_ROOT: &str = "mcp-doctor-bundle";
/// The modification time of every packed entry (2020-01-01T00:00:00Z): fixed, so packing is reproducible.
const PACKED_MTIME: u64 = 1_577_836_800;

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

/// Extracts `archive` into `dest` under the default [`Limits`] and returns the bundle root inside it (the
/// archive's single top-level folder, or `dest` itself).
pub fn extract(archive: &Path, dest: &Path) -> Result<PathBuf, ArchiveError> {
    extract_with(archive, dest, &Limits::default())
}

/// [`extract`] under given caps.
pub fn extract_with(archive: &Path, dest: &Path, limits: &Limits) -> Result<PathBuf, ArchiveError> {
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
    // A second entry of the same path would silently replace what a reviewer of the archive saw first.
    let mut seen = std::collections::HashSet::new();
    for entry in tar.entries().map_err(format)? {
        let mut entry = entry.map_err(format)?;
        count += 1;
        if count > limits.entries {
            return Err(ArchiveError::TooLarge {
                path: shown,
                limit: format!("{} entries", limits.entries),
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
        if !seen.insert(rel.clone()) {
            return Err(unsafe_entry("appears twice"));
        }
        let size = entry.header().size().map_err(format)?;
        if size > limits.file_bytes {
            return Err(ArchiveError::TooLarge {
                path: shown,
                limit: format!("{} bytes in one file ({name})", limits.file_bytes),
            });
        }
        total = total.saturating_add(size);
        if total > limits.total_bytes {
            return Err(ArchiveError::TooLarge {
                path: shown,
                limit: format!("{} bytes unpacked", limits.total_bytes),
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

/// Packs the bundle directory `dir` into the gzip-compressed tar `out`, every entry under [`PACKED_ROOT`],
/// reproducibly: entries sorted by path, mtime fixed, owner 0:0 without names, modes 0644/0755, and a gzip
/// header without a timestamp or file name. Only regular files and folders are packed.
pub fn pack(dir: &Path, out: &Path) -> std::io::Result<()> {
    let mut paths = Vec::new();
    walk(dir, Path::new(""), &mut paths)?;
    paths.sort();
    let file = std::fs::File::create(out)?;
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let header = |kind: tar::EntryType, size: u64, mode: u32| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(PACKED_MTIME);
        h.set_uid(0);
        h.set_gid(0);
        h
    };
    let mut root = header(tar::EntryType::Directory, 0, 0o755);
    tar.append_data(&mut root, format!("{PACKED_ROOT}/"), std::io::empty())?;
    for (rel, is_dir) in paths {
        let name = Path::new(PACKED_ROOT).join(&rel);
        if is_dir {
            let mut h = header(tar::EntryType::Directory, 0, 0o755);
            tar.append_data(&mut h, name, std::io::empty())?;
        } else {
            let data = std::fs::read(dir.join(&rel))?;
            let mut h = header(tar::EntryType::Regular, data.len() as u64, 0o644);
            tar.append_data(&mut h, name, data.as_slice())?;
        }
    }
    tar.into_inner()?.finish()?.sync_all()
}

/// Every file and folder under `dir`, as (relative path, is folder); links and special files are skipped.
fn walk(dir: &Path, rel: &Path, out: &mut Vec<(PathBuf, bool)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir.join(rel))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = rel.join(entry.file_name());
        if kind.is_dir() {
            out.push((path.clone(), true));
            walk(dir, &path, out)?;
        } else if kind.is_file() {
            out.push((path, false));
        }
    }
    Ok(())
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
            if matches!(*kind, tar::EntryType::Symlink | tar::EntryType::Link) {
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

    /// The error extracting an archive of the one entry `name` gives, after checking it wrote nothing.
    fn refused(name: &str, kind: tar::EntryType) -> ArchiveError {
        let (d, path) = archive_with(&[(name, b"x", kind)]);
        let out = tempfile::tempdir().unwrap();
        let err = extract(&path, out.path()).unwrap_err();
        assert!(matches!(err, ArchiveError::Unsafe { .. }), "{name}: {err}");
        assert!(!d.path().join("escape.json").exists(), "{name} escaped");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "{name}");
        err
    }

    #[test]
    fn rejects_parent_dir_entries() {
        refused("../escape.json", tar::EntryType::Regular);
        refused("bundle/../../escape.json", tar::EntryType::Regular);
    }

    #[test]
    fn rejects_absolute_paths() {
        refused("/etc/evil.json", tar::EntryType::Regular);
    }

    #[test]
    fn rejects_symlinks() {
        let err = refused("bundle/link", tar::EntryType::Symlink);
        assert!(
            err.to_string().contains("is a link or special file"),
            "{err}"
        );
    }

    #[test]
    fn rejects_duplicate_entries() {
        let (_d, path) = archive_with(&[
            ("bundle/manifest.json", b"{}", tar::EntryType::Regular),
            (
                "bundle/./manifest.json",
                b"{\"x\":1}",
                tar::EntryType::Regular,
            ),
        ]);
        let err = extract(&path, tempfile::tempdir().unwrap().path()).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    fn rejection(name: &str, kind: tar::EntryType) -> ArchiveError {
        let (_d, path) = archive_with(&[
            ("bundle/manifest.json", b"{}", tar::EntryType::Regular),
            (name, b"", kind),
        ]);
        let out = tempfile::tempdir().unwrap();
        let err = extract(&path, out.path()).unwrap_err();
        // Nothing of the hostile entry was written anywhere.
        assert!(!out.path().join("bundle/x").exists());
        err
    }

    #[test]
    fn rejects_hard_links() {
        let err = rejection("bundle/x", tar::EntryType::Link);
        assert!(matches!(err, ArchiveError::Unsafe { .. }), "{err}");
        assert!(
            err.to_string().contains("is a link or special file"),
            "{err}"
        );
    }

    #[test]
    fn rejects_device_files_and_fifos() {
        for kind in [
            tar::EntryType::Char,
            tar::EntryType::Block,
            tar::EntryType::Fifo,
        ] {
            let err = rejection("bundle/x", kind);
            assert!(
                matches!(err, ArchiveError::Unsafe { .. }),
                "{kind:?}: {err}"
            );
        }
    }

    /// A gzip bomb: a few KiB that unpack to 8 MiB of zeros, against caps of 1 MiB.
    fn bomb() -> (tempfile::TempDir, PathBuf) {
        let zeros = vec![0u8; 8 << 20];
        archive_with(&[(
            "bundle/evidence/zeros.json",
            zeros.as_slice(),
            tar::EntryType::Regular,
        )])
    }

    #[test]
    fn caps_one_file_against_gzip_bombs() {
        let (_d, path) = bomb();
        assert!(std::fs::metadata(&path).unwrap().len() < 64 << 10);
        let out = tempfile::tempdir().unwrap();
        let limits = Limits {
            file_bytes: 1 << 20,
            ..Limits::default()
        };
        let err = extract_with(&path, out.path(), &limits).unwrap_err();
        assert!(matches!(err, ArchiveError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("bytes in one file"), "{err}");
        assert!(!out.path().join("bundle/evidence/zeros.json").exists());
    }

    #[test]
    fn caps_the_total_size() {
        let half = vec![b'a'; 600 << 10];
        let (_d, path) = archive_with(&[
            ("bundle/a.json", half.as_slice(), tar::EntryType::Regular),
            ("bundle/b.json", half.as_slice(), tar::EntryType::Regular),
        ]);
        let out = tempfile::tempdir().unwrap();
        let limits = Limits {
            total_bytes: 1 << 20,
            ..Limits::default()
        };
        let err = extract_with(&path, out.path(), &limits).unwrap_err();
        assert!(err.to_string().contains("bytes unpacked"), "{err}");
        // Each file alone is within the caps.
        assert!(extract(&path, tempfile::tempdir().unwrap().path()).is_ok());
    }

    #[test]
    fn caps_the_entry_count() {
        let (_d, path) = archive_with(&[
            ("bundle/a", b"", tar::EntryType::Regular),
            ("bundle/b", b"", tar::EntryType::Regular),
        ]);
        let limits = Limits {
            entries: 1,
            ..Limits::default()
        };
        let err = extract_with(&path, tempfile::tempdir().unwrap().path(), &limits).unwrap_err();
        assert!(err.to_string().contains("1 entries"), "{err}");
    }

    #[test]
    fn packing_is_reproducible_and_round_trips() {
        let make = |order: &[&str]| {
            let dir = tempfile::tempdir().unwrap();
            for name in order {
                let p = dir.path().join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, format!("content of {name}")).unwrap();
            }
            dir
        };
        let a = make(&["manifest.json", "cluster/pods/x.json", "logs/ns/p/c.log"]);
        // Created in another order, a second later, with another mode: the same bundle.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = make(&["logs/ns/p/c.log", "cluster/pods/x.json", "manifest.json"]);
        std::fs::set_permissions(
            b.path().join("manifest.json"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let out = tempfile::tempdir().unwrap();
        let (pa, pb) = (out.path().join("a.tar.gz"), out.path().join("b.tar.gz"));
        pack(a.path(), &pa).unwrap();
        pack(b.path(), &pb).unwrap();
        assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
        // Entries are sorted, owned by 0:0, with fixed times and modes.
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&pa).unwrap(),
        ));
        let mut names = Vec::new();
        for e in tar.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.mtime().unwrap(), PACKED_MTIME);
            assert!(matches!(h.mode().unwrap(), 0o644 | 0o755));
            names.push(e.path().unwrap().display().to_string());
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        // The gzip header carries no timestamp (bytes 4..8).
        assert_eq!(&std::fs::read(&pa).unwrap()[4..8], &[0, 0, 0, 0]);
        let unpacked = tempfile::tempdir().unwrap();
        let root = extract(&pa, unpacked.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("logs/ns/p/c.log")).unwrap(),
            "content of logs/ns/p/c.log"
        );
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
