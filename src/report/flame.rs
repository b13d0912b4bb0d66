//! A profile as a flame graph in SVG: each frame a box as wide as its samples, its callees
//! stacked on it, the outermost frame at the bottom. Drawn here so the HTML report stays one
//! self-contained file; a box shows its function, samples and share when pointed at.

use super::svg::{escape, open_svg};
use crate::model::evidence::Profile;
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: f64 = 960.0;
const ROW: f64 = 16.0;
/// Boxes narrower than this are left out: they could not be seen or pointed at.
const NARROWEST: f64 = 0.5;
/// The most boxes drawn, so a profile of deep, varied stacks cannot make the page huge.
const MOST_BOXES: usize = 4000;
/// Roughly how wide a character of the 11-pixel font is.
const CHAR_WIDTH: f64 = 6.5;

/// One frame with the samples of every stack through it, and its callees.
#[derive(Default)]
struct Node {
    samples: u64,
    callees: BTreeMap<String, Node>,
}

/// The profile as a flame graph titled `title`.
pub fn flame_graph(title: &str, profile: &Profile) -> String {
    let mut root = Node::default();
    for (stack, &count) in &profile.stacks {
        root.samples += count;
        let mut node = &mut root;
        for frame in stack.split(';') {
            node = node.callees.entry(frame.to_string()).or_default();
            node.samples += count;
        }
    }
    let depth = deepest(&root);
    let height = 24.0 + (depth as f64) * ROW + 4.0;
    let mut svg = open_svg(title, WIDTH, height);
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>",
        escape(title)
    );
    let scale = WIDTH / (root.samples.max(1) as f64);
    let mut drawn = 0;
    let frame = Frame {
        scale,
        total: root.samples.max(1) as f64,
        bottom: height - 4.0,
    };
    draw_callees(&mut svg, &root, (0.0, 0), &frame, &mut drawn);
    svg.push_str("</svg>");
    svg
}

/// How a box is placed: pixels a sample, the whole's samples, the bottom row's baseline.
struct Frame {
    scale: f64,
    total: f64,
    bottom: f64,
}

fn deepest(node: &Node) -> usize {
    (node.callees.values())
        .map(|callee| 1 + deepest(callee))
        .max()
        .unwrap_or(0)
}

/// Draws `node`'s callees side by side from `x` at `level`, then theirs above them.
fn draw_callees(
    svg: &mut String,
    node: &Node,
    (x, level): (f64, usize),
    frame: &Frame,
    drawn: &mut usize,
) {
    let mut left = x;
    for (name, callee) in &node.callees {
        let width = callee.samples as f64 * frame.scale;
        if width >= NARROWEST && *drawn < MOST_BOXES {
            *drawn += 1;
            draw_box(svg, name, callee.samples, (left, level, width), frame);
            draw_callees(svg, callee, (left, level + 1), frame, drawn);
        }
        left += width;
    }
}

fn draw_box(svg: &mut String, name: &str, samples: u64, at: (f64, usize, f64), frame: &Frame) {
    let (x, level, width) = at;
    let y = frame.bottom - (level as f64 + 1.0) * ROW;
    let share = samples as f64 / frame.total * 100.0;
    let label = escape(name);
    let _ = write!(
        svg,
        "<g><title>{label}: {samples} samples ({share:.1} %)</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{h:.1}\" fill=\"{fill}\" rx=\"1\"/>",
        h = ROW - 1.0,
        fill = warm(name),
    );
    let fits = ((width - 6.0) / CHAR_WIDTH).floor() as usize;
    if fits >= 3 {
        let shown: String = if name.chars().count() > fits {
            name.chars().take(fits - 1).chain(['…']).collect()
        } else {
            name.to_string()
        };
        let _ = write!(
            svg,
            "<text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"11\">{}</text>",
            escape(&shown),
            tx = x + 3.0,
            ty = y + ROW - 4.5,
        );
    }
    svg.push_str("</g>");
}

/// A warm colour chosen by the name, so a function has the same colour in both sides' graphs.
fn warm(name: &str) -> String {
    let hash = (name.bytes()).fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let green = 90 + (hash % 110);
    let blue = 40 + ((hash >> 8) % 40);
    format!("rgb(235,{green},{blue})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_frame_is_as_wide_as_its_samples_and_names_are_escaped() {
        let profile = Profile {
            runtime: "base".into(),
            samples: 4,
            stacks: [("main;mul<&x>".to_string(), 3), ("main;add".to_string(), 1)].into(),
        };
        let svg = flame_graph("box on base", &profile);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // main spans the whole width; mul three quarters of it, escaped.
        assert!(svg.contains("<title>main: 4 samples (100.0 %)</title><rect x=\"0.0\""));
        assert!(svg.contains("<title>mul&lt;&amp;x&gt;: 3 samples (75.0 %)</title>"));
        assert!(svg.contains(&format!("width=\"{:.1}\"", WIDTH * 0.75)));
        assert!(!svg.contains("<&x>"));
    }
}
