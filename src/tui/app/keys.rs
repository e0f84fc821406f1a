//! What each key does to the dashboard's state: a key turns into an [`Effect`] the event loop
//! carries out, or into a line on the status line saying why it did nothing.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect, Mode, loadable_profiles};
use crate::codec::CodecId;
use crate::engine::{Command, CommandError};
use crate::metrics::pace::{keeps_rate, step_down, step_up};
use crate::metrics::snapshot::Role;
use crate::profile::rules::{check_batch, check_codec_switch, check_prefetch, largest_batch};
use crate::tui::scroll::Scroll;

/// The footer entries of the keys a receiver's dashboard does not offer, with the keys each
/// stands for: what is sent (codec, pace, pausing) is the sender's to choose.
const SENDER_DECIDES: [(&str, &[char]); 3] = [
    (CODEC_ENTRY, &['c']),
    ("+/- pace", &['+', '=', '-']),
    ("space pause", &[' ']),
];

/// The footer entries of the keys a sender's dashboard does not offer, with the keys each
/// stands for: its rows are read and timed by the receiver, whose latency they would reset or
/// span.
const RECEIVER_TIMES: [(&str, &[char]); 2] = [("r reset", &['r']), ("a latency span", &['a'])];

/// The footer entry of the key that starts a search.
const TUNE_ENTRY: &str = "t tune";

/// The footer entry of the prefetch keys, offered where the ring prefetches at all.
const PREFETCH_ENTRY: &str = "f/F prefetch";

/// The footer entry of the codec picker, offered where rows travel in frames.
const CODEC_ENTRY: &str = "c codec";

/// Whether `pressed` is one of the keys of `entries`.
fn among(entries: &[(&str, &[char])], pressed: char) -> bool {
    entries.iter().any(|(_, keys)| keys.contains(&pressed))
}

/// Whether `entry` is one of `entries`' footer entries.
fn listed(entries: &[(&str, &[char])], entry: &str) -> bool {
    entries.iter().any(|(offered, _)| *offered == entry)
}

impl App {
    /// Whether the keys of footer `entry` ([`crate::tui::panes::footer::keys`]) act on this
    /// dashboard: a receiver's leaves what is sent to its sender, a sender's the latency its
    /// receiver times, `t` needs a workload a search can run, `f`/`F` a ring that prefetches
    /// and `c` one that carries frames (the status line says why when pressed anyway).
    pub fn offers(&self, entry: &str) -> bool {
        let acts_on_this_ring = match entry {
            TUNE_ENTRY => self.tunable,
            PREFETCH_ENTRY => check_prefetch(self.ring, 1).is_ok(),
            CODEC_ENTRY => check_codec_switch(self.ring).is_ok(),
            _ => true,
        };
        acts_on_this_ring
            && !(self.receiving && listed(&SENDER_DECIDES, entry)
                || self.sending && listed(&RECEIVER_TIMES, entry))
    }

