//! Runtimes built from their upstream git repositories (WAMR, WasmEdge, wazero): no registry
//! reachable from a runner carries them. A build is pinned by commit, not by a tarball's
//! checksum: the tag is cloned and must resolve to the commit the configuration names, and git
//! has checked every object of that commit by its hash. Builds are cached under the commit and
//! a hash of the recipe, made atomically and under a lock, so two processes build once.

use super::{Home, ensure_installed, find_on_path, helpers, install_atomically};
use crate::config::{GitInstall, Install};
use crate::util::lock::make_once;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that maps github.com repositories to a local folder.
pub const MIRROR_VARIABLE: &str = "WASMGATE_GIT_MIRROR";

/// A `git` install, to build or find in the cache.
pub struct GitBuild<'a> {
    spec: &'a GitInstall,
}

impl std::ops::Deref for GitBuild<'_> {
    type Target = GitInstall;

    fn deref(&self) -> &GitInstall {
        self.spec
    }
}

impl<'a> GitBuild<'a> {
    pub fn of(install: &'a Install) -> Option<GitBuild<'a>> {
        match install {
            Install::Git(spec) => Some(GitBuild { spec }),
            _ => None,
        }
    }

    /// The folder of this build in the cache: repository, tag, and a hash of the commit and
    /// everything that makes the build (commands with their helper files, tools, environment).
    pub fn dir(&self, home: &Home) -> Result<PathBuf> {
        let commands = (self.build.iter().flatten())
            .map(|arg| helpers::fill(arg, home))
            .collect::<Result<Vec<_>>>()?;
        let made_of = format!(
            "{}\n{}\n{:?}\n{:?}\n{:?}",
            self.commit,
            commands.join("\n"),
            self.tools,
            self.env,
            self.debian
        );
        let key = &crate::util::short_hash(&made_of)[..12];
        Ok(home.dir("tools").join(format!(
            "git-{}-{}-{key}",
            repository_name(&self.git),
            safe_name(&self.tag)
        )))
    }

    /// The built binary, if it is in the cache.
    pub fn locate(&self, home: &Home) -> Option<PathBuf> {
        let exe = self.dir(home).ok()?.join(&self.binary);
        exe.is_file().then_some(exe)
    }

    /// The built binary, building it first if the cache does not have it.
    pub fn ensure(&self, home: &Home, name: &str) -> Result<PathBuf> {
        let dir = self.dir(home)?;
        let exe = dir.join(&self.binary);
        if exe.is_file() {
            return Ok(exe);
        }
        check_debian(name, &self.debian)?;
        let path = self.tool_path(home, name)?;
        let what = format!("the build of {name}");
        make_once(
            &dir,
            &what,
            || exe.is_file(),
            || {
                let source = clone_url(&self.git, home.git_mirror.as_deref())?;
                let shown = shown_url(&self.git);
                eprintln!(
                    "wasmgate: building {name} from {shown} {} ({})",
                    self.tag, self.commit
                );
                let started = std::time::Instant::now();
                install_atomically(&dir, |staged| {
                    self.build_into(home, name, &source, &path, staged)
                })
                .with_context(|| format!("cannot build {name} from {shown} {}", self.tag))?;
                eprintln!(
                    "wasmgate: built {name} in {:.0} s",
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            },
        )?;
        if !exe.is_file() {
            bail!(
                "the build of {name} left no {} in its output folder; fix `install.build` or `install.binary`",
                self.binary
            );
        }
        Ok(exe)
    }

    /// PATH for the build: the folders of the tools it needs (installed now), then the user's.
    fn tool_path(&self, home: &Home, name: &str) -> Result<std::ffi::OsString> {
        let mut dirs = Vec::new();
        for tool in &self.tools {
            let exe = ensure_installed(home, &format!("{name}'s build tool"), tool)?;
            dirs.extend(exe.parent().map(Path::to_path_buf));
        }
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        Ok(std::env::join_paths(dirs)?)
    }

    /// Clones, checks the commit, and runs the build commands, which leave `BINARY` (and
    /// whatever it needs beside it, e.g. an install prefix's `lib/`) in `staged`.
    /// The checkout and the build's scratch files live in a folder removed afterwards.
    fn build_into(
        &self,
        home: &Home,
        name: &str,
        source: &Source,
        path: &std::ffi::OsStr,
        staged: &Path,
    ) -> Result<()> {
        let scratch = tempfile::Builder::new()
            .prefix(".git-build-")
            .tempdir_in(home.dir("tools"))?;
        let src = scratch.path().join("src");
        let work = scratch.path().join("work");
        let out = staged.to_path_buf();
        std::fs::create_dir_all(&work)?;
        let url = match source {
            Source::Remote(url) => url.clone(),
            Source::Mirror(folder) => readable_copy(folder, scratch.path())?,
        };
        let pinned = Pinned {
            name,
            shown: shown_url(&self.git),
            tag: &self.tag,
            commit: &self.commit,
        };
        clone_pinned(&pinned, &url, &src)?;
        let places = Places {
            src: &src,
            out: &out,
            work: &work,
        };
        let env = (self.env.iter())
            .map(|(key, value)| Ok((key.clone(), self.fill(value, home, &places)?)))
            .collect::<Result<Vec<_>>>()?;
        for (step, template) in self.build.iter().enumerate() {
            let argv = (template.iter())
                .map(|arg| self.fill(arg, home, &places))
                .collect::<Result<Vec<_>>>()?;
            let (program, args) = argv.split_first().context("validated: not empty")?;
            let mut command = Command::new(program);
            command.args(args).current_dir(&src).env("PATH", path);
            command.envs(env.iter().map(|(k, v)| (k, v)));
            let what = format!(
                "{name}: build step {} of {} (`{}`)",
                step + 1,
                self.build.len(),
                argv.join(" ")
            );
            crate::util::run_checked(&mut command, &what, crate::util::limits::COMPILE)?;
        }
        // Checked before the folder is renamed into place: a build without its binary is
        // never cached.
        if !staged.join(&self.binary).is_file() {
            bail!(
                "the build of {name} left no {} in its output folder; fix `install.build` or `install.binary`",
                self.binary
            );
        }
        Ok(())
    }

    fn fill(&self, arg: &str, home: &Home, places: &Places) -> Result<String> {
        let jobs = crate::util::available_cores();
        let filled = arg
            .replace("{src}", &places.src.to_string_lossy())
            .replace("{out}", &places.out.to_string_lossy())
            .replace("{work}", &places.work.to_string_lossy())
            .replace("{jobs}", &jobs.to_string())
            .replace("{tag}", &self.tag)
            .replace("{commit}", &self.commit);
        helpers::fill(&filled, home)
    }
}

/// The folders a build command names.
struct Places<'a> {
    src: &'a Path,
    out: &'a Path,
    work: &'a Path,
}

/// `https://github.com/OWNER/REPO(.git)` -> `REPO`; any other URL -> its last path part.
fn repository_name(url: &str) -> String {
    let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
    safe_name(last.trim_end_matches(".git"))
}

/// A name as one folder-name part: anything but letters, digits, `-`, `_` and `.` becomes `_`
/// (a tag may hold a slash).
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| match c.is_ascii_alphanumeric() || "-_.".contains(c) {
            true => c,
            false => '_',
        })
        .collect()
}

