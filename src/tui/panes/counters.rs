//! Counters per thread over the last interval: IPC, cache-miss rate, LLC misses/s, context
//! switches/s, and the ring's stalls, index reloads and chase back-offs per second (as many as
//! the width allows); `n/a` with the reason where the machine cannot count.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use crate::metrics::counters::CounterValues;
use crate::tui::app::{App, Pane};
use crate::tui::style::{self, format_rate};
use crate::tui::wrap::note_lines;

/// The ring's counters, in the order they give way when the pane is narrow: stalls say which
/// side waits for the other, reloads what the waiting costs in cache-line traffic, back-offs
/// whether a consumer chased its producer.
const RING_COLUMNS: [(&str, u16); 3] = [("stall/s", 7), ("reload/s", 8), ("backoff/s", 9)];

/// The machine's counters: IPC, miss%, LLC/s, ctxsw/s.
const MACHINE_COLUMNS: [(&str, u16); 4] = [("IPC", 4), ("miss%", 5), ("LLC/s", 6), ("ctxsw/s", 7)];

/// How the table fits `width` with the first `offered` ring columns, thread labels `long` or
/// `short` wide: whether threads get short labels, and how many ring columns show. Long labels
/// only when every offered column fits with them; then as many ring columns as fit.
fn fit(width: u16, offered: usize, (long, short): (u16, u16)) -> (bool, usize) {
    let machine: u16 = MACHINE_COLUMNS.iter().map(|(_, w)| w + 1).sum();
    let with = |label: u16, ring: usize| -> u16 {
        label + machine + RING_COLUMNS[..ring].iter().map(|(_, w)| w + 1).sum::<u16>()
    };
    if with(long, offered) <= width {
        return (false, offered);
    }
    let ring = (0..=offered)
        .rev()
        .find(|&ring| with(short, ring) <= width)
        .unwrap_or(0);
    (true, ring)
}

/// Draws the counters pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Counters ")
        .border_style(style::border(app, app.focus == Pane::Counters));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(s) = &app.snapshot else {
        return;
    };
    let secs = s.interval_s.max(1e-9);
    // Back-offs only where some consumer looks for a chase (SPSC rows): elsewhere the column
    // would be all n/a.
    let chases = s
        .threads
        .iter()
        .any(|t| t.endpoint.is_some_and(|e| e.chase_backoffs.is_some()));
    let offered = if chases { 3 } else { 2 };
    let names = || s.threads.iter().map(|t| t.name.as_str());
    let labels = (
        style::label_width(names(), false),
        style::label_width(names(), true),
    );
    let (short, ring_columns) = fit(inner.width, offered, labels);
    let na = || "n/a".to_owned();
    let rows = s.threads.iter().enumerate().map(|(i, t)| {
        let c = t.counters.as_ref();
        let ipc = c
            .and_then(|c| c.ipc())
            .map_or_else(na, |v| format!("{v:.2}"));
        let miss = c
            .and_then(|c| Some(c.cache_misses? as f64 / c.cache_references?.max(1) as f64 * 100.0))
            .map_or_else(na, |v| format!("{v:.1}%"));
        let llc = c
            .and_then(|c| c.llc_read_misses)
            .map_or_else(na, |v| format_rate(v as f64 / secs));
        let cs = c
            .and_then(|c| c.context_switches)
            .map_or_else(na, |v| format_rate(v as f64 / secs));
        let rates = app.endpoint_rates.get(i).copied().flatten();
        let ring = [
            rates.map(|r| r.stalls_per_s),
            rates.map(|r| r.reloads_per_s),
            rates.and_then(|r| r.chase_backoffs_per_s),
        ];
        let mut cells = vec![style::thread_label(&t.name, short), ipc, miss, llc, cs];
        cells.extend(
            ring[..ring_columns]
                .iter()
                .map(|rate| rate.map_or_else(na, format_rate)),
        );
        let row = Row::new(cells);
        if i == app.selected_thread {
            row.style(style::selected(app))
        } else {
            row
        }
    });
    let unavailable: Vec<String> = s
        .threads
        .iter()
        .filter_map(|t| t.counters.as_ref())
        .flat_map(|c| c.unavailable.values().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut notes = Vec::new();
    if !unavailable.is_empty() {
        notes.push(format!("n/a: {}", unavailable.join("; ")));
    }
    if let Some(shared) = time_shared(s.threads.iter().filter_map(|t| t.counters.as_ref())) {
        notes.push(shared);
    }
    let notes = note_lines(&notes, inner.width);
    let [table_area, note_area] = Layout::vertical([
        Constraint::Min(0),
        // The table keeps most of the pane: the notes get what they need up to a third of it.
        Constraint::Length(
            u16::try_from(notes.len())
                .unwrap_or(u16::MAX)
                .min((inner.height / 3).max(1)),
        ),
    ])
    .areas(inner);
    let columns = MACHINE_COLUMNS.iter().chain(&RING_COLUMNS[..ring_columns]);
    let widths = std::iter::once(if short { labels.1 } else { labels.0 })
        .chain(columns.clone().map(|&(_, width)| width))
        .map(Constraint::Length);
    let header =
        std::iter::once(if short { "id" } else { "thread" }).chain(columns.map(|&(name, _)| name));
    let table = Table::new(rows, widths).header(Row::new(header).style(style::dim(app)));
    frame.render_widget(table, table_area);
    if !notes.is_empty() {
        frame.render_widget(Paragraph::new(notes).style(style::dim(app)), note_area);
    }
}

/// The note for figures that are estimates: the kernel time-shared the PMU, so some counters
/// counted only part of the interval and were scaled up; says the range of those parts.
fn time_shared<'a>(counters: impl Iterator<Item = &'a CounterValues>) -> Option<String> {
    let shares: Vec<f64> = counters
        .flat_map(|c| c.counted_share.values().copied())
        .collect();
    let least = shares.iter().copied().reduce(f64::min)?;
    let most = shares.iter().copied().reduce(f64::max)?;
    let range = if (most - least) * 100.0 < 1.0 {
        format!("{:.0}%", least * 100.0)
    } else {
        format!("{:.0}–{:.0}%", least * 100.0, most * 100.0)
    };
    Some(format!(
        "est.: PMU time-shared, some counted {range} of the time, scaled up"
    ))
}
