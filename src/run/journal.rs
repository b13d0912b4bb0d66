//! The journal: samples appended as they are measured, so an interrupted run keeps them.
//! Line 1 is the run's header (a `Results` without samples); every further line is a sample.

use crate::model::{Results, Sample};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A journal's file extension: `RESULTS.journal`.
pub const EXTENSION: &str = "journal";

/// The journal kept beside a results file while its run is in progress.
pub fn path_for(results: &Path) -> PathBuf {
    let mut name = results.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(EXTENSION);
    results.with_file_name(name)
}

pub struct Journal {
    file: std::fs::File,
    pub path: PathBuf,
}

impl Journal {
    pub fn create(path: &Path, header: &Results) -> Result<Journal> {
        // A named pipe or a device in its place would block the open or never fill.
        crate::model::check_destination(path)?;
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("cannot create the journal {}", path.display()))?;
        let mut header = header.clone();
        header.samples.clear();
        let line = format!("{}\n", serde_json::to_string(&header)?);
        if let Err(error) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            // A torn header is no journal: nothing of the run is in it yet.
            let _ = std::fs::remove_file(path);
            bail!("cannot write the journal {}: {error}", path.display());
        }
        Ok(Journal {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one sample; one write per line, so a killed process leaves whole lines.
    pub fn append(&mut self, sample: &Sample) -> Result<()> {
        let mut line = serde_json::to_string(sample)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .with_context(|| format!("cannot append to {}", self.path.display()))
    }
}

/// A journal left by a run that did not finish, when a new run of the same results starts
/// without `--resume`: moved aside (never overwritten), so its samples are not lost; returns
/// where it went.
pub fn set_aside(path: &Path) -> Result<Option<PathBuf>> {
    if !path.is_file() {
        return Ok(None);
    }
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = path.as_os_str().to_os_string();
    aside.push(format!(".interrupted-{seconds}"));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)
        .with_context(|| format!("cannot move the journal {} aside", path.display()))?;
    Ok(Some(aside))
}

/// Reads a journal back into results (marked incomplete). A torn last line is dropped.
pub fn read(path: &Path) -> Result<Results> {
    let text = crate::model::read_text(path, crate::model::READ_LIMIT)?;
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        bail!("{}: empty journal; nothing was measured", path.display());
    };
    let mut results: Results =
        crate::model::parse_json(header, &format!("{} (header)", path.display()))?;
    let body: Vec<&str> = lines.collect();
    for (index, line) in body.iter().enumerate() {
        match serde_json::from_str::<Sample>(line) {
            Ok(sample) => results.samples.push(sample),
            Err(_) if index + 1 == body.len() => break,
            Err(err) => bail!("{}:{}: not a sample: {err}", path.display(), index + 2),
        }
    }
    results.complete = false;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::file_mode;
    use crate::model::fixtures::results_with;

    #[test]
    fn a_journal_that_is_a_named_pipe_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json.journal");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let results = results_with(&[("sign", "a", Some(1))]);
        let error = Journal::create(&path, &results).err().unwrap().to_string();
        assert!(error.contains("a named pipe"), "{error}");
        assert!(
            read(&path)
                .unwrap_err()
                .to_string()
                .contains("a named pipe")
        );
    }

    #[test]
    fn an_interrupted_runs_journal_is_set_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json.journal");
        let results = results_with(&[("sign", "a", Some(1))]);
        let mut journal = Journal::create(&path, &results).unwrap();
        journal.append(&results.samples[0]).unwrap();
        let aside = set_aside(&path).unwrap().unwrap();
        assert!(!path.exists());
        assert_eq!(read(&aside).unwrap().samples.len(), 1);
        assert_eq!(set_aside(&path).unwrap(), None);
    }

    #[test]
    fn a_new_journal_is_readable_as_the_umask_allows() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("results.json"));
        Journal::create(&path, &results_with(&[])).unwrap();
        assert_eq!(file_mode::of(&path), file_mode::new_file());
    }

    #[test]
    fn a_journal_started_again_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("results.json"));
        let header = results_with(&[("sign", "a", Some(1000))]);
        Journal::create(&path, &header).unwrap();
        file_mode::set(&path, 0o640);
        let mut journal = Journal::create(&path, &header).unwrap();
        journal.append(&header.samples[0]).unwrap();
        assert_eq!(file_mode::of(&path), 0o640);
        assert_eq!(read(&path).unwrap().samples.len(), 1);
    }
}
