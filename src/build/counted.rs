//! The modules of the instructions measure. A count of a whole process includes the runtime's
//! start-up and its compilation of the module, which no gate is about; the count per iteration
//! of the test's loop is what matters. So each test is built twice, at two neighbouring tiers,
//! and the run stage subtracts the smaller module's count from the larger one's: what is left
//! is the extra iterations alone (the first iteration, which allocates, is in both).
//!
//! A count needs no long loop, and under valgrind a module runs about twenty times slower than
//! on the bare processor, so the larger module runs the time plan's iterations divided by
//! `run.instructions.iterations_divisor`, down to a tier.
//!
//! The modules draw their random inputs from a fixed stream (`helpers/fixed-random.h`), put
//! into a copy of the verified source's benchmark harness: with the system's random bytes, the
//! work of an iteration depends on what was drawn in a fifth of the tests, and their counts
//! wander by percents.

use super::source::SourceTree;
use super::{BuildOutcome, Inputs, Suite, build_with, prepare};
use crate::config::Config;
use crate::model::{Plan, PlanUsed};
use crate::toolchain::Home;
use anyhow::{Context, Result, bail};
use std::path::Path;

/// The suite whose modules are measured, and the suite of the same tests at fewer iterations
/// whose counts are subtracted.
pub struct CountedSuites {
    pub suite: Suite,
    pub low: Suite,
}

/// The iterations of one test under the instructions measure: `(low, high)`, neighbouring tiers
/// with `high` the largest tier at most `time_iterations / divisor`, and never the first tier.
pub fn counted_iterations(time_iterations: u64, tiers: &[u64], divisor: u64) -> Option<(u64, u64)> {
    let wanted = time_iterations / divisor.max(1);
    let high = tiers
        .iter()
        .skip(1)
        .rposition(|tier| *tier <= wanted)
        .map_or(1, |at| at + 1);
    Some((*tiers.get(high - 1)?, *tiers.get(high)?))
}

/// The two plans of the instructions measure, made from the time plan.
pub fn counted_plans(plan: &Plan, tiers: &[u64], divisor: u64) -> Result<(Plan, Plan)> {
    if tiers.len() < 2 {
        bail!(
            "field `build.tiers`: the instructions measure needs at least two tiers (it subtracts the count of a module at fewer iterations), e.g. [1, 2, 5, 10]"
        );
    }
    let pick = |time: u64| counted_iterations(time, tiers, divisor).expect("two tiers");
    let with = |choose: fn((u64, u64)) -> u64| Plan {
        calibrated_on: plan.calibrated_on.clone(),
        target_seconds: plan.target_seconds / divisor as f64,
        default_iterations: choose(pick(plan.default_iterations)),
        iterations: (plan.iterations.iter())
            .map(|(test, time)| (test.clone(), choose(pick(*time))))
            .collect(),
        measures_nothing: plan.measures_nothing.clone(),
    };
    Ok((with(|(low, _)| low), with(|(_, high)| high)))
}

/// Builds (or finds) both suites of the configured plan under the instructions measure.
pub fn build_counted(config: &Config, home: &Home) -> Result<(CountedSuites, BuildOutcome)> {
    let plan = crate::config::load_plan(config)?;
    let used = crate::config::plan_used(config, &plan);
    let divisor = config.run.instructions.iterations_divisor;
    let (low_plan, high_plan) = counted_plans(&plan, &config.build.tiers, divisor)?;
    let inputs = prepare_counted(config, home)?;
    let used = PlanUsed {
        target_seconds: high_plan.target_seconds,
        calibrated_on: format!(
            "{}, iterations divided by {divisor} for the instructions measure",
            used.calibrated_on
        ),
        ..used
    };
    let jobs = config.build.jobs;
    let (suite, outcome) = build_with(&inputs, home, &high_plan, Some(used.clone()), jobs)?;
    let low_used = PlanUsed {
        calibrated_on: format!("{} (the smaller modules)", used.calibrated_on),
        ..used
    };
    let (low, low_outcome) = build_with(&inputs, home, &low_plan, Some(low_used), jobs)?;
    let outcome = match (outcome, low_outcome) {
        (BuildOutcome::Cached, BuildOutcome::Cached) => BuildOutcome::Cached,
        _ => BuildOutcome::Built,
    };
    Ok((CountedSuites { suite, low }, outcome))
}

