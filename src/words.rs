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

/// `items` as a list in a sentence, the last joined by `conjunction`: "a", "a or b", "a, b and
/// c".
pub fn listed(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{counted, listed};

    #[test]
    fn a_list_is_joined_with_commas_and_its_conjunction() {
        let words = |list: &[&str], conjunction| {
            listed(
                &list.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                conjunction,
            )
        };
        assert_eq!(words(&[], "or"), "");
        assert_eq!(words(&["lost rows"], "or"), "lost rows");
        assert_eq!(words(&["a", "b"], "or"), "a or b");
        assert_eq!(words(&["a", "b", "c"], "and"), "a, b and c");
    }

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "producer"), "1 producer");
        assert_eq!(counted(0, "ring"), "0 rings");
        assert_eq!(counted(2, "NUMA node"), "2 NUMA nodes");
    }
}
