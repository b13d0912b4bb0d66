use super::*;

/// A deterministic, noisy-looking sample around `center` (±3 %).
fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|_| center * (1.0 + 0.03 * (rng.f64() - 0.5)))
        .collect()
}

#[test]
fn identical_samples_are_no_change() {
    let same = vec![100.0; 10];
    let estimate = compare_samples(&same, &same, 0.99).unwrap();
    assert_eq!(estimate.ratio, 1.0);
    assert_eq!(estimate.interval, Some((1.0, 1.0)));
    assert_eq!(estimate.p_value, 1.0);
}

#[test]
fn a_pure_shift_is_found_exactly() {
    let base = noisy(1000.0, 20, 1);
    let head: Vec<f64> = base.iter().map(|v| v * 1.07).collect();
    let estimate = compare_samples(&base, &head, 0.99).unwrap();
    assert!((estimate.ratio - 1.07).abs() < 0.005, "{estimate:?}");
    let (low, high) = estimate.interval.unwrap();
    assert!(low < 1.07 && 1.07 < high && low > 1.0, "{estimate:?}");
    assert!(estimate.p_value < 1e-4, "{estimate:?}");
}

#[test]
fn a_heavy_tail_does_not_move_the_estimate() {
    let base = noisy(1000.0, 20, 2);
    let mut head = noisy(1000.0, 20, 3);
    head[0] = 50_000.0; // one sample hit by a page-cache flush
    head[1] = 20_000.0;
    let estimate = compare_samples(&base, &head, 0.99).unwrap();
    assert!((estimate.ratio - 1.0).abs() < 0.01, "{estimate:?}");
    assert!(estimate.p_value > 0.01, "{estimate:?}");
}

#[test]
fn ties_are_handled() {
    let base = [10.0, 10.0, 10.0, 11.0, 11.0, 12.0];
    let head = [10.0, 11.0, 11.0, 11.0, 12.0, 12.0];
    let estimate = compare_samples(&base, &head, 0.95).unwrap();
    assert!(
        estimate.p_value > 0.05 && estimate.p_value <= 1.0,
        "{estimate:?}"
    );
    assert!(estimate.ratio >= 1.0, "{estimate:?}");
}

#[test]
fn too_few_samples_give_no_interval() {
    let estimate = compare_samples(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], 0.99).unwrap();
    assert_eq!(estimate.interval, None);
    assert_eq!(compare_samples(&[], &[1.0], 0.99), Err(NoEstimate::Empty));
}

#[test]
fn a_zero_valued_test_is_not_a_ratio() {
    assert_eq!(
        compare_samples(&[0.0, 0.0], &[0.0, 0.0], 0.99),
        Err(NoEstimate::NotPositive)
    );
}

#[test]
fn paired_drift_cancels() {
    // The machine slows down 3x over the run; head is 5 % slower in every pair.
    let pairs: Vec<(f64, f64)> = (0..20)
        .map(|i| {
            let drift = 1.0 + 2.0 * i as f64 / 19.0;
            (1000.0 * drift, 1050.0 * drift)
        })
        .collect();
    let paired = compare_paired(&pairs, 0.99).unwrap();
    assert!((paired.ratio - 1.05).abs() < 1e-9, "{paired:?}");
    let (low, high) = paired.interval.unwrap();
    assert!(low > 1.04 && high < 1.06, "{paired:?}");
    assert!(paired.p_value < 1e-3);
    // The same data unpaired cannot see the change through the drift.
    let base: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let head: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    assert!(compare_samples(&base, &head, 0.99).unwrap().p_value > 0.1);
}

#[test]
fn paired_identical_and_degenerate() {
    let same = compare_paired(&[(5.0, 5.0); 10], 0.99).unwrap();
    assert_eq!((same.ratio, same.p_value), (1.0, 1.0));
    assert_eq!(
        compare_paired(&[(1.0, 2.0); 3], 0.99).unwrap().interval,
        None
    );
    assert_eq!(
        compare_paired(&[(0.0, 2.0)], 0.99),
        Err(NoEstimate::NotPositive)
    );
}

/// Pairs whose log-ratios are `logs`.
fn pairs_of_logs(logs: &[f64]) -> Vec<(f64, f64)> {
    logs.iter().map(|d| (1000.0, 1000.0 * d.exp())).collect()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(1e-300)
}

