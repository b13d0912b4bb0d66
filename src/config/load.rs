//! Reading a configuration file (or the embedded default) and refusing what it cannot mean, in
//! one line naming the file, the field and the fix.

use super::sampling::{Sources, check_run, repeated};
use super::schema::*;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The built-in configuration, used when no file is given and `wasmgate.yml` is absent.
pub const DEFAULT_YAML: &str = include_str!("default.yml");
/// The file looked for in the current directory when `--config` is not given.
pub const DEFAULT_FILE_NAME: &str = "wasmgate.yml";

/// A configuration together with the name of the file it came from, for error messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file the configuration was read from; `None` for the built-in default.
    pub file: Option<PathBuf>,
}

impl Loaded {
    /// How error messages name the configuration's origin.
    pub fn origin(&self) -> String {
        match &self.file {
            Some(path) => path.display().to_string(),
            None => "the built-in default configuration".to_string(),
        }
    }

    /// Looks up a runtime by name, with an error that says how to add it.
    pub fn runtime(&self, name: &str) -> Result<&RuntimeConfig> {
        match self.config.runtimes.get(name) {
            Some(runtime) => Ok(runtime),
            None => bail!(
                "unknown runtime `{name}` (not under `runtimes:` in {}); known: {}; add it under `runtimes:` or pass --runtime {name}@ADAPTER=PATH",
                self.origin(),
                self.config
                    .runtimes
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The most a configuration or plan file may hold: real ones are a few kilobytes.
pub(super) const CONFIG_LIMIT: u64 = 16 << 20;

/// Loads the configuration: the explicit file, else `wasmgate.yml` in the current directory,
/// else the embedded default.
pub fn load(explicit: Option<&Path>) -> Result<Loaded> {
    let file = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_FILE_NAME)).filter(|p| p.exists()),
    };
    let config = match &file {
        Some(path) => {
            let text = crate::model::read_text(path, CONFIG_LIMIT)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            parse(&text, &path.display().to_string())?
        }
        None => parse(DEFAULT_YAML, "the built-in default configuration")?,
    };
    Ok(Loaded { config, file })
}

/// Parses YAML text into a checked configuration; errors name the origin, line, column and field.
pub fn parse(text: &str, origin: &str) -> Result<Config> {
    let config: Config = parse_yaml(text, origin)?;
    validate(&config).map_err(|err| anyhow::anyhow!("{origin}: {err}"))?;
    Ok(config)
}

/// serde_yaml puts its own path before the message and the location after it; we print
/// both ourselves, so keep the message alone.
fn first_line(message: &str) -> String {
    let message = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest,
        _ => message,
    };
    match message.find(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message.lines().next().unwrap_or("").to_string(),
    }
}

