//! The runtime's git repository, read only: commits resolved, the range listed, the identity
//! that names the repository in the cache of builds.

use crate::model::bisect::CommitRef;
use crate::util::{limits, output_within, tail};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A git repository on disk.
#[derive(Debug, Clone)]
pub struct Repo {
    pub path: PathBuf,
}

impl Repo {
    /// The repository at `path`, or one line saying it is none.
    pub fn open(path: &Path) -> Result<Repo> {
        let Ok(path) = path.canonicalize() else {
            bail!(
                "--repo {}: no such directory; give the runtime's git repository",
                path.display()
            );
        };
        let repo = Repo { path };
        let output = repo.run(&["rev-parse", "--git-dir"])?;
        if !output.status.success() {
            bail!(
                "--repo {}: not a git repository ({}); give the runtime's git repository",
                repo.path.display(),
                tail(&String::from_utf8_lossy(&output.stderr), 1)
            );
        }
        Ok(repo)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        let what = format!("git {}", args.first().copied().unwrap_or_default());
        output_within(
            Command::new("git").arg("-C").arg(&self.path).args(args),
            &what,
            limits::QUICK,
        )
    }

    /// A git command's standard output; its failure is an error naming the command.
    fn text(&self, args: &[&str]) -> Result<String> {
        let output = self.run(args)?;
        if !output.status.success() {
            bail!(
                "git {} in {} failed ({}): {}",
                args.join(" "),
                self.path.display(),
                output.status,
                tail(&String::from_utf8_lossy(&output.stderr), 3)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The commit `rev` names; `flag` (e.g. `--good`) is how the user gave it.
    pub fn commit(&self, rev: &str, flag: &str) -> Result<CommitRef> {
        let spec = format!("{rev}^{{commit}}");
        let output = self.run(&["rev-parse", "--verify", "--quiet", &spec])?;
        if !output.status.success() || rev.starts_with('-') {
            bail!(
                "{flag} {rev}: no such commit in {}; give a commit of that repository (fetch it first if it is upstream)",
                self.path.display()
            );
        }
        let sha = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let mut refs = self.log(&["-1", &sha])?;
        refs.pop()
            .ok_or_else(|| anyhow::anyhow!("git log shows no commit {sha}"))
    }

    /// Whether `ancestor` is an ancestor of `of` (or the same commit).
    pub fn is_ancestor(&self, ancestor: &CommitRef, of: &CommitRef) -> Result<bool> {
        let output = self.run(&["merge-base", "--is-ancestor", &ancestor.sha, &of.sha])?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => bail!(
                "git merge-base in {} failed ({}): {}",
                self.path.display(),
                output.status,
                tail(&String::from_utf8_lossy(&output.stderr), 3)
            ),
        }
    }

    /// The commits after `good` up to `bad`, following first parents, oldest first.
    pub fn range(&self, good: &CommitRef, bad: &CommitRef) -> Result<Vec<CommitRef>> {
        let range = format!("{}..{}", good.sha, bad.sha);
        self.log(&["--first-parent", "--reverse", &range])
    }

    /// The repository's root commits: the same project cloned twice, or moved, keeps them, so
    /// a build cached from one clone serves the other.
    pub fn identity(&self, bad: &CommitRef) -> Result<String> {
        let roots = self.text(&["rev-list", "--max-parents=0", &bad.sha])?;
        let mut roots: Vec<&str> = roots.lines().map(str::trim).collect();
        roots.sort_unstable();
        Ok(crate::util::short_hash(&roots.join(" ")))
    }

    fn log(&self, args: &[&str]) -> Result<Vec<CommitRef>> {
        let mut all = vec!["log", "--format=%H%x09%h%x09%s"];
        all.extend_from_slice(args);
        let text = self.text(&all)?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut fields = line.splitn(3, '\t');
                Some(CommitRef {
                    sha: fields.next()?.to_string(),
                    short: fields.next()?.to_string(),
                    subject: fields.next().unwrap_or_default().to_string(),
                })
            })
            .collect())
    }
}