#[test]
fn trimmed_t_known_values() {
    // Reference values computed independently at 30 digits (Student's t through the
    // regularized incomplete beta function). n = 10: 2 trimmed from each end, h = 6,
    // 5 degrees of freedom; the 0.30 outlier is trimmed and only winsorized.
    let logs = [0.05, 0.03, 0.07, 0.04, 0.30, 0.06, -0.01, 0.05, 0.04, 0.06];
    let t = TrimmedMean::of(&logs).unwrap();
    assert!(close(t.mean, 0.05, 1e-12), "{t:?}");
    assert!(
        close(t.standard_error, 0.005_163_977_794_943_222, 1e-9),
        "{t:?}"
    );
    assert_eq!(t.degrees_of_freedom, 5.0);
    assert!(close(t.p_value(), 1.995_171_859_099_651e-4, 1e-7), "{t:?}");
    let estimate = compare_paired_by(&pairs_of_logs(&logs), 0.99, PairedTest::TrimmedT).unwrap();
    let (low, high) = estimate.interval.unwrap();
    assert!(close(low, 1.029_607_954_583_499, 1e-9), "{low}");
    assert!(close(high, 1.073_390_034_678_506, 1e-9), "{high}");
    assert!(close(estimate.p_value, 1.995_171_859_099_651e-4, 1e-7));
    // n = 8: one trimmed from each end, h = 6.
    let logs = [0.02, -0.01, 0.03, 0.01, 0.00, 0.015, -0.005, 0.025];
    let t = TrimmedMean::of(&logs).unwrap();
    assert!(
        close(t.standard_error, 0.006_115_213_269_652_444, 1e-9),
        "{t:?}"
    );
    assert!(close(t.p_value(), 0.136_676_532_791_444_14, 1e-7), "{t:?}");
    let (low, high) = t.interval(0.99).unwrap();
    assert!(close(low, 0.986_271_032_870_673_2, 1e-9), "{low}");
    assert!(close(high, 1.036_128_061_424_361_3, 1e-9), "{high}");
}

#[test]
fn trimmed_t_is_not_capped_by_the_pair_count() {
    // Six pairs, each 5 % slower within ±0.5 %: the signed-rank test cannot go below
    // 2/2⁶, which no correction for ~100 tests lets through; the trimmed t reaches 8.9e-5
    // (t = 29.1 on 3 degrees of freedom), below alpha/100.
    let logs: Vec<f64> = [1.050, 1.046, 1.053, 1.049, 1.055, 1.047]
        .iter()
        .map(|r: &f64| r.ln())
        .collect();
    let pairs = pairs_of_logs(&logs);
    let rank = compare_paired_by(&pairs, 0.99, PairedTest::SignedRank).unwrap();
    assert!(close(rank.p_value, 2.0 / 64.0, 1e-12), "{rank:?}");
    let trimmed = compare_paired_by(&pairs, 0.99, PairedTest::TrimmedT).unwrap();
    assert!(close(trimmed.p_value, 8.912_521e-5, 1e-6), "{trimmed:?}");
    assert_eq!(
        trimmed.ratio, rank.ratio,
        "the estimate is Hodges–Lehmann's either way"
    );
    let (low, high) = trimmed.interval.unwrap();
    assert!(close(low, 1.039_567_4, 1e-7) && close(high, 1.060_027_8, 1e-7));
}

#[test]
fn trimmed_t_ignores_a_wayward_pair() {
    // An unchanged test whose one pair was hit by another process (head 3x slower): the
    // plain mean would move by 10 %, the trimmed mean does not.
    let mut logs: Vec<f64> = (0..12).map(|i| 0.01 * ((i % 5) as f64 - 2.0)).collect();
    logs[3] = 3f64.ln();
    let t = TrimmedMean::of(&logs).unwrap();
    assert!(t.mean.abs() < 0.01, "{t:?}");
    assert!(t.p_value() > 0.1, "{t:?}");
}

#[test]
fn trimmed_t_degenerate_cases() {
    let same = compare_paired_by(&[(5.0, 5.0); 10], 0.99, PairedTest::TrimmedT).unwrap();
    assert_eq!(
        (same.ratio, same.p_value, same.interval),
        (1.0, 1.0, Some((1.0, 1.0)))
    );
    // Every pair exactly twice as slow: nothing but the change.
    let doubled = TrimmedMean::of(&[2f64.ln(); 6]).unwrap();
    assert_eq!(doubled.p_value(), 0.0);
    // One pair: no spread to estimate, no interval, no evidence.
    let one = compare_paired_by(&[(1.0, 2.0)], 0.99, PairedTest::TrimmedT).unwrap();
    assert_eq!((one.interval, one.p_value), (None, 1.0));
}

