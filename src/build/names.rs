//! Names for the measured code without changing it. libsodium's build strips its programs, so
//! a measured module has no name section and a profile of it says `function[60]`. Its named
//! twin is the same test built from a copy of the source whose `build.zig` keeps symbols, then
//! optimized with the same wasm-opt flags keeping the names (and dropping the DWARF, which
//! would change what wasm-opt does). The twin is used only once every section but the custom
//! ones is the measured module's byte for byte: then its name section names the measured code.

use super::patched::{Patch, patched};
use super::wasm_sections::{CUSTOM, Section, custom_name, leb128, sections, take_name};
use super::{Inputs, Suite};
use crate::model::TestModule;
use crate::model::evidence::FunctionNames;
use crate::toolchain::Home;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The file whose `.strip` settings decide whether the programs keep their symbols.
const BUILD_FILE: &str = "build.zig";
/// A name longer than this is cut: the names end up in comments and reports.
const NAME_LIMIT: usize = 120;

/// The names of `test`'s functions, from its named twin (built once, then cached by the
/// measured module's sha256). Refused when the twin's code is not the measured module's.
pub fn function_names(
    inputs: &Inputs,
    home: &Home,
    suite: &Suite,
    test: &TestModule,
) -> Result<FunctionNames> {
    if inputs.source.info.sha256 != suite.manifest.source.sha256 {
        bail!(
            "suite {}: built from another source than the configured one ({}): its functions cannot be named; build it again",
            suite.manifest.suite_id,
            inputs.source.info.origin
        );
    }
    let (names_path, twin) = kept_paths(home, test);
    if let Ok(names) = crate::model::read_json::<FunctionNames>(&names_path)
        && names.module_sha256 == test.sha256
    {
        return Ok(names);
    }
    named_twin(inputs, home, test, &twin)?;
    let measured = std::fs::read(suite.module_path(test))?;
    let named = std::fs::read(&twin)?;
    let names = names_of_twin(&measured, &named).with_context(|| {
        format!(
            "{}: the named twin of {}",
            twin.display(),
            suite.module_path(test).display()
        )
    })?;
    let found = FunctionNames {
        module_sha256: test.sha256.clone(),
        names,
    };
    crate::model::write_json(&names_path, &found)?;
    Ok(found)
}

/// The copy of the source whose programs keep their symbols.
fn named_source(home: &Home, inputs: &Inputs) -> Result<super::source::SourceTree> {
    let patch = Patch {
        name: "named",
        origin: "symbols kept",
        key: "strip false",
        file: BUILD_FILE,
        apply: &keep_symbols,
    };
    patched(home, &inputs.source, &patch)
}

/// Builds the named twin of `test`: zig on the named source at the test's iteration count,
/// then wasm-opt with the suite's flags, `--strip-dwarf` first and `-g` to keep the names.
fn named_twin(
    inputs: &Inputs,
    home: &Home,
    test: &TestModule,
    twin: &std::path::Path,
) -> Result<()> {
    if twin.is_file() {
        return Ok(());
    }
    let named = Inputs {
        source: named_source(home, inputs)?,
        zig: inputs.zig.clone(),
        wasm_opt: inputs.wasm_opt.clone(),
        wasm_opt_flags: inputs.wasm_opt_flags.clone(),
        tests: inputs.tests.clone(),
    };
    eprintln!(
        "wasmgate: building the named twin of {} (zig build -Diterations={}, symbols kept)",
        test.name, test.iterations
    );
    let built = super::zig_build(&named, home, test.iterations)?;
    let input = built.join(format!("{}.wasm", test.name));
    std::fs::create_dir_all(home.dir("names"))?;
    let staging = twin.with_extension(format!("tmp{}", std::process::id()));
    crate::util::run_checked(
        std::process::Command::new(&inputs.wasm_opt.path)
            .arg("--strip-dwarf")
            .args(&inputs.wasm_opt_flags)
            .arg("-g")
            .arg(&input)
            .arg("-o")
            .arg(&staging),
        &format!("wasm-opt on the named twin of {}", test.name),
        crate::util::limits::STEP,
    )?;
    std::fs::rename(&staging, twin)?;
    Ok(())
}

/// `build.zig` with every `.strip = …,` setting made `false`.
fn keep_symbols(build_zig: &str) -> Result<String> {
    let mut kept = String::with_capacity(build_zig.len());
    let mut changed = 0;
    for line in build_zig.split_inclusive('\n') {
        match line.find(".strip = ") {
            Some(at) if line.trim_end().ends_with(',') => {
                let indent = &line[..at];
                let end = &line[line.trim_end().len()..];
                kept.push_str(&format!("{indent}.strip = false,{end}"));
                changed += 1;
            }
            _ => kept.push_str(line),
        }
    }
    if changed == 0 {
        bail!(
            "libsodium's {BUILD_FILE} is not as wasmgate knows it (no `.strip = ...,` setting): the functions of its modules cannot be named; turn evidence off (`compare.evidence.enabled: false`)"
        );
    }
    Ok(kept)
}

