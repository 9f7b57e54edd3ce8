//! Small hand-written SVG charts for the figures in `docs/plots/` (`make bench`,
//! `make crash-test`): a title and a subtitle, a legend row, a linear y axis from 0, an x axis
//! that is linear or a histogram's bucket edges, and bars, points and labelled dashed reference
//! lines (a horizontal line's label goes to the legend row, where no mark can hide it). Axes
//! carry their units in their labels.
//!
//! No dependency. The same chart always renders to the same bytes: coordinates are written with
//! one decimal and nothing depends on time, locale or hashing. A white background keeps the
//! figure readable in GitHub's dark mode; 760 × 420 px fits GitHub's content column unscaled.

/// Width of every chart, in px.
pub const WIDTH: f64 = 760.0;
/// Height of every chart, in px.
pub const HEIGHT: f64 = 420.0;

/// The plot area.
const LEFT: f64 = 78.0;
const RIGHT: f64 = WIDTH - 24.0;
const TOP: f64 = 84.0;
const BOTTOM: f64 = HEIGHT - 58.0;

const FONT: &str = "Helvetica, Arial, sans-serif";
/// Rough width of a character of the 11 px tick labels, to keep labels from overlapping.
const TICK_CHAR_PX: f64 = 6.4;

/// Colours for marks (from the Tableau 10 palette, distinct for most colour blindness).
pub mod color {
    /// Blue.
    pub const BLUE: &str = "#4e79a7";
    /// Orange.
    pub const ORANGE: &str = "#f28e2b";
    /// Red.
    pub const RED: &str = "#e15759";
    /// Green.
    pub const GREEN: &str = "#59a14f";
    /// Dark grey.
    pub const GREY: &str = "#6b6b6b";
}

/// The x axis.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Linear over `min..=max`, widened to whole ticks.
    Linear { min: f64, max: f64 },
    /// A histogram's bucket edges: position `i` is edge `i`, labelled `labels[i]`; a bucket's bar
    /// spans `i..i + 1`.
    Edges(Vec<String>),
}

/// How a point (or a legend entry) is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Square,
    Circle,
    Cross,
    /// A short dashed line (a reference line's legend entry).
    Dash,
}

/// Something drawn in the plot area, in data coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// A bar over `x0..x1` from 0 to `y`, with an optional label above it (shown where the bar
    /// is wide enough).
    Bar {
        x0: f64,
        x1: f64,
        y: f64,
        color: &'static str,
        label: Option<String>,
    },
    /// A point.
    Point {
        x: f64,
        y: f64,
        color: &'static str,
        shape: Shape,
    },
    /// A dashed horizontal line across the plot, labelled in the legend row.
    HLine {
        y: f64,
        color: &'static str,
        label: String,
    },
    /// A dashed vertical line, labelled at the top; the labels of several lines are stacked.
    VLine {
        x: f64,
        color: &'static str,
        label: String,
    },
}

/// A legend entry, shown above the plot (after it, one for each horizontal line).
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub color: &'static str,
    pub shape: Shape,
}

/// A chart: render it with [`Chart::render`].
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub subtitle: String,
    pub x_axis: XAxis,
    /// The x axis's label, with its unit.
    pub x_label: String,
    /// The y axis's label, with its unit.
    pub y_label: String,
    /// The y axis runs from 0 to at least this, rounded up to a tick.
    pub y_max: f64,
    pub marks: Vec<Mark>,
    pub legend: Vec<LegendEntry>,
}

/// A linear map from a data interval to a pixel interval; values outside the data interval go
/// to its nearer end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Scale {
    /// The pixel position of `value`.
    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        let t = ((value - d0) / (d1 - d0)).clamp(0.0, 1.0);
        if t.is_finite() {
            r0 + t * (r1 - r0)
        } else {
            r0
        }
    }
}

