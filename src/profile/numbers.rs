//! Numbers in a profile, read as what they are to its reader (a whole number of rows, threads or
//! bytes; rows a second; megabits a second) and refused in those words: serde would say
//! `expected usize` or `expected f64`, the names of Rust's types, not of the setting's values.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Error, Unexpected, Visitor};

/// What a whole-number setting takes.
const WHOLE: &str = "a whole number (0, 1, 2, …)";

/// Reads a whole number (`capacity`, `batch`, `producers`, `seed`, …) into `T`.
pub(crate) fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    deserializer.deserialize_any(Whole(PhantomData))
}

/// Reads a whole number given or left out (`max_frame_bytes`, `rows_per_frame`), with
/// `#[serde(default)]` for the absent case.
pub(super) fn some_whole<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    whole(deserializer).map(Some)
}

/// Reads a number of megabits a second given or left out (`link_mbps`), with
/// `#[serde(default)]` for the absent case. Whether it is positive is [`super::check`]'s rule.
pub(super) fn some_mbps<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    struct Mbps;
    impl Visitor<'_> for Mbps {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("megabits a second, a number (1000, 2.5)")
        }

        fn visit_f64<E: Error>(self, mbps: f64) -> Result<f64, E> {
            Ok(mbps)
        }

        fn visit_i64<E: Error>(self, mbps: i64) -> Result<f64, E> {
            Ok(mbps as f64)
        }

        fn visit_u64<E: Error>(self, mbps: u64) -> Result<f64, E> {
            Ok(mbps as f64)
        }
    }
    deserializer.deserialize_any(Mbps).map(Some)
}

/// What a codec ratio setting takes; the command line's `--min-ratio` says the same.
pub const CODEC_RATIO: &str = "a codec ratio above 0 (10, 2.5, or \"10x\")";

/// A codec ratio from its words (`10`, `2.5`, `10x`, `10×`), if they are one above 0: the one
/// rule for a profile's `min_ratio` and the command line's `--min-ratio`.
pub fn codec_ratio(text: &str) -> Option<f64> {
    let number = text.strip_suffix(['x', '×']).unwrap_or(text);
    number.parse::<f64>().ok().and_then(positive_ratio)
}

/// `ratio` if it is a codec ratio: finite and above 0.
fn positive_ratio(ratio: f64) -> Option<f64> {
    (ratio.is_finite() && ratio > 0.0).then_some(ratio)
}

/// Reads a codec ratio given or left out (`min_ratio`): a number (`10`, `2.5`) or words
/// (`"10x"`), above 0, with `#[serde(default)]` for the absent case.
pub(super) fn some_codec_ratio<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    struct Ratio;
    impl Visitor<'_> for Ratio {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(CODEC_RATIO)
        }

        fn visit_f64<E: Error>(self, ratio: f64) -> Result<f64, E> {
            positive_ratio(ratio).ok_or_else(|| E::invalid_value(Unexpected::Float(ratio), &self))
        }

        fn visit_i64<E: Error>(self, ratio: i64) -> Result<f64, E> {
            positive_ratio(ratio as f64)
                .ok_or_else(|| E::invalid_value(Unexpected::Signed(ratio), &self))
        }

        fn visit_u64<E: Error>(self, ratio: u64) -> Result<f64, E> {
            positive_ratio(ratio as f64)
                .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(ratio), &self))
        }

        fn visit_str<E: Error>(self, text: &str) -> Result<f64, E> {
            codec_ratio(text).ok_or_else(|| E::invalid_value(Unexpected::Str(text), &self))
        }
    }
    deserializer.deserialize_any(Ratio).map(Some)
}

