use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;

use super::read::{self, Liveness, Segment};
use super::*;
use crate::ring::{broadcast, frames, mpmc, spsc};

/// A private directory of this test's own.
fn private_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringtop-monitor-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn publish_here(dir: &Path, program: &str) -> Registry {
    publish_with(dir, program, Duration::from_millis(5)).expect("publish")
}

#[test]
fn a_registered_ring_shows_its_positions_counters_and_latency() {
    let dir = private_dir("positions");
    let registry = publish_here(&dir, "feed handler/1");
    let (mut tx, mut rx) = spsc::channel::<u64>(64)
        .unwrap()
        .monitor(&registry, "md-in")
        .unwrap();
    let mut recorder = registry.latency_recorder("md-in", 0).unwrap();
    for i in 0..40 {
        tx.try_push(i).unwrap();
    }
    for _ in 0..25 {
        rx.try_pop().unwrap();
        recorder.record(1_000);
    }
    recorder.record(50_000);
    // Empty polls: one stall episode.
    while rx.try_pop().is_some() {}
    assert!(rx.try_pop().is_none());
    std::thread::sleep(Duration::from_millis(50));

    let path = registry.path().to_owned();
    assert!(
        path.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("feed_handler_1-"),
        "{path:?}"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let segment = Segment::open(&path).unwrap();
    assert_eq!(segment.liveness(), Liveness::Live);
    let reading = segment.read().unwrap();
    assert_eq!(reading.name, "feed handler/1");
    assert_eq!(reading.pid, std::process::id());
    assert!(!reading.closed);
    assert_eq!(reading.skipped, Vec::<String>::new());
    let ring = &reading.rings[0];
    assert_eq!(
        (ring.name.as_str(), ring.capacity, ring.item_bytes),
        ("md-in", 64, 8)
    );
    assert_eq!((ring.tail, ring.heads.clone()), (40, vec![40]));
    assert_eq!(ring.consumers[0].stats, rx.stats());
    assert_eq!(ring.producer.stats, tx.stats());
    assert!(ring.consumers[0].stats.stalls >= 1);
    assert!(ring.consumers[0].thread_id.is_some());
    let (histogram, sum) = ring.histograms[0].as_ref().expect("stamped");
    assert_eq!(*sum, 25 * 1_000 + 50_000);
    assert_eq!(histogram.iter().sum::<u64>(), 26);
    assert_eq!(histogram[layout::bucket_of(1_000)], 25);

    // Moved and dropped between two samples: the endpoints leave their last positions behind.
    for i in 0..3 {
        tx.try_push(i).unwrap();
    }
    rx.try_pop().unwrap();
    drop((tx, rx));
    std::thread::sleep(Duration::from_millis(50));
    let reading = segment.read().unwrap();
    assert!(reading.rings[0].closed, "both endpoints gone");
    assert_eq!(
        (reading.rings[0].tail, reading.rings[0].heads.clone()),
        (43, vec![41])
    );
    drop(registry);
    assert!(!path.exists(), "a clean exit removes the segment");
    let reading = segment.read().unwrap();
    assert!(
        reading.closed,
        "a reader still holding it sees the program closed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broadcast_ring_shows_each_consumers_lag() {
    let dir = private_dir("broadcast");
    let registry = publish_here(&dir, "fanout");
    let (mut tx, mut rxs) = broadcast::channel::<u64>(16, 3)
        .unwrap()
        .monitor(&registry, "fan")
        .unwrap();
    for i in 0..10 {
        tx.try_push(i).unwrap();
    }
    for _ in 0..4 {
        rxs[1].try_pop().unwrap();
    }
    for _ in 0..10 {
        rxs[2].try_pop().unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    let reading = Segment::open(registry.path()).unwrap().read().unwrap();
    let ring = &reading.rings[0];
    assert_eq!(ring.heads, vec![0, 4, 10]);
    assert_eq!(ring.occupancy(), 10);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn names_and_counts_beyond_the_layout_are_refused_with_the_reason() {
    let dir = private_dir("refused");
    assert!(matches!(
        publish_with(&dir, "", Duration::from_millis(5)),
        Err(MonitorError::Name { .. })
    ));
    let registry = publish_here(&dir, "many");
    let long = "x".repeat(layout::NAME_BYTES);
    let err = spsc::channel::<u8>(4)
        .unwrap()
        .monitor(&registry, &long)
        .unwrap_err();
    assert!(err.to_string().contains("too long"), "{err}");
    let err = broadcast::channel::<u8>(4, layout::MAX_CONSUMERS + 1)
        .unwrap()
        .monitor(&registry, "wide")
        .unwrap_err();
    assert!(err.to_string().contains("at most 8"), "{err}");
    let mut kept = Vec::new();
    for i in 0..layout::MAX_RINGS {
        kept.push(
            spsc::channel::<u8>(4)
                .unwrap()
                .monitor(&registry, &format!("r{i}"))
                .unwrap(),
        );
    }
    let err = spsc::channel::<u8>(4)
        .unwrap()
        .monitor(&registry, "one more")
        .unwrap_err();
    assert!(matches!(err, MonitorError::Full), "{err}");
    assert!(registry.latency_recorder("nope", 0).is_err());
    assert!(registry.latency_recorder("r0", 1).is_err());
    let _first = registry.latency_recorder("r0", 0).unwrap();
    assert!(
        registry.latency_recorder("r0", 0).is_err(),
        "one writer each"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_others_may_enter_is_refused() {
    let dir = private_dir("open");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = publish_with(&dir, "p", Duration::from_millis(5)).unwrap_err();
    assert!(err.to_string().contains("0755"), "{err}");
    assert!(read::list(&dir, true).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_made_or_removed_while_it_is_listed_is_no_error() {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!("ringtop-monitor-{}-flicker", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        read::list(&dir, false).unwrap().programs.is_empty(),
        "none yet: no programs"
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flicker = {
        let (dir, stop) = (dir.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
                let _ = std::fs::remove_dir(&dir);
            }
        })
    };
    // What a program does when it publishes first: the directory appears while `attach --list`
    // looks (and here goes again).
    for _ in 0..20_000 {
        if let Err(e) = read::list(&dir, false) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            panic!("listing a directory as it comes and goes: {e}");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flicker.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_removes_the_segments_of_dead_programs_and_says_so() {
    let dir = private_dir("dead");
    let registry = publish_here(&dir, "alive");
    let _ring = spsc::channel::<u64>(8)
        .unwrap()
        .monitor(&registry, "r")
        .unwrap();
    // A copy of a live segment that no process holds: what a killed program leaves.
    let dead = dir.join("gone-999999.ringtop");
    std::fs::copy(registry.path(), &dead).unwrap();
    let listing = read::list(&dir, false).unwrap();
    assert_eq!(listing.programs.len(), 1);
    assert!(dead.exists(), "listing without cleaning keeps it");
    let listing = read::list(&dir, true).unwrap();
    assert_eq!(listing.programs.len(), 1);
    assert_eq!(listing.programs[0].1.name, "alive");
    assert_eq!(listing.removed.len(), 1, "{listing:?}");
    assert!(listing.removed[0].1.contains("no longer running"));
    assert!(!dead.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A valid segment's bytes with one ring, to corrupt.
fn valid_segment_bytes() -> Vec<u8> {
    let dir = private_dir("valid");
    let registry = publish_here(&dir, "victim");
    let (mut tx, _rx) = spsc::channel::<u64>(8)
        .unwrap()
        .monitor(&registry, "r")
        .unwrap();
    tx.try_push(1).unwrap();
    let _recorder = registry.latency_recorder("r", 0).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let bytes = std::fs::read(registry.path()).unwrap();
    drop(registry);
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn read_bytes(bytes: &[u8], name: &str) -> Result<read::ProgramReading, read::ReadError> {
    let path = std::env::temp_dir().join(format!(
        "ringtop-hostile-{}-{name}.ringtop",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    let result = Segment::open(&path).unwrap().read();
    let _ = std::fs::remove_file(&path);
    result
}

#[test]
fn truncated_and_foreign_files_are_reported_not_read() {
    let bytes = valid_segment_bytes();
    assert!(read_bytes(&bytes, "whole").is_ok());
    assert!(matches!(
        read_bytes(&bytes[..100], "short"),
        Err(read::ReadError::Truncated { .. })
    ));
    assert!(matches!(
        read_bytes(&bytes[..layout::HEADER_BYTES + 10], "cut"),
        Err(read::ReadError::Truncated { .. })
    ));
    assert!(matches!(
        read_bytes(&vec![0x41; bytes.len()], "foreign"),
        Err(read::ReadError::BadMagic(_))
    ));
    let mut unversioned = bytes.clone();
    unversioned[layout::header::VERSION..layout::header::VERSION + 4].fill(0);
    assert_eq!(
        read_bytes(&unversioned, "unversioned"),
        Err(read::ReadError::Initialising)
    );
    let mut lying = bytes.clone();
    // A ring whose consumer is ahead of its producer.
    let head = layout::value_at(layout::MAX_RINGS, 0) + layout::value::HEADS;
    lying[head..head + 8].copy_from_slice(&1000u64.to_ne_bytes());
    let reading = read_bytes(&lying, "lying").unwrap();
    assert!(reading.rings.is_empty());
    assert!(
        reading.skipped[0].contains("a consumer at 1000"),
        "{:?}",
        reading.skipped
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any bytes anywhere, any length: the reader answers with a reading or an error, never a
    /// panic, and what it believes is consistent.
    #[test]
    fn a_hostile_segment_never_panics_the_reader(
        edits in proptest::collection::vec((0usize..70_000, any::<u8>()), 0..64),
        cut in proptest::option::of(0usize..70_000),
    ) {
        let mut bytes = VALID.with(Clone::clone);
        for (at, byte) in edits {
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
        }
        if let Some(cut) = cut {
            bytes.truncate(cut);
        }
        if let Ok(reading) = read_bytes(&bytes, "fuzz") {
            for ring in &reading.rings {
                prop_assert!(ring.capacity.is_power_of_two());
                prop_assert!(ring.heads.iter().all(|h| *h <= ring.tail));
                prop_assert_eq!(ring.heads.len(), ring.consumers.len());
            }
        }
    }
}

thread_local! {
    static VALID: Vec<u8> = valid_segment_bytes();
}

/// A shared-memory ring of `u64` named for `test` and this process: its receiver, and its sender
/// registered in `registry` as `quotes`.
fn sender_registered_in(
    registry: &Registry,
    test: &str,
) -> (
    crate::transport::shm::items::ItemReceiver<u64>,
    crate::transport::shm::items::ItemSender<u64>,
) {
    use crate::ring::WaitStrategy;
    use crate::transport::shm::items::{ItemReceiver, ItemSender};

    let name = format!("monitor-{test}-{}", std::process::id());
    let receiver = ItemReceiver::<u64>::create(&name, 64, WaitStrategy::BusySpin).unwrap();
    let sender = ItemSender::<u64>::open(&name)
        .unwrap()
        .monitor(registry, "quotes")
        .unwrap();
    (receiver, sender)
}

#[test]
fn a_ring_registered_by_its_sender_has_no_latency_recorder_here() {
    let dir = private_dir("sender-latency");
    let registry = publish_here(&dir, "sender");
    let _ends = sender_registered_in(&registry, "sender-latency");
    let err = registry.latency_recorder("quotes", 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("the consumer is another process (the ring's receiver)"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A ring whose receiver another program registers too, with a recorder, after `attach` opened
/// the sender's program: from the next reading the consumer's latency is the receiver's, since
/// the start in the first (what it recorded before is not this interval's), then over each
/// interval, and in the histograms Prometheus is served.
#[test]
fn a_senders_program_shows_the_latency_its_receivers_program_records() {
    let dir = private_dir("joined-latency");
    let sending = publish_here(&dir, "sending");
    let receiving = publish_here(&dir, "receiving");
    let (receiver, _sender) = sender_registered_in(&sending, "joined-latency");
    let mut watcher = view::Watcher::open(sending.path()).unwrap();
    let _receiver = receiver.monitor(&receiving, "quotes").unwrap();
    let mut recorder = receiving.latency_recorder("quotes", 0).unwrap();
    for ns in [100, 200, 300] {
        recorder.record(ns);
    }
    let snapshot = watcher.read_next().unwrap().0.snapshot;
    let consumer = &snapshot.threads[1];
    assert_eq!(consumer.name, "quotes consumer-0");
    let by = consumer.registered_by.as_ref().unwrap();
    assert_eq!(
        (by.program.as_str(), by.pid),
        ("receiving", std::process::id())
    );
    assert_eq!(consumer.latency_total_ns.unwrap().count, 3);
    assert_eq!(consumer.latency_ns, None, "joined in this interval");
    for ns in [1_000, 2_000] {
        recorder.record(ns);
    }
    let snapshot = watcher.read_next().unwrap().0.snapshot;
    let consumer = &snapshot.threads[1];
    assert_eq!(consumer.latency_total_ns.unwrap().count, 5);
    let interval = consumer.latency_ns.unwrap();
    assert_eq!(interval.count, 2);
    assert!(interval.p50 >= 1_000, "{interval:?}");
    let histograms = watcher.histograms();
    let (thread, counts, sum) = &histograms[0];
    assert_eq!(thread, "quotes consumer-0");
    assert_eq!((counts.iter().sum::<u64>(), *sum), (5, 3_600));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program that registers both ends of one shared-memory ring: each record shows the other
/// end from the other record, in the same program.
#[test]
fn a_program_holding_both_ends_joins_its_own_two_records() {
    let dir = private_dir("both-here");
    let registry = publish_here(&dir, "both");
    let (receiver, _sender) = sender_registered_in(&registry, "both-here");
    let _receiver = receiver.monitor(&registry, "quotes-in").unwrap();
    let mut watcher = view::Watcher::open(registry.path()).unwrap();
    let snapshot = watcher.read_next().unwrap().0.snapshot;
    let names: Vec<&str> = snapshot.threads.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "quotes producer",
            "quotes consumer-0",
            "quotes-in producer",
            "quotes-in consumer-0"
        ]
    );
    // The sender's record (`quotes`) shows its consumer from the receiver's, and the other way.
    for other_end in [&snapshot.threads[1], &snapshot.threads[2]] {
        let by = other_end.registered_by.as_ref().unwrap();
        assert_eq!((by.program.as_str(), by.pid), ("both", std::process::id()));
        assert!(other_end.scheduling_unavailable.is_none(), "{other_end:?}");
    }
    for own in [&snapshot.threads[0], &snapshot.threads[3]] {
        assert!(own.registered_by.is_none(), "{own:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Linux id of the calling thread, from `/proc/thread-self` (`PID/task/TID`).
fn this_thread_id() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

/// A sender registered on one thread and handed to another shows the other from its first
/// send, however few it sends.
#[test]
fn a_sender_handed_to_another_thread_shows_that_thread_from_its_first_send() {
    let dir = private_dir("handed-sender");
    let registry = publish_here(&dir, "hands");
    let (_receiver, sender) = sender_registered_in(&registry, "handed-sender");
    let segment = Segment::open(registry.path()).unwrap();
    let producer_thread = || segment.read().unwrap().rings[0].producer.thread_id;
    assert_eq!(producer_thread(), Some(this_thread_id()));
    let (sending_thread, _sender) = std::thread::spawn(move || {
        let mut sender = sender;
        sender.send(&7, Duration::from_secs(5)).unwrap();
        (this_thread_id(), sender)
    })
    .join()
    .unwrap();
    assert_ne!(sending_thread, this_thread_id());
    assert_eq!(producer_thread(), Some(sending_thread));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_mpmc_ring_shows_what_its_sides_claimed_and_exact_final_positions() {
    let dir = private_dir("mpmc");
    let registry = publish_here(&dir, "pool");
    let (tx, rx) = mpmc::channel::<u64>(2048)
        .unwrap()
        .monitor(&registry, "jobs")
        .unwrap();
    // Two producers push 1,000 between them, two consumers take 600.
    std::thread::scope(|s| {
        for p in 0..2u64 {
            let tx = tx.clone();
            s.spawn(move || (0..500).for_each(|i| tx.try_push(p * 1_000 + i).unwrap()));
        }
    });
    std::thread::scope(|s| {
        for _ in 0..2 {
            let rx = rx.clone();
            s.spawn(move || (0..300).for_each(|_| assert!(rx.try_pop().is_some())));
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let segment = Segment::open(registry.path()).unwrap();
    let reading = segment.read().unwrap();
    let ring = &reading.rings[0];
    assert_eq!(ring.kind, layout::RingKind::Mpmc);
    assert_eq!((ring.capacity, ring.item_bytes), (2048, 8));
    assert_eq!((ring.tail, ring.heads.clone()), (1_000, vec![600]));
    assert!(!ring.closed);
    // No one thread to name on either side.
    assert_eq!(ring.producer.thread_id, None);
    assert_eq!(ring.consumers[0].thread_id, None);

    // Moved and dropped between two samples: the ring leaves its last positions behind.
    for i in 0..3 {
        tx.try_push(i).unwrap();
    }
    rx.try_pop().unwrap();
    drop((tx, rx));
    std::thread::sleep(Duration::from_millis(50));
    let reading = segment.read().unwrap();
    assert!(reading.rings[0].closed, "every end gone");
    assert_eq!(
        (reading.rings[0].tail, reading.rings[0].heads.clone()),
        (1_003, vec![601])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_frame_ring_is_counted_in_bytes_of_records_with_its_counters_and_final_positions() {
    let dir = private_dir("frames");
    let registry = publish_here(&dir, "codec");
    let (mut tx, mut rx) = frames::channel(256)
        .unwrap()
        .monitor(&registry, "frames")
        .unwrap();
    let mut write = |payload: &[u8]| {
        let mut w = tx.try_claim(payload.len()).unwrap().expect("room");
        w.as_mut_slice().copy_from_slice(payload);
        w.commit();
    };
    // Ten records of 5 bytes: an 8-byte header and the payload padded to 8, 16 bytes each.
    for i in 0..10u8 {
        write(&[i; 5]);
    }
    for i in 0..4u8 {
        let r = rx.try_read().expect("a record");
        assert_eq!(r.as_slice(), &[i; 5]);
        r.release();
    }
    std::thread::sleep(Duration::from_millis(50));
    let segment = Segment::open(registry.path()).unwrap();
    let reading = segment.read().unwrap();
    let ring = &reading.rings[0];
    assert_eq!(ring.kind, layout::RingKind::Frames);
    assert_eq!((ring.capacity, ring.item_bytes), (256, 1));
    assert_eq!((ring.tail, ring.heads.clone()), (160, vec![64]));
    assert_eq!(ring.occupancy(), 96);
    assert!(ring.producer.thread_id.is_some() && ring.consumers[0].thread_id.is_some());

    // A record of 90 bytes (104 with its header and padding) does not fit before the end (96
    // bytes left): a padding record fills them and it starts at the beginning, after the
    // records read. Then both ends go between two samples: they leave their positions behind.
    for _ in 0..6 {
        rx.try_read().expect("a record").release();
    }
    write(&[7; 90]);
    drop((tx, rx));
    std::thread::sleep(Duration::from_millis(50));
    let reading = segment.read().unwrap();
    assert!(reading.rings[0].closed);
    assert_eq!(
        (reading.rings[0].tail, reading.rings[0].heads.clone()),
        (256 + 104, vec![160])
    );
    let _ = std::fs::remove_dir_all(&dir);
}