/// Checks that cannot be expressed in the types, section by section.
fn validate(config: &Config) -> Result<()> {
    check_build(config)?;
    check_install("toolchain.zig.install", &config.toolchain.zig.install)?;
    check_install(
        "toolchain.wasm_opt.install",
        &config.toolchain.wasm_opt.install,
    )?;
    check_run(&config.run, &Sources::run_fields())?;
    let gate = config.gate_sampling();
    check_run(&gate.run, &gate.sources)?;
    check_compare(&config.compare)?;
    if config.run.runtimes.is_empty() {
        bail!("field `run.runtimes`: name at least one runtime to measure, e.g. [wasmtime]");
    }
    if let Some(twice) = repeated(&config.run.runtimes) {
        bail!("field `run.runtimes`: `{twice}` is listed twice; each runtime is measured once");
    }
    for name in &config.run.runtimes {
        if !config.runtimes.contains_key(name) {
            bail!(
                "field `run.runtimes`: unknown runtime `{name}`; known: {}",
                config
                    .runtimes
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    for (name, runtime) in &config.runtimes {
        check_runtime(name, runtime)?;
    }
    Ok(())
}

fn check_build(config: &Config) -> Result<()> {
    let tiers = &config.build.tiers;
    // Increasing and unique: the tiers are a scale the plan is chosen on, and a repeated or
    // misplaced count is a typo worth a word rather than a silent fix.
    if tiers.is_empty() || tiers.contains(&0) || tiers.windows(2).any(|w| w[0] >= w[1]) {
        bail!(
            "field `build.tiers`: give iteration counts above 0, increasing, each once, e.g. [1, 2, 5, 10, 20, 50]"
        );
    }
    check_target_seconds(
        config.build.calibration.target_seconds,
        "field `build.calibration.target_seconds`",
    )?;
    let runtime = &config.build.calibration.runtime;
    if !config.runtimes.contains_key(runtime) {
        bail!(
            "field `build.calibration.runtime`: unknown runtime `{runtime}`; name one under `runtimes:`, e.g. wasmtime"
        );
    }
    Ok(())
}

/// The target duration of one calibrated sample, as `subject` (a field or a flag) gave it.
pub fn check_target_seconds(seconds: f64, subject: &str) -> Result<()> {
    // Below a millisecond the modules' microsecond clock dominates; above a minute a sample
    // is a timeout waiting to happen.
    if !(0.001..=60.0).contains(&seconds) {
        bail!("{subject}: give seconds between 0.001 and 60, e.g. 0.1");
    }
    Ok(())
}

fn check_compare(compare: &CompareConfig) -> Result<()> {
    if !(0.5..1.0).contains(&compare.confidence) {
        bail!("field `compare.confidence`: give a level between 0.5 and 1, e.g. 0.99");
    }
    if !(compare.alpha > 0.0 && compare.alpha < 0.5) {
        bail!("field `compare.alpha`: give a false discovery rate between 0 and 0.5, e.g. 0.01");
    }
    if !(0.0..1.0).contains(&compare.min_effect) {
        bail!("field `compare.min_effect`: give a fraction, e.g. 0.02 for 2 %");
    }
    if !(0.0..1.0).contains(&compare.min_effect_instructions) {
        bail!("field `compare.min_effect_instructions`: give a fraction, e.g. 0.005 for 0.5 %");
    }
    let evidence = &compare.evidence;
    if !(evidence.seconds > 0.0 && evidence.seconds <= 600.0) {
        bail!(
            "field `compare.evidence.seconds`: give the seconds of profiled runs a side, above 0 and at most 600, e.g. 2"
        );
    }
    if evidence.max_tests > 100 {
        bail!("field `compare.evidence.max_tests`: give at most 100, e.g. 5");
    }
    if let Some(bad) = compare
        .fail_on
        .iter()
        .find(|f| !FAIL_ON.contains(&f.as_str()))
    {
        bail!(
            "field `compare.fail_on`: unknown `{bad}`; use any of {}",
            FAIL_ON.join(", ")
        );
    }
    Ok(())
}

/// A runtime's templates use the placeholders its kind needs: `{module}` for a runtime that
/// runs wasm, `{aot}` for one with an ahead-of-time step or for native code.
fn check_runtime(name: &str, runtime: &RuntimeConfig) -> Result<()> {
    check_templates(name, runtime)?;
    if runtime.instructions.is_some() {
        let counted = runtime.under(crate::model::Measure::Instructions);
        check_templates(&format!("{name}.instructions"), &counted)?;
    }
    check_compile(name, runtime)?;
    if let Some(profile) = &runtime.profile {
        // It runs the module as `run` does: the same placeholders.
        let profiled = RuntimeConfig {
            run: profile.clone(),
            ..runtime.clone()
        };
        check_templates(&format!("{name}.profile"), &profiled)?;
    }
    check_install(&format!("runtimes.{name}.install"), &runtime.install)?;
    if let Some(compiler) = &runtime.compiler {
        check_install(
            &format!("runtimes.{name}.compiler.install"),
            &compiler.install,
        )?;
        let uses = |t: &[String]| t.iter().any(|arg| arg.contains("{compiler}"));
        if !runtime.aot.as_deref().is_some_and(uses) {
            bail!(
                "field `runtimes.{name}.aot`: with a `compiler`, the ahead-of-time step runs it as `{{compiler}}`"
            );
        }
    }
    if let Some(guard) = &runtime.aot_guard {
        let interprets = guard.interpreter.iter().any(|arg| arg.contains("{module}"));
        if runtime.aot.is_none() || !interprets {
            bail!(
                "field `runtimes.{name}.aot_guard`: a guard belongs to a runtime with an `aot` step, and its `interpreter` command runs `{{module}}`"
            );
        }
        // Above 100 the interpreter's run would be allowed minutes, and no interpreter needs
        // to be that slow to tell.
        if !(1.0..=100.0).contains(&guard.min_speedup) {
            bail!(
                "field `runtimes.{name}.aot_guard.min_speedup`: give a factor between 1 and 100, e.g. 5"
            );
        }
    }
    Ok(())
}

/// A runtime's compile steps turn `{module}` into `{aot}`, as an `aot` step does.
fn check_compile(name: &str, runtime: &RuntimeConfig) -> Result<()> {
    let Some(compile) = &runtime.compile else {
        return Ok(());
    };
    if runtime.native {
        bail!(
            "field `runtimes.{name}.compile`: native code is built by zig, not compiled by a runtime"
        );
    }
    let steps = [("serial", &compile.serial), ("parallel", &compile.parallel)];
    for (threads, step) in steps {
        let Some(step) = step else { continue };
        let mentions = |what: &str| step.iter().any(|arg| arg.contains(what));
        if !(mentions("{module}") && mentions("{aot}")) {
            bail!(
                "field `runtimes.{name}.compile.{threads}`: the command must contain `{{module}}` and `{{aot}}`"
            );
        }
    }
    if compile.serial.is_none() && compile.parallel.is_none() {
        bail!("field `runtimes.{name}.compile`: give `serial`, `parallel` or both");
    }
    Ok(())
}

/// A git install names its pin exactly: a full commit id, a tag, commands that are not empty.
fn check_install(field: &str, install: &Install) -> Result<()> {
    let Install::Git(GitInstall {
        git,
        tag,
        commit,
        build,
        binary,
        tools,
        debian,
        ..
    }) = install
    else {
        return Ok(());
    };
    if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("field `{field}.commit`: give the full 40-digit commit id the tag `{tag}` points to");
    }
    if git.is_empty() || tag.is_empty() || tag.contains(['{', '}']) {
        bail!("field `{field}`: give `git` and `tag` (a tag without braces)");
    }
    // Inside the build's output folder: an absolute path or `..` would take a binary from
    // elsewhere and cache it as this build.
    let inside = Path::new(binary)
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_)));
    if binary.is_empty() || !inside {
        bail!(
            "field `{field}.binary`: give the binary's path inside the build's output folder, e.g. bin/tool"
        );
    }
    if build.is_empty() || build.iter().any(Vec::is_empty) {
        bail!(
            "field `{field}.build`: give the build as commands, each a non-empty list, e.g. [[make, -j, \"{{jobs}}\"]]"
        );
    }
    if let Some(bad) = debian.iter().find(|p| !is_debian_name(p)) {
        bail!("field `{field}.debian`: `{bad}` is not a Debian package name");
    }
    for tool in tools {
        check_install(&format!("{field}.tools"), tool)?;
    }
    Ok(())
}