/// The build's inputs under the instructions measure: the source with fixed random bytes.
pub fn prepare_counted(config: &Config, home: &Home) -> Result<Inputs> {
    let mut inputs = prepare(config, home)?;
    inputs.source = with_fixed_random(home, &inputs.source)?;
    Ok(inputs)
}

/// The harness file whose benchmark `main` seeds the random bytes.
const HARNESS: &str = "test/default/cmptest.h";
/// Copies `source` into a staging folder, patches its harness and renames it to `dir`.
fn fixed_random_copy(home: &Home, source: &SourceTree, dir: &Path) -> Result<()> {
    let staging = tempfile::Builder::new()
        .prefix(".fixing-")
        .tempdir_in(home.dir("sources"))?;
    let copy = staging.path().join("tree");
    crate::util::run_checked(
        std::process::Command::new("cp")
            .arg("-a")
            .arg(&source.dir)
            .arg(&copy),
        "copying the libsodium source",
        crate::util::limits::QUICK,
    )?;
    let harness = copy.join(HARNESS);
    let text = std::fs::read_to_string(&harness)
        .with_context(|| format!("cannot read {}", harness.display()))?;
    std::fs::write(&harness, fix_random(&text)?)
        .with_context(|| format!("cannot write {}", harness.display()))?;
    std::fs::write(copy.join(".complete"), "")?;
    std::fs::rename(&copy, dir).with_context(|| {
        format!(
            "cannot put the fixed-random source in place at {}",
            dir.display()
        )
    })
}

/// The line of the benchmark `main` that chooses the system-seeded generator.
const SEEDED: &str = "randombytes_set_implementation(&randombytes_salsa20_implementation);";

/// A copy of `source` whose benchmark harness draws from the fixed stream, made once (staged,
/// then renamed into place). Its `sha256` names the change, so every cache keyed by the source
/// (zig's outputs, the suites) tells the two apart.
fn with_fixed_random(home: &Home, source: &SourceTree) -> Result<SourceTree> {
    let helper = crate::toolchain::helpers::FIXED_RANDOM;
    let key = crate::util::short_hash(&format!("{} {helper}", source.info.sha256));
    let dir = home.dir("sources").join(format!("fixed-random-{key}"));
    let complete = dir.join(".complete");
    let what = "the fixed-random copy of the libsodium source";
    crate::util::lock::make_once(
        &dir,
        what,
        || complete.exists(),
        || fixed_random_copy(home, source, &dir),
    )?;
    let mut info = source.info.clone();
    info.sha256 = format!("{}+fixed-random-{key}", source.info.sha256);
    info.origin = format!(
        "{}, random bytes fixed for the instructions measure",
        info.origin
    );
    Ok(SourceTree { dir, info })
}

