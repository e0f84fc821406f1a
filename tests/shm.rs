//! The shared-memory ring between two real processes: `ringtop serve --shm` holds it, `ringtop
//! run --shm` writes into it. Every row arrives once and in order; a producer killed with
//! SIGKILL is noticed and the next one resumes; a hostile producer is dropped while the consumer
//! goes on; a file of the wrong size or version is refused with the reason; through the library
//! API, messages of every length (some of them header look-alikes) wrap a small window past a
//! reader that stalls now and then, and every one arrives exactly; an item ring refuses senders
//! of another kind or size and hostile tails, an item sender killed mid-stream loses nothing it
//! published, one that sends rarely notices its receiver killed within a few sends, and one
//! takes only the credits a receiver may send; a ring made on a NUMA node has its window there
//! (bound, in memory) before a sender writes it.
#![cfg(not(loom))]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering::{Acquire, Release};
use std::time::{Duration, Instant};

use common::{Reaped, ScratchDir, ringtop, scratch_dir};
use ringtop::ring::WaitStrategy;
use ringtop::ring::window::record_header;
use ringtop::topology::{AllocationReport, BindingOutcome, MemoryPlacement, NodeChoice, NumaAlloc};
use ringtop::transport::session::FRAME;
use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem, ReceivedItems};
use ringtop::transport::shm::layout::{self, hello, welcome};
use ringtop::transport::shm::locks::{
    receiver_lock_path, ring_path, sender_lock_path, take_sender_lock,
};
use ringtop::transport::shm::mapping::Segment;
use ringtop::transport::shm::messages::{MessageReceiver, MessageSender, Received};
use serde_json::Value;

/// A directory for rings that ringtop makes itself (private, as it insists), in a scratch
/// directory removed with it.
struct RingDir {
    rings: PathBuf,
    _scratch: ScratchDir,
}

impl std::ops::Deref for RingDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.rings
    }
}

impl AsRef<Path> for RingDir {
    fn as_ref(&self) -> &Path {
        &self.rings
    }
}

fn ring_dir(name: &str) -> RingDir {
    let scratch = scratch_dir(name);
    RingDir {
        rings: scratch.join("rings"),
        _scratch: scratch,
    }
}

