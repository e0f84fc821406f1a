//! Remote rings over the TCP backend, against what the same loopback can do without them.
//!
//! - `round_trip`: one one-row frame written into the remote window and its credit back, against
//!   the same bytes each way between two threads over a bare TCP connection, with blocking reads
//!   and with both ends polling; the faster is the floor any protocol on this loopback pays.
//! - `throughput`: rows per second the receiving engine consumes, with `none` and `delta-lz4`
//!   frames, against the same frames through a local ring.
//! - `capped`: the same over a link capped at 1000 Mbit/s, where compression buys rows.
//! - `shm_round_trip`: the same one-row frame and credit through the shared-memory backend (the
//!   ring file in /dev/shm, both ends polling, on the allowed CPUs' first pair), against the
//!   in-process relay ring's ping-pong of one row on the same pair and a Unix-domain-socket
//!   exchange of the same bytes, for scale. Ratios are medians of per-round ratios, each round
//!   running every contender back to back (these VMs change speed between rounds).
//! - `throughput` also runs `none` frames through the shared-memory backend.
//!
//! - With `--features bench-iceoryx2`, iceoryx2's publish-subscribe (its `ipc` service: shared
//!   memory between processes, here two threads) bounces one `u64` on the same pair: a
//!   dedicated inter-process transport as a contender for the shared-memory backend. (iceoryx2
//!   keeps a small state file in /dev/shm and directories under /tmp/iceoryx2 between runs.)
//!   `shm_item_round_trip_vs_iceoryx2` per round puts the item ring beside it, like for like:
//!   one small value a hand-off, polled, no codec.
//! - `one_row_frame`: encoding and decoding that one-row frame alone, per round;
//!   `shm_round_trip_less_codec_vs_relay_ring` takes them off the shm round trip, leaving what
//!   the transport adds over the relay ring's hand-off.
//! - `shm_items`: one 64-byte item (the relay ring's row size) and its credit through the
//!   library's shared-memory item ring (`ItemSender`/`ItemReceiver`, no codec), on the same pair:
//!   `shm_item_round_trip_vs_relay_ring` is the transport against the in-process ring, like for
//!   like. `shm_items_between_processes` is the same with the receiver in a process of its own
//!   (this binary, started again with `--item-receiver`), as the ring is meant to be used
//!   (`shm_item_round_trip_between_processes_vs_relay_ring`).
//!   `shm_items_receiver_waiting` is the same trip with the receiver blocked in `recv` (a
//!   timeout, busy-spinning) instead of polling `try_recv`, as a program waiting for its next
//!   item is (`shm_item_round_trip_receiver_waiting_vs_polling` per round).
//! - `shm_messages`: one 64-byte message and its credit through the library's shared-memory
//!   message ring (`MessageSender`/`MessageReceiver`: a record in the window, its header and
//!   tail checked, the bytes copied out), polled, on the same pair
//!   (`shm_message_round_trip_vs_relay_ring`): byte messages beside fixed-size items.
//! - `shm_bare_ends`: the same item through the same ring file with both ends bare (a few
//!   stores and loads on the file's words, no checks or counters): the protocol's own floor;
//!   `shm_bare_round_trip_vs_relay_ring` per round, beside the item ring's.
//!   `shm_library_sender_bare_consumer` and `shm_bare_sender_library_receiver` swap in one of
//!   the library's ends at a time (`shm_library_sender_round_trip_vs_relay_ring`,
//!   `shm_library_receiver_round_trip_vs_relay_ring`): which end's software adds what.
//!   Every far end polls as the relay ring's echo does: a `spin_loop` hint after an empty look.
//! - `shm_one_core`: the item ring's software alone: each item sent, received and credited in
//!   turn on one thread, with the library's ends and with the bare ends (mean ns an item, no
//!   clock read per item, no line moving between cores); `shm_one_core_library_vs_bare_ends` per
//!   round is what the library's checks and bookkeeping cost, where the round trips' figures
//!   also hold the cache lines' travel (and their medians move in ~10 ns steps here).
//!   `library_ends_with_timeouts` is the same loop through `send` and `recv` with a timeout,
//!   the calls a program waiting for room or items makes (`shm_one_core_timeouts_vs_try` per
//!   round): what waiting for nothing costs.
//! - `shm_item_stream`: items a second through the item ring between the pair, one a call
//!   (`try_send`/`try_recv`) and in batches of 64 (`try_send_many`/`try_recv_many`: one tail and
//!   one credit a batch); `shm_item_batches_vs_one_at_a_time` per round.
//! - `shm_message_stream`: bytes a second in 4 KiB messages through the message ring's 128 KiB
//!   window between the pair (`try_send`/`try_recv`, each message's number checked): the
//!   records' copy out of lines the other core has just written.
//! - `tcp_round_trip_vs_plain_tcp_floor`: the TCP round trip against that round's floor.
//!
//! Every round trip but TCP's (those take tens of microseconds) is timed back to back, 32 trips
//! to a clock read (`time_round_trips`): the figure is the median group's mean, with no clock
//! read inside a trip. (Until 2026-12-03 each trip was timed alone, a clock read of ~35–40 ns
//! inside every trip on the 2-vCPU VM, which shrank every ratio against the relay ring.)
//!
//! `cargo bench --bench remote -- --json` prints one JSON object; `--quick` is a smoke run;
//! `--only shm` runs the shared-memory cases alone (its round trip against the relay ring, the
//! Unix socket and iceoryx2, `none` frames against the local ring), without the TCP cases, whose
//! exchanges take longer; their ratios are then `null`. `--only tcp` runs the TCP cases
//! alone.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use ringtop::codec::{CodecId, Decoder, Encoder, max_frame_len};
use ringtop::engine::Engine;
use ringtop::profile;
use ringtop::ring::window;
use ringtop::row::Row;
use ringtop::topology::pin::allowed_cpus;
use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem, ReceivedItems};
use ringtop::transport::shm::messages::{MessageReceiver, MessageSender, Received};
use ringtop::transport::shm::{self as shm_link, ShmSender};
use ringtop::transport::tcp::{self, Polled, RemoteSender, SendOutcome};
use ringtop::transport::{LinkStats, ListenConfig, SenderConfig};
use serde_json::{Value, json};

/// One measured configuration: a value per round.
struct Case {
    bench: &'static str,
    imp: String,
    unit: &'static str,
    runs: Vec<f64>,
}

