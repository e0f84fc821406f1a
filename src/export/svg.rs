//! Line charts and a heatmap as inline SVG, for `ringtop report`: axes with readable ticks
//! (linear, or powers of ten), one polyline per series, a legend. Written by hand: a report needs
//! a few plain charts, and plain SVG text is easy to check and needs no fonts or fetches.

use std::fmt::Write;

/// Series colours, distinct on screen and in grey.
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// How an axis maps values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Evenly.
    Linear,
    /// By powers of ten (values ≤ 0 are left out).
    Log,
}

/// One line.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its legend entry.
    pub name: String,
    /// Its points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// A chart of lines.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Above the plot.
    pub title: String,
    /// Under the x axis.
    pub x_label: String,
    /// Beside the y axis.
    pub y_label: String,
    /// The x axis.
    pub x_scale: Scale,
    /// The y axis.
    pub y_scale: Scale,
    /// Labels for chosen x positions instead of numbers (a percentile axis).
    pub x_ticks: Option<Vec<(f64, String)>>,
    /// The lines.
    pub series: Vec<Series>,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 52.0;

/// `text` safe inside SVG or HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number as a tick label: with k / M / G and at most three decimals (`1.5M`, `0.25`); not
/// for a figure in a table, which it may round (1,000,030 is `1M`).
pub fn short_number(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = format!("{scaled:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

struct Axis {
    scale: Scale,
    low: f64,
    high: f64,
}

/// The largest 1, 2 or 5 times a power of ten at or below `value` (> 0): where a log axis starts,
/// so that a sweep from 100k to 200k rows/s fills the plot rather than a seventh of it.
fn nice_below(value: f64) -> f64 {
    let power = 10f64.powf((value.log10() + 1e-9).floor());
    [5.0, 2.0, 1.0]
        .iter()
        .map(|m| m * power)
        .find(|at| *at <= value * (1.0 + 1e-9))
        .unwrap_or(power)
}

/// The smallest 1, 2 or 5 times a power of ten at or above `value` (> 0): where a log axis ends.
fn nice_above(value: f64) -> f64 {
    let power = 10f64.powf((value.log10() - 1e-9).floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|at| *at >= value * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

impl Axis {
    fn fit(scale: Scale, values: impl Iterator<Item = f64>) -> Option<Axis> {
        let values: Vec<f64> = values
            .filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0))
            .collect();
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !low.is_finite() {
            return None;
        }
        Some(match scale {
            Scale::Linear => {
                let low = low.min(0.0);
                let high = if high > low { high * 1.05 } else { low + 1.0 };
                Axis { scale, low, high }
            }
            Scale::Log => {
                let (decade_low, decade_high) = (
                    10f64.powf((low.log10() + 1e-9).floor()),
                    10f64.powf((high.log10() - 1e-9).ceil()),
                );
                let (low, high) = if decade_high / decade_low > 100.0 * (1.0 + 1e-9) {
                    // Over more than two decades, each is ticked and the axis ends on them.
                    (decade_low, decade_high)
                } else {
                    let low = nice_below(low);
                    let high = nice_above(high);
                    (
                        low,
                        if high > low {
                            high
                        } else {
                            nice_above(low * 1.01)
                        },
                    )
                };
                Axis { scale, low, high }
            }
        })
    }

    /// Where `value` falls, 0 to 1.
    fn place(&self, value: f64) -> Option<f64> {
        match self.scale {
            Scale::Linear => Some((value - self.low) / (self.high - self.low)),
            Scale::Log if value > 0.0 => {
                Some((value.log10() - self.low.log10()) / (self.high.log10() - self.low.log10()))
            }
            Scale::Log => None,
        }
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        match self.scale {
            Scale::Log => {
                // Each power of ten; over two decades or fewer, 2 and 5 times each too, so an
                // axis of one decade is not read from its two ends alone.
                let decades = (self.high / self.low).log10();
                let steps: &[f64] = if decades <= 2.0 + 1e-9 {
                    &[1.0, 2.0, 5.0]
                } else {
                    &[1.0]
                };
                let mut ticks = Vec::new();
                let mut power = 10f64.powf((self.low.log10() + 1e-9).floor());
                while power <= self.high * 1.0001 {
                    for at in steps.iter().map(|m| m * power) {
                        if at >= self.low * 0.9999 && at <= self.high * 1.0001 {
                            ticks.push((at, short_number(at)));
                        }
                    }
                    power *= 10.0;
                }
                ticks
            }
            Scale::Linear => {
                let span = self.high - self.low;
                let rough = span / 5.0;
                let power = 10f64.powf(rough.log10().floor());
                let step = [1.0, 2.0, 5.0, 10.0]
                    .iter()
                    .map(|m| m * power)
                    .find(|s| span / s <= 6.0)
                    .unwrap_or(10.0 * power);
                let mut ticks = Vec::new();
                let mut at = (self.low / step).ceil() * step;
                while at <= self.high + step * 1e-9 {
                    ticks.push((at, short_number(at)));
                    at += step;
                }
                ticks
            }
        }
    }
}

impl Chart {
    /// The chart as an `<svg>` element; a chart without a single point says so in words.
    pub fn svg(&self) -> String {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let (Some(x), Some(y)) = (
            Axis::fit(self.x_scale, points().map(|p| p.0)),
            Axis::fit(self.y_scale, points().map(|p| p.1)),
        ) else {
            return format!(
                "<p class=\"empty\">{}: nothing to plot here.</p>",
                escape(&self.title)
            );
        };
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let px = |v: f64| x.place(v).map(|f| LEFT + f * plot_w);
        let py = |v: f64| y.place(v).map(|f| TOP + (1.0 - f) * plot_h);
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
             width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{title}\">\
             <title>{title}</title>\
             <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\
             <text x=\"{LEFT}\" y=\"20\" class=\"title\">{title}</text>",
            title = escape(&self.title)
        );
        let x_ticks = self.x_ticks.clone().unwrap_or_else(|| x.ticks());
        for (value, label) in &x_ticks {
            let Some(at) = px(*value) else { continue };
            if !(LEFT - 0.5..=LEFT + plot_w + 0.5).contains(&at) {
                continue;
            }
            let _ = write!(
                svg,
                "<line x1=\"{at:.1}\" y1=\"{TOP}\" x2=\"{at:.1}\" y2=\"{:.1}\" class=\"grid\"/>\
                 <text x=\"{at:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                TOP + plot_h,
                TOP + plot_h + 16.0,
                escape(label)
            );
        }
        for (value, label) in y.ticks() {
            let Some(at) = py(value) else { continue };
            let _ = write!(
                svg,
                "<line x1=\"{LEFT}\" y1=\"{at:.1}\" x2=\"{:.1}\" y2=\"{at:.1}\" class=\"grid\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                LEFT + plot_w,
                LEFT - 6.0,
                at + 4.0,
                escape(&label)
            );
        }
        let _ = write!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" class=\"frame\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"middle\">{}</text>\
             <text x=\"16\" y=\"{:.1}\" class=\"label\" text-anchor=\"middle\" \
             transform=\"rotate(-90 16 {:.1})\">{}</text>",
            LEFT + plot_w / 2.0,
            HEIGHT - 10.0,
            escape(&self.x_label),
            TOP + plot_h / 2.0,
            TOP + plot_h / 2.0,
            escape(&self.y_label)
        );
        let mut legend = Vec::new();
        let drawn = self.series.len();
        for (index, series) in self.series.iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()];
            let width = line_width(index, drawn);
            let coordinates: Vec<String> = series
                .points
                .iter()
                .filter_map(|(vx, vy)| Some(format!("{:.1},{:.1}", px(*vx)?, py(*vy)?)))
                .collect();
            if coordinates.is_empty() {
                continue;
            }
            let _ = write!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" \
                 stroke-width=\"{width:.1}\" class=\"series\"><title>{}</title></polyline>",
                coordinates.join(" "),
                escape(&series.name)
            );
            if coordinates.len() == 1 {
                let (cx, cy) = coordinates[0].split_once(',').unwrap_or(("0", "0"));
                let _ = write!(
                    svg,
                    "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"4\" fill=\"{color}\"/>"
                );
            }
            legend.push((color, series.name.as_str()));
        }
        write_legend(&mut svg, &legend);
        svg.push_str("</svg>");
        svg
    }
}

