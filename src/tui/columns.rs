//! Tables whose columns are as wide as their widest cell, and lines of figures. Where a pane is
//! too narrow for all of them, the least needed columns (or parts of a line) go, whole, rather
//! than everything being cut at the edge: a number cut there reads as another number (`1048576`
//! as `104857`).

use ratatui::layout::Constraint;
use ratatui::text::{Line, Span};
use ratatui::widgets::Row;

/// One column of a table: its header, its cells from the top, and how much it is needed (a
/// higher `need` stays longer when the table does not fit).
#[derive(Debug, Clone)]
pub struct Column {
    /// The header.
    pub header: &'static str,
    /// One cell per row.
    pub cells: Vec<String>,
    /// Higher stays longer.
    pub need: u8,
    /// The least width, whatever the cells: the widest a figure of its kind can be, so the
    /// column does not move as one gains a digit.
    pub least: u16,
}

impl Column {
    /// A column called `header`, needed `need` much, with `cells`.
    pub fn new(header: &'static str, need: u8, cells: impl IntoIterator<Item = String>) -> Self {
        Column {
            header,
            cells: cells.into_iter().collect(),
            need,
            least: 0,
        }
    }

    /// The column, never narrower than `width` (the widest its figures can be written).
    #[must_use]
    pub fn at_least(mut self, width: usize) -> Self {
        self.least = u16::try_from(width).unwrap_or(u16::MAX);
        self
    }

    fn width(&self) -> u16 {
        let widest = self
            .cells
            .iter()
            .map(|cell| cell.chars().count())
            .fold(self.header.chars().count(), usize::max);
        u16::try_from(widest).unwrap_or(u16::MAX).max(self.least)
    }
}

/// A table's columns cut down to a width: what to hand ratatui's `Table`.
#[derive(Debug)]
pub struct Fitted {
    /// Each kept column's width.
    pub widths: Vec<Constraint>,
    /// The kept columns' headers (style it as the pane does).
    pub header: Row<'static>,
    /// The rows, kept columns only.
    pub rows: Vec<Row<'static>>,
}

/// Keeps the columns that fit `width` (one space between columns), in their own order: the most
/// needed first, each while it fits whole; the most needed one is kept even alone (ratatui cuts
/// it then, as it would any text wider than its pane).
pub fn fit(columns: &[Column], width: u16) -> Fitted {
    let kept = keep_most_needed(
        &columns
            .iter()
            .map(|c| (c.width(), c.need))
            .collect::<Vec<_>>(),
        1,
        width,
    );
    let kept: Vec<&Column> = columns
        .iter()
        .zip(kept)
        .filter_map(|(column, kept)| kept.then_some(column))
        .collect();
    let rows = (0..kept.iter().map(|c| c.cells.len()).max().unwrap_or(0))
        .map(|row| {
            Row::new(
                kept.iter()
                    .map(|c| c.cells.get(row).cloned().unwrap_or_default()),
            )
        })
        .collect();
    Fitted {
        widths: kept.iter().map(|c| Constraint::Length(c.width())).collect(),
        header: Row::new(kept.iter().map(|c| c.header)),
        rows,
    }
}

/// Which of `items` (each a width and a need) to keep in `width`, `gap` apart, in their order:
/// the most needed first, each while it fits whole; the most needed is kept even alone. The one
/// rule for every table and line that leaves out what does not fit.
pub fn keep_most_needed(items: &[(u16, u8)], gap: u16, width: u16) -> Vec<bool> {
    let mut by_need: Vec<usize> = (0..items.len()).collect();
    by_need.sort_by_key(|&i| std::cmp::Reverse(items[i].1));
    let mut kept = vec![false; items.len()];
    let mut used: u16 = 0;
    for (rank, &i) in by_need.iter().enumerate() {
        let wanted = if rank == 0 {
            items[i].0
        } else {
            used.saturating_add(gap).saturating_add(items[i].0)
        };
        if rank == 0 || wanted <= width {
            kept[i] = true;
            used = wanted;
        }
    }
    kept
}

/// A line of the `parts` (each with its need) that fit `width` whole, `separator` between them:
/// a header's or a status line's figures, by the tables' rule.
pub fn line_of<'a>(parts: Vec<(Span<'a>, u8)>, separator: &'a str, width: u16) -> Line<'a> {
    let sizes: Vec<(u16, u8)> = parts
        .iter()
        .map(|(span, need)| (u16::try_from(span.width()).unwrap_or(u16::MAX), *need))
        .collect();
    let gap = u16::try_from(separator.chars().count()).unwrap_or(u16::MAX);
    let kept = keep_most_needed(&sizes, gap, width);
    let mut spans = Vec::new();
    for ((span, _), kept) in parts.into_iter().zip(kept) {
        if kept {
            if !spans.is_empty() {
                spans.push(Span::raw(separator));
            }
            spans.push(span);
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column::new("ring", 9, ["md-in".to_owned(), "orders".to_owned()]),
            Column::new("capacity", 3, ["1048576".to_owned(), "4096".to_owned()]),
            Column::new("fill", 8, ["4 %".to_owned(), "100 %".to_owned()]),
        ]
    }

    #[test]
    fn every_column_as_wide_as_its_widest_cell_when_they_fit() {
        let fitted = fit(&columns(), 80);
        assert_eq!(
            fitted.widths,
            [6, 8, 5].map(Constraint::Length).to_vec(),
            "ring: `orders`; capacity: its header; fill: `100 %`"
        );
        assert_eq!(fitted.rows.len(), 2);
    }

    #[test]
    fn a_column_of_figures_keeps_its_width_as_one_gains_a_digit() {
        use crate::metrics::human::{FIGURE_WIDTH, format_ns};
        let p50 = |ns: u64| Column::new("p50", 1, [format_ns(ns)]).at_least(FIGURE_WIDTH);
        let widths: Vec<u16> = [850, 999, 1_000, 9_996, 999_500, 12_345_678_901]
            .into_iter()
            .map(|ns| p50(ns).width())
            .collect();
        assert_eq!(widths, [6; 6], "850ns (5) and 1.23µs (6) in one width");
        // Wider cells still widen it: the least width is a floor.
        let wide = Column::new("p50", 1, ["a long cell".to_owned()]).at_least(FIGURE_WIDTH);
        assert_eq!(wide.width(), 11);
    }

    #[test]
    fn the_least_needed_go_whole_and_the_rest_keep_their_order() {
        // ring 6 + fill 5 + a gap = 12; capacity would need 9 more.
        let fitted = fit(&columns(), 20);
        assert_eq!(fitted.widths, [6, 5].map(Constraint::Length).to_vec());
        let fitted = fit(&columns(), 21);
        assert_eq!(fitted.widths, [6, 8, 5].map(Constraint::Length).to_vec());
        // Too narrow for anything but the most needed: it stays.
        let fitted = fit(&columns(), 3);
        assert_eq!(fitted.widths, [Constraint::Length(6)].to_vec());
    }
}
