//! A search in words for the terminal (`ringtop tune` prints it on stderr): each rung's best,
//! the winner, the verdict and what it cost.

use super::{Candidate, SearchRecord};

impl SearchRecord {
    /// The search as a table: each rung's best with its merit relative to its neighbours, then
    /// the winner (saying so where the baseline led the last rung, and the runner-up was the one
    /// confirmed against it), the verdict and the time spent.
    pub fn table(&self, candidates: &[Candidate]) -> String {
        let mut out = format!(
            "{:<6} {:>8} {:>10} {:>5}  best (relative to its neighbours)\n",
            "rung", "trial", "candidates", "kept"
        );
        for (i, rung) in self.rungs.iter().enumerate() {
            let best = rung.ranking.first().map_or_else(String::new, |&(id, m)| {
                format!(
                    "{} ({})",
                    candidates[id].label(),
                    m.map_or("out".to_owned(), |m| format!("{m:.2}"))
                )
            });
            out.push_str(&format!(
                "{:<6} {:>6.2} s {:>10} {:>5}  {best}\n",
                i,
                rung.trial_s,
                rung.ranking.len(),
                rung.kept
            ));
        }
        let v = &self.verdict;
        if let Some(floor) = self.min_codec_ratio {
            out.push_str(&format!(
                "codec ratio floor: {floor}x (a trial under it was out)\n"
            ));
        }
        let baseline_led = self
            .rungs
            .last()
            .and_then(|rung| rung.ranking.first())
            .is_some_and(|&(id, _)| id == 0);
        let led = if baseline_led && v.winner != 0 {
            " (the best but the baseline, which led the last rung)"
        } else {
            ""
        };
        out.push_str(&format!("winner: {}{led}\n", candidates[v.winner].label()));
        out.push_str(&format!("verdict: {}\n", v.reason));
        out.push_str(&format!(
            "spent {:.1} s of {:.0} s on {} trials\n",
            self.spent_s,
            self.budget_s,
            self.trials.len()
        ));
        out
    }
}
