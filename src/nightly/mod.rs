//! The differential nightly: tonight's runtime build measured in one paired run against the
//! builds of earlier nights kept in a folder (1, 2, 4 and 8 nights back), each link compared
//! with the gate's statistics, the night appended to the folder's history, and tonight's build
//! kept for the nights to come.

pub mod kept;
pub mod night;

use crate::compare::judge::{Against, judge};
use crate::config::Loaded;
use crate::model::Comparison;
use crate::model::nightly::NIGHTS_BACK;
use crate::run::adapter::RuntimeRequest;
use anyhow::{Context, Result, bail};
use kept::{Link, TONIGHT};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What a night is asked to do.
#[derive(Debug, Clone)]
pub struct NightlyRequest {
    /// The configured runtime whose commands run every night's binary.
    pub adapter: String,
    /// Tonight's runtime binary and the commit it was built from.
    pub binary: PathBuf,
    pub commit: String,
    /// The kept-builds folder.
    pub kept: PathBuf,
    /// The runner's label, recorded with the night.
    pub runner: String,
    /// Prefix of the files written: `PREFIX.results.json`, `PREFIX.comparison.json` (the
    /// nearest night), `PREFIX.t-N.comparison.json` (the longer links).
    pub prefix: PathBuf,
    /// Measure a commit the last kept night already measured (it replaces that night).
    pub force: bool,
    /// The sampling, tests and cores; its runtimes are chosen here.
    pub measure: crate::run::measure::MeasureRequest,
    /// The budget is the configured one (no --budget): it bounds each kept build compared,
    /// so the whole night's is that times the links (see `budget_for_links`).
    pub budget_per_link: bool,
}

impl NightlyRequest {
    pub fn results_path(&self) -> PathBuf {
        with_suffix(&self.prefix, ".results.json")
    }

