use std::time::Instant;

use super::*;

#[test]
fn a_ring_past_the_largest_window_is_refused_not_shrunk() {
    // Wrapped or saturated arithmetic once made any such capacity a 4 KiB window.
    for capacity in [usize::MAX, usize::MAX / 64, (layout::MAX_WINDOW / 64) + 1] {
        let err =
            ItemReceiver::<[u64; 8]>::create("never-created", capacity, WaitStrategy::spin_park())
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("need more than the largest window (1024 MiB)"),
            "{capacity}: {err}"
        );
    }
}

#[test]
fn zero_sized_items_are_refused_before_any_file_is_touched() {
    let err = ItemSender::<()>::open("never-created").unwrap_err();
    assert!(err.to_string().contains("zero-sized"), "{err}");
    let err = ItemReceiver::<[u8; 0]>::create("never-created", 16, WaitStrategy::spin_park())
        .unwrap_err();
    assert!(err.to_string().contains("zero-sized"), "{err}");
}

#[test]
fn a_receive_with_nothing_to_take_waits_out_its_timeout() {
    let name = format!("empty-recv-{}", std::process::id());
    let mut receiver =
        ItemReceiver::<u64>::create(&name, 64, WaitStrategy::BusySpin).expect("create");
    let wait = Duration::from_millis(30);
    let start = Instant::now();
    assert_eq!(
        receiver.recv(wait),
        ReceivedItem::Other(Received::Nothing),
        "no sender, nothing to take"
    );
    assert!(
        start.elapsed() >= wait,
        "gave up after {:?} of {wait:?}",
        start.elapsed()
    );
    // A zero timeout is one look.
    assert_eq!(
        receiver.recv(Duration::ZERO),
        ReceivedItem::Other(Received::Nothing)
    );
}

#[test]
fn waits_without_end_take_what_comes() {
    let name = format!("endless-{}", std::process::id());
    let mut receiver =
        ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::spin_park()).expect("create");
    let mut sender = ItemSender::<[u64; 8]>::open(&name).expect("open");
    assert!(matches!(
        receiver.recv(Duration::MAX),
        ReceivedItem::Other(Received::SenderConnected(_))
    ));
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        for i in 0..66 {
            // The first waits for the receiver (asleep after it), the last for room.
            sender.send(&[i; 8], Duration::MAX).expect("sent");
        }
        sender
    });
    for i in 0..66 {
        // The first waits for the sender, asleep.
        assert_eq!(receiver.recv(Duration::MAX), ReceivedItem::Item([i; 8]));
        if i == 0 {
            // The sender fills the window's 64 slots and waits with the 66th.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let sender = late.join().expect("the sender");
    assert_eq!(
        sender.finish(Duration::MAX),
        66,
        "every item read, and said so"
    );
}

#[test]
fn a_send_into_a_full_window_gives_up_after_its_timeout() {
    let name = format!("full-send-{}", std::process::id());
    let _receiver =
        ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::BusySpin).expect("create");
    let mut sender = ItemSender::<[u64; 8]>::open(&name).expect("open");
    for i in 0..64 {
        sender
            .send(&[i; 8], Duration::from_secs(1))
            .expect("room for the window's items");
    }
    let wait = Duration::from_millis(30);
    let start = Instant::now();
    let error = sender.send(&[64; 8], wait).expect_err("nobody reads");
    assert!(matches!(error, LinkError::Idle(_)), "{error}");
    assert!(
        start.elapsed() >= wait,
        "gave up after {:?} of {wait:?}",
        start.elapsed()
    );
}

#[test]
fn a_sender_waiting_on_a_full_window_looks_at_the_receivers_lock_once_a_millisecond() {
    let name = format!("full-window-{}", std::process::id());
    let receiver =
        ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::BusySpin).expect("create");
    let mut sender = ItemSender::<[u64; 8]>::open(&name).expect("open");
    let mut sent = 0u64;
    while sender.try_send(&[sent; 8]).expect("send") {
        sent += 1;
    }
    assert_eq!(sent, 64, "the window holds what it says");
    // Nobody reads: every try finds the window full.
    let before = sender.sender.lock_checks();
    let start = Instant::now();
    let mut tries = 0u64;
    while start.elapsed() < Duration::from_millis(50) {
        assert!(!sender.try_send(&[0; 8]).expect("the receiver is alive"));
        tries += 1;
    }
    let checks = sender.sender.lock_checks() - before;
    let allowed = start.elapsed().as_millis() as u64 + 1;
    assert!(
        tries > 2 * allowed && checks <= allowed,
        "{checks} looks at the lock in {tries} tries over {allowed} ms"
    );
    drop(receiver);
    // A receiver gone is still noticed while the window stays full.
    let start = Instant::now();
    let error = loop {
        match sender.try_send(&[0; 8]) {
            Ok(sent) => assert!(!sent, "room in a window nobody read"),
            Err(e) => break e.to_string(),
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "still sending a second after the receiver went"
        );
    };
    assert!(error.contains("gone"), "{error}");
}

#[test]
fn a_senders_watch_keeps_the_credited_head_inside_the_ring_and_goes_with_the_sender() {
    use crate::transport::shm::layout::credit;

    let name = format!("sender-watch-{}", std::process::id());
    let mut receiver = ItemReceiver::<u64>::create(&name, 256, WaitStrategy::BusySpin).unwrap();
    let mut sender = ItemSender::<u64>::open(&name).unwrap();
    let watch = sender.watch().unwrap();
    assert_eq!(
        (watch.kind(), watch.capacity(), watch.item_bytes()),
        ("shm-items-sender", 256, 8)
    );
    let positions = |watch: &Arc<dyn RingWatch>| {
        let mut heads = [u64::MAX; 1];
        watch.positions(&mut heads).map(|tail| (heads[0], tail))
    };
    assert_eq!(positions(&watch), Some((0, 0)));
    for i in 0..10 {
        assert!(sender.try_send(&i).unwrap());
    }
    // Sent, and nothing credited yet.
    assert_eq!(positions(&watch), Some((0, 10)));
    // The sender's arrival first, then its items.
    assert!(matches!(
        receiver.recv(Duration::from_secs(5)),
        ReceivedItem::Other(Received::SenderConnected(_))
    ));
    for i in 0..10 {
        assert_eq!(receiver.try_recv(), ReceivedItem::Item(i));
    }
    // All read: credited.
    assert_eq!(positions(&watch), Some((10, 10)));
    // A credit past the tail (a receiver writing nonsense) is taken no further than the tail;
    // one going back leaves the head where it was.
    let segment = &receiver.shared.segment;
    let session = segment.u64_at(credit::SESSION).load(Acquire);
    let seq = segment.write_credit(segment.credit_seq(), 1 << 40, 0, 0, session);
    assert_eq!(positions(&watch), Some((10, 10)));
    segment.write_credit(seq, 0, 0, 0, session);
    assert_eq!(positions(&watch), Some((10, 10)));
    // The tail is the sender's own count, not the file's word.
    segment.u64_at(layout::TAIL).store(1 << 40, Release);
    assert_eq!(positions(&watch), Some((10, 10)));
    // The window's pages as the sender maps them, while it lives.
    let memory = watch.memory().unwrap();
    assert_eq!(memory.bytes, 256 * 16);
    drop(sender);
    assert_eq!(positions(&watch), None);
    assert_eq!(watch.memory(), None);
}
