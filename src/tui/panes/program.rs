//! `ringtop attach`'s screen: an attached program's rings and their endpoints' threads, drawn
//! from a [`ProgramSnapshot`] alone (no engine; the keys are quit and the warnings overlay).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Table};

use crate::metrics::human::{FIGURE_WIDTH, format_ns, format_rate};
use crate::metrics::latency::Percentile;
use crate::metrics::rates::EndpointRates;
use crate::metrics::snapshot::{AttachedRing, ProgramSnapshot, ThreadSnapshot, WarningTally};
use crate::tui::columns::{Column, fit, line_of};
use crate::tui::panes::latency::AS_MAX;
use crate::tui::panes::overlay;
use crate::tui::scroll::Scroll;
use crate::tui::wrap::{note_lines, wrap_within};

/// Draws `snapshot` (or, before the first interval, that it is reading) with `status` at the
/// bottom; `rates`: its threads' ring counters per second over the interval, in their order
/// (empty before a second reading: the first one's counts run from before the attachment);
/// `earlier`: the warnings only earlier intervals carried, counted where the snapshot has none.
pub fn render(
    frame: &mut Frame,
    snapshot: Option<&ProgramSnapshot>,
    rates: &[Option<EndpointRates>],
    earlier: &[WarningTally],
    status: &str,
) {
    let area = frame.area();
    // The status whole (a segment's path and why it cannot be read run long), with its key, in
    // at most a quarter of the screen.
    let most = usize::from(area.height / 4);
    let status: Vec<Line<'static>> = wrap_within(status, usize::from(area.width), most)
        .into_iter()
        .map(Line::from)
        .collect();
    let status_height = u16::try_from(status.len()).unwrap_or(u16::MAX);
    let Some(snapshot) = snapshot else {
        let [header, _, footer] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(0),
            Constraint::Length(status_height),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new("reading the program's segment…"), header);
        frame.render_widget(Paragraph::new(status), footer);
        return;
    };
    // A quarter of the screen at most, and never the tables' four rows each: with no room left,
    // the title counts them instead.
    let room = (area.height / 4).min(area.height.saturating_sub(1 + 4 + 4 + status_height));
    let notes = if room == 0 {
        Vec::new()
    } else {
        warning_lines(snapshot, earlier, area.width, room)
    };
    let unshown = if room == 0 {
        snapshot.warnings.len() + usize::from(!snapshot.skipped.is_empty())
    } else {
        0
    };
    // The tables share what the title, the warnings and the status leave: in a terminal too
    // short for them all, they give way, never the program's name or the key.
    let [header, warnings, tables, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(
            u16::try_from(notes.len())
                .unwrap_or(u16::MAX)
                .max(room.min(1)),
        ),
        Constraint::Fill(1),
        Constraint::Length(status_height),
    ])
    .areas(area);
    let thread_notes = note_lines(
        &thread_notes(&snapshot.threads),
        tables.width.saturating_sub(2),
    );
    let rings_height = rings_share(
        tables.height,
        table_height(snapshot.rings.len(), 0),
        table_height(snapshot.threads.len(), thread_notes.len()),
    );
    let [rings, threads] =
        Layout::vertical([Constraint::Length(rings_height), Constraint::Fill(1)]).areas(tables);
    let program = &snapshot.program;
    // Each part whole: narrow, the segment's path and the update interval give way first.
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut parts = vec![
        (
            Span::styled(format!("{} (pid {})", program.name, program.pid), bold),
            9,
        ),
        (
            Span::styled(if program.alive { "running" } else { "ended" }, bold),
            8,
        ),
        (
            Span::styled(
                format!("updated {:.1} s ago", program.heartbeat_age_s),
                bold,
            ),
            7,
        ),
        (
            Span::styled(format!("every {:.2} s", program.update_interval_s), bold),
            5,
        ),
        (Span::styled(program.segment.clone(), bold), 3),
    ];
    if unshown > 0 {
        parts.insert(
            3,
            (
                Span::raw(format!(
                    "+{} off screen",
                    crate::words::counted(unshown, "warning")
                )),
                6,
            ),
        );
    }
    let title = line_of(parts, "  ", header.width);
    frame.render_widget(Paragraph::new(title), header);
    frame.render_widget(Paragraph::new(notes), warnings);
    render_rings(frame, rings, snapshot);
    render_threads(frame, threads, &snapshot.threads, rates, thread_notes);
    frame.render_widget(Paragraph::new(status), footer);
}

