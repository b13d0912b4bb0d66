//! Build stage: libsodium source -> `zig build` (one build per iteration count the plan uses,
//! not per configured tier) -> `wasm-opt` on every module -> a suite directory with
//! `manifest.json`.
//! Everything is cached by its inputs, so a build with nothing changed does no work.

pub mod categories;
pub mod code_size;
pub mod fixed_random;
pub mod instructions;
pub mod names;
pub mod patched;
pub mod source;
pub mod wasm_sections;

use crate::config::{Config, RandomBytes, TestFilter};
use crate::model::{Manifest, Plan, PlanUsed, SCHEMA_VERSION, TestModule, ToolInfo};
use crate::toolchain::{Home, Tool, ensure_tool};
use crate::util::lock::make_once;
use crate::util::{available_cores, run_checked, sha256_file, short_hash};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use source::SourceTree;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Flags of every zig build; `-Diterations` is added per build.
pub const ZIG_FLAGS: [&str; 4] = [
    "build",
    "-Dtarget=wasm32-wasi",
    "-Doptimize=ReleaseFast",
    "-Denable_benchmarks=true",
];

/// A built suite: its directory and manifest.
#[derive(Debug, Clone)]
pub struct Suite {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Suite {
    pub fn module_path(&self, test: &TestModule) -> PathBuf {
        self.dir.join(&test.file)
    }

    /// Reads a suite directory and checks every module against the manifest's hash.
    pub fn open(dir: &Path) -> Result<Suite> {
        let manifest_path = dir.join("manifest.json");
        let mut manifest: Manifest = crate::model::read_json(&manifest_path)?;
        for (i, test) in manifest.tests.iter_mut().enumerate() {
            // A suite folder may come from a restored CI cache: its manifest names files to
            // hash and run, so each must be a file of this folder.
            let field =
                |name: &str| format!("{}: field `tests[{i}].{name}`", manifest_path.display());
            crate::util::paths::plain_name(&test.name, &field("name"))?;
            let path = crate::util::paths::inside(dir, &test.file, &field("file"))?;
            let actual = sha256_file(&path)
                .with_context(|| format!("suite module {} is missing", path.display()))?;
            if actual != test.sha256 {
                bail!(
                    "{}: sha256 differs from manifest.json; the suite was modified: delete {} and build again",
                    path.display(),
                    dir.display()
                );
            }
            // A suite built before code sizes were recorded: its modules are here to read.
            if test.code_bytes.is_none() {
                test.code_bytes = code_size::code_bytes_of(&path);
            }
        }
        Ok(Suite {
            dir: dir.to_path_buf(),
            manifest,
        })
    }
}

/// What `build` did, for the user and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildOutcome {
    /// The suite was found in the cache; nothing ran.
    Cached,
    Built,
}

/// The tools and source a build needs, provisioned on first use.
pub struct Inputs {
    pub source: SourceTree,
    pub zig: Tool,
    pub wasm_opt: Tool,
    pub wasm_opt_flags: Vec<String>,
    /// The configured `tests` selection: only these programs are built, since no others can
    /// be measured (a cold build of 5 tests takes 2 minutes, of all 101 about 7).
    pub tests: TestFilter,
}

/// The build's inputs, with the random bytes `build.random` asks for.
pub fn prepare(config: &Config, home: &Home) -> Result<Inputs> {
    prepare_with(config, home, config.build.random)
}

/// The build's inputs, with these random bytes.
pub fn prepare_with(config: &Config, home: &Home, random: RandomBytes) -> Result<Inputs> {
    let verified = source::obtain(home, &config.source)?;
    Ok(Inputs {
        source: match random {
            RandomBytes::Fixed => fixed_random::with_fixed_random(home, &verified)?,
            RandomBytes::System => verified,
        },
        zig: ensure_tool(home, "zig", &config.toolchain.zig)?,
        wasm_opt: ensure_tool(home, "wasm-opt", &config.toolchain.wasm_opt.tool())?,
        wasm_opt_flags: config.toolchain.wasm_opt.flags.clone(),
        tests: config.tests.clone(),
    })
}

/// Builds (or finds) the suite of the configured plan: what run, gate and calibrate measure.
/// A `build.plan: runner` must have been resolved by the calibrate stage first (it needs the
/// reference runtime and, the first time, a calibration, both above this stage).
pub fn build_configured(config: &Config, home: &Home) -> Result<(Suite, BuildOutcome)> {
    build_configured_from(config, home, &prepare(config, home)?)
}