#[test]
fn signed_rank_exact_known_values() {
    // Ten positive differences: only 1 of 1024 sign patterns is as extreme, each way.
    let p = signed_rank_p(&(1..=10).map(f64::from).collect::<Vec<_>>());
    assert!((p - 2.0 / 1024.0).abs() < 1e-15, "{p}");
    // n = 5, ranks 2, 4 and 5 positive: W+ = 11, as far from the mean as W+ = 4; seven of
    // the 32 sign patterns have W+ <= 4 ({}, {1}, {2}, {3}, {4}, {1,2}, {1,3}).
    let p = signed_rank_p(&[-1.0, 2.0, -3.0, 4.0, 5.0]);
    let expected = 2.0 * 7.0 / 32.0;
    assert!((p - expected).abs() < 1e-12, "{p}");
}

#[test]
fn signed_rank_with_ties_uses_the_approximation() {
    // Ten equal positive differences: W+ = 55, tie-corrected variance 96.25 - 990/48.
    let p = signed_rank_p(&[1.0; 10]);
    let variance: f64 = 96.25 - 990.0 / 48.0;
    let expected = 2.0 * (1.0 - standard_normal().cdf((27.5 - 0.5) / variance.sqrt()));
    assert!((p - expected).abs() < 1e-12, "{p}");
}

#[test]
fn mann_whitney_matches_a_known_value() {
    // Fully separated groups of 5: U = 25, z = (12.5 - 0.5) / sqrt(22.9167) = 2.5067.
    let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
    assert!((p - 0.01219).abs() < 2e-4, "{p}");
}

#[test]
fn benjamini_hochberg_known_values() {
    let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.20]);
    let expected = [0.04, 0.04 * 4.0 / 3.0, 0.04 * 4.0 / 3.0, 0.20];
    for (a, b) in q.iter().zip(expected) {
        assert!((a - b).abs() < 1e-12, "{q:?}");
    }
}

#[test]
fn median_interval_narrows_with_samples() {
    let few = median_relative_halfwidth(&noisy(100.0, 10, 4), 0.95).unwrap();
    let many = median_relative_halfwidth(&noisy(100.0, 200, 5), 0.95).unwrap();
    assert!(many < few, "{many} {few}");
    assert_eq!(median_relative_halfwidth(&[1.0, 2.0], 0.95), None);
}

#[test]
fn median_and_geomean() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    assert_eq!(median(&[]), None);
    let g = geometric_mean([2.0, 8.0].into_iter()).unwrap();
    assert!((g - 4.0).abs() < 1e-12);
}

/// A standard error from an interval at 95 %, normal.
fn normal_error(low: f64, high: f64) -> StandardError {
    StandardError {
        value: (high.ln() - low.ln()) / (2.0 * z_for(0.95)),
        degrees_of_freedom: f64::INFINITY,
    }
}

#[test]
fn geometric_mean_of_equal_ratios() {
    let two = [(1.1, normal_error(1.05, 1.15)); 2];
    let (mean, low, high) = geometric_mean_of(&two, 0.95).unwrap();
    assert!((mean - 1.1).abs() < 1e-12);
    // A wider level for the mean than for the tests widens it again.
    let (_, wide_low, _) = geometric_mean_of(&two, 0.999).unwrap();
    assert!(wide_low < low, "{wide_low} {low}");
    assert!(
        low > 1.05 && high < 1.15,
        "pooling two tests narrows the interval: {low} {high}"
    );
}

#[test]
fn geometric_mean_of_few_pairs_is_a_t_interval() {
    // Two tests with equal errors on 5 degrees of freedom each: 10 degrees of freedom.
    let error = StandardError {
        value: 0.01,
        degrees_of_freedom: 5.0,
    };
    let (_, low, _) = geometric_mean_of(&[(1.0, error); 2], 0.99).unwrap();
    let critical = StudentsT::new(0.0, 1.0, 10.0).unwrap().inverse_cdf(0.995);
    assert!((critical - 3.169_272_667).abs() < 1e-6, "{critical}");
    let expected = (-critical * (2.0f64 * 0.01 * 0.01).sqrt() / 2.0).exp();
    assert!((low - expected).abs() < 1e-12, "{low} {expected}");
}
