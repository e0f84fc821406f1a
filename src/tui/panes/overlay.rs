//! Pop-ups over the panes: help, the warnings, the CPU picker, the codec picker, save and load.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::codec::CodecId;
use crate::metrics::snapshot::WarningTally;
use crate::tui::app::{App, Mode};
use crate::tui::scroll::Scroll;
use crate::tui::style;
use crate::tui::wrap::wrap_words;

/// Every key, for `?`.
const HELP: [(&str, &str); 21] = [
    ("q, Esc, Ctrl-C", "quit (the terminal is restored)"),
    ("?", "this help"),
    ("Tab", "next pane"),
    ("↑ ↓ ← →", "select a thread (or click it)"),
    (
        "p",
        "pick a CPU for the selected thread (grey: not allowed)",
    ),
    ("c", "choose the codec (framed profiles)"),
    (
        "b / B",
        "halve / double the batch (rows per frame when framed)",
    ),
    (
        "+ / -",
        "pace each producer a 1-2-5 step up / down (flat out: -)",
    ),
    ("f / F", "prefetch distance down / up"),
    ("space", "pause / resume the producers"),
    ("r", "reset the latency figures and their history"),
    (
        "a",
        "latency since the start (or r), or of the last interval",
    ),
    ("s", "save the current tuning as profiles/NAME.toml"),
    (
        "l",
        "load a built-in or saved profile (restarts the workload)",
    ),
    ("m", "measure the core-to-core map (heatmap in Topology)"),
    ("h", "check the host for these CPUs (ringtop doctor)"),
    (
        "w",
        "every warning, whole: the last interval's, then earlier",
    ),
    (
        "g",
        "sample every worker's stack; g again draws a flamegraph SVG",
    ),
    (
        "t",
        "search settings for 30 s; write, load profiles/tuned.toml",
    ),
    ("", "Latency counts from each row's scheduled send time."),
    (
        "=max",
        "a percentile of too few samples: it is the largest one",
    ),
];

/// Width of the help's key column, its gap included.
const KEY_COLUMN: usize = 16;