/// Where a build clones from.
#[derive(Debug, PartialEq)]
pub enum Source {
    /// The configured URL.
    Remote(String),
    /// A bare repository in the mirror folder.
    Mirror(PathBuf),
}

/// Where to clone from: the URL itself, or with a mirror folder, `MIRROR/REPO.git` for a
/// github.com URL (which must be there: a mirror that lacks a repository is a set-up error,
/// not a reason to reach for the network).
pub fn clone_url(url: &str, mirror: Option<&Path>) -> Result<Source> {
    let Some(mirror) = mirror else {
        return Ok(Source::Remote(url.to_string()));
    };
    let Some(path) = url.strip_prefix("https://github.com/") else {
        // Any other spelling of github.com would go to the network behind the mirror's back.
        if url.contains("github.com") {
            bail!(
                "`{}`: with a git mirror, write github.com repositories as https://github.com/OWNER/REPO; fix `install.git`",
                shown_url(url)
            );
        }
        return Ok(Source::Remote(url.to_string()));
    };
    let repo = path.trim_end_matches('/').trim_end_matches(".git");
    let parts: Vec<&str> = repo.split('/').collect();
    let safe = |part: &str| !part.is_empty() && part != "." && part != "..";
    let [owner, name] = parts[..] else {
        bail!("`{url}` is not a github.com/OWNER/REPO address; fix `install.git`");
    };
    if !safe(owner) || !safe(name) {
        bail!("`{url}` is not a github.com/OWNER/REPO address; fix `install.git`");
    }
    let local = mirror.join(format!("{name}.git"));
    if !local.exists() {
        bail!(
            "the git mirror {} has no {name}.git for {url}: add that repository there, or unset {MIRROR_VARIABLE} (and `git_mirror`) to clone from upstream",
            mirror.display()
        );
    }
    Ok(Source::Mirror(local))
}

