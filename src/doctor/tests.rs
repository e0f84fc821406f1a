//! Each judge on hand-made host readings.

use std::collections::BTreeMap;

use super::judge::cpu_jiffies;
use super::*;

#[test]
fn isolation_needs_every_used_cpu_isolated_tickless_and_without_rcu_callbacks() {
    let ok = judge_isolation(
        &[2, 3],
        Some("2-3\n"),
        Some("2-3\n"),
        Some("quiet rcu_nocbs=2-3"),
        Some("0-7\n"),
    );
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    let warn = judge_isolation(&[0, 1], Some("\n"), None, Some("quiet"), Some("0-7\n"));
    assert_eq!(warn.status, Status::Warn);
    assert_eq!(
        warn.evidence,
        "isolated none, nohz_full none, rcu_nocbs none; this run uses 0-1"
    );
    assert_eq!(
        warn.fix.unwrap(),
        "boot with isolcpus=nohz,domain,managed_irq,0-1 nohz_full=0-1 rcu_nocbs=0-1 (CPUs 2-7 \
         stay for the system)"
    );
}

#[test]
fn one_cpu_left_to_the_system_is_named_as_one() {
    let fix = judge_isolation(&[1], Some("\n"), None, Some("quiet"), Some("0-1\n"))
        .fix
        .unwrap();
    assert!(fix.ends_with("(CPU 0 stays for the system)"), "{fix}");
}

#[test]
fn isolation_on_a_host_whose_every_cpu_runs_the_workload_is_not_advised_away() {
    // Two CPUs, both spinning: isolating them would leave the system none.
    let fix = judge_isolation(&[0, 1], Some("\n"), None, Some("quiet"), Some("0-1\n"))
        .fix
        .unwrap();
    assert!(
        fix.starts_with("every online CPU (0-1) runs the workload: isolating them all would"),
        "{fix}"
    );
    // Not knowing the host's CPUs, the general advice.
    let fix = judge_isolation(&[0, 1], None, None, None, None)
        .fix
        .unwrap();
    assert!(fix.ends_with("(keep one CPU for the system)"), "{fix}");
}

#[test]
fn frequency_wants_the_performance_governor_and_says_when_nobody_can_tell() {
    let of = |governor: Option<&str>, turbo| Frequency {
        governors: BTreeMap::from([(0, governor.map(str::to_owned))]),
        turbo,
    };
    assert_eq!(
        judge_frequency(&[0], &of(Some("performance"), Some(false))).status,
        Status::Ok
    );
    let slow = judge_frequency(&[0], &of(Some("powersave"), Some(true)));
    assert_eq!(slow.status, Status::Warn);
    assert_eq!(slow.evidence, "CPU 0: powersave; turbo on");
    assert!(
        slow.fix
            .unwrap()
            .starts_with("cpupower frequency-set -g performance")
    );
    let vm = judge_frequency(&[0], &of(None, None));
    assert_eq!(vm.status, Status::NotAvailable);
    assert!(vm.evidence.contains("no cpufreq governor"));
}

#[test]
fn deep_idle_states_warn_and_shallow_ones_do_not() {
    let state = |name: &str, us, disabled| IdleState {
        name: name.into(),
        exit_latency_us: us,
        disabled,
    };
    let vm = BTreeMap::from([(
        0,
        vec![state("POLL", 0, false), state("haltpoll", 1, false)],
    )]);
    assert_eq!(judge_idle_states(&[0], &vm).status, Status::Ok);
    let server = BTreeMap::from([(
        1,
        vec![
            state("POLL", 0, false),
            state("C1", 2, false),
            state("C6", 133, false),
        ],
    )]);
    let c6 = judge_idle_states(&[1], &server);
    assert_eq!(c6.status, Status::Warn);
    assert_eq!(
        c6.evidence,
        "deep idle states enabled: CPU 1: C6 (exit 133 µs)"
    );
    let disabled = BTreeMap::from([(1, vec![state("C6", 133, true)])]);
    assert_eq!(judge_idle_states(&[1], &disabled).status, Status::Ok);
    assert_eq!(
        judge_idle_states(&[1], &BTreeMap::new()).status,
        Status::NotAvailable
    );
}

#[test]
fn huge_pages_warn_only_when_asked_for_and_none_are_reserved() {
    let none = BTreeMap::from([(0, 0)]);
    let some = BTreeMap::from([(0, 64)]);
    let thp = Some("always [madvise] never\n");
    assert_eq!(judge_huge_pages(false, thp, &none).status, Status::Ok);
    let warn = judge_huge_pages(true, thp, &none);
    assert_eq!(warn.status, Status::Warn);
    assert_eq!(
        warn.evidence,
        "transparent huge pages madvise; reserved 2 MiB pages node 0: 0; the ring asks for huge pages"
    );
    assert_eq!(judge_huge_pages(true, thp, &some).status, Status::Ok);
}

