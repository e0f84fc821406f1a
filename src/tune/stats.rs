//! The statistics the search decides with: medians and a one-sided sign test.

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
/// Infinities sort like numbers; NaNs are not expected.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    // Two equal infinities in the middle: their mean would be NaN-free but is written out.
    let middle_pair_infinite = sorted.len().is_multiple_of(2)
        && sorted[mid - 1].is_infinite()
        && sorted[mid - 1] == sorted[mid];
    Some(if sorted.len() % 2 == 1 || middle_pair_infinite {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// The confidence that one setting is better than another when it won `wins` of `pairs`
/// paired comparisons: 1 − P(X ≥ wins) for X ~ Binomial(pairs, ½), the one-sided sign test.
/// It needs no assumption about the shape of the noise, only that each pair is measured under
/// the same conditions; 0 when there are no pairs.
pub fn sign_test_confidence(wins: usize, pairs: usize) -> f64 {
    if pairs == 0 {
        return 0.0;
    }
    let tail: f64 =
        (wins..=pairs).map(|k| binomial(pairs, k)).sum::<f64>() / 2f64.powi(pairs as i32);
    (1.0 - tail).clamp(0.0, 1.0)
}

/// n choose k, as a float (exact for the small counts used here).
fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(
            median(&[f64::INFINITY, f64::INFINITY, 1.0, 2.0]).map(f64::is_finite),
            Some(false)
        );
    }

    #[test]
    fn the_sign_test_matches_the_binomial_tail() {
        // All 6 of 6: P = 1/64.
        assert!((sign_test_confidence(6, 6) - (1.0 - 1.0 / 64.0)).abs() < 1e-12);
        // 5 of 6: P = 7/64.
        assert!((sign_test_confidence(5, 6) - (1.0 - 7.0 / 64.0)).abs() < 1e-12);
        // 0 wins: P = 1, no confidence at all.
        assert_eq!(sign_test_confidence(0, 6), 0.0);
        // Half the pairs is a coin toss: under 1/2 confidence.
        assert!(sign_test_confidence(6, 12) < 0.5);
        assert_eq!(sign_test_confidence(0, 0), 0.0);
        // 10 of 12: P = (66 + 12 + 1) / 4096.
        assert!((sign_test_confidence(10, 12) - (1.0 - 79.0 / 4096.0)).abs() < 1e-12);
    }
}
