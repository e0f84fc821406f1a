//! Remote rings: a receiver survives hostile peers (each case by a hand-written client), and two
//! processes on loopback move a million rows with nothing lost while the codec changes.
//!
//! Over 600 lines on purpose: one hand-written hostile client per kind of bad peer, each a short
//! test, sharing one receiver setup.
#![cfg(not(loom))]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{next_of, ringtop};
use ringtop::engine::{Engine, EngineHandle};
use ringtop::metrics::snapshot::{RunState, TransportSnapshot};
use ringtop::profile;
use ringtop::ring::window::{PADDING, record_header};
use ringtop::transport::wire::{self, Hello, Inbound, Message, Patience, Reply};
use serde_json::Value;

const TOKEN: &str = "open-sesame";

fn receiver(idle_timeout: &str) -> EngineHandle {
    receiver_with(&format!("idle_timeout = \"{idle_timeout}\""))
}

/// A receiver on a free loopback port, with `transport_keys` added to its `[transport]`.
fn receiver_with(transport_keys: &str) -> EngineHandle {
    let text = format!(
        r#"
version = 1
[ring]
kind = "spsc"
capacity = 1024
[workload]
batch = 64
[transport]
kind = "tcp"
listen = "127.0.0.1:0"
token = "{TOKEN}"
{transport_keys}
"#
    );
    Engine::start(profile::parse(&text, "receiver.toml").unwrap()).unwrap()
}

fn sender(address: &str, token: &str, rate: u64) -> Result<EngineHandle, String> {
    let text = format!(
        r#"
version = 1
[ring]
kind = "spsc"
capacity = 1024
[workload]
rate = {rate}
batch = 64
[codec]
name = "delta-lz4"
[transport]
kind = "tcp"
connect = "{address}"
token = "{token}"
"#
    );
    Engine::start(profile::parse(&text, "sender.toml").unwrap()).map_err(|e| e.to_string())
}

fn link(engine: &mut EngineHandle) -> TransportSnapshot {
    engine
        .snapshot()
        .transport
        .expect("a remote ring reports its link")
}

