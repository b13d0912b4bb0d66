//! The configuration: one YAML file, with an embedded default. This is the only module that
//! knows serde_yaml; the rest of the program sees plain structs.
//!
//! `schema` holds the file's types, `sampling` where each sampling setting came from and its
//! checks, `load` reading and validating a file, `plan` the iteration plan.

mod load;
mod plan;
mod sampling;
mod schema;

pub use load::*;
pub use plan::*;
pub use sampling::*;
pub use schema::*;

#[cfg(test)]
mod tests;