    /// What a key does.
    pub fn key(&mut self, key: KeyEvent) -> Effect {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Effect::Quit;
        }
        match self.mode.clone() {
            Mode::Normal => self.key_normal(key),
            Mode::Tune if key.code == KeyCode::Char('x') => {
                self.mode = Mode::Normal;
                Effect::CancelTune
            }
            Mode::Help | Mode::Warnings | Mode::HostCheck { .. } | Mode::Tune => {
                if !self.overlay_scroll.key(key.code) {
                    self.overlay_scroll = Scroll::default();
                    self.mode = Mode::Normal;
                }
                Effect::None
            }
            Mode::CpuPicker { cursor } => self.key_cpu_picker(key, cursor),
            Mode::CodecPicker { cursor } => self.key_codec_picker(key, cursor),
            Mode::Save { name, confirm } => self.key_save(key, name, confirm),
            Mode::Load { cursor } => self.key_load(key, cursor),
        }
    }

    /// A batch command, or the rule it breaks on the status line.
    fn batch_to(&mut self, size: usize) -> Effect {
        match check_batch(self.ring, size) {
            Ok(()) => Effect::Send(Command::Batch { size }),
            Err(err) => {
                self.report(format!("batch {size}: {err}"), true);
                Effect::None
            }
        }
    }

    /// The pace one 1-2-5 step up; flat out where the producers already fall short of the pace
    /// (a higher one would only add to their lag).
    fn pace_up(&mut self) -> Effect {
        if self.rate == 0 {
            self.report(
                "flat out already: - paces the producers below what they deliver",
                true,
            );
            return Effect::None;
        }
        let short = self
            .producer_rates()
            .any(|sent| !keeps_rate(sent, self.rate as f64));
        let rows_per_s = if short { 0 } else { step_up(self.rate) };
        Effect::Send(Command::Rate { rows_per_s })
    }

    /// The pace one 1-2-5 step down; from flat out, the step below what the busiest producer
    /// delivers.
    fn pace_down(&mut self) -> Effect {
        let from = if self.rate == 0 {
            match self.producer_rates().reduce(f64::max) {
                Some(sent) if sent >= 2.0 => sent as u64,
                _ => {
                    self.report("no producer's rate measured yet to pace below", true);
                    return Effect::None;
                }
            }
        } else {
            self.rate
        };
        match step_down(from) {
            Some(rows_per_s) => Effect::Send(Command::Rate { rows_per_s }),
            None => {
                self.report("1 row a second is the slowest pace", true);
                Effect::None
            }
        }
    }

    /// Each producer's rows per second over the last interval.
    fn producer_rates(&self) -> impl Iterator<Item = f64> + '_ {
        self.snapshot
            .iter()
            .flat_map(|s| &s.threads)
            .filter(|t| t.role == Role::Producer)
            .map(|t| t.rows_per_s)
    }

    /// A prefetch command, or the rule it breaks on the status line.
    fn prefetch_to(&mut self, distance: usize) -> Effect {
        match check_prefetch(self.ring, distance) {
            Ok(()) => Effect::Send(Command::Prefetch { distance }),
            Err(err) => {
                self.report(format!("prefetch {distance}: {err}"), true);
                Effect::None
            }
        }
    }

    fn key_normal(&mut self, key: KeyEvent) -> Effect {
        let threads = self.thread_count();
        if let KeyCode::Char(pressed) = key.code {
            let refused = if self.receiving && among(&SENDER_DECIDES, pressed) {
                Some(CommandError::SenderDecides)
            } else if self.sending && among(&RECEIVER_TIMES, pressed) {
                Some(CommandError::ReceiverTimes)
            } else {
                None
            };
            if let Some(refused) = refused {
                self.report(refused.to_string(), true);
                return Effect::None;
            }
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => Effect::Quit,
            KeyCode::Char('?') => {
                self.mode = Mode::Help;
                Effect::None
            }
            KeyCode::Char('w') => {
                self.mode = Mode::Warnings;
                Effect::None
            }
            KeyCode::Char('a') => {
                self.latency_whole = !self.latency_whole;
                let span = if self.latency_whole {
                    "since the start or the last reset (r); a again: the last interval"
                } else {
                    "over the last interval; a again: since the start or the last reset"
                };
                self.report(format!("latency {span}"), false);
                Effect::None
            }
            KeyCode::Char('h') => Effect::CheckHost,
            KeyCode::Char('g') => Effect::Flamegraph,
            KeyCode::Char('t') => Effect::Tune,
            KeyCode::Tab => {
                self.focus = self.focus.next();
                Effect::None
            }
            KeyCode::Down | KeyCode::Right if threads > 0 => {
                self.selected_thread = (self.selected_thread + 1) % threads;
                Effect::None
            }
            KeyCode::Up | KeyCode::Left if threads > 0 => {
                self.selected_thread = (self.selected_thread + threads - 1) % threads;
                Effect::None
            }
            KeyCode::Char('p') => {
                let Some(topology) = &self.topology else {
                    self.report("no topology: cannot pick a CPU", true);
                    return Effect::None;
                };
                let current = self
                    .snapshot
                    .as_ref()
                    .and_then(|s| s.threads.get(self.selected_thread))
                    .and_then(|t| t.cpu);
                let cursor = current
                    .and_then(|cpu| topology.pus.iter().position(|p| p.os_index == cpu))
                    .unwrap_or(0);
                let cpus: Vec<usize> = topology.pus.iter().map(|p| p.os_index).collect();
                self.cpus_busy_elsewhere = crate::metrics::sched::pinned_busy_on(&cpus);
                self.mode = Mode::CpuPicker { cursor };
                Effect::None
            }
            KeyCode::Char('c') => {
                if let Err(err) = check_codec_switch(self.ring) {
                    self.report(format!("codec: {err}"), true);
                    return Effect::None;
                }
                let current = self
                    .snapshot
                    .as_ref()
                    .and_then(|s| s.codec.as_ref())
                    .and_then(|c| c.name.as_deref()?.parse::<CodecId>().ok());
                self.mode = Mode::CodecPicker {
                    cursor: current.map_or(0, |codec| codec as usize),
                };
                Effect::None
            }
            KeyCode::Char('b') if self.batch <= 1 => {
                self.report("batch 1 is the smallest", true);
                Effect::None
            }
            KeyCode::Char('b') => self.batch_to(self.batch / 2),
            KeyCode::Char('B') => {
                let largest = largest_batch(self.ring);
                if self.batch >= largest {
                    self.report(
                        format!("batch {} is the largest this ring takes", self.batch),
                        true,
                    );
                    return Effect::None;
                }
                self.batch_to(self.batch.saturating_mul(2).min(largest))
            }
            KeyCode::Char('+' | '=') => self.pace_up(),
            KeyCode::Char('-') => self.pace_down(),
            KeyCode::Char('f') if self.prefetch == 0 => {
                let said = match check_prefetch(self.ring, 1) {
                    Ok(()) => "prefetch is off (0) already: F prefetches slots ahead".to_owned(),
                    Err(err) => format!("prefetch: {err}"),
                };
                self.report(said, true);
                Effect::None
            }
            KeyCode::Char('f') => self.prefetch_to(self.prefetch - 1),
            KeyCode::Char('F') => self.prefetch_to(self.prefetch + 1),
            KeyCode::Char(' ') => {
                let paused = self
                    .snapshot
                    .as_ref()
                    .is_some_and(|s| s.state == crate::metrics::snapshot::RunState::Paused);
                Effect::Send(if paused {
                    Command::Resume
                } else {
                    Command::Pause
                })
            }
            KeyCode::Char('r') => Effect::Send(Command::ResetHistograms),
            KeyCode::Char('s') => {
                self.mode = Mode::Save {
                    name: String::new(),
                    confirm: false,
                };
                Effect::None
            }
            KeyCode::Char('l') => {
                self.profiles = loadable_profiles();
                self.mode = Mode::Load { cursor: 0 };
                Effect::None
            }
            KeyCode::Char('m') => {
                if self.c2c_running {
                    self.report("the core-to-core map is already being measured", false);
                    Effect::None
                } else {
                    Effect::MeasureC2c
                }
            }
            _ => Effect::None,
        }
    }

    fn key_cpu_picker(&mut self, key: KeyEvent, cursor: usize) -> Effect {
        let pus: Vec<(usize, bool)> = self
            .topology
            .as_ref()
            .map(|t| t.pus.iter().map(|p| (p.os_index, p.allowed)).collect())
            .unwrap_or_default();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                self.mode = Mode::Normal;
                Effect::None
            }
            code if picker_step(code, cursor, pus.len()).is_some() => {
                self.mode = Mode::CpuPicker {
                    cursor: picker_step(code, cursor, pus.len()).unwrap_or(cursor),
                };
                Effect::None
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                match (pus.get(cursor), self.selected_name()) {
                    (Some(&(cpu, true)), Some(thread)) => Effect::Send(Command::Repin {
                        thread: thread.to_owned(),
                        cpu,
                    }),
                    (Some(&(cpu, false)), _) => {
                        self.report(format!("CPU {cpu} is not available to this process"), true);
                        Effect::None
                    }
                    _ => Effect::None,
                }
            }
            _ => Effect::None,
        }
    }

    fn key_codec_picker(&mut self, key: KeyEvent, cursor: usize) -> Effect {
        let n = CodecId::ALL.len();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                self.mode = Mode::Normal;
                Effect::None
            }
            code if picker_step(code, cursor, n).is_some() => {
                self.mode = Mode::CodecPicker {
                    cursor: picker_step(code, cursor, n).unwrap_or(cursor),
                };
                Effect::None
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                Effect::Send(Command::Codec {
                    name: CodecId::ALL[cursor % n],
                })
            }
            _ => Effect::None,
        }
    }

    fn key_save(&mut self, key: KeyEvent, mut name: String, confirm: bool) -> Effect {
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                self.report("not saved", false);
                Effect::None
            }
            KeyCode::Enter if name.is_empty() => Effect::None,
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                Effect::Save {
                    name,
                    overwrite: confirm,
                }
            }
            KeyCode::Backspace => {
                name.pop();
                self.mode = Mode::Save {
                    name,
                    confirm: false,
                };
                Effect::None
            }
            KeyCode::Char(c) if c.is_ascii_alphanumeric() || c == '-' || c == '_' => {
                name.push(c);
                self.mode = Mode::Save {
                    name,
                    confirm: false,
                };
                Effect::None
            }
            _ => Effect::None,
        }
    }

    /// The save found the file already there: ask again before overwriting.
    pub fn ask_to_overwrite(&mut self, name: String) {
        self.report(
            format!("profiles/{name}.toml exists: Enter overwrites it, Esc keeps it"),
            true,
        );
        self.mode = Mode::Save {
            name,
            confirm: true,
        };
    }

    fn key_load(&mut self, key: KeyEvent, cursor: usize) -> Effect {
        let n = self.profiles.len().max(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {
                self.mode = Mode::Normal;
                Effect::None
            }
            code if picker_step(code, cursor, n).is_some() => {
                self.mode = Mode::Load {
                    cursor: picker_step(code, cursor, n).unwrap_or(cursor),
                };
                Effect::None
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                self.profiles
                    .get(cursor)
                    .map_or(Effect::None, |name| Effect::Load(name.clone()))
            }
            _ => Effect::None,
        }
    }
}

