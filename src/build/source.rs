//! Obtains the libsodium source tree named by the configuration, checked before use.

use crate::config::SourceConfig;
use crate::model::SourceInfo;
use crate::toolchain::{Home, find_on_path};
use crate::util::run_checked;
use crate::util::{sha256_file, short_hash};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// An unpacked, verified source tree.
#[derive(Debug, Clone)]
pub struct SourceTree {
    /// The directory holding `build.zig`.
    pub dir: PathBuf,
    pub info: SourceInfo,
}

pub fn obtain(home: &Home, source: &SourceConfig) -> Result<SourceTree> {
    match source {
        SourceConfig::Crate {
            crate_name,
            version,
            file,
            sha256,
            minisign_key,
        } => {
            let origin = format!("crate {crate_name} {version}, {file}");
            let cached = cached_tarball(home, sha256);
            fetch_once(&cached, sha256, minisign_key, || {
                let crate_dir = fetch_crate(home, crate_name, version)?;
                let tarball = crate_dir.join(file);
                // Checked before it enters the cache: what is cached is trusted after.
                verify_minisign(
                    &crate_dir.join(format!("{file}.minisig")),
                    &tarball,
                    minisign_key,
                )?;
                copy_verified(&tarball, &cached, sha256, &origin)
            })?;
            unpack(home, &cached, sha256, origin, minisign_key.is_some())
        }
        SourceConfig::Url {
            url,
            sha256,
            minisign_key,
        } => {
            let cached = cached_tarball(home, sha256);
            fetch_once(&cached, sha256, minisign_key, || {
                let downloaded = cached.with_extension("download");
                let fetched = download_verified(url, &downloaded, minisign_key)
                    .and_then(|()| copy_verified(&downloaded, &cached, sha256, url));
                // Kept or not, the download is done with: only the verified copy stays.
                let _ = std::fs::remove_file(&downloaded);
                fetched
            })?;
            unpack(home, &cached, sha256, url.clone(), minisign_key.is_some())
        }
        SourceConfig::Git { url, rev } => checkout_git(home, url, rev),
        SourceConfig::Dir { path } => {
            let dir = find_build_root(path).with_context(|| {
                format!(
                    "source.path {}: no libsodium tree with build.zig",
                    path.display()
                )
            })?;
            let info = SourceInfo {
                version: read_version(&dir)?,
                sha256: format!("local:{}", dir.display()),
                origin: format!("directory {}", dir.display()),
                signature_verified: false,
            };
            Ok(SourceTree { dir, info })
        }
    }
}

/// Where the source tarball pinned by `sha256` is cached.
fn cached_tarball(home: &Home, sha256: &str) -> PathBuf {
    home.dir("sources")
        .join(format!("{}.tar.gz", &sha256[..sha256.len().min(16)]))
}

/// Runs `fetch` unless `cached` already holds the pinned tarball (and, with a key, one whose
/// signature was checked against that key), one process at a time: two wasmgates downloading
/// into one file would interleave their bytes. `fetch` checks the signature before caching;
/// the key it was checked with is then written beside the tarball, so a tarball cached under a
/// configuration without a key is checked again once a key is set.
fn fetch_once(
    cached: &Path,
    sha256: &str,
    minisign_key: &Option<String>,
    fetch: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let verified_with = cached.with_extension("verified-key");
    let pinned = || {
        sha256_file(cached).is_ok_and(|actual| actual == sha256)
            && minisign_key.as_ref().is_none_or(|key| {
                std::fs::read_to_string(&verified_with).is_ok_and(|held| held == *key)
            })
    };
    crate::util::lock::make_once(cached, "the source tarball's download", pinned, || {
        fetch()?;
        match minisign_key {
            Some(key) => crate::model::write_atomic(&verified_with, key.as_bytes()),
            None => Ok(()),
        }
    })
}

