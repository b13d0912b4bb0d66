//! Chained trends: levels of nights from paired links between them.
//!
//! Each link says "night i took `exp(y)` times night j's time", measured in one run on one
//! machine, so the machine's own speed cancels out of it. The levels `x` (log time relative to
//! the first night of their chain) are the weighted least-squares fit of `x_i − x_j ≈ y` over
//! all links: with only one-night links it is their running product; the longer links (the
//! skip list) tie the chain together so that its error does not grow night after night, and a
//! link that disagrees with the rest by far more than its interval allows is flagged.

/// A paired measurement of a later night against an earlier one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// The later night (index into the nights, oldest first) and the earlier one.
    pub later: usize,
    pub earlier: usize,
    /// ln(later night's time / earlier night's time).
    pub log_ratio: f64,
    /// The variance of `log_ratio`; see [`link_variance`].
    pub variance: f64,
}

/// One night's place in the chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// ln(time / the time of the first night of this night's segment).
    pub log_level: f64,
    /// The standard error of `log_level` (0 for a segment's first night).
    pub sd: f64,
    /// The segment (a connected part of the chain), numbered in order of their first night.
    pub segment: usize,
    /// This night is its segment's first: nothing links it to any earlier night, so its level
    /// is 1 by definition, not by measurement.
    pub starts_segment: bool,
}

/// How far one link is from what the fitted chain says about its two nights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Residual {
    /// Index into the links given.
    pub link: usize,
    /// The link's log-ratio minus the chain's (`y − (x_i − x_j)`).
    pub residual: f64,
    /// `residual` in the link's own standard deviations.
    pub sigmas: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Per night: its level, or `None` for a night no link touches.
    pub levels: Vec<Option<Level>>,
    /// Per link, in the order given.
    pub residuals: Vec<Residual>,
}

/// A link further from the chain than this many of its own standard deviations is flagged.
pub const FLAG_SIGMAS: f64 = 3.0;

/// The smallest variance a link is given: an interval can be narrower than anything the
/// machine repeats night to night (0.1 % standard deviation), and one link with an almost
/// infinite weight would pin the chain to its error alone.
pub const MIN_VARIANCE: f64 = 1e-6;

/// The variance of a link without an interval: 10 % standard deviation, so it counts for
/// little beside any measured link but still joins nights nothing else joins.
pub const NO_INTERVAL_VARIANCE: f64 = 1e-2;

/// The variance of a log-ratio from its confidence interval at critical value `z`: the
/// interval spans `2 z` standard deviations on the log scale.
pub fn link_variance(interval: Option<(f64, f64)>, z: f64) -> f64 {
    let Some((low, high)) = interval else {
        return NO_INTERVAL_VARIANCE;
    };
    if !(low > 0.0 && high >= low && high.is_finite() && z > 0.0) {
        return NO_INTERVAL_VARIANCE;
    }
    let sd = (high.ln() - low.ln()) / (2.0 * z);
    (sd * sd).max(MIN_VARIANCE)
}

impl Chain {
    /// Whether a link is flagged: it disagrees with the chain by more than [`FLAG_SIGMAS`].
    pub fn flagged(&self) -> impl Iterator<Item = &Residual> {
        self.residuals
            .iter()
            .filter(|r| r.sigmas.abs() > FLAG_SIGMAS)
    }
}

