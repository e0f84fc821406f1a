//! Two programs talking through a shared-memory ring (`ringtop::transport::shm::messages`).
//!
//! ```text
//! cargo run --release --example shm_messages -- receive orders 100000
//! cargo run --release --example shm_messages -- send orders 100000      # in another terminal
//! cargo run --release --example shm_messages -- receive-items quotes 100000
//! cargo run --release --example shm_messages -- send-items quotes 100000
//! ```
//!
//! `send` sends `COUNT` messages of 8 to 400 bytes: a sequence number, then bytes derived from
//! it. `send-items` sends `COUNT` [`Quote`]s, fixed-size items of a plain-old-data type. The
//! receiver checks every one (in order, none missing, none altered) and prints `received COUNT
//! messages in order` (or `items`) when the sender has said goodbye. `serve-items NAME SENDERS`
//! takes `Quote`s from that many senders one after another (each counting from 0, checked the
//! same way) and prints how many each delivered and how it left: a sender killed mid-stream
//! included. A receiving role given a `CPU` after its count runs pinned to that CPU with its
//! ring's window on the CPU's NUMA node, placed before a sender writes it, and prints where the
//! window's pages are (`window: 64 KiB on node 0 (bound to node 0), 4 KiB pages`). The
//! receivers publish their ring for `ringtop attach shm_messages` (items, or bytes of messages,
//! sent and read, fill, lag, where the window's pages are, the receiver's thread), the senders
//! theirs for `ringtop attach shm_messages_sender` (the same, with the sender's thread, and what
//! was read as the receiver last credited it).

use std::process::ExitCode;
use std::time::Duration;

use ringtop::monitor::{self, Monitor};
use ringtop::ring::WaitStrategy;
use ringtop::topology::{MemoryPlacement, NodeChoice, NumaAlloc, pin};
use ringtop::transport::shm::items::{ItemReceiver, ItemSender, Pod, ReceivedItem, Zeroable};
use ringtop::transport::shm::messages::{MessageReceiver, MessageSender, Received};

/// A fixed-size item: plain old data, so it crosses as its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
#[repr(C)]
struct Quote {
    seq: u64,
    price: f64,
    quantity: u32,
    side: u32,
}

/// Quote `n`.
fn quote(n: u64) -> Quote {
    Quote {
        seq: n,
        price: 100.0 + (n % 1000) as f64 / 100.0,
        quantity: (n % 500) as u32 + 1,
        side: (n % 2) as u32,
    }
}

/// With a CPU: pins this thread to it and gives the placement of memory on its node (the
/// receiver reads every slot of its ring: its window belongs there).
fn reader_on(cpu: Option<usize>) -> Result<Option<NumaAlloc>, String> {
    let Some(cpu) = cpu else { return Ok(None) };
    pin::pin_current_thread(cpu).map_err(|e| e.to_string())?;
    NumaAlloc::new(MemoryPlacement {
        node: NodeChoice::LocalTo(cpu),
        huge_pages: false,
    })
    .map(Some)
    .map_err(|e| e.to_string())
}

fn receive_items(name: &str, count: u64, cpu: Option<usize>) -> Result<(), String> {
    const WAIT: WaitStrategy = WaitStrategy::spin_park();
    let rx = match reader_on(cpu)? {
        Some(placement) => ItemReceiver::<Quote>::create_on(name, 4096, WAIT, &placement),
        None => ItemReceiver::<Quote>::create(name, 4096, WAIT),
    }
    .map_err(|e| e.to_string())?;
    let registry = monitor::publish("shm_messages").map_err(|e| e.to_string())?;
    let mut rx = rx.monitor(&registry, name).map_err(|e| e.to_string())?;
    eprintln!("ready: {}", rx.path());
    if cpu.is_some() {
        println!("window: {}", rx.memory().summary());
    }
    let mut next = 0u64;
    loop {
        match rx.recv(Duration::from_secs(10)) {
            ReceivedItem::Item(q) if q == quote(next) => next += 1,
            ReceivedItem::Item(q) => return Err(format!("item {next} arrived as {q:?}")),
            ReceivedItem::Other(Received::SenderLeft { sent, reason }) => {
                if sent != Some(count) || next != count {
                    return Err(format!(
                        "the sender left ({reason}) having sent {sent:?}; {next} of {count} read"
                    ));
                }
                println!("received {count} items in order");
                return Ok(());
            }
            ReceivedItem::Other(Received::Nothing) => {
                return Err(format!("nothing for 10 s after {next} items"));
            }
            ReceivedItem::Other(Received::SenderDropped(reason)) => {
                return Err(format!("sender dropped: {reason}"));
            }
            ReceivedItem::Other(_) => {}
        }
    }
}

