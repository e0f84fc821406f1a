//! Facts about this host that a measurement depends on, read from `/proc` and `/sys`: its name,
//! kernel, CPU model and clocksource. A run's first line records them, so two runs can be
//! compared later knowing whether they ran on comparable machines.

use schemars::JsonSchema;
use serde::Serialize;

/// What this host is, as far as the kernel says; `null` where it does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostFacts {
    /// The host's name (`/proc/sys/kernel/hostname`).
    pub hostname: Option<String>,
    /// The kernel release (`/proc/sys/kernel/osrelease`).
    pub kernel: Option<String>,
    /// The CPU model (`/proc/cpuinfo`'s first `model name`).
    pub cpu_model: Option<String>,
    /// The clocksource every clock read goes through (`tsc` is the fast one; `hpet` or
    /// `acpi_pm` make each read cost a microsecond).
    pub clocksource: Option<String>,
}

fn first_line(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

impl HostFacts {
    /// Reads them now.
    pub fn read() -> Self {
        HostFacts {
            hostname: first_line("/proc/sys/kernel/hostname"),
            kernel: first_line("/proc/sys/kernel/osrelease"),
            cpu_model: std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|text| cpu_model_in(&text)),
            clocksource: first_line(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            ),
        }
    }
}

/// The first `model name` in `/proc/cpuinfo` text.
fn cpu_model_in(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .filter(|model| !model.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_model_is_the_first_model_name() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9454\n\
                       processor\t: 1\nmodel name\t: AMD EPYC 9454\n";
        assert_eq!(cpu_model_in(cpuinfo).as_deref(), Some("AMD EPYC 9454"));
        assert_eq!(cpu_model_in("processor\t: 0\nBogoMIPS\t: 50.00\n"), None);
    }

    #[test]
    fn this_host_has_a_kernel_and_a_name() {
        let facts = HostFacts::read();
        assert!(
            facts.kernel.is_some() && facts.hostname.is_some(),
            "{facts:?}"
        );
    }
}