/// Asks cargo for the crate (it downloads and unpacks it into its own registry cache) and
/// returns the crate's directory.
fn fetch_crate(home: &Home, crate_name: &str, version: &str) -> Result<PathBuf> {
    let cargo = find_on_path("cargo").context(
        "cargo is needed to obtain the libsodium source crate: install Rust with rustup",
    )?;
    let project = home
        .dir("sources")
        .join(format!("fetch-{crate_name}-{version}"));
    std::fs::create_dir_all(&project)?;
    let manifest = format!(
        "[package]\nname = \"wasmgate-source-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[lib]\npath = \"lib.rs\"\n\n[dependencies]\n{crate_name} = \"={version}\"\n"
    );
    std::fs::write(project.join("Cargo.toml"), manifest)?;
    std::fs::write(project.join("lib.rs"), "")?;
    eprintln!("wasmgate: fetching the source crate {crate_name} {version} with cargo");
    let output = crate::util::output_within(
        Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(project.join("Cargo.toml")),
        "cargo metadata (fetching the source crate)",
        crate::util::limits::STEP,
    )?;
    if !output.status.success() {
        bail!(
            "cargo could not fetch {crate_name} {version}: {}",
            crate::util::tail(&String::from_utf8_lossy(&output.stderr), 4)
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let manifest_path = packages
        .iter()
        .find(|p| p["name"] == crate_name && p["version"] == version)
        .and_then(|p| p["manifest_path"].as_str())
        .with_context(|| format!("cargo metadata does not list {crate_name} {version}"))?;
    Ok(Path::new(manifest_path)
        .parent()
        .context("crate manifest has no directory")?
        .to_path_buf())
}

/// Downloads `url` to `to` and, when a key is pinned, checks its signature (`URL.minisig`).
fn download_verified(url: &str, to: &Path, minisign_key: &Option<String>) -> Result<()> {
    download(url, to)?;
    if minisign_key.is_some() {
        let signature = to.with_extension("minisig");
        download(&format!("{url}.minisig"), &signature)?;
        let verified = verify_minisign(&signature, to, minisign_key);
        let _ = std::fs::remove_file(&signature);
        verified?;
    }
    Ok(())
}

fn download(url: &str, to: &Path) -> Result<()> {
    eprintln!("wasmgate: downloading {url}");
    // A stalled server fails the download instead of hanging the build.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(crate::util::limits::STEP))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .with_context(|| format!("cannot download {url} (source.url)"))?;
    let mut reader = response.body_mut().as_reader();
    std::fs::create_dir_all(to.parent().context("no parent")?)?;
    let mut file = std::fs::File::create(to)?;
    std::io::copy(&mut reader, &mut file)
        .with_context(|| format!("download of {url} broke off"))?;
    Ok(())
}

/// Copies `from` to `to` only if its sha256 is the pinned one.
fn copy_verified(from: &Path, to: &Path, sha256: &str, origin: &str) -> Result<()> {
    let actual = sha256_file(from).with_context(|| format!("cannot read {}", from.display()))?;
    if actual != sha256 {
        bail!(
            "{origin}: sha256 is {actual}, but source.sha256 pins {sha256}; if the new file is trusted, update source.sha256"
        );
    }
    crate::model::write_atomic(to, &std::fs::read(from)?)
}

fn verify_minisign(signature: &Path, file: &Path, key: &Option<String>) -> Result<()> {
    let Some(key) = key else { return Ok(()) };
    let public_key = minisign_verify::PublicKey::from_base64(key)
        .map_err(|e| anyhow::anyhow!("source.minisign_key is not a minisign public key: {e}"))?;
    let text = std::fs::read_to_string(signature)
        .with_context(|| format!("cannot read the signature {}", signature.display()))?;
    let signature_value = minisign_verify::Signature::decode(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a minisign signature: {e}", signature.display()))?;
    let bytes = std::fs::read(file)?;
    public_key
        .verify(&bytes, &signature_value, false)
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: minisign signature does not verify against source.minisign_key ({e}); the source is not libsodium's release",
                file.display()
            )
        })
}

