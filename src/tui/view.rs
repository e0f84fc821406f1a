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
        let [latency, transport, compression] = right_column(right, app);
        panes::topology::render(frame, topology, app);
        panes::counters::render(frame, counters, app);
        if latency.height > 0 {
            panes::latency::render(frame, latency, app);
        }
        if transport.height > 0 {
            panes::transport::render(frame, transport, app);
        }
        if compression.height > 0 {
            panes::compression::render(frame, compression, app);
        }
        areas.latency = Some(latency);
        areas.counters = Some(counters);
    } else {
        // Narrow: latency above the counters, or above the link of a remote ring, which gets
        // its rows as in the wide layout's column ([`Wanted::split_narrow`]).
        let [latency, counters] = if remote(app) {
            let [latency, link] = wanted(app, body.width).split_narrow(body.height);
            Layout::vertical([Constraint::Length(latency), Constraint::Length(link)]).areas(body)
        } else {
            Layout::vertical([Constraint::Min(3), Constraint::Percentage(40)]).areas(body)
        };
        if latency.height > 0 {
            panes::latency::render(frame, latency, app);
        }
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

/// The wide layout's right column: latency, the link of a remote ring, compression.
fn right_column(right: Rect, app: &App) -> [Rect; 3] {
    if !remote(app) {
        return Layout::vertical([
            Constraint::Percentage(60),
            Constraint::Length(0),
            Constraint::Percentage(40),
        ])
        .areas(right);
    }
    let [latency, link, compression] = wanted(app, right.width).split(right.height);
    Layout::vertical([
        Constraint::Length(latency),
        Constraint::Length(link),
        Constraint::Length(compression),
    ])
    .areas(right)
}

/// What a remote ring's panes ask for at `width` columns.
fn wanted(app: &App, width: u16) -> Wanted {
    Wanted {
        link: panes::transport::height(app, width),
        link_least: panes::transport::least_height(app, width),
        latency: panes::latency::least_height(app, width),
        latency_grows: panes::latency::grows(app),
        compression: panes::compression::least_height(app, width),
    }
}

/// The rows a remote ring's right column asks for at its width, each pane's borders included.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    /// The link pane: every line it has.
    link: u16,
    /// The link pane: its state and last error, which no other pane says in full.
    link_least: u16,
    /// The latency pane: its table (or its note, on a sender) without the p99 history.
    latency: u16,
    /// Whether the latency pane has a history to draw in more rows.
    latency_grows: bool,
    /// The compression pane: its codec line, gauge and caption (or its note).
    compression: u16,
}

impl Wanted {
    /// The rows each pane gets of `height`, top to bottom (latency, link, compression): each
    /// pane what it asks for, and what is left 60/40 to latency and compression (all to
    /// compression where latency has no history to draw). Short of rows, they are handed out in
    /// order: first the link's state and last error, which no other pane says; then a
    /// receiver's consumers' latency (what ringtop is for), the rest of its link's lines and
    /// its codec; a sender's codec (its ratio is nowhere else), the rest of its link's lines,
    /// and its latency note last. A pane left fewer rows than its borders and a line (the
    /// latency table: its header and a row) is not drawn; the link's pane takes up the rows of
    /// one that is not.
    fn split(self, height: u16) -> [u16; 3] {
        let mut left = height;
        let mut take = |wanted: u16| {
            let got = wanted.min(left);
            left -= got;
            got
        };
        let link_least = take(self.link_least);
        let (latency, link_rest, compression) = if self.latency_grows {
            let latency = take(self.latency);
            let link_rest = take(self.link.saturating_sub(self.link_least));
            (latency, link_rest, take(self.compression))
        } else {
            let compression = take(self.compression);
            let link_rest = take(self.link.saturating_sub(self.link_least));
            (take(self.latency), link_rest, compression)
        };
        let link = link_least + link_rest;
        let left = height - link;
        let spare = left - latency - compression;
        let latency = latency + if self.latency_grows { spare * 3 / 5 } else { 0 };
        let drawn = |rows: u16| if rows < 3 { 0 } else { rows };
        let latency = self.latency_drawn(latency);
        let compression = drawn(left - latency);
        [latency, height - latency - compression, compression]
    }