/// Ticks over `min..=max`: the multiples of a step of 1, 2 or 5 × 10ⁿ that makes about `target`
/// intervals, from the last at or below `min` to the first at or above `max` (at least two).
/// Non-finite bounds give the ticks of `0..=1`.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    let (min, max) = if min.is_finite() && max.is_finite() {
        (min.min(max), min.max(max))
    } else {
        (0.0, 1.0)
    };
    let span = if max > min {
        max - min
    } else {
        min.abs().max(1.0)
    };
    let step = nice_step(span / target.max(1) as f64);
    let first = (min / step).floor() as i64;
    let last = ((max / step).ceil() as i64).max(first + 1);
    (first..=last).map(|i| i as f64 * step).collect()
}

/// The smallest 1, 2 or 5 × 10ⁿ at least `raw` (positive).
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// The decimals that write every multiple of `step` exactly (0 for whole steps, 1 for 0.1 …).
pub fn step_decimals(step: f64) -> usize {
    (0..=9)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .map_or(9, |d| d as usize)
}

/// `value` with `decimals` decimals and its thousands grouped by commas (`12,500`, `0.3`);
/// never `-0`.
pub fn format_number(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    let zero = !text.chars().any(|c| c.is_ascii_digit() && c != '0');
    if value < 0.0 && !zero {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// `text` escaped for XML text and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// A text element; `extra` holds further attributes.
fn text(svg: &mut String, x: f64, y: f64, size: u32, extra: &str, content: &str) {
    svg.push_str(&format!(
        "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\"{extra}>{}</text>\n",
        escape(content)
    ));
}

/// Attributes of a label drawn over lines and bars: a white halo around its glyphs.
const HALO: &str = " stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";

/// A vertical line's 11 px label on a white box, its baseline at `y`, starting at `x` or, with
/// `end`, ending there.
fn boxed_label(svg: &mut String, x: f64, y: f64, end: bool, color: &str, content: &str) {
    let width = content.chars().count() as f64 * 6.2 + 6.0;
    let left = if end { x - width + 3.0 } else { x - 3.0 };
    svg.push_str(&format!(
        "<rect x=\"{left:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"15\" rx=\"2\" fill=\"#ffffff\" fill-opacity=\"0.9\"/>\n",
        y - 11.0
    ));
    let anchor = if end { " text-anchor=\"end\"" } else { "" };
    text(
        svg,
        x,
        y,
        11,
        &format!("{anchor} fill=\"{color}\""),
        content,
    );
}

/// A point's or a legend entry's glyph centred on `(x, y)`.
fn glyph(svg: &mut String, x: f64, y: f64, shape: Shape, color: &str) {
    match shape {
        Shape::Square => svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"9\" height=\"9\" fill=\"{color}\"/>\n",
            x - 4.5,
            y - 4.5
        )),
        Shape::Circle => svg.push_str(&format!(
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\" fill=\"{color}\" fill-opacity=\"0.85\"/>\n"
        )),
        Shape::Dash => svg.push_str(&format!(
            "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"4 2\"/>\n",
            x - 6.0,
            x + 6.0
        )),
        Shape::Cross => svg.push_str(&format!(
            "<path d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\" stroke=\"{color}\" stroke-width=\"2\"/>\n",
            x - 4.0,
            y - 4.0,
            x + 4.0,
            y + 4.0,
            x - 4.0,
            y + 4.0,
            x + 4.0,
            y - 4.0
        )),
    }
}

/// Whether every number of a mark is finite (others are not drawn).
fn finite(mark: &Mark) -> bool {
    match mark {
        Mark::Bar { x0, x1, y, .. } => x0.is_finite() && x1.is_finite() && y.is_finite(),
        Mark::Point { x, y, .. } => x.is_finite() && y.is_finite(),
        Mark::HLine { y, .. } => y.is_finite(),
        Mark::VLine { x, .. } => x.is_finite(),
    }
}