/// The help in a terminal `width` wide: a description too long for the line goes on under
/// itself, the keys' column kept clear.
fn help_lines(width: u16) -> Vec<Line<'static>> {
    let widest = HELP
        .iter()
        .map(|(_, what)| KEY_COLUMN + what.chars().count())
        .max()
        .unwrap_or(0);
    // As `draw` sizes the pop-up: its widest line and a border and margin each side.
    let room = (widest + 4).min(usize::from(width)).saturating_sub(4);
    let Some(what_room) = room.checked_sub(KEY_COLUMN).filter(|r| *r >= 12) else {
        // Too narrow for two columns: one, wrapped between words.
        return HELP
            .iter()
            .map(|(key, what)| Line::from(format!("{key} {what}").trim().to_owned()))
            .collect();
    };
    HELP.iter()
        .flat_map(|(key, what)| {
            wrap_words(what, what_room)
                .into_iter()
                .enumerate()
                .map(move |(i, piece)| {
                    let key = if i == 0 { *key } else { "" };
                    Line::from(format!(
                        "{key:<w$} {}",
                        piece.trim_start(),
                        w = KEY_COLUMN - 1
                    ))
                })
        })
        .collect()
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// Draws the overlay for the current mode, if any.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let (title, lines): (&str, Vec<Line>) = match &app.mode {
        Mode::Normal => return,
        Mode::Help => (" Keys ", help_lines(area.width)),
        Mode::CpuPicker { cursor } => {
            let thread = app.selected_name().unwrap_or("?").to_owned();
            let lines = app
                .topology
                .as_ref()
                .map(|t| {
                    t.pus
                        .iter()
                        .enumerate()
                        .map(|(i, pu)| {
                            let text = format!(
                                "CPU {:<3} node {:<2} core {:<3}{}{}",
                                pu.os_index,
                                pu.node.map_or("?".into(), |n| n.to_string()),
                                pu.core,
                                if pu.allowed { "" } else { " (not allowed)" },
                                on_cpu(app, pu.os_index)
                            );
                            let style = if i == *cursor {
                                style::selected(app)
                            } else if !pu.allowed {
                                style::dim(app)
                            } else {
                                ratatui::style::Style::default()
                            };
                            Line::from(Span::styled(text, style))
                        })
                        .collect()
                })
                .unwrap_or_default();
            return draw(
                frame,
                area,
                &format!(" Pin {thread} to "),
                lines,
                View::Cursor(*cursor),
            );
        }
        Mode::CodecPicker { cursor } => (
            " Codec ",
            CodecId::ALL
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let style = if i == *cursor {
                        style::selected(app)
                    } else {
                        ratatui::style::Style::default()
                    };
                    Line::from(Span::styled(c.name().to_owned(), style))
                })
                .collect(),
        ),
        Mode::Save { name, confirm } => (
            " Save tuning as ",
            vec![
                Line::from(format!("profiles/{name}_.toml")),
                Line::from(if *confirm {
                    "exists: Enter overwrites"
                } else {
                    "letters, digits, - and _"
                }),
            ],
        ),
        Mode::Tune => (
            " Tune (ringtop tune) ",
            app.tune
                .as_ref()
                .map(|t| t.lines().into_iter().map(Line::from).collect())
                .unwrap_or_default(),
        ),
        Mode::Warnings => {
            let warn = style::severity(app, style::Severity::Warn);
            let current = app
                .snapshot
                .iter()
                .flat_map(|s| s.warnings.iter())
                .map(|w| warning_line(w, warn))
                .collect();
            let earlier = app.earlier_warnings();
            (warnings_title(&earlier), warnings_lines(current, &earlier))
        }
        Mode::HostCheck { lines } => (
            " Host check (ringtop doctor) ",
            lines.iter().map(|l| Line::from(l.clone())).collect(),
        ),
        Mode::Load { cursor } => (
            " Load profile ",
            app.profiles
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let style = if i == *cursor {
                        style::selected(app)
                    } else {
                        ratatui::style::Style::default()
                    };
                    Line::from(Span::styled(p.clone(), style))
                })
                .collect(),
        ),
    };
    let view = match app.mode {
        Mode::CodecPicker { cursor } | Mode::Load { cursor } => View::Cursor(cursor),
        _ => View::Scrolled(&app.overlay_scroll),
    };
    draw(frame, area, title, lines, view);
}

/// Who runs on `cpu`, for the CPU picker: this run's threads there, then another process's
/// pinned thread busy there (`busy: ringtop (pid 4242)`), which a thread pinned there would share
/// it with; empty for a CPU nobody holds.
fn on_cpu(app: &App, cpu: usize) -> String {
    let mut who: Vec<String> = app
        .snapshot
        .iter()
        .flat_map(|s| &s.threads)
        .filter(|t| t.cpu == Some(cpu))
        .map(|t| t.name.clone())
        .collect();
    if let Some(others) = app.cpus_busy_elsewhere.get(&cpu) {
        let others: Vec<String> = others
            .iter()
            .map(|t| format!("{} (pid {})", t.name, t.pid))
            .collect();
        who.push(format!("busy: {}", others.join(", ")));
    }
    if who.is_empty() {
        String::new()
    } else {
        format!("  {}", who.join(", "))
    }
}

/// The warnings overlay's title: whether it holds earlier warnings too.
pub fn warnings_title(earlier: &[WarningTally]) -> &'static str {
    if earlier.is_empty() {
        " Warnings of the last interval "
    } else {
        " Warnings of the last interval, and earlier "
    }
}

/// One of the last interval's warnings in the warnings overlay.
pub fn warning_line(warning: &str, warn: Style) -> Line<'static> {
    Line::from(Span::styled(format!("⚠ {warning}"), warn))
}

