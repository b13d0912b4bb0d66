//! Exclusive locks between wasmgate processes: on a results file (two runs writing one file
//! would mix their samples), on a measuring core (two runs on one core disturb each other's
//! every sample), and on a shared cache entry while it is made (`make_once`). A lock is `flock` on a small file that names its holder; the kernel drops it
//! when the holder exits, even by `kill -9`, so a crash never leaves a stale lock.

use anyhow::{Context, Result, bail};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A lock held until dropped.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    _held: Flock<File>,
}

impl FileLock {
    /// Takes the lock at `path` (created if needed), or says who holds it: `what` names the
    /// thing locked and `fix` what to do instead, for that one-line error.
    pub fn acquire(path: &Path, what: &str, fix: &str) -> Result<FileLock> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // A holder that was just releasing may have removed the file we opened: then the
        // lock we got is on a file nobody else will find, so open the path again.
        for _ in 0..8 {
            let file = open_lock_file(path)?;
            let mut held = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(held) => held,
                Err((mut file, _)) => bail!("{what} is in use by {}: {fix}", holder(&mut file)),
            };
            if still_at(path, &held) {
                name_holder(&mut held);
                return Ok(FileLock {
                    path: path.to_path_buf(),
                    _held: held,
                });
            }
        }
        bail!(
            "cannot take the lock {}: it keeps being replaced",
            path.display()
        )
    }
}

impl FileLock {
    /// Takes the lock at `path`, waiting while another process holds it; `waiting` is told
    /// once who that is. `None` when `stop` is raised first.
    pub fn wait_for(
        path: &Path,
        what: &str,
        stop: &std::sync::atomic::AtomicBool,
        waiting: impl FnOnce(&str),
    ) -> Result<Option<FileLock>> {
        let mut waiting = Some(waiting);
        loop {
            match FileLock::acquire(path, what, "waiting") {
                Ok(lock) => return Ok(Some(lock)),
                Err(busy) if busy.to_string().ends_with(": waiting") => {
                    if let Some(tell) = waiting.take() {
                        tell(busy.to_string().trim_end_matches(": waiting"));
                    }
                }
                Err(other) => return Err(other),
            }
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// Opens (or creates) the lock file itself, never through a link: the holder's pid is written
/// into it, so a link planted where a lock goes (`/tmp` is everyone's) would have a victim's
/// file emptied. In a folder every user shares (sticky and world-writable, as `shared_folder`
/// makes it), a new lock is made writable by all, so a lock another user's run left behind
/// does not lock the next user out. Opened without blocking: a named pipe planted there would
/// otherwise hold the run until someone wrote to it.
fn open_lock_file(path: &Path) -> Result<File> {
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .with_context(|| {
            format!(
                "cannot open the lock {}: remove it if it is a link, or ask its owner to",
                path.display()
            )
        })?;
    let found = file
        .metadata()
        .with_context(|| format!("cannot read the lock {}", path.display()))?;
    if !found.is_file() {
        bail!(
            "the lock {} is not a plain file: remove it (only wasmgate's own lock files belong there)",
            path.display()
        );
    }
    let everyones = path
        .parent()
        .and_then(|dir| std::fs::metadata(dir).ok())
        .is_some_and(|dir| dir.mode() & 0o1777 == 0o1777);
    if everyones && found.uid() == nix::unistd::geteuid().as_raw() && found.mode() & 0o666 != 0o666
    {
        file.set_permissions(std::fs::Permissions::from_mode(0o666))
            .with_context(|| format!("cannot share the lock {}", path.display()))?;
    }
    Ok(file)
}

/// Makes `dir` a folder every user's wasmgate can take locks in, as `/tmp` is: world-writable
/// and sticky (a user removes only their own files). A link or a file there, or a folder of
/// another user that others cannot write to, is refused with the fix.
pub fn shared_folder(dir: &Path) -> Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
    }
    let found =
        std::fs::symlink_metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if !found.is_dir() {
        bail!(
            "{} is not a folder (a link or a file): remove it, wasmgate makes the folder itself",
            dir.display()
        );
    }
    if found.mode() & 0o1777 == 0o1777 {
        return Ok(());
    }
    if found.uid() != nix::unistd::geteuid().as_raw() {
        bail!(
            "{} belongs to another user and is not shared: ask them (or root) to `chmod 1777` it",
            dir.display()
        );
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))
        .with_context(|| format!("cannot share {} with other users", dir.display()))
}

/// Makes one shared cache entry at most once at a time across wasmgate processes (and threads):
/// when `done()` says the entry is not there, waits for the lock beside `entry`, asks `done()`
/// again (the holder may just have made it), removes what a maker stopped half way left at
/// `entry` (never one in progress: that one holds the lock) and only then runs `make`. Without
/// it, a second process that found an entry half made would remove or overwrite the first
/// one's work in progress while it still builds from it.
pub fn make_once(
    entry: &Path,
    what: &str,
    done: impl Fn() -> bool,
    make: impl FnOnce() -> Result<()>,
) -> Result<()> {
    if done() {
        return Ok(());
    }
    let mut lock = entry.as_os_str().to_owned();
    lock.push(".lock");
    let tell = |who: &str| eprintln!("wasmgate: waiting: {who}");
    let Some(_held) = FileLock::wait_for(Path::new(&lock), what, &super::STOP, tell)? else {
        bail!("interrupted while waiting for {what}; nothing was made");
    };
    if done() {
        return Ok(());
    }
    remove_leftover(entry)?;
    make()
}

