//! Compression: codec, ratio gauge, encode/decode speed, ratio history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Sparkline};

use crate::metrics::snapshot::{CodecSnapshot, LinkRole};
use crate::tui::app::{App, Pane};
use crate::tui::columns::line_of;
use crate::tui::style;
use crate::tui::wrap::note_lines;

/// Ratios at or above this fill the gauge.
const FULL_RATIO: f64 = 20.0;

/// What the pane says of a run without a codec.
const UNFRAMED: &str = "rows travel unframed: no codec (load compressed-timeseries with `l`)";

/// The fewest rows the pane needs at `width` columns (borders included): the codec and its
/// speeds, the ratio's gauge and its history's caption, or the lines of its note where rows
/// travel unframed.
pub fn least_height(app: &App, width: u16) -> u16 {
    let framed = app.snapshot.as_ref().is_some_and(|s| s.codec.is_some());
    let lines = if framed {
        3
    } else {
        note_lines(&[UNFRAMED.to_owned()], width.saturating_sub(2)).len()
    };
    u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2)
}

/// Draws the compression pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    // The speeds are of the rows going in and coming out (64 bytes each), not of frame bytes:
    // said where the pane has room for it.
    let codec = app.snapshot.as_ref().and_then(|s| s.codec.as_ref());
    let title = if codec.is_some() && area.width >= UNITS_TITLE.chars().count() as u16 + 2 {
        UNITS_TITLE
    } else {
        " Compression "
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(style::border(app, app.focus == Pane::Compression));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(codec) = codec else {
        frame.render_widget(
            Paragraph::new(note_lines(&[UNFRAMED.to_owned()], inner.width)).style(style::dim(app)),
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
    // A link's ends each run one side of the codec: the other's speed is the far end's to give.
    let role = app
        .snapshot
        .as_ref()
        .and_then(|s| s.transport.as_ref())
        .map(|t| t.role);
    // `not_run_by`: the end that does not run this side of the codec.
    let speed = |ns: Option<f64>, not_run_by: LinkRole| match ns {
        Some(ns) => format!("{:.0} MB/s", 64.0 / ns * 1e3),
        None if role == Some(not_run_by) => "n/a (far end)".to_owned(),
        None => "n/a".to_owned(),
    };
    // Each part whole: narrow, one speed gives way before a number is cut: the far end's on a
    // link (this end's is the figure it has), the encoder's elsewhere.
    let (encoder_need, decoder_need) = if role == Some(LinkRole::Sender) {
        (8, 7)
    } else {
        (7, 8)
    };
    let line = line_of(
        vec![
            (
                Span::raw(
                    codec
                        .name
                        .clone()
                        .unwrap_or_else(|| "codec n/a: no frame yet".to_owned()),
                ),
                9,
            ),
            (
                Span::raw(format!(
                    "enc {}",
                    speed(codec.encode_ns_per_row, LinkRole::Receiver)
                )),
                encoder_need,
            ),
            (
                Span::raw(format!(
                    "dec {}",
                    speed(codec.decode_ns_per_row, LinkRole::Sender)
                )),
                decoder_need,
            ),
        ],
        "  ",
        text_area.width,
    );
    frame.render_widget(Paragraph::new(line), text_area);
    let ratio = codec.ratio.unwrap_or(0.0);
    let gauge = Gauge::default()
        .ratio((ratio / FULL_RATIO).clamp(0.0, 1.0))
        .label(ratio_label(codec, gauge_area.width));
    frame.render_widget(gauge, gauge_area);
    let history: Vec<u64> = app.ratio_history.iter().copied().collect();
    let shown = &history[history.len().saturating_sub(spark_area.width as usize)..];
    let [caption_area, bars_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(spark_area);
    let interval_s = app.snapshot.as_ref().map_or(0.0, |s| s.interval_s);
    frame.render_widget(
        Paragraph::new(history_caption(shown, interval_s)).style(style::dim(app)),
        caption_area,
    );
    frame.render_widget(Sparkline::default().data(shown), bars_area);
}

/// The ratio, and the rows a frame where the gauge has room: a paced producer sends a frame when
/// its rows are due, so at a slow rate a frame holds a row or two and the ratio is near 1×,
/// which the rows a frame explain.
fn ratio_label(codec: &CodecSnapshot, width: u16) -> String {
    let Some(ratio) = codec.ratio else {
        return "ratio n/a".to_owned();
    };
    let short = format!("ratio {ratio:.2}×");
    let Some(rows) = codec.rows_per_frame else {
        return short;
    };
    let rows = if rows < 10.0 {
        format!("{rows:.1}")
    } else {
        format!("{rows:.0}")
    };
    let long = format!("{short} · {rows} rows a frame");
    if long.chars().count() as u16 + 2 <= width {
        long
    } else {
        short
    }
}

/// The block's title where the pane is wide enough to say what its speeds are of.
const UNITS_TITLE: &str = " Compression · MB/s of 64-byte rows ";

/// What the bars below show and the range they span: the bars rise from zero, so a ratio that
/// barely moves draws as nearly level bars, and the figures say how far it moved.
fn history_caption(shown: &[u64], interval_s: f64) -> String {
    let (Some(low), Some(high)) = (shown.iter().min(), shown.iter().max()) else {
        return "ratio history: no frame yet".to_owned();
    };
    let span_s = shown.len() as f64 * interval_s;
    let range = if low == high {
        format!("{:.2}×", *low as f64 / 100.0)
    } else {
        format!("{:.2}–{:.2}×", *low as f64 / 100.0, *high as f64 / 100.0)
    };
    format!("ratio, last {}: {range}", human_seconds(span_s))
}

/// `42 s`, or `2.5 s` below ten seconds.
fn human_seconds(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{seconds:.0} s")
    }
}