/// The harness with the fixed stream defined before its benchmark `main` and chosen in it.
pub fn fix_random(harness: &str) -> Result<String> {
    let refuse = || {
        anyhow::anyhow!(
            "libsodium's {HARNESS} is not as wasmgate knows it (no `#ifdef BENCHMARKS` main choosing `randombytes_salsa20_implementation`): the instructions measure cannot fix its random bytes; measure time, or use a libsodium release wasmgate supports"
        )
    };
    let benchmarks = harness.find("#ifdef BENCHMARKS").ok_or_else(refuse)?;
    let main = benchmarks
        + harness[benchmarks..]
            .find("int main(void)")
            .ok_or_else(refuse)?;
    // Only within the benchmark main: the next `#else` or `#elif` starts another one.
    let block_end = (harness[main..].find("\n#el")).map_or(harness.len(), |at| main + at);
    let seeded = main + harness[main..block_end].find(SEEDED).ok_or_else(refuse)?;
    Ok(format!(
        "{}{}{}randombytes_set_implementation(&wasmgate_fixed_implementation);{}",
        &harness[..main],
        crate::toolchain::helpers::FIXED_RANDOM,
        &harness[main..seeded],
        &harness[seeded + SEEDED.len()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIERS: [u64; 7] = [1, 2, 5, 10, 20, 50, 100];

    #[test]
    fn the_larger_module_is_the_time_plans_divided_down_to_a_tier_and_the_smaller_the_tier_below() {
        assert_eq!(counted_iterations(1000, &TIERS, 10), Some((50, 100)));
        assert_eq!(counted_iterations(400, &TIERS, 10), Some((10, 20)));
        assert_eq!(counted_iterations(5000, &TIERS, 10), Some((50, 100)));
        // A test of one iteration still runs two, so that one can be subtracted.
        assert_eq!(counted_iterations(1, &TIERS, 10), Some((1, 2)));
        assert_eq!(counted_iterations(20, &TIERS, 1), Some((10, 20)));
        assert_eq!(counted_iterations(5, &[1], 1), None);
    }

    #[test]
    fn the_benchmark_main_draws_from_the_fixed_stream_and_nothing_else_changes() {
        let harness = "#include \"sodium.h\"\n#ifdef BENCHMARKS\nint main(void)\n{\n    randombytes_set_implementation(&randombytes_salsa20_implementation);\n}\n#else\nint main(void)\n{\n    randombytes_set_implementation(&randombytes_salsa20_implementation);\n}\n#endif\n";
        let fixed = fix_random(harness).unwrap();
        assert_eq!(fixed.matches("&wasmgate_fixed_implementation);").count(), 1);
        // The other main (tests, not benchmarks) keeps the system's bytes.
        assert_eq!(fixed.matches(SEEDED).count(), 1);
        let defined = fixed.find("static randombytes_implementation").unwrap();
        assert!(defined < fixed.find("int main(void)").unwrap());
        let refused = fix_random("#ifdef BENCHMARKS\nint main(void) {}\n").unwrap_err();
        assert!(refused.to_string().contains("cannot fix its random bytes"));
        // A benchmark main without the line: the other main is never patched instead.
        let elsewhere = harness.replacen(SEEDED, "", 1);
        assert!(fix_random(&elsewhere).is_err());
    }

    #[test]
    fn two_runs_fixing_one_source_at_once_share_one_copy() {
        // Two wasmgates starting together (CI's tests do) once removed each other's copy
        // while the other built from it.
        let home = Home::at(tempfile::tempdir().unwrap().keep());
        let original = home.root.join("libsodium");
        let harness = original.join(HARNESS);
        std::fs::create_dir_all(harness.parent().unwrap()).unwrap();
        let text = format!("#ifdef BENCHMARKS\nint main(void)\n{{\n    {SEEDED}\n}}\n#endif\n");
        std::fs::write(&harness, text).unwrap();
        let source = SourceTree {
            dir: original,
            info: crate::model::SourceInfo {
                version: "1".into(),
                sha256: "abc".into(),
                origin: "test".into(),
                signature_verified: false,
            },
        };
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| with_fixed_random(&home, &source));
            let second = scope.spawn(|| with_fixed_random(&home, &source));
            (
                first.join().unwrap().unwrap(),
                second.join().unwrap().unwrap(),
            )
        });
        assert_eq!(first.dir, second.dir);
        assert!(first.info.sha256.starts_with("abc+fixed-random-"));
        let fixed = std::fs::read_to_string(first.dir.join(HARNESS)).unwrap();
        assert!(fixed.contains("&wasmgate_fixed_implementation);"));
        // One copy, no staging folder left behind.
        let entries: Vec<_> = std::fs::read_dir(home.dir("sources"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
    }

    #[test]
    fn both_plans_keep_every_test_and_what_measures_nothing() {
        let plan = Plan {
            calibrated_on: "x".into(),
            target_seconds: 0.1,
            default_iterations: 10,
            iterations: [("sign".to_string(), 1), ("hash".to_string(), 20000)].into(),
            measures_nothing: ["misuse".to_string()].into(),
        };
        let (low, high) = counted_plans(&plan, &TIERS, 10).unwrap();
        assert_eq!(low.iterations["sign"], 1);
        assert_eq!(high.iterations["sign"], 2);
        assert_eq!((low.iterations["hash"], high.iterations["hash"]), (50, 100));
        assert_eq!((low.default_iterations, high.default_iterations), (1, 2));
        assert_eq!(high.measures_nothing, plan.measures_nothing);
        let refused = counted_plans(&plan, &[1], 10).unwrap_err().to_string();
        assert!(refused.contains("build.tiers"), "{refused}");
    }
}