/// Every warning of `snapshot` and every record it skipped (with why), whole, then the warnings
/// only `earlier` intervals carried, in an overlay scrolled where `scroll` says: what `w` opens.
pub fn render_warnings(
    frame: &mut Frame,
    snapshot: Option<&ProgramSnapshot>,
    earlier: &[WarningTally],
    scroll: &Scroll,
) {
    let warn = Style::default().add_modifier(Modifier::BOLD);
    let current = snapshot
        .iter()
        .flat_map(|s| s.warnings.iter())
        .map(|w| overlay::warning_line(w, warn))
        .chain(
            snapshot
                .iter()
                .flat_map(|s| s.skipped.iter())
                .map(|why| Line::from(format!("skipped: {why}"))),
        )
        .collect();
    let lines = overlay::warnings_lines(current, earlier);
    overlay::text(
        frame,
        frame.area(),
        overlay::warnings_title(earlier),
        lines,
        scroll,
    );
}

/// Every warning and the count of skipped records, wrapped between words (a pid or a count cut
/// at the edge would read as another), in at most `most` lines (at least one): where they need
/// more, the last line says how many warnings are not shown whole. With none, how many `earlier`
/// intervals carried.
fn warning_lines(
    snapshot: &ProgramSnapshot,
    earlier: &[WarningTally],
    width: u16,
    most: u16,
) -> Vec<Line<'static>> {
    let mut notes = snapshot.warnings.clone();
    if notes.is_empty() {
        notes.extend(overlay::earlier_hint(earlier, width));
    }
    if !snapshot.skipped.is_empty() {
        notes.push(format!(
            "{} skipped records (w lists them)",
            snapshot.skipped.len()
        ));
    }
    let wrapped: Vec<Vec<Line<'static>>> = notes
        .iter()
        .map(|note| note_lines(std::slice::from_ref(note), width))
        .collect();
    let most = usize::from(most.max(1));
    if wrapped.iter().map(Vec::len).sum::<usize>() <= most {
        return wrapped.into_iter().flatten().collect();
    }
    // Whole warnings while they fit with a line to spare, then the count of the rest.
    let mut lines = Vec::new();
    let mut shown = 0;
    for note in &wrapped {
        if lines.len() + note.len() >= most {
            break;
        }
        lines.extend(note.iter().cloned());
        shown += 1;
    }
    lines.push(Line::from(format!(
        "(+{} more warnings: w shows them all)",
        wrapped.len() - shown
    )));
    lines
}

/// The lines a table pane of `rows` rows and `notes` lines of notes takes whole: its borders,
/// its header, its rows and its notes.
fn table_height(rows: usize, notes: usize) -> u16 {
    u16::try_from(3 + rows + notes).unwrap_or(u16::MAX)
}

/// The rings' pane's share of `height` lines, the endpoints' pane taking the rest, where the
/// panes take `rings` and `threads` lines whole: both whole where they fit, the endpoints' pane
/// taking the spare (a program's endpoints are the list that grows); otherwise each keeps its
/// header and a row, and the rest goes to each in proportion to what it still lacks, so neither
/// pane keeps blank lines while the other's rows are off screen.
fn rings_share(height: u16, rings: u16, threads: u16) -> u16 {
    if u32::from(rings) + u32::from(threads) <= u32::from(height) {
        return rings;
    }
    // Borders, header and one row.
    let floor = |want: u16| want.min(4);
    let (rings_floor, threads_floor) = (floor(rings), floor(threads));
    if rings_floor + threads_floor >= height {
        return rings_floor.min(height.div_ceil(2));
    }
    let spare = u32::from(height - rings_floor - threads_floor);
    let (rings_lack, threads_lack) = (
        u32::from(rings - rings_floor),
        u32::from(threads - threads_floor),
    );
    let rings_more = spare * rings_lack / (rings_lack + threads_lack).max(1);
    rings_floor + u16::try_from(rings_more).unwrap_or(0)
}

/// A pane's title with how many of its `rows` are drawn where `room` lines (under its header)
/// cannot take them all, or that `notes_cut` lines of its notes are not: a cut pane says so
/// rather than look whole.
fn titled(name: &str, note: &str, rows: usize, room: u16, notes_cut: usize) -> String {
    let shown = rows.min(usize::from(room));
    if shown < rows {
        format!(" {name} ({shown} of {rows} shown; {note}) ")
    } else if notes_cut > 0 {
        format!(" {name} (notes cut short; {note}) ")
    } else {
        format!(" {name} ({note}) ")
    }
}

