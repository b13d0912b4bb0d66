//! Bisect stage: the first bad commit between a good and a bad commit of a runtime's
//! repository. Each commit is built on demand into the cache (`builds`); bad is measured against
//! good first, in one paired run with the gate's statistics, to learn which tests regressed;
//! then each midpoint against good on those tests (`search`), and the first bad commit against
//! its parent, to tell how much of the effect it explains.

pub mod builds;
pub mod git;
pub mod search;
pub mod summary;

use crate::compare::judge::{Against, judge_results};
use crate::config::{Config, Loaded};
use crate::model::SCHEMA_VERSION;
use crate::model::bisect::{
    BisectOutcome, BisectRecord, BisectStep, CommitRef, StepKind, StepVerdict, TestEffect,
};
use crate::model::evidence::TestEvidenceOf;
use crate::run::adapter::RuntimeRequest;
use crate::run::measure::{MeasureRequest, measure};
use anyhow::{Result, bail};
use builds::Builds;
use search::{Attempt, Search};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a bisect is asked to do.
#[derive(Debug, Clone)]
pub struct BisectRequest {
    pub repo: PathBuf,
    pub good: String,
    pub bad: String,
    /// A shell command with `{repo}`, `{commit}` and `{out}`: builds the runtime at `{commit}`
    /// and writes it to `{out}`.
    pub build: String,
    /// The configured adapter that runs a built runtime.
    pub adapter: String,
    /// The budget of all the measuring; each step gets a share.
    pub budget: Duration,
    /// Where the record goes; each step's results are written beside it.
    pub out: PathBuf,
    /// Tests and sampling of every step; its runtimes and budget are set per step.
    pub measure: MeasureRequest,
}

/// The tests to bisect on when none are given: those the last night of the nightly's
/// kept-builds folder called regressions, when given; else every test of the configuration.
pub fn default_tests(config: &Config, nightly: Option<&std::path::Path>) -> Result<Vec<String>> {
    match nightly {
        Some(dir) => crate::nightly::night::last_regressions(dir),
        None => Ok(config.tests.include.clone()),
    }
}

/// Finds the first bad commit, writes the record to `request.out` and returns it. `tell` hears
/// each build and step as it happens.
pub fn bisect(
    loaded: &Loaded,
    request: &BisectRequest,
    tell: &mut dyn FnMut(&str),
) -> Result<BisectRecord> {
    let started = Instant::now();
    loaded.runtime(&request.adapter)?;
    if !request.build.contains("{out}") {
        bail!(
            "--build: the command must write the runtime to {{out}}, e.g. `... && cp target/release/wasmtime {{out}}`"
        );
    }
    crate::model::check_destination(&request.out)?;
    let repo = git::Repo::open(&request.repo)?;
    let good = repo.commit(&request.good, "--good")?;
    let bad = repo.commit(&request.bad, "--bad")?;
    if good.sha == bad.sha {
        bail!(
            "--good and --bad are the same commit {}; give an older good commit",
            good.short
        );
    }
    if !repo.is_ancestor(&good, &bad)? {
        bail!(
            "--good {} is not an ancestor of --bad {} in {}; give an older good commit",
            good.short,
            bad.short,
            repo.path.display()
        );
    }
    let commits = repo.range(&good, &bad)?;
    let home = crate::toolchain::Home::resolve(&loaded.config)?;
    let identity = repo.identity(&bad)?;
    let mut bisector = Bisector {
        loaded,
        request,
        builds: Builds::new(
            &home,
            &repo.path,
            &identity,
            &request.build,
            &request.adapter,
        ),
        good: good.clone(),
        steps: Vec::new(),
        regressed: Vec::new(),
        range: Vec::new(),
        measuring: Duration::ZERO,
        steps_left: search::planned_steps(commits.len()),
        tell,
    };
    let outcome = bisector.run(&commits, &bad)?;
    let evidence = match &outcome {
        BisectOutcome::Found { first_bad, .. } => bisector.evidence_of(first_bad),
        _ => Vec::new(),
    };
    let record = BisectRecord {
        schema_version: SCHEMA_VERSION,
        repo: repo.path.display().to_string(),
        repo_identity: identity,
        good,
        bad,
        commits: commits.len(),
        build_command: request.build.clone(),
        adapter: request.adapter.clone(),
        tests: request.measure.tests.clone(),
        regressed: bisector.regressed.clone(),
        budget_seconds: request.budget.as_secs_f64(),
        steps: bisector.steps,
        outcome,
        builds: bisector.builds.counts,
        wall_seconds: started.elapsed().as_secs_f64(),
        measuring_seconds: bisector.measuring.as_secs_f64(),
        evidence,
    };
    crate::model::write_json(&request.out, &record)?;
    Ok(record)
}

