//! Writing files atomically: whole or not at all, through links, never over what is not a
//! regular file, keeping the mode of the file replaced.

use anyhow::{Context, Result};
use std::path::Path;

/// Writes a file atomically: a temporary file in the same directory, then a rename, so a
/// reader never sees half a file and an interrupted write leaves the old one. A symbolic link
/// is written through (its target is replaced, the link stays); anything that is not a
/// regular file (a device, a FIFO, a folder) is refused, never renamed over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if is_standard_output(path) {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        return Ok(());
    }
    replace_atomically(path, bytes, |file, path| keep_mode_of(path, file))
}

/// The one way a file is replaced: a temporary file beside its destination (the end of its
/// links), given its mode by `set_mode`, written, synced, then renamed over it.
fn replace_atomically(
    path: &Path,
    bytes: &[u8],
    set_mode: impl FnOnce(&std::fs::File, &Path) -> Result<()>,
) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let path = &destination(path)?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut file = tempfile::Builder::new()
        // tempfile's own 0600 would keep results and reports from other users and a web
        // server on the runner; this is what `File::create` gives, before the umask.
        .permissions(std::fs::Permissions::from_mode(NEW_FILE_MODE))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    set_mode(file.as_file(), path)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Checks early that `path` can be written by `write_atomic`, for a command that writes it only
/// after long work; returns where the write will land.
pub fn check_destination(path: &Path) -> Result<std::path::PathBuf> {
    if is_standard_output(path) {
        return Ok(path.to_path_buf());
    }
    destination(path)
}

/// `-` as a file to write: standard output, as in most command-line tools.
pub fn is_standard_output(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where a write to `path` lands: the end of its chain of symbolic links, checked to be a
/// regular file or nothing yet.
fn destination(path: &Path) -> Result<std::path::PathBuf> {
    let mut current = path.to_path_buf();
    // As many links as the kernel follows before it gives up (ELOOP).
    for _ in 0..40 {
        let Ok(found) = std::fs::symlink_metadata(&current) else {
            return Ok(current);
        };
        let kind = found.file_type();
        if kind.is_file() {
            return Ok(current);
        }
        if !kind.is_symlink() {
            anyhow::bail!(
                "{}: is {}, not a regular file; give the path of a file to write",
                path.display(),
                describe_kind(&kind)
            );
        }
        let target = std::fs::read_link(&current)
            .with_context(|| format!("cannot read the link {}", current.display()))?;
        current = match current.parent() {
            Some(parent) => parent.join(target),
            None => target,
        };
    }
    anyhow::bail!(
        "{}: too many levels of symbolic links; give the path of a file to write",
        path.display()
    )
}

/// The most a JSON document or history wasmgate reads may hold: far above any results file
/// (a whole-suite run of ten runtimes is tens of megabytes), far below what would exhaust
/// the memory of a runner.
pub const READ_LIMIT: u64 = 512 << 20;

/// Reads a text file wasmgate takes as input: refused unless it is a regular file (a named
/// pipe would block the open, a device never end) of at most `limit` bytes; every error names
/// the file.
pub fn read_text(path: &Path, limit: u64) -> Result<String> {
    use std::io::Read;
    let found =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !found.is_file() {
        anyhow::bail!(
            "{}: is {}, not a regular file; give the path of a file to read",
            path.display(),
            describe_kind(&found.file_type())
        );
    }
    if found.len() > limit {
        anyhow::bail!(
            "{}: {} bytes, more than the {limit} a file read here may hold; is it the right file?",
            path.display(),
            found.len()
        );
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = String::new();
    // Bounded again while reading: the file may grow between the check and the read.
    file.take(limit)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text)
}

/// Refuses to write `output` when it is one of the `inputs` (the same file, by any path): the
/// write would replace what it was made from.
pub fn check_not_an_input(output: &Path, inputs: &[&Path]) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(written) = std::fs::metadata(output) else {
        return Ok(());
    };
    for input in inputs {
        let same = std::fs::metadata(input)
            .is_ok_and(|read| read.dev() == written.dev() && read.ino() == written.ino());
        if same {
            anyhow::bail!(
                "{}: is also an input ({}); write the output to another file",
                output.display(),
                input.display()
            );
        }
    }
    Ok(())
}

fn describe_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Copies a file atomically, with the source's mode (a kept runtime binary stays executable):
/// a crash leaves the old destination or the whole copy, never a part.
pub fn copy_atomic(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mode = std::fs::metadata(from)?.permissions().mode() & 0o7777;
    replace_atomically(to, &bytes, |file, to| {
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| {
                format!(
                    "cannot give {} the mode of {}",
                    to.display(),
                    from.display()
                )
            })
    })
}