impl Case {
    fn median(&self) -> f64 {
        let mut v = self.runs.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
}

fn median_of(cases: &[Case], bench: &str, imp: &str) -> Option<f64> {
    cases
        .iter()
        .find(|c| c.bench == bench && c.imp == imp)
        .map(Case::median)
}

fn record(cases: &mut Vec<Case>, bench: &'static str, imp: &str, unit: &'static str, value: f64) {
    match cases.iter_mut().find(|c| c.bench == bench && c.imp == imp) {
        Some(case) => case.runs.push(value),
        None => cases.push(Case {
            bench,
            imp: imp.to_owned(),
            unit,
            runs: vec![value],
        }),
    }
}

/// Reads exactly `buf.len()` bytes, spinning on a non-blocking socket when `poll`.
fn fill(stream: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Median round trip (ns) of a bare TCP exchange: `request` bytes out, `reply` bytes back. With
/// `poll`, both ends spin on non-blocking sockets (as the backend's threads spin on memory);
/// without, they sleep in `read`.
fn plain_tcp_round_trip(request: usize, reply: usize, trips: usize, poll: bool) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_nonblocking(poll).unwrap();
        let mut buf = vec![0u8; request];
        let answer = vec![7u8; reply];
        while fill(&mut stream, &mut buf).is_ok() {
            if stream.write_all(&answer).is_err() {
                break;
            }
        }
    });
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_nonblocking(poll).unwrap();
    let out = vec![1u8; request];
    let mut back = vec![0u8; reply];
    let mut times = Vec::with_capacity(trips);
    // At most `trips`, and no more than two seconds of them: a polling exchange has taken
    // milliseconds a trip where a blocking one takes microseconds.
    let began = Instant::now();
    for _ in 0..trips {
        if !times.is_empty() && began.elapsed() > Duration::from_secs(2) {
            break;
        }
        let start = Instant::now();
        stream.write_all(&out).unwrap();
        fill(&mut stream, &mut back).unwrap();
        times.push(start.elapsed().as_nanos() as f64);
    }
    drop(stream);
    server.join().unwrap();
    median(&mut times)
}

/// Round trips timed together for one clock read: enough that the read's cost (~35–40 ns on the
/// 2-vCPU VM, between one trip's credit and the next send) falls to about a nanosecond a trip,
/// few enough that an interrupt spoils one group among hundreds.
const TRIPS_A_READING: usize = 32;

/// Runs `trips` round trips (`trip(i)` for `i` from 0 on, in order), timed back to back in
/// groups of [`TRIPS_A_READING`] with one clock read a group: the median group's mean, ns a
/// trip. Timing each trip alone put a clock read inside every trip, which added more to the
/// fastest contender's figure than to the others' and shrank every ratio against it; the
/// median over groups keeps what one group's interrupt or preemption costs out of the figure.
fn time_round_trips(trips: usize, mut trip: impl FnMut(u64)) -> f64 {
    let mut means = Vec::with_capacity(trips.div_ceil(TRIPS_A_READING));
    for first in (0..trips).step_by(TRIPS_A_READING) {
        let group = first..trips.min(first + TRIPS_A_READING);
        let count = group.len();
        let start = Instant::now();
        for i in group {
            trip(i as u64);
        }
        means.push(start.elapsed().as_nanos() as f64 / count as f64);
    }
    median(&mut means)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Median round trip (ns) through the TCP backend: a one-row frame written into the remote window,
/// read and decoded by the consumer, and its credit back at the sender. Also the bytes each way,
/// for the floor.
fn backend_round_trip(trips: usize) -> (f64, usize, usize) {
    let (writer, reader) = window::channel(1 << 20).unwrap();
    let (mut listener, mut inbox) = tcp::listen(
        ListenConfig::open("127.0.0.1:0"),
        writer,
        reader,
        Arc::new(LinkStats::default()),
    )
    .unwrap();
    let address = listener.local_addr.to_string();
    let (mut decoder, mut rows, mut idle) = (Decoder::new(), Vec::new(), 0u32);
    let consumer = poll_on(None, move || {
        rows.clear();
        let polled = inbox.poll(|frame| {
            decoder
                .decode(frame, &mut rows)
                .map(|h| (h.rows, rows.last().map_or(0, |r| r.stamp_ns)))
                .map_err(|e| e.to_string())
        });
        let nothing = matches!(polled, Polled::Nothing);
        if nothing {
            idle += 1;
            if idle > 1000 {
                std::thread::yield_now();
            }
        } else {
            idle = 0;
        }
        !nothing
    });
    let stats = Arc::new(LinkStats::default());
    let mut sender = RemoteSender::connect(
        SenderConfig {
            address,
            token: None,
            max_frame: max_frame_len(1),
            link_mbps: None,
            connect_timeout: Duration::from_secs(3),
        },
        stats.clone(),
    )
    .unwrap();
    let mut encoder = Encoder::new();
    let row = [Row::default()];
    let mut times = Vec::with_capacity(trips);
    let mut wire_bytes = 0;
    for _ in 0..trips {
        let start = Instant::now();
        loop {
            match sender.send_frame(max_frame_len(1), 1, |buf| {
                encoder.encode(CodecId::None, &row, buf).ok()
            }) {
                SendOutcome::Sent(bytes) => {
                    wire_bytes = bytes;
                    break;
                }
                SendOutcome::LinkDown | SendOutcome::NotEncoded => panic!("link failed"),
                _ => std::hint::spin_loop(),
            }
        }
        let mut spins = 0u32;
        while sender.acknowledged() < sender.rows_sent() {
            spins += 1;
            if spins > 1000 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        times.push(start.elapsed().as_nanos() as f64);
    }
    sender.finish(Duration::from_secs(2));
    consumer.stop();
    listener.stop();
    // A credit message: tag and three u64s.
    (median(&mut times), wire_bytes, 25)
}

/// Pins the calling thread to `cpu` when there is one.
/// Runs `f` on a thread of its own: the cases that pin their calling thread then leave the main
/// thread's affinity alone. (Once the main thread was pinned, every thread the TCP cases spawned
/// inherited its one CPU, and each polling round trip waited out a scheduler slice.)
fn apart<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| s.spawn(f).join().expect("a pinned case panicked"))
}

fn pin(cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        let _ = ringtop::topology::pin::pin_current_thread(cpu);
    }
}

/// Runs `turn` over and over on a thread pinned to `cpu` until the returned poller is stopped:
/// the far end of a round-trip case. `turn` says whether it found anything; when not, the poller
/// waits one `spin_loop` hint before looking again, as the relay ring's echo thread and the
/// library's own busy-spin waits do. (Without it, the first look after the line changes pays a
/// pipeline flush for the loads the tight loop had in flight: ~30–40 ns a round trip on the
/// development VM, which once made the protocol's floor read 1.23× the relay ring's when it is
/// ~1.0×.)
fn poll_on(cpu: Option<usize>, mut turn: impl FnMut() -> bool + Send + 'static) -> Poller {
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            pin(cpu);
            while !stop.load(Relaxed) {
                if !turn() {
                    std::hint::spin_loop();
                }
            }
        })
    };
    Poller { stop, thread }
}

