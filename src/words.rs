//! English for counts in what ringtop says: one home for a counted noun's plural, so that
//! neither "1 producers" nor "producer(s)" reaches a user.

/// `n` and `noun`, plural when `n` is not 1: "1 ring", "0 rings", "3 NUMA nodes". For nouns
/// whose plural adds an `s` (every noun ringtop counts).
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "producer"), "1 producer");
        assert_eq!(counted(0, "ring"), "0 rings");
        assert_eq!(counted(2, "NUMA node"), "2 NUMA nodes");
    }
}
