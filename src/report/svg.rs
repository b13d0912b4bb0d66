//! Charts as SVG text, drawn here rather than by a script so the HTML report stays one
//! self-contained file that opens anywhere (no network, no JavaScript).

use super::Bar;
use std::fmt::Write;

const FONT: &str = "font-family=\"system-ui, sans-serif\" font-size=\"12\"";
const BAR_HEIGHT: f64 = 18.0;
const BAR_GAP: f64 = 6.0;
const LABEL_WIDTH: f64 = 150.0;
const PLOT_WIDTH: f64 = 420.0;
const VALUE_WIDTH: f64 = 60.0;

/// Text safe inside SVG/HTML elements and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars like the article's charts: one per runtime, the longest scaled to the plot,
/// with a dashed line at `mark` (1.0: the median runtime).
pub fn bar_chart(title: &str, bars: &[Bar], mark: Option<f64>) -> String {
    let top = 24.0;
    let height = top + bars.len() as f64 * (BAR_HEIGHT + BAR_GAP) + 8.0;
    let width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
    let largest = bars
        .iter()
        .map(|b| b.value)
        .chain(mark)
        .fold(f64::MIN_POSITIVE, f64::max);
    let scale = PLOT_WIDTH / largest;
    let mut svg = open_svg(title, width, height);
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>",
        escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = top + i as f64 * (BAR_HEIGHT + BAR_GAP);
        let length = (bar.value * scale).max(1.0);
        let _ = write!(
            svg,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect class=\"bar\" x=\"{LABEL_WIDTH}\" y=\"{y}\" width=\"{length:.1}\" height=\"{BAR_HEIGHT}\" fill=\"{fill}\"><title>{label}: {value:.2}×</title></rect>\
             <text x=\"{vx:.1}\" y=\"{ty}\">{value:.2}×</text>",
            lx = LABEL_WIDTH - 6.0,
            ty = y + 13.0,
            label = escape(&bar.label),
            fill = color(i),
            value = bar.value,
            vx = LABEL_WIDTH + length + 4.0,
        );
    }
    if let Some(mark) = mark {
        let x = LABEL_WIDTH + mark * scale;
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>",
            top - 4.0,
            height - 4.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One line of a trend chart: a value per night, some nights marked (a regression found).
pub struct Line<'a> {
    pub label: &'a str,
    /// (x label, value, note shown on a marked point).
    pub points: Vec<(String, f64, Option<String>)>,
    /// Indices of points that start a new part of a chained trend: the line is not drawn
    /// into them, since nothing measured the step between the parts.
    pub breaks: Vec<usize>,
}

/// Where a trend chart's values land: the plot area inside the margins, and the value range
/// the y axis spans.
struct Plot {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    /// The whole chart's height, for the night labels under the plot.
    chart_height: f64,
    low: f64,
    high: f64,
    /// The value range before padding, for the ticks at its ends.
    pad: f64,
    nights: usize,
}

impl Plot {
    fn new(lines: &[Line], (width, height): (f64, f64)) -> Plot {
        let (left, right, top, bottom) = (56.0, 120.0, 28.0, 40.0);
        let values = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
        let (low, high) = values.fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let pad = ((high - low) * 0.1).max(0.01);
        Plot {
            left,
            top,
            width: width - left - right,
            height: height - top - bottom,
            chart_height: height - bottom,
            low: low - pad,
            high: high + pad,
            pad,
            nights: lines.iter().map(|l| l.points.len()).max().unwrap_or(0),
        }
    }

    fn x_of(&self, night: usize) -> f64 {
        self.left + self.width * (night as f64 + 0.5) / self.nights.max(1) as f64
    }

    fn y_of(&self, value: f64) -> f64 {
        self.top + self.height * (self.high - value) / (self.high - self.low)
    }
}

/// Values over nights, one line per series, marked points drawn as red diamonds with their
/// note as a tooltip; the y axis is centred so 1.0 (the first night) is always visible.
pub fn line_chart(title: &str, lines: &[Line], y_label: &str) -> String {
    let (width, height) = (640.0, 240.0);
    let plot = Plot::new(lines, (width, height));
    let middle = plot.top + plot.height / 2.0;
    let mut svg = open_svg(title, width, height);
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>\
         <text x=\"0\" y=\"{middle:.1}\" transform=\"rotate(-90 10 {middle:.1})\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
        escape(title),
        escape(y_label)
    );
    y_ticks(&mut svg, &plot);
    night_labels(&mut svg, &plot, lines);
    for (n, line) in lines.iter().enumerate() {
        draw_line(&mut svg, &plot, n, line);
    }
    svg.push_str("</svg>");
    svg
}

/// Grid lines at 1.0 and near both ends of the range.
fn y_ticks(svg: &mut String, plot: &Plot) {
    let (low, high, pad) = (plot.low, plot.high, plot.pad);
    let mut ticks: Vec<f64> = vec![1.0];
    for tick in [low + pad, high - pad] {
        // A tick too close to another would print over it.
        if ticks.iter().all(|t| (t - tick).abs() > (high - low) * 0.08) {
            ticks.push(tick);
        }
    }
    for tick in ticks {
        let y = plot.y_of(tick);
        let _ = write!(
            svg,
            "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{tick:.3}</text>",
            plot.left,
            plot.left + plot.width,
            plot.left - 4.0,
            y + 3.0
        );
    }
}

/// An upper bound on one character's width at the labels' 10 px type, and the room between two.
const LABEL_CHAR_WIDTH: f64 = 6.0;
const LABEL_GAP: f64 = 12.0;