/// A URL as messages show it: without a user name or password in it.
pub fn shown_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            match path.is_empty() && !rest.contains('/') {
                true => format!("{scheme}://{host}"),
                false => format!("{scheme}://{host}/{path}"),
            }
        }
        None => url.to_string(),
    }
}

/// A repository in a local folder (a mirror) is cloned from a copy of it: the folder may be
/// read-only, and a copied or unpacked repository often lacks git's empty `refs/` folder,
/// without which git does not recognise it. The copy is small: one shallow commit.
fn readable_copy(local: &Path, scratch: &Path) -> Result<String> {
    let copy = scratch.join("mirror.git");
    copy_tree(local, &copy)
        .with_context(|| format!("cannot copy the mirror's {}", local.display()))?;
    for folder in ["refs/heads", "refs/tags"] {
        std::fs::create_dir_all(copy.join(folder))?;
    }
    Ok(format!("file://{}", copy.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            // Writable, so the scratch folder can be removed afterwards.
            let mut permissions = std::fs::metadata(&target)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            std::fs::set_permissions(&target, permissions)?;
        }
    }
    Ok(())
}

/// What a clone must give, and how messages name it.
struct Pinned<'a> {
    name: &'a str,
    /// The configured URL, without credentials.
    shown: String,
    tag: &'a str,
    commit: &'a str,
}

/// A shallow clone of `tag`, refused unless it is `commit`.
fn clone_pinned(pinned: &Pinned, url: &str, dir: &Path) -> Result<()> {
    let Pinned {
        name,
        shown,
        tag,
        commit,
    } = pinned;
    let git =
        find_on_path("git").context("git is needed to build from source: apt-get install git")?;
    crate::util::run_checked(
        Command::new(&git)
            .args([
                "-c",
                "advice.detachedHead=false",
                "clone",
                "--quiet",
                "--depth",
                "1",
            ])
            .args(["--branch", tag, "--", url])
            .arg(dir)
            // A URL that asks for credentials fails at once instead of waiting on a prompt.
            .env("GIT_TERMINAL_PROMPT", "0"),
        &format!("{name}: git clone of {tag} from {shown}"),
        crate::util::limits::STEP,
    )?;
    let output = crate::util::output_within(
        Command::new(&git)
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "HEAD"]),
        "git rev-parse",
        crate::util::limits::QUICK,
    )?;
    let found = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || !found.eq_ignore_ascii_case(commit) {
        bail!(
            "{name}: tag {tag} of {shown} is commit {found}, but `install.commit` pins {commit}: the tag was moved or this is not upstream's repository; if that commit is trusted, put it in `install.commit`"
        );
    }
    Ok(())
}