/// Removes the file or folder at `path`, if there is one.
fn remove_leftover(path: &Path) -> Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Err(absent) if absent.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(other) => Err(other),
        Ok(found) if found.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    removed.with_context(|| format!("cannot remove what was left at {}", path.display()))
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Removed while still held, so the next process creates a fresh file; `acquire`
        // notices if it locked the removed one.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn still_at(path: &Path, held: &File) -> bool {
    match (std::fs::metadata(path), held.metadata()) {
        (Ok(now), Ok(ours)) => now.ino() == ours.ino() && now.dev() == ours.dev(),
        _ => false,
    }
}

/// Writes this process's id into the lock, for the error the next process gives.
fn name_holder(file: &mut File) {
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    let _ = file.sync_all();
}

fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    match text.trim().parse::<u32>() {
        Ok(pid) => format!("another wasmgate (pid {pid})"),
        Err(_) => "another wasmgate".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json.lock");
        let first = FileLock::acquire(&path, "r.json", "use another --out").unwrap();
        let err = FileLock::acquire(&path, "r.json", "use another --out")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "r.json is in use by another wasmgate (pid {}): use another --out",
                std::process::id()
            )
        );
        drop(first);
        assert!(!path.exists());
        FileLock::acquire(&path, "r.json", "use another --out").unwrap();
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_lets_go_or_gives_up_on_stop() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core-1.lock");
        let first = FileLock::acquire(&path, "core 1", "wait").unwrap();
        let stop = AtomicBool::new(false);
        let mut told = String::new();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(300));
                drop(first);
            });
            let got = FileLock::wait_for(&path, "core 1", &stop, |who| told = who.to_string());
            assert!(got.unwrap().is_some());
        });
        assert!(
            told.starts_with("core 1 is in use by another wasmgate (pid"),
            "{told}"
        );
        let _held = FileLock::acquire(&path, "core 1", "wait").unwrap();
        stop.store(true, Ordering::SeqCst);
        let gave_up = FileLock::wait_for(&path, "core 1", &stop, |_| {}).unwrap();
        assert!(gave_up.is_none());
    }

    #[test]
    fn what_a_maker_stopped_half_way_left_is_removed_before_the_next_make() {
        let dir = tempfile::tempdir().unwrap();
        for entry in [dir.path().join("folder"), dir.path().join("file")] {
            if entry.ends_with("folder") {
                std::fs::create_dir_all(entry.join("half")).unwrap();
            } else {
                std::fs::write(&entry, "half").unwrap();
            }
            let done = || entry.join(".complete").exists();
            make_once(&entry, "the build", done, || {
                assert!(!entry.exists(), "{} was left", entry.display());
                Ok(())
            })
            .unwrap();
        }
    }

    #[test]
    fn two_makers_of_one_entry_take_turns_and_the_second_uses_the_first_ones_work() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("zig-out-key");
        let made = AtomicU32::new(0);
        let make = || {
            made.fetch_add(1, Ordering::SeqCst);
            // Built in place, slowly: a maker that did not wait would find it half made.
            std::fs::create_dir_all(&entry)?;
            std::thread::sleep(std::time::Duration::from_millis(300));
            std::fs::write(entry.join(".complete"), "")?;
            Ok(())
        };
        let done = || entry.join(".complete").exists();
        std::thread::scope(|scope| {
            let first = scope.spawn(|| make_once(&entry, "the build", done, make));
            let second = scope.spawn(|| make_once(&entry, "the build", done, make));
            first.join().unwrap().unwrap();
            second.join().unwrap().unwrap();
        });
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert!(done());
    }

    #[test]
    fn a_link_or_a_pipe_where_a_lock_goes_is_refused_and_what_it_points_at_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let planted = dir.path().join("core-0.lock");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let err = FileLock::acquire(&planted, "core 0", "wait").unwrap_err();
        assert!(
            format!("{err:#}").contains("remove it if it is a link"),
            "{err:#}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

        let pipe = dir.path().join("core-1.lock");
        nix::unistd::mkfifo(&pipe, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = FileLock::acquire(&pipe, "core 1", "wait").unwrap_err();
        assert!(err.to_string().contains("is not a plain file"), "{err:#}");
    }

    #[test]
    fn a_shared_folder_is_sticky_and_writable_by_all_and_its_locks_by_all_too() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("locks");
        shared_folder(&shared).unwrap();
        let mode = std::fs::metadata(&shared).unwrap().mode();
        assert_eq!(mode & 0o7777, 0o1777, "{mode:o}");
        let lock = FileLock::acquire(&shared.join("core-0.lock"), "core 0", "wait").unwrap();
        let mode = std::fs::metadata(shared.join("core-0.lock"))
            .unwrap()
            .mode();
        assert_eq!(mode & 0o666, 0o666, "{mode:o}");
        drop(lock);
        // A folder left by an older wasmgate with the default mode is shared when it is ours.
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        shared_folder(&shared).unwrap();
        assert_eq!(std::fs::metadata(&shared).unwrap().mode() & 0o7777, 0o1777);

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&shared, &link).unwrap();
        let err = shared_folder(&link).unwrap_err().to_string();
        assert!(err.contains("is not a folder (a link or a file)"), "{err}");
    }
}
