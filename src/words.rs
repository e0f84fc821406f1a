//! English for counts and lists in what ringtop says: one home for a counted noun's plural, so
//! that neither "1 producers" nor "producer(s)" reaches a user, and for a list of alternatives.

/// `n` and `noun`, plural when `n` is not 1: "1 ring", "0 rings", "3 NUMA nodes". For nouns
/// whose plural adds an `s` (every noun ringtop counts).
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `items` as alternatives in a sentence: "a", "a or b", "a, b or c".
pub fn either(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{counted, either};

    #[test]
    fn alternatives_are_joined_with_commas_and_a_last_or() {
        let words = |list: &[&str]| either(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(words(&[]), "");
        assert_eq!(words(&["lost rows"]), "lost rows");
        assert_eq!(words(&["a", "b"]), "a or b");
        assert_eq!(words(&["a", "b", "c"]), "a, b or c");
    }

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "producer"), "1 producer");
        assert_eq!(counted(0, "ring"), "0 rings");
        assert_eq!(counted(2, "NUMA node"), "2 NUMA nodes");
    }
}
