//! The round policy: which pairs run next, on how many workers, within the budget. Pure, so
//! the scheduler follows it while a run goes and the injection replay (`calibrate`) follows it
//! on recorded pairs: the proof of the gate measures the policy that is shipped, and a change
//! to the policy is made once.
//!
//! - Each round runs one block (one pair of samples) of every test still open. While fewer
//!   tests are open than there are workers, each open test also gets the blocks of the next
//!   rounds, as far as the stopping rule could ask for them, so every worker takes a pair
//!   rather than wait for one worker's (`next_rounds`).
//! - A worker takes the round's next block when it is free, and starts it only when its
//!   expected wall time ends within the budget; a block that does not fit is skipped and the
//!   run ends after the round (`ends_within`, `replay_round`).

use crate::config::RunConfig;
use crate::stats::stopping::Stopping;
use std::time::Duration;

/// The stopping rule of a run's checked sampling settings; `min_effect` is the comparison's.
pub fn stopping_rule(sampling: &RunConfig, min_effect: f64) -> Stopping {
    Stopping {
        min_samples: sampling.samples,
        max_samples: sampling.max_samples,
        precision: sampling.precision,
        min_effect,
        counts: !sampling.measure.is_time(),
    }
}

/// A test the stopping rule keeps open at the start of a round.
#[derive(Debug, Clone, Copy)]
pub struct OpenTest {
    /// Its samples (or pairs) so far.
    pub taken: usize,
    /// How many more rounds it may take at most: a pair's disturbed samples left before it
    /// measures no more, or a replay's recorded pairs left.
    pub room: usize,
}

/// How many rounds of blocks each open test runs next, in the order given: at least one.
pub fn next_rounds(open: &[OpenTest], workers: usize, stopping: &Stopping) -> Vec<usize> {
    let at_once = rounds_at_once(workers, open.len()) as usize;
    (open.iter())
        .map(|test| stopping.rounds_for(test.taken, at_once, test.room))
        .collect()
}

/// How many rounds run at once: one, unless fewer tests are open than there are workers; then
/// as many as keep every worker busy (each open test once per round).
pub fn rounds_at_once(workers: usize, open: usize) -> u32 {
    u32::try_from(workers / open.max(1)).map_or(1, |rounds| rounds.max(1))
}

/// Whether a block expected to take `needed`, started `elapsed` into the run, ends within the
/// budget (always, without one). The budget is a hard bound: a block runs whole or not at
/// all, since half a block has no pairs.
pub fn ends_within(elapsed: Duration, needed: Duration, budget: Option<Duration>) -> bool {
    budget.is_none_or(|budget| elapsed.checked_add(needed).is_some_and(|end| end <= budget))
}