/// The bisect under way: its builds, its steps so far and the budget they spent.
struct Bisector<'a> {
    loaded: &'a Loaded,
    request: &'a BisectRequest,
    builds: Builds,
    good: CommitRef,
    steps: Vec<BisectStep>,
    /// The tests bad regressed on: what every later step measures.
    regressed: Vec<String>,
    /// The range's effects (bad against good), once measured: the scale of a later step's.
    range: Vec<TestEffect>,
    /// Time spent measuring so far.
    measuring: Duration,
    /// Steps still planned, for the budget's shares.
    steps_left: usize,
    tell: &'a mut dyn FnMut(&str),
}

/// A step to measure: `head` against `base`.
struct Pair<'c> {
    number: usize,
    kind: StepKind,
    base: &'c CommitRef,
    head: &'c CommitRef,
}

impl Bisector<'_> {
    /// The range, the search, the confirmation: how the bisect ended.
    fn run(&mut self, commits: &[CommitRef], bad: &CommitRef) -> Result<BisectOutcome> {
        let good = self.good.clone();
        let range = Pair {
            number: 0,
            kind: StepKind::Range,
            base: &good,
            head: bad,
        };
        let requested = self.request.measure.tests.clone();
        let Some(verdict) = self.step(&range, &requested, None)? else {
            return Ok(self.out_of_budget(0, bad));
        };
        let last = self
            .steps
            .last()
            .map(|s| s.effects.clone())
            .unwrap_or_default();
        self.regressed = (last.iter())
            .filter(|e| e.verdict == crate::model::Verdict::Regression)
            .map(|e| e.test.clone())
            .collect();
        if self.regressed.is_empty() {
            return Ok(match verdict {
                StepVerdict::Inconclusive => self.inconclusive(0, bad),
                _ => BisectOutcome::NoRegression,
            });
        }
        let whole = search::log_ratio(&last, &self.regressed);
        self.range = last;
        let mut stopped = None;
        let found = search::search(commits.len(), |number, index, attempt| {
            // Out of budget: the search ends here, inconclusive.
            if stopped.is_some() {
                return Ok(StepVerdict::Inconclusive);
            }
            let pair = Pair {
                number,
                kind: StepKind::Search,
                base: &good,
                head: &commits[index],
            };
            let tests = self.regressed.clone();
            let verdict = self.step(&pair, &tests, Some(attempt))?;
            if verdict.is_none() {
                stopped = Some((number, index));
            }
            Ok(verdict.unwrap_or(StepVerdict::Inconclusive))
        })?;
        match (found, stopped) {
            (Search::Inconclusive { step, index }, Some(_)) => {
                Ok(self.out_of_budget(step, &commits[index]))
            }
            (Search::Inconclusive { step, index }, None) => {
                Ok(self.inconclusive(step, &commits[index]))
            }
            (Search::Found { first_bad, steps }, _) => {
                self.confirm(commits, first_bad, steps, whole)
            }
        }
    }

    /// The first bad commit against its parent: how much of the whole effect it explains.
    fn confirm(
        &mut self,
        commits: &[CommitRef],
        first_bad: usize,
        steps: usize,
        whole: Option<f64>,
    ) -> Result<BisectOutcome> {
        let culprit = commits[first_bad].clone();
        let parent = match first_bad {
            0 => self.good.clone(),
            _ => commits[first_bad - 1].clone(),
        };
        // When the parent is good itself, the search (or the range) measured the first bad
        // commit against it already: that step is the confirmation.
        let measured = (parent.sha == self.good.sha)
            .then(|| self.steps.iter().rev().find(|s| s.head.sha == culprit.sha))
            .flatten()
            .map(|s| search::log_ratio(&s.effects, &self.regressed));
        let culprit_log = match measured {
            Some(log) => log,
            None => {
                let pair = Pair {
                    number: steps + 1,
                    kind: StepKind::Confirm,
                    base: &parent,
                    head: &culprit,
                };
                let tests = self.regressed.clone();
                // Out of budget, the share stays unknown: the culprit is found all the same.
                match self.step(&pair, &tests, None)? {
                    Some(_) => self.steps.last().and_then(|s| s.log_ratio),
                    None => None,
                }
            }
        };
        let share = match (whole, culprit_log) {
            (Some(whole), Some(culprit)) => search::share_of_effect(whole, culprit),
            _ => None,
        };
        Ok(BisectOutcome::Found {
            first_bad: culprit,
            parent,
            share,
            spread: search::is_spread(share),
        })
    }

    fn inconclusive(&self, step: usize, commit: &CommitRef) -> BisectOutcome {
        // A test that failed (a crash of that build, say) is no noise: say which and why.
        let failed = (self.steps.last().into_iter())
            .flat_map(|s| &s.effects)
            .find(|e| e.verdict == crate::model::Verdict::Failed);
        let why = match failed {
            Some(e) => format!(
                "test {} failed: {}",
                e.test,
                e.note.as_deref().unwrap_or("no usable sample")
            ),
            None => "too noisy to tell, even with a doubled budget".to_string(),
        };
        BisectOutcome::Inconclusive {
            step,
            commit: commit.clone(),
            why,
        }
    }

    fn out_of_budget(&self, step: usize, commit: &CommitRef) -> BisectOutcome {
        BisectOutcome::Inconclusive {
            step,
            commit: commit.clone(),
            why: format!("the budget of {} s is spent", self.request.budget.as_secs()),
        }
    }
}