/// A thread started by [`poll_on`].
struct Poller {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Poller {
    fn stop(self) {
        self.stop.store(true, Relaxed);
        self.thread.join().expect("a poller panicked");
    }
}

/// Round trip (ns, [`time_round_trips`]) through the shared-memory backend: a one-row frame into
/// the ring file's window, read and decoded by the consumer (on `cpus.1`), its credit back at the
/// sender (on `cpus.0`). Both ends poll.
fn shm_round_trip(trips: usize, cpus: (Option<usize>, Option<usize>)) -> f64 {
    let name = format!("bench-{}", std::process::id());
    let (mut listener, mut inbox) = shm_link::listen(
        ListenConfig::open(name.clone()),
        1 << 20,
        Arc::new(LinkStats::default()),
        None,
    )
    .unwrap();
    let (mut decoder, mut rows) = (Decoder::new(), Vec::new());
    let consumer = poll_on(cpus.1, move || {
        rows.clear();
        let polled = inbox.poll(|frame| {
            decoder
                .decode(frame, &mut rows)
                .map(|h| (h.rows, rows.last().map_or(0, |r| r.stamp_ns)))
                .map_err(|e| e.to_string())
        });
        !matches!(polled, Polled::Nothing)
    });
    pin(cpus.0);
    let mut sender = ShmSender::connect(
        SenderConfig {
            address: name,
            token: None,
            max_frame: max_frame_len(1),
            link_mbps: None,
            connect_timeout: Duration::from_secs(3),
        },
        Arc::new(LinkStats::default()),
    )
    .unwrap();
    let mut encoder = Encoder::new();
    let row = [Row::default()];
    let round_trip = time_round_trips(trips, |_| {
        loop {
            match sender.send_frame(max_frame_len(1), 1, &mut |buf| {
                encoder.encode(CodecId::None, &row, buf).ok()
            }) {
                SendOutcome::Sent(_) => break,
                SendOutcome::LinkDown | SendOutcome::NotEncoded => panic!("link failed"),
                _ => std::hint::spin_loop(),
            }
        }
        while ringtop::transport::FrameLink::acknowledged(&mut sender) < sender_rows(&sender) {
            std::hint::spin_loop();
        }
    });
    sender.finish(Duration::from_secs(2));
    consumer.stop();
    ringtop::transport::LinkListener::stop(&mut listener);
    round_trip
}

/// The library's receiver taking items on `cpu` until stopped, checking that each is the next:
/// the far end of the item round trips.
fn receive_items_on(cpu: Option<usize>, mut receiver: ItemReceiver<[u64; 8]>) -> Poller {
    let mut next = 0u64;
    poll_on(cpu, move || {
        let ReceivedItem::Item(item) = receiver.try_recv() else {
            return false;
        };
        assert_eq!(item[0], next, "the item ring lost or reordered an item");
        next += 1;
        true
    })
}

/// The library's receiver waiting for each item in `recv` with a timeout (as a program that
/// blocks for its next item does) on `cpu` until stopped, checking that each is the next.
fn wait_for_items_on(cpu: Option<usize>, mut receiver: ItemReceiver<[u64; 8]>) -> Poller {
    let mut next = 0u64;
    poll_on(cpu, move || {
        // A millisecond: long against a round trip, short for the poller's stop.
        let ReceivedItem::Item(item) = receiver.recv(Duration::from_millis(1)) else {
            return false;
        };
        assert_eq!(item[0], next, "the item ring lost or reordered an item");
        next += 1;
        true
    })
}

/// Sends item `i` (its first word `i`) through the library's sender and waits for its credit:
/// the near end of the item round trips.
fn send_item_until_credited(sender: &mut ItemSender<[u64; 8]>, i: u64) {
    let item = [i, 0, 0, 0, 0, 0, 0, 0];
    while !sender.try_send(&item).unwrap() {
        std::hint::spin_loop();
    }
    while sender.acknowledged() <= i {
        std::hint::spin_loop();
    }
}

/// How the far end of an item round trip takes its items on a CPU: polling `try_recv`
/// ([`receive_items_on`]) or waiting in `recv` ([`wait_for_items_on`]).
type FarEnd = fn(Option<usize>, ItemReceiver<[u64; 8]>) -> Poller;

/// Round trip (ns, [`time_round_trips`]) of one 64-byte item (the relay ring's row size) through
/// the library's shared-memory item ring ([`ItemSender`] to [`ItemReceiver`], no codec: what a
/// program's own ring between processes pays): the item into the ring file's window, copied out by
/// the receiver (on `cpus.1`, taking items as `far_end` does), its credit back at the sender (on
/// `cpus.0`, polling).
fn shm_item_round_trip(trips: usize, cpus: (Option<usize>, Option<usize>), far_end: FarEnd) -> f64 {
    let name = format!("bench-items-{}", std::process::id());
    let receiver =
        ItemReceiver::<[u64; 8]>::create(&name, 1024, ringtop::ring::WaitStrategy::BusySpin)
            .unwrap();
    let consumer = far_end(cpus.1, receiver);
    let (sender, round_trip) = time_item_round_trips(&name, trips, cpus.0);
    sender.finish(Duration::from_secs(2));
    consumer.stop();
    round_trip
}

/// Round trip (ns, [`time_round_trips`]) of one 64-byte message through the library's
/// shared-memory message ring ([`MessageSender`] to [`MessageReceiver`]: a record in the window,
/// checked and copied out by the receiver on `cpus.1`, polling `try_recv`), its credit back at the
/// sender on `cpus.0`, polling: what a program's own byte messages between processes pay, beside
/// the item ring's fixed-size items.
fn shm_message_round_trip(trips: usize, cpus: (Option<usize>, Option<usize>)) -> f64 {
    let name = format!("bench-messages-{}", std::process::id());
    let mut receiver =
        MessageReceiver::create(&name, 1 << 16, ringtop::ring::WaitStrategy::BusySpin).unwrap();
    let mut next = 0u64;
    let mut message = Vec::with_capacity(64);
    let consumer = poll_on(cpus.1, move || {
        if receiver.try_recv(&mut message) != Received::Message {
            return false;
        }
        let first = u64::from_le_bytes(message[..8].try_into().unwrap());
        assert_eq!(first, next, "the message ring lost or reordered a message");
        next += 1;
        true
    });
    pin(cpus.0);
    let mut sender = MessageSender::open(&name, 64).unwrap();
    let mut message = [0u8; 64];
    let round_trip = time_round_trips(trips, |i| {
        message[..8].copy_from_slice(&i.to_le_bytes());
        while !sender.try_send(&message).unwrap() {
            std::hint::spin_loop();
        }
        while sender.acknowledged() <= i {
            std::hint::spin_loop();
        }
    });
    sender.finish(Duration::from_secs(2));
    consumer.stop();
    round_trip
}

/// Opens ring `name` on `cpu` and times `trips` item round trips through it (each item sent
/// and waited for until credited): the sender, for the caller to close, and the round trip
/// (ns, [`time_round_trips`]).
fn time_item_round_trips(
    name: &str,
    trips: usize,
    cpu: Option<usize>,
) -> (ItemSender<[u64; 8]>, f64) {
    pin(cpu);
    let mut sender = ItemSender::<[u64; 8]>::open(name).unwrap();
    let round_trip = time_round_trips(trips, |i| send_item_until_credited(&mut sender, i));
    (sender, round_trip)
}

/// The argument that makes this bench binary the receiving process of
/// [`shm_item_round_trip_between_processes`]: `--item-receiver NAME CPU`.
const ITEM_RECEIVER: &str = "--item-receiver";

/// The slot a 64-byte item takes in a ring file (its stamp and the item, 128 bytes).
const ITEM_SLOT: usize = ringtop::transport::shm::layout::slot_bytes(64);

/// The receiving process: creates ring `name` on `cpu`, says `ready` on stdout, then receives
/// and checks every item (its first word the next number) until one whose second word is
/// `u64::MAX`.
fn item_receiver_process(name: &str, cpu: Option<usize>) {
    pin(cpu);
    let mut receiver =
        ItemReceiver::<[u64; 8]>::create(name, 1024, ringtop::ring::WaitStrategy::BusySpin)
            .unwrap();
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut next = 0u64;
    loop {
        match receiver.try_recv() {
            ReceivedItem::Item(item) if item[1] == u64::MAX => return,
            ReceivedItem::Item(item) => {
                assert_eq!(item[0], next, "the item ring lost or reordered an item");
                next += 1;
            }
            ReceivedItem::Other(_) => std::hint::spin_loop(),
        }
    }
}

/// As [`shm_item_round_trip`], the receiver in a process of its own (this binary again, on
/// `cpus.1`), as the ring is meant to be used: between processes, with nothing of the two ends
/// sharing an address space.
fn shm_item_round_trip_between_processes(
    trips: usize,
    cpus: (Option<usize>, Option<usize>),
) -> f64 {
    use std::io::BufRead;
    let name = format!("bench-items-apart-{}", std::process::id());
    let cpu = cpus
        .1
        .map_or_else(|| "any".to_owned(), |cpu| cpu.to_string());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([ITEM_RECEIVER, &name, &cpu])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the receiving process did not start");
    let (mut sender, round_trip) = time_item_round_trips(&name, trips, cpus.0);
    sender
        .send(&[0, u64::MAX, 0, 0, 0, 0, 0, 0], Duration::from_secs(2))
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "the receiving process failed"
    );
    round_trip
}