/// The width of series `index` of `count`: each drawn thinner than the one before it (down to
/// the last's 2.5 pixels, at most three steps up), so that lines that coincide (a producer and
/// its consumer at one rate, a broadcast ring's consumers) show as stripes, none hidden.
fn line_width(index: usize, count: usize) -> f64 {
    let later = count.saturating_sub(index + 1).min(3);
    2.5 + 2.0 * later as f64
}

/// The legend in the plot's top left corner, drawn after every line so that no line crosses an
/// entry: a swatch and the name of each drawn series, on a white box that lets the lines under it
/// show faintly.
fn write_legend(svg: &mut String, entries: &[(&str, &str)]) {
    if entries.is_empty() {
        return;
    }
    // 11-pixel sans-serif text averages under 6.5 pixels a character.
    let widest = entries
        .iter()
        .map(|(_, name)| name.chars().count())
        .max()
        .unwrap_or(0);
    let _ = write!(
        svg,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#ffffff\" \
         fill-opacity=\"0.85\" stroke=\"#cccccc\" class=\"legend-box\"/>",
        LEFT + 4.0,
        TOP + 3.0,
        30.0 + widest as f64 * 6.5,
        entries.len() as f64 * 16.0 + 4.0
    );
    for (index, (color, name)) in entries.iter().enumerate() {
        let legend_y = TOP + 14.0 + index as f64 * 16.0;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"legend\">{}</text>",
            LEFT + 10.0,
            legend_y - 4.0,
            LEFT + 28.0,
            legend_y,
            escape(name)
        );
    }
}