/// Takes items from `senders` senders, one after another, each of whose quotes must run from 0
/// in order; prints for each how many it read and how it left.
fn serve_items(name: &str, senders: u64) -> Result<(), String> {
    let registry = monitor::publish("shm_messages").map_err(|e| e.to_string())?;
    let mut rx = ItemReceiver::<Quote>::create(name, 4096, WaitStrategy::spin_park())
        .map_err(|e| e.to_string())?
        .monitor(&registry, name)
        .map_err(|e| e.to_string())?;
    eprintln!("ready: {}", rx.path());
    let (mut sender, mut next) = (1u64, 0u64);
    while sender <= senders {
        match rx.recv(Duration::from_secs(30)) {
            ReceivedItem::Item(q) if q == quote(next) => next += 1,
            ReceivedItem::Item(q) => {
                return Err(format!("sender {sender}: item {next} arrived as {q:?}"));
            }
            ReceivedItem::Other(Received::SenderLeft { sent, reason }) => {
                match sent {
                    Some(sent) if sent != next => {
                        return Err(format!("sender {sender} said {sent}; {next} read"));
                    }
                    Some(_) => println!("sender {sender}: {next} items in order; it said so"),
                    None => println!("sender {sender}: {next} items in order; {reason}"),
                }
                (sender, next) = (sender + 1, 0);
            }
            ReceivedItem::Other(Received::Nothing) => {
                return Err(format!("nothing for 30 s from sender {sender}"));
            }
            ReceivedItem::Other(Received::SenderDropped(reason)) => {
                return Err(format!("sender {sender} dropped: {reason}"));
            }
            ReceivedItem::Other(_) => {}
        }
    }
    Ok(())
}

/// The name the sending roles publish their ring under (the receivers': `shm_messages`).
const SENDER_PROGRAM: &str = "shm_messages_sender";

fn send_items(name: &str, count: u64) -> Result<(), String> {
    let registry = monitor::publish(SENDER_PROGRAM).map_err(|e| e.to_string())?;
    let mut tx = ItemSender::<Quote>::open(name)
        .map_err(|e| e.to_string())?
        .monitor(&registry, name)
        .map_err(|e| e.to_string())?;
    for n in 0..count {
        tx.send(&quote(n), Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
    }
    let read = tx.finish(Duration::from_secs(10));
    println!("sent {count} items, {read} read");
    Ok(())
}

/// Message `n`: its number, then `n % 393` bytes that depend on it (short ones and long ones:
/// the sender copies records up to 256 bytes in one piece, longer ones in three).
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.extend((0..n % 393).map(|i| (n as u8).wrapping_mul(31).wrapping_add(i as u8)));
    bytes
}

fn receive(name: &str, count: u64, cpu: Option<usize>) -> Result<(), String> {
    const WAIT: WaitStrategy = WaitStrategy::spin_park();
    let rx = match reader_on(cpu)? {
        Some(placement) => MessageReceiver::create_on(name, 1 << 20, WAIT, &placement),
        None => MessageReceiver::create(name, 1 << 20, WAIT),
    }
    .map_err(|e| e.to_string())?;
    let registry = monitor::publish("shm_messages").map_err(|e| e.to_string())?;
    let mut rx = rx.monitor(&registry, name).map_err(|e| e.to_string())?;
    eprintln!("ready: {}", rx.path());
    if cpu.is_some() {
        println!("window: {}", rx.memory().summary());
    }
    let mut next = 0u64;
    let mut buffer = Vec::new();
    loop {
        match rx.recv(&mut buffer, Duration::from_secs(10)) {
            Received::Message => {
                if buffer != message(next) {
                    return Err(format!("message {next} arrived altered or out of order"));
                }
                next += 1;
            }
            Received::SenderLeft { sent, reason } => {
                if sent != Some(count) || next != count {
                    return Err(format!(
                        "the sender left ({reason}) having sent {sent:?}; {next} of {count} read"
                    ));
                }
                println!("received {count} messages in order");
                return Ok(());
            }
            Received::SenderDropped(reason) => return Err(format!("sender dropped: {reason}")),
            Received::SenderConnected(_) => {}
            Received::Nothing => return Err(format!("nothing for 10 s after {next} messages")),
        }
    }
}

fn send(name: &str, count: u64) -> Result<(), String> {
    let registry = monitor::publish(SENDER_PROGRAM).map_err(|e| e.to_string())?;
    let mut tx = MessageSender::open(name, 400)
        .map_err(|e| e.to_string())?
        .monitor(&registry, name)
        .map_err(|e| e.to_string())?;
    for n in 0..count {
        tx.send(&message(n), Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
    }
    let read = tx.finish(Duration::from_secs(10));
    println!("sent {count} messages, {read} read");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(role), Some(name), Some(count)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!(
            "usage: shm_messages receive|receive-items NAME COUNT [CPU]\n       \
             shm_messages send|send-items NAME COUNT\n       \
             shm_messages serve-items NAME SENDERS"
        );
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<u64>() else {
        eprintln!("COUNT must be a whole number");
        return ExitCode::from(2);
    };
    let cpu = match args.get(3).map(|cpu| cpu.parse::<usize>()) {
        None => None,
        Some(Ok(cpu)) if role.starts_with("receive") => Some(cpu),
        Some(_) => {
            eprintln!("CPU (after a receiving role's COUNT) must be a CPU's number");
            return ExitCode::from(2);
        }
    };
    let done = match role.as_str() {
        "receive" => receive(name, count, cpu),
        "send" => send(name, count),
        "receive-items" => receive_items(name, count, cpu),
        "send-items" => send_items(name, count),
        "serve-items" => serve_items(name, count),
        _ => Err("the role is receive, send, receive-items, send-items or serve-items".into()),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shm_messages: {e}");
            ExitCode::FAILURE
        }
    }
}