/// As `build_configured`, from inputs already prepared.
pub fn build_configured_from(
    config: &Config,
    home: &Home,
    inputs: &Inputs,
) -> Result<(Suite, BuildOutcome)> {
    let plan = crate::config::load_plan(config)?;
    let used = crate::config::plan_used(config, &plan);
    build_with(inputs, home, &plan, Some(used), config.build.jobs)
}

/// Builds (or finds) the suite of `plan`; `used`, when given, is recorded in its manifest
/// (a calibration's probes record nothing: they are not a plan anyone measures with).
pub fn build_with(
    inputs: &Inputs,
    home: &Home,
    plan: &Plan,
    used: Option<PlanUsed>,
    jobs: usize,
) -> Result<(Suite, BuildOutcome)> {
    let tests = selected_programs(list_tests(&inputs.source.dir)?, &inputs.tests)?;
    let wanted = plan_tests(&tests, plan);
    let key = suite_key(inputs, &wanted, used.as_ref());
    let suite_dir = home.dir("suites").join(&key);
    let mut outcome = BuildOutcome::Cached;
    let what = format!("the build of suite {key}");
    // Opening checks every module's sha256: the suite found is kept, not opened again.
    let found = std::cell::RefCell::new(None);
    let open = || {
        let suite = Suite::open(&suite_dir).ok();
        let usable = suite.is_some();
        *found.borrow_mut() = suite;
        usable
    };
    // A suite there but unreadable (an older layout, a damaged manifest) is built again.
    make_once(&suite_dir, &what, open, || {
        build_suite_into(inputs, home, &wanted, used, jobs, &suite_dir)?;
        outcome = BuildOutcome::Built;
        Ok(())
    })?;
    let suite = match found.into_inner() {
        Some(suite) => suite,
        None => Suite::open(&suite_dir)?,
    };
    Ok((suite, outcome))
}

/// Builds the `wanted` modules into a staging folder and renames it to `suite_dir`.
fn build_suite_into(
    inputs: &Inputs,
    home: &Home,
    wanted: &[Wanted],
    used: Option<PlanUsed>,
    jobs: usize,
    suite_dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(home.dir("suites"))?;
    let staging = tempfile::Builder::new()
        .prefix(".building-")
        .tempdir_in(home.dir("suites"))?;
    let jobs = if jobs == 0 { available_cores() } else { jobs };
    let modules = build_and_optimize(inputs, home, wanted, staging.path(), jobs)?;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        suite_id: suite_id(inputs, &modules),
        source: inputs.source.info.clone(),
        zig: ToolInfo {
            version: inputs.zig.version.clone(),
            flags: ZIG_FLAGS[1..].iter().map(|f| f.to_string()).collect(),
        },
        wasm_opt: ToolInfo {
            version: inputs.wasm_opt.version.clone(),
            flags: inputs.wasm_opt_flags.clone(),
        },
        tests: modules,
        plan: used,
    };
    crate::model::write_json(&staging.path().join("manifest.json"), &manifest)?;
    // On failure the staging folder is removed when `staging` drops; on success it is gone.
    std::fs::rename(staging.path(), suite_dir)
        .with_context(|| format!("cannot put the built suite at {}", suite_dir.display()))
}

/// A test as the plan wants it built.
#[derive(Debug, Clone)]
struct Wanted {
    name: String,
    iterations: u64,
    measures_nothing: bool,
}

fn plan_tests(tests: &[String], plan: &Plan) -> Vec<Wanted> {
    tests
        .iter()
        .map(|name| Wanted {
            name: name.clone(),
            iterations: plan
                .iterations
                .get(name)
                .copied()
                .unwrap_or(plan.default_iterations),
            measures_nothing: plan.measures_nothing.contains(name),
        })
        .collect()
}

/// The test programs of the source tree: `test/default/*.c`, sorted.
pub fn list_tests(source_dir: &Path) -> Result<Vec<String>> {
    let dir = source_dir.join("test/default");
    let mut tests: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("{} is missing: not a libsodium source tree", dir.display()))?
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".c")
                .map(str::to_string)
        })
        .collect();
    tests.sort();
    if tests.is_empty() {
        bail!("{} holds no test programs", dir.display());
    }
    Ok(tests)
}