fn render_rings(frame: &mut Frame, area: Rect, snapshot: &ProgramSnapshot) {
    let rings = &snapshot.rings;
    let column = |header, need, cell: fn(&AttachedRing) -> String| {
        Column::new(header, need, rings.iter().map(cell))
    };
    let mut columns = vec![
        column("ring", 9, |r| r.name.clone()),
        column("kind", 6, |r| r.ring.kind.clone()),
        column("capacity", 3, |r| r.ring.capacity_text()),
        column("fill", 8, |r| {
            match (r.ring.occupancy_rows, r.ring.capacity) {
                (Some(rows), Some(capacity)) => {
                    format!("{:.0} %", rows as f64 / capacity.max(1) as f64 * 100.0)
                }
                _ => "n/a".to_owned(),
            }
        }),
        column("lag per consumer", 7, |r| {
            let lags: Vec<String> = r.lag.iter().map(u64::to_string).collect();
            lags.join(" ")
        }),
        column("full stalls", 4, |r| {
            count_or_na(r.ring.producer_full_stalls)
        }),
        column("empty stalls", 5, |r| {
            count_or_na(r.ring.consumer_empty_stalls)
        }),
        column("memory on", 2, |r| memory_nodes(&r.ring.memory_nodes)),
        column("", 7, |r| if r.closed { "closed" } else { "" }.to_owned()),
    ];
    // Where no ring keeps stall counts (MPMC, shared-memory rings of items or messages), the
    // title says so in place of columns of n/a.
    let counted = rings
        .iter()
        .any(|r| r.ring.producer_full_stalls.is_some() || r.ring.consumer_empty_stalls.is_some());
    let note = if counted || rings.is_empty() {
        "stalls: since the program started".to_owned()
    } else {
        columns.retain(|c| !c.header.ends_with(" stalls"));
        format!("{} rings keep no stall counts", ring_kinds(rings))
    };
    let room = area.height.saturating_sub(3);
    let block =
        Block::default()
            .borders(Borders::ALL)
            .title(titled("Rings", &note, rings.len(), room, 0));
    let fitted = fit(&columns, block.inner(area).width);
    let table = Table::new(fitted.rows, fitted.widths)
        .header(
            fitted
                .header
                .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(block);
    frame.render_widget(table, area);
}

/// The kinds of `rings`, each once, in their order (`shm-items and mpmc`).
fn ring_kinds(rings: &[AttachedRing]) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for ring in rings {
        if !kinds.contains(&ring.ring.kind.as_str()) {
            kinds.push(&ring.ring.kind);
        }
    }
    kinds.join(" and ")
}

/// The nodes an attached ring's pages are on (`node 0`, `nodes 0,1`), or "n/a" where the kernel
/// did not say (the figures' `memory_summary` says why).
fn memory_nodes(nodes: &[usize]) -> String {
    let list: Vec<String> = nodes.iter().map(usize::to_string).collect();
    match nodes.len() {
        0 => "n/a".to_owned(),
        1 => format!("node {}", list[0]),
        _ => format!("nodes {}", list.join(",")),
    }
}

/// A count the program's ring keeps, or "n/a" where it keeps none.
fn count_or_na(count: Option<u64>) -> String {
    count.map_or("n/a".to_owned(), |c| c.to_string())
}

