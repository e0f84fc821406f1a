//! Transport: the link to a remote ring, from whichever end this process runs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::metrics::human::{format_ns, format_rate};
use crate::metrics::snapshot::{LatencyNs, LinkRole, TransportSnapshot};
use crate::tui::app::App;
use crate::tui::columns::{keep_most_needed, line_of};
use crate::tui::style::{self, Severity};
use crate::tui::wrap::wrap_entries;

/// Draws the transport pane (nothing to draw for a local ring).
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(link) = app.snapshot.as_ref().and_then(|s| s.transport.as_ref()) else {
        return;
    };
    let direction = match link.role {
        LinkRole::Sender => "sender →",
        LinkRole::Receiver => "receiver on",
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
    let lines = text(app, link, inner.width, usize::from(inner.height));
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The rows the pane takes at `width` columns (borders included): each of its lines with its
/// parts kept whole, wrapped where the pane is narrow. 0 for a local ring.
pub fn height(app: &App, width: u16) -> u16 {
    // The lowest rank: every entry.
    rows(app, width, Keep::Counts)
}

/// The fewest rows the pane needs at `width` columns (borders included): the link's state and
/// its last error, which nothing else on the screen says in full. The rest of its lines are
/// drawn where they fit ([`render`] leaves out the least needed first). 0 for a local ring.
pub fn least_height(app: &App, width: u16) -> u16 {
    rows(app, width, Keep::State)
}

fn rows(app: &App, width: u16, least: Keep) -> u16 {
    app.snapshot
        .as_ref()
        .and_then(|s| s.transport.as_ref())
        .map_or(0, |link| {
            let lines: usize = entries(app, link)
                .iter()
                .filter(|entry| entry.keep >= least)
                .map(|entry| entry.wrapped(width.saturating_sub(2)).len())
                .sum();
            u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2)
        })
}

/// How long an entry keeps its place in a pane short of rows: the lowest go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Keep {
    /// Counts of what went wrong (stalls, waits, refusals, drops) and why a figure is n/a.
    Counts,
    /// The wire's rates and the rows acknowledged.
    Rates,
    /// The link's latency (a sender's round trip, a receiver's one-way time).
    Latency,
    /// Whether the link is up, with whom, and its last error.
    State,
}

/// One line of the pane: its parts (kept whole, two spaces apart, wrapped between them), the
/// first drawn in `lead`'s style and the rest in `rest`'s.
struct Entry {
    parts: Vec<String>,
    lead: Style,
    rest: Style,
    keep: Keep,
}

impl Entry {
    fn plain(parts: Vec<String>, keep: Keep) -> Self {
        Entry {
            parts,
            lead: Style::default(),
            rest: Style::default(),
            keep,
        }
    }

    fn styled(text: String, style: Style, keep: Keep) -> Self {
        Entry {
            parts: vec![text],
            lead: style,
            rest: style,
            keep,
        }
    }

    /// The entry's lines at `width` columns, its parts kept whole.
    fn wrapped(&self, width: u16) -> Vec<String> {
        let parts: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        wrap_entries(&parts, usize::from(width))
    }
}

/// The pane's lines at `width` columns in at most `rows`: no figure is split from its name
/// (`acked` over `3.20M rows`), and where the lines do not all fit, whole entries are left out
/// rather than the last cut off: the most needed ([`Keep`]) are kept while they fit, by the one
/// rule of every table and line ([`keep_most_needed`]).
fn text(app: &App, link: &TransportSnapshot, width: u16, rows: usize) -> Vec<Line<'static>> {
    let entries: Vec<(Entry, Vec<String>)> = entries(app, link)
        .into_iter()
        .map(|entry| {
            let lines = entry.wrapped(width);
            (entry, lines)
        })
        .collect();
    let needs: Vec<(u16, u8)> = entries
        .iter()
        .map(|(entry, lines)| {
            let lines = u16::try_from(lines.len()).unwrap_or(u16::MAX);
            (lines, entry.keep as u8)
        })
        .collect();
    let kept = keep_most_needed(&needs, 0, u16::try_from(rows).unwrap_or(u16::MAX));
    let wrapped = entries
        .into_iter()
        .zip(kept)
        .filter_map(|(entry, kept)| kept.then_some(entry));
    let mut lines = Vec::new();
    for (entry, wrapped) in wrapped {
        let lead = entry.parts.first().map_or(0, |p| p.len());
        for (k, line) in wrapped.into_iter().enumerate() {
            let line = if k == 0 && line.len() >= lead && line.is_char_boundary(lead) {
                let (first, rest) = line.split_at(lead);
                Line::from(vec![
                    Span::styled(first.to_owned(), entry.lead),
                    Span::styled(rest.to_owned(), entry.rest),
                ])
            } else {
                Line::styled(line, entry.rest)
            };
            lines.push(line);
        }
    }
    lines
}