/// The warnings overlay's lines: the last interval's (`current`, or "none"), then those only
/// earlier intervals carried, each with how many intervals and when last, so a warning that came
/// and went while nobody looked is still there to read.
pub fn warnings_lines(
    mut current: Vec<Line<'static>>,
    earlier: &[WarningTally],
) -> Vec<Line<'static>> {
    if current.is_empty() {
        current.push(Line::from("none"));
    }
    if !earlier.is_empty() {
        current.push(Line::from(""));
        current.push(Line::from("earlier, not in the last interval:"));
        current.extend(earlier.iter().map(|t| {
            Line::from(format!(
                "{} ({}, the last at {:.1} s)",
                t.warning,
                crate::words::counted(t.count as usize, "interval"),
                t.last_s
            ))
        }));
    }
    current
}

/// What the main screen says in `width` columns while the last interval carried no warning but
/// earlier ones did: how many, when the last, and the key that lists them (shorter where that
/// does not fit; `None` when there were none), so a warning that came and went stays in view.
pub fn earlier_hint(earlier: &[WarningTally], width: u16) -> Option<String> {
    let last_s = earlier.iter().map(|t| t.last_s).reduce(f64::max)?;
    let warnings = crate::words::counted(earlier.len(), "warning");
    let whole = format!(
        "no warning in the last interval; {warnings} earlier, the last at {last_s:.1} s (w lists \
         them)"
    );
    let short = format!("{warnings} earlier (w)");
    let width = usize::from(width);
    Some(if whole.chars().count() <= width {
        whole
    } else {
        short.chars().take(width).collect()
    })
}

/// A text overlay over `area`: `lines` under `title`, wrapped between words, scrolled where
/// `scroll` says when taller than the terminal.
pub fn text(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, scroll: &Scroll) {
    draw(frame, area, title, lines, View::Scrolled(scroll));
}

/// Which lines of an overlay taller than the terminal show.
enum View<'a> {
    /// A list's: those around its cursor.
    Cursor(usize),
    /// A text's: where the reader scrolled it.
    Scrolled(&'a Scroll),
}

fn draw(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line>, view: View) {
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(10)
        .max(title.len()) as u16
        + 4;
    // A line wider than the terminal allows is wrapped between words, never cut at the edge (a
    // host check's `fired 1368225 times` would read as another count).
    let room = usize::from(width.min(area.width).saturating_sub(2));
    let lines: Vec<Line> = lines
        .into_iter()
        .flat_map(|line| {
            if line.width() <= room {
                return vec![line];
            }
            let style = line.spans.first().map_or(line.style, |span| span.style);
            let text: String = line
                .spans
                .iter()
                .map(|span| span.content.as_ref())
                .collect();
            wrap_words(&text, room)
                .into_iter()
                .map(|piece| Line::from(Span::styled(piece, style)))
                .collect()
        })
        .collect();
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let popup = centered(area, width, height);
    let visible = popup.height.saturating_sub(2) as usize;
    let total = lines.len();
    // A list (a picker) scrolls with its cursor; a text taller than the terminal with the keys,
    // its last row saying which lines show, never ending as though it were whole.
    let lines: Vec<Line> = match view {
        View::Cursor(cursor) => lines
            .into_iter()
            .skip(cursor.saturating_sub(visible.saturating_sub(1)))
            .collect(),
        View::Scrolled(scroll) if total > visible && visible > 1 => {
            let rows = visible - 1;
            let first = scroll.first_line(total, rows);
            let mut shown: Vec<Line> = lines.into_iter().skip(first).take(rows).collect();
            shown.push(Line::from(format!(
                "lines {}–{} of {total}: ↑↓ PgUp PgDn scroll",
                first + 1,
                first + rows
            )));
            shown
        }
        View::Scrolled(_) => lines,
    };
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_owned()),
        ),
        popup,
    );
}