impl Chart {
    /// The x scale and the x ticks (position, label).
    fn x_scale(&self) -> (Scale, Vec<(f64, String)>) {
        let ticks: Vec<(f64, String)> = match &self.x_axis {
            XAxis::Linear { min, max } => {
                let values = nice_ticks(*min, *max, 8);
                let decimals = step_decimals(values[1] - values[0]);
                values
                    .into_iter()
                    .map(|v| (v, format_number(v, decimals)))
                    .collect()
            }
            XAxis::Edges(labels) => labels
                .iter()
                .enumerate()
                .map(|(i, label)| (i as f64, label.clone()))
                .collect(),
        };
        let first = ticks.first().map_or(0.0, |t| t.0);
        let last = ticks.last().map_or(1.0, |t| t.0).max(first + 1.0);
        let scale = Scale {
            domain: (first, last),
            range: (LEFT, RIGHT),
        };
        (scale, ticks)
    }

    /// The y scale and the y ticks.
    fn y_scale(&self) -> (Scale, Vec<(f64, String)>) {
        let top = if self.y_max.is_finite() && self.y_max > 0.0 {
            self.y_max
        } else {
            1.0
        };
        let values = nice_ticks(0.0, top, 5);
        let decimals = step_decimals(values[1] - values[0]);
        let last = values.last().copied().unwrap_or(1.0);
        let scale = Scale {
            domain: (0.0, last),
            range: (BOTTOM, TOP),
        };
        let ticks = values
            .into_iter()
            .map(|v| (v, format_number(v, decimals)))
            .collect();
        (scale, ticks)
    }

    /// The chart as a standalone SVG document.
    pub fn render(&self) -> String {
        let (xs, x_ticks) = self.x_scale();
        let (ys, y_ticks) = self.y_scale();
        let mut svg = String::new();
        svg.push_str(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"{FONT}\" role=\"img\" aria-label=\"{}\">\n",
            escape(&self.title)
        ));
        svg.push_str(&format!("<title>{}</title>\n", escape(&self.title)));
        svg.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        text(
            &mut svg,
            LEFT,
            26.0,
            16,
            " font-weight=\"bold\" fill=\"#222222\"",
            &self.title,
        );
        text(
            &mut svg,
            LEFT,
            46.0,
            12,
            " fill=\"#555555\"",
            &self.subtitle,
        );
        let lines = self
            .marks
            .iter()
            .filter(|m| finite(m))
            .filter_map(|m| match m {
                Mark::HLine { color, label, .. } => Some(LegendEntry {
                    label: label.clone(),
                    color,
                    shape: Shape::Dash,
                }),
                _ => None,
            });
        let mut x = LEFT;
        for entry in self.legend.iter().cloned().chain(lines) {
            glyph(&mut svg, x + 6.0, 64.0, entry.shape, entry.color);
            text(
                &mut svg,
                x + 17.0,
                68.0,
                12,
                " fill=\"#333333\"",
                &entry.label,
            );
            x += 17.0 + entry.label.chars().count() as f64 * 6.6 + 20.0;
        }

        // Grid and y ticks.
        for (value, label) in &y_ticks {
            let y = ys.map(*value);
            svg.push_str(&format!(
                "<line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{RIGHT:.1}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\" stroke-width=\"1\"/>\n"
            ));
            text(
                &mut svg,
                LEFT - 8.0,
                y + 4.0,
                11,
                " text-anchor=\"end\" fill=\"#333333\"",
                label,
            );
        }
        // X ticks, skipping labels that would overlap the one before.
        let mut free_from = f64::NEG_INFINITY;
        for (value, label) in &x_ticks {
            let x = xs.map(*value);
            svg.push_str(&format!(
                "<line x1=\"{x:.1}\" y1=\"{BOTTOM:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333333\" stroke-width=\"1\"/>\n",
                BOTTOM + 5.0
            ));
            let half = label.chars().count() as f64 * TICK_CHAR_PX / 2.0;
            if x - half >= free_from {
                text(
                    &mut svg,
                    x,
                    BOTTOM + 19.0,
                    11,
                    " text-anchor=\"middle\" fill=\"#333333\"",
                    label,
                );
                free_from = x + half + 6.0;
            }
        }