/// A square heatmap of `values[i][j]` (row and column labels `labels`), darker for larger; empty
/// cells for `None`.
pub fn heatmap(title: &str, labels: &[String], values: &[Vec<Option<f64>>], unit: &str) -> String {
    let n = labels.len().max(1) as f64;
    let cell = (560.0 / n).clamp(6.0, 48.0);
    let side = (LEFT + cell * n + RIGHT).max(480.0);
    let measured: Vec<f64> = values.iter().flatten().flatten().copied().collect();
    let low = measured.iter().copied().fold(f64::INFINITY, f64::min);
    let high = measured.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {side:.0} {h:.0}\" \
         width=\"{side:.0}\" height=\"{h:.0}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
         <rect x=\"0\" y=\"0\" width=\"{side:.0}\" height=\"{h:.0}\" fill=\"#ffffff\"/>\
         <text x=\"{LEFT}\" y=\"20\" class=\"title\">{t}</text>",
        h = TOP + cell * n + 40.0,
        t = escape(title)
    );
    for (i, row) in values.iter().enumerate() {
        for (j, value) in row.iter().enumerate() {
            let Some(value) = value else { continue };
            let share = if high > low {
                (value - low) / (high - low)
            } else {
                0.5
            };
            // From pale blue (fast) to dark blue (slow).
            let shade = |from: f64, to: f64| (from + (to - from) * share).round() as u8;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" \
                 fill=\"#{:02x}{:02x}{:02x}\"><title>{} → {}: {:.0} {}</title></rect>",
                LEFT + j as f64 * cell,
                TOP + i as f64 * cell,
                shade(222.0, 8.0),
                shade(235.0, 48.0),
                shade(247.0, 107.0),
                escape(&labels[i]),
                escape(&labels[j]),
                value,
                escape(unit)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            TOP + (i as f64 + 0.7) * cell,
            escape(&labels[i])
        );
    }
    if low.is_finite() {
        let _ = write!(
            svg,
            "<text x=\"{LEFT}\" y=\"{:.1}\" class=\"label\">pale {} {unit} … dark {} {unit}</text>",
            TOP + cell * n + 24.0,
            short_number(low),
            short_number(high)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_each_series_in_its_colour_within_the_plot() {
        let chart = Chart {
            title: "t <1>".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log,
            x_ticks: None,
            series: vec![
                Series {
                    name: "a".into(),
                    points: vec![(0.0, 10.0), (1.0, 1000.0)],
                },
                Series {
                    name: "b & c".into(),
                    points: vec![(0.5, 0.0), (0.5, 100.0)],
                },
            ],
        };
        let svg = chart.svg();
        assert!(svg.contains(PALETTE[0]) && svg.contains(PALETTE[1]));
        assert!(svg.contains("t &lt;1&gt;") && svg.contains("b &amp; c"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // Each line thinner than the one under it: equal figures show both colours.
        assert!(
            svg.contains("stroke-width=\"4.5\" class=\"series\"><title>a<"),
            "{svg}"
        );
        assert!(svg.contains("stroke-width=\"2.5\" class=\"series\"><title>b &amp; c<"));
        // The legend lies over the lines, on its box, so no line crosses an entry.
        let last_line = svg.rfind("<polyline").unwrap();
        let legend_box = svg.find("class=\"legend-box\"").unwrap();
        assert!(last_line < legend_box);
        assert!(legend_box < svg.find("class=\"legend\"").unwrap());
        // A log axis from 10 to 1000: ticks at each power of ten, and the zero is left out.
        assert!(svg.contains(">10<") && svg.contains(">100<") && svg.contains(">1k<"));
    }

    #[test]
    fn a_chart_without_points_says_so() {
        let chart = Chart {
            title: "Latency".into(),
            x_label: String::new(),
            y_label: String::new(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            x_ticks: None,
            series: Vec::new(),
        };
        assert!(chart.svg().contains("nothing to plot"));
    }

    #[test]
    fn a_log_axis_of_a_decade_or_two_is_ticked_at_two_and_five_too() {
        let ticks = |low: f64, high: f64| -> Vec<String> {
            Axis::fit(Scale::Log, [low, high].into_iter())
                .unwrap()
                .ticks()
                .into_iter()
                .map(|(_, label)| label)
                .collect()
        };
        assert_eq!(ticks(12_000.0, 90_000.0), ["10k", "20k", "50k", "100k"]);
        assert_eq!(
            ticks(150.0, 9_000.0),
            ["100", "200", "500", "1k", "2k", "5k", "10k"]
        );
        assert_eq!(ticks(100.0, 5e6), ["100", "1k", "10k", "100k", "1M", "10M"]);
    }

    #[test]
    fn a_log_axis_ends_at_the_nearest_one_two_or_five_around_its_values() {
        let span = |low: f64, high: f64| {
            let axis = Axis::fit(Scale::Log, [low, high].into_iter()).unwrap();
            (axis.low, axis.high)
        };
        // A sweep from 100k to 200k rows/s fills the plot, not a seventh of two decades.
        assert_eq!(span(99_980.0, 200_008.0), (50_000.0, 500_000.0));
        assert_eq!(span(100_000.0, 200_000.0), (100_000.0, 200_000.0));
        // Over more than two decades the axis ends on powers of ten, each ticked.
        assert_eq!(span(254.0, 3_710_975.0), (100.0, 10_000_000.0));
        // One value still gets an axis with two ends.
        assert_eq!(span(100.0, 100.0), (100.0, 200.0));
        let labels: Vec<String> = Axis::fit(Scale::Log, [99_980.0, 200_008.0].into_iter())
            .unwrap()
            .ticks()
            .into_iter()
            .map(|(_, label)| label)
            .collect();
        assert_eq!(labels, ["50k", "100k", "200k", "500k"]);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(short_number(1_500_000.0), "1.5M");
        assert_eq!(short_number(250.0), "250");
        assert_eq!(short_number(0.25), "0.25");
    }
}