impl Bisector<'_> {
    /// Measures a step: the first attempt and, when it is inconclusive and `attempt` is `None`
    /// (the step repeats itself), a second with twice the budget; or just the `attempt` the
    /// search asks for. `None` when the budget has no room left for it.
    fn step(
        &mut self,
        pair: &Pair,
        tests: &[String],
        attempt: Option<Attempt>,
    ) -> Result<Option<StepVerdict>> {
        let attempts = match attempt {
            Some(attempt) => vec![attempt],
            None => vec![Attempt::First, Attempt::Doubled],
        };
        let mut verdict = None;
        for attempt in attempts {
            let Some(budget) = self.budget_for(attempt) else {
                return Ok(None);
            };
            let step = self.measure_pair(pair, tests, attempt, budget)?;
            verdict = Some(step.verdict);
            self.steps.push(step);
            if verdict != Some(StepVerdict::Inconclusive) || pair.kind == StepKind::Confirm {
                break;
            }
        }
        Ok(verdict)
    }

    /// The budget of an attempt: a share of what is left, or twice the last step's for a
    /// repeat, within what is left; `None` when too little is left to measure anything.
    fn budget_for(&mut self, attempt: Attempt) -> Option<Duration> {
        let remaining = self.request.budget.saturating_sub(self.measuring);
        let budget = match attempt {
            Attempt::First => {
                let share = search::step_budget(remaining, self.steps_left);
                self.steps_left = self.steps_left.saturating_sub(1);
                share
            }
            Attempt::Doubled => {
                let last = self.steps.last().map(|s| s.budget_seconds).unwrap_or(0.0);
                remaining.min(Duration::from_secs_f64(2.0 * last))
            }
        };
        (budget >= MIN_STEP).then_some(budget)
    }
}

/// Below this a step cannot take the few pairs a verdict needs.
const MIN_STEP: Duration = Duration::from_secs(2);

impl Bisector<'_> {
    /// One paired run of the pair's builds, compared like a gate.
    fn measure_pair(
        &mut self,
        pair: &Pair,
        tests: &[String],
        attempt: Attempt,
        budget: Duration,
    ) -> Result<BisectStep> {
        let (base_role, head_role) = roles(pair.kind);
        let base = self.runtime_of(base_role, pair.base)?;
        let head = self.runtime_of(head_role, pair.head)?;
        let (base_label, head_label) = (base.label.clone(), head.label.clone());
        let mut sampling = self.request.measure.sampling.clone();
        sampling.budget = Some(format!("{}ms", budget.as_millis()));
        if attempt == Attempt::Doubled {
            // A step left inconclusive by its sample cap, not its budget, would stay so with
            // twice the time alone: the repeat may take twice the samples too.
            sampling.max_samples = sampling.max_samples.saturating_mul(2);
        }
        let request = MeasureRequest {
            runtimes: vec![base, head],
            tests: tests.to_vec(),
            sampling,
            ..self.request.measure.clone()
        };
        let out = results_path(&self.request.out, pair.number, pair.kind, attempt);
        (self.tell)(&format!(
            "step {}: {head_label} against {base_label}, {} s",
            pair.number,
            budget.as_secs()
        ));
        let started = Instant::now();
        let results = measure(self.loaded, &request, &out)?;
        self.measuring += started.elapsed();
        if !results.complete {
            bail!(
                "interrupted at step {}; the builds are cached: run the bisect again to go on",
                pair.number
            );
        }
        let against = Against::same_run(&base_label, &head_label);
        let comparison = judge_results(&results, &out, &against, &self.loaded.config.compare)?;
        let effects: Vec<TestEffect> = comparison.tests.iter().map(effect).collect();
        let searched: Vec<String> = match pair.kind {
            StepKind::Range => effects.iter().map(|e| e.test.clone()).collect(),
            _ => tests.to_vec(),
        };
        Ok(BisectStep {
            number: pair.number,
            attempt: if attempt == Attempt::First { 1 } else { 2 },
            kind: pair.kind,
            base: pair.base.clone(),
            head: pair.head.clone(),
            budget_seconds: budget.as_secs_f64(),
            results: out.display().to_string(),
            log_ratio: search::log_ratio(&effects, &searched),
            verdict: search::verdict_of(&effects, &searched, &self.range),
            effects,
        })
    }
}

