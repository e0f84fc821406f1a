//! Rings of each kind that `attach` shows with something left out or added: shared-memory rings
//! from either end (and from both, registered by two programs) and MPMC rings, registered in
//! this test's process and watched by `ringtop attach` in another.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::io::Read;

use ringtop::metrics::snapshot::ProgramSnapshot;
use serde_json::Value;

use super::common::{self, Reaped};
use super::{draw, monitor_dir, ringtop};

/// What `ringtop attach --headless` printed about `program` (in `dir`): its lines, each checked
/// against the schema. `end` ends the program's part (its rings and registry dropped) once
/// attach has printed two intervals; it may read the lines printed meanwhile with the reader it
/// is given (they are kept with the rest).
fn attached_lines(
    dir: &Path,
    program: &str,
    end: impl FnOnce(&mut dyn FnMut() -> Value),
) -> Vec<Value> {
    use std::io::BufRead;
    let mut attach = Reaped::spawn(
        ringtop(dir)
            .args(["attach", program, "--headless", "--interval", "100ms"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut stdout = std::io::BufReader::new(attach.child().stdout.take().unwrap());
    let mut printed: Vec<Value> = Vec::new();
    let mut next = || {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{printed:?}");
        let line: Value = serde_json::from_str(&line).unwrap();
        printed.push(line.clone());
        line
    };
    let mut intervals = 0;
    while intervals < 2 {
        intervals += usize::from(next()["type"] == "program");
    }
    end(&mut next);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let attached = attach.take().wait_with_output().unwrap();
    common::assert_succeeded(&attached);
    let mut lines = printed;
    lines.extend(super::lines(&rest));
    let schema = ringtop(dir).arg("schema").output().unwrap();
    let schema: Value = serde_json::from_slice(&schema.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema["line"]).unwrap();
    for line in &lines {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {line}");
    }
    lines
}

/// A shared-memory ring as `attach` should show it, from the side that registered it.
struct ShmRingSeen {
    /// Whether the sender registered it (else the receiver).
    sender_here: bool,
    kind: &'static str,
    capacity: u64,
    item_bytes: u64,
    /// Published and read (as credited, from the sender's side), in the ring's unit (items, or
    /// bytes of records).
    produced: u64,
    consumed: u64,
    /// How `memory_summary` starts: the window's size.
    window: &'static str,
}

/// Checks every line `attach` printed about ring `quotes`, a shared-memory ring as `seen` says:
/// what was sent and read exactly, where the window's pages are, the registering end's thread,
/// and (null, with the reason) what the program cannot see: the other end's thread, another
/// process's, and counters neither end keeps. Its final positions stand once the registering end
/// is dropped.
fn check_shm_ring(lines: &[Value], seen: &ShmRingSeen) {
    let intervals: Vec<&Value> = lines.iter().filter(|l| l["type"] == "program").collect();
    assert!(!intervals.is_empty(), "{lines:?}");
    // The other end, and why its thread is not shown.
    let (elsewhere, which) = if seen.sender_here {
        (
            "quotes consumer-0",
            "the consumer is another process (the ring's receiver)",
        )
    } else {
        (
            "quotes producer",
            "the producer is another process (the ring's sender)",
        )
    };
    let why = format!("{which}; no running program registered its end");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary", "{summary}");
    for line in intervals.iter().copied().chain([summary]) {
        let quotes = &line["rings"][0];
        assert_eq!(quotes["name"], "quotes");
        assert_eq!(quotes["ring"]["kind"], seen.kind);
        assert_eq!(quotes["ring"]["capacity"], seen.capacity);
        assert_eq!(quotes["item_bytes"], seen.item_bytes);
        assert_eq!(quotes["produced"], seen.produced, "{line}");
        let lag = seen.produced - seen.consumed;
        assert_eq!(quotes["lag"], serde_json::json!([lag]), "{line}");
        assert_eq!(quotes["ring"]["occupancy_rows"], lag);
        // The window was written by the sender: its pages are where the kernel put them, asked
        // from outside.
        let said = quotes["ring"]["memory_summary"].as_str().unwrap();
        assert!(said.starts_with(&format!("{} in ", seen.window)), "{said}");
        assert_eq!(
            quotes["ring"]["memory_nodes"],
            serde_json::json!([0]),
            "{line}"
        );
        for counter in [
            "producer_full_stalls",
            "consumer_empty_stalls",
            "producer_index_reloads",
            "consumer_index_reloads",
        ] {
            assert!(quotes["ring"][counter].is_null(), "{counter}: {line}");
        }
        let threads = line["threads"].as_array().unwrap();
        let (producer, consumer) = (&threads[0], &threads[1]);
        assert_eq!(producer["name"], "quotes producer");
        assert_eq!(producer["rows"], seen.produced);
        assert_eq!(consumer["name"], "quotes consumer-0");
        assert_eq!(consumer["rows"], seen.consumed);
        let elsewhere = if seen.sender_here { consumer } else { producer };
        assert!(elsewhere["cpu"].is_null(), "{elsewhere}");
        // Once the ring is dropped here, its other end is no longer looked for.
        let said = if quotes["closed"] == true {
            which
        } else {
            &why
        };
        assert_eq!(elsewhere["scheduling_unavailable"], said, "{elsewhere}");
        assert!(producer["endpoint"].is_null() && consumer["endpoint"].is_null());
    }
    // The registering end's thread (the test's) slept through the intervals: it asked for no
    // CPU, and is not warned about as kept from one.
    for line in &intervals {
        let warnings = line["warnings"].as_array().unwrap();
        assert!(
            !warnings
                .iter()
                .any(|w| w.as_str().unwrap().contains(" ran ")),
            "{warnings:?}"
        );
    }
    // While the registering end lived, its thread was seen on a CPU.
    let here = if seen.sender_here { 0 } else { 1 };
    assert!(
        intervals[0]["threads"][here]["cpu"].is_u64(),
        "{}",
        intervals[0]
    );
    // The dashboard shows the kind and the capacity whole.
    let mut line = intervals[0].clone();
    line.as_object_mut().unwrap().remove("type");
    let snapshot: ProgramSnapshot = serde_json::from_value(line).unwrap();
    let shown = draw(Some(&snapshot), &[], 130, 30);
    // And says why the other end's CPU is n/a.
    let note = format!("{elsewhere}: {why}");
    assert!(shown.contains(&note), "{note:?} missing:\n{shown}");
    // A ring that keeps no stall counts has no columns of n/a for them: the title says why.
    assert!(
        shown.contains(&format!("Rings ({} rings keep no stall counts)", seen.kind))
            && !shown.contains("stall/s")
            && !shown.contains("full stalls"),
        "{shown}"
    );
    let row = format!("{} {}", seen.kind, seen.capacity);
    assert!(
        shown.lines().any(|l| l
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&row)),
        "{row:?} missing:\n{shown}"
    );
    assert_eq!(summary["rings"][0]["closed"], true, "{summary}");
}

/// Reads `wanted` of what `take` finds (`Some` for each item or message, checked by the
/// caller), within 10 s.
fn read_some(wanted: u64, mut take: impl FnMut(u64) -> bool) {
    let (mut read, deadline) = (0u64, Instant::now() + Duration::from_secs(10));
    while read < wanted {
        assert!(Instant::now() < deadline, "{read} of {wanted} read");
        if take(read) {
            read += 1;
        }
    }
}

/// What was read, as `attach` sees it from the registering end: all `read` from the receiver's
/// side; from the sender's, what the receiver last credited (`credited`, what the sender's
/// `acknowledged` says), which is at most `quarter` (a quarter window) behind.
fn consumed_as_seen(sender_here: bool, read: u64, credited: u64, quarter: u64) -> u64 {
    if !sender_here {
        return read;
    }
    assert!((read - quarter..=read).contains(&credited), "{credited}");
    credited
}

/// Which end registers the ring, as the names of a test's files say it.
fn end_name(sender_here: bool) -> &'static str {
    if sender_here { "sender" } else { "receiver" }
}

/// Sends 1,000 items of 24 bytes through a ring of 1,024 (slots of 32 bytes: 24 of item, 8 of
/// stamp), reads 600, and checks what `attach` shows from the end that registered the ring.
fn check_item_ring_seen_from(sender_here: bool) {
    use ringtop::monitor::{self, Monitor};
    use ringtop::ring::WaitStrategy;
    use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem};

    let end = end_name(sender_here);
    let dir = monitor_dir(&format!("shm-items-{end}"));
    let program = format!("items-{end}-{}", std::process::id());
    let registry = monitor::publish_with(&dir, &program, Duration::from_millis(20)).unwrap();
    let ring = format!("test-attach-items-{end}-{}", std::process::id());
    let mut receiver =
        ItemReceiver::<[u64; 3]>::create(&ring, 1024, WaitStrategy::BusySpin).unwrap();
    if !sender_here {
        receiver = receiver.monitor(&registry, "quotes").unwrap();
    }
    let mut sender = ItemSender::<[u64; 3]>::open(&ring).unwrap();
    if sender_here {
        sender = sender.monitor(&registry, "quotes").unwrap();
    }
    for i in 0..1000 {
        sender.send(&[i; 3], Duration::from_secs(5)).unwrap();
    }
    read_some(600, |n| match receiver.try_recv() {
        ReceivedItem::Item(item) => {
            assert_eq!(item, [n; 3]);
            true
        }
        ReceivedItem::Other(_) => false,
    });
    let consumed = consumed_as_seen(sender_here, 600, sender.acknowledged(), 256);
    let lines = attached_lines(&dir, &program, |_| {
        if sender_here {
            drop((sender, receiver, registry));
        } else {
            drop((receiver, sender, registry));
        }
    });
    let seen = ShmRingSeen {
        sender_here,
        kind: "shm-items",
        capacity: 1024,
        item_bytes: 24,
        produced: 1000,
        consumed,
        window: "32 KiB",
    };
    check_shm_ring(&lines, &seen);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A message ring is counted in bytes of records: each a header of 8 bytes and the message
/// padded to 8 (13 bytes: 24 in all; 1,000 of them do not reach the end of the window, so no
/// padding record). Sends 1,000, reads 700 (past the first quarter of the window, 682 records,
/// so the receiver has credited some), and checks what `attach` shows from the end that
/// registered the ring.
fn check_message_ring_seen_from(sender_here: bool) {
    use ringtop::monitor::{self, Monitor};
    use ringtop::ring::WaitStrategy;
    use ringtop::transport::shm::messages::{MessageReceiver, MessageSender, Received};

    let end = end_name(sender_here);
    let dir = monitor_dir(&format!("shm-messages-{end}"));
    let program = format!("messages-{end}-{}", std::process::id());
    let registry = monitor::publish_with(&dir, &program, Duration::from_millis(20)).unwrap();
    let ring = format!("test-attach-messages-{end}-{}", std::process::id());
    let mut receiver = MessageReceiver::create(&ring, 1 << 16, WaitStrategy::BusySpin).unwrap();
    if !sender_here {
        receiver = receiver.monitor(&registry, "quotes").unwrap();
    }
    let mut sender = MessageSender::open(&ring, 64).unwrap();
    if sender_here {
        sender = sender.monitor(&registry, "quotes").unwrap();
    }
    let message = |n: u64| format!("quote {n:07}").into_bytes();
    for n in 0..1000 {
        assert_eq!(message(n).len(), 13);
        sender.send(&message(n), Duration::from_secs(5)).unwrap();
    }
    let mut out = Vec::new();
    read_some(700, |n| match receiver.try_recv(&mut out) {
        Received::Message => {
            assert_eq!(out, message(n));
            true
        }
        _ => false,
    });
    let consumed = consumed_as_seen(sender_here, 700, sender.acknowledged(), 682);
    let lines = attached_lines(&dir, &program, |_| {
        if sender_here {
            drop((sender, receiver, registry));
        } else {
            drop((receiver, sender, registry));
        }
    });
    let record = 8 + 16;
    let seen = ShmRingSeen {
        sender_here,
        kind: "shm-messages",
        capacity: 1 << 16,
        item_bytes: 1,
        produced: 1000 * record,
        consumed: consumed * record,
        window: "64 KiB",
    };
    check_shm_ring(&lines, &seen);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn attach_shows_a_shared_memory_item_ring_from_its_receivers_side() {
    check_item_ring_seen_from(false);
}

#[test]
fn attach_shows_a_shared_memory_message_ring_in_bytes_of_records() {
    check_message_ring_seen_from(false);
}

/// From its sender's side: the sender's thread, the tail exact and the head as the receiver last
/// credited it, and its figures standing once the sender is dropped.
#[test]
fn attach_shows_a_shared_memory_item_ring_from_its_senders_side() {
    check_item_ring_seen_from(true);
}

#[test]
fn attach_shows_a_shared_memory_message_ring_from_its_senders_side() {
    check_message_ring_seen_from(true);
}

/// An MPMC ring: what its sides claimed, where its slots are, and (null, with the reason) the
/// threads, since every thread holding an end is one of its sides.
#[test]
fn attach_shows_an_mpmc_ring_without_naming_a_thread_for_either_side() {
    use ringtop::monitor::{self, Monitor};
    use ringtop::ring::mpmc;

    let dir = monitor_dir("mpmc");
    let program = format!("pool-{}", std::process::id());
    let registry = monitor::publish_with(&dir, &program, Duration::from_millis(20)).unwrap();
    let (tx, rx) = mpmc::channel::<[u64; 2]>(1024)
        .unwrap()
        .monitor(&registry, "jobs")
        .unwrap();
    std::thread::scope(|s| {
        for p in 0..2 {
            let tx = tx.clone();
            s.spawn(move || (0..400).for_each(|i| tx.try_push([p, i]).unwrap()));
        }
    });
    (0..300).for_each(|_| assert!(rx.try_pop().is_some()));
    let lines = attached_lines(&dir, &program, |_| drop((tx, rx, registry)));
    let intervals: Vec<&Value> = lines.iter().filter(|l| l["type"] == "program").collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary", "{summary}");
    for line in intervals.iter().copied().chain([summary]) {
        let jobs = &line["rings"][0];
        assert_eq!(jobs["ring"]["kind"], "mpmc");
        assert_eq!(jobs["ring"]["capacity"], 1024);
        assert_eq!(jobs["item_bytes"], 16);
        assert_eq!(jobs["produced"], 800, "{line}");
        assert_eq!(jobs["lag"], serde_json::json!([500]), "{line}");
        assert_eq!(jobs["ring"]["memory_nodes"], serde_json::json!([0]));
        assert!(jobs["ring"]["consumer_empty_stalls"].is_null(), "{line}");
        for (thread, holding) in line["threads"]
            .as_array()
            .unwrap()
            .iter()
            .zip(["Sender", "Receiver"])
        {
            assert!(
                thread["cpu"].is_null() && thread["endpoint"].is_null(),
                "{thread}"
            );
            let why = thread["scheduling_unavailable"].as_str().unwrap();
            assert!(
                why.contains(&format!("every thread holding a {holding}")),
                "{why}"
            );
        }
    }
    assert_eq!(summary["rings"][0]["closed"], true, "{summary}");
    let mut line = intervals[0].clone();
    line.as_object_mut().unwrap().remove("type");
    let snapshot: ProgramSnapshot = serde_json::from_value(line).unwrap();
    let shown = draw(Some(&snapshot), &[], 130, 30);
    assert!(
        shown.contains("jobs producer: an mpmc ring is pushed by every thread"),
        "{shown}"
    );
    assert!(
        shown.contains("Rings (mpmc rings keep no stall counts)"),
        "{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The two ends of one shared-memory ring registered by two programs (the receiver's and the
/// sender's, the sender on a thread of its own), beside a third program's ring of the same name
/// in another file: `attach` to either program shows the other end's thread from the other
/// program's record (which program, its CPU and scheduling), and from the sender's side the
/// latency the receiver records. Once the other program drops its end, that end is unseen again,
/// with the reason.
fn check_both_ends_registered(attach_to_sender: bool) {
    use ringtop::monitor::{self, Monitor};
    use ringtop::ring::WaitStrategy;
    use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem};

    let side = if attach_to_sender {
        "sender"
    } else {
        "receiver"
    };
    let dir = monitor_dir(&format!("both-ends-{side}"));
    let pid = std::process::id();
    let interval = Duration::from_millis(20);
    let (receiving, sending) = (format!("receiving-{pid}"), format!("sending-{pid}"));
    let receiver_registry = monitor::publish_with(&dir, &receiving, interval).unwrap();
    let ring = format!("test-attach-both-{side}-{pid}");
    let mut receiver = ItemReceiver::<[u64; 3]>::create(&ring, 1024, WaitStrategy::BusySpin)
        .unwrap()
        .monitor(&receiver_registry, "quotes")
        .unwrap();
    let mut latency = receiver_registry.latency_recorder("quotes", 0).unwrap();
    // A ring of the same name in another file, registered by its sender in a third program.
    let decoy_registry = monitor::publish_with(&dir, &format!("decoy-{pid}"), interval).unwrap();
    let decoy_ring = format!("test-attach-decoy-{side}-{pid}");
    let _decoy_receiver =
        ItemReceiver::<[u64; 3]>::create(&decoy_ring, 1024, WaitStrategy::BusySpin).unwrap();
    let _decoy_sender = ItemSender::<[u64; 3]>::open(&decoy_ring)
        .unwrap()
        .monitor(&decoy_registry, "quotes")
        .unwrap();
    // The sender's program: its end on its own thread, until told to go.
    let (go, gone) = std::sync::mpsc::channel::<()>();
    let sender_dir = dir.clone();
    let sender_ring = ring.clone();
    let sending_name = sending.clone();
    let sender = std::thread::spawn(move || {
        let registry = monitor::publish_with(&sender_dir, &sending_name, interval).unwrap();
        let mut sender = ItemSender::<[u64; 3]>::open(&sender_ring)
            .unwrap()
            .monitor(&registry, "quotes")
            .unwrap();
        for i in 0..1000 {
            let now = ringtop::clock::monotonic_ns();
            sender.send(&[i, now, 0], Duration::from_secs(5)).unwrap();
        }
        let _ = gone.recv();
        drop((sender, registry));
    });
    read_some(600, |n| match receiver.try_recv() {
        ReceivedItem::Item(item) => {
            assert_eq!(item[0], n);
            latency.record(ringtop::clock::monotonic_ns() - item[1]);
            true
        }
        ReceivedItem::Other(_) => false,
    });
    // The list names each end's other end; the decoy's ring, in another file, joins nothing.
    let listed = super::list(&dir);
    let programs = listed["programs"].as_array().unwrap();
    for (program, other) in [
        (&receiving, Some(&sending)),
        (&sending, Some(&receiving)),
        (&format!("decoy-{pid}"), None),
    ] {
        let listed = programs.iter().find(|p| p["name"] == *program).unwrap();
        let expected = other.map(|other| serde_json::json!({"program": other, "pid": pid}));
        assert_eq!(
            listed["rings"][0]["other_end"],
            serde_json::json!(expected),
            "{listed}"
        );
    }
    let (attached, other, elsewhere, index) = if attach_to_sender {
        (&sending, &receiving, "quotes consumer-0", 1)
    } else {
        (&receiving, &sending, "quotes producer", 0)
    };
    let mut after = Vec::new();
    let lines = attached_lines(&dir, attached, |next| {
        if attach_to_sender {
            // The receiver's program ends; the sender's stays until attach has seen that.
            drop((receiver, latency, receiver_registry));
            after = until_unseen(next, index);
            go.send(()).unwrap();
            sender.join().unwrap();
        } else {
            go.send(()).unwrap();
            sender.join().unwrap();
            after = until_unseen(next, index);
            drop((receiver, latency, receiver_registry));
        }
    });
    let intervals: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "program")
        .take(2)
        .collect();
    for line in &intervals {
        let thread = &line["threads"][index];
        assert_eq!(thread["name"], elsewhere);
        assert_eq!(
            thread["registered_by"],
            serde_json::json!({"program": other, "pid": pid}),
            "{line}"
        );
        assert!(thread["cpu"].is_u64(), "{thread}");
        assert!(thread["scheduling_unavailable"].is_null(), "{thread}");
        assert!(thread["scheduling"]["ran_share"].is_number(), "{thread}");
        // The attached program's own end is its own.
        assert!(line["threads"][1 - index]["registered_by"].is_null());
        if attach_to_sender {
            // The receiver records the latency of all 600 it read.
            assert_eq!(thread["latency_total_ns"]["count"], 600, "{thread}");
        }
    }
    // The dashboard says whose thread it shows.
    let mut line = intervals[0].clone();
    line.as_object_mut().unwrap().remove("type");
    let snapshot: ProgramSnapshot = serde_json::from_value(line).unwrap();
    let shown = draw(Some(&snapshot), &[], 130, 30);
    let note = format!("{elsewhere}: in {other} (pid {pid}), which registered this end");
    assert!(shown.contains(&note), "{note:?} missing:\n{shown}");
    // Narrower, the note wraps between words; at any size the dashboard draws.
    let narrow = draw(Some(&snapshot), &[], 70, 30);
    let words: String = narrow
        .lines()
        .flat_map(|l| l.trim_matches(['"', '│', ' ']).split_whitespace())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(words.contains(&note), "{note:?} missing:\n{narrow}");
    for (width, height) in [(1, 1), (20, 5), (40, 12), (60, 16)] {
        draw(Some(&snapshot), &[], width, height);
    }
    // Once the other program dropped its end, the end is unseen again, with the reason.
    let unseen = &after.last().unwrap()["threads"][index];
    assert!(unseen["registered_by"].is_null() && unseen["cpu"].is_null());
    let why = unseen["scheduling_unavailable"].as_str().unwrap();
    assert!(
        why.ends_with("no running program registered its end"),
        "{why}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads `attach`'s lines until thread `index` is shown from no other program's record (within
/// 500 lines); returns them.
fn until_unseen(next: &mut dyn FnMut() -> Value, index: usize) -> Vec<Value> {
    let mut read = Vec::new();
    for _ in 0..500 {
        let line = next();
        let done = line["type"] == "program" && line["threads"][index]["registered_by"].is_null();
        read.push(line);
        if done {
            return read;
        }
    }
    panic!("the other end stayed joined: {:?}", read.last());
}

#[test]
fn attach_to_the_receivers_program_shows_the_sender_another_program_registered() {
    check_both_ends_registered(false);
}

#[test]
fn attach_to_the_senders_program_shows_the_receiver_and_its_latency() {
    check_both_ends_registered(true);
}

/// Two real processes, `examples/shm_messages.rs`'s receiver (`serve-items`) and sender
/// (`send-items`), each publishing its end: `attach` to the receiver's program shows the
/// sender's thread in the sender's process (its CPU and its share of the interval, read from
/// that process), until the sender is killed; then the end is unseen again, with the reason.
#[test]
fn attach_shows_a_sender_in_another_process_until_it_is_killed() {
    use std::io::BufRead;

    let dir = monitor_dir("two-processes");
    let example = common::example_binary("shm_messages");
    let ring = format!("two-processes-{}", std::process::id());
    // The example's `role` on the ring, publishing into `dir`.
    let start = |role: &str, arg: &str, stderr: Stdio| {
        Reaped::spawn(
            std::process::Command::new(&example)
                .args([role, &ring, arg])
                .env("RINGTOP_DIR", &dir)
                .stdout(Stdio::null())
                .stderr(stderr),
        )
        .unwrap()
    };
    let mut receiving = start("serve-items", "2", Stdio::piped());
    let mut ready = String::new();
    std::io::BufReader::new(receiving.child().stderr.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("ready: "), "{ready}");
    let mut sending = start("send-items", "1000000000000", Stdio::null());
    let sender_pid = sending.child().id();
    // Both ends published, and joined in the list.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = super::list(&dir);
        let joined = listed["programs"].as_array().unwrap().iter().any(|p| {
            p["name"] == "shm_messages"
                && p["rings"][0]["other_end"]["pid"] == serde_json::json!(sender_pid)
        });
        if joined {
            break;
        }
        assert!(Instant::now() < deadline, "never joined: {listed}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut after = Vec::new();
    let lines = attached_lines(&dir, "shm_messages", |next| {
        sending.child().kill().unwrap();
        sending.child().wait().unwrap();
        after = until_unseen(next, 0);
        receiving.child().kill().unwrap();
        receiving.child().wait().unwrap();
    });
    let second = lines
        .iter()
        .filter(|l| l["type"] == "program")
        .nth(1)
        .unwrap();
    let producer = &second["threads"][0];
    assert_eq!(
        producer["registered_by"],
        serde_json::json!({"program": "shm_messages_sender", "pid": sender_pid}),
        "{second}"
    );
    assert!(producer["cpu"].is_u64(), "{producer}");
    // The sender sends flat out: it ran for some of the interval, as its own process's /proc
    // says.
    let ran = producer["scheduling"]["ran_share"].as_f64().unwrap();
    assert!(ran > 0.0, "{producer}");
    let unseen = &after.last().unwrap()["threads"][0];
    assert!(unseen["registered_by"].is_null() && unseen["cpu"].is_null());
    let why = unseen["scheduling_unavailable"].as_str().unwrap();
    assert!(
        why.ends_with("no running program registered its end"),
        "{why}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