/// The test programs `tests.include` and `tests.exclude` select (all when include is empty);
/// a name the source has no program of is refused here, before anything is built.
fn selected_programs(programs: Vec<String>, filter: &TestFilter) -> Result<Vec<String>> {
    for (field, names) in [("include", &filter.include), ("exclude", &filter.exclude)] {
        if let Some(name) = names.iter().find(|n| !programs.contains(n)) {
            bail!(
                "tests.{field}: libsodium has no test program `{name}`; name one of: {}",
                programs.join(", ")
            );
        }
    }
    let chosen: Vec<String> = programs.into_iter().filter(|p| filter.admits(p)).collect();
    if chosen.is_empty() {
        bail!("tests: include and exclude leave no test program to build; include at least one");
    }
    Ok(chosen)
}

/// The cache key of a suite: every input that changes the modules, and the plan's record,
/// so a suite found in the cache says which plan it was built from.
fn suite_key(inputs: &Inputs, wanted: &[Wanted], used: Option<&PlanUsed>) -> String {
    let mut text = format!(
        "schema {SCHEMA_VERSION}\nsource {}\nzig {} {:?}\nwasm-opt {} {:?}\n",
        inputs.source.info.sha256,
        inputs.zig.version,
        ZIG_FLAGS,
        inputs.wasm_opt.version,
        inputs.wasm_opt_flags
    );
    if let Some(used) = used {
        text.push_str(&format!(
            "plan {:?} {} {}\n",
            used.source, used.calibrated_on, used.target_seconds
        ));
    }
    for test in wanted {
        text.push_str(&format!(
            "{} {} {} {}\n",
            test.name,
            test.iterations,
            test.measures_nothing,
            categories::category_of(&test.name)
        ));
    }
    short_hash(&text)
}

/// The suite's identity: what was measured, independent of where it was built.
fn suite_id(inputs: &Inputs, modules: &[TestModule]) -> String {
    let mut text = format!(
        "{}\n{:?}\n",
        inputs.source.info.version, inputs.wasm_opt_flags
    );
    for module in modules {
        text.push_str(&format!(
            "{} {} {}\n",
            module.name, module.iterations, module.sha256
        ));
    }
    short_hash(&text)
}

/// Runs one zig build for an iteration count, cached by (source, zig version, iterations).
/// Returns the directory holding the built `.wasm` files.
fn zig_build(inputs: &Inputs, home: &Home, iterations: u64) -> Result<PathBuf> {
    zig_build_with(inputs, home, iterations, &ZIG_FLAGS)
}

/// Flags of the native build: the same tests for this machine (Zig's default target).
pub const ZIG_NATIVE_FLAGS: [&str; 3] = [
    "build",
    "-Doptimize=ReleaseFast",
    "-Denable_benchmarks=true",
];

/// Builds the suite's tests natively, with the same source and iteration counts as its wasm
/// modules, and returns each wasm module's path mapped to its native executable.
pub fn build_native(
    inputs: &Inputs,
    home: &Home,
    suite: &Suite,
) -> Result<BTreeMap<PathBuf, PathBuf>> {
    let counts: BTreeSet<u64> = suite.manifest.tests.iter().map(|t| t.iterations).collect();
    let mut outputs = BTreeMap::new();
    for iterations in counts {
        let spinner = spinner(format!("native zig build -Diterations={iterations}"));
        spinner.suspend(|| eprintln!("wasmgate: native zig build -Diterations={iterations}"));
        let built = zig_build_with(inputs, home, iterations, &ZIG_NATIVE_FLAGS);
        spinner.finish_and_clear();
        outputs.insert(iterations, built?);
    }
    let mut executables = BTreeMap::new();
    for test in &suite.manifest.tests {
        let executable = outputs[&test.iterations].join(&test.name);
        if !executable.is_file() {
            bail!("the native build made no {}", executable.display());
        }
        executables.insert(suite.module_path(test), executable);
    }
    Ok(executables)
}

