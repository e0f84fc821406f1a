//! Scrolling a text overlay (help, warnings, the host check, the search) that is taller than the
//! terminal: ↑↓ a line, PgUp/PgDn a page, Home/End the ends, so nothing in it is out of reach on
//! a short terminal.

use std::cell::Cell;

use ratatui::crossterm::event::KeyCode;

/// Where a text overlay is scrolled to, and how far it can go.
#[derive(Debug, Clone, Default)]
pub struct Scroll {
    /// The first line shown, as the keys asked (the drawing keeps it within the text).
    offset: usize,
    /// The furthest offset and the lines a page shows, as last drawn: the keys stop there, so
    /// scrolling back never first has to unwind presses past the end.
    limits: Cell<(usize, usize)>,
}

impl Scroll {
    /// Takes a scrolling key (`true`), or leaves it to the caller (`false`).
    pub fn key(&mut self, code: KeyCode) -> bool {
        let (furthest, page) = self.limits.get();
        let page = page.max(1);
        self.offset = match code {
            KeyCode::Up => self.offset.saturating_sub(1),
            KeyCode::Down => self.offset.saturating_add(1),
            KeyCode::PageUp => self.offset.saturating_sub(page),
            KeyCode::PageDown => self.offset.saturating_add(page),
            KeyCode::Home => 0,
            KeyCode::End => furthest,
            _ => return false,
        }
        .min(furthest);
        true
    }

    /// The first line to show of `total` lines in `visible` rows, and notes where the text ends
    /// for the keys.
    pub fn first_line(&self, total: usize, visible: usize) -> usize {
        let furthest = total.saturating_sub(visible);
        self.limits.set((furthest, visible));
        self.offset.min(furthest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_within_the_text_as_last_drawn() {
        let mut scroll = Scroll::default();
        assert_eq!(scroll.first_line(30, 10), 0);
        assert!(scroll.key(KeyCode::Down));
        assert_eq!(scroll.first_line(30, 10), 1);
        assert!(scroll.key(KeyCode::PageDown));
        assert_eq!(scroll.first_line(30, 10), 11);
        for _ in 0..50 {
            scroll.key(KeyCode::Down);
        }
        assert_eq!(scroll.first_line(30, 10), 20, "stops at the last page");
        assert!(scroll.key(KeyCode::Up));
        assert_eq!(
            scroll.first_line(30, 10),
            19,
            "one press back moves at once"
        );
        assert!(scroll.key(KeyCode::Home));
        assert_eq!(scroll.first_line(30, 10), 0);
        assert!(scroll.key(KeyCode::End));
        assert_eq!(scroll.first_line(30, 10), 20);
        assert!(!scroll.key(KeyCode::Char('x')));
        // A taller terminal shows it all from the top.
        assert_eq!(scroll.first_line(30, 40), 0);
    }
}