/// The endpoints' table, and under it `notes` (its endpoints' notes, wrapped) where the rows
/// leave room.
fn render_threads(
    frame: &mut Frame,
    area: Rect,
    threads: &[ThreadSnapshot],
    rates: &[Option<EndpointRates>],
    notes: Vec<Line<'static>>,
) {
    let column = |header, need, cell: &dyn Fn(&ThreadSnapshot) -> String| {
        Column::new(header, need, threads.iter().map(cell))
    };
    // A percentile of fewer samples than it needs is the largest of them, as the latency pane
    // says.
    let latency = |figure: Percentile| {
        move |t: &ThreadSnapshot| match &t.latency_ns {
            Some(l) if figure.is_thin(l.count) => AS_MAX.to_owned(),
            Some(l) => format_ns(figure.of(l)),
            None => "n/a".to_owned(),
        }
    };
    let mut columns = vec![
        column("endpoint", 9, &|t| t.name.clone()),
        column("cpu", 5, &|t| {
            t.cpu.map_or("n/a".to_owned(), |c| c.to_string())
        }),
        column("node", 1, &|t| {
            t.node.map_or("n/a".to_owned(), |n| n.to_string())
        }),
        column("items/s", 8, &|t| format_rate(t.rows_per_s)).at_least(FIGURE_WIDTH),
        column("MB/s", 2, &|t| format!("{:.1}", t.mb_per_s)),
        column("p50", 6, &latency(Percentile::P50)).at_least(FIGURE_WIDTH),
        column("p99", 7, &latency(Percentile::P99)).at_least(FIGURE_WIDTH),
        column("p99.9", 3, &latency(Percentile::P999)).at_least(FIGURE_WIDTH),
        // Stalls a second: a producer's found the ring full, a consumer's found it empty.
        Column::new(
            "stall/s",
            4,
            (0..threads.len()).map(|i| {
                rates
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or_else(|| "n/a".to_owned(), |r| format_rate(r.stalls_per_s))
            }),
        ),
        column("ran", 4, &|t| {
            t.scheduling.as_ref().map_or("n/a".to_owned(), |s| {
                format!("{:.0} %", s.ran_share * 100.0)
            })
        }),
    ];
    // No column of n/a where no endpoint keeps stall counts: the rings' title says why.
    if threads.iter().all(|t| t.endpoint.is_none()) {
        columns.retain(|c| c.header != "stall/s");
    }
    // The rows first, the notes in what they leave.
    let room = area.height.saturating_sub(3);
    let rows_height = u16::try_from(threads.len() + 1).unwrap_or(u16::MAX);
    let notes_height = u16::try_from(notes.len())
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2).saturating_sub(rows_height));
    let block = Block::default().borders(Borders::ALL).title(titled(
        "Endpoints",
        "latency: n/a unless the program records it",
        threads.len(),
        room,
        notes.len() - usize::from(notes_height),
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table_area, notes_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(notes_height)]).areas(inner);
    let fitted = fit(&columns, table_area.width);
    let table = Table::new(fitted.rows, fitted.widths).header(
        fitted
            .header
            .style(Style::default().add_modifier(Modifier::BOLD)),
    );
    frame.render_widget(table, table_area);
    frame.render_widget(
        Paragraph::new(notes).style(Style::default().add_modifier(Modifier::DIM)),
        notes_area,
    );
}

/// A line for each endpoint that is not the attached program's own thread: one seen through
/// the program that registered the ring's other end (which program), and one whose thread is
/// not seen at all, `n/a` for its CPU (why: another process's, every thread holding an end of an
/// mpmc ring, or one that has not published yet).
fn thread_notes(threads: &[ThreadSnapshot]) -> Vec<String> {
    threads
        .iter()
        .filter_map(|t| {
            let whose = t.registered_by.as_ref().map(|by| {
                format!(
                    "in {} (pid {}), which registered this end",
                    by.program, by.pid
                )
            });
            let why = t
                .scheduling_unavailable
                .as_deref()
                .filter(|_| t.cpu.is_none());
            let said: Vec<&str> = whose.as_deref().into_iter().chain(why).collect();
            (!said.is_empty()).then(|| format!("{}: {}", t.name, said.join("; ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_whole_where_they_fit_and_share_by_what_they_lack_where_not() {
        // Both whole: the endpoints' pane takes the spare.
        assert_eq!(rings_share(20, 5, 7), 5);
        // Short: each keeps borders, header and a row (4), the rest by what each lacks.
        assert_eq!(rings_share(14, 6, 12), 5);
        assert_eq!(rings_share(10, 20, 4), 6);
        // Shorter than both floors: halves, the rings' never past its floor.
        assert_eq!(rings_share(7, 5, 7), 4);
        assert_eq!(rings_share(5, 3, 7), 3);
        assert_eq!(rings_share(0, 5, 7), 0);
        assert_eq!(rings_share(u16::MAX, u16::MAX, u16::MAX), 32_767);
    }

    #[test]
    fn a_cut_pane_counts_what_it_shows() {
        assert_eq!(titled("Rings", "n", 3, 3, 0), " Rings (n) ");
        assert_eq!(titled("Rings", "n", 3, 1, 0), " Rings (1 of 3 shown; n) ");
        assert_eq!(
            titled("Rings", "n", 3, 9, 2),
            " Rings (notes cut short; n) "
        );
    }
}