/// A block's expected wall time from a measured one in seconds. A measured time is input (a
/// resumed journal, a recorded A/A run): one too large to be a duration never fits a budget,
/// and one that is negative or not a number tells nothing.
pub fn wall_from_seconds(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(if seconds > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

/// One round replayed on simulated workers (`replay_round`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedRound {
    /// Per block, whether it started (and so gave its pair).
    pub started: Vec<bool>,
    /// The round's wall time: until its last worker was done.
    pub wall: Duration,
    /// A block did not fit in the budget: the run ends after this round.
    pub budget_spent: bool,
}

/// A round of blocks, each with its expected wall time, on `workers` workers, as the
/// scheduler runs it: each block goes to the first worker free, in the round's order, and
/// starts only if it `ends_within` the budget; the next round starts when the last worker is
/// done. Not the round's total divided by the workers: that would credit the last rounds,
/// where a few tests that look changed are still open, with workers that have nothing to do.
pub fn replay_round(
    blocks: &[Duration],
    workers: usize,
    elapsed: Duration,
    budget: Option<Duration>,
) -> ReplayedRound {
    let mut busy_until = vec![elapsed; workers.max(1)];
    let mut started = Vec::with_capacity(blocks.len());
    for &needed in blocks {
        let first_free = busy_until.iter_mut().min().expect("at least one worker");
        let fits = ends_within(*first_free, needed, budget);
        if fits {
            *first_free = first_free.saturating_add(needed);
        }
        started.push(fits);
    }
    let end = busy_until.into_iter().max().unwrap_or(elapsed);
    ReplayedRound {
        budget_spent: started.contains(&false),
        started,
        wall: end.saturating_sub(elapsed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    fn wall(blocks: &[u64], workers: usize) -> Duration {
        replay_round(&ms(blocks), workers, Duration::ZERO, None).wall
    }

    #[test]
    fn a_round_gives_each_block_to_the_first_free_worker() {
        assert_eq!(wall(&[1, 1, 1, 1], 1), Duration::from_millis(4));
        assert_eq!(wall(&[1, 1, 1, 1], 2), Duration::from_millis(2));
        // A long block first: the other worker takes the rest meanwhile.
        assert_eq!(wall(&[3, 1, 1, 1], 2), Duration::from_millis(3));
        // Last: the long block starts only when a worker is free.
        assert_eq!(wall(&[1, 1, 1, 3], 2), Duration::from_millis(4));
        // One test still open keeps one worker busy; the other has nothing to do.
        assert_eq!(wall(&[2], 2), Duration::from_millis(2));
    }

    #[test]
    fn a_block_that_would_end_past_the_budget_is_skipped_and_ends_the_run() {
        let budget = Some(Duration::from_millis(5));
        // 3 ms in: on one worker, the 1 ms block fits, the 2 ms one after it does not, and a
        // later 1 ms block still does, as a worker of the scheduler would take it.
        let round = replay_round(&ms(&[1, 2, 1]), 1, Duration::from_millis(3), budget);
        assert_eq!(round.started, vec![true, false, true]);
        assert!(round.budget_spent);
        assert_eq!(round.wall, Duration::from_millis(2));
        // Everything fits: the run goes on.
        let round = replay_round(&ms(&[1, 1]), 2, Duration::ZERO, budget);
        assert_eq!(round.started, vec![true, true]);
        assert!(!round.budget_spent);
    }

    #[test]
    fn a_block_fits_when_it_ends_by_the_budget_and_always_without_one() {
        let at = |elapsed, needed, budget: Option<u64>| {
            ends_within(
                Duration::from_millis(elapsed),
                Duration::from_millis(needed),
                budget.map(Duration::from_millis),
            )
        };
        assert!(at(3, 2, Some(5)));
        assert!(!at(4, 2, Some(5)));
        assert!(at(u64::MAX, 1, None));
        // An expected time too large to add never fits a budget.
        assert!(!ends_within(
            Duration::MAX,
            Duration::MAX,
            Some(Duration::MAX)
        ));
    }

    #[test]
    fn idle_workers_take_the_next_rounds_of_the_few_tests_still_open() {
        let stopping = Stopping {
            min_samples: 5,
            max_samples: 20,
            precision: 0.01,
            min_effect: 0.02,
            counts: false,
        };
        let open = |taken, room| OpenTest { taken, room };
        // Two workers, one test open: two rounds at once.
        assert_eq!(next_rounds(&[open(6, 20)], 2, &stopping), vec![2]);
        // As many tests as workers: one round each.
        assert_eq!(
            next_rounds(&[open(6, 20), open(6, 20)], 2, &stopping),
            vec![1, 1]
        );
        // Never past the maximum, nor past the room left; at least one.
        assert_eq!(next_rounds(&[open(19, 20)], 4, &stopping), vec![1]);
        assert_eq!(next_rounds(&[open(6, 2)], 4, &stopping), vec![2]);
        assert_eq!(next_rounds(&[open(6, 0)], 4, &stopping), vec![1]);
        assert_eq!(rounds_at_once(2, 1), 2);
        assert_eq!(rounds_at_once(2, 3), 1);
        assert_eq!(rounds_at_once(0, 0), 1);
    }
}