        let mut vlines: u32 = 0;
        for mark in self.marks.iter().filter(|m| finite(m)) {
            match mark {
                Mark::Bar {
                    x0,
                    x1,
                    y,
                    color,
                    label,
                } => {
                    let (left, right) = (xs.map(x0.min(*x1)), xs.map(x0.max(*x1)));
                    let gap = if right - left > 4.0 { 1.0 } else { 0.0 };
                    let top = ys.map(y.max(0.0));
                    svg.push_str(&format!(
                        "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\n",
                        left + gap / 2.0,
                        (right - left - gap).max(0.0),
                        BOTTOM - top
                    ));
                    if let Some(label) = label.as_deref().filter(|_| right - left >= 14.0) {
                        text(
                            &mut svg,
                            (left + right) / 2.0,
                            top - 4.0,
                            10,
                            &format!(" text-anchor=\"middle\" fill=\"#333333\"{HALO}"),
                            label,
                        );
                    }
                }
                Mark::Point { x, y, color, shape } => {
                    glyph(&mut svg, xs.map(*x), ys.map(*y), *shape, color);
                }
                Mark::HLine { y, color, .. } => {
                    let y = ys.map(*y);
                    svg.push_str(&format!(
                        "<line x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{RIGHT:.1}\" y2=\"{y:.1}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
                    ));
                }
                Mark::VLine { x, color, label } => {
                    let x = xs.map(*x);
                    svg.push_str(&format!(
                        "<line x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" y2=\"{BOTTOM:.1}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
                    ));
                    let y = TOP + 13.0 + 16.0 * f64::from(vlines);
                    let end = x > RIGHT - 130.0;
                    let x = if end { x - 4.0 } else { x + 4.0 };
                    boxed_label(&mut svg, x, y, end, color, label);
                    vlines += 1;
                }
            }
        }

        // Axes over the marks, then their labels.
        svg.push_str(&format!(
            "<path d=\"M{LEFT:.1} {TOP:.1}V{BOTTOM:.1}H{RIGHT:.1}\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
        ));
        text(
            &mut svg,
            (LEFT + RIGHT) / 2.0,
            HEIGHT - 16.0,
            12,
            " text-anchor=\"middle\" fill=\"#222222\"",
            &self.x_label,
        );
        let middle = (TOP + BOTTOM) / 2.0;
        text(
            &mut svg,
            20.0,
            middle,
            12,
            &format!(
                " text-anchor=\"middle\" fill=\"#222222\" transform=\"rotate(-90 20 {middle:.1})\""
            ),
            &self.y_label,
        );
        svg.push_str("</svg>\n");
        svg
    }
}

