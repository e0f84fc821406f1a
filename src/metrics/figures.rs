//! How figures are written in JSON: six significant digits, which is more than any of them is
//! accurate to (a rate over a 1 s interval, a share of it, a ratio), and short enough to read.
//! The values themselves keep their full precision in memory; only what is printed is rounded.

use serde::Serializer;

/// Significant digits a printed figure keeps.
pub const SIGNIFICANT_DIGITS: i32 = 6;

/// `value` to [`SIGNIFICANT_DIGITS`] significant digits (integers up to a million unchanged).
pub fn round_significant(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let magnitude = value.abs().log10().floor() as i32;
    let scale = 10f64.powi(SIGNIFICANT_DIGITS - 1 - magnitude);
    let rounded = (value * scale).round() / scale;
    // Large scales lose nothing by rounding; keep the value exact when it already fits.
    if rounded.is_finite() { rounded } else { value }
}

/// Serializes a figure rounded to [`SIGNIFICANT_DIGITS`].
///
/// # Errors
/// The serializer's.
pub fn significant<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(round_significant(*value))
}

/// Serializes an optional figure rounded to [`SIGNIFICANT_DIGITS`], `null` when absent.
///
/// # Errors
/// The serializer's.
pub fn significant_or_null<S: Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => serializer.serialize_f64(round_significant(*v)),
        None => serializer.serialize_none(),
    }
}

/// Serializes an optional pair of figures (a range) rounded to [`SIGNIFICANT_DIGITS`], `null`
/// when absent.
///
/// # Errors
/// The serializer's.
pub fn significant_pair_or_null<S: Serializer>(
    value: &Option<(f64, f64)>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    value
        .map(|(low, high)| (round_significant(low), round_significant(high)))
        .serialize(serializer)
}

/// Serializes a duration as seconds, rounded to [`SIGNIFICANT_DIGITS`].
///
/// # Errors
/// The serializer's.
pub fn seconds<S: Serializer>(
    value: &std::time::Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(round_significant(value.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_keep_six_significant_digits() {
        assert_eq!(round_significant(436_665.393_962_904_3), 436_665.0);
        assert_eq!(round_significant(0.506_890_038), 0.50689);
        assert_eq!(round_significant(1.334_660_474), 1.33466);
        assert_eq!(round_significant(12.8), 12.8);
        assert_eq!(round_significant(-0.000_123_456_789), -0.000_123_457);
        assert_eq!(round_significant(3.0e12), 3.0e12);
        assert_eq!(round_significant(0.0), 0.0);
        let json = serde_json::json!({"x": round_significant(0.341_067_510_721_685_34)});
        assert_eq!(json.to_string(), r#"{"x":0.341068}"#);
    }
}