/// How far PgUp and PgDn move a picker's cursor.
const PICKER_PAGE: usize = 10;

/// Where a picker's cursor over `n` entries goes on `code`, `None` for a key that does not move
/// it: one home for every picker's movement. ↑↓ (and ←→) step and wrap, as in a short list the
/// other end is one press away; PgUp/PgDn move ten and stop at the ends; Home and End go to them
/// (a CPU picker of a big machine lists hundreds).
fn picker_step(code: KeyCode, cursor: usize, n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let cursor = cursor.min(n - 1);
    match code {
        KeyCode::Down | KeyCode::Right => Some((cursor + 1) % n),
        KeyCode::Up | KeyCode::Left => Some((cursor + n - 1) % n),
        KeyCode::PageDown => Some((cursor + PICKER_PAGE).min(n - 1)),
        KeyCode::PageUp => Some(cursor.saturating_sub(PICKER_PAGE)),
        KeyCode::Home => Some(0),
        KeyCode::End => Some(n - 1),
        _ => None,
    }
}

#[cfg(test)]
mod picker_tests {
    use super::*;

    #[test]
    fn a_picker_steps_wraps_pages_and_jumps_to_its_ends() {
        assert_eq!(picker_step(KeyCode::Down, 2, 3), Some(0));
        assert_eq!(picker_step(KeyCode::Up, 0, 3), Some(2));
        assert_eq!(picker_step(KeyCode::Left, 1, 3), Some(0));
        assert_eq!(picker_step(KeyCode::PageDown, 5, 256), Some(15));
        assert_eq!(picker_step(KeyCode::PageDown, 250, 256), Some(255));
        assert_eq!(picker_step(KeyCode::PageUp, 4, 256), Some(0));
        assert_eq!(picker_step(KeyCode::Home, 99, 256), Some(0));
        assert_eq!(picker_step(KeyCode::End, 0, 256), Some(255));
        assert_eq!(picker_step(KeyCode::Char('x'), 0, 256), None);
        assert_eq!(picker_step(KeyCode::Down, 0, 0), None);
    }
}