/// Fits the levels of `nights` nights from the links. Links to a night out of range, from a
/// night to itself or with a non-finite value are left out (their residual is 0).
///
/// Least squares spreads one gross error over every link near it, so a link further than
/// [`FLAG_SIGMAS`] from the chain is left out, the worst first, and the chain fitted again,
/// until every link left agrees: a wrong link (a disturbed night, a build that was not the one
/// recorded) is shown, and the chain stands on the links that agree with each other.
pub fn solve(nights: usize, links: &[Link]) -> Chain {
    let usable = |l: &Link| {
        l.later < nights
            && l.earlier < nights
            && l.later != l.earlier
            && l.log_ratio.is_finite()
            && l.variance.is_finite()
            && l.variance > 0.0
    };
    let mut kept: Vec<bool> = links.iter().map(usable).collect();
    // At most a quarter of the links can be outvoted; beyond that there is no majority.
    for _ in 0..links.len() / 4 {
        let chosen = chosen(links, &kept);
        let levels = fit(nights, &chosen, Errors::Skipped);
        let worst = (links.iter().enumerate())
            .filter(|(index, _)| kept[*index])
            .map(|(index, link)| residual(index, link, &levels, true))
            .filter(|r| r.sigmas.abs() > FLAG_SIGMAS)
            .max_by(|a, b| a.sigmas.abs().total_cmp(&b.sigmas.abs()));
        match worst {
            Some(worst) => kept[worst.link] = false,
            None => break,
        }
    }
    let levels = fit(nights, &chosen(links, &kept), Errors::Wanted);
    let residuals = (links.iter().enumerate())
        .map(|(index, link)| residual(index, link, &levels, usable(link)))
        .collect();
    Chain { levels, residuals }
}

fn chosen(links: &[Link], kept: &[bool]) -> Vec<Link> {
    (links.iter().zip(kept))
        .filter(|(_, keep)| **keep)
        .map(|(link, _)| *link)
        .collect()
}

/// Whether a fit computes the levels' standard errors (they cost a solve per night).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Errors {
    Wanted,
    Skipped,
}

/// The levels of every night from the given links, each connected part of the chain fixed at
/// its first night; standard errors only when asked for.
fn fit(nights: usize, links: &[Link], errors: Errors) -> Vec<Option<Level>> {
    let component = components(nights, links);
    let mut levels: Vec<Option<Level>> = vec![None; nights];
    let mut segment = 0;
    for first in 0..nights {
        // A component is solved from its first (oldest) night, once.
        if component[first] != Some(first) {
            continue;
        }
        let members: Vec<usize> = (first..nights)
            .filter(|n| component[*n] == Some(first))
            .collect();
        let inside: Vec<Link> = (links.iter())
            .filter(|l| component[l.later] == Some(first))
            .copied()
            .collect();
        let (x, sd) = solve_component(&members, &inside, errors);
        for (k, night) in members.iter().enumerate() {
            levels[*night] = Some(Level {
                log_level: x[k],
                sd: sd[k],
                segment,
                starts_segment: k == 0,
            });
        }
        segment += 1;
    }
    levels
}

fn residual(index: usize, link: &Link, levels: &[Option<Level>], usable: bool) -> Residual {
    let fitted = levels
        .get(link.later)
        .copied()
        .flatten()
        .zip(levels.get(link.earlier).copied().flatten())
        .map(|(a, b)| a.log_level - b.log_level);
    match fitted {
        Some(fitted) if usable => {
            let residual = link.log_ratio - fitted;
            Residual {
                link: index,
                residual,
                sigmas: residual / link.variance.sqrt(),
            }
        }
        _ => Residual {
            link: index,
            residual: 0.0,
            sigmas: 0.0,
        },
    }
}

/// Per night, the oldest night of its connected component, or `None` when no link touches it.
fn components(nights: usize, links: &[Link]) -> Vec<Option<usize>> {
    let mut parent: Vec<usize> = (0..nights).collect();
    fn root(parent: &mut [usize], mut n: usize) -> usize {
        while parent[n] != n {
            parent[n] = parent[parent[n]];
            n = parent[n];
        }
        n
    }
    for link in links {
        let (a, b) = (
            root(&mut parent, link.later),
            root(&mut parent, link.earlier),
        );
        // The smaller index stays the root, so a component's root is its oldest night.
        let (low, high) = (a.min(b), a.max(b));
        parent[high] = low;
    }
    let touched: Vec<bool> = (0..nights)
        .map(|n| links.iter().any(|l| l.later == n || l.earlier == n))
        .collect();
    (0..nights)
        .map(|n| touched[n].then(|| root(&mut parent, n)))
        .collect()
}