/// `what p50 …`, `p99 …`, `max …`: the first part names the figure, so it is not left alone.
fn percentiles(what: &str, latency: &LatencyNs) -> Vec<String> {
    vec![
        format!("{what} p50 {}", format_ns(latency.p50)),
        format!("p99 {}", format_ns(latency.p99)),
        format!("max {}", format_ns(latency.max)),
    ]
}

fn entries(app: &App, link: &TransportSnapshot) -> Vec<Entry> {
    let state = match (link.role, link.connected) {
        (_, true) => "connected",
        (LinkRole::Sender, false) => "down",
        (LinkRole::Receiver, false) => "waiting",
    };
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
    let mut parts = vec![state.to_owned()];
    // A sender's title names the address it connects to: its peer is said again only where it
    // is another (a name resolved, or none yet).
    let peer = link.peer.as_deref();
    if link.role == LinkRole::Receiver || peer != Some(link.address.as_str()) {
        parts.push(format!("peer {}", peer.unwrap_or("none yet")));
    }
    parts.push(format!("sessions {}", link.sessions));
    // How long the link has been up in all: a receiver's rates in its summary are over it.
    if let Some(connected_s) = link.connected_s {
        parts.push(format!("linked {connected_s:.1} s in all"));
    }
    parts.push(format!("reconnects {}", link.reconnects));
    let mut entries = vec![Entry {
        parts,
        lead: state_style,
        rest: Style::default(),
        keep: Keep::State,
    }];
    let mut rates = vec![
        format!("wire {:.1} MB/s", link.mb_per_s),
        format!("{} frames/s", format_rate(link.frames_per_s)),
    ];
    if let Some(acked) = link.rows_acknowledged {
        rates.push(format!("acked {} rows", format_rate(acked as f64)));
    }
    entries.push(Entry::plain(rates, Keep::Rates));
    entries.push(match link.role {
        LinkRole::Sender => match &link.round_trip_ns {
            Some(rt) if rt.count > 0 => Entry::plain(percentiles("round trip", rt), Keep::Latency),
            _ => Entry::plain(
                vec!["round trip: no credit echoed this interval".to_owned()],
                Keep::Latency,
            ),
        },
        LinkRole::Receiver => match (&link.one_way_ns, &link.one_way_unavailable) {
            (Some(l), _) if l.count > 0 => Entry::plain(percentiles("one-way", l), Keep::Latency),
            // Why, at length: the first to give way in a short pane.
            (_, Some(why)) => {
                Entry::styled(format!("one-way n/a: {why}"), style::dim(app), Keep::Counts)
            }
            _ => Entry::plain(
                vec!["one-way: no rows this interval".to_owned()],
                Keep::Latency,
            ),
        },
    });
    let cap = link
        .link_mbps
        .map_or("no cap".to_owned(), |m| format!("cap {m:.0} Mbit/s"));
    // The waits are the sender's: a receiver shows only what happens at its end.
    let mut counts = match (link.credit_stalls, link.cap_waits) {
        (Some(stalls), Some(waits)) => vec![
            format!("credit stalls {stalls}"),
            format!("cap waits {waits} ({cap})"),
        ],
        _ => Vec::new(),
    };
    counts.push(format!("refused {}", link.refused));
    counts.push(format!("dropped {}", link.dropped));
    entries.push(Entry::plain(counts, Keep::Counts));
    if let Some(error) = &link.last_error {
        entries.push(Entry::styled(
            format!("last error: {error}"),
            style::severity(app, Severity::Warn),
            Keep::State,
        ));
    }
    entries
}