/// The mode a new file is created with, less the process umask.
const NEW_FILE_MODE: u32 = 0o666;

/// A file being replaced passes its mode on: whoever made it private, or shared it with a
/// group, meant the next version too. The umask applies only to new files, so this is set
/// after creating the temporary file rather than asked for at its creation.
fn keep_mode_of(path: &Path, replacement: &std::fs::File) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(existing) = std::fs::metadata(path) else {
        return Ok(());
    };
    let mode = existing.permissions().mode() & 0o7777;
    replacement
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot give the new {} its mode", path.display()))
}

/// Modes of written files, for the tests of every stage that writes one.
#[cfg(test)]
pub mod file_mode {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// What a new file's mode must be in this process: 0666 less the umask. The umask is read,
    /// not set: setting it would race with the other tests' files.
    pub fn new_file() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))
            .expect("Linux reports the umask in /proc/self/status");
        0o666 & !u32::from_str_radix(umask.trim(), 8).unwrap()
    }

    pub fn of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    pub fn set(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::write_json;

    #[test]
    fn an_input_that_is_not_a_regular_file_or_too_big_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("r.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let error = read_text(&fifo, READ_LIMIT).unwrap_err().to_string();
        assert!(
            error.contains("is a named pipe, not a regular file"),
            "{error}"
        );
        let error = read_text(Path::new("/dev/zero"), READ_LIMIT)
            .unwrap_err()
            .to_string();
        assert!(error.contains("is a device"), "{error}");
        let big = dir.path().join("big.json");
        std::fs::write(&big, "x".repeat(100)).unwrap();
        let error = read_text(&big, 10).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("{}: 100 bytes", big.display())),
            "{error}"
        );
        assert_eq!(read_text(&big, 100).unwrap().len(), 100);
    }

    #[test]
    fn an_output_that_is_one_of_the_inputs_is_refused_by_any_path() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.json");
        std::fs::write(&results, "{}").unwrap();
        let other = dir.path().join("sub/../r.json");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let error = check_not_an_input(&other, &[&results])
            .unwrap_err()
            .to_string();
        assert!(error.contains("is also an input"), "{error}");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&results, &link).unwrap();
        assert!(check_not_an_input(&link, &[&results]).is_err());
        // Another file, or one not written yet, is fine.
        assert!(check_not_an_input(&dir.path().join("new.json"), &[&results]).is_ok());
    }

    #[test]
    fn a_write_through_a_link_replaces_its_target_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("kept").join("results.json");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("kept/results.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn devices_pipes_and_folders_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        for (path, kind) in [
            (fifo.as_path(), "a named pipe"),
            (Path::new("/dev/null"), "a device"),
            (dir.path(), "a folder"),
        ] {
            let err = write_atomic(path, b"x").unwrap_err().to_string();
            assert_eq!(
                err,
                format!(
                    "{}: is {kind}, not a regular file; give the path of a file to write",
                    path.display()
                )
            );
        }
        let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(&kind));
        // A link to a device is refused too.
        let link = dir.path().join("null.json");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(write_atomic(&link, b"x").is_err());
    }

    #[test]
    fn a_dash_is_standard_output_and_never_a_file() {
        let dash = Path::new("-");
        assert!(is_standard_output(dash));
        assert!(
            !is_standard_output(Path::new("./-")),
            "a file named - stays reachable"
        );
        assert_eq!(check_destination(dash).unwrap(), dash);
        write_atomic(dash, b"").unwrap();
        assert!(!dash.exists(), "no file named - in the working directory");
    }

    #[test]
    fn a_new_file_is_readable_as_the_umask_allows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        write_atomic(&path, b"# report\n").unwrap();
        // 0644 under the usual umask 022: what another user or a web server needs.
        let expected = file_mode::new_file();
        assert_eq!(file_mode::of(&path), expected, "{expected:o}");
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        write_json(&path, &vec![1]).unwrap();
        file_mode::set(&path, 0o640);
        write_json(&path, &vec![2]).unwrap();
        assert_eq!(file_mode::of(&path), 0o640);
        file_mode::set(&path, 0o660);
        write_atomic(&path, b"[3]\n").unwrap();
        assert_eq!(
            file_mode::of(&path),
            0o660,
            "group-writable, which the umask would mask"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[3]\n");
    }
}
