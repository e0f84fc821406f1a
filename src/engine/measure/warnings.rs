//! The warnings a snapshot carries: what the operator should know about an interval (a failure,
//! a link down, a shared or withheld CPU, a producer behind its rate, a late cut), each with the
//! kind and subject a tally keys on.

use crate::engine::cut::CUT_WAIT_AT_MOST;
use crate::engine::reading::Reading;
use crate::engine::warnings::{BEHIND_SCHEDULE, Warning};
use crate::metrics::pace::{Waits, behind_schedule_warning};
use crate::metrics::rates::EndpointRates;
use crate::metrics::sched::{SPINNING_SHARE_FLOOR, cpu_share_warning};
use crate::metrics::snapshot::{LinkRole, Role, RunState};

use super::{Figures, RunShape};

/// What the operator should know about this interval.
pub(super) fn of(
    shape: &RunShape,
    previous: &Reading,
    now: &Reading,
    figures: &Figures,
) -> Vec<Warning> {
    let threads = &figures.threads;
    let mut warnings: Vec<Warning> = now
        .failure
        .iter()
        .map(|f| Warning::new("failure", "workload", f.clone()))
        .collect();
    if let Some(t) = &figures.transport
        && t.role == LinkRole::Sender
        && !t.connected
    {
        warnings.push(Warning::new(
            "link-down",
            &t.address,
            format!(
                "link to {} is down ({}); reconnecting",
                t.address,
                t.last_error.as_deref().unwrap_or("no reason given")
            ),
        ));
    }
    // One warning a shared CPU, about the first thread on it: every other one's is the same.
    for (i, a) in threads.iter().enumerate() {
        let Some(cpu) = a.cpu else { continue };
        if threads[..i].iter().any(|b| b.cpu == Some(cpu)) {
            continue;
        }
        let sharing: Vec<&str> = threads[i + 1..]
            .iter()
            .filter(|b| b.cpu == Some(cpu))
            .map(|b| b.name.as_str())
            .collect();
        if !sharing.is_empty() {
            warnings.push(Warning::new(
                "shared-cpu",
                &a.name,
                format!(
                    "{} shares CPU {cpu} with {}: their numbers include time slicing",
                    a.name,
                    sharing.join(", ")
                ),
            ));
        }
    }
    for (reading, shown) in now.threads.iter().zip(threads) {
        if reading.spins
            && now.state == RunState::Running
            && let Some(scheduling) = &shown.scheduling
            && scheduling.ran_share < SPINNING_SHARE_FLOOR
        {
            warnings.push(Warning::new(
                "cpu-share",
                &shown.name,
                cpu_share_warning(&shown.name, shown.cpu, scheduling, figures.seconds),
            ));
        }
    }
    for thread in &now.threads {
        if thread.missed_cut {
            warnings.push(Warning::new(
                "late-cut",
                &thread.name,
                format!(
                    "{} did not reach the interval's end within {} ms (descheduled or stuck): its \
                     latency samples of the last few milliseconds count in the next interval",
                    thread.name,
                    CUT_WAIT_AT_MOST.as_millis()
                ),
            ));
        }
        if let Some(err) = &thread.last_error {
            warnings.push(Warning::new(
                "thread-error",
                &thread.name,
                format!("{}: {err}", thread.name),
            ));
        }
        let corrupt = thread.codec.corrupt_frames;
        if corrupt > 0 {
            warnings.push(Warning::new(
                "corrupt-frames",
                &thread.name,
                format!("{}: {corrupt} frames did not decode", thread.name),
            ));
        }
    }
    // A producer short of its rate through a whole interval of one schedule (no new rate, no
    // pause in it, and not the first: the producers' schedules start after it does): its rows'
    // latency grows with the wait.
    if !previous.threads.is_empty()
        && previous.state == RunState::Running
        && now.state == RunState::Running
        && previous.pace_changes == now.pace_changes
    {
        // Stall episodes a second of each thread, where the ring counts them.
        let stalls: Vec<Option<f64>> = threads
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let before = previous.threads.get(i).and_then(|b| b.endpoint);
                EndpointRates::between(before, t.endpoint?, figures.seconds).map(|r| r.stalls_per_s)
            })
            .collect();
        // The consumers' together; not known where they are in another process (a sender's).
        let consumers: Vec<Option<f64>> = threads
            .iter()
            .zip(&stalls)
            .filter(|(t, _)| t.role == Role::Consumer)
            .map(|(_, stalls)| *stalls)
            .collect();
        let empty: Option<f64> = if consumers.is_empty() {
            None
        } else {
            consumers.into_iter().sum()
        };
        for (t, full) in threads.iter().zip(&stalls) {
            if t.role != Role::Producer {
                continue;
            }
            let waits = full.zip(empty).map(|(full, empty)| Waits { full, empty });
            if let Some(text) =
                behind_schedule_warning(&t.name, t.rows_per_s, now.rate, figures.seconds, waits)
            {
                warnings.push(Warning::new(BEHIND_SCHEDULE, &t.name, text));
            }
        }
    }
    if let Some(host) = &shape.host {
        let memory_nodes = &figures.ring.memory_nodes;
        for t in threads.iter().filter(|t| t.role == Role::Consumer) {
            if let Some(warning) = host.remote_read_warning(&t.name, t.cpu, memory_nodes) {
                warnings.push(Warning::new("remote-memory", &t.name, warning));
            }
        }
    }
    warnings
}
