//! The parallelism a run achieved: its samples' wall times over its own, overall and per
//! worker. Each worker runs one sample at a time, so a worker reaches at most 1 and a run at
//! most its number of workers; well below that, workers waited (for a core lock, between
//! rounds, on the scheduler) instead of measuring, and the run took longer than it had to.

use crate::model::Sample;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Parallelism {
    /// Every sample's wall time over the run's.
    pub overall: f64,
    /// Per worker, by the core it was pinned to (`None`: unpinned), its samples' wall time
    /// over the run's.
    pub workers: Vec<(Option<usize>, f64)>,
}

/// The parallelism of `samples`, taken by one worker per entry of `cores` in `wall_seconds`;
/// `None` when no time passed, so there is nothing to divide by.
pub fn parallelism(
    samples: &[Sample],
    cores: &[Option<usize>],
    wall_seconds: f64,
) -> Option<Parallelism> {
    if !(wall_seconds > 0.0 && wall_seconds.is_finite()) {
        return None;
    }
    // A wall time a damaged journal made negative or not a number says nothing of the run.
    let busy = |core: Option<Option<usize>>| -> f64 {
        // Folded from +0: the sum of no samples would be -0, shown as "-0.00".
        let ms = (samples.iter())
            .filter(|s| core.is_none_or(|core| s.core == core))
            .map(|s| s.wall_ms)
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .fold(0.0, |sum, ms| sum + ms);
        ms / 1000.0 / wall_seconds
    };
    Some(Parallelism {
        overall: busy(None),
        workers: cores.iter().map(|&core| (core, busy(Some(core)))).collect(),
    })
}

impl fmt::Display for Parallelism {
    /// "parallelism 1.93 on 2 cores (core 0: 0.97, core 1: 0.96)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parallelism {:.2}", self.overall)?;
        match self.workers.as_slice() {
            [(Some(core), _)] => write!(f, " on core {core}"),
            [(None, _)] => write!(f, " on one unpinned worker"),
            workers => {
                let each: Vec<String> = (workers.iter())
                    .map(|(core, share)| match core {
                        Some(core) => format!("core {core}: {share:.2}"),
                        None => format!("unpinned: {share:.2}"),
                    })
                    .collect();
                write!(f, " on {} cores ({})", workers.len(), each.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::results_with;

    /// Samples of these wall times, each on its core.
    fn samples(walls: &[(Option<usize>, f64)]) -> Vec<Sample> {
        let template = results_with(&[("sign", "a", Some(100))]).samples[0].clone();
        (walls.iter())
            .map(|&(core, wall_ms)| Sample {
                core,
                wall_ms,
                ..template.clone()
            })
            .collect()
    }

    #[test]
    fn parallelism_is_the_samples_wall_time_over_the_runs() {
        let two = samples(&[
            (Some(0), 600.0),
            (Some(1), 500.0),
            (Some(0), 370.0),
            (Some(1), 460.0),
        ]);
        let achieved = parallelism(&two, &[Some(0), Some(1)], 1.0).unwrap();
        assert!((achieved.overall - 1.93).abs() < 1e-9, "{achieved:?}");
        assert_eq!(
            achieved.to_string(),
            "parallelism 1.93 on 2 cores (core 0: 0.97, core 1: 0.96)"
        );
        // A worker that took nothing shows as idle; a wall time no process has is left out.
        let idle = samples(&[(Some(3), 900.0), (Some(3), f64::NAN), (Some(3), -5.0)]);
        let achieved = parallelism(&idle, &[Some(2), Some(3)], 1.0).unwrap();
        assert_eq!(
            achieved.to_string(),
            "parallelism 0.90 on 2 cores (core 2: 0.00, core 3: 0.90)"
        );
    }

    #[test]
    fn one_worker_is_named_by_its_core_or_as_unpinned() {
        let one = samples(&[(Some(3), 490.0), (Some(3), 490.0)]);
        let achieved = parallelism(&one, &[Some(3)], 1.0).unwrap();
        assert_eq!(achieved.to_string(), "parallelism 0.98 on core 3");
        let unpinned = samples(&[(None, 250.0)]);
        let achieved = parallelism(&unpinned, &[None], 0.5).unwrap();
        assert_eq!(
            achieved.to_string(),
            "parallelism 0.50 on one unpinned worker"
        );
        assert_eq!(parallelism(&one, &[Some(3)], 0.0), None);
        assert_eq!(parallelism(&one, &[Some(3)], f64::NAN), None);
    }
}
