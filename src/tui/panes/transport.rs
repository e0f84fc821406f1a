//! Transport: the link to a remote ring, from whichever end this process runs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::metrics::human::{format_ns, format_rate};
use crate::metrics::snapshot::{LatencyNs, LinkRole, TransportSnapshot};
use crate::tui::app::App;
use crate::tui::columns::line_of;
use crate::tui::style::{self, Severity};

/// Draws the transport pane (nothing to draw for a local ring).
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(link) = app.snapshot.as_ref().and_then(|s| s.transport.as_ref()) else {
        return;
    };
    let (direction, state) = match (link.role, link.connected) {
        (LinkRole::Sender, true) => ("sender →", "connected"),
        (LinkRole::Sender, false) => ("sender →", "down"),
        (LinkRole::Receiver, true) => ("receiver on", "connected"),
        (LinkRole::Receiver, false) => ("receiver on", "waiting"),
    };
    // Each part whole (a port cut to `:747` is another port): narrow, the pane's name goes
    // first, then the link's kind; the end and its address stay.
    let mut title = line_of(
        vec![
            (Span::raw("Transport:"), 1),
            (Span::raw(link.kind.to_string()), 2),
            (Span::raw(format!("{direction} {}", link.address)), 3),
        ],
        " ",
        area.width.saturating_sub(4),
    );
    title.spans.insert(0, Span::raw(" "));
    title.spans.push(Span::raw(" "));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(style::border(app, false));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(
        Paragraph::new(lines(app, link, state)).wrap(Wrap { trim: true }),
        inner,
    );
}

fn percentiles(latency: &LatencyNs) -> String {
    format!(
        "p50 {}  p99 {}  max {}",
        format_ns(latency.p50),
        format_ns(latency.p99),
        format_ns(latency.max)
    )
}

fn lines<'a>(app: &App, link: &'a TransportSnapshot, state: &'a str) -> Vec<Line<'a>> {
    let state_style = style::severity(
        app,
        if link.connected {
            Severity::Good
        } else if link.role == LinkRole::Sender {
            Severity::Bad
        } else {
            Severity::Warn
        },
    );
    let mut lines = vec![Line::from(vec![
        Span::styled(state, state_style),
        Span::raw(format!(
            "  peer {}  sessions {}  reconnects {}",
            link.peer.as_deref().unwrap_or("none yet"),
            link.sessions,
            link.reconnects
        )),
    ])];
    let mut rates = format!(
        "wire {:.1} MB/s  {} frames/s",
        link.mb_per_s,
        format_rate(link.frames_per_s)
    );
    if let Some(acked) = link.rows_acknowledged {
        rates.push_str(&format!("  acked {} rows", format_rate(acked as f64)));
    }
    lines.push(Line::from(rates));
    match link.role {
        LinkRole::Sender => lines.push(Line::from(match &link.round_trip_ns {
            Some(rt) if rt.count > 0 => format!("round trip {}", percentiles(rt)),
            _ => "round trip: no credit echoed this interval".to_owned(),
        })),
        LinkRole::Receiver => lines.push(match (&link.one_way_ns, &link.one_way_unavailable) {
            (Some(l), _) if l.count > 0 => Line::from(format!("one-way {}", percentiles(l))),
            (_, Some(why)) => Line::styled(format!("one-way n/a: {why}"), style::dim(app)),
            _ => Line::from("one-way: no rows this interval"),
        }),
    }
    let cap = link
        .link_mbps
        .map_or("no cap".to_owned(), |m| format!("cap {m:.0} Mbit/s"));
    // The waits are the sender's: a receiver shows only what happens at its end.
    let waits = match (link.credit_stalls, link.cap_waits) {
        (Some(stalls), Some(waits)) => {
            format!("credit stalls {stalls}  cap waits {waits} ({cap})  ")
        }
        _ => String::new(),
    };
    lines.push(Line::from(format!(
        "{waits}refused {}  dropped {}",
        link.refused, link.dropped
    )));
    if let Some(error) = &link.last_error {
        lines.push(Line::styled(
            format!("last error: {error}"),
            style::severity(app, Severity::Warn),
        ));
    }
    lines
}