    /// Where a link's comparison is written: the nearest night's at `PREFIX.comparison.json`,
    /// which is the night's verdict and what the issue is about.
    fn comparison_path(&self, nearest: bool, nights_back: u32) -> PathBuf {
        if nearest {
            with_suffix(&self.prefix, ".comparison.json")
        } else {
            with_suffix(&self.prefix, &format!(".t-{nights_back}.comparison.json"))
        }
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Tonight against one earlier night.
#[derive(Debug, Clone)]
pub struct LinkOutcome {
    pub nights_back: u32,
    pub comparison: Comparison,
    /// Where the comparison was written.
    pub path: PathBuf,
}

/// How the night went.
#[derive(Debug, Clone)]
pub enum NightlyOutcome {
    /// Tonight's commit is the last kept night's (nothing merged since): nothing measured.
    AlreadyMeasured(String),
    /// Stopped by a signal: nothing recorded or kept; the results so far are in the file.
    Interrupted { results: PathBuf },
    /// Nothing kept to compare with: tonight was measured alone, recorded and kept.
    First {
        results: PathBuf,
        history: PathBuf,
        kept: kept::Kept,
    },
    /// Tonight against the earlier nights kept, nearest first.
    Compared {
        results: PathBuf,
        links: Vec<LinkOutcome>,
        history: PathBuf,
        kept: kept::Kept,
    },
}

impl NightlyOutcome {
    /// The nearest night's link: its gate rule is the night's verdict.
    pub fn verdict(&self) -> Option<&LinkOutcome> {
        match self {
            NightlyOutcome::Compared { links, .. } => links.first(),
            _ => None,
        }
    }

    /// Longer links the gate rule fails while the nearest passes: a slow drift, each night
    /// too small to see, which the issue reports as a regression too.
    pub fn drift(&self) -> Vec<&LinkOutcome> {
        match (self, self.verdict()) {
            (NightlyOutcome::Compared { links, .. }, Some(nearest))
                if !nearest.comparison.gate_failed =>
            {
                links[1..]
                    .iter()
                    .filter(|l| l.comparison.gate_failed)
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The night's budget when the configured one bounds each link: every round measures every
/// kept build, so four links in one link's time would give each a quarter of the pairs a
/// T-1-only night gets (measured: a whole-suite night on one core, 10 minutes, left 2-3 pairs a
/// test and link and the T-8 link's overall interval at ±61 %). With one link or none, as given.
fn budget_for_links(budget: Option<&str>, links: usize) -> Result<Option<String>> {
    let Some(budget) = budget else {
        return Ok(None);
    };
    if links <= 1 {
        return Ok(Some(budget.to_string()));
    }
    let each = crate::config::parse_duration(budget)?;
    let total = each * u32::try_from(links).unwrap_or(u32::MAX);
    Ok(Some(humantime::format_duration(total).to_string()))
}

/// The runtimes of tonight's run: tonight's binary and each linked night's, under the one
/// adapter, labelled by how many nights back they are.
pub fn runtimes(adapter: &str, binary: &Path, links: &[Link]) -> Vec<RuntimeRequest> {
    let runtime = |label: String, path: &Path| RuntimeRequest {
        label,
        adapter: Some(adapter.to_string()),
        path: Some(path.to_path_buf()),
    };
    std::iter::once(runtime(TONIGHT.to_string(), binary))
        .chain(links.iter().map(|l| runtime(l.label(), &l.path)))
        .collect()
}

/// One night at a time in a kept folder: nights.json is read at the start of a night and
/// written at its end, and a second night in between would lose one of the two.
fn lock_kept(dir: &Path) -> Result<crate::util::lock::FileLock> {
    crate::util::lock::FileLock::acquire(
        &dir.join(".nightly.lock"),
        &format!("the kept builds {}", dir.display()),
        "wait for that night to finish, or give another --kept",
    )
}

/// The night: measured, compared, recorded and kept.
pub fn run(loaded: &Loaded, request: &NightlyRequest) -> Result<NightlyOutcome> {
    let _folder = lock_kept(&request.kept)?;
    let before = kept::read(&request.kept, request.measure.sampling.measure)?;
    if let Some(said) = kept::repeated(&request.kept, &before, &request.commit, request.force) {
        return Ok(NightlyOutcome::AlreadyMeasured(said));
    }
    let before = kept::without_repeat(before, &request.commit);
    if !request.binary.is_file() {
        bail!(
            "--binary {}: no such file; build tonight's runtime first, or fix the path",
            request.binary.display()
        );
    }
    let sha256 = crate::util::sha256_file(&request.binary)?;
    std::fs::create_dir_all(&request.kept)
        .with_context(|| format!("--kept {}: cannot create it", request.kept.display()))?;
    let (links, warnings) = kept::choose_links(&request.kept, &before);
    for warning in warnings {
        eprintln!("wasmgate: {warning}");
    }
    let mut measure = crate::run::measure::MeasureRequest {
        runtimes: runtimes(&request.adapter, &request.binary, &links),
        ..request.measure.clone()
    };
    if request.budget_per_link {
        let budget = measure.sampling.budget.clone();
        measure.sampling.budget = budget_for_links(budget.as_deref(), links.len())?;
        if let (Some(each), Some(total)) = (budget, &measure.sampling.budget) {
            eprintln!(
                "wasmgate: budget {total} ({each} for each of {} kept builds)",
                links.len()
            );
        }
    }
    let results_path = request.results_path();
    let results = crate::run::measure::measure(loaded, &measure, &results_path)?;
    if !results.complete {
        return Ok(NightlyOutcome::Interrupted {
            results: results_path,
        });
    }
    let compared = compare_links(loaded, request, &links, (&measure.runtimes, &results))?;
    let night_links = compared
        .iter()
        .filter_map(|l| night::link_of(&l.comparison, l.nights_back))
        .collect();
    let record = night::night(
        &results,
        TONIGHT,
        &request.runner,
        &request.commit,
        night_links,
    );
    let history = night::append(&request.kept, &record)?;
    let kept = kept::keep(
        &request.kept,
        before,
        &request.binary,
        &sha256,
        &request.commit,
    )?;
    Ok(if compared.is_empty() {
        NightlyOutcome::First {
            results: results_path,
            history,
            kept,
        }
    } else {
        NightlyOutcome::Compared {
            results: results_path,
            links: compared,
            history,
            kept,
        }
    })
}

/// The nearest link's evidence: each test it called changed, profiled on last night's build
/// and tonight's.
fn evidence_for_nearest(
    loaded: &Loaded,
    (runtimes, results): (&[RuntimeRequest], &crate::model::Results),
    nights_back: u32,
    comparison: &mut Comparison,
) -> Result<()> {
    let find = |label: &str| runtimes.iter().find(|r| r.label == label);
    let (Some(base), Some(head)) = (find(&kept::label(nights_back)), find(TONIGHT)) else {
        return Ok(());
    };
    crate::compare::evidence::attach_after_run(loaded, comparison, (base, head), results)
}

/// Each link's comparison, paired (every night ran in the same rounds), with the nights'
/// commits recorded on its sides, written beside the results.
/// The nearest link's comparison carries the evidence of its changed tests.
fn compare_links(
    loaded: &Loaded,
    request: &NightlyRequest,
    links: &[Link],
    measured: (&[RuntimeRequest], &crate::model::Results),
) -> Result<Vec<LinkOutcome>> {
    let config = &loaded.config.compare;
    let results_path = request.results_path();
    // A longer link not measured tonight must not leave an earlier night's comparison behind,
    // where a publishing step looking for the links would take it for tonight's.
    for nights_back in NIGHTS_BACK {
        let stale = request.comparison_path(false, nights_back);
        if stale.exists() {
            std::fs::remove_file(&stale)
                .with_context(|| format!("cannot remove the stale {}", stale.display()))?;
        }
    }
    let mut compared = Vec::new();
    for (index, link) in links.iter().enumerate() {
        let against = Against {
            base: Some(link.label()),
            head: Some(TONIGHT.to_string()),
            baseline: None,
            allow_foreign: false,
        };
        let mut comparison = judge(&results_path, &against, config)?;
        comparison.base.commit = Some(link.build.commit.clone());
        comparison.head.commit = Some(request.commit.clone());
        if index == 0 {
            evidence_for_nearest(loaded, measured, link.nights_back, &mut comparison)?;
        }
        let path = request.comparison_path(index == 0, link.nights_back);
        crate::model::write_json(&path, &comparison)?;
        compared.push(LinkOutcome {
            nights_back: link.nights_back,
            comparison,
            path,
        });
    }
    Ok(compared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonight_and_each_linked_night_run_under_the_one_adapter() {
        let link = |nights_back: u32| Link {
            nights_back,
            build: crate::model::nightly::KeptBuild {
                commit: format!("c{nights_back}"),
                date: String::new(),
                binary: String::new(),
                sha256: String::new(),
            },
            path: PathBuf::from(format!("kept/builds/c{nights_back}-wasmtime")),
        };
        let requests = runtimes(
            "wasmtime",
            Path::new("target/wasmtime"),
            &[link(1), link(4)],
        );
        let specs: Vec<RuntimeRequest> = [
            "t-0@wasmtime=target/wasmtime",
            "t-1@wasmtime=kept/builds/c1-wasmtime",
            "t-4@wasmtime=kept/builds/c4-wasmtime",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(requests, specs);
    }

    #[test]
    fn a_budget_per_link_multiplies_by_the_links() {
        let total = |budget, links| budget_for_links(budget, links).unwrap();
        assert_eq!(total(Some("10m"), 4).as_deref(), Some("40m"));
        assert_eq!(total(Some("90s"), 2).as_deref(), Some("3m"));
        assert_eq!(total(Some("10m"), 1).as_deref(), Some("10m"));
        assert_eq!(total(Some("10m"), 0).as_deref(), Some("10m"));
        assert_eq!(total(None, 4), None);
        assert!(budget_for_links(Some("soon"), 2).is_err());
    }

    /// A night's request for tests: wasmtime at `binary`, the default sampling.
    fn request(binary: PathBuf, kept: PathBuf, prefix: PathBuf) -> NightlyRequest {
        NightlyRequest {
            adapter: "wasmtime".into(),
            binary,
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            kept,
            runner: "ci".into(),
            prefix,
            force: false,
            measure: crate::run::measure::MeasureRequest {
                runtimes: Vec::new(),
                tests: Vec::new(),
                sampling: crate::config::parse(crate::config::DEFAULT_YAML, "default")
                    .unwrap()
                    .run,
                cores_origin: String::new(),
                seed: None,
                resume: false,
                progress: false,
                shard: None,
                purpose: crate::config::Purpose::Verdicts,
            },
            budget_per_link: true,
        }
    }

    #[test]
    fn a_second_night_on_the_same_kept_folder_is_refused_while_the_first_runs() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept");
        let loaded = crate::config::load(None).unwrap();
        let request = request(
            dir.path().join("wasmtime"),
            kept.clone(),
            dir.path().join("nightly"),
        );
        // The first night holds the folder (here, this test does).
        let _first =
            crate::util::lock::FileLock::acquire(&kept.join(".nightly.lock"), "x", "y").unwrap();
        let error = run(&loaded, &request).unwrap_err().to_string();
        assert!(error.contains("is in use by another wasmgate"), "{error}");
    }

    #[test]
    fn the_files_are_named_by_the_prefix_and_the_link() {
        let request = request(PathBuf::new(), PathBuf::new(), PathBuf::from("out/nightly"));
        assert_eq!(
            request.results_path(),
            PathBuf::from("out/nightly.results.json")
        );
        assert_eq!(
            request.comparison_path(true, 1),
            PathBuf::from("out/nightly.comparison.json")
        );
        assert_eq!(
            request.comparison_path(false, 4),
            PathBuf::from("out/nightly.t-4.comparison.json")
        );
    }
}