/// The normal equations of one connected component, its first night fixed at 0; returns the
/// levels and their standard errors in `members` order.
fn solve_component(members: &[usize], links: &[Link], errors: Errors) -> (Vec<f64>, Vec<f64>) {
    let m = members.len();
    let mut x = vec![0.0; m];
    let mut sd = vec![0.0; m];
    if m < 2 {
        return (x, sd);
    }
    // Unknowns are the members after the first: member k is unknown k − 1.
    let unknown = |night: usize| {
        members
            .binary_search(&night)
            .ok()
            .and_then(|k| k.checked_sub(1))
    };
    let n = m - 1;
    let mut a = vec![vec![0.0; n]; n];
    let mut b = vec![0.0; n];
    for link in links {
        let w = 1.0 / link.variance;
        let (i, j) = (unknown(link.later), unknown(link.earlier));
        if let Some(i) = i {
            a[i][i] += w;
            b[i] += w * link.log_ratio;
        }
        if let Some(j) = j {
            a[j][j] += w;
            b[j] -= w * link.log_ratio;
        }
        if let (Some(i), Some(j)) = (i, j) {
            a[i][j] -= w;
            a[j][i] -= w;
        }
    }
    let Some(factor) = Cholesky::new(a) else {
        // A connected component with positive weights always gives a positive definite
        // system; if rounding says otherwise, no level is better than a wrong one.
        return (vec![f64::NAN; m], vec![f64::NAN; m]);
    };
    let solution = factor.solve(&b);
    for k in 0..n {
        x[k + 1] = solution[k];
        if errors == Errors::Skipped {
            continue;
        }
        let mut unit = vec![0.0; n];
        unit[k] = 1.0;
        sd[k + 1] = factor.solve(&unit)[k].max(0.0).sqrt();
    }
    (x, sd)
}

/// The Cholesky factor `L` (`A = L Lᵀ`) of a symmetric positive definite matrix, computed
/// within its band: the links reach at most a few nights back, so the matrix (and its factor)
/// is zero beyond that, and a year of nights factors in a band's time, not a cube's.
struct Cholesky {
    lower: Vec<Vec<f64>>,
    band: usize,
}

impl Cholesky {
    fn new(a: Vec<Vec<f64>>) -> Option<Cholesky> {
        let n = a.len();
        let band = (0..n)
            .flat_map(|i| (0..i).map(move |j| (i, j)))
            .filter(|(i, j)| a[*i][*j] != 0.0)
            .map(|(i, j)| i - j)
            .max()
            .unwrap_or(0);
        let mut lower = vec![vec![0.0; n]; n];
        for i in 0..n {
            for j in i.saturating_sub(band)..=i {
                let start = i.saturating_sub(band).max(j.saturating_sub(band));
                let dot: f64 = (start..j).map(|k| lower[i][k] * lower[j][k]).sum();
                let value = a[i][j] - dot;
                if i == j {
                    if value.is_nan() || value <= 0.0 {
                        return None;
                    }
                    lower[i][i] = value.sqrt();
                } else {
                    lower[i][j] = value / lower[j][j];
                }
            }
        }
        Some(Cholesky { lower, band })
    }

    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = b.len();
        let l = &self.lower;
        let mut y = vec![0.0; n];
        for i in 0..n {
            let start = i.saturating_sub(self.band);
            let dot: f64 = (start..i).map(|k| l[i][k] * y[k]).sum();
            y[i] = (b[i] - dot) / l[i][i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            let end = (i + self.band + 1).min(n);
            let dot: f64 = (i + 1..end).map(|k| l[k][i] * x[k]).sum();
            x[i] = (y[i] - dot) / l[i][i];
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(later: usize, earlier: usize, log_ratio: f64, sd: f64) -> Link {
        Link {
            later,
            earlier,
            log_ratio,
            variance: sd * sd,
        }
    }

    fn levels(chain: &Chain) -> Vec<f64> {
        (chain.levels.iter())
            .map(|l| l.map(|l| l.log_level).unwrap_or(f64::NAN))
            .collect()
    }

    /// A standard normal draw (Box–Muller) from a seeded generator.
    fn normal(rng: &mut fastrand::Rng) -> f64 {
        let u = rng.f64().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.f64()).cos()
    }

    /// Every link the nightly keeps: 1, 2, 4 and 8 nights back, of the true levels, with
    /// noise of the given standard deviation per distance.
    fn skip_links(truth: &[f64], sd_of: impl Fn(usize) -> f64, seed: u64) -> Vec<Link> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut links = Vec::new();
        for later in 1..truth.len() {
            for back in [1, 2, 4, 8] {
                let Some(earlier) = later.checked_sub(back) else {
                    continue;
                };
                let sd = sd_of(back);
                let y = truth[later] - truth[earlier] + sd * normal(&mut rng);
                links.push(link(later, earlier, y, sd));
            }
        }
        links
    }

