//! Counters per thread: IPC, cache-miss rate, LLC misses/s, context switches, and the ring's
//! index reloads; `n/a` with the reason where the machine cannot count.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table};

use crate::metrics::counters::CounterValues;
use crate::tui::app::{App, Pane};
use crate::tui::style::{self, format_rate};
use crate::tui::wrap::note_lines;

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
    let short = inner.width < 50;
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
            .map_or_else(na, |v| v.to_string());
        let reloads = t.endpoint.map_or_else(na, |e| e.index_reloads.to_string());
        let row = Row::new(vec![
            style::thread_label(&t.name, short),
            ipc,
            miss,
            llc,
            cs,
            reloads,
        ]);
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
    let table = Table::new(
        rows,
        [
            Constraint::Length(if short { 4 } else { 11 }),
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Min(7),
        ],
    )
    .header(
        Row::new([
            if short { "id" } else { "thread" },
            "IPC",
            "miss%",
            "LLC/s",
            "ctxsw",
            "reloads",
        ])
        .style(style::dim(app)),
    );
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
