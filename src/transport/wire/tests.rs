use super::*;

fn patience() -> Patience<'static> {
    Patience::idle(Duration::from_secs(1), &|| false)
}

#[test]
fn every_message_reads_back_as_written() {
    let hello = Hello {
        run_id: 7,
        next_seq: 1 << 40,
        max_frame: 65_536,
        token: "sesame".into(),
        boot_id: "boot".into(),
    };
    let welcome = Reply::Welcome {
        capacity: 1 << 20,
        start: 4096,
        max_payload: 1 << 19,
    };
    let refused = Reply::Refused("wrong token".into());
    let messages = [
        Message::Tail(99),
        Message::Bye(1_000_000),
        Message::Credit {
            head: 1,
            echo_stamp: 2,
            rows: 3,
        },
        Message::Error("window overrun".into()),
    ];
    let mut bytes = encode_hello(&hello);
    bytes.extend(encode_reply(&welcome));
    bytes.extend(encode_reply(&refused));
    for m in &messages {
        encode_message(&mut bytes, m);
    }
    let mut inbound = Inbound::new(&bytes[..]);
    assert_eq!(inbound.hello(&patience()).unwrap(), hello);
    assert_eq!(inbound.reply(&patience()).unwrap(), welcome);
    assert_eq!(inbound.reply(&patience()).unwrap(), refused);
    for m in &messages {
        assert_eq!(&inbound.message(&patience()).unwrap(), m);
    }
    assert!(matches!(
        inbound.message(&patience()),
        Err(LinkError::Closed)
    ));
}

#[test]
fn the_size_constants_are_what_the_encoder_writes() {
    let size = |m: &Message| {
        let mut bytes = Vec::new();
        encode_message(&mut bytes, m);
        bytes.len()
    };
    assert_eq!(size(&Message::Write { offset: 1, len: 2 }), WRITE_HEADER);
    assert_eq!(size(&Message::Tail(u64::MAX)), POSITION_MESSAGE);
    assert_eq!(size(&Message::Bye(0)), POSITION_MESSAGE);
}

/// Hands out its bytes a few at a time, then says "would block" once between chunks.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    blocked: bool,
}

impl Read for Trickle {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.blocked = !self.blocked;
        if self.blocked {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = 3.min(out.len()).min(self.bytes.len() - self.at);
        out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn polling_returns_whole_messages_only() {
    let messages = [
        Message::Credit {
            head: 8,
            echo_stamp: 9,
            rows: 10,
        },
        Message::Error("gone".into()),
        Message::Tail(4),
    ];
    let mut bytes = Vec::new();
    for m in &messages {
        encode_message(&mut bytes, m);
    }
    let mut inbound = Inbound::new(Trickle {
        bytes,
        at: 0,
        blocked: false,
    });
    let mut got = Vec::new();
    loop {
        match inbound.try_message() {
            Ok(Some(m)) => got.push(m),
            Ok(None) => {}
            Err(LinkError::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, messages);
}

/// Counts the reads made of it; hands out its bytes all at once, then "would block".
struct Counted<'a> {
    bytes: &'a [u8],
    reads: usize,
}

impl Read for Counted<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        if self.bytes.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

#[test]
fn buffered_messages_are_taken_without_reading_the_stream() {
    let messages = [Message::Tail(8), Message::Tail(16)];
    let mut bytes = Vec::new();
    for m in &messages {
        encode_message(&mut bytes, m);
    }
    // The second message is cut: its last byte has not arrived.
    let mut inbound = Inbound::new(Counted {
        bytes: &bytes[..bytes.len() - 1],
        reads: 0,
    });
    assert_eq!(inbound.next_message(Fetch::BufferOnly).unwrap(), None);
    assert_eq!(inbound.stream.reads, 0, "nothing buffered, nothing read");
    assert_eq!(
        inbound.next_message(Fetch::Stream).unwrap(),
        Some(Message::Tail(8))
    );
    assert_eq!(inbound.stream.reads, 1);
    assert_eq!(inbound.buffered_len(), 8);
    assert_eq!(
        inbound.next_message(Fetch::BufferOnly).unwrap(),
        None,
        "half a message"
    );
    assert_eq!(inbound.stream.reads, 1, "the buffer alone was looked at");
    assert_eq!(inbound.next_message(Fetch::Stream).unwrap(), None);
    assert_eq!(inbound.stream.reads, 2, "a stream fetch reads on");
}

#[test]
fn body_bytes_come_from_the_buffer_first_and_from_the_stream_only_when_allowed() {
    // A message and three body bytes after it, read in one go.
    let mut bytes = Vec::new();
    encode_message(&mut bytes, &Message::Tail(8));
    bytes.extend_from_slice(&[1, 2, 3]);
    let mut inbound = Inbound::new(Counted {
        bytes: &bytes,
        reads: 0,
    });
    assert_eq!(
        inbound.next_message(Fetch::Stream).unwrap(),
        Some(Message::Tail(8))
    );
    assert_eq!(inbound.stream.reads, 1);
    let mut out = [0; 4];
    let n = inbound
        .try_read_some(&mut out, 0, Fetch::BufferOnly)
        .unwrap();
    assert_eq!((n, out), (3, [1, 2, 3, 0]), "what the buffer holds");
    let n = inbound
        .try_read_some(&mut out, 3, Fetch::BufferOnly)
        .unwrap();
    assert_eq!(
        (n, inbound.stream.reads),
        (0, 1),
        "an empty buffer, no read"
    );
    let n = inbound.try_read_some(&mut out, 3, Fetch::Stream).unwrap();
    assert_eq!((n, inbound.stream.reads), (0, 2), "a stream fetch reads on");
}

#[test]
fn a_message_cut_short_says_how_much_arrived() {
    let mut bytes = Vec::new();
    encode_message(&mut bytes, &Message::Tail(5));
    let mut inbound = Inbound::new(&bytes[..4]);
    let err = inbound.message(&patience()).unwrap_err();
    assert_eq!(err.to_string(), "peer stopped mid-message (4 of 9 bytes)");
}

#[test]
fn strangers_and_oversized_fields_are_refused_before_allocation() {
    let mut inbound = Inbound::new(&b"GET / HTTP/1.1\r\n"[..]);
    let err = inbound.hello(&patience()).unwrap_err();
    assert!(err.to_string().contains("not a ringtop peer"), "{err}");

    let mut bytes = encode_hello(&Hello {
        run_id: 1,
        next_seq: 0,
        max_frame: 1,
        token: String::new(),
        boot_id: String::new(),
    });
    bytes[26..28].copy_from_slice(&u16::MAX.to_le_bytes());
    let err = Inbound::new(&bytes[..]).hello(&patience()).unwrap_err();
    assert!(err.to_string().contains("token of 65535 bytes"), "{err}");

    let err = Inbound::new(&[0x5a, 0, 0][..])
        .message(&patience())
        .unwrap_err();
    assert_eq!(err.to_string(), "protocol error: unknown message tag 0x5a");
}