    #[test]
    fn one_night_links_alone_give_their_running_product() {
        let ratios = [1.1, 0.9, 1.25, 1.0, 0.8];
        let links: Vec<Link> = (ratios.iter().enumerate())
            .map(|(k, r)| link(k + 1, k, f64::ln(*r), 0.01 * (k + 1) as f64))
            .collect();
        let chain = solve(6, &links);
        let mut product = 1.0;
        for (k, level) in chain.levels.iter().enumerate() {
            let level = level.unwrap();
            assert!((level.log_level.exp() - product).abs() < 1e-12, "night {k}");
            assert_eq!(level.segment, 0);
            assert_eq!(level.starts_segment, k == 0);
            product *= ratios.get(k).copied().unwrap_or(1.0);
        }
        // The error accumulates along a chain of one-night links: √(Σ sd²).
        let last = chain.levels[5].unwrap();
        let expected: f64 = (1..=5).map(|k| (0.01 * k as f64).powi(2)).sum();
        assert!((last.sd - expected.sqrt()).abs() < 1e-12);
        assert!(chain.flagged().next().is_none());
    }

    #[test]
    fn skip_links_that_agree_change_nothing() {
        let truth: Vec<f64> = (0..20).map(|k| (k as f64 * 0.7).sin() * 0.2).collect();
        let exact = skip_links(&truth, |_| 0.0, 1);
        // Zero noise, but the links still carry their weights.
        let exact: Vec<Link> = (exact.into_iter())
            .map(|l| Link {
                variance: 1e-4,
                ..l
            })
            .collect();
        let chain = solve(truth.len(), &exact);
        for (k, level) in levels(&chain).iter().enumerate() {
            assert!((level - truth[k]).abs() < 1e-9, "night {k}");
        }
        assert!(chain.residuals.iter().all(|r| r.residual.abs() < 1e-9));
    }

    /// 30 nights: a slow drift of 0.3 % a night and a 10 % step at night 12.
    fn month() -> Vec<f64> {
        (0..30)
            .map(|k| 0.003 * k as f64 + if k >= 12 { f64::ln(1.1) } else { 0.0 })
            .collect()
    }

    #[test]
    fn accurate_long_links_keep_noisy_one_night_links_on_the_truth() {
        let truth = month();
        let links = skip_links(&truth, |back| if back == 1 { 0.03 } else { 0.003 }, 7);
        let chain = solve(truth.len(), &links);
        let fitted = levels(&chain);
        let worst = (0..truth.len())
            .map(|k| (fitted[k] - truth[k]).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.012, "worst error {worst}");
        // The one-night links alone wander much further.
        let one_night: Vec<Link> = (links.iter().filter(|l| l.later - l.earlier == 1))
            .copied()
            .collect();
        let alone = levels(&solve(truth.len(), &one_night));
        let wander = (0..truth.len())
            .map(|k| (alone[k] - truth[k]).abs())
            .fold(0.0, f64::max);
        assert!(wander > 2.0 * worst, "{wander} vs {worst}");
        // The step is where it is, and its size within a few standard errors.
        let step = fitted[12] - fitted[11];
        assert!((step - (f64::ln(1.1) + 0.003)).abs() < 0.012, "{step}");
        // The reported standard errors are of the right size: every night within 4 of them.
        for (k, level) in chain.levels.iter().enumerate() {
            let level = level.unwrap();
            assert!(
                (fitted[k] - truth[k]).abs() <= 4.0 * level.sd + 1e-12,
                "night {k}"
            );
        }
    }

