//! The shared data model: what one stage writes and the next one reads, as versioned JSON.
//! Serde types, one family a file, and the two things every document needs: reading and
//! writing it as JSON (`json.rs`) and replacing a file atomically (`files.rs`).

pub mod baseline;
pub mod bisect;
pub mod comparison;
pub mod evidence;
pub mod files;
#[cfg(test)]
pub mod fixtures;
pub mod json;
pub mod machine;
pub mod nightly;
pub mod results;
pub mod suite;

pub use baseline::*;
pub use comparison::*;
#[cfg(test)]
pub use files::file_mode;
pub use files::{
    READ_LIMIT, check_destination, check_not_an_input, copy_atomic, is_standard_output, read_text,
    write_atomic,
};
pub use json::*;
pub use machine::*;
pub use results::*;
pub use suite::*;

/// Version of every JSON document wasmgate writes; bumped on an incompatible change.
pub const SCHEMA_VERSION: u32 = 1;