/// Night labels under the plot, as many as fit its width without running into each other:
/// a date is ten characters, a nightly's RFC 3339 time twenty (every point's tooltip has it).
fn night_labels(svg: &mut String, plot: &Plot, lines: &[Line]) {
    let Some(longest) = lines.iter().max_by_key(|l| l.points.len()) else {
        return;
    };
    let widest = (longest.points.iter())
        .map(|(x_label, _, _)| x_label.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let fitting = (plot.width / (widest * LABEL_CHAR_WIDTH + LABEL_GAP)).floor() as usize;
    let every = longest.points.len().div_ceil(fitting.clamp(1, 6)).max(1);
    for (i, (x_label, _, _)) in longest.points.iter().enumerate().step_by(every) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
            plot.x_of(i),
            plot.chart_height + 14.0,
            escape(x_label)
        );
    }
}

/// The `n`-th series: its polyline (one per part, where a chained trend breaks), a dot per
/// night (a diamond where marked) and its label.
fn draw_line(svg: &mut String, plot: &Plot, n: usize, line: &Line) {
    let mut parts: Vec<Vec<String>> = vec![Vec::new()];
    for (i, p) in line.points.iter().enumerate() {
        if line.breaks.contains(&i) && parts.last().is_some_and(|part| !part.is_empty()) {
            parts.push(Vec::new());
        }
        if let Some(part) = parts.last_mut() {
            part.push(format!("{:.1},{:.1}", plot.x_of(i), plot.y_of(p.1)));
        }
    }
    for part in parts.iter().filter(|part| !part.is_empty()) {
        let _ = write!(
            svg,
            "<polyline class=\"trend\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            part.join(" "),
            color(n)
        );
    }
    for i in &line.breaks {
        let x = plot.x_of(*i) - plot.width / plot.nights.max(1) as f64 / 2.0;
        let _ = write!(
            svg,
            "<line class=\"chain-break\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"2 3\"><title>a new chain starts: no link to an earlier night</title></line>",
            plot.top,
            plot.top + plot.height
        );
    }
    for (i, (x_label, value, note)) in line.points.iter().enumerate() {
        let (x, y) = (plot.x_of(i), plot.y_of(*value));
        let _ = match note {
            Some(note) => write!(
                svg,
                "<path class=\"regression\" d=\"M{x:.1} {:.1} l5 5 l-5 5 l-5 -5 z\" fill=\"#d00\"><title>{}: {value:.3} — {}</title></path>",
                y - 5.0,
                escape(x_label),
                escape(note)
            ),
            None => write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"><title>{}: {value:.3}</title></circle>",
                color(n),
                escape(x_label)
            ),
        };
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text>",
        plot.left + plot.width + 6.0,
        plot.top + 12.0 + 14.0 * n as f64,
        color(n),
        escape(line.label)
    );
}

pub(super) fn open_svg(title: &str, width: f64, height: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height:.0}\" viewBox=\"0 0 {width} {height:.0}\" {FONT}>",
        escape(title)
    )
}

/// A palette that stays apart for the dozen runtimes the article compares.
fn color(index: usize) -> &'static str {
    const PALETTE: [&str; 12] = [
        "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
        "#9c755f", "#bab0ac", "#1f77b4", "#8c564b",
    ];
    PALETTE[index % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let bars = [
            Bar {
                label: "a<b".into(),
                value: 2.0,
            },
            Bar {
                label: "c".into(),
                value: 1.0,
            },
        ];
        let svg = bar_chart("t & u", &bars, Some(1.0));
        assert!(svg.contains("a&lt;b") && svg.contains("t &amp; u"));
        assert!(svg.contains(&format!("width=\"{PLOT_WIDTH:.1}\"")));
        assert!(svg.contains(&format!("width=\"{:.1}\"", PLOT_WIDTH / 2.0)));
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn marked_points_are_drawn_apart() {
        let line = Line {
            label: "wasmtime",
            points: vec![
                ("d1".into(), 1.0, None),
                ("d2".into(), 1.1, Some("sign regressed".into())),
            ],
            breaks: Vec::new(),
        };
        let svg = line_chart("t", &[line], "y");
        assert_eq!(svg.matches("class=\"regression\"").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains("sign regressed"));
    }

    #[test]
    fn night_labels_fit_the_plot_without_running_into_each_other() {
        let labels_under = |label: &dyn Fn(usize) -> String| {
            let points = (0..20).map(|i| (label(i), 1.0, None)).collect();
            let line = Line {
                label: "wasmtime",
                points,
                breaks: Vec::new(),
            };
            let svg = line_chart("t", &[line], "y");
            svg.matches("text-anchor=\"middle\" font-size=\"10\">2026")
                .count()
        };
        // A nightly's times (20 characters) leave room for 3 on the plot, dates for 5.
        assert_eq!(
            labels_under(&|i| format!("2026-11-{:02}T03:00:00Z", i + 1)),
            3
        );
        assert_eq!(labels_under(&|i| format!("2026-11-{:02}", i + 1)), 5);
    }

    #[test]
    fn a_chain_break_is_a_gap_not_a_line() {
        let points = (0..5).map(|i| (format!("d{i}"), 1.0, None)).collect();
        let line = Line {
            label: "wasmtime",
            points,
            breaks: vec![3],
        };
        let svg = line_chart("t", &[line], "y");
        assert_eq!(svg.matches("class=\"trend\"").count(), 2);
        assert_eq!(svg.matches("class=\"chain-break\"").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 5);
    }
}