/// `ringtop serve --shm NAME` in `dir`, once it is listening.
fn serve(dir: &Path, name: &str, extra: &[&str]) -> Reaped {
    let mut child = Reaped::spawn(
        ringtop()
            .env("RINGTOP_DIR", dir)
            .args(["serve", "--shm", name, "--headless", "--interval", "250ms"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let stderr = child.child().stderr.take().unwrap();
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    assert!(line.contains("listening on"), "{line}");
    assert!(line.contains(&format!("{name}.ring")), "{line}");
    child
}

/// A producer of the built-in `default` profile writing into `name` for `duration`.
fn producer(dir: &Path, name: &str, duration: &str) -> Command {
    producer_of(dir, name, duration, &["--builtin", "default"])
}

/// A producer of `profile` (`--builtin NAME` or `--profile FILE`) writing into `name`.
fn producer_of(dir: &Path, name: &str, duration: &str, profile: &[&str]) -> Command {
    let mut run = ringtop();
    run.env("RINGTOP_DIR", dir)
        .args(["run", "--headless", "--shm", name])
        .args(profile)
        .args(["--duration", duration, "--interval", "250ms"]);
    run
}

/// The last line of a child's stdout (its summary), once it has ended.
fn summary_of(child: Child) -> Value {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text.lines().last().expect("a summary line");
    let summary: Value = serde_json::from_str(last).unwrap();
    assert_eq!(summary["type"], "summary", "{last}");
    summary
}

fn run_summary(command: &mut Command) -> Value {
    let out = command.output().unwrap();
    common::assert_succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn a_producer_in_another_process_delivers_every_row_in_order() {
    let dir = ring_dir("shm-deliver");
    // A ring of its own size: the sender's profile says another, which sizes nothing.
    let server = serve(&dir, "feed", &["--once", "--set", "ring.capacity=2048"]);
    // The kernel's own account of the receiver's mapping of the ring file, before any sender.
    let placed = file_pages_by_node(server.id(), &dir.join("feed.ring"));
    let sent = run_summary(&mut producer(&dir, "feed", "1s"));
    // The sender checks no row: the receiver does (below).
    assert_eq!(sent["integrity_ok"], Value::Null, "{sent}");
    for field in ["lost", "duplicated", "reordered"] {
        assert_eq!(sent["totals"][field], Value::Null, "{field}");
    }
    assert_eq!(sent["transport"]["kind"], "shm");
    assert_eq!(sent["transport"]["role"], "sender");
    let described = sent["profile_description"].as_str().unwrap();
    assert!(
        described.ends_with("; here sent into the shared-memory ring `feed` (--shm)"),
        "{described}"
    );
    assert_eq!(
        sent["ring"]["memory"],
        Value::Null,
        "the ring is the receiver's"
    );
    let said = sent["ring"]["memory_summary"].as_str().unwrap();
    assert!(
        said.starts_with("n/a: the ring is the receiver's"),
        "{said}"
    );
    let produced = sent["totals"]["produced"].as_u64().unwrap();
    assert!(produced > 1000, "{produced}");
    assert_eq!(
        sent["transport"]["rows_acknowledged"].as_u64(),
        Some(produced)
    );

    let held = summary_of(server.take());
    assert_eq!(held["integrity_ok"], true, "{held}");
    assert_eq!(held["totals"]["consumed"].as_u64(), Some(produced));
    // The sender wrote into the receiver's ring: its slots are the receiver's.
    assert_eq!(held["ring"]["capacity"], 2048, "{held}");
    assert_eq!(sent["ring"]["capacity"], 2048, "{}", sent["ring"]);
    let described = held["profile_description"].as_str().unwrap();
    assert!(
        described.starts_with("the receiving end of the shared-memory ring `feed`:"),
        "{described}"
    );
    for field in ["lost", "duplicated", "reordered"] {
        assert_eq!(held["totals"][field], 0, "{field}");
    }
    let link = &held["transport"];
    assert_eq!(link["kind"], "shm");
    assert_eq!(link["sessions"], 1);
    assert_eq!(link["dropped"], 0);
    // Both sides share the clock: one-way latency is measured.
    assert!(link["one_way_ns"]["count"].as_u64().unwrap() > 0, "{link}");
    // The receiver removed its ring when it stopped.
    assert!(!dir.join("feed.ring").exists());

    // Its window was placed as the profile says (the consumer's node) and faulted in when it
    // listened: every page in memory before a sender wrote one, where the summary says.
    let memory = &held["ring"]["memory"];
    assert_eq!(memory["binding"]["kind"], "bound", "{memory}");
    let nodes: Vec<u64> = placed.keys().copied().collect();
    assert_eq!(
        memory["located_on"]["nodes"],
        serde_json::json!(nodes),
        "{placed:?}"
    );
    let window_pages = memory["mapped_bytes"].as_u64().unwrap() / common::page_size();
    assert!(
        placed.values().sum::<u64>() >= window_pages,
        "{placed:?} for a window of {window_pages} pages"
    );
}

/// Pages of `file`'s mappings in process `pid` per NUMA node, from `/proc/PID/numa_maps` (a
/// binding splits a mapping in two: the header, and the window with its policy).
fn file_pages_by_node(pid: u32, file: &Path) -> std::collections::BTreeMap<u64, u64> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/numa_maps")).unwrap();
    let wanted = format!("file={}", file.display());
    let mut pages_by_node = std::collections::BTreeMap::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !fields.contains(&wanted.as_str()) {
            continue;
        }
        for field in fields {
            if let Some((node, pages)) = field.strip_prefix('N').and_then(|f| f.split_once('=')) {
                *pages_by_node.entry(node.parse().unwrap()).or_insert(0) +=
                    pages.parse::<u64>().unwrap();
            }
        }
    }
    assert!(
        !pages_by_node.is_empty(),
        "no mapping of {wanted} in:\n{maps}"
    );
    pages_by_node
}

/// The memory policy of each of `file`'s mappings in process `pid`, from `/proc/PID/numa_maps`
/// (`default`, `bind:0`, …).
fn file_policies(pid: u32, file: &Path) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/numa_maps")).unwrap();
    let wanted = format!("file={}", file.display());
    maps.lines()
        .filter(|line| line.split_whitespace().any(|field| field == wanted))
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .collect()
}

/// Library rings made with a placement have their window on that node (bound, every page in
/// memory) before a sender writes a byte, as the kernel says from outside; one made without
/// says no node was asked for and has no page in memory until a sender writes one.
#[test]
fn library_rings_made_on_a_node_have_their_window_there_before_a_sender_writes() {
    let placement = NumaAlloc::new(MemoryPlacement {
        node: NodeChoice::LocalTo(0),
        huge_pages: false,
    })
    .unwrap();
    let node = placement.target_node().unwrap();
    let check_placed = |path: &str, memory: AllocationReport| {
        assert_eq!(memory.binding, BindingOutcome::Bound { node }, "{memory:?}");
        assert_eq!(memory.located_on.nodes(), Some(&[node][..]), "{memory:?}");
        let file = Path::new(path);
        let pages = file_pages_by_node(std::process::id(), file);
        let window_pages = memory.mapped_bytes as u64 / common::page_size();
        assert_eq!(pages.keys().copied().collect::<Vec<_>>(), [node as u64]);
        assert!(
            pages[&(node as u64)] >= window_pages,
            "{pages:?}: {memory:?}"
        );
        let policies = file_policies(std::process::id(), file);
        assert!(
            policies.contains(&format!("bind:{node}")),
            "{policies:?}: {}",
            memory.summary()
        );
    };
    let items = own_ring("placed-items");
    let receiver =
        ItemReceiver::<[u64; 7]>::create_on(&items, 1024, WaitStrategy::BusySpin, &placement)
            .unwrap();
    assert_eq!(receiver.memory().mapped_bytes, 64 * 1024);
    check_placed(&receiver.path(), receiver.memory());
    let messages = own_ring("placed-messages");
    let receiver =
        MessageReceiver::create_on(&messages, 1 << 16, WaitStrategy::BusySpin, &placement).unwrap();
    assert_eq!(receiver.memory().mapped_bytes, 1 << 16);
    check_placed(&receiver.path(), receiver.memory());

    let unplaced = own_ring("unplaced-items");
    let mut receiver =
        ItemReceiver::<[u64; 7]>::create(&unplaced, 1024, WaitStrategy::BusySpin).unwrap();
    let memory = receiver.memory();
    assert_eq!(memory.binding, BindingOutcome::NotRequested);
    assert_eq!(memory.located_on.nodes(), Some(&[][..]), "{memory:?}");
    assert!(
        memory.summary().contains("pages not yet placed"),
        "{}",
        memory.summary()
    );
    let mut sender = ItemSender::<[u64; 7]>::open(&unplaced).unwrap();
    sender.send(&[7; 7], Duration::from_secs(5)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while receiver.try_recv() != ReceivedItem::Item([7; 7]) {
        assert!(Instant::now() < deadline, "the item never arrived");
    }
    assert_eq!(receiver.memory().located_on.nodes(), Some(&[node][..]));
}

/// A receiver that sleeps on its ring between rows (`spin-park`, a few thousand rows a second):
/// in every snapshot its latency counts exactly the rows it consumed in that interval, though
/// the snapshot is taken while it sleeps (the reading crosses the interval's end for it).
#[test]
fn a_sleeping_receivers_snapshots_time_exactly_the_rows_consumed_in_them() {
    let dir = ring_dir("shm-cut");
    let profile = dir.parent().unwrap().join("sleeping.toml");
    std::fs::write(
        &profile,
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1024\n[workload]\nrate = 4000\n\
         batch = 8\n[wait]\nconsumer = \"spin-park\"\n",
    )
    .unwrap();
    let profile = profile.display().to_string();
    let server = serve(&dir, "cut", &["--once", "--profile", &profile]);
    let sent = run_summary(&mut producer_of(
        &dir,
        "cut",
        "2s",
        &["--profile", &profile],
    ));
    let produced = sent["totals"]["produced"].as_u64().unwrap();

    let out = server.take().wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut before, mut timed, mut snapshots) = (0, 0, 0);
    for line in text.lines() {
        let snapshot: Value = serde_json::from_str(line).unwrap();
        if snapshot["type"] != "snapshot" {
            continue;
        }
        let consumer = &snapshot["threads"][0];
        assert_eq!(consumer["name"], "consumer-0", "{line}");
        let rows = consumer["rows"].as_u64().unwrap();
        let samples = consumer["latency_ns"]["count"].as_u64().unwrap_or(0);
        assert_eq!(
            samples,
            rows - before,
            "the interval's latency counts its rows: {line}"
        );
        assert!(!line.contains("did not reach the interval's end"), "{line}");
        before = rows;
        timed += samples;
        snapshots += 1;
    }
    assert!(snapshots >= 4, "{text}");
    assert!(timed > 0 && timed <= produced, "{timed} of {produced}");
}

#[test]
fn a_producer_killed_mid_stream_is_noticed_and_the_next_one_resumes() {
    let dir = ring_dir("shm-kill");
    let server = serve(&dir, "feed", &["--duration", "5s"]);
    let mut first = Reaped::spawn(producer(&dir, "feed", "30s").stdout(Stdio::null())).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    first.child().kill().unwrap();
    let _ = first.child().wait();
    let second = run_summary(&mut producer(&dir, "feed", "1s"));
    assert_eq!(second["failure"], Value::Null, "{second}");
    let second_rows = second["totals"]["produced"].as_u64().unwrap();

    let held = summary_of(server.take());
    let link = &held["transport"];
    assert_eq!(link["sessions"], 2, "{link}");
    assert_eq!(link["dropped"], 1, "{link}");
    let error = link["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("died without a goodbye"), "{error}");
    // Nothing published before the kill was lost, duplicated or reordered, and the first
    // producer's rows are there besides the second's.
    assert_eq!(held["integrity_ok"], true, "{held}");
    for field in ["lost", "duplicated", "reordered"] {
        assert_eq!(held["totals"][field], 0, "{field}");
    }
    assert!(held["totals"]["consumed"].as_u64().unwrap() > second_rows);
}

#[test]
fn a_receiver_killed_is_noticed_by_its_producer() {
    let dir = ring_dir("shm-receiver-dies");
    let mut server = serve(&dir, "feed", &["--duration", "30s"]);
    let writer = producer(&dir, "feed", "2s")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    server.child().kill().unwrap();
    let summary = summary_of(writer);
    let error = summary["transport"]["last_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains("receiver (ringtop serve) is gone"),
        "{error}"
    );
    assert_eq!(summary["transport"]["connected"], false);
    // A new receiver replaces the ring the dead one left.
    let server = serve(&dir, "feed", &["--once"]);
    let sent = run_summary(&mut producer(&dir, "feed", "300ms"));
    let held = summary_of(server.take());
    assert_eq!(held["totals"]["consumed"], sent["totals"]["produced"]);
}

#[test]
fn an_item_sender_that_sends_rarely_notices_its_receiver_killed_within_a_few_sends() {
    // The example's receiver of `Quote`s (24 bytes: seq, price, quantity and side), in the
    // default directory so that this process's sender finds it by name.
    let name = own_ring("rare-sender");
    let mut command = Command::new(common::example_binary("shm_messages"));
    command
        .env_remove("RINGTOP_DIR")
        .args(["receive-items", &name, "1000000"]);
    let (mut receiver, path) = started_receiver(command);
    // The killed receiver leaves its ring file, lock files and stats segment in the user's
    // directory (a receiver that dies cannot clean up): removed however the test ends.
    let segment = path
        .with_file_name(format!("shm_messages-{}", receiver.child().id()))
        .with_extension(ringtop::monitor::layout::EXTENSION);
    let _litter = RemovedOnDrop([
        receiver_lock_path(&path),
        sender_lock_path(&path),
        path,
        segment,
    ]);
    let quote = |n: u64| {
        let price = 100.0 + (n % 1000) as f64 / 100.0;
        [n, price.to_bits(), (n % 500 + 1) | (n % 2) << 32]
    };
    let mut sender = ItemSender::<[u64; 3]>::open(&name).unwrap();
    for n in 0..5 {
        assert!(sender.try_send(&quote(n)).unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while sender.acknowledged() < 5 {
        assert!(
            Instant::now() < deadline,
            "the receiver never read the first items"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    receiver.child().kill().unwrap();
    receiver.child().wait().unwrap();
    // One send every 2 ms into a window of 4 096 slots, far from full: the sender learns of
    // the death from an overdue credit, within one credit read (every 16th send).
    let mut sent_after = 0;
    let error = loop {
        match sender.try_send(&quote(5 + sent_after)) {
            Ok(sent) => assert!(sent, "the window filled"),
            Err(e) => break e.to_string(),
        }
        sent_after += 1;
        assert!(
            sent_after <= 16,
            "still sending {sent_after} items after the receiver died"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        error.contains("receiver (ringtop serve) is gone"),
        "{error}"
    );
}

/// Says hello as a producer would, from this process; the start position it was given.
fn hostile_hello(segment: &Segment) -> u64 {
    let (status, reason) = say_hello(segment, 1024);
    assert_eq!(status, layout::ACCEPTED, "{reason}");
    segment.u64_at(welcome::START).load(Acquire)
}

/// Says hello announcing frames of `max_frame` bytes (holding no sender lock of its own: the
/// caller takes it); the welcome's status and reason.
fn say_hello(segment: &Segment, max_frame: u64) -> (u64, String) {
    segment.u64_at(hello::MAX_FRAME).store(max_frame, Release);
    segment.u64_at(hello::TOKEN_LEN).store(0, Release);
    segment.u64_at(hello::BOOT_ID_LEN).store(0, Release);
    let seq = segment.u64_at(hello::SEQ).load(Acquire) + 1;
    segment.u64_at(hello::SEQ).store(seq, Release);
    let deadline = Instant::now() + Duration::from_secs(5);
    while segment.u64_at(welcome::SEQ).load(Acquire) != seq {
        assert!(Instant::now() < deadline, "no welcome");
        std::thread::sleep(Duration::from_millis(1));
    }
    let len = segment.u64_at(welcome::REASON_LEN).load(Acquire) as usize;
    let reason = segment.read_field(welcome::REASON, len, welcome::REASON_BYTES);
    (
        segment.u64_at(welcome::STATUS).load(Acquire),
        String::from_utf8_lossy(&reason).into_owned(),
    )
}

fn last_error_of(lines: &mut impl BufRead, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "never reported: {wanted}");
        let snapshot = common::next_of(lines, "snapshot");
        let error = snapshot["transport"]["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if error.contains(wanted) {
            return error;
        }
    }
}

#[test]
fn a_hostile_producer_is_dropped_and_the_consumer_goes_on() {
    let dir = ring_dir("shm-hostile");
    let mut server = serve(&dir, "feed", &["--duration", "30s"]);
    let mut lines = BufReader::new(server.child().stdout.take().unwrap());
    let path: PathBuf = dir.join("feed.ring");
    let capacity = Segment::open(&path).unwrap().capacity() as u64;
    for (tail, refused) in [
        (3, "not a multiple of 8"),
        (capacity * 4, "ahead of the reader's head"),
    ] {
        let segment = Segment::open(&path).unwrap();
        let lock = take_sender_lock(&sender_lock_path(&path)).unwrap();
        let start = hostile_hello(&segment);
        // Garbage in the window, then a tail the window cannot take.
        segment.write_window(0, &[0xAB; 4096]);
        segment.u64_at(layout::TAIL).store(start + tail, Release);
        let error = last_error_of(&mut lines, refused);
        assert!(error.contains("dropped"), "{error}");
        drop(lock);
    }
    // A published record that is garbage: dropped too.
    {
        let segment = Segment::open(&path).unwrap();
        let lock = take_sender_lock(&sender_lock_path(&path)).unwrap();
        let start = hostile_hello(&segment);
        let offset = (start % capacity) as usize;
        segment.write_window(offset, &u64::MAX.to_le_bytes());
        segment.u64_at(layout::TAIL).store(start + 64, Release);
        last_error_of(&mut lines, "bad record");
        drop(lock);
    }
    // The consumer is alive: a real producer delivers every row.
    let sent = run_summary(&mut producer(&dir, "feed", "500ms"));
    assert_eq!(sent["failure"], Value::Null, "{sent}");
    let produced = sent["totals"]["produced"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let snapshot = common::next_of(&mut lines, "snapshot");
        if snapshot["totals"]["consumed"].as_u64() >= Some(produced) {
            assert_eq!(snapshot["totals"]["duplicated"], 0, "{snapshot}");
            assert_eq!(snapshot["totals"]["reordered"], 0, "{snapshot}");
            assert_eq!(
                snapshot["transport"]["dropped"], 3,
                "{}",
                snapshot["transport"]
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the real producer's rows never arrived"
        );
    }
}

#[test]
fn receivers_making_one_ring_at_once_end_with_exactly_one_holding_it() {
    let dir = ring_dir("shm-race");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("raced.ring");
    for round in 0..20 {
        let start = std::sync::Barrier::new(6);
        let made: Vec<Result<Segment, String>> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..6)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        Segment::create(&path, 1 << 16, 0).map_err(|e| e.to_string())
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let winners = made.iter().filter(|m| m.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {made:?}");
        for lost in made.iter().filter_map(|m| m.as_ref().err()) {
            assert!(lost.contains("another ringtop serve"), "{lost}");
        }
        // The one that won is the one a sender finds.
        let segment = made.into_iter().find_map(Result::ok).unwrap();
        let opened = Segment::open(&path).expect("the winner's ring is the published one");
        drop(opened);
        drop(segment);
        assert!(
            !receiver_lock_path(&path).exists(),
            "round {round}: the receiver's lock file stayed behind"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn a_ring_file_of_the_wrong_size_or_version_is_refused_with_the_reason() {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = ring_dir("shm-bad-file");
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join(format!("{name}.ring")))
            .unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
    };
    let mut header = vec![0u8; layout::HEADER_BYTES + layout::MIN_WINDOW];
    header[..8].copy_from_slice(&layout::MAGIC.to_le_bytes());
    header[16..24].copy_from_slice(&(layout::HEADER_BYTES as u64).to_le_bytes());
    header[24..32].copy_from_slice(&(layout::MIN_WINDOW as u64).to_le_bytes());
    let mut future = header.clone();
    future[8..12].copy_from_slice(&9u32.to_le_bytes());
    write("future", &future);
    write("short", &header[..100]);
    let mut oversized = header.clone();
    oversized[8..12].copy_from_slice(&layout::VERSION.to_le_bytes());
    oversized[24..32].copy_from_slice(&(1u64 << 20).to_le_bytes());
    write("lying", &oversized);
    let mut stale = header.clone();
    stale[8..12].copy_from_slice(&layout::VERSION.to_le_bytes());
    write("stale", &stale);
    let mut huge_items = stale.clone();
    let items_at = layout::header::ITEM_BYTES;
    huge_items[items_at..items_at + 8].copy_from_slice(&(1u64 << 20).to_le_bytes());
    write("huge-items", &huge_items);
    for (name, reason) in [
        ("future", "layout version 9"),
        ("short", "not a ringtop shared-memory ring"),
        ("lying", "sizes that do not add up"),
        ("huge-items", "items of 1048576"),
        ("stale", "is gone (nobody holds its lock)"),
        ("missing", "no such ring"),
        ("../escape", "shared-memory ring name"),
    ] {
        let out = producer(&dir, name, "1s").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: {stderr}");
        assert!(stderr.contains(reason), "{name}: {stderr}");
        assert!(!stderr.contains("--listen"), "{name}: {stderr}");
    }
}

/// CPU time (user + system) the process `pid` has used, from /proc (clock ticks).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_parked_consumer_costs_nothing_while_idle_and_wakes_for_every_row() {
    let dir = ring_dir("shm-park");
    let profile = dir.parent().unwrap().join("parked.toml");
    std::fs::write(
        &profile,
        "version = 1\ndescription = \"a consumer that sleeps on the ring\"\n[ring]\nkind = \"spsc\"\n\
         capacity = 16384\n[workload]\nrate = 1000\nbatch = 1\n[wait]\nconsumer = \"spin-park\"\n",
    )
    .unwrap();
    let profile = profile.display().to_string();
    let server = serve(&dir, "feed", &["--profile", &profile, "--once"]);
    // Idle: no producer. The consumer sleeps on the ring's futex; the whole process uses a few
    // percent of one CPU at most (measured by the kernel, not by ringtop).
    let pid = server.id();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    // SAFETY: sysconf(3) with a valid name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    let used = (cpu_ticks(pid) - before) as f64 / hz as f64;
    assert!(
        used < 0.1,
        "an idle parked consumer used {used} s of CPU in 1 s"
    );
    // A paced producer: every row wakes it, and every row arrives.
    let sent = run_summary(&mut producer_of(
        &dir,
        "feed",
        "1s",
        &["--profile", &profile],
    ));
    let held = summary_of(server.take());
    assert_eq!(held["integrity_ok"], true, "{held}");
    assert_eq!(held["totals"]["consumed"], sent["totals"]["produced"]);
    assert!(sent["totals"]["produced"].as_u64().unwrap() >= 900);
}

/// The example `shm_messages` with `args`, its rings in `dir`.
fn example(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(common::example_binary("shm_messages"));
    command.env("RINGTOP_DIR", dir).args(args);
    command
}

/// Starts the example's receiving role `args` and waits until its ring is made: the process and
/// the ring file's path.
fn example_receiver(dir: &Path, args: &[&str]) -> (Reaped, PathBuf) {
    started_receiver(example(dir, args))
}

/// Starts a receiving role of the example (`command`) and waits until its ring is made: the
/// process and the ring file's path.
fn started_receiver(mut command: Command) -> (Reaped, PathBuf) {
    let mut receiver =
        Reaped::spawn(command.stdout(Stdio::piped()).stderr(Stdio::piped())).unwrap();
    let mut ready = String::new();
    BufReader::new(receiver.child().stderr.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let path = ready.trim().strip_prefix("ready: ").map(PathBuf::from);
    (
        receiver,
        path.unwrap_or_else(|| panic!("not ready: {ready}")),
    )
}

/// Runs the example's `receive_role` and `send_role` on ring `name` as two processes with
/// `count` messages; what each printed.
fn exchange(
    dir: &Path,
    receive_role: &str,
    send_role: &str,
    name: &str,
    count: &str,
) -> (String, String) {
    let (receiver, _) = example_receiver(dir, &[receive_role, name, count]);
    let sent = example(dir, &[send_role, name, count]).output().unwrap();
    common::assert_succeeded(&sent);
    let received = receiver.take().wait_with_output().unwrap();
    assert!(received.status.success());
    (
        String::from_utf8_lossy(&sent.stdout).trim().to_owned(),
        String::from_utf8_lossy(&received.stdout).trim().to_owned(),
    )
}

#[test]
fn two_programs_exchange_messages_through_the_library_api() {
    let dir = ring_dir("shm-messages");
    let (sent, received) = exchange(&dir, "receive", "send", "orders", "50000");
    assert_eq!(sent, "sent 50000 messages, 50000 read");
    assert_eq!(received, "received 50000 messages in order");
    assert!(
        !dir.join("orders.ring").exists(),
        "the receiver removes its ring"
    );
}

#[test]
fn two_programs_exchange_typed_items_through_the_library_api() {
    let dir = ring_dir("shm-items");
    let (sent, received) = exchange(&dir, "receive-items", "send-items", "quotes", "50000");
    assert_eq!(sent, "sent 50000 items, 50000 read");
    assert_eq!(received, "received 50000 items in order");
}

/// A receiving program pinned to a CPU makes its ring with the window on that CPU's node: the
/// kernel shows it there, bound and in memory, before a sender has written, and the program says
/// where it is.
#[test]
fn a_receiver_pinned_to_a_cpu_has_its_ring_on_that_cpus_node() {
    let dir = ring_dir("shm-placed");
    let node = ringtop::topology::host().unwrap().node_of_cpu(0).unwrap();
    let (mut receiver, path) = example_receiver(&dir, &["receive-items", "placed", "1000", "0"]);
    let pid = receiver.child().id();
    let pages = file_pages_by_node(pid, &path);
    assert_eq!(pages.keys().copied().collect::<Vec<_>>(), [node as u64]);
    // 4,096 items of 24 bytes in 32-byte slots: 128 KiB.
    assert!(
        pages[&(node as u64)] * common::page_size() >= 128 << 10,
        "{pages:?}"
    );
    assert!(file_policies(pid, &path).contains(&format!("bind:{node}")));
    let sent = example(&dir, &["send-items", "placed", "1000"])
        .output()
        .unwrap();
    common::assert_succeeded(&sent);
    let received = receiver.take().wait_with_output().unwrap();
    assert!(received.status.success());
    let said = String::from_utf8_lossy(&received.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "window: 128 KiB on node {node} (bound to node {node})"
        )),
        "{said}"
    );
    assert_eq!(lines[1..], ["received 1000 items in order"]);
}

#[test]
fn an_item_ring_refuses_a_byte_sender_with_the_reason_and_takes_the_next_item_sender() {
    let dir = ring_dir("shm-item-size");
    let (receiver, _) = example_receiver(&dir, &["receive-items", "mixed", "10"]);
    // A byte-message sender: refused at open, before it writes anything.
    let refused = example(&dir, &["send", "mixed", "10"]).output().unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("it holds fixed-size items of 24 bytes"),
        "{said}"
    );
    // The receiver never saw it: the next sender's items all arrive.
    let sent = example(&dir, &["send-items", "mixed", "10"])
        .output()
        .unwrap();
    common::assert_succeeded(&sent);
    let received = receiver.take().wait_with_output().unwrap();
    assert!(received.status.success());
    assert_eq!(
        String::from_utf8_lossy(&received.stdout).trim(),
        "received 10 items in order"
    );
}

#[test]
fn an_item_sender_killed_mid_stream_loses_nothing_it_published_and_the_next_one_resumes() {
    let dir = ring_dir("shm-item-kill");
    let (receiver, path) = example_receiver(&dir, &["serve-items", "quotes", "2"]);
    let mut first =
        Reaped::spawn(example(&dir, &["send-items", "quotes", "1000000000"]).stdout(Stdio::null()))
            .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    first.child().kill().unwrap();
    let _ = first.child().wait();
    // What the killed sender published, from the start it was given, in 32-byte slots (a
    // 24-byte quote's): its slots are published by their stamps, and the tail it stores after
    // them can lag by the items of its last send (a kill between the two). So: past its tail,
    // every slot stamped for its position. Read before the next sender's hello clears them.
    let file = Segment::open(&path).unwrap();
    let tail = file.u64_at(layout::TAIL).load(Acquire);
    let stamped = file.stamped_tail(tail, 32, (file.capacity() / 32) as u64);
    let published = (stamped - file.u64_at(welcome::START).load(Acquire)) / 32;
    assert!(published > 0, "the first sender published nothing");
    drop(file);
    let sent = example(&dir, &["send-items", "quotes", "1000"])
        .output()
        .unwrap();
    common::assert_succeeded(&sent);
    assert_eq!(
        String::from_utf8_lossy(&sent.stdout).trim(),
        "sent 1000 items, 1000 read"
    );
    let received = receiver.take().wait_with_output().unwrap();
    assert!(received.status.success());
    let said = String::from_utf8_lossy(&received.stdout);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 2, "{said}");
    assert!(
        lines[0].starts_with(&format!("sender 1: {published} items in order; ")),
        "every item published before the kill, once and in order (published {published}): {said}"
    );
    assert!(lines[0].contains("died without a goodbye"), "{said}");
    assert_eq!(lines[1], "sender 2: 1000 items in order; it said so");
}

#[test]
fn item_senders_of_another_size_or_kind_are_refused_with_the_reason() {
    let items = own_ring("item-kinds");
    let _receiver = ItemReceiver::<[u64; 3]>::create(&items, 16, WaitStrategy::BusySpin).unwrap();
    let err = ItemSender::<[u64; 2]>::open(&items)
        .unwrap_err()
        .to_string();
    assert!(err.contains("it holds items of 24 bytes, not 16"), "{err}");
    // A hello that announces another size, from a process that skips the sender's own check.
    let path = PathBuf::from(_receiver.path());
    let segment = Segment::open(&path).unwrap();
    assert_eq!(segment.item_bytes(), 24);
    let lock = take_sender_lock(&sender_lock_path(&path)).unwrap();
    let (status, reason) = say_hello(&segment, 1024);
    assert_eq!(status, layout::REFUSED);
    assert!(
        reason.contains("this ring holds items of 24 bytes; the sender announced 1024"),
        "{reason}"
    );
    drop(lock);
    let messages = own_ring("message-kind");
    let _receiver = MessageReceiver::create(&messages, 4096, WaitStrategy::BusySpin).unwrap();
    let err = ItemSender::<[u64; 2]>::open(&messages)
        .unwrap_err()
        .to_string();
    assert!(err.contains("it holds frames or messages"), "{err}");
}

#[test]
fn a_hostile_item_producer_gets_only_what_its_stamps_say_and_leaves_nothing_for_the_next() {
    let name = own_ring("hostile-items");
    let mut receiver = ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::BusySpin).unwrap();
    let path = PathBuf::from(receiver.path());
    let slot = layout::slot_bytes(64);
    let segment = Segment::open(&path).unwrap();
    let capacity = segment.capacity() as u64;
    let lock = take_sender_lock(&sender_lock_path(&path)).unwrap();
    let (status, _) = say_hello(&segment, 64);
    assert_eq!(status, layout::ACCEPTED);
    let start = segment.u64_at(welcome::START).load(Acquire);
    let at = |k: u64| start + k * slot as u64;
    // Garbage everywhere, a tail far out of range, then stamps: the first slot's right, the
    // second slot's missing, the third's right (a gap before it), the fourth's a lap ahead,
    // the fifth's any number.
    segment.write_window(0, &vec![0xEE; capacity as usize]);
    segment
        .u64_at(layout::TAIL)
        .store(start + capacity * 4, Release);
    segment.write_item(at(0), slot, &[0xAB; 64]);
    segment.write_window((at(1) % capacity) as usize, &[0; 8]);
    segment.write_item(at(2), slot, &[0xCD; 64]);
    segment.write_item(at(3) + capacity, slot, &[0xEF; 64]);
    segment.write_window((at(4) % capacity) as usize, &at(5).to_le_bytes());
    let next_event = |receiver: &mut ItemReceiver<[u64; 8]>, within| loop {
        match receiver.recv(within) {
            ReceivedItem::Other(Received::SenderConnected(_)) => {}
            other => return other,
        }
    };
    // Its one stamped item is its own to send; nothing past the gap, whatever the tail says.
    let wide = |byte: u8| u64::from_ne_bytes([byte; 8]);
    assert_eq!(
        next_event(&mut receiver, Duration::from_secs(10)),
        ReceivedItem::Item([wide(0xAB); 8])
    );
    assert_eq!(
        next_event(&mut receiver, Duration::from_millis(200)),
        ReceivedItem::Other(Received::Nothing)
    );
    drop(lock);
    assert!(matches!(
        next_event(&mut receiver, Duration::from_secs(10)),
        ReceivedItem::Other(Received::SenderLeft { sent: None, .. })
    ));
    // The next sender starts at the gap, with the dead one's stamp on the slot after it: its
    // first item arrives, and nothing after it until it sends more.
    let mut sender = ItemSender::<[u64; 8]>::open(&name).unwrap();
    sender.send(&[0; 8], Duration::from_secs(10)).unwrap();
    assert_eq!(
        next_event(&mut receiver, Duration::from_secs(10)),
        ReceivedItem::Item([0; 8])
    );
    assert_eq!(
        next_event(&mut receiver, Duration::from_millis(200)),
        ReceivedItem::Other(Received::Nothing),
        "a stamp the dead sender left was taken for the new one's"
    );
    // Its items wrap the window and every one arrives.
    let reader = std::thread::spawn(move || {
        let mut read = 1u64;
        while read < 1000 {
            match receiver.recv(Duration::from_secs(10)) {
                ReceivedItem::Item(item) => {
                    assert_eq!(item, [read; 8], "item {read}");
                    read += 1;
                }
                ReceivedItem::Other(Received::SenderConnected(_)) => {}
                other => panic!("after {read} items: {other:?}"),
            }
        }
        read
    });
    for i in 1..1000u64 {
        sender.send(&[i; 8], Duration::from_secs(10)).unwrap();
    }
    assert_eq!(reader.join().unwrap(), 1000);
}

#[test]
fn an_item_a_producer_stamped_before_it_died_is_kept_though_its_tail_never_said_so() {
    let name = own_ring("stamped-then-died");
    let mut receiver = ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::BusySpin).unwrap();
    let path = PathBuf::from(receiver.path());
    let segment = Segment::open(&path).unwrap();
    let lock = take_sender_lock(&sender_lock_path(&path)).unwrap();
    let (status, _) = say_hello(&segment, 64);
    assert_eq!(status, layout::ACCEPTED);
    let start = segment.u64_at(welcome::START).load(Acquire);
    // The item and its stamp, then death before the tail: the session ends while the receiver
    // has not looked yet, and the end must come after the item, not before it.
    segment.write_item(start, layout::slot_bytes(64), &[7; 64]);
    drop(lock);
    std::thread::sleep(Duration::from_millis(100));
    let mut events = Vec::new();
    while events.len() < 2 {
        match receiver.recv(Duration::from_secs(10)) {
            ReceivedItem::Other(Received::SenderConnected(_)) => {}
            ReceivedItem::Other(Received::Nothing) => panic!("after {events:?}: nothing"),
            other => events.push(other),
        }
    }
    assert_eq!(
        events[0],
        ReceivedItem::Item([u64::from_ne_bytes([7; 8]); 8])
    );
    assert!(
        matches!(
            &events[1],
            ReceivedItem::Other(Received::SenderLeft { sent: None, .. })
        ),
        "{events:?}"
    );
}

/// Files removed when dropped (those that exist).
struct RemovedOnDrop<const N: usize>([PathBuf; N]);

impl<const N: usize> Drop for RemovedOnDrop<N> {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A ring name of its own in the default ringtop directory (library tests run in this process,
/// where `RINGTOP_DIR` is not set).
fn own_ring(what: &str) -> String {
    format!("test-{what}-{}", std::process::id())
}

/// Message `i` of the look-alike test: a length that moves record boundaries from lap to lap,
/// and words that each read as a small frame's header.
fn header_lookalike(i: u64) -> Vec<u8> {
    let len = (i * 37 % 203) as usize;
    (0..len.div_ceil(8) as u64)
        .flat_map(|word| record_header(((i + word) % 5 * 8) as u32, FRAME))
        .take(len)
        .collect()
}

#[test]
fn a_wrapping_window_delivers_every_message_exactly_even_ones_that_look_like_headers() {
    const MESSAGES: u64 = 40_000;
    let name = own_ring("lookalike");
    let mut receiver = MessageReceiver::create(&name, 4096, WaitStrategy::BusySpin).unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut read = 0;
        while read < MESSAGES {
            match receiver.recv(&mut out, Duration::from_secs(10)) {
                Received::Message => {
                    assert_eq!(out, header_lookalike(read), "message {read}");
                    read += 1;
                    // Now and then the reader stalls, and the sender fills the window as far
                    // as it may.
                    if read % 997 == 0 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                Received::SenderConnected(_) => {}
                other => panic!("after {read} messages: {other:?}"),
            }
        }
        read
    });
    let mut sender = MessageSender::open(&name, 256).unwrap();
    for i in 0..MESSAGES {
        sender
            .send(&header_lookalike(i), Duration::from_secs(10))
            .unwrap();
    }
    assert_eq!(reader.join().unwrap(), MESSAGES);
}

#[test]
fn items_sent_and_read_in_batches_wrap_a_small_window_and_arrive_once_in_order() {
    const ITEMS: u64 = 60_000;
    let name = own_ring("item-batches");
    // 24-byte items in 32-byte slots: 128 of them in the smallest window.
    let mut receiver =
        ItemReceiver::<[u64; 3]>::create(&name, 100, WaitStrategy::BusySpin).unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = vec![[0u64; 3]; 17];
        let mut read = 0u64;
        let mut calls = 0usize;
        while read < ITEMS {
            // Batches of 1 to 17, and now and then a stall while the sender fills the window.
            calls += 1;
            let room = 1 + calls % 17;
            match receiver.recv_many(&mut out[..room], Duration::from_secs(10)) {
                ReceivedItems::Items(n) => {
                    assert!((1..=room).contains(&n), "{n} items into room for {room}");
                    for item in &out[..n] {
                        assert_eq!(*item, [read, !read, read * 3], "item {read}");
                        read += 1;
                    }
                    if calls.is_multiple_of(401) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                ReceivedItems::Other(Received::SenderConnected(_)) => {}
                other => panic!("after {read} items: {other:?}"),
            }
        }
        read
    });
    let mut sender = ItemSender::<[u64; 3]>::open(&name).unwrap();
    let mut next = 0u64;
    while next < ITEMS {
        // Batches of 1 to 200: some larger than the window.
        let count = (1 + next * 7 % 200).min(ITEMS - next);
        let batch: Vec<[u64; 3]> = (next..next + count).map(|i| [i, !i, i * 3]).collect();
        sender.send_many(&batch, Duration::from_secs(10)).unwrap();
        next += count;
    }
    assert_eq!(reader.join().unwrap(), ITEMS);
    assert_eq!(sender.finish(Duration::from_secs(5)), ITEMS);
}

#[test]
fn a_batch_of_items_never_spans_two_senders() {
    let name = own_ring("item-sessions");
    let mut receiver = ItemReceiver::<u64>::create(&name, 64, WaitStrategy::BusySpin).unwrap();
    // Both senders come and go before the receiver reads anything: their items lie side by
    // side in the window, with the first's end and the second's start between them.
    let mut first = ItemSender::<u64>::open(&name).unwrap();
    first
        .send_many(&(0..10).collect::<Vec<_>>(), Duration::from_secs(5))
        .unwrap();
    first.finish(Duration::ZERO);
    let mut second = ItemSender::<u64>::open(&name).unwrap();
    second
        .send_many(&(100..105).collect::<Vec<_>>(), Duration::from_secs(5))
        .unwrap();
    second.finish(Duration::ZERO);
    // A third sender is let in only once the receiver has closed the second's session (it
    // answers one hello at a time): by then all both published is published in the window at
    // once, with the two boundaries inside it.
    let _third = ItemSender::<u64>::open(&name).unwrap();
    let mut out = [0u64; 64];
    let mut seen = Vec::new();
    while seen.len() < 7 {
        match receiver.recv_many(&mut out, Duration::from_secs(10)) {
            ReceivedItems::Items(n) => seen.push(format!("{:?}", &out[..n])),
            ReceivedItems::Other(Received::SenderConnected(_)) => seen.push("start".into()),
            ReceivedItems::Other(Received::SenderLeft { sent, .. }) => {
                seen.push(format!("end {sent:?}"));
            }
            other => panic!("{other:?} after {seen:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            "start",
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
            "end Some(10)",
            "start",
            "[100, 101, 102, 103, 104]",
            "end Some(5)",
            "start",
        ]
    );
}

/// A ring file of 24-byte items that a test makes itself, with no library receiver behind it,
/// to answer senders by hand: its name, path and mapping.
fn hand_made_ring(what: &str) -> (String, PathBuf, Segment) {
    let name = own_ring(what);
    let path = ring_path(&name).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let segment = Segment::create(&path, layout::MIN_WINDOW, 24).unwrap();
    (name, path, segment)
}

/// Unmaps a [`hand_made_ring`] and removes its files.
fn remove_hand_made(path: &Path, segment: Segment) {
    drop(segment);
    let _ = std::fs::remove_file(sender_lock_path(path));
    std::fs::remove_file(path).unwrap();
}

/// Answers the next hello to `segment` (a ring of 24-byte items of a test's own making) as a
/// receiver would: accepted, starting at `start` with the head at 0, in `session`.
fn welcome_by_hand(segment: &Segment, start: u64, session: u64) {
    let answered = segment.u64_at(welcome::SEQ).load(Acquire);
    let deadline = Instant::now() + Duration::from_secs(10);
    let seq = loop {
        let seq = segment.u64_at(hello::SEQ).load(Acquire);
        if seq != answered {
            break seq;
        }
        assert!(Instant::now() < deadline, "no hello");
        std::thread::sleep(Duration::from_millis(1));
    };
    segment.u64_at(welcome::START).store(start, Release);
    segment.u64_at(welcome::HEAD).store(0, Release);
    segment.u64_at(welcome::SESSION).store(session, Release);
    segment.u64_at(welcome::MAX_PAYLOAD).store(24, Release);
    segment
        .u64_at(welcome::STATUS)
        .store(layout::ACCEPTED, Release);
    segment.u64_at(welcome::SEQ).store(seq, Release);
}

#[test]
fn an_item_sender_refuses_a_receiver_that_starts_it_off_a_slot() {
    // A receiver of this test's own making, which answers the hello with a start that would
    // put every 32-byte slot across the window's end.
    let (name, path, segment) = hand_made_ring("crooked-start");
    std::thread::scope(|s| {
        s.spawn(|| welcome_by_hand(&segment, 8, 0));
        let err = ItemSender::<[u64; 3]>::open(&name).unwrap_err().to_string();
        assert!(
            err.contains("the receiver's start 8 is not on a 32-byte boundary"),
            "{err}"
        );
    });
    remove_hand_made(&path, segment);
}

#[test]
fn an_item_sender_takes_only_the_credits_its_receiver_may_send() {
    // A receiver of this test's own making writes the credits by hand: its session's within what
    // was sent (taken), another session's (passed over), one with a stamp from the future echoed
    // (taken, not timed), then one whose head goes back and one past what was sent (each takes
    // its sender down with the reason).
    let (name, path, segment) = hand_made_ring("hand-credits");
    let connect = |session| {
        std::thread::scope(|s| {
            s.spawn(|| welcome_by_hand(&segment, 0, session));
            ItemSender::<[u64; 3]>::open(&name).unwrap()
        })
    };
    let mut seq = 0;
    let mut credit = |head, echo, rows, session| {
        seq = segment.write_credit(seq, head, echo, rows, session);
    };
    let mut sender = connect(7);
    for i in 0..4 {
        assert!(sender.try_send(&[i; 3]).unwrap());
    }
    credit(32, 0, 1, 7);
    assert_eq!(sender.acknowledged(), 1);
    credit(64, 0, 2, 8);
    assert_eq!(sender.acknowledged(), 1);
    credit(96, u64::MAX, 3, 7);
    assert_eq!(sender.acknowledged(), 3);
    credit(64, 0, 4, 7);
    assert_eq!(sender.acknowledged(), 3);
    let err = sender.try_send(&[4; 3]).unwrap_err().to_string();
    assert!(
        err.contains("the receiver's head went back from 96 to 64"),
        "{err}"
    );
    drop(sender);

    let mut sender = connect(9);
    assert!(sender.try_send(&[0; 3]).unwrap());
    credit(64, 0, 2, 9);
    assert_eq!(sender.acknowledged(), 0);
    let err = sender.try_send(&[1; 3]).unwrap_err().to_string();
    assert!(
        err.contains("the receiver credited position 64, past the 32 sent"),
        "{err}"
    );
    drop(sender);
    remove_hand_made(&path, segment);
}

#[test]
fn a_ring_of_one_page_items_holds_two_and_carries_them() {
    let name = own_ring("page-items");
    let mut receiver =
        ItemReceiver::<[u64; 512]>::create(&name, 1, WaitStrategy::BusySpin).unwrap();
    let mut sender = ItemSender::<[u64; 512]>::open(&name).unwrap();
    let items: Vec<[u64; 512]> = (0..5u64).map(|i| [i; 512]).collect();
    let reader = std::thread::spawn(move || {
        let mut read = 0u64;
        while read < 5 {
            match receiver.recv(Duration::from_secs(10)) {
                ReceivedItem::Item(item) => {
                    assert_eq!(item, [read; 512]);
                    read += 1;
                }
                ReceivedItem::Other(Received::SenderConnected(_)) => {}
                other => panic!("after {read}: {other:?}"),
            }
        }
    });
    sender.send_many(&items, Duration::from_secs(10)).unwrap();
    reader.join().unwrap();
}

/// The processes these tests start (`ringtop serve`, the examples) die with the test's thread even
/// where no destructor runs (a test binary killed by a timeout): one started from a thread that
/// then ends, and no longer killed by its `Reaped`, is killed by the kernel.
#[test]
fn a_child_a_test_started_dies_with_the_thread_that_started_it() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = std::thread::spawn(|| {
        Reaped::spawn(Command::new("sleep").arg("60"))
            .unwrap()
            .take()
    })
    .join()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child outlived the thread that started it by 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}
