//! CPU lists written the way Linux writes them (`0-3,6,8-9`), both ways.

use std::fmt::Write as _;

/// Formats CPU (or node) ids the way Linux does (`0-3,6,8-9`); `none` for an empty list.
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}

/// CPU ids named in a sentence: `CPU 3` for one, `CPUs 0-3,6` for several ([`format_cpu_list`]),
/// `no CPU` for none.
pub fn cpus_named(cpus: &[usize]) -> String {
    let mut distinct = cpus.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct[..] {
        [] => "no CPU".to_owned(),
        [one] => format!("CPU {one}"),
        _ => format!("CPUs {}", format_cpu_list(&distinct)),
    }
}

/// A CPU list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad CPU list {input:?}: {reason} (expected ids and ranges like `0-3,6`)")]
pub struct CpuListError {
    /// The text given.
    pub input: String,
    /// What was wrong with it.
    pub reason: String,
}

/// Reads a Linux-style CPU list (`0-3,6,8-9`) into ascending, de-duplicated ids.
///
/// # Errors
/// [`CpuListError`] for empty input, non-numbers and backwards ranges.
pub fn parse_cpu_list(input: &str) -> Result<Vec<usize>, CpuListError> {
    let fail = |reason: String| CpuListError {
        input: input.to_owned(),
        reason,
    };
    let number = |text: &str| {
        text.trim()
            .parse::<usize>()
            .map_err(|_| fail(format!("`{}` is not a CPU number", text.trim())))
    };
    let mut cpus = Vec::new();
    for part in input.split(',') {
        if part.trim().is_empty() {
            return Err(fail("empty entry".to_owned()));
        }
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi)?);
                if lo > hi {
                    return Err(fail(format!("range {lo}-{hi} runs backwards")));
                }
                cpus.extend(lo..=hi);
            }
            None => cpus.push(number(part)?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_read_like_linux() {
        assert_eq!(format_cpu_list(&[0, 1]), "0-1");
        assert_eq!(format_cpu_list(&[3, 0, 1, 2, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(format_cpu_list(&[5]), "5");
        assert_eq!(format_cpu_list(&[]), "none");
    }

    #[test]
    fn cpus_are_named_as_one_or_several() {
        assert_eq!(cpus_named(&[3]), "CPU 3");
        assert_eq!(cpus_named(&[3, 3]), "CPU 3");
        assert_eq!(cpus_named(&[1, 0]), "CPUs 0-1");
        assert_eq!(cpus_named(&[0, 2]), "CPUs 0,2");
        assert_eq!(cpus_named(&[]), "no CPU");
    }

    #[test]
    fn cpu_lists_parse_back() {
        assert_eq!(
            parse_cpu_list("0-3,6,8-9").unwrap(),
            vec![0, 1, 2, 3, 6, 8, 9]
        );
        assert_eq!(parse_cpu_list(" 1 , 0 ,1").unwrap(), vec![0, 1]);
        assert_eq!(
            parse_cpu_list(&format_cpu_list(&[4, 2, 3])).unwrap(),
            vec![2, 3, 4]
        );
    }

    #[test]
    fn bad_cpu_lists_say_what_is_wrong() {
        let err = parse_cpu_list("0,x").unwrap_err().to_string();
        assert!(err.contains("`x` is not a CPU number"), "{err}");
        assert!(
            parse_cpu_list("3-1")
                .unwrap_err()
                .reason
                .contains("backwards")
        );
        assert!(parse_cpu_list("").unwrap_err().reason.contains("empty"));
        assert!(parse_cpu_list("1,,2").is_err());
    }
}
