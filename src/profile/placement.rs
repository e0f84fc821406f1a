//! Where a profile puts things: a thread's CPU (`[pinning]`) and the ring's NUMA node
//! (`ring.numa_node`). Each is a number or a word; read by hand so that a wrong one is answered
//! with what would do (`expected a CPU number or "auto"`), not serde's word for an untagged enum.

use std::fmt;

use serde::de::{Error, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// A CPU for one thread: a number, or `"auto"` (ringtop chooses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CpuSetting {
    /// This CPU.
    Cpu(usize),
    /// `"auto"`.
    Auto(AutoWord),
}

/// The word `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoWord {
    /// Let ringtop choose.
    Auto,
}

/// Where the ring's memory goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(untagged)]
pub enum NumaSetting {
    /// `"local"` (the first consumer's node) or `"any"` (first touch).
    Word(NumaWord),
    /// A NUMA node by OS index.
    Node(usize),
    /// Not given: local.
    #[default]
    #[serde(skip)]
    Default,
}

/// The named NUMA placements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NumaWord {
    /// The node of the first consumer's CPU.
    Local,
    /// No binding: first touch decides.
    Any,
}

/// Reads a whole number or one of `words`: `what` says what the number is, for the error.
struct NumberOrWord {
    what: &'static str,
    words: &'static [&'static str],
}

/// What [`NumberOrWord`] read.
enum Read {
    Number(usize),
    Word(&'static str),
}

impl<'de> Visitor<'de> for NumberOrWord {
    type Value = Read;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0, 1, …)", self.what)?;
        for (i, word) in self.words.iter().enumerate() {
            let joint = if i + 1 == self.words.len() {
                " or"
            } else {
                ","
            };
            write!(f, "{joint} \"{word}\"")?;
        }
        Ok(())
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<Read, E> {
        usize::try_from(n)
            .map(Read::Number)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(n), &self))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<Read, E> {
        u64::try_from(n)
            .map_err(|_| E::invalid_value(Unexpected::Signed(n), &self))
            .and_then(|n| self.visit_u64(n))
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<Read, E> {
        self.words
            .iter()
            .find(|word| **word == text)
            .map(|word| Read::Word(word))
            .ok_or_else(|| E::invalid_value(Unexpected::Str(text), &self))
    }
}

impl<'de> Deserialize<'de> for CpuSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let read = deserializer.deserialize_any(NumberOrWord {
            what: "a CPU number",
            words: &["auto"],
        })?;
        Ok(match read {
            Read::Number(cpu) => CpuSetting::Cpu(cpu),
            Read::Word(_) => CpuSetting::Auto(AutoWord::Auto),
        })
    }
}

impl<'de> Deserialize<'de> for NumaSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let read = deserializer.deserialize_any(NumberOrWord {
            what: "a NUMA node number",
            words: &["local", "any"],
        })?;
        Ok(match read {
            Read::Number(node) => NumaSetting::Node(node),
            Read::Word("any") => NumaSetting::Word(NumaWord::Any),
            Read::Word(_) => NumaSetting::Word(NumaWord::Local),
        })
    }
}

impl CpuSetting {
    /// Thread `i`'s setting in a side's `list`: its entry, or `"auto"` past the list's end (a
    /// thread without an entry is placed automatically). The one home of that rule.
    pub fn of_thread(list: &[CpuSetting], i: usize) -> CpuSetting {
        list.get(i)
            .copied()
            .unwrap_or(CpuSetting::Auto(AutoWord::Auto))
    }
}

impl NumaSetting {
    /// This setting as it places memory: not given is `"local"`, the first consumer's node.
    pub fn resolved(self) -> NumaSetting {
        match self {
            NumaSetting::Default => NumaSetting::Word(NumaWord::Local),
            given => given,
        }
    }
}

impl super::PinningSection {
    /// These settings with an entry for every thread of `producers` and `consumers` (`"auto"`
    /// for each the lists leave out): what a run's record says ran, so that two runs placed the
    /// same way read the same.
    pub fn for_threads(&self, producers: usize, consumers: usize) -> super::PinningSection {
        let each = |list: &[CpuSetting], threads: usize| {
            (0..threads.max(list.len()))
                .map(|i| CpuSetting::of_thread(list, i))
                .collect()
        };
        super::PinningSection {
            producers: each(&self.producers, producers),
            consumers: each(&self.consumers, consumers),
        }
    }
}

/// `[pinning]`'s list for one side: one [`CpuSetting`] per thread, in order. Anything but a list
/// (`consumers = 1`) is told the list it should be.
pub(super) fn cpu_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<CpuSetting>, D::Error> {
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Vec<CpuSetting>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list with a CPU number or \"auto\" per thread ([1], or [\"auto\", 3])")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut cpus = Vec::new();
            while let Some(cpu) = seq.next_element()? {
                cpus.push(cpu);
            }
            Ok(cpus)
        }
    }
    deserializer.deserialize_seq(List)
}
