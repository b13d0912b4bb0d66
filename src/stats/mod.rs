//! Distribution-free statistics for timing samples (see docs/statistics.md for the method and
//! its references). Timings are compared on a log scale, so a change is a ratio.

pub mod chain;
pub mod stopping;

pub use crate::model::PairedTest;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Head over base for one test: the Hodges–Lehmann estimate of the ratio, its confidence
/// interval from the Mann–Whitney statistic, and the Mann–Whitney p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioEstimate {
    pub ratio: f64,
    /// `None` when there are too few samples for an interval at this confidence.
    pub interval: Option<(f64, f64)>,
    pub p_value: f64,
    /// The standard error of the log-ratio and its degrees of freedom, when the interval comes
    /// from them (the trimmed t); `None` for the rank-based intervals.
    pub standard_error: Option<StandardError>,
}

/// A log-ratio's standard error and the degrees of freedom of its t distribution (infinite:
/// normal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StandardError {
    pub value: f64,
    pub degrees_of_freedom: f64,
}

/// Why no estimate could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoEstimate {
    /// A side has no sample.
    Empty,
    /// A value is zero or negative: a timing that measured nothing cannot be a ratio.
    NotPositive,
}

/// The values of two sides measured in the same rounds, as `(mine, theirs)` in round order:
/// the pairs of a paired comparison. A round one side lacks (a failed sample) pairs nothing.
pub fn pair_by_round(
    mine: &std::collections::BTreeMap<u32, f64>,
    theirs: &std::collections::BTreeMap<u32, f64>,
) -> Vec<(f64, f64)> {
    mine.iter()
        .filter_map(|(round, x)| Some((*x, *theirs.get(round)?)))
        .collect()
}

fn standard_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("valid parameters")
}

