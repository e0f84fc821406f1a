//! Header: profile, ring, state, uptime and the ring's fill, throughput, lost/duplicated (red
//! when not 0), each whole or, in a narrow terminal, left out (the least needed first), and the
//! snapshot's first warning, when there is one (a spinning thread kept from its CPU, a CPU
//! shared, a worker that died), or, when only earlier intervals carried warnings, how many.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::metrics::human::format_rate;
use crate::metrics::snapshot::{LinkRole, RunState, Snapshot, Totals};
use crate::topology::model::format_bytes;
use crate::tui::app::App;
use crate::tui::columns::line_of;
use crate::tui::panes::overlay;
use crate::tui::style::{self, Severity, severity};
use crate::tui::wrap::wrap_words;

/// Lines the header needs: two, and a third while the snapshot carries a warning or an earlier
/// interval did.
pub fn lines(app: &App) -> u16 {
    let warned = app
        .snapshot
        .as_ref()
        .is_some_and(|s| !s.warnings.is_empty());
    if warned || app.has_earlier_warnings() {
        3
    } else {
        2
    }
}

/// Draws the header into `area` (up to three lines).
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else {
        let line = Line::from(format!("ringtop · {} · starting…", app.profile_name));
        frame.render_widget(Paragraph::new(line), area);
        return;
    };
    let state = match s.state {
        RunState::Running => Span::styled("running", severity(app, Severity::Good)),
        RunState::Paused => Span::styled("PAUSED", severity(app, Severity::Warn)),
        RunState::Stopped => Span::styled("stopped", severity(app, Severity::Warn)),
    };
    let uptime = s.elapsed_s as u64;
    let integrity = match (s.totals.lost, s.totals.duplicated, s.totals.reordered) {
        (Some(lost), Some(duplicated), Some(reordered)) => Span::styled(
            format!("lost {lost} dup {duplicated} reord {reordered}"),
            severity(
                app,
                if s.totals.integrity_ok() == Some(true) {
                    Severity::Good
                } else {
                    Severity::Bad
                },
            ),
        ),
        // A sender runs no consumer: it checks no row.
        _ => Span::styled(Totals::UNCHECKED, style::dim(app)),
    };
    let kind = if s.ring.framed {
        format!("{} framed", s.ring.kind)
    } else {
        s.ring.kind.clone()
    };
    let up = format!(
        "up {:02}:{:02}:{:02}",
        uptime / 3600,
        uptime / 60 % 60,
        uptime % 60
    );
    // Each part whole or not at all, the least needed left out first where the terminal is
    // narrow: a number cut at the edge would read as another (`lost 12` for `lost 1234`).
    let first = line_of(
        vec![
            (Span::raw("ringtop"), 4),
            (Span::raw(app.profile_name.clone()), 7),
            (Span::raw(kind), 8),
            (state, 9),
            (Span::raw(up), 6),
            (Span::raw(fill(s)), 5),
        ],
        " · ",
        area.width,
    );
    let receiver = s
        .transport
        .as_ref()
        .is_some_and(|t| t.role == LinkRole::Receiver);
    let second = line_of(
        vec![
            (Span::raw(throughput(s)), 8),
            (Span::raw(format!("{:.0} MB/s", s.totals.mb_per_s)), 5),
            (Span::raw(pace(app.rate, app.producers, receiver)), 6),
            (Span::raw(format!("batch {}", app.batch)), 4),
            (Span::raw(format!("prefetch {}", app.prefetch)), 3),
            (integrity, 9),
        ],
        "  ",
        area.width,
    );
    let mut lines = vec![first, second];
    if let Some(warning) = s.warnings.first() {
        lines.push(Line::from(Span::styled(
            warning_line(warning, s.warnings.len(), usize::from(area.width)),
            severity(app, Severity::Warn),
        )));
    } else if let Some(hint) = overlay::earlier_hint(&app.earlier_warnings(), area.width) {
        lines.push(Line::from(hint));
    }
    lines.truncate(usize::from(area.height));
    frame.render_widget(Paragraph::new(lines), area);
}

/// Rows a second ([`Snapshot::row_rate`]): with the count of consumers that read each where
/// there are several (`1.00M rows/s ×2`).
fn throughput(s: &Snapshot) -> String {
    let rate = s.row_rate();
    match rate.readers {
        1 => format!("{} rows/s", format_rate(rate.rows_per_s)),
        readers => format!("{} rows/s ×{readers}", format_rate(rate.rows_per_s)),
    }
}

/// The first of `count` warnings in `width` columns: whole where it fits, else cut between
/// words with `…` (a pid or a count cut at the edge would read as another), and where anything
/// is left unsaid, the key that shows it all.
fn warning_line(first: &str, count: usize, width: usize) -> String {
    let more = match count {
        0 | 1 => String::new(),
        n => format!(" (+{} more: w)", n - 1),
    };
    let whole = format!("⚠ {first}{more}");
    if whole.chars().count() <= width {
        return whole;
    }
    let tail = if more.is_empty() {
        " (w: whole)".to_owned()
    } else {
        more
    };
    // "⚠ " before, "…" and the tail after.
    let room = width.saturating_sub(3 + tail.chars().count());
    let kept = wrap_words(first, room)
        .into_iter()
        .next()
        .unwrap_or_default();
    format!("⚠ {kept}…{tail}")
}

/// The rows a second each producer offers: `pace 1.00M` (`pace 1.00M each` for several), or
/// `flat out`; on the receiving side of a link, whose producers are the sender's, whose it is.
fn pace(rate: u64, producers: usize, receiver: bool) -> String {
    if receiver {
        "pace: the sender's".to_owned()
    } else if rate == 0 {
        "flat out".to_owned()
    } else if producers > 1 {
        format!("pace {} each", format_rate(rate as f64))
    } else {
        format!("pace {}", format_rate(rate as f64))
    }
}

/// The ring's fill at the interval's cut: rows of its slots (`fill 17/4096`), or rows alone for
/// a framed ring, whose compressed frames can hold more rows than it has slots; on the receiving
/// side of a link, which knows no rows before it decodes them, bytes of its window
/// (`fill 12 KiB/1 MiB`); on the sending side, whose ring is the receiver's, the rows sent that
/// the receiver has not yet acknowledged reading (`in flight 700 rows`); `n/a` where not known.
fn fill(s: &Snapshot) -> String {
    let ring = &s.ring;
    let sender = s
        .transport
        .as_ref()
        .is_some_and(|t| t.role == LinkRole::Sender);
    match (ring.occupancy_rows, ring.occupancy_bytes) {
        (Some(rows), _) if sender => format!("in flight {rows} rows"),
        (Some(rows), _) if ring.framed => format!("fill {rows} rows"),
        (Some(rows), _) => format!("fill {rows}/{}", ring.capacity_text()),
        (None, Some(bytes)) => format!(
            "fill {}/{}",
            format_bytes(bytes),
            ring.window_bytes()
                .map_or_else(|| "n/a".to_owned(), format_bytes)
        ),
        (None, None) => "fill n/a".to_owned(),
    }
}
