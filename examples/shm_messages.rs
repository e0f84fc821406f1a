//! Two programs talking through a shared-memory ring (`ringtop::transport::shm::messages`).
//!
//! ```text
//! cargo run --release --example shm_messages -- receive orders 100000
//! cargo run --release --example shm_messages -- send orders 100000      # in another terminal
//! ```
//!
//! The sender sends `COUNT` messages of 8 to 200 bytes: a sequence number, then bytes derived
//! from it. The receiver checks every one (in order, none missing, none altered) and prints
//! `received COUNT messages in order` when the sender has said goodbye.

use std::process::ExitCode;
use std::time::Duration;

use ringtop::ring::WaitStrategy;
use ringtop::transport::shm::messages::{MessageReceiver, MessageSender, Received};

/// Message `n`: its number, then `n % 193` bytes that depend on it.
fn message(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.extend((0..n % 193).map(|i| (n as u8).wrapping_mul(31).wrapping_add(i as u8)));
    bytes
}

fn receive(name: &str, count: u64) -> Result<(), String> {
    let mut rx = MessageReceiver::create(name, 1 << 20, WaitStrategy::spin_park())
        .map_err(|e| e.to_string())?;
    eprintln!("ready: {}", rx.path());
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
    let mut tx = MessageSender::open(name, 256).map_err(|e| e.to_string())?;
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
        eprintln!("usage: shm_messages receive|send NAME COUNT");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<u64>() else {
        eprintln!("COUNT must be a whole number");
        return ExitCode::from(2);
    };
    let done = match role.as_str() {
        "receive" => receive(name, count),
        "send" => send(name, count),
        _ => Err("the role is receive or send".into()),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shm_messages: {e}");
            ExitCode::FAILURE
        }
    }
}