    #[test]
    fn a_night_with_no_link_to_an_earlier_one_starts_a_new_segment() {
        // Nights 0..4 linked; night 5 has no link back (its kept builds were lost); 5..8 linked.
        let mut links = Vec::new();
        for k in 1..5 {
            links.push(link(k, k - 1, 0.1, 0.01));
        }
        for k in 6..9 {
            links.push(link(k, k - 1, -0.1, 0.01));
            if k >= 7 {
                links.push(link(k, k - 2, -0.2, 0.01));
            }
        }
        let chain = solve(10, &links);
        let first = chain.levels[5].unwrap();
        assert!(first.starts_segment);
        assert_eq!(first.segment, 1);
        assert_eq!(first.log_level, 0.0);
        assert!((chain.levels[8].unwrap().log_level - (-0.3)).abs() < 1e-9);
        assert!((chain.levels[4].unwrap().log_level - 0.4).abs() < 1e-9);
        assert_eq!(chain.levels[4].unwrap().segment, 0);
        // Night 9 has no link at all: no level, rather than an invented one.
        assert_eq!(chain.levels[9], None);
    }

    #[test]
    fn a_change_of_runner_never_shows_in_paired_links() {
        // The runner doubles its speed from night 15: every time measured from that night on
        // is halved, both builds of a link alike, since a link is measured in one run.
        let truth = month();
        let speed = |night: usize| if night >= 15 { 0.5f64 } else { 1.0 };
        let time = |build: usize, measured_on: usize| truth[build].exp() * speed(measured_on);
        let mut links = Vec::new();
        for later in 1..truth.len() {
            for back in [1, 2, 4, 8] {
                if let Some(earlier) = later.checked_sub(back) {
                    let ratio = time(later, later) / time(earlier, later);
                    links.push(link(later, earlier, ratio.ln(), 0.005));
                }
            }
        }
        let fitted = levels(&solve(truth.len(), &links));
        for k in 0..truth.len() {
            assert!((fitted[k] - truth[k]).abs() < 1e-9, "night {k}");
        }
        // Tonight's time over the first night's, as stored medians would give it, halves.
        let medians = (time(16, 16) / time(0, 0)).ln();
        assert!((medians - truth[16] - f64::ln(0.5)).abs() < 1e-12);
    }

    #[test]
    fn a_link_that_disagrees_with_the_others_is_flagged() {
        let truth = month();
        let mut links = skip_links(&truth, |_| 0.005, 3);
        // Night 20 against night 12: measured 20 % off what every other link says.
        let bad = (links.iter())
            .position(|l| l.later == 20 && l.earlier == 12)
            .unwrap();
        links[bad].log_ratio += f64::ln(1.2);
        let chain = solve(truth.len(), &links);
        let flagged: Vec<usize> = chain.flagged().map(|r| r.link).collect();
        assert_eq!(flagged, [bad]);
        assert!((chain.residuals[bad].residual - f64::ln(1.2)).abs() < 0.02);
        // The other links hold the chain near the truth all the same.
        let fitted = levels(&chain);
        assert!((fitted[20] - truth[20]).abs() < 0.05);
    }

    #[test]
    fn link_variances_come_from_their_intervals() {
        let z = crate::stats::z_for(0.99);
        let v = link_variance(Some((1.0, f64::exp(2.0 * z * 0.02))), z);
        assert!((v - 0.0004).abs() < 1e-12);
        assert_eq!(link_variance(None, z), NO_INTERVAL_VARIANCE);
        assert_eq!(link_variance(Some((0.0, 1.1)), z), NO_INTERVAL_VARIANCE);
        assert_eq!(link_variance(Some((1.0, 1.0)), z), MIN_VARIANCE);
    }

    #[test]
    fn a_year_of_nights_is_solved_quickly() {
        let truth: Vec<f64> = (0..400).map(|k| 0.001 * k as f64).collect();
        let links = skip_links(&truth, |_| 0.01, 5);
        let start = std::time::Instant::now();
        let chain = solve(truth.len(), &links);
        assert!(chain.levels.iter().all(|l| l.is_some()));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
