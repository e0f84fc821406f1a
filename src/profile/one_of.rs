//! A setting that is one of a few words (`ring.kind`, `wait.producer`, `codec.name`,
//! `transport.kind`). A wrong word is answered by serde with the words there are; a value that is
//! no word at all (`kind = 3`) would get TOML's "wanted string or table", so it is answered here
//! the same way: what was given and the words it should be.

use serde::de::value::Error as CatchError;
use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

/// Reads one of `T`'s words (`#[serde(deserialize_with = "one_of::word")]`).
pub(super) fn word<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> Deserialize<'a>,
{
    let value = toml::Value::deserialize(deserializer)?;
    if let toml::Value::String(_) = value {
        return T::deserialize(value).map_err(|e| de::Error::custom(e.message()));
    }
    let words = words_of::<T>();
    let expected = if words.is_empty() {
        "a word".to_owned()
    } else {
        format!("one of {}", words.join(", "))
    };
    Err(de::Error::invalid_type(
        unexpected(&value),
        &expected.as_str(),
    ))
}

/// How serde would name `value` in an error (`integer `3``).
fn unexpected(value: &toml::Value) -> Unexpected<'_> {
    match value {
        toml::Value::Integer(n) => Unexpected::Signed(*n),
        toml::Value::Float(x) => Unexpected::Float(*x),
        toml::Value::Boolean(b) => Unexpected::Bool(*b),
        toml::Value::Array(_) => Unexpected::Seq,
        toml::Value::Table(_) => Unexpected::Map,
        toml::Value::String(s) => Unexpected::Str(s),
        toml::Value::Datetime(_) => Unexpected::Other("a date"),
    }
}

/// `T`'s words, as `T`'s own `Deserialize` names them (each in backquotes): it hands them to
/// `deserialize_enum`, which [`Catch`] keeps.
fn words_of<T: for<'a> Deserialize<'a>>() -> Vec<String> {
    let mut words = Vec::new();
    let _ = T::deserialize(Catch { words: &mut words });
    words
}

/// A deserializer that holds no value: it only keeps the variant names an enum asks it for.
struct Catch<'w> {
    words: &'w mut Vec<String>,
}

impl<'de> Deserializer<'de> for Catch<'_> {
    type Error = CatchError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, CatchError> {
        Err(de::Error::custom("not an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, CatchError> {
        self.words
            .extend(variants.iter().map(|variant| format!("`{variant}`")));
        Err(de::Error::custom("only the variants were wanted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}
