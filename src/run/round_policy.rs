//! The dispatch policy: which test's next block a free worker takes, within the budget. Pure,
//! so the scheduler follows it while a run goes and the injection replay (`calibrate`) follows
//! it on recorded pairs: the proof of the gate measures the policy that is shipped, and a
//! change to the policy is made once.
//!
//! - Blocks are handed out in passes: each pass holds every test still open once, in a
//!   shuffled order, and the next pass is made when a worker finds this one empty. There is no
//!   barrier between passes: a worker that ends a block takes the next at once, so no core
//!   waits for the slowest block of a round (`Dispatch`).
//! - Whether a test is open is asked when its block is handed out, not when its pass was made:
//!   a test decided meanwhile takes no more. A pass holds the open tests with no block
//!   running; only when there is none does a test get a second block at once (as far as the
//!   stopping rule could ask for them), so every worker takes a block rather than wait while
//!   the last few tests are open. Once the rule says a test is done, it stays done.
//! - A block starts only when its expected wall time ends within the budget; a block that
//!   does not fit is skipped and no new pass is made (`ends_within`).

use crate::config::{CompareConfig, Purpose, RunConfig};
use crate::stats::stopping::{Goal, Stopping, VerdictRule};
use std::collections::VecDeque;
use std::time::Duration;

/// The stopping rule of a run's checked sampling settings, for what its samples are for;
/// `family` is how many comparisons the verdicts judge together (tests times heads).
pub fn stopping_rule(
    sampling: &RunConfig,
    compare: &CompareConfig,
    purpose: Purpose,
    family: usize,
) -> Stopping {
    let goal = match purpose {
        Purpose::Report => Goal::Precision,
        Purpose::Verdicts => Goal::Verdict(VerdictRule {
            confidence: compare.confidence,
            alpha: compare.alpha,
            family,
            paired_test: compare.paired_test,
        }),
    };
    Stopping {
        min_samples: sampling.samples,
        max_samples: sampling.max_samples,
        precision: sampling.precision,
        min_effect: compare.min_effect_of(sampling.measure),
        counts: !sampling.measure.is_time(),
        goal,
    }
}

/// A test the stopping rule keeps open.
#[derive(Debug, Clone, Copy)]
pub struct OpenTest {
    /// Its samples (or pairs) so far.
    pub taken: usize,
    /// How many more blocks it may take at most: a pair's disturbed samples left before it
    /// measures no more, or a replay's recorded pairs left.
    pub room: usize,
}

/// The blocks a test takes: at least `least` (the rule's minimum), at most `most`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocks {
    pub least: usize,
    pub most: usize,
}

/// Which test's block each free worker takes next.
#[derive(Debug, Clone)]
pub struct Dispatch {
    /// The current pass's tests not yet handed out, in their shuffled order.
    queue: VecDeque<usize>,
    /// Per test, its blocks handed out and not yet ended.
    running: Vec<usize>,
    /// Per test, whether the stopping rule said it is done.
    done: Vec<bool>,
    /// The passes made so far, counted from `first_pass`; each is shuffled by (seed, pass).
    pass: u64,
    seed: u64,
    /// A block did not fit in the budget: no new pass is made.
    pub budget_spent: bool,
}

impl Dispatch {
    /// The dispatch of `tests` tests; a resumed run gives its next pass as `first_pass`, so
    /// its shuffles continue the sequence.
    pub fn new(tests: usize, seed: u64, first_pass: u64) -> Dispatch {
        Dispatch {
            queue: VecDeque::new(),
            running: vec![0; tests],
            done: vec![false; tests],
            pass: first_pass,
            seed,
            budget_spent: false,
        }
    }

    /// The test whose block the free worker runs next, or `None`: nothing can start now (wait
    /// for a running block to end, or end the run when none is running). `open` is the
    /// stopping rule on a test's results so far (`None`: done); `bounds` the blocks it asks
    /// for at least and could ask for at most (`Stopping::blocks`); `fits` whether the test's
    /// block, started now, ends within the budget.
    pub fn next(
        &mut self,
        open: impl Fn(usize) -> Option<OpenTest>,
        bounds: Blocks,
        fits: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        loop {
            let test = match self.queue.pop_front() {
                Some(test) => test,
                None if self.budget_spent => return None,
                None => {
                    self.new_pass(&open, bounds);
                    self.queue.pop_front()?
                }
            };
            if !self.wants_block(test, &open, bounds) {
                continue;
            }
            if !fits(test) {
                self.budget_spent = true;
                continue;
            }
            self.running[test] += 1;
            return Some(test);
        }
    }

