//! Topology: NUMA nodes, cores and CPUs as a grid, each thread drawn on its CPU, the ring's memory
//! node, a warning where a consumer reads remote memory, the core-to-core map as a heatmap, and
//! the ring's memory in words (size, node, binding, pages: highlighted when the binding failed).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::metrics::snapshot::Role;
use crate::topology::BindingOutcome;
use crate::topology::model::format_bytes;
use crate::tui::app::{App, Pane};
use crate::tui::style::{self, Severity, severity};
use crate::tui::wrap::wrap_words;

const SHADES: [char; 5] = ['·', '░', '▒', '▓', '█'];

/// Short labels of the threads on `cpu` (`P0`, `C1`).
fn threads_on(app: &App, cpu: usize) -> String {
    let Some(s) = &app.snapshot else {
        return String::new();
    };
    s.threads
        .iter()
        .filter(|t| t.cpu == Some(cpu))
        .map(|t| {
            let n = t.name.rsplit('-').next().unwrap_or("?");
            match t.role {
                Role::Producer => format!("P{n}"),
                Role::Consumer => format!("C{n}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Draws the topology pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Topology ")
        .border_style(style::border(app, app.focus == Pane::Topology));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(topology) = &app.topology else {
        frame.render_widget(
            Paragraph::new("topology n/a: hwloc could not read this machine"),
            inner,
        );
        return;
    };
    let memory_nodes = app
        .snapshot
        .as_ref()
        .map(|s| s.ring.memory_nodes.clone())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for node in &topology.numa_nodes {
        let mut header = vec![Span::raw(format!(
            "node {} · {}",
            node.os_index,
            format_bytes(node.memory_bytes)
        ))];
        if memory_nodes.contains(&node.os_index) {
            header.push(Span::styled(
                " · ring memory",
                severity(app, Severity::Good),
            ));
        }
        lines.push(Line::from(header));
        let mut cells = vec![Span::raw(" ")];
        for core in topology
            .cores
            .iter()
            .filter(|c| c.pus.iter().any(|p| node.cpus.contains(p)))
        {
            cells.push(Span::raw(format!("c{}[", core.index)));
            for (k, &cpu) in core.pus.iter().enumerate() {
                let allowed = topology.pu(cpu).is_some_and(|p| p.allowed);
                let on = threads_on(app, cpu);
                let text = if on.is_empty() {
                    format!("{cpu}")
                } else {
                    format!("{cpu}:{on}")
                };
                let style = if !allowed {
                    style::dim(app)
                } else if on.is_empty() {
                    ratatui::style::Style::default()
                } else {
                    severity(app, Severity::Warn)
                };
                if k > 0 {
                    cells.push(Span::raw(" "));
                }
                cells.push(Span::styled(text, style));
            }
            cells.push(Span::raw("] "));
        }
        lines.push(Line::from(cells));
    }
    if let Some(s) = &app.snapshot {
        for t in s.threads.iter().filter(|t| t.role == Role::Consumer) {
            if let Some(cpu) = t.cpu
                && topology.reads_remote_memory(cpu, &memory_nodes) == Some(true)
            {
                // Narrow, the CPU (which the cores line shows, `5:C1`) gives way: the
                // warning is read whole on one line.
                let full = format!("! {} on CPU {cpu} reads remote memory", t.name);
                let text = if full.chars().count() <= usize::from(inner.width) {
                    full
                } else {
                    format!("! {} reads remote memory", t.name)
                };
                lines.push(Line::from(Span::styled(text, severity(app, Severity::Bad))));
            }
        }
    }
    // A short pane cuts its last lines: a map that was measured keeps its rows before the
    // ring's placement, which keeps its (wrapped) lines before the hint to measure one. The
    // placement is drawn whole or not at all (its node's header says `ring memory` still).
    let map = heatmap(app);
    if app.c2c.is_some() {
        lines.extend(map);
        lines.extend(whole_in_room(ring_lines(app, inner.width), &lines, inner));
    } else {
        lines.extend(whole_in_room(ring_lines(app, inner.width), &lines, inner));
        lines.extend(map);
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// `more`, where all of it fits in `area` below `above` (each of those lines taking the rows it
/// wraps to, counted as [`wrap_words`] breaks it); else nothing.
fn whole_in_room(
    more: Vec<Line<'static>>,
    above: &[Line<'static>],
    area: Rect,
) -> Vec<Line<'static>> {
    let width = usize::from(area.width);
    let taken: usize = above
        .iter()
        .map(|line| wrap_words(&line.to_string(), width).len().max(1))
        .sum();
    if taken + more.len() <= usize::from(area.height) {
        more
    } else {
        Vec::new()
    }
}

/// Where the ring's memory is (`ring: 256 KiB on node 0 (bound to node 0), 4 KiB pages`),
/// wrapped between words to `width` as every note is, in the warning's colour where binding it
/// failed.
fn ring_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let Some(s) = app.snapshot.as_ref() else {
        return Vec::new();
    };
    let failed = s
        .ring
        .memory
        .as_ref()
        .is_some_and(|m| matches!(m.binding, BindingOutcome::Failed { .. }));
    let summary = s.ring.memory_summary.as_deref().unwrap_or("n/a");
    let style = if failed {
        severity(app, Severity::Warn)
    } else {
        style::dim(app)
    };
    wrap_words(&format!("ring: {summary}"), usize::from(width))
        .into_iter()
        .map(|line| Line::styled(line, style))
        .collect()
}

/// The core-to-core map as rows of shaded cells, or how to get one.
fn heatmap(app: &App) -> Vec<Line<'static>> {
    let Some(map) = &app.c2c else {
        let hint = if app.c2c_running {
            "measuring the core-to-core map…"
        } else {
            "m: measure the core-to-core map"
        };
        return vec![Line::from(Span::styled(hint, style::dim(app)))];
    };
    let values: Vec<f64> = map.rtt_ns.iter().flatten().flatten().copied().collect();
    let (lo, hi) = values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let mut lines = vec![Line::from(format!(
        "core-to-core round trip: {lo:.0}–{hi:.0} ns (light to dark)"
    ))];
    for (i, cpu) in map.cpus.iter().enumerate() {
        let cells: String = map.rtt_ns[i]
            .iter()
            .map(|v| match v {
                None => ' ',
                Some(v) if hi > lo => {
                    let k = ((v - lo) / (hi - lo) * (SHADES.len() - 1) as f64).round() as usize;
                    SHADES[k.min(SHADES.len() - 1)]
                }
                Some(_) => SHADES[0],
            })
            .collect();
        lines.push(Line::from(format!("{cpu:>3} {cells}")));
    }
    lines
}
