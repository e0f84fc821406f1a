//! The dashboard in a real pseudo-terminal (util-linux `script`): whatever way it ends, the
//! terminal gets back its main screen, its cursor and its mouse; and the panic hook that makes it
//! so.
#![cfg(not(loom))]

mod common;

use std::panic;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use common::Pty;

use ringtop::tui::terminal::{PanicHook, dashboard_hook};

const ALT_SCREEN_ON: &str = "\x1b[?1049h";
const ALT_SCREEN_OFF: &str = "\x1b[?1049l";
const MOUSE_OFF: &str = "\x1b[?1000l";

/// The pid of `parent`'s first child, from /proc.
fn child_of(parent: u32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn two_quick_signals_still_give_the_terminal_back() {
    let binary = assert_cmd::cargo::cargo_bin("ringtop");
    let pty = Pty::spawn(
        &format!("exec {} run --builtin default", binary.display()),
        &[],
    );
    pty.wait_for(&[ALT_SCREEN_ON]);
    let dashboard = child_of(pty.script.id()).expect("script runs ringtop as its child");
    // Two different signals back to back: both are delivered (two of one kind sent at once
    // merge into one), the second almost always before the dashboard has acted on the first.
    // SAFETY: kill(2) on a pid this test started; no memory is involved.
    assert_eq!(unsafe { libc::kill(dashboard, libc::SIGTERM) }, 0);
    // SAFETY: as above.
    let second = unsafe { libc::kill(dashboard, libc::SIGINT) };
    assert!(
        second == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH),
        "the second signal: {}",
        std::io::Error::last_os_error()
    );
    let (status, output) = pty.finish();
    let after = &output[output.rfind(ALT_SCREEN_ON).unwrap()..];
    assert!(
        after.contains(MOUSE_OFF),
        "mouse capture left on: {after:?}"
    );
    assert!(after.contains(ALT_SCREEN_OFF), "alternate screen left on");
    assert!(
        matches!(status.code(), Some(0 | 130)),
        "a stop (0) or the second signal's exit (130): {status:?}"
    );
}

static RESTORED: AtomicUsize = AtomicUsize::new(0);
static PRINTED: AtomicUsize = AtomicUsize::new(0);

fn count_restore() {
    RESTORED.fetch_add(1, SeqCst);
}

#[test]
fn a_panic_on_the_dashboard_thread_restores_first_and_elsewhere_leaves_the_screen_alone() {
    let previous: Arc<PanicHook> = Arc::new(|_| {
        PRINTED.fetch_add(1, SeqCst);
    });
    let original = panic::take_hook();
    panic::set_hook(dashboard_hook(
        std::thread::current().id(),
        count_restore,
        previous,
    ));

    let worker = std::thread::Builder::new()
        .name("consumer-0".into())
        .spawn(|| panic!("a worker's bug"))
        .unwrap();
    assert!(worker.join().is_err());
    let worker_restored = RESTORED.load(SeqCst);
    let worker_printed = PRINTED.load(SeqCst);

    assert!(panic::catch_unwind(|| panic!("the dashboard's bug")).is_err());
    let dashboard = (RESTORED.load(SeqCst), PRINTED.load(SeqCst));
    panic::set_hook(original);

    assert_eq!(
        (worker_restored, worker_printed),
        (0, 0),
        "a worker's panic neither restores nor prints over the dashboard"
    );
    assert_eq!(
        dashboard,
        (1, 1),
        "the dashboard's own panic restores, then prints"
    );
}

/// The dashboard on the built-in profile `builtin`, started in `dir` on a 120×40 terminal,
/// once it shows its first figures.
fn dashboard_in(dir: &std::path::Path, builtin: &str) -> Pty {
    let binary = assert_cmd::cargo::cargo_bin("ringtop");
    let pty = Pty::spawn(
        &format!(
            "stty cols 120 rows 40; cd {} && exec {} run --builtin {builtin}",
            dir.display(),
            binary.display()
        ),
        &[],
    );
    pty.wait_for(&[ALT_SCREEN_ON, "rows/s"]);
    pty
}

