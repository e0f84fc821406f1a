//! Positions in profile text: a byte offset as line and column, and where a key's value starts.

use toml::de::{DeTable, DeValue};

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A table key.
    Key(&'static str),
    /// An array element.
    Index(usize),
}

/// 1-based line and column (in characters) of byte `offset`.
pub(crate) fn line_column(text: &str, offset: usize) -> (Option<usize>, Option<usize>) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (Some(line), Some(column))
}

/// The byte offset where the value at `path` starts, or where the deepest existing part of the
/// path starts (so a missing key points at its table).
pub(crate) fn span_of(text: &str, path: &[Step]) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut best = None;
    let mut value: Option<&DeValue<'_>> = None;
    let mut table = Some(root.get_ref());
    for step in path {
        let next = match (step, table, value) {
            (Step::Key(key), Some(t), _) => t
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == *key)
                .map(|(_, v)| v),
            (Step::Index(i), _, Some(DeValue::Array(items))) => items.get(*i),
            _ => None,
        };
        let Some(next) = next else {
            break;
        };
        best = Some(next.span().start);
        value = Some(next.get_ref());
        table = match next.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (Some(1), Some(1)));
        assert_eq!(line_column(text, 6), (Some(2), Some(1)));
        assert_eq!(line_column(text, 11), (Some(2), Some(6)));
    }

    #[test]
    fn paths_find_values_in_tables_and_arrays() {
        let text = "[ring]\ncapacity = 1000\n[pinning]\nconsumers = [1, 99]\n";
        let at = span_of(text, &[Step::Key("ring"), Step::Key("capacity")]).unwrap();
        assert_eq!(line_column(text, at), (Some(2), Some(12)));
        let at = span_of(
            text,
            &[Step::Key("pinning"), Step::Key("consumers"), Step::Index(1)],
        )
        .unwrap();
        assert_eq!(line_column(text, at), (Some(4), Some(17)));
        assert!(span_of(text, &[Step::Key("codec")]).is_none());
    }
}
