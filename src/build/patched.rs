//! A patched copy of the verified source, made once: copied into a staging folder, patched
//! there and renamed into place, so a half-made copy is never found. Its `sha256` names the
//! patch, so every cache keyed by the source (zig's outputs, the suites) tells them apart.

use super::source::SourceTree;
use crate::toolchain::Home;
use anyhow::{Context, Result};
use std::path::Path;

/// One change to a file of the source tree.
pub struct Patch<'a> {
    /// The copy's name among the sources, and the mark on its sha256 (`fixed-random`).
    pub name: &'a str,
    /// What the copy is, said after the source's origin (`random bytes fixed`).
    pub origin: &'a str,
    /// What decides the patch's result beside the source: a new text here, a new copy.
    pub key: &'a str,
    /// The file patched, relative to the tree.
    pub file: &'a str,
    /// The file's new text from its old one; an error says the source is not as expected.
    pub apply: &'a dyn Fn(&str) -> Result<String>,
}

/// The copy of `source` with `patch` applied, made once.
pub fn patched(home: &Home, source: &SourceTree, patch: &Patch) -> Result<SourceTree> {
    let key = crate::util::short_hash(&format!("{} {}", source.info.sha256, patch.key));
    let dir = home.dir("sources").join(format!("{}-{key}", patch.name));
    let complete = dir.join(".complete");
    let what = format!("the {} copy of the libsodium source", patch.name);
    crate::util::lock::make_once(
        &dir,
        &what,
        || complete.exists(),
        || copy_patched(home, source, patch, &dir),
    )?;
    let mut info = source.info.clone();
    info.sha256 = format!("{}+{}-{key}", source.info.sha256, patch.name);
    info.origin = format!("{}, {}", info.origin, patch.origin);
    Ok(SourceTree { dir, info })
}

/// Copies `source` into a staging folder, patches it and renames it to `dir`.
fn copy_patched(home: &Home, source: &SourceTree, patch: &Patch, dir: &Path) -> Result<()> {
    let staging = tempfile::Builder::new()
        .prefix(".patching-")
        .tempdir_in(home.dir("sources"))?;
    let copy = staging.path().join("tree");
    crate::util::run_checked(
        std::process::Command::new("cp")
            .arg("-a")
            .arg(&source.dir)
            .arg(&copy),
        "copying the libsodium source",
        crate::util::limits::QUICK,
    )?;
    let file = copy.join(patch.file);
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    std::fs::write(&file, (patch.apply)(&text)?)
        .with_context(|| format!("cannot write {}", file.display()))?;
    std::fs::write(copy.join(".complete"), "")?;
    std::fs::rename(&copy, dir).with_context(|| {
        format!(
            "cannot put the {} copy of the source in place at {}",
            patch.name,
            dir.display()
        )
    })
}