/// Debian packages a build needs and this machine lacks, named with the line that installs them.
fn check_debian(name: &str, packages: &[String]) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let missing: Vec<&str> = match find_on_path("dpkg-query") {
        Ok(dpkg) => (packages.iter())
            .filter(|package| !debian_installed(&dpkg, package))
            .map(String::as_str)
            .collect(),
        // Not a Debian system: the packages cannot be checked, so the build is tried and its
        // own error tells; say once what it expects.
        Err(_) => {
            eprintln!(
                "wasmgate: {name}'s build expects Debian's {} (or your system's equivalents)",
                packages.join(" ")
            );
            Vec::new()
        }
    };
    if !missing.is_empty() {
        bail!(
            "{name} is built from source and needs Debian packages that are not installed: apt-get install {}",
            missing.join(" ")
        );
    }
    Ok(())
}

fn debian_installed(dpkg: &Path, package: &str) -> bool {
    let output = crate::util::output_within(
        Command::new(dpkg).args(["-W", "-f", "${db:Status-Status}", package]),
        "dpkg-query",
        crate::util::limits::QUICK,
    );
    matches!(output, Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "installed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_mirror_maps_github_repositories_to_its_folders() {
        let mirror = tempfile::tempdir().unwrap();
        std::fs::create_dir(mirror.path().join("wazero.git")).unwrap();
        let url = "https://github.com/tetratelabs/wazero";
        let local = Source::Mirror(mirror.path().join("wazero.git"));
        assert_eq!(clone_url(url, Some(mirror.path())).unwrap(), local);
        let spelled = "https://github.com/tetratelabs/wazero.git/";
        assert_eq!(clone_url(spelled, Some(mirror.path())).unwrap(), local);
        assert_eq!(clone_url(url, None).unwrap(), Source::Remote(url.into()));
        let other = "https://example.org/x/wazero.git";
        let remote = Source::Remote(other.into());
        assert_eq!(clone_url(other, Some(mirror.path())).unwrap(), remote);
        let absent = clone_url("https://github.com/WasmEdge/WasmEdge", Some(mirror.path()));
        let message = format!("{:#}", absent.unwrap_err());
        assert!(message.contains("has no WasmEdge.git"), "{message}");
        assert!(message.contains(MIRROR_VARIABLE), "{message}");
    }

    #[test]
    fn with_a_mirror_no_github_address_goes_to_the_network_or_outside_it() {
        let mirror = tempfile::tempdir().unwrap();
        for url in [
            "git@github.com:tetratelabs/wazero.git",
            "http://github.com/tetratelabs/wazero",
            "https://www.github.com/tetratelabs/wazero",
            "https://github.com/tetratelabs/wazero/tree/main",
            "https://github.com/../../etc",
            "https://github.com/tetratelabs",
        ] {
            let refused = clone_url(url, Some(mirror.path()));
            assert!(refused.is_err(), "{url}: {refused:?}");
        }
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            shown_url("https://user:token@github.com/a/b"),
            "https://github.com/a/b"
        );
        assert_eq!(
            shown_url("https://github.com/a/b"),
            "https://github.com/a/b"
        );
        assert_eq!(shown_url("https://t@host"), "https://host");
        assert_eq!(shown_url("/srv/git/b.git"), "/srv/git/b.git");
    }

    #[test]
    fn repository_names_are_safe_folder_names() {
        assert_eq!(
            repository_name("https://github.com/a/wasm-micro-runtime"),
            "wasm-micro-runtime"
        );
        assert_eq!(
            repository_name("https://github.com/a/WasmEdge.git/"),
            "WasmEdge"
        );
        assert_eq!(repository_name("file:///x/y z"), "y_z");
    }

    /// A repository of one commit tagged `v1`, holding `tool.sh`; returns it and the commit.
    fn tagged_repository() -> (tempfile::TempDir, String) {
        let repo = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let output = Command::new("git")
                .arg("-C")
                .arg(repo.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
                .args(args)
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            String::from_utf8_lossy(&output.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        std::fs::write(repo.path().join("tool.sh"), "#!/bin/sh\necho tool 1.0\n").unwrap();
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "one"]);
        git(&["tag", "v1"]);
        let commit = git(&["rev-parse", "HEAD"]);
        (repo, commit)
    }

    /// A build of `v1` at `commit` from `url` whose binary is `tool`.
    fn spec_of(
        url: &str,
        commit: &str,
        build: &[Vec<String>],
        env: &BTreeMap<String, String>,
    ) -> GitInstall {
        GitInstall {
            git: url.to_string(),
            tag: "v1".to_string(),
            commit: commit.to_string(),
            build: build.to_vec(),
            binary: "tool".to_string(),
            tools: Vec::new(),
            debian: Vec::new(),
            env: env.clone(),
        }
    }

    #[test]
    fn a_build_that_leaves_no_binary_is_never_cached() {
        let (repo, commit) = tagged_repository();
        let home = Home::at(tempfile::tempdir().unwrap().keep());
        let url = repo.path().to_string_lossy().to_string();
        let build = vec![vec!["true".to_string()]];
        let env = BTreeMap::new();
        let install = spec_of(&url, &commit, &build, &env);
        let spec = GitBuild { spec: &install };
        let message = format!("{:#}", spec.ensure(&home, "tool").unwrap_err());
        assert!(
            message.contains("left no tool in its output folder"),
            "{message}"
        );
        assert!(
            !spec.dir(&home).unwrap().exists(),
            "no folder passes for a build"
        );
    }

    #[test]
    fn two_builders_at_once_build_once_and_both_get_the_binary() {
        let (repo, commit) = tagged_repository();
        let home = Home::at(tempfile::tempdir().unwrap().keep());
        let count = home.root.join("builds-started");
        let url = repo.path().to_string_lossy().to_string();
        // Slow enough that the second builder arrives while the first is building.
        let step = format!(
            "echo x >> {}; sleep 1; cp tool.sh {{out}}/tool",
            count.display()
        );
        let build = vec![vec!["sh".to_string(), "-c".to_string(), step]];
        let env = BTreeMap::new();
        let install = spec_of(&url, &commit, &build, &env);
        let spec = GitBuild { spec: &install };
        let built: Vec<PathBuf> = std::thread::scope(|scope| {
            let builders: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| spec.ensure(&home, "tool").unwrap()))
                .collect();
            builders.into_iter().map(|b| b.join().unwrap()).collect()
        });
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "x\n");
        assert_eq!(built[0], built[1]);
        assert!(built[0].is_file());
        assert_eq!(spec.locate(&home), Some(built[0].clone()));
        // Nothing of the checkout is kept: only the build's output folder.
        let tools: Vec<_> = std::fs::read_dir(home.dir("tools")).unwrap().collect();
        assert_eq!(tools.len(), 1, "{tools:?}");
    }

    #[test]
    fn a_failing_build_step_names_itself_and_leaves_nothing_behind() {
        let (repo, commit) = tagged_repository();
        let home = Home::at(tempfile::tempdir().unwrap().keep());
        let url = repo.path().to_string_lossy().to_string();
        let build = vec![vec![
            "sh".to_string(),
            "-c".to_string(),
            "echo broken >&2; exit 3".to_string(),
        ]];
        let env = BTreeMap::new();
        let install = spec_of(&url, &commit, &build, &env);
        let spec = GitBuild { spec: &install };
        let message = format!("{:#}", spec.ensure(&home, "tool").unwrap_err());
        assert!(message.contains("tool: build step 1 of 1"), "{message}");
        assert!(message.contains("broken"), "{message}");
        assert_eq!(spec.locate(&home), None);
        let left: Vec<_> = std::fs::read_dir(home.dir("tools")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_missing_debian_package_is_named_with_its_install_line() {
        let err = check_debian("iwasm", &["no-such-package-wasmgate".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "iwasm is built from source and needs Debian packages that are not installed: apt-get install no-such-package-wasmgate"
        );
    }
}