#[test]
fn g_twice_in_the_dashboard_writes_a_flamegraph_of_the_workers() {
    let dir = std::env::temp_dir().join(format!("ringtop-dashboard-flame-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut pty = dashboard_in(&dir, "default");
    pty.type_keys(b"g");
    pty.wait_for(&["sampling every worker"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    pty.type_keys(b"g");
    pty.wait_for(&["flamegraph of"]);
    pty.type_keys(b"q");
    let (status, _) = pty.finish();
    assert!(status.success(), "{status:?}");
    let written: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let svg = std::fs::read_to_string(&written[0]).unwrap();
    for frame in ["producer-0 (", "consumer-0 ("] {
        assert!(svg.contains(frame), "{frame} is not in the flamegraph");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn t_in_the_dashboard_searches_shows_it_live_and_runs_the_profile_it_wrote() {
    let dir = common::scratch_dir("dashboard-tune");
    let mut pty = dashboard_in(&dir, "throughput");
    pty.type_keys(b"t");
    // Whole words only: the terminal is redrawn cell by cell, and a space over a space is not
    // written again.
    pty.wait_for(&["Tune", "throughput,", "rung", "trying:"]);
    pty.wait_for(&["best", "far:"]);
    // The search's budget, the core-to-core map before it, and slack for a loaded machine. Read
    // off the screen: the status line is redrawn over the one before it, cell by cell.
    pty.wait_for_on_screen(
        &["tuned: running profiles/tuned.toml"],
        (40, 120),
        std::time::Duration::from_secs(90),
    );
    pty.type_keys(b"q");
    pty.type_keys(b"q");
    let (status, _) = pty.finish();
    assert!(status.success(), "{status:?}");
    let tuned = dir.join("profiles/tuned.toml");
    let text = std::fs::read_to_string(&tuned).unwrap();
    assert!(
        text.starts_with("# Written by `ringtop (dashboard key t) on throughput`"),
        "{text}"
    );
    let check = common::ringtop()
        .args(["profile", "check"])
        .arg(&tuned)
        .output()
        .unwrap();
    common::assert_succeeded(&check);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn t_on_a_profile_no_search_can_tune_says_why_and_leaves_the_workload_running() {
    let dir = common::scratch_dir("dashboard-tune-refused");
    let mut pty = dashboard_in(&dir, "broadcast-fanout");
    pty.type_keys(b"t");
    pty.wait_for_on_screen(
        &[
            "cannot tune: tune searches one producer and one consumer;",
            "1 producer and 2 consumers",
        ],
        (40, 120),
        std::time::Duration::from_secs(30),
    );
    pty.type_keys(b"q");
    let (status, text) = pty.finish();
    assert!(status.success(), "{status:?}");
    // Never stopped for a search that could not start: never resumed either.
    assert!(!text.contains("resumed"), "the workload was stopped");
    assert!(
        !text.contains("Tune (ringtop tune)"),
        "a search overlay opened"
    );
}

#[test]
fn x_in_the_search_overlay_cancels_it_writes_nothing_and_resumes_the_workload() {
    let dir = common::scratch_dir("dashboard-tune-cancel");
    let mut pty = dashboard_in(&dir, "throughput");
    pty.type_keys(b"t");
    pty.wait_for(&["Tune", "rung", "trying:"]);
    pty.type_keys(b"x");
    pty.wait_for_on_screen(
        &[
            "search cancelled after",
            "nothing written;",
            "throughput resumed",
        ],
        (40, 120),
        std::time::Duration::from_secs(60),
    );
    pty.type_keys(b"q");
    let (status, _) = pty.finish();
    assert!(status.success(), "{status:?}");
    assert!(
        !dir.join("profiles/tuned.toml").exists(),
        "a cancelled search wrote a profile"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
