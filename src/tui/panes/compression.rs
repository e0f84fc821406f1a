//! Compression: codec, ratio gauge, encode/decode speed, ratio history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Sparkline};

use crate::tui::app::{App, Pane};
use crate::tui::columns::line_of;
use crate::tui::style;

/// Ratios at or above this fill the gauge.
const FULL_RATIO: f64 = 20.0;

/// Draws the compression pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Compression ")
        .border_style(style::border(app, app.focus == Pane::Compression));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(codec) = app.snapshot.as_ref().and_then(|s| s.codec.as_ref()) else {
        frame.render_widget(
            Paragraph::new("rows travel unframed: no codec (load compressed-timeseries with `l`)")
                .style(style::dim(app))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    };
    let [text_area, gauge_area, spark_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    let speed = |ns: Option<f64>| {
        ns.map_or("n/a".to_owned(), |ns| {
            format!("{:.0} MB/s", 64.0 / ns * 1e3)
        })
    };
    // Each part whole: narrow, the encoder's speed gives way before a number is cut.
    let line = line_of(
        vec![
            (Span::raw(codec.name.clone()), 9),
            (
                Span::raw(format!("enc {}", speed(codec.encode_ns_per_row))),
                7,
            ),
            (
                Span::raw(format!("dec {}", speed(codec.decode_ns_per_row))),
                8,
            ),
        ],
        "  ",
        text_area.width,
    );
    frame.render_widget(Paragraph::new(line), text_area);
    let ratio = codec.ratio.unwrap_or(0.0);
    let gauge = Gauge::default()
        .ratio((ratio / FULL_RATIO).clamp(0.0, 1.0))
        .label(
            codec
                .ratio
                .map_or("ratio n/a".to_owned(), |r| format!("ratio {r:.2}×")),
        );
    frame.render_widget(gauge, gauge_area);
    let history: Vec<u64> = app.ratio_history.iter().copied().collect();
    let shown = &history[history.len().saturating_sub(spark_area.width as usize)..];
    frame.render_widget(Sparkline::default().data(shown), spark_area);
}
