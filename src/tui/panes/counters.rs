//! Counters per thread: IPC, cache-miss rate, LLC misses/s, context switches, and the ring's
//! index reloads; `n/a` with the reason where the machine cannot count.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};

use crate::tui::app::{App, Pane};
use crate::tui::style::{self, format_rate};

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
    let note_height = u16::from(!unavailable.is_empty());
    let [table_area, note_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(note_height)]).areas(inner);
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
    if !unavailable.is_empty() {
        let note = Paragraph::new(format!("n/a: {}", unavailable.join("; ")))
            .style(style::dim(app))
            .wrap(Wrap { trim: true });
        frame.render_widget(note, note_area);
    }
}