/// A ring file's sending end played bare: a few stores and loads on the file's words (the item,
/// the tail, the credit through the file's own seqlock reader) and nothing else: no checks, no
/// counters, no session bookkeeping. With [`BareConsumer`], the protocol's own floor, against
/// which the library's ends show what they add. The library's receiver and sender are opened
/// only for the file and the handshake ([`bare_ring`]); the bare ends then play their parts.
struct BareSender {
    file: ringtop::transport::shm::mapping::Segment,
    tail: u64,
    seen: u64,
}

impl BareSender {
    /// Writes item `i` (64 bytes) and its slot's stamp, then the tail (as the library's sender
    /// does, for a sleeping receiver). One item in flight, each credited before the next:
    /// everything before the tail is free.
    fn send(&mut self, i: u64) {
        use ringtop::transport::shm::layout;
        let mut item = [0u8; 64];
        item[..8].copy_from_slice(&i.to_le_bytes());
        self.file.write_item(self.tail, ITEM_SLOT, &item);
        self.tail += ITEM_SLOT as u64;
        self.file
            .u64_at(layout::TAIL)
            .store(self.tail, std::sync::atomic::Ordering::Release);
    }

    /// Rows the consumer has credited, as of its latest credit.
    fn acknowledged(&mut self) -> Option<u64> {
        let credit = self.file.credit_after(self.seen)?;
        self.seen = credit.seq;
        Some(credit.rows)
    }
}

/// A ring file's consuming end played bare (see [`BareSender`]).
struct BareConsumer {
    file: ringtop::transport::shm::mapping::Segment,
    session: u64,
    head: u64,
    next: u64,
    /// The sequence its last credit ended on.
    credit_seq: u64,
}

impl BareConsumer {
    /// Reads the next item if its slot is stamped (checking it is the next), then credits it;
    /// whether there was one. One slot's stamp a look, as the library's `try_recv`: never the
    /// line after, which the sender writes next.
    fn poll(&mut self) -> bool {
        use ringtop::transport::shm::layout::{self, welcome};
        use std::sync::atomic::Ordering::Acquire;
        let capacity = self.file.capacity();
        if self.session == 0 {
            // Until the sender's hello is answered: then its first record goes to `START`.
            if self.file.u64_at(welcome::SEQ).load(Acquire) == 0 {
                return false;
            }
            self.session = self.file.u64_at(welcome::SESSION).load(Acquire);
            self.head = self.file.u64_at(welcome::START).load(Acquire);
        }
        if !self.file.is_stamped(self.head, ITEM_SLOT) {
            return false;
        }
        let offset = (self.head % capacity as u64) as usize + layout::slot::ITEM;
        let mut item = [0u8; 64];
        self.file.read_window(offset, &mut item);
        assert_eq!(
            u64::from_le_bytes(item[..8].try_into().unwrap()),
            self.next,
            "the bare ends lost or reordered an item"
        );
        self.next += 1;
        self.head += ITEM_SLOT as u64;
        self.credit_seq =
            self.file
                .write_credit(self.credit_seq, self.head, 0, self.next, self.session);
        true
    }
}

/// The library's ends of a bare ring, kept for the file, the handshake and the sender's lock
/// while the bare ends play their parts.
type LibraryEnds = (ItemReceiver<[u64; 8]>, ItemSender<[u64; 8]>);

/// A ring file of 64-byte items with both ends bare: the library's ends (dropped after the bare
/// ones) and the two bare ends on the file.
fn bare_ring() -> (LibraryEnds, BareSender, BareConsumer) {
    use ringtop::transport::shm::layout::welcome;
    use ringtop::transport::shm::mapping::Segment;
    let name = format!("bench-bare-{}", std::process::id());
    let receiver =
        ItemReceiver::<[u64; 8]>::create(&name, 1024, ringtop::ring::WaitStrategy::BusySpin)
            .unwrap();
    let path = std::path::PathBuf::from(receiver.path());
    let consumer = BareConsumer {
        file: Segment::open(&path).unwrap(),
        session: 0,
        head: 0,
        next: 0,
        credit_seq: 0,
    };
    let sender = ItemSender::<[u64; 8]>::open(&name).unwrap();
    let file = Segment::open(&path).unwrap();
    let tail = file
        .u64_at(welcome::START)
        .load(std::sync::atomic::Ordering::Acquire);
    (
        (receiver, sender),
        BareSender {
            file,
            tail,
            seen: 0,
        },
        consumer,
    )
}

/// Which ends of a round trip through the bare ring ([`bare_ring`]) are the library's; the
/// others are bare.
#[derive(Debug, Clone, Copy)]
enum Ends {
    /// Both bare: the protocol's own floor.
    Bare,
    /// The library's sender (`ItemSender::try_send`, `acknowledged`) and a bare consumer.
    LibrarySender,
    /// A bare sender and the library's receiver (`ItemReceiver::try_recv`).
    LibraryReceiver,
}

/// Round trip (ns, [`time_round_trips`]) of the same 64-byte item through the same ring file with
/// both ends bare ([`BareSender`], [`BareConsumer`]), or one of them the library's (`ends`): the
/// protocol's own floor, against which `shm_items` shows what the library's ends add, and which of
/// the two adds what.
fn shm_mixed_round_trip(trips: usize, cpus: (Option<usize>, Option<usize>), ends: Ends) -> f64 {
    let ((receiver, mut library_sender), mut bare_sender, mut bare_consumer) = bare_ring();
    let (consumer, idle_receiver) = match ends {
        Ends::LibraryReceiver => (receive_items_on(cpus.1, receiver), None),
        Ends::Bare | Ends::LibrarySender => (
            poll_on(cpus.1, move || bare_consumer.poll()),
            Some(receiver),
        ),
    };
    pin(cpus.0);
    let round_trip = time_round_trips(trips, |i| {
        if let Ends::LibrarySender = ends {
            send_item_until_credited(&mut library_sender, i);
        } else {
            bare_sender.send(i);
            while bare_sender.acknowledged().is_none_or(|rows| rows <= i) {
                std::hint::spin_loop();
            }
        }
    });
    consumer.stop();
    drop((idle_receiver, library_sender));
    round_trip
}

