//! The differential nightly's own lines: tonight against each earlier night, and the markdown
//! report that leads with them.

use crate::nightly::LinkOutcome;
use crate::report::Format;
use anyhow::Result;

/// One line per link: how much slower or faster tonight is overall than that night, and
/// whether the gate rule fails on it; a failing longer link under a passing nearest one is
/// named a slow drift.
pub fn link_lines(links: &[LinkOutcome], drift: &[&LinkOutcome]) -> Vec<String> {
    links
        .iter()
        .map(|link| {
            let c = &link.comparison;
            let overall = crate::compare::percent_change(
                c.overall.ratio,
                c.overall.ci_low,
                c.overall.ci_high,
            );
            let verdict = if drift.iter().any(|d| d.nights_back == link.nights_back) {
                "regressed: a slow drift (last night's link passes)"
            } else if c.gate_failed {
                "regressed"
            } else {
                "passes"
            };
            format!(
                "t-{} (`{}`): overall {overall}; {verdict} · {}",
                link.nights_back,
                crate::util::short_commit(c.base.commit.as_deref().unwrap_or("?")),
                link.path.display()
            )
        })
        .collect()
}

/// The markdown report: every link in a line, then the nearest night's comparison.
pub fn markdown(
    nearest: &LinkOutcome,
    lines: &[String],
    presentation: &crate::report::Presentation,
) -> Result<String> {
    let list: Vec<String> = lines.iter().map(|l| format!("- {l}")).collect();
    Ok(format!(
        "## Tonight against earlier nights\n\n{}\n\n{}",
        list.join("\n"),
        crate::report::render_comparison(&nearest.comparison, Format::Markdown, presentation)?
    ))
}