/// The function names of `named` when every section but the custom ones is `measured`'s.
fn names_of_twin(measured: &[u8], named: &[u8]) -> Result<BTreeMap<u32, String>> {
    let unreadable = |which: &str| anyhow::anyhow!("{which} is not a WebAssembly module");
    let measured = sections(measured).ok_or_else(|| unreadable("the measured module"))?;
    let named = sections(named).ok_or_else(|| unreadable("the named twin"))?;
    let meaning = |all: &[Section<'_>]| -> Vec<(u8, Vec<u8>)> {
        (all.iter().filter(|s| s.id != CUSTOM))
            .map(|s| (s.id, s.body.to_vec()))
            .collect()
    };
    if let Some(differs) = (meaning(&measured).iter().zip(meaning(&named).iter()))
        .find(|(a, b)| a != b)
        .map(|(a, _)| a.0)
        .or_else(|| (meaning(&measured).len() != meaning(&named).len()).then_some(0))
    {
        bail!(
            "differs from the measured module (section {differs}): naming it would name other code; evidence needs the same wasm-opt and zig for both"
        );
    }
    let section = named
        .iter()
        .find(|s| custom_name(s).is_some_and(|(name, _)| name == "name"))
        .ok_or_else(|| anyhow::anyhow!("has no name section"))?;
    let (_, body) = custom_name(section).ok_or_else(|| anyhow::anyhow!("a bad name section"))?;
    function_name_map(body).ok_or_else(|| anyhow::anyhow!("its name section cannot be read"))
}

/// The function names subsection (id 1) of a name section's body.
fn function_name_map(mut body: &[u8]) -> Option<BTreeMap<u32, String>> {
    while let Some((&id, rest)) = body.split_first() {
        let (size, rest) = leb128(rest)?;
        let size = usize::try_from(size).ok()?;
        let (content, after) = (rest.get(..size)?, rest.get(size..)?);
        if id == 1 {
            return name_map(content);
        }
        body = after;
    }
    Some(BTreeMap::new())
}

/// A name map: a count, then (index, name) pairs.
fn name_map(content: &[u8]) -> Option<BTreeMap<u32, String>> {
    let (count, mut rest) = leb128(content)?;
    let mut names = BTreeMap::new();
    for _ in 0..count {
        let (index, after) = leb128(rest)?;
        let (name, after) = take_name(after)?;
        names.insert(u32::try_from(index).ok()?, bounded(name));
        rest = after;
    }
    Some(names)
}

/// A name as reports may show it: printable, and not longer than `NAME_LIMIT` characters.
fn bounded(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !c.is_control()).collect();
    match clean.char_indices().nth(NAME_LIMIT) {
        Some((at, _)) => format!("{}…", &clean[..at]),
        None => clean,
    }
}

/// Where the names of a test's module and its named twin are kept: by the measured module's
/// sha256, so a rebuilt module is named again.
pub fn kept_paths(home: &Home, test: &TestModule) -> (PathBuf, PathBuf) {
    let stem = format!("{}-{}", test.name, crate::util::short_hash(&test.sha256));
    let dir = home.dir("names");
    (
        dir.join(format!("{stem}.json")),
        dir.join(format!("{stem}.wasm")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module of a type section, a code section and custom sections after them.
    fn module(code: &[u8], custom: &[(&str, &[u8])]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([1, 4, 1, 0x60, 0, 0]);
        bytes.push(10);
        bytes.push(code.len() as u8);
        bytes.extend(code);
        for (name, body) in custom {
            let mut section = vec![name.len() as u8];
            section.extend(name.as_bytes());
            section.extend(*body);
            bytes.push(0);
            bytes.push(section.len() as u8);
            bytes.extend(section);
        }
        bytes
    }

    /// A name section naming functions 0 and 3.
    fn name_section() -> Vec<u8> {
        let mut names = vec![2];
        names.extend([0, 4]);
        names.extend(b"main");
        names.extend([3, 11]);
        names.extend(b"fe25519_mul");
        let mut body = vec![1, names.len() as u8];
        body.extend(names);
        body
    }

    #[test]
    fn a_twin_with_the_same_code_names_its_functions() {
        let measured = module(&[1, 2, 3], &[]);
        let named = module(
            &[1, 2, 3],
            &[("name", &name_section()), ("producers", b"x")],
        );
        let names = names_of_twin(&measured, &named).unwrap();
        assert_eq!(names.get(&3).map(String::as_str), Some("fe25519_mul"));
        assert_eq!(names.get(&0).map(String::as_str), Some("main"));
    }

    #[test]
    fn a_twin_whose_code_differs_is_refused() {
        let measured = module(&[1, 2, 3], &[]);
        let named = module(&[1, 2, 4], &[("name", &name_section())]);
        let refused = names_of_twin(&measured, &named).unwrap_err().to_string();
        assert!(
            refused.contains("differs from the measured module (section 10)"),
            "{refused}"
        );
        let unnamed = module(&[1, 2, 3], &[]);
        let refused = names_of_twin(&measured, &unnamed).unwrap_err().to_string();
        assert_eq!(refused, "has no name section");
    }

    #[test]
    fn every_strip_setting_is_turned_off_and_a_build_file_without_one_is_refused() {
        let build = "    .strip = optimize != debug_mode and !mingw,\n  x\n        .strip = optimize != debug_mode,\n";
        let kept = keep_symbols(build).unwrap();
        assert_eq!(kept, "    .strip = false,\n  x\n        .strip = false,\n");
        let refused = keep_symbols("pub fn build() {}\n").unwrap_err().to_string();
        assert!(refused.contains("no `.strip = ...,` setting"), "{refused}");
    }

    #[test]
    fn names_are_bounded_and_printable() {
        assert_eq!(bounded("a\u{1b}[31mb"), "a[31mb");
        let long = "x".repeat(500);
        assert_eq!(bounded(&long).chars().count(), NAME_LIMIT + 1);
    }
}