/// Reads rows a second as a profile may write them (`rate`): a whole number (`1000000`) or
/// words, as the command line takes them and the dashboard shows them (`"1M"`, `"500k"`).
pub(crate) fn rows_per_s<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct Rate;
    impl Visitor<'_> for Rate {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "rows a second: a whole number (1000000) or one with k, M or G (\"1M\", \"500k\"); \
                 0 runs flat out",
            )
        }

        fn visit_u64<E: Error>(self, rate: u64) -> Result<u64, E> {
            Ok(rate)
        }

        fn visit_i64<E: Error>(self, rate: i64) -> Result<u64, E> {
            u64::try_from(rate).map_err(|_| E::invalid_value(Unexpected::Signed(rate), &self))
        }

        fn visit_str<E: Error>(self, rate: &str) -> Result<u64, E> {
            crate::metrics::human::parse_count(rate)
                .ok_or_else(|| E::invalid_value(Unexpected::Str(rate), &self))
        }

        /// `rate = 1e6` is a million, as `"1e6"` is; a fraction is refused, in the number's own
        /// short form (serde would spell out all 301 digits of `1e300`).
        fn visit_f64<E: Error>(self, rate: f64) -> Result<u64, E> {
            crate::metrics::human::whole_count(rate).ok_or_else(|| {
                let written = if rate.abs() < 1e16 {
                    format!("{rate}")
                } else {
                    format!("{rate:e}")
                };
                E::invalid_value(
                    Unexpected::Other(&format!("floating point `{written}`")),
                    &self,
                )
            })
        }
    }
    deserializer.deserialize_any(Rate)
}

/// The visitor of [`whole`]: a non-negative integer that fits `T`.
struct Whole<T>(PhantomData<T>);

impl<T: TryFrom<u64>> Visitor<'_> for Whole<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(WHOLE)
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::invalid_value(Unexpected::Unsigned(n), &"a smaller number"))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<T, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(n), &WHOLE)),
        }
    }

    fn visit_i128<E: Error>(self, n: i128) -> Result<T, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) if n < 0 => Err(E::invalid_value(
                Unexpected::Other("a negative number"),
                &WHOLE,
            )),
            Err(_) => Err(E::invalid_value(
                Unexpected::Other(&format!("integer `{n}`")),
                &"a smaller number",
            )),
        }
    }

    fn visit_u128<E: Error>(self, n: u128) -> Result<T, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::invalid_value(
                Unexpected::Other(&format!("integer `{n}`")),
                &"a smaller number",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Settings {
        #[serde(default, deserialize_with = "whole")]
        batch: usize,
        #[serde(default, deserialize_with = "whole")]
        version: u8,
        #[serde(default, deserialize_with = "some_whole")]
        rows: Option<usize>,
        #[serde(default, deserialize_with = "some_mbps")]
        mbps: Option<f64>,
    }

    fn read(text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn numbers_are_refused_in_their_own_words() {
        assert_eq!(read("batch = 64").unwrap().batch, 64);
        assert_eq!(read("version = 255").unwrap().version, 255);
        assert_eq!(read("rows = 8").unwrap().rows, Some(8));
        assert_eq!(read("").unwrap().rows, None);
        assert_eq!(read("mbps = 2.5").unwrap().mbps, Some(2.5));
        assert_eq!(read("mbps = 100").unwrap().mbps, Some(100.0));
        assert_eq!(
            read("batch = -1").unwrap_err(),
            "invalid value: integer `-1`, expected a whole number (0, 1, 2, …)"
        );
        assert_eq!(
            read("batch = 1.5").unwrap_err(),
            "invalid type: floating point `1.5`, expected a whole number (0, 1, 2, …)"
        );
        assert_eq!(
            read("rows = \"8\"").unwrap_err(),
            "invalid type: string \"8\", expected a whole number (0, 1, 2, …)"
        );
        assert_eq!(
            read("version = 300").unwrap_err(),
            "invalid value: integer `300`, expected a smaller number"
        );
        assert_eq!(
            read("batch = 99999999999999999999").unwrap_err(),
            "invalid value: integer `99999999999999999999`, expected a smaller number"
        );
        assert_eq!(
            read("mbps = \"fast\"").unwrap_err(),
            "invalid type: string \"fast\", expected megabits a second, a number (1000, 2.5)"
        );
    }
}
