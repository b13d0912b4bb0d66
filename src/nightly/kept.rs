//! The kept-builds folder: earlier nights' runtime binaries under `builds/`, their index
//! `nights.json` (oldest night first), and which of them tonight is measured against.

use crate::model::nightly::{KeptBuild, KeptBuilds, NIGHTS_BACK};
use crate::model::{Measure, SCHEMA_VERSION};
use crate::util::short_commit;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The index of the kept builds, in the kept-builds folder.
pub const INDEX: &str = "nights.json";

/// Tonight's label in the run; an earlier night's is `t-N`, N nights back.
pub const TONIGHT: &str = "t-0";

/// The runtime label of the night `nights_back` nights before tonight.
pub fn label(nights_back: u32) -> String {
    format!("t-{nights_back}")
}

/// The index of `dir`, whose nights must have been measured by `measure`; an empty one when
/// the folder or its index does not exist yet (the first night).
pub fn read(dir: &Path, measure: Measure) -> Result<KeptBuilds> {
    let path = dir.join(INDEX);
    if !path.exists() {
        return Ok(KeptBuilds {
            schema_version: SCHEMA_VERSION,
            measure,
            builds: Vec::new(),
        });
    }
    let kept: KeptBuilds = crate::model::read_json(&path)?;
    crate::model::check_schema(
        kept.schema_version,
        &path,
        "move the folder aside and start the kept builds over (the first night keeps itself)",
    )?;
    // The index is input: a binary it names is run, hashed and deleted, so each must be a
    // file inside the folder, and each commit a commit id, before anything is done with them.
    for (at, build) in kept.builds.iter().enumerate() {
        let field = |name: &str| format!("{}: field `builds[{at}].{name}`", path.display());
        crate::util::paths::inside(dir, &build.binary, &field("binary"))?;
        crate::util::paths::commit_id(&build.commit, &field("commit"))?;
    }
    if kept.measure != measure && !kept.builds.is_empty() {
        anyhow::bail!(
            "{}: field `measure`: its nights measured {}, tonight measures {}; give each measure its own --kept folder",
            path.display(),
            kept.measure.name(),
            measure.name()
        );
    }
    Ok(KeptBuilds { measure, ..kept })
}

/// An earlier night tonight is measured against: its build, checked, and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub nights_back: u32,
    pub build: KeptBuild,
    pub path: PathBuf,
}

impl Link {
    pub fn label(&self) -> String {
        label(self.nights_back)
    }
}

/// The kept builds 1, 2, 4 and 8 nights back that exist, nearest first. A build whose binary
/// is gone or whose sha256 no longer matches the index is left out, with a warning line: a
/// binary changed since it was measured would make the link a lie.
pub fn choose_links(dir: &Path, kept: &KeptBuilds) -> (Vec<Link>, Vec<String>) {
    let mut links = Vec::new();
    let mut warnings = Vec::new();
    for nights_back in NIGHTS_BACK {
        let Some(index) = kept.builds.len().checked_sub(nights_back as usize) else {
            continue;
        };
        let build = &kept.builds[index];
        // Checked when the index was read (`read`).
        let path = dir.join(&build.binary);
        let problem = match crate::util::sha256_file(&path) {
            Ok(sha256) if sha256 == build.sha256 => None,
            Ok(_) => Some("its sha256 no longer matches the one in nights.json"),
            Err(_) => Some("it cannot be read"),
        };
        match problem {
            None => links.push(Link {
                nights_back,
                build: build.clone(),
                path,
            }),
            Some(why) => warnings.push(format!(
                "{}: the build of {nights_back} nights back (commit {}) is left out: {why}",
                path.display(),
                short_commit(&build.commit)
            )),
        }
    }
    (links, warnings)
}

/// A night whose commit is the last kept one's was measured already: the one line that says
/// so, unless forced.
pub fn repeated(dir: &Path, kept: &KeptBuilds, commit: &str, force: bool) -> Option<String> {
    match kept.builds.last() {
        Some(last) if last.commit == commit && !force => Some(format!(
            "--commit {}: already measured on {} (the last night in {}); pass --force to measure it again",
            short_commit(commit),
            last.date,
            dir.join(INDEX).display()
        )),
        _ => None,
    }
}

/// With `--force`, a repeated night replaces its earlier self rather than being compared
/// with it.
pub fn without_repeat(mut kept: KeptBuilds, commit: &str) -> KeptBuilds {
    while kept.builds.last().is_some_and(|last| last.commit == commit) {
        kept.builds.pop();
    }
    kept
}

