//! Notes in a pane, wrapped between words to the pane's width by one rule, so that a pane can
//! give its notes exactly the lines they take (ratatui's own wrap cannot say how many, short of
//! its unstable `rendered-line-info` feature) and a note is read whole however narrow the pane.

use ratatui::text::Line;

/// Each of `notes` wrapped to `width` columns ([`wrap_words`]), as the lines a pane draws: as
/// many as the notes take, which is the height to give them.
pub fn note_lines(notes: &[String], width: u16) -> Vec<Line<'static>> {
    notes
        .iter()
        .flat_map(|note| wrap_words(note, usize::from(width)))
        .map(Line::from)
        .collect()
}

/// `text` in lines of at most `width` characters, broken between words (a word longer than a
/// line is broken inside), continuation lines indented by two: a note is read whole however
/// narrow the pane.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(3);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let gap = usize::from(used > 0 && !line.ends_with(' '));
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.drain(..));
                break;
            }
            if !line.trim().is_empty() {
                lines.push(std::mem::replace(&mut line, "  ".to_owned()));
                continue;
            }
            // Alone on a line and still too long: as much as fits here.
            let room = width - used;
            line.extend(word.drain(..room));
            lines.push(std::mem::replace(&mut line, "  ".to_owned()));
        }
    }
    if line.trim().is_empty() {
        return lines;
    }
    lines.push(line);
    lines
}

/// `text` wrapped between words ([`wrap_words`]) in at most `most` lines (at least one), the
/// last cut with `…` where it does not all fit: a status line in a short terminal.
pub fn wrap_within(text: &str, width: usize, most: usize) -> Vec<String> {
    let mut lines = wrap_words(text, width);
    let most = most.max(1);
    if lines.len() > most {
        lines.truncate(most);
        if let Some(last) = lines.last_mut() {
            let kept: String = last.chars().take(width.max(3) - 1).collect();
            *last = format!("{}…", kept.trim_end());
        }
    }
    lines
}

/// `entries` (each a key and what it does) in lines of at most `width` characters, two spaces
/// between entries and a line broken only between them, so no key is shown apart from what it
/// does; an entry wider than a line is wrapped between its words ([`wrap_words`]).
pub fn wrap_entries(entries: &[&str], width: usize) -> Vec<String> {
    let width = width.max(3);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for entry in entries {
        let used = line.chars().count();
        let needed = entry.chars().count() + if used > 0 { 2 } else { 0 };
        if used > 0 && used + needed <= width {
            line.push_str("  ");
            line.push_str(entry);
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
        }
        let mut parts = wrap_words(entry, width);
        line = parts.pop().unwrap_or_default();
        lines.extend(parts);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::{wrap_entries, wrap_within, wrap_words};

    #[test]
    fn text_within_some_lines_is_cut_with_an_ellipsis_only_where_it_must_be() {
        let text = "cannot read the segment: it changed while it was read. q quits";
        assert_eq!(wrap_within(text, 80, 1), [text]);
        assert_eq!(
            wrap_within(text, 30, 2),
            [
                "cannot read the segment: it",
                "  changed while it was read.…"
            ]
        );
        assert_eq!(wrap_within(text, 30, 0).len(), 1);
    }

    #[test]
    fn entries_wrap_between_them_and_a_key_stays_with_what_it_does() {
        let keys = ["q quit", "? help", "f/F prefetch", "w warnings"];
        assert_eq!(
            wrap_entries(&keys, 20),
            ["q quit  ? help", "f/F prefetch", "w warnings"]
        );
        assert_eq!(
            wrap_entries(&keys, 200),
            ["q quit  ? help  f/F prefetch  w warnings"]
        );
        // Wider than a line: between its words, and the next entry after it.
        assert_eq!(
            wrap_entries(&["x cancel the search", "y"], 10),
            ["x cancel", "  the", "  search", "y"]
        );
    }

    #[test]
    fn a_note_wraps_between_words_and_keeps_every_word() {
        let note = "quotes producer: the producer is another process (the ring's sender)";
        for width in [3, 10, 17, 30, 200] {
            let lines = wrap_words(note, width);
            assert!(
                lines.iter().all(|l| l.chars().count() <= width),
                "{lines:?}"
            );
            let joined: String = lines.concat().split_whitespace().collect();
            let words: String = note.split_whitespace().collect();
            assert_eq!(joined, words, "width {width}");
            assert!(
                lines.iter().skip(1).all(|l| l.starts_with("  ")),
                "{lines:?}"
            );
        }
        assert_eq!(
            wrap_words(note, 30),
            [
                "quotes producer: the producer",
                "  is another process (the",
                "  ring's sender)"
            ]
        );
    }
}