fn zig_build_with(
    inputs: &Inputs,
    home: &Home,
    iterations: u64,
    flags: &[&str],
) -> Result<PathBuf> {
    let key = short_hash(&format!(
        "{} {} {:?} {iterations}",
        inputs.source.info.sha256, inputs.zig.version, flags
    ));
    let out = home.dir("zig-out").join(key);
    let complete = out.join(".complete");
    let what = format!("zig build -Diterations={iterations}");
    make_once(
        &out,
        &what,
        || complete.exists(),
        || {
            run_checked(
                Command::new(&inputs.zig.path)
                    .args(flags)
                    .arg(format!("-Diterations={iterations}"))
                    .arg("--prefix")
                    .arg(&out)
                    .arg("--cache-dir")
                    .arg(home.dir("zig-cache/local"))
                    // Keep Zig's global cache (its build runner, compiler-rt, libc) inside ours too.
                    .env("ZIG_GLOBAL_CACHE_DIR", home.dir("zig-cache/global"))
                    .current_dir(&inputs.source.dir),
                "zig build",
                crate::util::limits::STEP,
            )?;
            std::fs::write(&complete, "")?;
            Ok(())
        },
    )?;
    Ok(out.join("bin"))
}

/// Runs the zig builds, and wasm-opt on each build's modules as soon as that build is done,
/// on `jobs` threads. The first zig build runs alone: it compiles what every build shares (Zig's
/// runtime and libc for the target, about 2 minutes cold, and libsodium's objects), while the
/// other `jobs - 1` threads wait for its modules; then up to `jobs` builds run at once beside
/// the optimizers, and when the builds are done every thread optimizes.
fn build_and_optimize(
    inputs: &Inputs,
    home: &Home,
    wanted: &[Wanted],
    into: &Path,
    jobs: usize,
) -> Result<Vec<TestModule>> {
    let bar = ProgressBar::new(wanted.len() as u64).with_style(
        ProgressStyle::with_template("wasm-opt {bar:30} {pos}/{len} {msg} (eta {eta})")
            .expect("static template"),
    );
    let (ready, waiting) = std::sync::mpsc::channel::<(&Wanted, PathBuf)>();
    let waiting = Mutex::new(waiting);
    let results: Mutex<Vec<Result<TestModule>>> = Mutex::new(Vec::new());
    // Takes the next module whose zig build is done, until the builds are over and none is left.
    let optimize_ready = || {
        loop {
            let next = waiting.lock().expect("no panics while holding").recv();
            let Ok((test, input)) = next else { break };
            bar.set_message(test.name.clone());
            let result = optimize_one(inputs, home, test, &input, into);
            bar.inc(1);
            let mut results = results.lock().expect("no panics while holding");
            results.push(result);
        }
    };
    let built = std::thread::scope(|scope| {
        for _ in 1..jobs.max(1) {
            scope.spawn(optimize_ready);
        }
        // `ready` moves in and is dropped when the builds end, which lets the others finish.
        let built = zig_builds_feeding(inputs, home, wanted, &bar, ready, jobs);
        optimize_ready();
        built
    });
    bar.finish_and_clear();
    built?;
    let mut modules = results
        .into_inner()
        .expect("threads joined")
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    modules.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(modules)
}