/// The software both ends of the item ring run per item, on one core (`cpu`): each item sent,
/// received and credited in turn on one thread, `items` of them timed together (mean ns per
/// item, no clock read per item). No line moves between cores, so this is the instructions'
/// cost alone: the library's ends (`library`), or the bare ends (`false`), whose difference is
/// what the library's checks and bookkeeping cost every item.
fn shm_one_core_ns(items: u64, cpu: Option<usize>, ends: OneCoreEnds) -> f64 {
    pin(cpu);
    if ends == OneCoreEnds::Bare {
        let (ends, mut sender, mut consumer) = bare_ring();
        let start = Instant::now();
        for i in 0..items {
            sender.send(i);
            consumer.poll();
            assert!(sender.acknowledged().is_some_and(|rows| rows > i));
        }
        let took = start.elapsed();
        drop(ends);
        return took.as_nanos() as f64 / items as f64;
    }
    let name = format!("bench-one-core-{}", std::process::id());
    let mut receiver =
        ItemReceiver::<[u64; 8]>::create(&name, 1024, ringtop::ring::WaitStrategy::BusySpin)
            .unwrap();
    let mut sender = ItemSender::<[u64; 8]>::open(&name).unwrap();
    // The sender's arrival first.
    while !matches!(receiver.try_recv(), ReceivedItem::Other(_)) {}
    let start = Instant::now();
    for i in 0..items {
        let item = [i, 0, 0, 0, 0, 0, 0, 0];
        let received = if ends == OneCoreEnds::LibraryWithTimeouts {
            sender.send(&item, Duration::from_secs(1)).unwrap();
            receiver.recv(Duration::from_secs(1))
        } else {
            assert!(sender.try_send(&item).unwrap());
            receiver.try_recv()
        };
        let ReceivedItem::Item(item) = received else {
            panic!("the item ring lost an item");
        };
        assert_eq!(item[0], i, "the item ring reordered an item");
        assert!(sender.acknowledged() > i);
    }
    let took = start.elapsed();
    sender.finish(Duration::from_secs(2));
    took.as_nanos() as f64 / items as f64
}

/// Which ends [`shm_one_core_ns`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OneCoreEnds {
    /// [`BareSender`] and [`BareConsumer`].
    Bare,
    /// The library's, through `try_send` and `try_recv`.
    Library,
    /// The library's, through `send` and `recv` with a timeout.
    LibraryWithTimeouts,
}

/// Items a second (64 bytes each) through the library's item ring, from a sender on `cpus.0` to
/// a receiver on `cpus.1`, both polling, every item checked in order: up to `batch` a call on
/// each side (`try_send_many`, `try_recv_many`: one tail and one credit a call), 1 being what
/// `try_send` and `try_recv` do. Timed from the first send to the last item read.
fn shm_item_stream(items: u64, cpus: (Option<usize>, Option<usize>), batch: usize) -> f64 {
    let name = format!("bench-stream-{}", std::process::id());
    let mut receiver =
        ItemReceiver::<[u64; 8]>::create(&name, 1024, ringtop::ring::WaitStrategy::BusySpin)
            .unwrap();
    let consumer = std::thread::spawn(move || {
        pin(cpus.1);
        let mut out = vec![[0u64; 8]; batch];
        let mut next = 0u64;
        while next < items {
            match receiver.try_recv_many(&mut out) {
                ReceivedItems::Items(read) => {
                    for item in &out[..read] {
                        assert_eq!(item[0], next, "the item ring lost or reordered an item");
                        next += 1;
                    }
                }
                _ => std::hint::spin_loop(),
            }
        }
        receiver
    });
    pin(cpus.0);
    let mut sender = ItemSender::<[u64; 8]>::open(&name).unwrap();
    let mut staged = vec![[0u64; 8]; batch];
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < items {
        let count = batch.min((items - sent) as usize);
        for (k, item) in staged[..count].iter_mut().enumerate() {
            item[0] = sent + k as u64;
        }
        match sender.try_send_many(&staged[..count]).unwrap() {
            0 => std::hint::spin_loop(),
            done => sent += done as u64,
        }
    }
    let receiver = consumer.join().unwrap();
    let took = start.elapsed();
    sender.finish(Duration::from_secs(2));
    drop(receiver);
    items as f64 / took.as_secs_f64()
}

/// Bytes a second in messages of `len` bytes through the library's message ring (a window of
/// `window` bytes) from a sender on `cpus.0` to a receiver on `cpus.1`, both polling
/// (`try_send`, `try_recv`), every message's sequence number checked. Timed from the first send
/// to the last message read.
fn shm_message_stream(
    messages: u64,
    window: usize,
    len: usize,
    cpus: (Option<usize>, Option<usize>),
) -> f64 {
    let name = format!("bench-messages-{}", std::process::id());
    let mut receiver =
        MessageReceiver::create(&name, window, ringtop::ring::WaitStrategy::BusySpin).unwrap();
    let consumer = std::thread::spawn(move || {
        pin(cpus.1);
        let mut out = Vec::with_capacity(len);
        let mut next = 0u64;
        while next < messages {
            match receiver.try_recv(&mut out) {
                Received::Message => {
                    let seq = u64::from_ne_bytes(out[..8].try_into().unwrap());
                    assert_eq!(seq, next, "the message ring lost or reordered a message");
                    next += 1;
                }
                _ => std::hint::spin_loop(),
            }
        }
        receiver
    });
    pin(cpus.0);
    let mut sender = MessageSender::open(&name, len).unwrap();
    let mut message = vec![0x5au8; len];
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < messages {
        message[..8].copy_from_slice(&sent.to_ne_bytes());
        if sender.try_send(&message).unwrap() {
            sent += 1;
        } else {
            std::hint::spin_loop();
        }
    }
    let receiver = consumer.join().unwrap();
    let took = start.elapsed();
    drop(sender);
    drop(receiver);
    (messages * len as u64) as f64 / took.as_secs_f64()
}

/// Median time (ns) to encode a one-row `none` frame and to check and decode it, on `cpu`: the
/// part of the shm round trip that is the frame codec's (CRC-32 both ways, header checks, the
/// row copied in and out), not the transport's.
fn one_row_frame_codec_ns(trips: usize, cpu: Option<usize>) -> (f64, f64) {
    pin(cpu);
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    let mut frame = vec![0u8; max_frame_len(1)];
    let mut rows = Vec::with_capacity(1);
    let (mut encode, mut decode) = (Vec::new(), Vec::new());
    // Timed in batches of 64: one frame is below the clock's resolution here.
    for i in 0..(trips / 64).max(16) as u64 {
        let row = [Row {
            seq: i,
            ..Row::default()
        }];
        let start = Instant::now();
        let mut len = 0;
        for _ in 0..64 {
            len = encoder
                .encode(CodecId::None, std::hint::black_box(&row), &mut frame)
                .unwrap();
        }
        encode.push(start.elapsed().as_nanos() as f64 / 64.0);
        let start = Instant::now();
        for _ in 0..64 {
            rows.clear();
            decoder
                .decode(std::hint::black_box(&frame[..len]), &mut rows)
                .unwrap();
        }
        decode.push(start.elapsed().as_nanos() as f64 / 64.0);
        assert_eq!(rows, row, "the frame did not come back");
    }
    (median(&mut encode), median(&mut decode))
}