    /// The rows latency and the link get of `height` where the terminal is too narrow for
    /// columns (no compression pane), in the same order as [`Self::split`]: the link's state
    /// and last error; a receiver's consumers' latency; the rest of the link's lines (a
    /// sender's round trips among them); then what is left to the latency pane (a receiver's
    /// history, or a sender's note), drawn only where it shows something ([`Self::latency_drawn`]).
    fn split_narrow(self, height: u16) -> [u16; 2] {
        // As the column hands them out, with no codec's pane: its rows are the latency pane's.
        let [latency, _, compression] = Wanted {
            compression: 0,
            ..self
        }
        .split(height);
        let latency = self.latency_drawn(latency + compression);
        [latency, height - latency]
    }

    /// `rows` where the latency pane can show something in them: its borders and a line (a
    /// table's header and a consumer's row, so never the header alone); else 0.
    fn latency_drawn(self, rows: u16) -> u16 {
        if rows < self.latency.clamp(3, 4) {
            0
        } else {
            rows
        }
    }
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

#[cfg(test)]
mod tests {
    use super::Wanted;

    /// A receiver's column: a link of 8 rows (4 of them its state), a latency table of 4 that
    /// grows, a codec pane of 5.
    const RECEIVER: Wanted = Wanted {
        link: 8,
        link_least: 4,
        latency: 4,
        latency_grows: true,
        compression: 5,
    };

    #[test]
    fn a_remote_column_gives_the_link_its_state_first_and_the_rest_by_need() {
        let receiver = RECEIVER;
        // Room to spare: 60/40 of it to latency and compression.
        assert_eq!(receiver.split(27), [10, 8, 9]);
        assert_eq!(receiver.split(17), [4, 8, 5]);
        // Short: a receiver's latency keeps its rows, the codec's pane takes what is left.
        assert_eq!(receiver.split(15), [4, 8, 3]);
        // A pane of fewer than 3 rows is not drawn; the link takes up its rows.
        assert_eq!(receiver.split(14), [4, 10, 0]);
        // Shorter: the link's state, then the consumers' latency, then the link's other lines.
        assert_eq!(receiver.split(10), [4, 6, 0]);
        assert_eq!(receiver.split(6), [0, 6, 0]);
        assert_eq!(receiver.split(3), [0, 3, 0]);
        // A sender's note does not grow, and gives way first; its codec's pane (the ratio, which
        // no other pane shows) keeps its rows before the link's lines beyond its state.
        let sender = Wanted {
            latency_grows: false,
            ..receiver
        };
        assert_eq!(sender.split(27), [4, 8, 15]);
        assert_eq!(sender.split(15), [0, 8, 7]);
        assert_eq!(sender.split(11), [0, 6, 5]);
        assert_eq!(sender.split(8), [0, 4, 4]);
    }

    #[test]
    fn a_narrow_remote_layout_keeps_the_links_state_then_a_receivers_latency() {
        let receiver = RECEIVER;
        // Room: the link all its lines, the latency the rest.
        assert_eq!(receiver.split_narrow(20), [12, 8]);
        // Short: the link's state, the consumers' table, then the link's other lines.
        assert_eq!(receiver.split_narrow(10), [4, 6]);
        assert_eq!(receiver.split_narrow(8), [4, 4]);
        // A latency pane too short for a consumer's row under its header is not drawn.
        assert_eq!(receiver.split_narrow(7), [0, 7]);
        assert_eq!(receiver.split_narrow(6), [0, 6]);
        // A sender's note gives way to every line of its link.
        let sender = Wanted {
            latency_grows: false,
            ..receiver
        };
        assert_eq!(sender.split_narrow(20), [12, 8]);
        assert_eq!(sender.split_narrow(10), [0, 10]);
        assert_eq!(sender.split_narrow(8), [0, 8]);
    }
}