impl Bisector<'_> {
    /// The runtime request of `commit`'s build in a step, labelled by its role there.
    fn runtime_of(&mut self, role: &str, commit: &CommitRef) -> Result<RuntimeRequest> {
        Ok(RuntimeRequest {
            label: format!("{role}-{}", commit.short),
            adapter: Some(self.request.adapter.clone()),
            path: Some(self.builds.get(commit, self.tell)?),
        })
    }

    /// The first bad commit's evidence: the last step that measured it as head, judged again
    /// from its results, its changed tests profiled on that step's two builds. A failure to
    /// profile is told and leaves the answer as it is.
    fn evidence_of(&mut self, culprit: &CommitRef) -> Vec<TestEvidenceOf> {
        let step = self.steps.iter().rev().find(|s| s.head.sha == culprit.sha);
        let Some(step) = step.cloned() else {
            return Vec::new();
        };
        match self.profile_step(&step) {
            Ok(found) => found,
            Err(why) => {
                (self.tell)(&format!("no evidence for {}: {why:#}", culprit.short));
                Vec::new()
            }
        }
    }

    fn profile_step(&mut self, step: &BisectStep) -> Result<Vec<TestEvidenceOf>> {
        let (base_role, head_role) = roles(step.kind);
        let base = self.runtime_of(base_role, &step.base)?;
        let head = self.runtime_of(head_role, &step.head)?;
        let path = Path::new(&step.results);
        let results = crate::run::read_results(path)?;
        let against = Against::same_run(&base.label, &head.label);
        let config = &self.loaded.config.compare;
        let mut comparison = judge_results(&results, path, &against, config)?;
        let sides = (&base, &head);
        crate::compare::evidence::attach_after_run(self.loaded, &mut comparison, sides, &results)?;
        Ok((comparison.tests.into_iter())
            .filter_map(|t| {
                Some(TestEvidenceOf {
                    evidence: t.evidence?,
                    test: t.test,
                    ratio: t.ratio,
                })
            })
            .collect())
    }
}

/// The labels of a step's two runtimes, before their short commits.
fn roles(kind: StepKind) -> (&'static str, &'static str) {
    match kind {
        StepKind::Range => ("good", "bad"),
        StepKind::Search => ("good", "mid"),
        StepKind::Confirm => ("parent", "first-bad"),
    }
}

fn effect(row: &crate::model::TestComparison) -> TestEffect {
    TestEffect {
        test: row.test.clone(),
        ratio: row.ratio,
        ci_low: row.ci_low,
        ci_high: row.ci_high,
        verdict: row.verdict,
        note: row.note.clone(),
    }
}

/// A step's results beside the record: `bisect.json` -> `bisect.step-2.json`,
/// `bisect.step-2.repeat.json`, `bisect.range.json`, `bisect.confirm.json`.
pub fn results_path(out: &Path, number: usize, kind: StepKind, attempt: Attempt) -> PathBuf {
    let stem = out.file_stem().unwrap_or_default().to_string_lossy();
    let name = match kind {
        StepKind::Range => format!("{stem}.range"),
        StepKind::Search => format!("{stem}.step-{number}"),
        StepKind::Confirm => format!("{stem}.confirm"),
    };
    let repeat = if attempt == Attempt::Doubled {
        ".repeat"
    } else {
        ""
    };
    out.with_file_name(format!("{name}{repeat}.json"))
}
