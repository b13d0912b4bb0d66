//! The random inputs of the benchmark programs. libsodium's harness draws message lengths,
//! keys and points from random bytes the system seeds at every start, so in a few tests the
//! work of an iteration depends on the draw: `box_easy2`'s message length, drawn once per
//! process, spread its time per iteration by 75 % between the two samples of a pair, and
//! `secretbox_easy2`'s by 42 %: no runtime change can be seen through that. A suite built with
//! `build.random: fixed` (the default, and always under the instructions measure) draws from a
//! fixed stream (`helpers/fixed-random.h`) put into a copy of the verified source: every
//! process, base and head alike, does the same work.

use super::source::SourceTree;
use crate::toolchain::Home;
use anyhow::Result;

/// The harness file whose benchmark `main` seeds the random bytes.
const HARNESS: &str = "test/default/cmptest.h";
/// The line of the benchmark `main` that chooses the system-seeded generator.
const SEEDED: &str = "randombytes_set_implementation(&randombytes_salsa20_implementation);";

/// A copy of `source` whose benchmark harness draws from the fixed stream, made once (staged,
/// then renamed into place). Its `sha256` names the change, so every cache keyed by the source
/// (zig's outputs, the suites) tells the two apart.
pub fn with_fixed_random(home: &Home, source: &SourceTree) -> Result<SourceTree> {
    let patch = super::patched::Patch {
        name: "fixed-random",
        origin: "random bytes fixed",
        key: crate::toolchain::helpers::FIXED_RANDOM,
        file: HARNESS,
        apply: &fix_random,
    };
    super::patched::patched(home, source, &patch)
}

/// The harness with the fixed stream defined before its benchmark `main` and chosen in it.
pub fn fix_random(harness: &str) -> Result<String> {
    let refuse = || {
        anyhow::anyhow!(
            "libsodium's {HARNESS} is not as wasmgate knows it (no `#ifdef BENCHMARKS` main choosing `randombytes_salsa20_implementation`): wasmgate cannot fix its random bytes; set `build.random: system` and measure time, or use a libsodium release wasmgate supports"
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
}
