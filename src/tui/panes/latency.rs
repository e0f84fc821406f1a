//! Latency per consumer: p50/p99/p99.9/max coloured by severity, and each consumer's p99 history
//! as a sparkline on one scale, its top written under the label.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table};

use crate::metrics::human::format_ns;
use crate::metrics::latency::Percentile;
use crate::metrics::snapshot::{LatencyNs, Role, Snapshot};
use crate::tui::app::{App, Pane};
use crate::tui::style::{self, latency_severity, severity};
use crate::tui::wrap::{wrap_within, wrap_words};

/// The widths of the table's columns after the thread's label: cpu, p50, p99, p99.9, max.
const FIGURE_WIDTHS: [u16; 5] = [4, 6, 6, 6, 6];
/// What a percentile cell shows when it stands on fewer samples than it needs.
pub(crate) const AS_MAX: &str = "=max";
/// The gap between two of the table's columns.
const COLUMN_GAP: u16 = 1;

/// The width the table takes with labels `label` wide: one home for the columns it draws and
/// the test of whether whole thread names fit.
fn table_width(label: u16) -> u16 {
    FIGURE_WIDTHS
        .iter()
        .fold(label, |width, figure| width + COLUMN_GAP + figure)
}

/// What the pane says where no consumer runs in this process: a sender's, whose rows are read
/// and timed at the far end of its link.
const NO_CONSUMER: &str = "no consumer here: a sender's rows are timed by its receiver \
                           (`ringtop serve`); the link's round trip is in the Transport pane";

fn consumers(s: &Snapshot) -> usize {
    s.threads
        .iter()
        .filter(|t| t.role == Role::Consumer)
        .count()
}

/// The fewest rows the pane needs at `width` columns (borders included): its table's header and
/// a row for each consumer, or the lines of its note where no consumer runs here.
pub fn least_height(app: &App, width: u16) -> u16 {
    let lines = match &app.snapshot {
        None => 1,
        Some(s) if consumers(s) == 0 => {
            wrap_words(NO_CONSUMER, usize::from(width.saturating_sub(2))).len()
        }
        Some(s) => consumers(s) + 1,
    };
    u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2)
}

/// Whether the pane has more to draw in rows beyond [`least_height`]: each consumer's p99
/// history; a note has not.
pub fn grows(app: &App) -> bool {
    app.snapshot.as_ref().is_none_or(|s| consumers(s) > 0)
}

/// Draws the latency pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    // Which span the table's figures cover: the last interval's, or the run's (`a`).
    let title = match &app.snapshot {
        None => " Latency per consumer ".to_owned(),
        Some(_) if app.latency_whole => " Latency per consumer, since start/r ".to_owned(),
        Some(s) => format!(" Latency per consumer, last {:.1} s ", s.interval_s),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(style::border(app, app.focus == Pane::Latency));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(s) = &app.snapshot else {
        return;
    };
    if consumers(s) == 0 {
        let lines = wrap_within(
            NO_CONSUMER,
            usize::from(inner.width),
            usize::from(inner.height),
        );
        let lines: Vec<Line> = lines.into_iter().map(Line::from).collect();
        frame.render_widget(Paragraph::new(lines).style(style::dim(app)), inner);
        return;
    }
    let consumers: Vec<(usize, &crate::metrics::snapshot::ThreadSnapshot)> = s
        .threads
        .iter()
        .enumerate()
        .filter(|(_, t)| t.role == Role::Consumer)
        .collect();
    let table_height = (consumers.len() as u16 + 1).min(inner.height);
    let [table_area, sparks_area] =
        Layout::vertical([Constraint::Length(table_height), Constraint::Min(0)]).areas(inner);
    // A percentile of fewer samples than it needs is the largest of them: it says so (the max
    // column has the figure) rather than pass for a tail.
    let cell = |latency: Option<LatencyNs>, figure: Percentile| match latency {
        Some(l) if figure.is_thin(l.count) => Cell::from(Span::styled(AS_MAX, style::dim(app))),
        Some(l) => Cell::from(Span::styled(
            format_ns(figure.of(&l)),
            severity(app, latency_severity(figure.of(&l))),
        )),
        None => Cell::from("n/a"),
    };
    let names = || consumers.iter().map(|(_, t)| t.name.as_str());
    // Whole names where the table fits with them, else short ones (`C1`).
    let short = inner.width < table_width(style::label_width(names(), false));
    let label_width = style::label_width(names(), short);
    let rows = consumers.iter().map(|(i, t)| {
        let l = if app.latency_whole {
            t.latency_total_ns
        } else {
            t.latency_ns
        };
        let row = Row::new(vec![
            Cell::from(style::thread_label(&t.name, short)),
            Cell::from(t.cpu.map_or("n/a".into(), |c| c.to_string())),
            cell(l, Percentile::P50),
            cell(l, Percentile::P99),
            cell(l, Percentile::P999),
            cell(l, Percentile::Max),
        ]);
        if *i == app.selected_thread {
            row.style(style::selected(app))
        } else {
            row
        }
    });
    let widths = std::iter::once(label_width).chain(FIGURE_WIDTHS);
    let table = Table::new(rows, widths.map(Constraint::Length))
        .column_spacing(COLUMN_GAP)
        .header(
            Row::new([
                if short { "id" } else { "thread" },
                "cpu",
                "p50",
                "p99",
                "p99.9",
                "max",
            ])
            .style(style::dim(app)),
        );
    frame.render_widget(table, table_area);

    if sparks_area.height == 0 || consumers.is_empty() {
        return;
    }
    let each = (sparks_area.height / consumers.len() as u16).max(1);
    // One scale for every consumer, so a slow one stands out.
    let top = app
        .p99_history
        .values()
        .flat_map(|h| h.iter().copied())
        .max()
        .unwrap_or(1)
        .max(1);
    for (k, (_, t)) in consumers.iter().enumerate() {
        let y = sparks_area.y + k as u16 * each;
        if y >= sparks_area.bottom() {
            break;
        }
        let area = Rect::new(
            sparks_area.x,
            y,
            sparks_area.width,
            each.min(sparks_area.bottom() - y),
        );
        let history: Vec<u64> = app
            .p99_history
            .get(&t.name)
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default();
        // The scale's top (a full bar is that p99, an empty one zero) under the label where the
        // bars have a second row, else after it on the one line.
        let scale = format!("≤{}", format_ns(top));
        let name = style::thread_label(&t.name, short);
        let (label_text, scale_text) = if area.height >= 2 {
            (format!("{name} p99"), Some(scale))
        } else {
            (format!("{name} p99 {scale}"), None)
        };
        let label_width = label_text
            .chars()
            .count()
            .max(scale_text.as_ref().map_or(0, |s| s.chars().count()))
            as u16
            + 1;
        let [label, spark] =
            Layout::horizontal([Constraint::Length(label_width), Constraint::Min(0)]).areas(area);
        // A p99 under the lowest bar's eighth of a row would draw nothing, as if the interval
        // had none: it draws the lowest bar instead.
        let lowest = top.div_ceil(8 * u64::from(spark.height.max(1)));
        let shown: Vec<u64> = history[history.len().saturating_sub(spark.width as usize)..]
            .iter()
            .map(|&p99| if p99 > 0 { p99.max(lowest) } else { 0 })
            .collect();
        let mut lines = vec![Line::from(label_text)];
        if let Some(scale) = scale_text {
            lines.push(Line::styled(scale, style::dim(app)));
        }
        frame.render_widget(Paragraph::new(lines), label);
        frame.render_widget(Sparkline::default().data(&shown).max(top), spark);
    }
}