/// One zig build per iteration count the wanted tests use, the count with the most tests
/// first (the most work for the optimizers soonest): that one alone, then the others up to
/// `jobs` at once. Each build's modules go to `ready`.
fn zig_builds_feeding<'w>(
    inputs: &Inputs,
    home: &Home,
    wanted: &'w [Wanted],
    bar: &ProgressBar,
    ready: std::sync::mpsc::Sender<(&'w Wanted, PathBuf)>,
    jobs: usize,
) -> Result<()> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for test in wanted {
        *counts.entry(test.iterations).or_default() += 1;
    }
    let mut order: Vec<u64> = counts.keys().copied().collect();
    order.sort_by_key(|iterations| (std::cmp::Reverse(counts[iterations]), *iterations));
    let build = |index: usize| -> Result<()> {
        let iterations = order[index];
        // Printed with the bar out of the way, and also when it is hidden (not a terminal).
        bar.suspend(|| {
            eprintln!(
                "wasmgate: zig build -Diterations={iterations} ({}/{})",
                index + 1,
                order.len()
            )
        });
        let dir = zig_build(inputs, home, iterations)?;
        for test in wanted.iter().filter(|t| t.iterations == iterations) {
            let input = dir.join(format!("{}.wasm", test.name));
            // The receivers live until this function returns: sending cannot fail.
            let _ = ready.send((test, input));
        }
        Ok(())
    };
    if order.is_empty() {
        return Ok(());
    }
    build(0)?;
    let next = std::sync::atomic::AtomicUsize::new(1);
    let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let stop = failed.lock().expect("no panics while holding").is_some();
                    if index >= order.len() || stop {
                        break;
                    }
                    if let Err(error) = build(index) {
                        failed
                            .lock()
                            .expect("no panics while holding")
                            .get_or_insert(error);
                    }
                }
            });
        }
    });
    match failed.into_inner().expect("threads joined") {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Optimizes one module, reusing an earlier result for the same input, tool and flags.
fn optimize_one(
    inputs: &Inputs,
    home: &Home,
    test: &Wanted,
    input: &Path,
    into: &Path,
) -> Result<TestModule> {
    let input_hash =
        sha256_file(input).with_context(|| format!("zig did not produce {}", input.display()))?;
    let cache_key = short_hash(&format!(
        "{input_hash} {} {:?}",
        inputs.wasm_opt.version, inputs.wasm_opt_flags
    ));
    let cached = home.dir("opt-cache").join(format!("{cache_key}.wasm"));
    if !cached.exists() {
        std::fs::create_dir_all(home.dir("opt-cache"))?;
        let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
        run_checked(
            Command::new(&inputs.wasm_opt.path)
                .args(&inputs.wasm_opt_flags)
                .arg(input)
                .arg("-o")
                .arg(&tmp),
            &format!("wasm-opt on {}", test.name),
            crate::util::limits::STEP,
        )?;
        std::fs::rename(&tmp, &cached)?;
    }
    let file = format!("{}.wasm", test.name);
    std::fs::copy(&cached, into.join(&file))?;
    Ok(TestModule {
        name: test.name.clone(),
        category: categories::category_of(&test.name).to_string(),
        iterations: test.iterations,
        measures_nothing: test.measures_nothing,
        sha256: sha256_file(&into.join(&file))?,
        size: std::fs::metadata(into.join(&file))?.len(),
        code_bytes: code_size::code_bytes_of(&into.join(&file)),
        file,
    })
}

fn spinner(message: String) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    spinner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs() -> Vec<String> {
        ["auth", "box", "hash", "sign"].map(String::from).to_vec()
    }

    fn filter(include: &[&str], exclude: &[&str]) -> TestFilter {
        TestFilter {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn only_the_configured_tests_are_built() {
        assert_eq!(
            selected_programs(programs(), &filter(&[], &[])).unwrap(),
            programs()
        );
        assert_eq!(
            selected_programs(programs(), &filter(&["sign", "box"], &["box"])).unwrap(),
            ["sign"]
        );
        assert_eq!(
            selected_programs(programs(), &filter(&[], &["hash"])).unwrap(),
            ["auth", "box", "sign"]
        );
    }

    #[test]
    fn a_test_the_source_lacks_or_an_empty_selection_is_refused_naming_the_field() {
        let error = selected_programs(programs(), &filter(&["sign", "sing"], &[]))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("tests.include: libsodium has no test program `sing`"));
        assert!(error.ends_with("auth, box, hash, sign"), "{error}");
        let error = selected_programs(programs(), &filter(&[], &["nope"]))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("tests.exclude:"), "{error}");
        let error = selected_programs(programs(), &filter(&["sign"], &["sign"]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("no test program to build"), "{error}");
    }

    #[test]
    fn a_suite_whose_manifest_names_a_file_outside_its_folder_is_refused_before_hashing() {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("suite");
        std::fs::create_dir(&suite).unwrap();
        std::fs::write(dir.path().join("victim.wasm"), "outside").unwrap();
        let outside = sha256_file(&dir.path().join("victim.wasm")).unwrap();
        for (file, name, field) in [
            ("../victim.wasm", "sign", "file"),
            ("/etc/hostname", "sign", "file"),
            ("sign.wasm", "../sign", "name"),
        ] {
            let mut manifest = crate::model::fixtures::manifest();
            manifest.tests.truncate(1);
            manifest.tests[0].file = file.into();
            manifest.tests[0].name = name.into();
            manifest.tests[0].sha256 = outside.clone();
            crate::model::write_json(&suite.join("manifest.json"), &manifest).unwrap();
            let error = Suite::open(&suite).unwrap_err().to_string();
            assert!(
                error.contains(&format!("field `tests[0].{field}`")),
                "{file} {name}: {error}"
            );
        }
    }
}