/// Debian package names: lower-case letters, digits, `+`, `-` and `.`, starting alphanumeric.
fn is_debian_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

fn check_templates(name: &str, runtime: &RuntimeConfig) -> Result<()> {
    if runtime.run.is_empty() || runtime.version.is_empty() {
        bail!("field `runtimes.{name}`: `run` and `version` must not be empty");
    }
    let mentions = |template: &[String], what: &str| template.iter().any(|arg| arg.contains(what));
    if runtime.native {
        if runtime.aot.is_some() || !mentions(&runtime.run, "{aot}") {
            bail!(
                "field `runtimes.{name}`: a native runtime has no `aot` step and runs `{{aot}}`, the native build"
            );
        }
        return Ok(());
    }
    match &runtime.aot {
        None if !mentions(&runtime.run, "{module}") => {
            bail!("field `runtimes.{name}.run`: the command must contain `{{module}}`")
        }
        Some(aot) if !(mentions(aot, "{module}") && mentions(aot, "{aot}")) => {
            bail!(
                "field `runtimes.{name}.aot`: the command must contain `{{module}}` and `{{aot}}`"
            )
        }
        Some(_) if !mentions(&runtime.run, "{aot}") => {
            bail!("field `runtimes.{name}.run`: with an `aot` step, run `{{aot}}`")
        }
        _ => Ok(()),
    }
}

/// Any YAML document of ours, with errors naming origin, line, column and field.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        let message = first_line(&inner.to_string());
        // serde_yaml locates a duplicate key at the start of its mapping: point at the key.
        let location = inner
            .location()
            .map(|loc| {
                duplicate_key_at(text, &message, loc.line(), loc.column())
                    .unwrap_or((loc.line(), loc.column()))
            })
            .map(|(line, column)| format!(":{line}:{column}"))
            .unwrap_or_default();
        let field = if field == "." || field == "?" {
            String::new()
        } else {
            format!(" field `{field}`:")
        };
        anyhow::anyhow!("{origin}{location}:{field} {message}")
    })
}

/// Where the second `key:` of a mapping is, for an error about a duplicate `key` that serde
/// locates at the mapping's first line and column: the mapping's keys are the lines from
/// there at that indentation, until a line indented less.
fn duplicate_key_at(
    text: &str,
    message: &str,
    line: usize,
    column: usize,
) -> Option<(usize, usize)> {
    let key = message
        .split_once("duplicate field `")
        .or_else(|| message.split_once("duplicate entry with key \""))?
        .1
        .split(['`', '"'])
        .next()?;
    let indent = column.checked_sub(1)?;
    let mut seen = 0;
    for (at, text_line) in text.lines().enumerate().skip(line.checked_sub(1)?) {
        let trimmed = text_line.trim_start();
        let own = text_line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if own < indent {
            return None;
        }
        let is_key = trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'));
        if own == indent && is_key {
            seen += 1;
            if seen == 2 {
                return Some((at + 1, column));
            }
        }
    }
    None
}

/// The configuration as YAML, for `wasmgate config show`.
pub fn to_yaml(config: &Config) -> Result<String> {
    Ok(serde_yaml::to_string(config)?)
}
