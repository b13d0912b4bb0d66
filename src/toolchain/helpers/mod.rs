//! Files shipped inside wasmgate for runtimes to use: the Node.js WASI runner, and the C
//! sources and build scripts that turn wasm3's and wasm2c's registry packages into runtimes
//! (one WASI layer, `wasi/`, serves both through thin bindings).
//! Templates name one as `{helper:NAME}` (its path) or a folder of them as `{helpers:DIR}`.

use super::Home;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// A WASI program that prints "1" and exits 0, like a benchmark module (see tiny.wat): what
/// `setup` runs on every runtime to show it works at all.
pub const TINY_MODULE: &[u8] = include_bytes!("tiny.wasm");

/// A WASI program that runs eight xorshift generators ten million rounds, then prints "1"
/// (see spin.wat): what the AOT guard times compiled and interpreted.
pub const SPIN_MODULE: &[u8] = include_bytes!("spin.wasm");

/// The benchmark programs' random bytes (`build.random: fixed`, and always under the
/// instructions measure): a fixed stream the build inserts into libsodium's benchmark harness
/// (see the file, and `build::fixed_random`). Not a runtime's helper.
pub const FIXED_RANDOM: &str = include_str!("fixed-random.h");

const HELPERS: &[(&str, &str)] = &[
    ("node-wasi.mjs", include_str!("node-wasi.mjs")),
    ("wasi/wasi-core.h", include_str!("wasi/wasi-core.h")),
    ("wasi/wasi-core.c", include_str!("wasi/wasi-core.c")),
    ("wasm3/main.c", include_str!("wasm3/main.c")),
    ("wasm3/wasm3-build.sh", include_str!("wasm3/wasm3-build.sh")),
    ("wasm2c/main.c", include_str!("wasm2c/main.c")),
    ("wasm2c/wasi.c", include_str!("wasm2c/wasi.c")),
    ("wasm2c/wasm2c-aot.sh", include_str!("wasm2c/wasm2c-aot.sh")),
    ("wasmedge/fmt9.patch", include_str!("wasmedge/fmt9.patch")),
];

/// Replaces every `{helper:NAME}` and `{helpers:DIR}` in `arg` with a path in the cache.
pub fn fill(arg: &str, home: &Home) -> Result<String> {
    let mut filled = arg.to_string();
    for (opening, as_dir) in [("{helper:", false), ("{helpers:", true)] {
        while let Some(start) = filled.find(opening) {
            let end = filled[start..]
                .find('}')
                .map(|e| start + e)
                .with_context(|| format!("unclosed {opening} in a runtime template"))?;
            let name = &filled[start + opening.len()..end];
            let path = install(home, name, as_dir)?;
            filled.replace_range(start..=end, &path.to_string_lossy());
        }
    }
    Ok(filled)
}

/// Writes all the helpers into the cache, in a folder named by the hash of them all (so a
/// new wasmgate never mixes its files with an old one's, and a folder's scripts find their
/// siblings, such as the shared WASI layer), and returns the path of `name`.
fn install(home: &Home, name: &str, as_dir: bool) -> Result<PathBuf> {
    let found = HELPERS.iter().any(|(n, _)| match as_dir {
        true => n.starts_with(&format!("{name}/")),
        false => *n == name,
    });
    if !found {
        let known: Vec<&str> = HELPERS.iter().map(|(n, _)| *n).collect();
        anyhow::bail!(
            "unknown helper `{name}` in a runtime template; known: {}",
            known.join(", ")
        );
    }
    let all: String = HELPERS.iter().map(|(n, c)| format!("{n}\n{c}")).collect();
    let root = home.dir("helpers").join(crate::util::short_hash(&all));
    for (file, content) in HELPERS {
        let path = root.join(file);
        if !path.exists() {
            crate::model::write_atomic(&path, content.as_bytes())?;
        }
    }
    Ok(root.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_folders_of_helpers_are_written_once() {
        let home = Home::at(tempfile::tempdir().unwrap().keep());
        let filled = fill(
            "{helpers:wasm3}/wasm3-build.sh {helper:node-wasi.mjs}",
            &home,
        )
        .unwrap();
        let (script, runner) = filled.split_once(' ').unwrap();
        assert!(std::path::Path::new(script).is_file());
        assert!(std::path::Path::new(runner).is_file());
        let dir = std::path::Path::new(script).parent().unwrap();
        assert!(dir.join("main.c").is_file());
        let error = fill("{helper:nothing.js}", &home).unwrap_err().to_string();
        assert!(error.contains("unknown helper `nothing.js`"), "{error}");
    }
}