    /// A block of `test` ended (measured, failed, or cut short).
    pub fn ended(&mut self, test: usize) {
        self.running[test] = self.running[test].saturating_sub(1);
    }

    /// Blocks handed out and not yet ended.
    pub fn running(&self) -> usize {
        self.running.iter().sum()
    }

    /// Whether the stopping rule said `test` is done.
    pub fn is_done(&self, test: usize) -> bool {
        self.done[test]
    }

    /// The passes made so far (the first one counted from `first_pass`).
    pub fn pass(&self) -> u64 {
        self.pass
    }

    /// Every test that wants a block and has none running, once, in an order shuffled by
    /// (seed, pass); when every such test has a block running, those that have room for
    /// another. A test's second block at once is a guess that its first will not decide it,
    /// so it is taken only when no other test is waiting.
    fn new_pass(&mut self, open: &impl Fn(usize) -> Option<OpenTest>, bounds: Blocks) {
        let wanting: Vec<usize> = (0..self.running.len())
            .filter(|&test| self.wants_block(test, open, bounds))
            .collect();
        let idle: Vec<usize> = (wanting.iter().copied())
            .filter(|&test| self.running[test] == 0)
            .collect();
        let mut tests = if idle.is_empty() { wanting } else { idle };
        let mut rng =
            fastrand::Rng::with_seed(self.seed ^ self.pass.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.shuffle(&mut tests);
        self.pass += 1;
        self.queue.extend(tests);
    }

    /// Whether `test` is open and has room for one more block beside those running: never
    /// past what the rule could ask for, nor past the room its runtimes have left. Below its
    /// minimum, a second block at once only while the minimum still needs it: the blocks
    /// running may complete the minimum, and then the rule decides (one count a side settles
    /// a deterministic test, and a second would only delay the run's end).
    fn wants_block(
        &mut self,
        test: usize,
        open: &impl Fn(usize) -> Option<OpenTest>,
        bounds: Blocks,
    ) -> bool {
        if self.done[test] {
            return false;
        }
        let Some(state) = open(test) else {
            self.done[test] = true;
            return false;
        };
        let running = self.running[test];
        let with_running = state.taken + running;
        let guess_allowed = with_running < bounds.least || state.taken >= bounds.least;
        running == 0 || (guess_allowed && with_running < bounds.most && running < state.room)
    }
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

/// A run replayed on simulated workers (`replay`).
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// Per test, the blocks it took.
    pub taken: Vec<usize>,
    /// Until the last worker was done.
    pub wall: Duration,
    /// A block did not fit in the budget.
    pub budget_spent: bool,
}

/// The run the scheduler would make of tests whose blocks take `walls`, on `workers` workers:
/// each free worker takes `Dispatch::next` at once, and a block's result is known when it
/// ends. `open(test, taken)` is the stopping rule on the test's first `taken` blocks.
pub fn replay(
    walls: &[Duration],
    workers: usize,
    budget: Option<Duration>,
    seed: u64,
    bounds: Blocks,
    open: impl Fn(usize, usize) -> Option<OpenTest>,
) -> Replayed {
    let mut dispatch = Dispatch::new(walls.len(), seed, 0);
    let mut taken = vec![0usize; walls.len()];
    // (end, test) of each running block.
    let mut running: Vec<(Duration, usize)> = Vec::new();
    let mut now = Duration::ZERO;
    loop {
        while running.len() < workers.max(1) {
            let next = dispatch.next(
                |test| open(test, taken[test]),
                bounds,
                |test| ends_within(now, walls[test], budget),
            );
            let Some(test) = next else { break };
            running.push((now.saturating_add(walls[test]), test));
        }
        let Some(first) = (0..running.len()).min_by_key(|&i| running[i]) else {
            return Replayed {
                taken,
                wall: now,
                budget_spent: dispatch.budget_spent,
            };
        };
        let (end, test) = running.swap_remove(first);
        now = end;
        taken[test] += 1;
        dispatch.ended(test);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    /// A replay in which test `t` wants `wanted[t]` blocks (and has room for them).
    fn replayed(walls: &[u64], wanted: &[usize], workers: usize, budget: Option<u64>) -> Replayed {
        let most = wanted.iter().copied().max().unwrap_or(1);
        replay(
            &ms(walls),
            workers,
            budget.map(Duration::from_millis),
            7,
            Blocks { least: 1, most },
            |test, taken| (taken < wanted[test]).then_some(OpenTest { taken, room: most }),
        )
    }

    #[test]
    fn a_worker_takes_the_next_block_when_its_own_ends_without_waiting_for_the_others() {
        // A 3 ms test and a 1 ms one, three blocks each, on two workers: in rounds with a
        // barrier, 3 × 3 ms; without one, the fast test's worker also takes the slow test's
        // blocks, and the run takes about half of the 12 ms of work.
        let run = replayed(&[3, 1], &[3, 3], 2, None);
        assert_eq!(run.taken, vec![3, 3]);
        assert!(run.wall < Duration::from_millis(9), "{run:?}");
        assert!(run.wall >= Duration::from_millis(6), "{run:?}");
        // One worker: every block, one after another.
        let run = replayed(&[3, 1], &[3, 3], 1, None);
        assert_eq!(run.wall, Duration::from_millis(12));
    }

    #[test]
    fn one_test_open_takes_every_worker_but_never_more_blocks_than_it_could_want() {
        let run = replayed(&[2], &[5], 2, None);
        assert_eq!(run.taken, vec![5]);
        // Two at once, twice, then one.
        assert_eq!(run.wall, Duration::from_millis(6));
        // A test decided after two blocks takes no third on one worker; the other goes on.
        let run = replayed(&[1, 1], &[2, 4], 1, None);
        assert_eq!(run.taken, vec![2, 4]);
    }

    #[test]
    fn a_block_that_would_end_past_the_budget_is_not_started_and_ends_the_run() {
        let run = replayed(&[1, 2], &[10, 10], 1, Some(7));
        assert!(run.budget_spent);
        assert!(run.wall <= Duration::from_millis(7), "{run:?}");
        assert!(run.taken.iter().sum::<usize>() >= 4, "{run:?}");
        let run = replayed(&[1, 2], &[2, 2], 2, Some(100));
        assert!(!run.budget_spent);
        assert_eq!(run.taken, vec![2, 2]);
    }

    #[test]
    fn a_dispatch_never_runs_a_test_past_its_room() {
        let mut dispatch = Dispatch::new(1, 1, 0);
        let bounds = Blocks { least: 3, most: 10 };
        let open = |_| Some(OpenTest { taken: 0, room: 2 });
        assert_eq!(dispatch.next(open, bounds, |_| true), Some(0));
        assert_eq!(dispatch.next(open, bounds, |_| true), Some(0));
        assert_eq!(dispatch.next(open, bounds, |_| true), None, "room for two");
        assert_eq!(dispatch.running(), 2);
        dispatch.ended(0);
        assert_eq!(dispatch.next(open, bounds, |_| true), Some(0));
        // Once the rule says done, a test stays done.
        assert_eq!(dispatch.next(|_| None, bounds, |_| true), None);
        assert!(dispatch.is_done(0));
        assert_eq!(dispatch.next(open, bounds, |_| true), None);
    }

    #[test]
    fn below_its_minimum_a_test_runs_no_block_the_minimum_does_not_need() {
        // One sample a side is the minimum (counts): while the first runs, a second worker
        // does not take another of the same test; once it is in and the rule wants more, it
        // may.
        let bounds = Blocks { least: 1, most: 12 };
        let mut dispatch = Dispatch::new(1, 1, 0);
        let first = |_| Some(OpenTest { taken: 0, room: 12 });
        assert_eq!(dispatch.next(first, bounds, |_| true), Some(0));
        assert_eq!(dispatch.next(first, bounds, |_| true), None);
        let more = |_| Some(OpenTest { taken: 1, room: 12 });
        assert_eq!(dispatch.next(more, bounds, |_| true), Some(0));
        // With a minimum of 8, the first blocks all go at once.
        let bounds = Blocks {
            least: 8,
            most: 100,
        };
        let mut dispatch = Dispatch::new(1, 1, 0);
        let fresh = |_| {
            Some(OpenTest {
                taken: 0,
                room: 100,
            })
        };
        for _ in 0..4 {
            assert_eq!(dispatch.next(fresh, bounds, |_| true), Some(0));
        }
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
}