fn unpack(
    home: &Home,
    tarball: &Path,
    sha256: &str,
    origin: String,
    signature_verified: bool,
) -> Result<SourceTree> {
    let dir = home.dir("sources").join(&sha256[..sha256.len().min(16)]);
    if !dir.exists() {
        let parent = dir.parent().context("no parent")?;
        let tmp = tempfile::Builder::new()
            .prefix(".unpacking-")
            .tempdir_in(parent)?;
        let file = std::fs::File::open(tarball)?;
        tar::Archive::new(flate2::read::GzDecoder::new(file))
            .unpack(tmp.path())
            .with_context(|| format!("cannot unpack {}", tarball.display()))?;
        let staged = tmp.keep();
        if std::fs::rename(&staged, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
    }
    let root = find_build_root(&dir)?;
    Ok(SourceTree {
        info: SourceInfo {
            version: read_version(&root)?,
            sha256: sha256.to_string(),
            origin,
            signature_verified,
        },
        dir: root,
    })
}

fn checkout_git(home: &Home, url: &str, rev: &str) -> Result<SourceTree> {
    let git = find_on_path("git").context("git is needed for a git source: apt-get install git")?;
    let dir = home
        .dir("sources")
        .join(format!("git-{}", short_hash(&format!("{url}@{rev}"))));
    let checked_out = dir.join(".wasmgate-checked-out");
    let what = format!("the checkout of {url} at {rev}");
    crate::util::lock::make_once(
        &dir,
        &what,
        || checked_out.exists(),
        || {
            clone_at(&git, url, rev, &dir)?;
            std::fs::write(&checked_out, "")?;
            Ok(())
        },
    )?;
    let output = crate::util::output_within(
        Command::new(&git)
            .arg("-C")
            .arg(&dir)
            .args(["rev-parse", "HEAD"]),
        "git rev-parse",
        crate::util::limits::QUICK,
    )?;
    let commit = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let root = find_build_root(&dir)?;
    Ok(SourceTree {
        info: SourceInfo {
            version: read_version(&root)?,
            sha256: format!("git:{commit}"),
            origin: format!("git {url} at {rev}"),
            signature_verified: false,
        },
        dir: root,
    })
}

/// Clones `url` into `dir` and checks out `rev`.
fn clone_at(git: &Path, url: &str, rev: &str, dir: &Path) -> Result<()> {
    eprintln!("wasmgate: cloning {url}");
    run_checked(
        Command::new(git)
            .arg("clone")
            .arg("--quiet")
            .arg(url)
            .arg(dir),
        "git clone (source.url)",
        crate::util::limits::STEP,
    )?;
    run_checked(
        Command::new(git)
            .arg("-C")
            .arg(dir)
            .args(["checkout", "--quiet", rev]),
        "git checkout (source.rev)",
        crate::util::limits::STEP,
    )
}

/// The directory with `build.zig`: the given one or its only subdirectory (tarballs wrap it).
fn find_build_root(dir: &Path) -> Result<PathBuf> {
    if dir.join("build.zig").is_file() {
        return Ok(dir.to_path_buf());
    }
    let mut subdirs = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
        .filter(|e| e.path().join("build.zig").is_file());
    match (subdirs.next(), subdirs.next()) {
        (Some(only), None) => Ok(only.path()),
        _ => bail!(
            "{} holds no libsodium source with a build.zig",
            dir.display()
        ),
    }
}

/// libsodium's version, from the `AC_INIT` line of configure.ac.
fn read_version(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("configure.ac")).unwrap_or_default();
    let version = text
        .lines()
        .find(|l| l.starts_with("AC_INIT("))
        .and_then(|l| l.split(',').nth(1))
        .map(|v| v.trim().trim_matches(|c| c == '[' || c == ']').to_string());
    Ok(version.unwrap_or_else(|| "unknown".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    fn home() -> Home {
        Home::at(tempfile::tempdir().unwrap().keep())
    }

    /// A minimal tree that passes for a libsodium source.
    fn fake_tree(dir: &Path) {
        std::fs::create_dir_all(dir.join("test/default")).unwrap();
        std::fs::write(dir.join("build.zig"), "// build\n").unwrap();
        std::fs::write(
            dir.join("configure.ac"),
            "AC_INIT([libsodium],[9.9.9],[x])\n",
        )
        .unwrap();
    }

    #[test]
    fn crate_tarball_signature_verifies_and_a_tampered_copy_does_not() {
        let home = home();
        let crate_dir = fetch_crate(&home, "libsodium-sys-stable", "1.24.3").unwrap();
        let tarball = crate_dir.join("LATEST.tar.gz");
        let signature = crate_dir.join("LATEST.tar.gz.minisig");
        let copy = home.root.join("copy.tar.gz");
        std::fs::copy(&tarball, &copy).unwrap();
        verify_minisign(&signature, &copy, &Some(KEY.to_string())).unwrap();

        let mut bytes = std::fs::read(&tarball).unwrap();
        bytes[1000] ^= 1;
        std::fs::write(&copy, &bytes).unwrap();
        let err = verify_minisign(&signature, &copy, &Some(KEY.to_string()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not verify"), "{err}");
    }

    #[test]
    fn wrong_sha256_is_refused_with_the_fix() {
        let home = home();
        let file = home.root.join("a.tar.gz");
        std::fs::write(&file, b"not libsodium").unwrap();
        let err = copy_verified(
            &file,
            &home.root.join("b"),
            &"0".repeat(64),
            "https://example.invalid/x.tar.gz",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("update source.sha256"), "{err}");
        assert!(!home.root.join("b").exists());
    }

    #[test]
    fn local_directory_source() {
        let home = home();
        let tree = home.root.join("src/libsodium-stable");
        fake_tree(&tree);
        let source = obtain(
            &home,
            &SourceConfig::Dir {
                path: home.root.join("src"),
            },
        )
        .unwrap();
        assert_eq!(source.dir, tree);
        assert_eq!(source.info.version, "9.9.9");
        assert!(!source.info.signature_verified);
    }

    #[test]
    fn git_source_at_a_revision() {
        let home = home();
        let repo = home.root.join("repo");
        fake_tree(&repo);
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "init.defaultBranch=main",
                ])
                .args(args)
                .output()
                .unwrap();
            assert!(status.status.success(), "{status:?}");
            String::from_utf8_lossy(&status.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        git(&["add", "."]);
        git(&["commit", "-qm", "one"]);
        let first = git(&["rev-parse", "HEAD"]);
        std::fs::write(
            repo.join("configure.ac"),
            "AC_INIT([libsodium],[10.0.0],[x])\n",
        )
        .unwrap();
        git(&["commit", "-qam", "two"]);
        let source = obtain(
            &home,
            &SourceConfig::Git {
                url: repo.to_string_lossy().to_string(),
                rev: first.clone(),
            },
        )
        .unwrap();
        assert_eq!(source.info.sha256, format!("git:{first}"));
        assert_eq!(
            source.info.version, "9.9.9",
            "the pinned revision, not the newest"
        );
    }

    #[test]
    fn url_source_downloads_checks_and_unpacks() {
        let home = home();
        // A tarball of a fake tree, served once by a local HTTP server.
        let tree = home.root.join("pack/libsodium-stable");
        fake_tree(&tree);
        let tarball = home.root.join("t.tar.gz");
        let encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&tarball).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(encoder);
        builder.append_dir_all("libsodium-stable", &tree).unwrap();
        builder.into_inner().unwrap().finish().unwrap();
        let bytes = std::fs::read(&tarball).unwrap();
        let sha256 = sha256_file(&tarball).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/libsodium.tar.gz", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&bytes).unwrap();
        });
        let source = obtain(
            &home,
            &SourceConfig::Url {
                url,
                sha256: sha256.clone(),
                minisign_key: None,
            },
        )
        .unwrap();
        server.join().unwrap();
        assert_eq!(source.info.sha256, sha256);
        assert_eq!(source.info.version, "9.9.9");
        assert!(source.dir.join("build.zig").is_file());
    }
}
