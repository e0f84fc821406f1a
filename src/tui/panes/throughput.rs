//! Throughput over time: rows/s per snapshot, as the header gives them ([`row_rate`]).
//!
//! [`row_rate`]: crate::metrics::snapshot::Snapshot::row_rate

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType};

use crate::metrics::human::format_rate;
use crate::tui::app::App;

/// Draws the throughput chart.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let points: Vec<(f64, f64)> = app.throughput_history.iter().copied().collect();
    let (x0, x1) = match (points.first(), points.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => (a.0, b.0),
        (Some(a), _) => (a.0, a.0 + 1.0),
        _ => (0.0, 1.0),
    };
    let top = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let dataset = Dataset::default()
        .marker(symbols::Marker::Braille)
        .graph_type(GraphType::Line)
        .data(&points);
    // Where each row is read by several consumers, the chart's rows are the ones written.
    let readers = app.snapshot.as_ref().map_or(1, |s| s.row_rate().readers);
    let title = match readers {
        1 => " Throughput (rows/s) ".to_owned(),
        n => format!(" Throughput (rows/s written; each read by {n} consumers) "),
    };
    let chart = Chart::new(vec![dataset])
        .block(Block::default().borders(Borders::ALL).title(title))
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels([format!("{x0:.0}s"), format!("{x1:.0}s")]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(["0".to_owned(), format_rate(top)]),
        );
    frame.render_widget(chart, area);
}