/// Splits the builds into those a later night can still link to and those it never will:
/// the next night looks at most `max(NIGHTS_BACK)` nights back, and every night after it
/// less far into what is kept now.
pub fn prune(builds: Vec<KeptBuild>) -> (Vec<KeptBuild>, Vec<KeptBuild>) {
    let furthest = NIGHTS_BACK.iter().copied().max().unwrap_or(1) as usize;
    let mut kept = builds;
    let keep_from = kept.len().saturating_sub(furthest);
    let pruned: Vec<KeptBuild> = kept.drain(..keep_from).collect();
    (kept, pruned)
}

/// Where tonight's binary is kept, relative to the folder: by commit, so two nights never
/// share a file.
fn kept_name(commit: &str, binary: &Path) -> String {
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let file = binary
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "runtime".to_string());
    format!("builds/{}-{}", safe(&short_commit(commit)), safe(&file))
}

/// Tonight's build: what was kept and what was pruned.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub index: KeptBuilds,
    pub pruned: Vec<KeptBuild>,
}

/// Keeps tonight's binary for the nights to come: copied into the folder (atomically), added
/// to the index, and the builds no later night links to pruned (their files removed).
pub fn keep(
    dir: &Path,
    mut kept: KeptBuilds,
    binary: &Path,
    sha256: &str,
    commit: &str,
) -> Result<Kept> {
    let name = kept_name(commit, binary);
    crate::model::copy_atomic(binary, &dir.join(&name))?;
    kept.builds.push(KeptBuild {
        commit: commit.to_string(),
        date: crate::model::now_rfc3339(),
        binary: name,
        sha256: sha256.to_string(),
    });
    let (builds, pruned) = prune(kept.builds);
    let index = KeptBuilds {
        schema_version: SCHEMA_VERSION,
        measure: kept.measure,
        builds,
    };
    crate::model::write_json(&dir.join(INDEX), &index)?;
    // The index no longer names them: a file left behind is only space, so a failure to
    // remove one is a warning.
    for build in &pruned {
        let still_used = index.builds.iter().any(|b| b.binary == build.binary);
        let path = dir.join(&build.binary);
        if !still_used && let Err(error) = std::fs::remove_file(&path) {
            eprintln!(
                "wasmgate: {}: pruned from {INDEX} but not removed ({error}); delete it by hand",
                path.display()
            );
        }
    }
    Ok(Kept { index, pruned })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(dir: &Path, night: usize) -> KeptBuild {
        let binary = format!("builds/night-{night}");
        let path = dir.join(&binary);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("runtime of night {night}")).unwrap();
        KeptBuild {
            commit: format!("c0ffee{night}"),
            date: format!("night {night}"),
            sha256: crate::util::sha256_file(&path).unwrap(),
            binary,
        }
    }

    fn kept(dir: &Path, nights: usize) -> KeptBuilds {
        KeptBuilds {
            schema_version: SCHEMA_VERSION,
            measure: Measure::Time,
            builds: (1..=nights).map(|n| build(dir, n)).collect(),
        }
    }

    fn backs(links: &[Link]) -> Vec<(u32, String)> {
        links
            .iter()
            .map(|l| (l.nights_back, l.build.commit.clone()))
            .collect()
    }

    #[test]
    fn tonight_links_to_1_2_4_and_8_nights_back() {
        let dir = tempfile::tempdir().unwrap();
        let (links, warnings) = choose_links(dir.path(), &kept(dir.path(), 10));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            backs(&links),
            [
                (1, "c0ffee10".to_string()),
                (2, "c0ffee9".to_string()),
                (4, "c0ffee7".to_string()),
                (8, "c0ffee3".to_string())
            ]
        );
        assert_eq!(links[0].label(), "t-1");
        assert_eq!(links[0].path, dir.path().join("builds/night-10"));
    }

    #[test]
    fn fewer_kept_nights_give_fewer_links_and_none_on_the_first_night() {
        let dir = tempfile::tempdir().unwrap();
        let (links, _) = choose_links(dir.path(), &kept(dir.path(), 3));
        assert_eq!(
            backs(&links),
            [(1, "c0ffee3".to_string()), (2, "c0ffee2".to_string())]
        );
        let (links, warnings) = choose_links(dir.path(), &kept(dir.path(), 0));
        assert!(links.is_empty() && warnings.is_empty());
    }

    #[test]
    fn a_build_whose_sha256_changed_is_left_out_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let index = kept(dir.path(), 4);
        std::fs::write(dir.path().join("builds/night-3"), "rebuilt since").unwrap();
        std::fs::remove_file(dir.path().join("builds/night-1")).unwrap();
        let (links, warnings) = choose_links(dir.path(), &index);
        assert_eq!(backs(&links), [(1, "c0ffee4".to_string())]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].ends_with(
                "night-3: the build of 2 nights back (commit c0ffee3) is left out: its sha256 no longer matches the one in nights.json"
            ),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("4 nights back"), "{warnings:?}");
    }

    #[test]
    fn an_index_naming_a_file_outside_the_folder_is_refused_before_anything_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("kept");
        std::fs::create_dir_all(&folder).unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me").unwrap();
        let sha256 = crate::util::sha256_file(&victim).unwrap();
        let mut index = kept(&folder, 9);
        for (at, outside) in ["../victim.txt", victim.to_str().unwrap()]
            .iter()
            .enumerate()
        {
            index.builds[at].binary = outside.to_string();
            index.builds[at].sha256 = sha256.clone();
        }
        crate::model::write_json(&folder.join(INDEX), &index).unwrap();
        let error = read(&folder, Measure::Time).unwrap_err().to_string();
        assert!(error.contains("field `builds[0].binary`"), "{error}");
        assert!(error.contains("is not a path inside"), "{error}");
        // A commit that is not one (it would reach a shell command and a link) is refused too.
        let mut index = kept(&folder, 2);
        index.builds[1].commit = "abc;touch${IFS}/tmp/x;#".to_string();
        crate::model::write_json(&folder.join(INDEX), &index).unwrap();
        let error = read(&folder, Measure::Time).unwrap_err().to_string();
        assert!(error.contains("field `builds[1].commit`"), "{error}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    }

    #[test]
    fn a_repeated_commit_is_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let index = kept(dir.path(), 2);
        let said = repeated(dir.path(), &index, "c0ffee2", false).unwrap();
        assert!(
            said.starts_with("--commit c0ffee2: already measured on night 2 (the last night in "),
            "{said}"
        );
        assert!(said.ends_with("nights.json); pass --force to measure it again"));
        assert!(!said.contains('\n'));
        assert_eq!(repeated(dir.path(), &index, "c0ffee2", true), None);
        assert_eq!(repeated(dir.path(), &index, "c0ffee1", false), None);
        assert_eq!(without_repeat(index.clone(), "c0ffee2").builds.len(), 1);
        assert_eq!(without_repeat(index, "c0ffee9").builds.len(), 2);
    }

    #[test]
    fn pruning_keeps_the_builds_the_next_nights_can_link_to() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, pruned) = prune(kept(dir.path(), 11).builds);
        assert_eq!(kept.len(), 8);
        assert_eq!(kept[0].commit, "c0ffee4");
        let pruned: Vec<&str> = pruned.iter().map(|b| b.commit.as_str()).collect();
        assert_eq!(pruned, ["c0ffee1", "c0ffee2", "c0ffee3"]);
        let (kept, pruned) = prune(self::kept(dir.path(), 5).builds);
        assert_eq!((kept.len(), pruned.len()), (5, 0));
    }

    #[test]
    fn keeping_tonight_copies_the_binary_executable_and_prunes_the_oldest() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("kept");
        let index = kept(&folder, 8);
        let binary = dir.path().join("wasmtime");
        std::fs::write(&binary, "tonight's runtime").unwrap();
        crate::model::file_mode::set(&binary, 0o755);
        let sha256 = crate::util::sha256_file(&binary).unwrap();
        let kept = keep(&folder, index, &binary, &sha256, "0123456789abcdef").unwrap();
        let copy = folder.join("builds/0123456789ab-wasmtime");
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "tonight's runtime");
        assert_eq!(
            std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(kept.pruned.len(), 1);
        assert!(!folder.join("builds/night-1").exists());
        assert!(folder.join("builds/night-2").exists());
        let written = read(&folder, Measure::Time).unwrap();
        assert_eq!(written, kept.index);
        assert_eq!(written.builds.len(), 8);
        assert_eq!(written.builds[7].sha256, sha256);
        let (links, warnings) = choose_links(&folder, &written);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(links[0].build.commit, "0123456789abcdef");
    }

    #[test]
    fn a_folder_holds_one_measures_nights() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("kept");
        // An index written before nights had a measure: its nights measured time.
        let index = serde_json::to_value(kept(&folder, 2)).unwrap();
        let mut old = index.as_object().unwrap().clone();
        old.remove("measure");
        crate::model::write_json(&folder.join(INDEX), &old).unwrap();
        assert_eq!(read(&folder, Measure::Time).unwrap().builds.len(), 2);
        let refused = read(&folder, Measure::Compile).unwrap_err().to_string();
        assert!(
            refused.ends_with(
                "nights.json: field `measure`: its nights measured time, tonight measures compile; give each measure its own --kept folder"
            ),
            "{refused}"
        );
        // An empty folder takes tonight's measure, and keeps it.
        let other = dir.path().join("compile");
        let first = read(&other, Measure::Compile).unwrap();
        let binary = dir.path().join("wasmtime");
        std::fs::write(&binary, "tonight's runtime").unwrap();
        keep(&other, first, &binary, "00", "0123456789abcdef").unwrap();
        assert_eq!(read(&other, Measure::Compile).unwrap().builds.len(), 1);
        assert!(read(&other, Measure::Time).is_err());
    }
}