/// Writes `svg` to `path`, creating its directory.
pub fn write(path: &std::path::Path, svg: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, svg).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `svg` as XML and checks that its elements nest and close, under one `svg` root;
    /// returns the elements' names in document order.
    fn elements(svg: &str) -> Vec<String> {
        let mut open: Vec<String> = Vec::new();
        let mut names = Vec::new();
        let mut roots = 0;
        for token in xmlparser::Tokenizer::from(svg) {
            match token.expect("well-formed XML") {
                xmlparser::Token::ElementStart { local, .. } => {
                    if open.is_empty() {
                        roots += 1;
                    }
                    open.push(local.as_str().to_owned());
                    names.push(local.as_str().to_owned());
                }
                xmlparser::Token::ElementEnd { end, .. } => match end {
                    xmlparser::ElementEnd::Open => {}
                    xmlparser::ElementEnd::Empty => {
                        open.pop().expect("an element to close");
                    }
                    xmlparser::ElementEnd::Close(_, local) => {
                        assert_eq!(
                            open.pop().as_deref(),
                            Some(local.as_str()),
                            "mismatched </{local}>"
                        );
                    }
                },
                _ => {}
            }
        }
        assert!(open.is_empty(), "unclosed elements: {open:?}");
        assert_eq!(roots, 1);
        assert_eq!(names.first().map(String::as_str), Some("svg"));
        names
    }

    fn chart(marks: Vec<Mark>) -> Chart {
        Chart {
            title: "Lag <of> \"timers\" & more".into(),
            subtitle: "run 2026-12-04".into(),
            x_axis: XAxis::Linear {
                min: 0.0,
                max: 47.0,
            },
            x_label: "seconds since START (s)".into(),
            y_label: "recipients / s".into(),
            y_max: 93.0,
            marks,
            legend: vec![LegendEntry {
                label: "SIGKILL".into(),
                color: color::ORANGE,
                shape: Shape::Cross,
            }],
        }
    }

    #[test]
    fn ticks_are_round_steps_covering_the_range() {
        assert_eq!(
            nice_ticks(0.0, 47.0, 5),
            vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
        );
        assert_eq!(nice_ticks(0.0, 1234.0, 5), vec![0.0, 500.0, 1000.0, 1500.0]);
        assert_eq!(
            nice_ticks(0.0, 200.0, 8),
            vec![0.0, 50.0, 100.0, 150.0, 200.0]
        );
        assert_eq!(nice_ticks(3.0, 17.0, 5), vec![0.0, 5.0, 10.0, 15.0, 20.0]);
        assert_eq!(
            nice_ticks(-12.0, 12.0, 4),
            vec![-20.0, -10.0, 0.0, 10.0, 20.0]
        );
        // Degenerate and bad ranges still give an axis.
        assert_eq!(nice_ticks(0.0, 0.0, 5), vec![0.0, 0.2]);
        assert_eq!(nice_ticks(5.0, 5.0, 5), vec![5.0, 6.0]);
        assert_eq!(nice_ticks(f64::NAN, 3.0, 5).len(), 6);
        let small = nice_ticks(0.0, 0.37, 4);
        assert_eq!(small.len(), 5);
        assert_eq!(step_decimals(small[1] - small[0]), 1);
        let labels: Vec<String> = small.iter().map(|v| format_number(*v, 1)).collect();
        assert_eq!(labels, ["0.0", "0.1", "0.2", "0.3", "0.4"]);
    }

    #[test]
    fn numbers_are_grouped_and_never_minus_zero() {
        assert_eq!(format_number(12_500.0, 0), "12,500");
        assert_eq!(format_number(1_234_567.25, 1), "1,234,567.2");
        assert_eq!(format_number(999.0, 0), "999");
        assert_eq!(format_number(-1500.0, 0), "-1,500");
        assert_eq!(format_number(-0.01, 1), "0.0");
        assert_eq!(step_decimals(50.0), 0);
        assert_eq!(step_decimals(0.05), 2);
        assert_eq!(step_decimals(0.2), 1);
    }

    #[test]
    fn the_scale_maps_linearly_and_clamps() {
        let scale = Scale {
            domain: (0.0, 50.0),
            range: (100.0, 600.0),
        };
        assert_eq!(scale.map(25.0), 350.0);
        assert_eq!(scale.map(0.0), 100.0);
        assert_eq!(scale.map(80.0), 600.0);
        assert_eq!(scale.map(-3.0), 100.0);
        let upward = Scale {
            domain: (0.0, 10.0),
            range: (BOTTOM, TOP),
        };
        assert_eq!(upward.map(10.0), TOP);
        assert_eq!(upward.map(5.0), (TOP + BOTTOM) / 2.0);
    }

    #[test]
    fn a_chart_is_well_formed_escaped_and_deterministic() {
        let marks = vec![
            Mark::Bar {
                x0: 0.0,
                x1: 5.0,
                y: 40.0,
                color: color::BLUE,
                label: Some("40".into()),
            },
            Mark::Point {
                x: 12.0,
                y: 80.0,
                color: color::ORANGE,
                shape: Shape::Cross,
            },
            Mark::HLine {
                y: 44.2,
                color: color::GREY,
                label: "average 44.2 /s".into(),
            },
            Mark::VLine {
                x: 30.0,
                color: color::RED,
                label: "p99 <5 ms>".into(),
            },
        ];
        let svg = chart(marks.clone()).render();
        let names = elements(&svg);
        assert_eq!(names.iter().filter(|n| *n == "title").count(), 1);
        // The white background, the bar and the vertical line's label box (the legend's cross
        // is a path, the horizontal line's dash a line).
        assert_eq!(names.iter().filter(|n| *n == "rect").count(), 3);
        // The horizontal line's label is in the legend row, after the given entry.
        let legend_row = "y=\"68.0\" font-size=\"12\" fill=\"#333333\">";
        assert_eq!(svg.matches(legend_row).count(), 2);
        assert!(svg.contains(&format!("{legend_row}average 44.2 /s</text>")));
        assert!(svg.contains("Lag &lt;of&gt; &quot;timers&quot; &amp; more"));
        assert!(svg.contains("p99 &lt;5 ms&gt;"));
        assert!(svg.contains(">seconds since START (s)</text>"));
        assert!(svg.contains(">recipients / s</text>"));
        // x ticks 0..50 by 10 (in range 0..47), y ticks 0..100 by 20.
        for label in ["0", "10", "50", "20", "100"] {
            assert!(svg.contains(&format!(">{label}</text>")), "tick {label}");
        }
        assert!(!svg.contains(">70</text>"));
        assert_eq!(svg, chart(marks).render());
    }

    #[test]
    fn the_bar_and_point_land_where_their_values_say() {
        let svg = chart(vec![
            Mark::Bar {
                x0: 10.0,
                x1: 20.0,
                y: 50.0,
                color: color::BLUE,
                label: None,
            },
            Mark::Point {
                x: 50.0,
                y: 0.0,
                color: color::GREEN,
                shape: Shape::Circle,
            },
        ])
        .render();
        let x = |v: f64| LEFT + v / 50.0 * (RIGHT - LEFT);
        let y = |v: f64| BOTTOM - v / 100.0 * (BOTTOM - TOP);
        assert!(svg.contains(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"",
            x(10.0) + 0.5,
            y(50.0),
            x(20.0) - x(10.0) - 1.0,
            BOTTOM - y(50.0)
        )));
        assert!(svg.contains(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\"",
            x(50.0),
            y(0.0)
        )));
    }

    #[test]
    fn bad_numbers_are_not_drawn_and_do_not_break_the_document() {
        let mut bad = chart(vec![
            Mark::Point {
                x: f64::NAN,
                y: 1.0,
                color: color::RED,
                shape: Shape::Circle,
            },
            Mark::HLine {
                y: f64::INFINITY,
                color: color::RED,
                label: "never".into(),
            },
        ]);
        bad.y_max = f64::NAN;
        bad.x_axis = XAxis::Linear {
            min: f64::NEG_INFINITY,
            max: 3.0,
        };
        let svg = bad.render();
        elements(&svg);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert!(!svg.contains("<circle") && !svg.contains("never"));
    }

    #[test]
    fn edge_labels_that_would_overlap_are_left_out() {
        let mut edges = chart(Vec::new());
        edges.x_axis = XAxis::Edges((0..60).map(|i| format!("{}", i * 1000)).collect());
        let svg = edges.render();
        elements(&svg);
        let shown = (0..60)
            .filter(|i| svg.contains(&format!(">{}</text>", i * 1000)))
            .count();
        // 59 intervals over 658 px leave about 11 px each: not every 4- or 5-digit label fits.
        assert!(shown > 10 && shown < 40, "{shown} labels");
        // Each edge still has its tick.
        assert_eq!(
            svg.matches(&format!("y2=\"{:.1}\" stroke=\"#333333\"", BOTTOM + 5.0))
                .count(),
            60
        );
    }
}
