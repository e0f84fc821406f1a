//! Counters per thread over the last interval: IPC, cache-miss rate, LLC misses/s, context
//! switches/s, and the ring's stalls, index reloads and chase back-offs per second (as many as
//! the width allows); `n/a` with the reason where the machine cannot count.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use crate::metrics::counters::CounterValues;
use crate::metrics::human::{FIGURE_WIDTH, format_rate};
use crate::metrics::rates::EndpointRates;
use crate::tui::app::{App, Pane};
use crate::tui::columns::{Column, fit};
use crate::tui::style;
use crate::tui::wrap::note_lines;

/// Draws the counters pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let block = |title: String| {
        Block::default()
            .borders(Borders::ALL)
            .title(title)
            .border_style(style::border(app, app.focus == Pane::Counters))
    };
    let inner = block(String::new()).inner(area);
    let Some(s) = &app.snapshot else {
        frame.render_widget(block(" Counters ".into()), area);
        return;
    };
    let secs = s.interval_s.max(1e-9);
    let na = || "n/a".to_owned();
    let machine = |pick: &dyn Fn(&CounterValues) -> Option<String>| -> Vec<String> {
        s.threads
            .iter()
            .map(|t| t.counters.as_ref().and_then(pick).unwrap_or_else(na))
            .collect()
    };
    let rate = |pick: fn(&EndpointRates) -> Option<f64>| -> Vec<String> {
        (0..s.threads.len())
            .map(|i| {
                app.endpoint_rates
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|r| pick(&r))
                    .map_or_else(na, format_rate)
            })
            .collect()
    };
    // Higher `need` stays longer in a narrow pane: the machine's counters, then the ring's
    // (stalls say which side waits for the other, reloads what the waiting costs in cache-line
    // traffic, back-offs whether a consumer chased its producer).
    let mut figures = vec![
        // As wide as their figures from the start, so a PMU's first reading moves nothing.
        Column::new("IPC", 8, machine(&|c| c.ipc().map(|v| format!("{v:.2}")))).at_least(4),
        Column::new(
            "miss%",
            7,
            machine(&|c| {
                let share = c.cache_misses? as f64 / c.cache_references?.max(1) as f64;
                Some(format!("{:.1}%", share * 100.0))
            }),
        ),
        Column::new(
            "LLC/s",
            6,
            machine(&|c| Some(format_rate(c.llc_read_misses? as f64 / secs))),
        )
        .at_least(FIGURE_WIDTH),
        Column::new(
            "ctxsw/s",
            5,
            machine(&|c| Some(format_rate(c.context_switches? as f64 / secs))),
        ),
    ];
    // The ring's counts where it keeps them: an MPMC ring keeps none, and columns all n/a beside
    // a note about the PMU would read as the PMU's doing.
    let ring_counts = s.threads.iter().any(|t| t.endpoint.is_some());
    if ring_counts {
        figures.push(Column::new("stall/s", 4, rate(|r| Some(r.stalls_per_s))));
        figures.push(Column::new("reload/s", 3, rate(|r| Some(r.reloads_per_s))));
    }
    // Back-offs only where some consumer looks for a chase (SPSC rows): elsewhere the column
    // would be all n/a.
    if s.threads
        .iter()
        .any(|t| t.endpoint.is_some_and(|e| e.chase_backoffs.is_some()))
    {
        figures.push(Column::new(
            "backoff/s",
            2,
            rate(|r| r.chase_backoffs_per_s),
        ));
    }
    // Whole thread names where every column fits with them, else short ones (`C1`).
    let with_labels = |short: bool| -> Vec<Column> {
        let labels = s
            .threads
            .iter()
            .map(|t| style::thread_label(&t.name, short));
        let header = if short { "id" } else { "thread" };
        std::iter::once(Column::new(header, 9, labels))
            .chain(figures.iter().cloned())
            .collect()
    };
    let whole = with_labels(false);
    let fitted = match fit(&whole, inner.width) {
        fitted if fitted.widths.len() == whole.len() => fitted,
        _ => fit(&with_labels(true), inner.width),
    };
    let unavailable: Vec<String> = s
        .threads
        .iter()
        .filter_map(|t| t.counters.as_ref())
        .flat_map(|c| c.unavailable.values().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Short enough for a line of a 40-column pane, so the PMU's reason can ride on the title.
    let mut notes = Vec::new();
    if !ring_counts && !s.threads.is_empty() {
        // A link's end (its window's, either side) keeps none whatever the ring's kind.
        let which = if s.transport.is_some() {
            "link's"
        } else {
            &s.ring.kind
        };
        notes.push(format!("{which} ring: no stall or reload counts"));
    }
    if !unavailable.is_empty() {
        notes.push(format!("n/a: {}", unavailable.join("; ")));
    }
    if let Some(shared) = time_shared(s.threads.iter().filter_map(|t| t.counters.as_ref())) {
        notes.push(shared);
    }
    // The notes get what the table (its header and a row a thread) leaves; where that is
    // nothing, a third of a pane of six lines or more. Those that do not fit so, from the first
    // that does not on, ride on the title (cut at the border where they must): the rows say more
    // than why a figure is n/a.
    let table_lines = u16::try_from(s.threads.len() + 1).unwrap_or(u16::MAX);
    let left = inner.height.saturating_sub(table_lines);
    let room = if inner.height >= 6 {
        left.max(inner.height / 3)
    } else {
        left
    };
    let mut below = Vec::new();
    let mut riding: Vec<&str> = Vec::new();
    for note in &notes {
        let lines = note_lines(std::slice::from_ref(note), inner.width);
        if riding.is_empty() && below.len() + lines.len() <= usize::from(room) {
            below.extend(lines);
        } else {
            riding.push(note);
        }
    }
    let title = if riding.is_empty() {
        " Counters ".to_owned()
    } else {
        format!(" Counters · {} ", riding.join(" · "))
    };
    frame.render_widget(block(title), area);
    let notes = below;
    let [table_area, note_area] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(u16::try_from(notes.len()).unwrap_or(u16::MAX)),
    ])
    .areas(inner);
    let rows = fitted.rows.into_iter().enumerate().map(|(i, row)| {
        if i == app.selected_thread {
            row.style(style::selected(app))
        } else {
            row
        }
    });
    let table = Table::new(rows, fitted.widths).header(fitted.header.style(style::dim(app)));
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