#[test]
fn device_interrupts_that_fired_on_the_runs_cpus_are_counted_per_cpu() {
    let interrupts = "           CPU0       CPU1       CPU2\n\
                      \x20 24:          0       1500          0   PCI-MSI  virtio0\n\
                      \x20 25:         10          0          0   PCI-MSI  virtio1\n\
                      \x20 26:          0          0        900   PCI-MSI  nvme0\n\
                      LOC:      99999      99999      99999   Local timer interrupts\n";
    let on_1 = judge_irqs(&[1], Some(interrupts), false, Some("0-2\n"));
    assert_eq!(on_1.status, Status::Warn);
    assert_eq!(
        on_1.evidence,
        "1 device IRQ (24) fired 1500 times on CPU 1; irqbalance is not running"
    );
    assert_eq!(
        on_1.fix.unwrap(),
        "move them to CPUs 0,2: echo 0,2 > /proc/irq/N/smp_affinity_list for each, and ban CPU 1 \
         in irqbalance (IRQBALANCE_BANNED_CPULIST=1)"
    );
    // Where the run uses every CPU, there is nowhere to move them: said, not advised.
    let everywhere = judge_irqs(&[0, 1, 2], Some(interrupts), false, Some("0-2\n"));
    assert!(
        everywhere
            .fix
            .unwrap()
            .starts_with("every online CPU (0-2) runs the workload: there is no other CPU"),
    );
    let on_3 = judge_irqs(&[3], Some(interrupts), true, Some("0-3\n"));
    assert_eq!(on_3.status, Status::Ok, "{on_3:?}");
    assert!(on_3.evidence.contains("irqbalance is running"));
    assert_eq!(
        judge_irqs(&[1], None, false, None).status,
        Status::NotAvailable
    );
}

#[test]
fn busy_or_stolen_cpus_before_the_run_warn_and_name_who_runs_there() {
    let stat =
        "cpu  1 1 1 1 1 1 1 1 0 0\ncpu0 100 0 50 800 0 10 10 30 0 0\ncpu1 10 0 0 990 0 0 0 0 0 0\n";
    assert_eq!(cpu_jiffies(stat)[&0], (170, 30, 1000));
    let sample = CpuSample {
        shares: BTreeMap::from([(0, (0.34, 0.0)), (1, (0.01, 0.03))]),
    };
    let busy = judge_other_tasks(&[0], &sample, &["cargo (pid 4242)".into()], false);
    assert_eq!(busy.status, Status::Warn);
    assert_eq!(
        busy.evidence,
        "over 100 ms before the run: CPU 0 34 % busy, 0.0 % steal; runnable there: cargo (pid 4242)"
    );
    assert_eq!(
        judge_other_tasks(&[1], &sample, &[], false).status,
        Status::Warn,
        "3 % steal"
    );
    let quiet = CpuSample {
        shares: BTreeMap::from([(1, (0.01, 0.0))]),
    };
    assert_eq!(
        judge_other_tasks(&[1], &quiet, &[], false).status,
        Status::Ok
    );
    assert_eq!(
        judge_other_tasks(&[7], &quiet, &[], false).status,
        Status::NotAvailable
    );
}

#[test]
fn spinning_threads_on_smt_siblings_fail() {
    let siblings = |a: usize, b: usize| a / 2 == b / 2;
    let fail = judge_smt(&[(0, 1)], Some("1\n"), &siblings);
    assert_eq!(fail.status, Status::Fail);
    assert_eq!(
        fail.evidence,
        "SMT is on; spinning threads on SMT siblings: CPUs 0 and 1"
    );
    assert_eq!(
        judge_smt(&[(0, 2)], Some("1\n"), &siblings).status,
        Status::Ok
    );
    assert_eq!(judge_smt(&[], Some("0"), &siblings).status, Status::Ok);
}

#[test]
fn perf_says_which_counters_a_run_will_have() {
    let vm = judge_perf(Some("2\n"), true, Err("no PMU: ENOENT".into()), Some("0\n"));
    assert_eq!(vm.status, Status::Warn);
    assert_eq!(
        vm.evidence,
        "perf_event_paranoid 2 (running as root); no hardware counters (no PMU: ENOENT): cycles, \
         IPC and cache misses will be null"
    );
    let user = judge_perf(Some("2"), false, Ok(None), None);
    assert!(
        user.evidence
            .ends_with("context switches and migrations cannot be counted")
    );
    assert!(user.fix.unwrap().contains("perf_event_paranoid=1"));
    assert_eq!(
        judge_perf(Some("1"), false, Ok(None), None).status,
        Status::Ok
    );
}

