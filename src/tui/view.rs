//! Laying the panes out for the terminal's size: everything at 80×24 and above, panes dropped in
//! order of importance below that, a plain message when nothing fits.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;

use super::app::App;
use super::panes;

/// The smallest terminal anything useful fits in.
pub const MIN_WIDTH: u16 = 40;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 10;

/// Where each pane went (for mouse clicks); `None` when not shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    /// The latency table.
    pub latency: Option<Rect>,
    /// The counters table.
    pub counters: Option<Rect>,
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) -> Areas {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: {}×{}, need {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return Areas::default();
    }
    let chart_height = if area.height >= 30 {
        8
    } else if area.height >= 24 {
        5
    } else {
        0
    };
    let footer_lines = panes::footer::lines(app, area.width, area.height);
    let header_lines = panes::header::lines(app);
    let [header, body, chart, footer] = Layout::vertical([
        Constraint::Length(header_lines),
        Constraint::Fill(1),
        Constraint::Length(chart_height),
        Constraint::Length(u16::try_from(footer_lines.len()).unwrap_or(u16::MAX)),
    ])
    .areas(area);
    panes::header::render(frame, header, app);
    let mut areas = Areas::default();
    if area.width >= 80 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(body);
        let [topology, counters] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(left);
        let transport_height = if remote(app) { 8 } else { 0 };
        let [latency, transport, compression] = Layout::vertical([
            Constraint::Percentage(60),
            Constraint::Length(transport_height),
            Constraint::Percentage(40),
        ])
        .areas(right);
        panes::topology::render(frame, topology, app);
        panes::counters::render(frame, counters, app);
        panes::latency::render(frame, latency, app);
        if transport_height > 0 {
            panes::transport::render(frame, transport, app);
        }
        panes::compression::render(frame, compression, app);
        areas.latency = Some(latency);
        areas.counters = Some(counters);
    } else {
        // Narrow: latency first, then the link of a remote ring or the counters.
        let [latency, counters] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        panes::latency::render(frame, latency, app);
        if remote(app) {
            panes::transport::render(frame, counters, app);
            areas.latency = Some(latency);
            panes::footer::render(frame, footer, footer_lines);
            if chart_height > 0 {
                panes::throughput::render(frame, chart, app);
            }
            panes::overlay::render(frame, area, app);
            return areas;
        }
        panes::counters::render(frame, counters, app);
        areas.latency = Some(latency);
        areas.counters = Some(counters);
    }
    if chart_height > 0 {
        panes::throughput::render(frame, chart, app);
    }
    panes::footer::render(frame, footer, footer_lines);
    panes::overlay::render(frame, area, app);
    areas
}

/// Whether the ring is remote (the transport pane is shown).
fn remote(app: &App) -> bool {
    app.snapshot.as_ref().is_some_and(|s| s.transport.is_some())
}

/// The thread drawn at a clicked cell of the latency or counters table (rows start under the
/// border and the header), as an index into the snapshot's threads.
pub fn thread_at(app: &App, areas: &Areas, column: u16, row: u16) -> Option<usize> {
    let snapshot = app.snapshot.as_ref()?;
    let hit = |area: Option<Rect>| {
        area.filter(|a| {
            column >= a.x && column < a.right() && row >= a.y + 2 && row + 1 < a.bottom()
        })
        .map(|a| usize::from(row - a.y - 2))
    };
    if let Some(index) = hit(areas.latency) {
        // The latency table lists consumers only.
        return snapshot
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.role == crate::metrics::snapshot::Role::Consumer)
            .nth(index)
            .map(|(i, _)| i);
    }
    hit(areas.counters).filter(|&i| i < snapshot.threads.len())
}
