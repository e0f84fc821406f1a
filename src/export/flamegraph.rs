//! `--flamegraph FILE.svg`: folded stacks of the workers drawn as a flamegraph (`inferno`), one
//! tower per thread.

use crate::metrics::stacks::FoldedStacks;

/// Writes `stacks` as a flamegraph SVG titled `title` to `out`.
///
/// # Errors
/// Why the flamegraph cannot be drawn or written (no samples at all, an I/O error).
pub fn write_svg(
    stacks: &FoldedStacks,
    title: &str,
    out: impl std::io::Write,
) -> Result<(), String> {
    if stacks.lines.is_empty() {
        let threads: Vec<String> = stacks
            .samples
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        return Err(format!(
            "no stack was sampled (samples per thread: {})",
            threads.join(", ")
        ));
    }
    let total: u64 = stacks.samples.iter().map(|(_, n)| n).sum();
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_owned();
    options.subtitle = Some(format!(
        "{total} samples of on-CPU time at {} Hz per thread (perf cpu-clock, frame pointers)",
        stacks.frequency_hz
    ));
    options.count_name = "samples".to_owned();
    inferno::flamegraph::from_lines(&mut options, stacks.lines.iter().map(String::as_str), out)
        .map_err(|e| format!("cannot draw the flamegraph: {e}"))
}

/// Draws `stacks` as [`write_svg`] does into `pending`, and puts the file in place: the whole
/// SVG, or (nothing sampled, a full disk) the path as it was.
///
/// # Errors
/// As [`write_svg`], and what writing the file said.
pub fn save_svg(
    stacks: &FoldedStacks,
    title: &str,
    mut pending: crate::save::Pending,
) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(pending.file());
    write_svg(stacks, title, &mut out)?;
    out.flush().map_err(|e| format!("cannot write it: {e}"))?;
    drop(out);
    pending
        .commit()
        .map_err(|e| format!("cannot write it: {e}"))
}