#[test]
fn perf_says_when_the_pmu_time_shares_the_counters_and_what_frees_one() {
    let shared = judge_perf(Some("2"), true, Ok(Some(0.571)), Some("1\n"));
    assert_eq!(shared.status, Status::Warn);
    assert_eq!(
        shared.evidence,
        "perf_event_paranoid 2 (running as root); hardware PMU present, time-shared between \
         ringtop's 7 hardware events (the least counted 57 % of a 20 ms watch): cycles, IPC and \
         cache figures are scaled estimates"
    );
    assert!(shared.fix.unwrap().contains("kernel.nmi_watchdog=0"));
    // Without the watchdog there is nothing to free: the estimates are said, not warned of.
    let no_watchdog = judge_perf(Some("2"), true, Ok(Some(0.571)), Some("0"));
    assert_eq!(no_watchdog.status, Status::Ok);
    assert!(no_watchdog.evidence.contains("scaled estimates"));
    let whole = judge_perf(Some("2"), true, Ok(None), Some("1"));
    assert_eq!(whole.status, Status::Ok);
    assert!(whole.evidence.ends_with("every hardware counter counting"));
}

#[test]
fn a_slow_clock_warns_and_a_very_slow_one_fails() {
    assert_eq!(judge_clock(Some("tsc\n"), 20.0).status, Status::Ok);
    let hpet = judge_clock(Some("hpet"), 600.0);
    assert_eq!(hpet.status, Status::Warn);
    assert_eq!(
        hpet.evidence,
        "clocksource hpet; one clock read costs 600 ns"
    );
    assert_eq!(judge_clock(Some("acpi_pm"), 1_500.0).status, Status::Fail);
}

#[test]
fn the_item_rings_barrier_is_ok_only_when_offered_and_registered() {
    let ok = judge_membarrier(0x1f9, true);
    assert_eq!(ok.status, Status::Ok);
    assert_eq!(
        ok.evidence,
        "membarrier commands 0x1f9: private expedited barriers offered, this process registered"
    );
    let refused = judge_membarrier(0x1f9, false);
    assert_eq!(refused.status, Status::Warn);
    assert!(
        refused
            .evidence
            .ends_with("but registering this process failed")
    );
    // An old kernel: the global barrier alone, or no call at all.
    for commands in [0x1, 0x0] {
        let old = judge_membarrier(commands, false);
        assert_eq!(old.status, Status::Warn, "{old:?}");
        assert!(old.evidence.contains("not offered"));
        assert!(old.fix.unwrap().contains("CONFIG_MEMBARRIER"));
    }
}

#[test]
fn the_summary_counts_each_verdict_and_lists_the_worst_first() {
    let checks = vec![
        Check::new("a", Status::Ok, String::new(), None),
        Check::new("b", Status::Warn, String::new(), None),
        Check::new("c", Status::Fail, String::new(), None),
        Check::new("d", Status::NotAvailable, String::new(), None),
    ];
    let summary = DoctorSummary::of(&checks);
    assert_eq!(
        summary.line(),
        "host check: 1 ok, 1 warn (b), 1 fail (c), 1 n/a"
    );
    assert_eq!(
        summary.line_pointing_to("`ringtop doctor`"),
        "host check: 1 ok, 1 warn (b), 1 fail (c), 1 n/a; `ringtop doctor` says how to fix each"
    );
    assert_eq!(summary.attention, ["c", "b"], "worst first");
    let quiet = DoctorSummary::of(&checks[..1]);
    assert_eq!(quiet.line(), "host check: 1 ok");
    assert_eq!(quiet.line_pointing_to("h"), "host check: 1 ok");
    // The doctor's own table, whose fixes are above it, does not send the reader to itself.
    let report = DoctorReport {
        cpus: vec![0],
        checks: checks.clone(),
        summary,
    };
    assert!(
        report
            .table()
            .ends_with("\nhost check: 1 ok, 1 warn (b), 1 fail (c), 1 n/a\n")
    );
}

#[test]
fn this_host_gets_every_check_with_evidence() {
    let report = examine(&Plan {
        cpus: vec![0],
        ..Plan::default()
    });
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "isolation",
            "frequency",
            "c-states",
            "huge-pages",
            "irqs",
            "other-tasks",
            "smt",
            "perf",
            "clock",
            "membarrier"
        ]
    );
    for check in &report.checks {
        assert!(!check.evidence.is_empty(), "{check:?}");
        if check.status >= Status::Warn {
            assert!(
                check.fix.is_some(),
                "a warning says how to fix it: {check:?}"
            );
        }
    }
}
