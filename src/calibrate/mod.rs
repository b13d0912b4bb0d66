//! Calibrate stage: fit the suite to this machine and prove the gate on it. `plan` chooses each
//! test's iteration count, and `runner` keeps the plan calibrated on this machine (for
//! `build.plan: runner`); `aa` measures a runtime against itself (false alarms, noise); and
//! `inject` replays those A/A samples with known slowdowns (`injection`) to count what the
//! gate finds and what it calls wrongly.

pub mod aa;
pub mod inject;
pub mod injection;
pub mod plan;
pub mod runner;