fn sender_rows(sender: &ShmSender) -> u64 {
    ringtop::transport::FrameLink::rows_sent(sender)
}

/// Round trip (ns, [`time_round_trips`]) of one `u64` through two iceoryx2 publish-subscribe
/// services (ping and pong, `ipc` flavour: shared memory, polled with `receive`), between two
/// threads on `cpus`: what a dedicated inter-process transport pays for the same hand-off.
#[cfg(feature = "bench-iceoryx2")]
fn iceoryx2_round_trip(trips: usize, cpus: (Option<usize>, Option<usize>)) -> f64 {
    use iceoryx2::prelude::*;
    let node = NodeBuilder::new().create::<ipc::Service>().unwrap();
    let open = |direction: &str| {
        let name = format!("ringtop-bench-{}-{direction}", std::process::id());
        node.service_builder(&ServiceName::new(&name).unwrap())
            .publish_subscribe::<u64>()
            .history_size(0)
            .subscriber_max_buffer_size(1)
            .enable_safe_overflow(true)
            .create()
            .unwrap()
    };
    let (ping, pong) = (open("ping"), open("pong"));
    let ready = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            pin(cpus.1);
            let rx = ping.subscriber_builder().create().unwrap();
            let tx = pong.publisher_builder().create().unwrap();
            ready.wait();
            for _ in 0..trips {
                let value = loop {
                    if let Some(sample) = rx.receive().unwrap() {
                        break *sample;
                    }
                    std::hint::spin_loop();
                };
                tx.send_copy(value).unwrap();
            }
        });
        pin(cpus.0);
        let tx = ping.publisher_builder().create().unwrap();
        let rx = pong.subscriber_builder().create().unwrap();
        ready.wait();
        time_round_trips(trips, |i| {
            tx.send_copy(i).unwrap();
            let echoed = loop {
                if let Some(sample) = rx.receive().unwrap() {
                    break *sample;
                }
                std::hint::spin_loop();
            };
            assert_eq!(echoed, i, "iceoryx2 lost or reordered a sample");
        })
    })
}

/// Round trip (ns, [`time_round_trips`]) of one row through two in-process relay rings (ping and
/// pong) between two threads on `cpus`: the ring's own floor, no protocol around it.
fn relay_round_trip(trips: usize, cpus: (Option<usize>, Option<usize>)) -> f64 {
    let (mut ping_tx, mut ping_rx) = ringtop::ring::relay::channel::<Row>(1024).unwrap();
    let (mut pong_tx, mut pong_rx) = ringtop::ring::relay::channel::<Row>(1024).unwrap();
    let echo = std::thread::spawn(move || {
        pin(cpus.1);
        for _ in 0..trips {
            let row = loop {
                if let Some(row) = ping_rx.try_pop() {
                    break row;
                }
                std::hint::spin_loop();
            };
            while pong_tx.try_push(row).is_err() {
                std::hint::spin_loop();
            }
        }
    });
    pin(cpus.0);
    let round_trip = time_round_trips(trips, |i| {
        let row = Row {
            seq: i,
            ..Row::default()
        };
        while ping_tx.try_push(row).is_err() {
            std::hint::spin_loop();
        }
        loop {
            if pong_rx.try_pop().is_some() {
                break;
            }
            std::hint::spin_loop();
        }
    });
    echo.join().unwrap();
    round_trip
}

/// Round trip (ns, [`time_round_trips`]) of `request` bytes out and `reply` bytes back over a
/// Unix-domain socket pair, blocking reads, the two ends on `cpus` as the other contenders: what a
/// pipeline between processes pays without shared memory.
fn unix_socket_round_trip(
    request: usize,
    reply: usize,
    trips: usize,
    cpus: (Option<usize>, Option<usize>),
) -> f64 {
    let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let echo = std::thread::spawn(move || {
        pin(cpus.1);
        let mut buf = vec![0u8; request];
        let answer = vec![1u8; reply];
        for _ in 0..trips {
            b.read_exact(&mut buf).unwrap();
            b.write_all(&answer).unwrap();
        }
    });
    pin(cpus.0);
    let out = vec![2u8; request];
    let mut back = vec![0u8; reply];
    let round_trip = time_round_trips(trips, |_| {
        a.write_all(&out).unwrap();
        a.read_exact(&mut back).unwrap();
    });
    echo.join().unwrap();
    round_trip
}

fn profile_text(codec: &str, transport: &str, cpu: Option<usize>, role: &str) -> String {
    let pin = cpu.map_or(String::new(), |c| format!("[pinning]\n{role} = [{c}]\n"));
    format!(
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 16384\n[workload]\nrate = 0\nsource = \"random-walk\"\n\
         [codec]\nname = \"{codec}\"\nrows_per_frame = 256\n{pin}{transport}"
    )
}

/// Rows per second a consumer takes over `secs`, after a short warm-up.
fn consumed_per_s(engine: &mut ringtop::engine::EngineHandle, secs: f64) -> f64 {
    std::thread::sleep(Duration::from_millis(200));
    let before = engine.snapshot();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let after = engine.snapshot();
    (after.totals.consumed - before.totals.consumed) as f64 / (after.elapsed_s - before.elapsed_s)
}

/// Rows/s through a local framed ring.
fn local_throughput(codec: &str, cpus: &[usize], secs: f64) -> f64 {
    let text = profile_text(codec, "", None, "");
    let mut p = profile::parse(&text, "bench").unwrap();
    if cpus.len() >= 2 {
        p.pinning.producers = vec![profile::CpuSetting::Cpu(cpus[0])];
        p.pinning.consumers = vec![profile::CpuSetting::Cpu(cpus[1])];
    }
    let mut engine = Engine::start(p).unwrap();
    let rate = consumed_per_s(&mut engine, secs);
    let summary = engine.stop();
    assert_eq!(
        summary.integrity_ok,
        Some(true),
        "local {codec}: {:?}",
        summary.totals
    );
    rate
}

/// Rows/s the receiving engine consumes from a sending engine over the TCP backend.
fn remote_throughput(codec: &str, cap: Option<f64>, cpus: &[usize], secs: f64) -> f64 {
    link_throughput("tcp", codec, cap, cpus, secs)
}

