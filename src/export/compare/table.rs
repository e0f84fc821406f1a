//! The comparison as a table for people.

use crate::metrics::figures::round_significant;
use crate::metrics::latency::{P99_SAMPLES, P999_SAMPLES};

use super::{LINK, Report};

/// The thread column's narrowest width (a run's `consumer-12` fits).
const THREAD_WIDTH: usize = 14;

impl Report {
    /// The comparison as a table for people.
    pub fn table(&self) -> String {
        // As wide as the longest thread name (an attached program's are `<ring> consumer-N`).
        let width = self
            .comparisons
            .iter()
            .map(|c| c.thread.chars().count())
            .max()
            .unwrap_or(0)
            .max(THREAD_WIDTH);
        let mut text = format!(
            "A: {}\nB: {}\n{:<width$} {:<11} {:>14} {:>14} {:>9} {:>8}  verdict\n",
            self.a, self.b, "thread", "figure", "A", "B", "change", "noise"
        );
        for c in &self.comparisons {
            let verdict = if c.regression {
                "REGRESSION"
            } else if c.improvement {
                "better"
            } else if c.thin {
                "thin"
            } else {
                "ok"
            };
            text.push_str(&format!(
                "{:<width$} {:<11} {:>14} {:>14} {:>+8.1}% {:>8}  {verdict}\n",
                c.thread,
                c.figure,
                round_significant(c.a),
                round_significant(c.b),
                c.change * 100.0,
                c.noise
                    .map_or("n/a".to_owned(), |n| format!("{:.1}%", n * 100.0))
            ));
        }
        if self.comparisons.iter().any(|c| c.noise.is_none()) {
            text.push_str(
                "noise n/a: an output needs four intervals or more (the first, the warm-up, is left \
                 out) and a figure above zero to estimate it from; run longer, or with a shorter \
                 --interval\n",
            );
        }
        if self.comparisons.iter().any(|c| c.thin) {
            text.push_str(&format!(
                "thin: A or B timed fewer rows than the percentile needs ({P99_SAMPLES} for p99, \
                 {P999_SAMPLES} for p99.9): its slowest row, so neither a regression nor an \
                 improvement\n"
            ));
        }
        if self.comparisons.iter().any(|c| c.thread == LINK) {
            text.push_str(
                "link: the sender's round trips, a row's stamp to the receiver's credit echoing it \
                 (a sender times no row itself)\n",
            );
        }
        for warning in &self.warnings {
            text.push_str(&format!("warning: {warning}\n"));
        }
        text.push_str(&format!(
            "{}\n",
            if self.regressed {
                format!(
                    "B regressed: worse than A by more than {:.0} % and twice the noise{}",
                    self.max_regression * 100.0,
                    if self
                        .comparisons
                        .iter()
                        .any(|c| c.regression && c.noise.is_none())
                    {
                        " (by the threshold alone where the noise is n/a)"
                    } else {
                        ""
                    }
                )
            } else {
                format!(
                    "no regression beyond {:.0} % and the noise",
                    self.max_regression * 100.0
                )
            }
        ));
        text
    }
}
