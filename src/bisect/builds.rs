//! The runtime built at a commit, on demand, into the cache: keyed by the repository's
//! identity, the commit and the build command, built in a staging folder and renamed into
//! place (a build cut short leaves nothing that looks finished), under a lock (two bisects of
//! one range make one build), within the compile time limit.

use crate::model::bisect::{BuildCounts, CommitRef};
use crate::toolchain::Home;
use crate::util::lock::make_once;
use crate::util::{limits, output_within, short_hash, tail};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The builds of one repository with one command.
pub struct Builds {
    dir: PathBuf,
    repo: PathBuf,
    identity: String,
    command: String,
    /// The file name of the built runtime: the adapter's name.
    binary: String,
    limit: Duration,
    /// Commits this bisect already has, built or found.
    have: BTreeMap<String, PathBuf>,
    pub counts: BuildCounts,
}

impl Builds {
    pub fn new(home: &Home, repo: &Path, identity: &str, command: &str, binary: &str) -> Builds {
        Builds {
            dir: home.dir("bisect-builds"),
            repo: repo.to_path_buf(),
            identity: identity.to_string(),
            command: command.to_string(),
            binary: binary.to_string(),
            limit: limits::COMPILE,
            have: BTreeMap::new(),
            counts: BuildCounts::default(),
        }
    }

    /// The runtime built at `commit`, from the cache or built now; `tell` hears which.
    pub fn get(&mut self, commit: &CommitRef, tell: &mut dyn FnMut(&str)) -> Result<PathBuf> {
        if let Some(path) = self.have.get(&commit.sha) {
            return Ok(path.clone());
        }
        let key = short_hash(&format!(
            "{} {} {}",
            self.identity,
            commit.sha,
            short_hash(&self.command)
        ));
        let built = self.dir.join(&key).join(&self.binary);
        // Another bisect may be building this very commit: make_once waits for it, then
        // finds its build.
        let mut made = false;
        let what = format!("the build of {}", commit.short);
        make_once(
            &self.dir.join(&key),
            &what,
            || built.is_file(),
            || {
                let started = Instant::now();
                tell(&format!("building {} {}", commit.short, commit.subject));
                self.build(commit, &key)?;
                self.counts.seconds += started.elapsed().as_secs_f64();
                made = true;
                Ok(())
            },
        )?;
        if made {
            self.counts.made += 1;
        } else {
            tell(&format!(
                "using the cached build of {} {}",
                commit.short, commit.subject
            ));
            self.counts.cached += 1;
        }
        self.have.insert(commit.sha.clone(), built.clone());
        Ok(built)
    }

    /// Runs the build command into a staging folder and renames it to the key's folder.
    fn build(&self, commit: &CommitRef, key: &str) -> Result<()> {
        let staging = self.dir.join(format!(".{key}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        let out = staging.join(&self.binary);
        let script = fill(&self.command, &self.repo, &commit.sha, &out);
        let outcome = output_within(
            Command::new("sh").arg("-c").arg(&script),
            &format!("the build of {}", commit.short),
            self.limit,
        );
        let failed = |why: String| {
            let _ = std::fs::remove_dir_all(&staging);
            anyhow::anyhow!(
                "--build failed at commit {} ({}): {why}; fix the build command or the commit range",
                commit.short,
                commit.subject
            )
        };
        let output = outcome.map_err(|e| failed(format!("{e:#}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(failed(format!("{}: {}", output.status, tail(&stderr, 3))));
        }
        if !out.is_file() {
            return Err(failed("it wrote no runtime at {out}".to_string()));
        }
        let target = self.dir.join(key);
        std::fs::rename(&staging, &target).with_context(|| {
            format!(
                "cannot move the build of {} into {}",
                commit.short,
                target.display()
            )
        })
    }
}

/// The build command with its placeholders filled in, each quoted for the shell so a path
/// with a space stays one word.
pub fn fill(template: &str, repo: &Path, commit: &str, out: &Path) -> String {
    template
        .replace("{repo}", &quote(&repo.to_string_lossy()))
        .replace("{commit}", &quote(commit))
        .replace("{out}", &quote(&out.to_string_lossy()))
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_quoted() {
        let script = fill(
            "cd {repo} && git checkout -q {commit} && cp rt {out}",
            Path::new("/src/my repo"),
            "abc",
            Path::new("/cache/it's/wasmtime"),
        );
        assert_eq!(
            script,
            r"cd '/src/my repo' && git checkout -q 'abc' && cp rt '/cache/it'\''s/wasmtime'"
        );
    }

    fn commit(sha: &str) -> CommitRef {
        CommitRef {
            sha: sha.to_string(),
            short: sha[..3].to_string(),
            subject: "a change".to_string(),
        }
    }

    #[test]
    fn a_build_is_made_once_then_cached_and_a_failure_names_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().to_path_buf());
        let count = dir.path().join("count");
        let command = format!(
            "echo built >> {} && echo '#!/bin/sh' > {{out}}",
            count.display()
        );
        let mut told = Vec::new();
        let mut tell = |line: &str| told.push(line.to_string());
        let mut builds = Builds::new(&home, dir.path(), "id", &command, "rt");
        let first = builds.get(&commit("aaaa"), &mut tell).unwrap();
        assert!(first.is_file());
        let mut again = Builds::new(&home, dir.path(), "id", &command, "rt");
        assert_eq!(again.get(&commit("aaaa"), &mut tell).unwrap(), first);
        assert_eq!((builds.counts.made, again.counts.cached), (1, 1));
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "built\n");
        let mut failing = Builds::new(&home, dir.path(), "id", "echo oops >&2; exit 3", "rt");
        let err = failing
            .get(&commit("bbbb"), &mut tell)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--build failed at commit bbb (a change): exit status: 3: oops; fix the build command or the commit range"
        );
        let nothing = Builds::new(&home, dir.path(), "id", "true", "rt")
            .get(&commit("cccc"), &mut tell)
            .unwrap_err()
            .to_string();
        assert!(
            nothing.contains("it wrote no runtime at {out}"),
            "{nothing}"
        );
        assert!(told[0].starts_with("building aaa"), "{told:?}");
    }

    #[test]
    fn two_bisects_wanting_one_commit_make_one_build() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().to_path_buf());
        let count = dir.path().join("count");
        let command = format!(
            "echo built >> {} && sleep 0.5 && echo '#!/bin/sh' > {{out}}",
            count.display()
        );
        let counts: Vec<BuildCounts> = std::thread::scope(|scope| {
            let both: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        let mut builds = Builds::new(&home, dir.path(), "id", &command, "rt");
                        assert!(builds.get(&commit("dddd"), &mut |_| {}).unwrap().is_file());
                        builds.counts
                    })
                })
                .collect();
            both.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "built\n");
        let made: usize = counts.iter().map(|c| c.made).sum();
        let cached: usize = counts.iter().map(|c| c.cached).sum();
        assert_eq!((made, cached), (1, 1));
    }
}