/// Rows/s the receiving engine consumes from a sending engine over backend `kind` (`tcp` or
/// `shm`).
fn link_throughput(kind: &str, codec: &str, cap: Option<f64>, cpus: &[usize], secs: f64) -> f64 {
    let consumer_cpu = cpus.get(1).copied();
    let producer_cpu = cpus.first().copied();
    let ring = format!("bench-{}", std::process::id());
    let listen = if kind == "shm" {
        format!("[transport]\nkind = \"shm\"\nlisten = \"{ring}\"\n")
    } else {
        "[transport]\nkind = \"tcp\"\nlisten = \"127.0.0.1:0\"\n".to_owned()
    };
    let mut receiver = Engine::start(
        profile::parse(
            &profile_text("none", &listen, consumer_cpu, "consumers"),
            "bench",
        )
        .unwrap(),
    )
    .unwrap();
    let cap_line = cap.map_or(String::new(), |m| format!("link_mbps = {m}\n"));
    let connect = if kind == "shm" {
        format!("[transport]\nkind = \"shm\"\nname = \"{ring}\"\n{cap_line}")
    } else {
        let address = receiver.listen_address().unwrap();
        format!("[transport]\nkind = \"tcp\"\nconnect = \"{address}\"\n{cap_line}")
    };
    let sender = Engine::start(
        profile::parse(
            &profile_text(codec, &connect, producer_cpu, "producers"),
            "bench",
        )
        .unwrap(),
    )
    .unwrap();
    let rate = consumed_per_s(&mut receiver, secs);
    let sent = sender.stop();
    let start = Instant::now();
    while !receiver.sender_left() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let received = receiver.stop();
    assert_eq!(
        received.integrity_ok,
        Some(true),
        "remote {codec}: {:?}",
        received.totals
    );
    assert_eq!(
        Some(received.totals.consumed),
        sent.totals.produced,
        "remote {codec}"
    );
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, name, cpu] = args.as_slice()
        && flag == ITEM_RECEIVER
    {
        item_receiver_process(name, cpu.parse().ok());
        return;
    }
    let as_json = args.iter().any(|a| a == "--json");
    let quick = args.iter().any(|a| a == "--quick");
    let only_shm = args.windows(2).any(|w| w[0] == "--only" && w[1] == "shm");
    let only_tcp = args.windows(2).any(|w| w[0] == "--only" && w[1] == "tcp");
    let (rounds, trips, secs) = if quick {
        (1, 2_000, 0.5)
    } else {
        (5, 20_000, 2.0)
    };
    let cpus = allowed_cpus();
    let pair = (cpus.first().copied(), cpus.get(1).copied());
    let mut cases = Vec::new();
    // Per round: (shm / relay, shm / unix socket, shm none / local none).
    let mut per_round: Vec<[f64; 3]> = Vec::new();
    // Per round: shm / iceoryx2 (with the `bench-iceoryx2` feature).
    let mut vs_iceoryx2: Vec<f64> = Vec::new();
    // Per round: the item ring / iceoryx2 (the same feature): both hand over one small value
    // in shared memory, polled, with no codec.
    let mut items_vs_iceoryx2: Vec<f64> = Vec::new();
    // Per round: the TCP backend's round trip / the faster bare exchange.
    let mut tcp_vs_floor: Vec<f64> = Vec::new();
    // Per round: (shm round trip less the frame's encode and decode) / relay ring.
    let mut transport_vs_relay: Vec<f64> = Vec::new();
    // Per round: the item ring's round trip (no codec) / relay ring.
    let mut items_vs_relay: Vec<f64> = Vec::new();
    let mut messages_vs_relay: Vec<f64> = Vec::new();
    // Per round: the item ring's round trip with the receiver in another process / relay ring.
    let mut apart_items_vs_relay: Vec<f64> = Vec::new();
    let mut waiting_vs_polling: Vec<f64> = Vec::new();
    // Per round: the same trip with both ends bare (the protocol alone) / relay ring.
    let mut bare_vs_relay: Vec<f64> = Vec::new();
    // Per round: the same trip with one end the library's and the other bare / relay ring.
    let mut library_sender_vs_relay: Vec<f64> = Vec::new();
    let mut library_receiver_vs_relay: Vec<f64> = Vec::new();
    // Per round: the library's ends against the bare ends, both on one core (software alone).
    let mut library_vs_bare: Vec<f64> = Vec::new();
    // Per round: the library's ends through `send`/`recv` with a timeout against `try_*`.
    let mut timeouts_vs_try: Vec<f64> = Vec::new();
    // Per round: the item ring's stream in batches of 64 against one item a call.
    let mut batches_vs_single: Vec<f64> = Vec::new();
    for _ in 0..rounds {
        // (shm round trip, relay, unix socket, shm none throughput) for this round's ratios.
        let mut shm_case: Option<[f64; 4]> = None;
        if !only_tcp {
            let shm = apart(|| shm_round_trip(trips, pair));
            record(&mut cases, "shm_round_trip", "shm_backend", "ns", shm);
            let (encode, decode) = apart(|| one_row_frame_codec_ns(trips, pair.0));
            record(&mut cases, "one_row_frame", "encode", "ns", encode);
            record(&mut cases, "one_row_frame", "decode", "ns", decode);
            let relay = apart(|| relay_round_trip(trips, pair));
            record(
                &mut cases,
                "shm_round_trip",
                "relay_ring_in_process",
                "ns",
                relay,
            );
            transport_vs_relay.push((shm - encode - decode) / relay);
            let items = apart(|| shm_item_round_trip(trips, pair, receive_items_on));
            record(&mut cases, "shm_round_trip", "shm_items", "ns", items);
            items_vs_relay.push(items / relay);
            let messages = apart(|| shm_message_round_trip(trips, pair));
            record(&mut cases, "shm_round_trip", "shm_messages", "ns", messages);
            messages_vs_relay.push(messages / relay);
            let waiting = apart(|| shm_item_round_trip(trips, pair, wait_for_items_on));
            record(
                &mut cases,
                "shm_round_trip",
                "shm_items_receiver_waiting",
                "ns",
                waiting,
            );
            waiting_vs_polling.push(waiting / items);
            let apart_items = apart(|| shm_item_round_trip_between_processes(trips, pair));
            record(
                &mut cases,
                "shm_round_trip",
                "shm_items_between_processes",
                "ns",
                apart_items,
            );
            apart_items_vs_relay.push(apart_items / relay);
            let mixed = |ends| apart(|| shm_mixed_round_trip(trips, pair, ends));
            let bare = mixed(Ends::Bare);
            record(&mut cases, "shm_round_trip", "shm_bare_ends", "ns", bare);
            bare_vs_relay.push(bare / relay);
            let library_sender = mixed(Ends::LibrarySender);
            record(
                &mut cases,
                "shm_round_trip",
                "shm_library_sender_bare_consumer",
                "ns",
                library_sender,
            );
            library_sender_vs_relay.push(library_sender / relay);
            let library_receiver = mixed(Ends::LibraryReceiver);
            record(
                &mut cases,
                "shm_round_trip",
                "shm_bare_sender_library_receiver",
                "ns",
                library_receiver,
            );
            library_receiver_vs_relay.push(library_receiver / relay);
            let one_core = |ends| apart(|| shm_one_core_ns(trips as u64 * 10, pair.0, ends));
            let library = one_core(OneCoreEnds::Library);
            let bare = one_core(OneCoreEnds::Bare);
            let timeouts = one_core(OneCoreEnds::LibraryWithTimeouts);
            record(&mut cases, "shm_one_core", "library_ends", "ns", library);
            record(&mut cases, "shm_one_core", "bare_ends", "ns", bare);
            record(
                &mut cases,
                "shm_one_core",
                "library_ends_with_timeouts",
                "ns",
                timeouts,
            );
            library_vs_bare.push(library / bare);
            timeouts_vs_try.push(timeouts / library);
            let stream = |batch| apart(|| shm_item_stream(trips as u64 * 20, pair, batch));
            let (single, batched) = (stream(1), stream(64));
            record(
                &mut cases,
                "shm_item_stream",
                "one_at_a_time",
                "items/s",
                single,
            );
            record(
                &mut cases,
                "shm_item_stream",
                "batches_of_64",
                "items/s",
                batched,
            );
            batches_vs_single.push(batched / single);
            let messages = apart(|| shm_message_stream(trips as u64 * 10, 1 << 17, 4096, pair));
            record(
                &mut cases,
                "shm_message_stream",
                "4096_byte_messages_128_kib_window",
                "bytes/s",
                messages,
            );
            // A one-row frame record out (header, frame header, row), a credit back.
            let uds = apart(|| unix_socket_round_trip(max_frame_len(1) + 8, 32, trips, pair));
            record(&mut cases, "shm_round_trip", "unix_socket", "ns", uds);
            #[cfg(feature = "bench-iceoryx2")]
            {
                let iceoryx2 = apart(|| iceoryx2_round_trip(trips, pair));
                record(&mut cases, "shm_round_trip", "iceoryx2", "ns", iceoryx2);
                vs_iceoryx2.push(shm / iceoryx2);
                items_vs_iceoryx2.push(items / iceoryx2);
            }
            let shm_none = link_throughput("shm", "none", None, &cpus, secs);
            record(&mut cases, "throughput", "shm_none", "rows/s", shm_none);
            shm_case = Some([shm, relay, uds, shm_none]);
        }
        if only_shm {
            let local = local_throughput("none", &cpus, secs);
            record(&mut cases, "throughput", "local_none", "rows/s", local);
            if let Some([shm, relay, uds, shm_none]) = shm_case {
                per_round.push([shm / relay, shm / uds, shm_none / local]);
            }
            continue;
        }
        let (backend, request, reply) = backend_round_trip(trips);
        record(&mut cases, "round_trip", "tcp_backend", "ns", backend);
        let blocking = plain_tcp_round_trip(request, reply, trips, false);
        record(
            &mut cases,
            "round_trip",
            "plain_tcp_blocking",
            "ns",
            blocking,
        );
        let polling = plain_tcp_round_trip(request, reply, trips, true);
        record(&mut cases, "round_trip", "plain_tcp_polling", "ns", polling);
        tcp_vs_floor.push(backend / blocking.min(polling));
        for codec in ["none", "delta-lz4"] {
            let local = local_throughput(codec, &cpus, secs);
            record(
                &mut cases,
                "throughput",
                &format!("local_{codec}"),
                "rows/s",
                local,
            );
            if codec == "none"
                && let Some([shm, relay, uds, shm_none]) = shm_case
            {
                per_round.push([shm / relay, shm / uds, shm_none / local]);
            }
            let remote = remote_throughput(codec, None, &cpus, secs);
            record(
                &mut cases,
                "throughput",
                &format!("tcp_{codec}"),
                "rows/s",
                remote,
            );
            let capped = remote_throughput(codec, Some(1000.0), &cpus, secs);
            record(
                &mut cases,
                "capped_1000mbps",
                &format!("tcp_{codec}"),
                "rows/s",
                capped,
            );
        }
    }
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => json!(a / b),
        _ => Value::Null,
    };
    // The floor is the faster of the two bare exchanges.
    let floor = match (
        median_of(&cases, "round_trip", "plain_tcp_blocking"),
        median_of(&cases, "round_trip", "plain_tcp_polling"),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let ratios = json!({
        "round_trip_vs_plain_tcp_floor": ratio(
            median_of(&cases, "round_trip", "tcp_backend"),
            floor,
        ),
        "remote_vs_local_none": ratio(
            median_of(&cases, "throughput", "tcp_none"),
            median_of(&cases, "throughput", "local_none"),
        ),
        "remote_vs_local_delta_lz4": ratio(
            median_of(&cases, "throughput", "tcp_delta-lz4"),
            median_of(&cases, "throughput", "local_delta-lz4"),
        ),
        "capped_delta_lz4_vs_none": ratio(
            median_of(&cases, "capped_1000mbps", "tcp_delta-lz4"),
            median_of(&cases, "capped_1000mbps", "tcp_none"),
        ),
    });
    let spread = |i: usize| {
        let mut values: Vec<f64> = per_round.iter().map(|r| r[i]).collect();
        if values.is_empty() {
            return Value::Null;
        }
        let mid = median(&mut values);
        json!({"median": mid, "min": values[0], "max": values[values.len() - 1]})
    };
    let mut per_round_ratios = json!({
        "shm_round_trip_vs_relay_ring": spread(0),
        "shm_round_trip_vs_unix_socket": spread(1),
        "shm_none_vs_local_none": spread(2),
    });
    for (name, values) in [
        ("shm_round_trip_vs_iceoryx2", &mut vs_iceoryx2),
        ("shm_item_round_trip_vs_iceoryx2", &mut items_vs_iceoryx2),
        (
            "shm_round_trip_less_codec_vs_relay_ring",
            &mut transport_vs_relay,
        ),
        ("shm_item_round_trip_vs_relay_ring", &mut items_vs_relay),
        (
            "shm_message_round_trip_vs_relay_ring",
            &mut messages_vs_relay,
        ),
        (
            "shm_item_round_trip_receiver_waiting_vs_polling",
            &mut waiting_vs_polling,
        ),
        (
            "shm_item_round_trip_between_processes_vs_relay_ring",
            &mut apart_items_vs_relay,
        ),
        ("shm_bare_round_trip_vs_relay_ring", &mut bare_vs_relay),
        (
            "shm_library_sender_round_trip_vs_relay_ring",
            &mut library_sender_vs_relay,
        ),
        (
            "shm_library_receiver_round_trip_vs_relay_ring",
            &mut library_receiver_vs_relay,
        ),
        ("shm_one_core_library_vs_bare_ends", &mut library_vs_bare),
        ("shm_one_core_timeouts_vs_try", &mut timeouts_vs_try),
        ("shm_item_batches_vs_one_at_a_time", &mut batches_vs_single),
        ("tcp_round_trip_vs_plain_tcp_floor", &mut tcp_vs_floor),
    ] {
        per_round_ratios[name] = if values.is_empty() {
            Value::Null
        } else {
            let mid = median(values);
            json!({"median": mid, "min": values[0], "max": values[values.len() - 1]})
        };
    }
    let results: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({"bench": c.bench, "impl": c.imp, "median": c.median(), "unit": c.unit, "runs": c.runs})
        })
        .collect();
    if as_json {
        println!(
            "{}",
            json!({"cpus": cpus, "rounds": rounds, "results": results, "ratios": ratios,
                   "per_round_ratios": per_round_ratios})
        );
    } else {
        for c in &cases {
            println!(
                "{:<16} {:<16} {:>14.0} {}",
                c.bench,
                c.imp,
                c.median(),
                c.unit
            );
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&ratios).unwrap_or_default()
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&per_round_ratios).unwrap_or_default()
        );
    }
}