/// The two-sided critical value of the standard normal for a confidence level.
pub fn z_for(confidence: f64) -> f64 {
    standard_normal().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// Compares head with base samples (picoseconds per iteration).
///
/// The estimate is the median of all pairwise differences of logarithms (Hodges–Lehmann),
/// robust to outliers and exact for a pure shift. The interval takes the order statistics of
/// those differences at the Mann–Whitney critical value; the test is Mann–Whitney's with the
/// tie correction, so identical or tied samples are handled.
pub fn compare_samples(
    base: &[f64],
    head: &[f64],
    confidence: f64,
) -> Result<RatioEstimate, NoEstimate> {
    if base.is_empty() || head.is_empty() {
        return Err(NoEstimate::Empty);
    }
    if base
        .iter()
        .chain(head)
        .any(|v| v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
    {
        return Err(NoEstimate::NotPositive);
    }
    let log_base: Vec<f64> = base.iter().map(|v| v.ln()).collect();
    let log_head: Vec<f64> = head.iter().map(|v| v.ln()).collect();
    let mut differences: Vec<f64> = log_head
        .iter()
        .flat_map(|h| log_base.iter().map(move |b| h - b))
        .collect();
    differences.sort_by(f64::total_cmp);
    let shift = median_sorted(&differences);

    let (n, m) = (base.len() as f64, head.len() as f64);
    let pairs = differences.len();
    let z = z_for(confidence);
    // Number of pairwise differences to cut from each end (Lehmann's normal approximation).
    let cut = (n * m / 2.0 - z * (n * m * (n + m + 1.0) / 12.0).sqrt()).floor();
    let interval = (cut >= 1.0).then(|| {
        let cut = cut as usize;
        (differences[cut - 1].exp(), differences[pairs - cut].exp())
    });
    Ok(RatioEstimate {
        ratio: shift.exp(),
        interval,
        p_value: mann_whitney_p(&log_base, &log_head),
        standard_error: None,
    })
}

/// Compares paired samples: `(base, head)` measured back to back in the same round, so the
/// machine's slow drift cancels in each pair's ratio.
///
/// The estimate is the one-sample Hodges–Lehmann estimator of the log-ratios (the median of
/// their Walsh averages); the interval takes the Walsh averages at the Wilcoxon signed-rank
/// critical value; the test is Wilcoxon's signed-rank test with the tie correction.
pub fn compare_paired(pairs: &[(f64, f64)], confidence: f64) -> Result<RatioEstimate, NoEstimate> {
    compare_paired_by(pairs, confidence, PairedTest::SignedRank)
}

/// Compares paired samples as [`compare_paired`] does, with `test`'s significance and interval.
/// The estimate is the Hodges–Lehmann ratio either way: the ratio a report shows and the
/// stopping rule reads does not depend on the test chosen.
pub fn compare_paired_by(
    pairs: &[(f64, f64)],
    confidence: f64,
    test: PairedTest,
) -> Result<RatioEstimate, NoEstimate> {
    if pairs.is_empty() {
        return Err(NoEstimate::Empty);
    }
    if pairs.iter().any(|(b, h)| !(*b > 0.0 && *h > 0.0)) {
        return Err(NoEstimate::NotPositive);
    }
    let logs: Vec<f64> = pairs.iter().map(|(b, h)| h.ln() - b.ln()).collect();
    let n = logs.len();
    let mut walsh = Vec::with_capacity(n * (n + 1) / 2);
    for i in 0..n {
        for j in i..n {
            walsh.push((logs[i] + logs[j]) / 2.0);
        }
    }
    walsh.sort_by(f64::total_cmp);
    let ratio = median_sorted(&walsh).exp();
    if test == PairedTest::TrimmedT {
        let trimmed = TrimmedMean::of(&logs);
        return Ok(RatioEstimate {
            ratio,
            interval: trimmed.and_then(|t| t.interval(confidence)),
            p_value: trimmed.map_or(1.0, |t| t.p_value()),
            standard_error: trimmed.map(|t| StandardError {
                value: t.standard_error,
                degrees_of_freedom: t.degrees_of_freedom,
            }),
        });
    }
    let nf = n as f64;
    let z = z_for(confidence);
    let cut =
        (nf * (nf + 1.0) / 4.0 - z * (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt()).floor();
    let interval = (cut >= 1.0).then(|| {
        let cut = cut as usize;
        (walsh[cut - 1].exp(), walsh[walsh.len() - cut].exp())
    });
    Ok(RatioEstimate {
        ratio,
        interval,
        p_value: signed_rank_p(&logs),
        standard_error: None,
    })
}

/// The 20 % trimmed mean of differences with its standard error: Yuen's (1974) trimmed t in
/// its one-sample form, on the pairs' differences (Wilcox, 2012, on trimmed means).
///
/// A t-test on the plain mean is ruined by the heavy right tail of timings (one pair slowed
/// by another tenant widens it for every pair); the signed-rank test is not, but its p-value
/// cannot go below 2/2ⁿ. Trimming a fifth from each end keeps the robustness and lets a
/// consistent change reach any p-value: the statistic grows with the change over its spread,
/// not only with the number of pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrimmedMean {
    /// The mean of the middle `h` values.
    pub mean: f64,
    /// `√((n − 1)·s²_w / (h·(h − 1)))`, `s²_w` the variance of the winsorized values.
    pub standard_error: f64,
    /// `h − 1`.
    pub degrees_of_freedom: f64,
}

impl TrimmedMean {
    /// `None` below 2 values kept after trimming (no spread to estimate).
    pub fn of(values: &[f64]) -> Option<TrimmedMean> {
        let n = values.len();
        // ⌊0.2·n⌋ from each end, in integers so no rounding moves the cut.
        let g = n / 5;
        let h = n - 2 * g;
        if h < 2 {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted[g..n - g].iter().sum::<f64>() / h as f64;
        // Winsorized: the trimmed values replaced by the nearest value kept.
        let (low, high) = (sorted[g], sorted[n - g - 1]);
        let winsorized: Vec<f64> = sorted.iter().map(|v| v.clamp(low, high)).collect();
        let winsorized_mean = winsorized.iter().sum::<f64>() / n as f64;
        let variance = winsorized
            .iter()
            .map(|v| (v - winsorized_mean).powi(2))
            .sum::<f64>()
            / (n - 1) as f64;
        let (nf, hf) = (n as f64, h as f64);
        Some(TrimmedMean {
            mean,
            standard_error: ((nf - 1.0) * variance / (hf * (hf - 1.0))).sqrt(),
            degrees_of_freedom: hf - 1.0,
        })
    }

    fn students_t(&self) -> StudentsT {
        StudentsT::new(0.0, 1.0, self.degrees_of_freedom).expect("at least 1 degree of freedom")
    }

    /// Two-sided p-value of the trimmed mean against 0, from Student's t with h − 1 degrees of
    /// freedom. Kept values all equal: 1 at 0, else 0 (no spread: nothing but the change).
    pub fn p_value(&self) -> f64 {
        if self.standard_error == 0.0 || !self.standard_error.is_finite() {
            return if self.mean == 0.0 { 1.0 } else { 0.0 };
        }
        // The lower tail of -|t|, not 1 - cdf(|t|): far tails survive the correction for ~100
        // tests only if they are not lost to cancellation.
        let t = (self.mean / self.standard_error).abs();
        (2.0 * self.students_t().cdf(-t)).min(1.0)
    }

    /// The interval of the ratio at `confidence`: the trimmed mean ± the t critical value times
    /// its standard error, exponentiated. The same t as the p-value, so the interval excludes 1
    /// exactly when the test is significant at 1 − confidence.
    pub fn interval(&self, confidence: f64) -> Option<(f64, f64)> {
        let quantile = if self.standard_error > 0.0 {
            self.students_t()
                .inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
        } else {
            0.0
        };
        let half = quantile * self.standard_error;
        half.is_finite()
            .then(|| ((self.mean - half).exp(), (self.mean + half).exp()))
    }
}

/// Counts that repeat to within this share of their median are exact for any verdict: the
/// instructions measure's A/A spread of deterministic tests is below 0.05 % (start-up's few
/// thousand instructions that vary), and its minimum effect is ten times this.
pub const EXACT_WITHIN: f64 = 0.001;

/// `(max - min) / median` of values that repeat to within `EXACT_WITHIN`; `None` for fewer
/// than two values (one shows nothing about repetition) or a wider spread.
pub fn exact_spread(values: &[f64]) -> Option<f64> {
    if values.len() < 2
        || values
            .iter()
            .any(|v| v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
    {
        return None;
    }
    let (low, high) = low_high(values);
    let spread = (high - low) / median(values)?;
    (spread <= EXACT_WITHIN).then_some(spread)
}

/// Head over base when the counts leave nothing random to test: the ratio of the medians, and
/// the bounds the two sides' spreads allow. No test statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExactRatio {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
    /// The larger of the two sides' spreads; with a single count on a side, how far the two
    /// sides are apart.
    pub spread: f64,
    /// A side has a single count, which agreed with the other side within `EXACT_WITHIN`.
    pub once: bool,
}

/// The exact comparison of two sides' counts. Each side is either counts that repeat within
/// `EXACT_WITHIN`, or a single count; a single count shows nothing about repetition by itself,
/// so it is taken only when it agrees with the other side within that same bound. Two processes
/// of a runtime whose count wanders by percents (JIT tiers, collectors) rarely agree that
/// closely, and a change of the minimum effect cannot hide inside it; sides that do not agree
/// get more samples before anything is concluded. A single count is therefore never a change.
pub fn compare_exact(base: &[f64], head: &[f64]) -> Option<ExactRatio> {
    let (base_median, base_spread, base_once) = exact_side(base)?;
    let (head_median, head_spread, head_once) = exact_side(head)?;
    let ratio = head_median / base_median;
    let once = base_once || head_once;
    let apart = (ratio - 1.0).abs();
    if once && apart > EXACT_WITHIN {
        return None;
    }
    let bound = base_spread + head_spread;
    Some(ExactRatio {
        ratio,
        low: ratio * (1.0 - bound),
        high: ratio * (1.0 + bound),
        spread: if once {
            apart
        } else {
            base_spread.max(head_spread)
        },
        once,
    })
}

/// A side's median, the spread its bounds allow, and whether it is a single count (allowed
/// the largest spread that would still be exact).
fn exact_side(values: &[f64]) -> Option<(f64, f64, bool)> {
    match values {
        [one] => (*one > 0.0).then_some((*one, EXACT_WITHIN, true)),
        _ => Some((median(values)?, exact_spread(values)?, false)),
    }
}

/// The smallest and the largest of `values` (infinity and 0 when there are none).
pub fn low_high(values: &[f64]) -> (f64, f64) {
    (values.iter()).fold((f64::INFINITY, 0.0_f64), |(low, high), v| {
        (low.min(*v), high.max(*v))
    })
}

/// Whether first counts (one a runtime) all lie within `EXACT_WITHIN` of each other.
pub fn first_counts_agree(counts: &[f64]) -> bool {
    let (low, high) = low_high(counts);
    low > 0.0 && high / low - 1.0 <= EXACT_WITHIN
}

/// Spearman's rank correlation of paired values (ties take their mean rank); `None` below
/// three pairs or when either side is constant.
pub fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let xs = ranks(pairs.iter().map(|p| p.0));
    let ys = ranks(pairs.iter().map(|p| p.1));
    let mean = (pairs.len() as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(&ys) {
        sxy += (x - mean) * (y - mean);
        sxx += (x - mean).powi(2);
        syy += (y - mean).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The rank of each value from 1, ties at their mean rank.
fn ranks(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let values: Vec<f64> = values.collect();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for at in &order[start..end] {
            ranks[*at] = rank;
        }
        start = end;
    }
    ranks
}

/// Two-sided p-value of Wilcoxon's signed-rank test (zeros dropped, tie-corrected,
/// continuity-corrected, normal approximation).
pub fn signed_rank_p(differences: &[f64]) -> f64 {
    let mut nonzero: Vec<f64> = differences.iter().copied().filter(|d| *d != 0.0).collect();
    let n = nonzero.len() as f64;
    if nonzero.is_empty() {
        return 1.0;
    }
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let mut positive_rank_sum = 0.0;
    let mut ties = 0.0;
    let mut start = 0;
    while start < nonzero.len() {
        let end = (start..nonzero.len())
            .find(|&i| nonzero[i].abs() != nonzero[start].abs())
            .unwrap_or(nonzero.len());
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let t = (end - start) as f64;
        ties += t * t * t - t;
        positive_rank_sum +=
            average_rank * nonzero[start..end].iter().filter(|d| **d > 0.0).count() as f64;
        start = end;
    }
    if ties == 0.0 && nonzero.len() <= EXACT_SIGNED_RANK_UP_TO {
        return exact_signed_rank_p(nonzero.len(), positive_rank_sum as u64);
    }
    let mean = n * (n + 1.0) / 4.0;
    let variance = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - ties / 48.0;
    if variance <= 0.0 {
        return 1.0;
    }
    let distance = ((positive_rank_sum - mean).abs() - 0.5).max(0.0);
    2.0 * (1.0 - standard_normal().cdf(distance / variance.sqrt()))
}

/// Up to this many pairs without ties, the signed-rank p-value is computed exactly: the normal
/// approximation is far too conservative in the far tail, where a test must land to survive
/// the correction for ~100 tests (20 pairs all one way: 9.6e-5 approximated, 1.9e-6 exact).
const EXACT_SIGNED_RANK_UP_TO: usize = 64;

/// Exact two-sided p-value of the signed-rank statistic `w` for `n` untied pairs: the share of
/// the 2ⁿ equally likely sign patterns whose statistic is at least as far from the mean.
fn exact_signed_rank_p(n: usize, w: u64) -> f64 {
    let max = n * (n + 1) / 2;
    // ways[s] / 2ⁿ = probability that the positive ranks sum to s (counts as f64: 2⁶⁴ fits).
    let mut ways = vec![0.0f64; max + 1];
    ways[0] = 1.0;
    for rank in 1..=n {
        for sum in (rank..=max).rev() {
            ways[sum] += ways[sum - rank];
        }
    }
    let total = 2f64.powi(n as i32);
    let low = (w as usize).min(max - w as usize);
    let tail: f64 = ways[..=low].iter().sum::<f64>() / total;
    (2.0 * tail).min(1.0)
}

/// Two-sided p-value of the Mann–Whitney U test (normal approximation, tie-corrected,
/// continuity-corrected).
pub fn mann_whitney_p(base: &[f64], head: &[f64]) -> f64 {
    let (n, m) = (base.len() as f64, head.len() as f64);
    let mut u = 0.0;
    for h in head {
        for b in base {
            u += match h.total_cmp(b) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    let mut all: Vec<f64> = base.iter().chain(head).copied().collect();
    all.sort_by(f64::total_cmp);
    let ties: f64 = all
        .chunk_by(|a, b| a == b)
        .map(|run| {
            let t = run.len() as f64;
            t * t * t - t
        })
        .sum();
    let total = n + m;
    let variance = n * m / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    if variance <= 0.0 {
        return 1.0; // every value equal: no evidence of any difference
    }
    let distance = ((u - n * m / 2.0).abs() - 0.5).max(0.0);
    2.0 * (1.0 - standard_normal().cdf(distance / variance.sqrt()))
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the input's order: controls the
/// expected share of false discoveries among the tests called significant.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let k = p_values.len();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![1.0; k];
    let mut running_min: f64 = 1.0;
    for (rank, &index) in order.iter().enumerate().rev() {
        let q = p_values[index] * k as f64 / (rank + 1) as f64;
        running_min = running_min.min(q);
        adjusted[index] = running_min.min(1.0);
    }
    adjusted
}

/// A distribution-free confidence interval of the median: the order statistics the binomial
/// distribution (normal approximation) puts around the middle. `None` with too few samples.
pub fn median_interval(values: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let n = values.len() as f64;
    let half = z_for(confidence) * n.sqrt() / 2.0;
    let (low, high) = ((n / 2.0 - half).floor(), (n / 2.0 + half).ceil() + 1.0);
    if low < 1.0 || high > n {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((sorted[low as usize - 1], sorted[high as usize - 1]))
}

/// The median interval's half-width over the median: the precision a test has reached.
pub fn median_relative_halfwidth(values: &[f64], confidence: f64) -> Option<f64> {
    let (low, high) = median_interval(values, confidence)?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((high - low) / 2.0 / median_sorted(&sorted))
}

/// Geometric mean of ratios with an interval at `confidence`: the mean of the log-ratios, whose
/// standard error combines each ratio's own, `se = √(Σ seᵢ²)/k`. The critical value is Student's
/// t with the Welch–Satterthwaite degrees of freedom `(Σ seᵢ²)² / Σ (seᵢ⁴/dfᵢ)`: a mean of a
/// few trimmed-t estimates on few pairs is not normal, and a normal critical value would call
/// a category of two noisy tests changed far too easily. Normal when every df is infinite.
pub fn geometric_mean_of(
    estimates: &[(f64, StandardError)],
    confidence: f64,
) -> Option<(f64, f64, f64)> {
    if estimates.is_empty() {
        return None;
    }
    let k = estimates.len() as f64;
    let mean = estimates.iter().map(|(r, _)| r.ln()).sum::<f64>() / k;
    let sum_of_squares: f64 = estimates.iter().map(|(_, e)| e.value.powi(2)).sum();
    let spread: f64 = (estimates.iter())
        .filter(|(_, e)| e.degrees_of_freedom.is_finite())
        .map(|(_, e)| e.value.powi(4) / e.degrees_of_freedom)
        .sum();
    let degrees_of_freedom = sum_of_squares.powi(2) / spread;
    let critical = if spread > 0.0 && degrees_of_freedom.is_finite() {
        StudentsT::new(0.0, 1.0, degrees_of_freedom)
            .expect("positive degrees of freedom")
            .inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
    } else {
        z_for(confidence)
    };
    let se = sum_of_squares.sqrt() / k;
    Some((
        mean.exp(),
        (mean - critical * se).exp(),
        (mean + critical * se).exp(),
    ))
}

/// The median; `None` when there are no values.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(median_sorted(&sorted))
}

/// Geometric mean of positive values; `None` when there are none.
pub fn geometric_mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), v| (sum + v.ln(), count + 1));
    (count > 0).then(|| (sum / count as f64).exp())
}

pub fn median_sorted(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests;