/// Waits (up to 20 s) until the receiver's link satisfies `done`.
fn wait_for(
    engine: &mut EngineHandle,
    what: &str,
    done: impl Fn(&TransportSnapshot) -> bool,
) -> TransportSnapshot {
    let start = Instant::now();
    loop {
        let t = link(engine);
        if done(&t) {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "gave up waiting for {what}: {t:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn patience() -> Patience<'static> {
    Patience::idle(Duration::from_secs(5), &|| false)
}

/// Connects, says hello with `token`, and returns the stream and the receiver's reply.
fn handshake(address: &str, token: &str) -> (TcpStream, Reply) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let hello = Hello {
        run_id: 99,
        next_seq: 0,
        max_frame: 4096,
        token: token.to_owned(),
        boot_id: String::new(),
    };
    stream.write_all(&wire::encode_hello(&hello)).unwrap();
    let reply = Inbound::new(stream.try_clone().unwrap())
        .reply(&patience())
        .unwrap();
    (stream, reply)
}

fn welcome(address: &str) -> (TcpStream, u64) {
    let (stream, reply) = handshake(address, TOKEN);
    match reply {
        Reply::Welcome { start, .. } => (stream, start),
        Reply::Refused(reason) => panic!("refused: {reason}"),
    }
}

fn message(message: &Message) -> Vec<u8> {
    let mut bytes = Vec::new();
    wire::encode_message(&mut bytes, message);
    bytes
}

/// Connects, writes `bytes` where the next record goes, and publishes them.
fn publish(address: &str, bytes: &[u8]) -> TcpStream {
    let (mut stream, start) = welcome(address);
    let mut out = message(&Message::Write {
        offset: start % (1024 * 64),
        len: bytes.len() as u32,
    });
    out.extend_from_slice(bytes);
    out.extend(message(&Message::Tail(start + bytes.len() as u64)));
    stream.write_all(&out).unwrap();
    stream
}

/// A hostile session ends with `expected` in the receiver's error, the connection is closed, and
/// the receiver keeps running.
fn assert_dropped(engine: &mut EngineHandle, mut stream: TcpStream, before: u64, expected: &str) {
    let t = wait_for(engine, expected, |t| t.dropped > before);
    let error = t.last_error.unwrap_or_default();
    assert!(error.contains(expected), "wanted {expected:?} in {error:?}");
    // The receiver closed the connection (after saying why).
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert_eq!(engine.snapshot().state, RunState::Running);
}

#[test]
fn strangers_and_wrong_tokens_are_refused_at_the_handshake() {
    let mut engine = receiver("30s");
    let address = engine.listen_address().unwrap();

    let mut http = TcpStream::connect(&address).unwrap();
    http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let t = wait_for(&mut engine, "a refusal", |t| t.refused >= 1);
    assert!(
        t.last_error.unwrap().contains("not a ringtop peer"),
        "an HTTP client is not a ringtop peer"
    );

    let (_, reply) = handshake(&address, "guess");
    assert_eq!(reply, Reply::Refused("wrong token".into()));
    let t = wait_for(&mut engine, "a second refusal", |t| t.refused >= 2);
    assert!(t.last_error.unwrap().contains("wrong token"));

    let err = sender(&address, "guess", 0).unwrap_err();
    assert!(
        err.contains("refused by") && err.contains("wrong token"),
        "{err}"
    );
    assert_eq!(link(&mut engine).sessions, 0);
    assert_eq!(engine.snapshot().state, RunState::Running);
}

#[test]
fn writes_outside_the_window_and_oversized_lengths_drop_the_connection() {
    let mut engine = receiver("30s");
    let address = engine.listen_address().unwrap();
    let window = 1024 * 64;

    let (mut stream, _) = welcome(&address);
    let mut bytes = message(&Message::Write {
        offset: window as u64 - 4,
        len: 8,
    });
    bytes.extend_from_slice(&[0; 8]);
    stream.write_all(&bytes).unwrap();
    assert_dropped(&mut engine, stream, 0, "outside the 65536-byte window");

    let (mut stream, _) = welcome(&address);
    stream
        .write_all(&message(&Message::Write {
            offset: 0,
            len: u32::MAX,
        }))
        .unwrap();
    assert_dropped(&mut engine, stream, 1, "larger than the 65536-byte window");

    // A tail beyond what the consumer released.
    let (mut stream, start) = welcome(&address);
    stream
        .write_all(&message(&Message::Tail(start + 2 * window as u64)))
        .unwrap();
    assert_dropped(&mut engine, stream, 2, "tail");
}

#[test]
fn garbage_records_and_frames_are_caught_by_the_consumer() {
    let mut engine = receiver("30s");
    let address = engine.listen_address().unwrap();

    // A record header claiming more bytes than were published.
    let stream = publish(&address, &record_header(5000, 0));
    assert_dropped(&mut engine, stream, 0, "bad record");

    // A well-formed record whose frame is noise.
    let mut noise = record_header(32, 0).to_vec();
    noise.extend_from_slice(&[0xA5; 32]);
    let stream = publish(&address, &noise);
    assert_dropped(&mut engine, stream, 1, "frame does not decode");

    // Padding that does not reach the end of the buffer.
    let stream = publish(&address, &record_header(0, PADDING));
    assert_dropped(&mut engine, stream, 2, "padding");

    // A session boundary forged by the peer (the receiver's old in-band marker kinds): only
    // frames may come from a sender.
    for (kind, dropped) in [(1, 3), (2, 4)] {
        let mut forged = record_header(24, kind).to_vec();
        forged.extend_from_slice(&[1; 24]);
        let stream = publish(&address, &forged);
        assert_dropped(&mut engine, stream, dropped, "is not a frame");
    }

    // An unknown message tag.
    let (mut stream, _) = welcome(&address);
    stream.write_all(&[0x5A, 1, 2, 3]).unwrap();
    assert_dropped(&mut engine, stream, 5, "unknown message tag 0x5a");
}

#[test]
fn a_peer_that_stops_half_way_or_goes_silent_is_dropped() {
    let mut engine = receiver("500ms");
    let address = engine.listen_address().unwrap();

    let (mut stream, _) = welcome(&address);
    let bytes = message(&Message::Tail(64));
    stream.write_all(&bytes[..5]).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_dropped(&mut engine, stream, 0, "stopped mid-message (5 of 9 bytes)");

    let (stream, _) = welcome(&address);
    assert_dropped(&mut engine, stream, 1, "sent nothing for 500ms");

    // A stranger who connects and says nothing is refused once the handshake time is up.
    let _silent = TcpStream::connect(&address).unwrap();
    let t = wait_for(&mut engine, "the silent stranger refused", |t| {
        t.refused >= 1
    });
    assert!(
        t.last_error
            .unwrap()
            .contains("did not complete the handshake within 3s")
    );
}

#[test]
fn frames_that_arrive_a_few_bytes_at_a_time_are_applied_whole() {
    // The consumer reads the socket itself whenever its window is empty: a write whose header,
    // payload and tail arrive in pieces must be put together, not taken half-way or dropped.
    let mut engine = receiver("30s");
    let address = engine.listen_address().unwrap();
    let (mut stream, start) = welcome(&address);
    stream.set_nodelay(true).unwrap();
    let mut encoder = ringtop::codec::Encoder::new();
    let mut position = start;
    let mut out = Vec::new();
    for seq in 0..3u64 {
        let mut frame = vec![0; ringtop::codec::max_frame_len(1)];
        let row = ringtop::row::Row {
            seq,
            ..Default::default()
        };
        let len = encoder
            .encode(ringtop::codec::CodecId::None, &[row], &mut frame)
            .unwrap();
        let record = ringtop::ring::window::encode_record(0, &frame[..len]);
        out.extend(message(&Message::Write {
            offset: position % (1024 * 64),
            len: record.len() as u32,
        }));
        out.extend_from_slice(&record);
        position += record.len() as u64;
        out.extend(message(&Message::Tail(position)));
    }
    // Pieces of 1 to 7 bytes, each its own segment a millisecond after the last.
    for (i, chunk) in out.chunks(7).enumerate() {
        let cut = chunk.len().min(1 + i % 7);
        for piece in [&chunk[..cut], &chunk[cut..]] {
            if !piece.is_empty() {
                stream.write_all(piece).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let t = wait_for(&mut engine, "three frames", |t| t.frames >= 3);
    assert_eq!((t.frames, t.dropped), (3, 0), "{t:?}");
    // And the credit says every row arrived.
    let mut credits = Inbound::new(stream.try_clone().unwrap());
    let rows = loop {
        match credits.message(&patience()).unwrap() {
            Message::Credit { rows: 3, .. } => break 3,
            Message::Credit { .. } => {}
            other => panic!("not a credit: {other:?}"),
        }
    };
    assert_eq!(rows, 3);
    assert_eq!(engine.snapshot().totals.lost, Some(0));
}

#[test]
fn a_sender_that_only_sends_gets_through_a_full_window_with_every_frame_in_order() {
    // A sender reads credits before a frame only when it has not read them since its last one;
    // a frame refused for want of room must make the next try read them, or a caller that only
    // retries `send_frame` would wait forever.
    use ringtop::codec::{CodecId, Decoder, Encoder, max_frame_len};
    use ringtop::transport::tcp::{self, Polled, RemoteSender, SendOutcome};
    use ringtop::transport::{LinkStats, ListenConfig, SenderConfig};
    use std::sync::Arc;

    const FRAMES: u64 = 5_000;
    // Room for about 40 one-row frames.
    let (writer, reader) = ringtop::ring::window::channel(4096).unwrap();
    let (mut listener, mut inbox) = tcp::listen(
        ListenConfig::open("127.0.0.1:0"),
        writer,
        reader,
        Arc::new(LinkStats::default()),
    )
    .unwrap();
    let address = listener.local_addr.to_string();
    let consumer = std::thread::spawn(move || {
        let mut decoder = Decoder::new();
        let (mut rows, mut seqs) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(30);
        while (seqs.len() as u64) < FRAMES && Instant::now() < deadline {
            rows.clear();
            let polled = inbox.poll(|frame| {
                decoder
                    .decode(frame, &mut rows)
                    .map(|h| (h.rows, 0))
                    .map_err(|e| e.to_string())
            });
            match polled {
                Polled::Frame(_) => {
                    seqs.extend(rows.iter().map(|r| r.seq));
                    // Now and then the consumer falls behind, and the window fills.
                    if seqs.len() % 500 == 1 {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                Polled::Dropped(reason) => panic!("dropped: {reason}"),
                _ => std::thread::yield_now(),
            }
        }
        seqs
    });
    let mut sender = RemoteSender::connect(
        SenderConfig {
            address,
            token: None,
            max_frame: max_frame_len(1),
            link_mbps: None,
            connect_timeout: Duration::from_secs(3),
        },
        Arc::new(LinkStats::default()),
    )
    .unwrap();
    let mut encoder = Encoder::new();
    let (mut full, deadline) = (0u64, Instant::now() + Duration::from_secs(30));
    for seq in 0..FRAMES {
        let row = [ringtop::row::Row {
            seq,
            ..Default::default()
        }];
        loop {
            assert!(Instant::now() < deadline, "stuck at frame {seq}");
            match sender.send_frame(max_frame_len(1), 1, |buf| {
                encoder.encode(CodecId::None, &row, buf).ok()
            }) {
                SendOutcome::Sent(_) => break,
                SendOutcome::NoCredit => {
                    full += 1;
                    std::thread::yield_now();
                }
                other => panic!("frame {seq}: {other:?}"),
            }
        }
    }
    let seqs = consumer.join().unwrap();
    assert_eq!(seqs, (0..FRAMES).collect::<Vec<_>>());
    assert!(
        full > 0,
        "the window never filled: the case was not exercised"
    );
    listener.stop();
}

#[test]
fn a_peer_dribbling_its_hello_holds_no_session_and_is_cut_off_at_the_deadline() {
    let mut engine = receiver_with(r#"handshake_timeout = "1500ms""#);
    let address = engine.listen_address().unwrap();
    // A valid hello, one byte every 100 ms: never silent for long, never finished in time.
    let hello = wire::encode_hello(&Hello {
        run_id: 7,
        next_seq: 0,
        max_frame: 4096,
        token: TOKEN.to_owned(),
        boot_id: "x".repeat(40),
    });
    let mut dribbler = TcpStream::connect(&address).unwrap();
    let dribbling = {
        let mut stream = dribbler.try_clone().unwrap();
        std::thread::spawn(move || {
            for byte in hello {
                if stream.write_all(&[byte]).is_err() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            false
        })
    };

    // Meanwhile a real sender connects and delivers.
    let producer = sender(&address, TOKEN, 0).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let sent = producer.stop();
    assert!(sent.totals.produced.unwrap() > 0);
    assert_eq!(
        sent.transport.unwrap().rows_acknowledged,
        sent.totals.produced,
        "the real sender was served while the dribbler was still dribbling"
    );

    let t = wait_for(&mut engine, "the dribbler cut off", |t| t.refused >= 1);
    assert!(
        t.last_error
            .unwrap()
            .contains("did not complete the handshake within 1.5s"),
        "the deadline runs from accept, whatever arrives"
    );
    let mut reply = Vec::new();
    dribbler
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = dribbler.read_to_end(&mut reply);
    assert!(
        String::from_utf8_lossy(&reply).contains("did not complete the handshake"),
        "the dribbler is told why"
    );
    assert!(
        dribbling.join().unwrap(),
        "the connection was closed before the hello was finished"
    );
    assert_eq!(link(&mut engine).sessions, 1);
    let summary = engine.stop();
    assert_eq!(Some(summary.totals.consumed), sent.totals.produced);
}

#[test]
fn after_hostile_peers_a_real_sender_still_moves_every_row() {
    let mut engine = receiver("30s");
    let address = engine.listen_address().unwrap();
    let (mut stream, _) = welcome(&address);
    stream.write_all(&[0xFF; 64]).unwrap();
    assert_dropped(&mut engine, stream, 0, "unknown message tag");

    let producer = sender(&address, TOKEN, 0).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let sent = producer.stop();
    let produced = sent.totals.produced.unwrap();
    assert!(produced > 0);
    let t = sent.transport.unwrap();
    assert_eq!(
        t.rows_acknowledged,
        Some(produced),
        "every row acknowledged"
    );
    assert!(t.round_trip_ns.is_some_and(|r| r.count > 0));
    assert_eq!(
        (t.dropped, t.last_error.as_deref()),
        (0, None),
        "the receiver closing after the goodbye ends the session; it drops nothing"
    );

    let seen = wait_for(&mut engine, "the sender's goodbye", |t| {
        t.sessions == 2 && !t.connected
    });
    assert!(seen.last_error.unwrap().contains("unknown message tag"));
    let summary = engine.stop();
    assert_eq!(summary.totals.consumed, produced);
    assert_eq!(summary.integrity_ok, Some(true), "{:?}", summary.totals);
    // What the sender wrote is the sender's figure: the receiver says it does not know.
    assert_eq!(summary.totals.produced, None);
    assert_eq!(summary.ring.occupancy_rows, None);
    assert_eq!(summary.ring.producer_full_stalls, None);
    let link = summary.transport.unwrap();
    assert_eq!(link.dropped, 1);
    assert_eq!(
        (link.credit_stalls, link.cap_waits),
        (None, None),
        "the waits are the sender's to count"
    );
    assert!(t.credit_stalls.is_some() && t.cap_waits.is_some());
    assert_eq!(
        (link.frames, link.bytes),
        (t.frames, t.bytes),
        "both ends count the same frames and the same bytes on the wire"
    );
    assert!(
        link.one_way_ns.is_some_and(|l| l.count == produced),
        "one host, one clock: every row timed one way"
    );
}

#[test]
fn a_second_sender_is_told_the_ring_is_busy() {
    let mut engine = receiver("30s");
    let address = engine.listen_address().unwrap();
    let mut first = sender(&address, TOKEN, 100_000).unwrap();
    wait_for(&mut engine, "the first sender", |t| t.connected);
    let err = sender(&address, TOKEN, 0).unwrap_err();
    assert!(err.contains("busy"), "{err}");
    assert!(first.snapshot().transport.unwrap().connected);
    let sent = first.stop();
    wait_for(&mut engine, "the first sender to leave", |t| !t.connected);
    let summary = engine.stop();
    assert_eq!(Some(summary.totals.consumed), sent.totals.produced);
    assert_eq!(summary.integrity_ok, Some(true));
}

// Two processes on loopback.

/// Checks a headless line against the schema `ringtop schema` prints.
fn assert_matches_schema(line: &Value) {
    static SCHEMAS: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        let out = ringtop().arg("schema").output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    });
    let validator = jsonschema::validator_for(&schemas["line"]).unwrap();
    let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{line}");
}

/// `ringtop serve --headless --once` on a free port: the child, its stdout, its address.
fn serve(extra: &[&str]) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = ringtop()
        .args([
            "serve",
            "--headless",
            "--once",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "200ms",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let address = common::announced_address(&mut BufReader::new(child.stderr.take().unwrap()));
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout, address)
}

#[test]
fn two_processes_move_a_million_rows_switching_codec_with_nothing_lost() {
    // The receiver's ring is 8192 slots; the sender's profile says 16384, which sizes nothing.
    let (mut server, mut served, address) =
        serve(&["--token", TOKEN, "--set", "ring.capacity=8192"]);
    let dir = std::env::temp_dir().join(format!("ringtop-remote-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("sender.toml");
    std::fs::write(
        &profile,
        r#"
version = 1
[ring]
kind = "spsc"
capacity = 16384
[workload]
rate = 0
[codec]
name = "delta-lz4"
rows_per_frame = 512
[transport]
kind = "tcp"
connect = "127.0.0.1:1"
"#,
    )
    .unwrap();
    // The sender reads its token from a file only its user can read.
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let mut child = ringtop()
        .args(["run", "--headless", "--interval", "100ms", "--profile"])
        .arg(&profile)
        .args(["--connect", &address, "--token-file"])
        .arg(&token_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut switched = false;
    loop {
        let snapshot = next_of(&mut lines, "snapshot");
        let produced = snapshot["totals"]["produced"].as_u64().unwrap();
        if !switched && produced >= 500_000 {
            writeln!(stdin, r#"{{"cmd":"codec","name":"decimal"}}"#).unwrap();
            assert_eq!(next_of(&mut lines, "ack")["type"], "ack");
            // No consumer here reads or times its rows: their latency is the receiver's.
            writeln!(stdin, r#"{{"cmd":"reset_histograms"}}"#).unwrap();
            // The answer, whichever it is: an `ack` would be a reset of nothing.
            let refused = loop {
                let mut line = String::new();
                assert!(lines.read_line(&mut line).unwrap() > 0, "no answer");
                let line: Value = serde_json::from_str(&line).unwrap();
                if line["type"] == "ack" || line["type"] == "error" {
                    break line;
                }
            };
            assert_eq!(refused["type"], "error", "{refused}");
            assert!(
                refused["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("this process sends: its rows are read and timed by the"),
                "{refused}"
            );
            switched = true;
        }
        if switched && produced >= 1_100_000 {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let sent = next_of(&mut lines, "summary");
    assert!(child.wait().unwrap().success());
    assert_matches_schema(&sent);
    let produced = sent["totals"]["produced"].as_u64().unwrap();
    assert!(produced >= 1_000_000, "{produced}");
    assert_eq!(sent["transport"]["rows_acknowledged"], produced);
    assert_eq!(sent["codec"]["name"], "decimal");
    // The ring it wrote into is the receiver's, as the receiver's welcome said.
    assert_eq!(sent["ring"]["capacity"], 8192, "{}", sent["ring"]);

    let mut codecs = std::collections::BTreeSet::new();
    let summary = loop {
        let mut line = String::new();
        assert!(
            served.read_line(&mut line).unwrap() > 0,
            "serve ended early"
        );
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_matches_schema(&value);
        if let Some(name) = value["codec"]["name"].as_str()
            && value["codec"]["raw_bytes"].as_u64() > Some(0)
        {
            codecs.insert(name.to_owned());
        }
        if value["type"] == "summary" {
            break value;
        }
    };
    assert!(server.wait().unwrap().success());
    assert_eq!(summary["totals"]["consumed"], produced);
    for key in ["lost", "duplicated", "reordered"] {
        assert_eq!(summary["totals"][key], 0, "{key}");
    }
    assert_eq!(summary["integrity_ok"], true);
    assert_eq!(summary["ring"]["capacity"], 8192);
    // Its rates are over the time the sender was connected, not its wait for it beforehand.
    let connected_s = summary["transport"]["connected_s"].as_f64().unwrap();
    let elapsed_s = summary["elapsed_s"].as_f64().unwrap();
    assert!(connected_s > 0.0 && connected_s < elapsed_s, "{summary}");
    let over_connected = produced as f64 / connected_s;
    let rows_per_s = summary["totals"]["rows_per_s"].as_f64().unwrap();
    assert!(
        (rows_per_s / over_connected - 1.0).abs() < 1e-4,
        "{rows_per_s} rows/s, but {produced} rows in {connected_s} s connected"
    );
    // The receiver describes itself, not the built-in its ring settings came from (whose
    // description names a codec and an address this link does not use).
    assert_eq!(
        summary["profile_description"],
        "the receiving end of TCP on 127.0.0.1:0: ring settings from `remote-tcp`; the rows, \
         their pace and codec are the sender's; here with ring.capacity=8192 (--set)"
    );
    assert!(
        codecs.contains("delta-lz4") && codecs.contains("decimal"),
        "the receiver decoded both codecs: {codecs:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_a_public_address_without_a_token() {
    let out = ringtop()
        .args(["serve", "--headless", "--listen", "0.0.0.0:0"])
        .env_remove("RINGTOP_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a token"), "{err}");
}

#[test]
fn a_sender_with_nobody_listening_says_what_to_start() {
    let out = ringtop()
        .args(["run", "--headless", "--builtin", "remote-tcp"])
        .args(["--connect", "127.0.0.1:1", "--duration", "1s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to 127.0.0.1:1") && err.contains("ringtop serve --listen"),
        "{err}"
    );
}

#[test]
fn a_sender_outlives_its_receiver_and_reconnects_to_the_next_one() {
    let mut first = receiver("30s");
    let address = first.listen_address().unwrap();
    let mut producer = sender(&address, TOKEN, 200_000).unwrap();
    wait_for(&mut first, "a few frames", |t| t.connected && t.frames > 50);
    let before = first.stop();
    assert!(before.totals.consumed > 0);
    assert_eq!(before.integrity_ok, Some(true));

    // The link is down: the sender says so and keeps trying.
    let start = Instant::now();
    loop {
        let s = producer.snapshot();
        if s.warnings.iter().any(|w| w.contains("is down")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            s.warnings
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // A new receiver on the same address gets the rest of the run.
    let text = format!(
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1024\n[workload]\n\
         [transport]\nkind = \"tcp\"\nlisten = \"{address}\"\ntoken = \"{TOKEN}\"\n"
    );
    let mut second = Engine::start(profile::parse(&text, "second.toml").unwrap()).unwrap();
    wait_for(&mut second, "the sender to come back", |t| t.connected);
    // The receiver counts the session when it welcomes the sender; the sender, once it has read
    // the welcome.
    let start = Instant::now();
    let t = loop {
        let t = producer.snapshot().transport.unwrap();
        if t.connected || start.elapsed() > Duration::from_secs(20) {
            break t;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(t.reconnects, 1, "{t:?}");
    let sent = producer.stop();
    let after = wait_for(&mut second, "the goodbye", |t| !t.connected);
    assert_eq!(after.sessions, 1);
    let summary = second.stop();
    assert_eq!(summary.integrity_ok, Some(true), "{:?}", summary.totals);
    assert!(summary.totals.consumed > 0);
    // Rows in flight when the first receiver went away are missing, never doubled; what the
    // second one consumed was all acknowledged.
    let consumed = before.totals.consumed + summary.totals.consumed;
    assert!(consumed <= sent.totals.produced.unwrap());
    let acked = sent.transport.unwrap().rows_acknowledged.unwrap();
    assert!(
        acked <= consumed && acked >= summary.totals.consumed,
        "{acked} {consumed}"
    );
}

mod hostile_bytes {
    use super::*;
    use proptest::prelude::*;
    use ringtop::ring::window;

    proptest! {
        /// Whatever a peer sends, reading it ends in a message or an error, never a panic, and
        /// nothing is allocated beyond the fixed limits.
        #[test]
        fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let patience = Patience::idle(Duration::from_millis(1), &|| false);
            let _ = Inbound::new(&bytes[..]).hello(&patience);
            let _ = Inbound::new(&bytes[..]).reply(&patience);
            let mut inbound = Inbound::new(&bytes[..]);
            for _ in 0..8 {
                if inbound.message(&patience).is_err() {
                    break;
                }
            }
            let mut polled = Inbound::new(&bytes[..]);
            while let Ok(Some(_)) = polled.try_message() {}
        }

        /// Any sequence of writes and tails a peer could send either applies or is refused, and
        /// the reader, whatever was published, returns records that lie inside what was
        /// published or an error.
        #[test]
        fn arbitrary_writes_and_tails_keep_the_reader_inside_the_window(
            ops in proptest::collection::vec(
                (any::<bool>(), 0u64..300, 0usize..80, any::<u8>()), 1..40)
        ) {
            let (mut writer, mut reader) = window::channel(256).unwrap();
            for (is_tail, at, len, fill) in ops {
                if is_tail {
                    let _ = writer.publish(at);
                } else if let Ok(slice) = writer.free_slice(at, len) {
                    slice.fill(fill);
                }
                for _ in 0..4 {
                    let head = reader.head();
                    match reader.try_read() {
                        Ok(Some(record)) => {
                            prop_assert!(record.payload().len() <= window::max_payload(256) + 128);
                            record.release();
                            prop_assert!(reader.head() > head);
                            prop_assert!(reader.head() <= reader.published());
                        }
                        Ok(None) => break,
                        Err(_) => {
                            reader.discard_published();
                            break;
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn interrupting_serve_mid_stream_still_prints_its_summary_and_the_sender_notices() {
    let (mut server, mut served, address) = serve(&[]);
    let mut sender = ringtop()
        .args(["run", "--headless", "--builtin", "remote-tcp"])
        .args(["--connect", &address, "--interval", "100ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sent = BufReader::new(sender.stdout.take().unwrap());
    loop {
        let snapshot = next_of(&mut served, "snapshot");
        if snapshot["totals"]["consumed"].as_u64() > Some(10_000) {
            break;
        }
    }
    let kill = |pid: u32| {
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
    };
    assert!(kill(server.id()).success());
    let summary = next_of(&mut served, "summary");
    assert!(server.wait().unwrap().success());
    assert!(summary["totals"]["consumed"].as_u64() > Some(10_000));
    assert_eq!(summary["integrity_ok"], true);

    // The sender notices, says so, and keeps running.
    loop {
        let snapshot = next_of(&mut sent, "snapshot");
        let warnings = snapshot["warnings"].to_string();
        if warnings.contains("is down") {
            assert_eq!(snapshot["transport"]["connected"], false);
            break;
        }
    }
    assert!(kill(sender.id()).success());
    let summary = next_of(&mut sent, "summary");
    assert!(sender.wait().unwrap().success());
    assert!(summary["transport"]["dropped"].as_u64() >= Some(1));
}

/// A fake receiver on loopback: accepts one sender, reads its hello, answers `welcome`, then sends
/// `then` (credits, say) and keeps the connection open for a while.
fn lying_receiver(welcome: Reply, then: Vec<Message>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello);
        stream.write_all(&wire::encode_reply(&welcome)).unwrap();
        let mut bytes = Vec::new();
        for message in &then {
            wire::encode_message(&mut bytes, message);
        }
        stream.write_all(&bytes).unwrap();
        std::thread::sleep(Duration::from_secs(3));
    });
    address
}

fn sender_config(address: String) -> ringtop::transport::SenderConfig {
    ringtop::transport::SenderConfig {
        address,
        token: None,
        max_frame: 1024,
        link_mbps: None,
        connect_timeout: Duration::from_secs(3),
    }
}

#[test]
fn a_sender_refuses_a_window_too_small_for_the_records_it_promises() {
    use ringtop::transport::tcp::RemoteSender;
    for (capacity, max_payload) in [(1, 1 << 20), (8, 1 << 20), (4096, 4096)] {
        let address = lying_receiver(
            Reply::Welcome {
                capacity,
                start: 0,
                max_payload,
            },
            Vec::new(),
        );
        let stats = std::sync::Arc::new(ringtop::transport::LinkStats::default());
        let err = RemoteSender::connect(sender_config(address), stats).unwrap_err();
        assert!(
            err.to_string()
                .contains("not a ring this sender can place records in"),
            "{capacity}/{max_payload}: {err}"
        );
    }
}

#[test]
fn a_sender_drops_a_receiver_that_credits_past_what_was_sent() {
    use ringtop::transport::{SendOutcome, tcp::RemoteSender};
    let address = lying_receiver(
        Reply::Welcome {
            capacity: 4096,
            start: 0,
            max_payload: 2040,
        },
        vec![Message::Credit {
            head: 1 << 40,
            echo_stamp: 0,
            rows: 0,
        }],
    );
    let stats = std::sync::Arc::new(ringtop::transport::LinkStats::default());
    let mut sender = RemoteSender::connect(sender_config(address), stats.clone()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let outcome = sender.send_frame(64, 1, |buf: &mut [u8]| {
        buf[..8].copy_from_slice(&[1; 8]);
        Some(8)
    });
    assert_eq!(outcome, SendOutcome::LinkDown);
    let error = stats.error().unwrap_or_default();
    assert!(
        error.contains("protocol error: the receiver credited position 1099511627776"),
        "{error}"
    );
}
