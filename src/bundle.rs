//! `bundle --preview`: what a bundle would take off the site, file by file, with what was redacted in each.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use mcp_doctor_checks::evidence::bundle::Manifest;

use crate::StartError;

/// The files of the staged bundle `dir`, their sizes and redactions, and the totals.
pub fn preview(dir: &Path, manifest: &Manifest) -> Result<String, StartError> {
    let mut files = Vec::new();
    list(dir, Path::new(""), &mut files)
        .map_err(|e| StartError(format!("cannot read the staged bundle: {e}")))?;
    files.sort();
    let mut by_file: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut by_redactor: BTreeMap<&str, u64> = BTreeMap::new();
    for row in &manifest.redaction_report {
        by_file
            .entry(row.file.as_str())
            .or_default()
            .push(format!("{} {}", row.redactor, row.count));
        *by_redactor.entry(row.redactor.as_str()).or_default() += row.count;
    }
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    let width = files
        .iter()
        .map(|(p, _)| p.display().to_string().len())
        .max()
        .unwrap_or(4);
    let mut out = format!(
        "A bundle would take {} files ({total} bytes before compression) off this site. Nothing was written.\n\n",
        files.len()
    );
    let _ = writeln!(out, "{:<width$}  {:>9}  REDACTED", "FILE", "BYTES");
    for (path, size) in &files {
        let shown = path.display().to_string();
        let redacted = by_file
            .get(shown.as_str())
            .map(|r| r.join(", "))
            .unwrap_or_default();
        let _ = writeln!(out, "{shown:<width$}  {size:>9}  {redacted}");
    }
    let _ = writeln!(out, "\nRedactions by redactor:");
    if by_redactor.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for (redactor, n) in by_redactor {
        let _ = writeln!(out, "  {redactor}: {n}");
    }
    let _ = writeln!(out, "\nAlways withheld:");
    for what in &manifest.redacted {
        let _ = writeln!(out, "  {what}");
    }
    Ok(out)
}

fn list(root: &Path, rel: &Path, out: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let path = rel.join(entry.file_name());
        let meta = entry.metadata()?;
        if meta.is_dir() {
            list(root, &path, out)?;
        } else {
            out.push((path, meta.len()));
        }
    }
    Ok(())
}
