use super::*;

#[test]
fn stats_count_reloads_with_news_and_stall_episodes_once() {
    let (mut tx, mut rx) = channel::<u32>(2).unwrap();
    tx.try_push(1).unwrap();
    tx.try_push(2).unwrap();
    for _ in 0..5 {
        assert_eq!(tx.try_push(3), Err(3));
    }
    assert_eq!(
        tx.stats(),
        EndpointStats {
            index_reloads: 0,
            stalls: 1,
            chase_backoffs: 0,
        }
    );
    assert_eq!(rx.try_pop(), Some(1));
    // The reload that found 1 and 2 is judged at the next reload, but counted here at once.
    assert_eq!(rx.stats().index_reloads, 1);
    tx.try_push(3).unwrap();
    assert_eq!(
        tx.stats(),
        EndpointStats {
            index_reloads: 1,
            stalls: 1,
            chase_backoffs: 0,
        }
    );
    assert_eq!(rx.try_pop(), Some(2));
    assert_eq!(rx.try_pop(), Some(3));
    assert_eq!(rx.try_pop(), None);
    assert_eq!(rx.try_pop(), None);
    // One reload saw 1 and 2, the next saw 3: one small reload after progress is not yet a
    // chase (an answer that beat the poll looks the same), so nothing falls back.
    assert_eq!(
        rx.stats(),
        EndpointStats {
            index_reloads: 2,
            stalls: 1,
            chase_backoffs: 0,
        }
    );
}

#[test]
fn a_sustained_chase_falls_back_and_an_answer_that_beats_the_poll_does_not() {
    // Request/response where the answer is there before the asker's first poll, now and then:
    // one small reload after progress, between empty polls.
    let (mut tx, mut rx) = channel::<u64>(64).unwrap();
    for i in 0..300 {
        tx.try_push(i).unwrap();
        assert_eq!(rx.try_pop(), Some(i));
        if i % 3 != 0 {
            assert_eq!(rx.try_pop(), None);
        }
    }
    assert_eq!(rx.stats().chase_backoffs, 0);

    // A streaming producer: one item ahead twice in a row (a chase: the second small reload owes
    // a back-off), then, while the consumer spins that off, a line and more ahead (the back-off
    // paid). Every cycle after the first (whose first reload follows none) falls back once.
    let (mut tx, mut rx) = channel::<u64>(64).unwrap();
    let mut next = 0;
    for _ in 0..10 {
        for burst in [1, 1, 10] {
            for _ in 0..burst {
                tx.try_push(next).unwrap();
                next += 1;
            }
            for _ in 0..burst {
                assert!(rx.try_pop().is_some());
            }
        }
    }
    assert_eq!(rx.stats().chase_backoffs, 9);
}

#[test]
fn a_consumer_that_polls_before_it_waits_with_is_empty_stalls_and_never_chases() {
    // A paced feed read as the engine reads it: one poll finds the ring empty (a stall, counted
    // once), the looks after it are `is_empty()`, which count nothing, then a chunk that asks for
    // more than is ready takes the lone item. Each item was waited for: a stall each, no chase.
    let (mut tx, mut rx) = channel::<u64>(64).unwrap();
    for i in 0..300 {
        assert!(rx.read_chunk(1).is_empty());
        assert!(rx.is_empty());
        tx.try_push(i).unwrap();
        assert!(!rx.is_empty());
        let chunk = rx.read_chunk(16);
        assert_eq!(chunk.len(), 1);
        chunk.release();
    }
    let stats = rx.stats();
    assert_eq!((stats.stalls, stats.chase_backoffs), (300, 0));

    // Waiting with `is_empty()` alone, the consumer cannot know it waited: reload after reload
    // finds one item right after the last, as a chase does, and it falls back (once here: the
    // back-off cannot pay on one thread, so the looking pauses).
    let (mut tx, mut rx) = channel::<u64>(64).unwrap();
    for i in 0..300 {
        assert!(rx.is_empty());
        tx.try_push(i).unwrap();
        let chunk = rx.read_chunk(16);
        assert_eq!(chunk.len(), 1);
        chunk.release();
    }
    let stats = rx.stats();
    assert_eq!((stats.stalls, stats.chase_backoffs), (0, 1));
}

#[test]
fn a_back_off_that_does_not_pay_stops_the_looking_for_a_while() {
    // Request/response where every answer beats the next poll: the producer is one item ahead
    // reload after reload, and still one item ahead after the back-off, because it waits on
    // this side. The first chase falls back once; the reload after it finds the producer no
    // further ahead, so no chase is looked for in the next QUIET_RELOADS reloads with news.
    let (mut tx, mut rx) = channel::<u64>(64).unwrap();
    let trips = 3 * QUIET_RELOADS as u64;
    for i in 0..trips {
        tx.try_push(i).unwrap();
        assert_eq!(rx.try_pop(), Some(i));
    }
    // Back-offs spun at reloads 4, 4 + (QUIET_RELOADS + 3) and 4 + 2 (QUIET_RELOADS + 3): three,
    // where a consumer that kept looking fell back at every second reload.
    assert_eq!(rx.stats().chase_backoffs, 3);
}

#[test]
fn fill_with_across_the_wrap_and_through_a_panic_drops_each_item_once() {
    use std::sync::atomic::AtomicUsize as Count;
    struct Counted<'a>(u32, &'a Count);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.1.fetch_add(1, Relaxed);
        }
    }
    let drops = Count::new(0);
    let (mut tx, mut rx) = channel::<Counted>(8).unwrap();
    // Move the positions to 6 so the next chunk of 5 wraps: slots 6, 7, 0, 1, 2.
    for i in 0..6 {
        assert!(tx.try_push(Counted(i, &drops)).is_ok());
        assert_eq!(rx.try_pop().map(|c| c.0), Some(i));
    }
    let mut chunk = tx.write_chunk(5);
    chunk.fill_with(|i| Counted(100 + i as u32, &drops));
    assert_eq!(chunk.commit(), 5);
    let got: Vec<u32> = std::iter::from_fn(|| rx.try_pop().map(|c| c.0)).collect();
    assert_eq!(got, [100, 101, 102, 103, 104]);
    assert_eq!(drops.load(Relaxed), 11);

    // `make` panics at the fourth item of a wrapping chunk: the three written are dropped
    // with the chunk, once, and nothing is published.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut chunk = tx.write_chunk(5);
        chunk.fill_with(|i| {
            assert!(i < 3, "make fails at item {i}");
            Counted(200 + i as u32, &drops)
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(drops.load(Relaxed), 14);
    assert!(rx.try_pop().is_none());
    drop((tx, rx));
    assert_eq!(drops.load(Relaxed), 14);
}

#[test]
fn lone_items_after_empty_polls_never_trigger_a_fall_back() {
    let (mut tx, mut rx) = channel::<u64>(64).unwrap();
    for i in 0..100 {
        tx.try_push(i).unwrap();
        assert_eq!(rx.try_pop(), Some(i));
        assert_eq!(rx.try_pop(), None);
    }
    assert_eq!(rx.stats().chase_backoffs, 0);
    rx.set_chase_backoff(0);
    for i in 0..10 {
        tx.try_push(i).unwrap();
        assert_eq!(rx.try_pop(), Some(i));
    }
    assert_eq!(rx.stats().chase_backoffs, 0, "turned off");
}

#[test]
fn each_position_stalled_at_is_one_episode_however_many_polls_and_news_still_arrives() {
    let (mut tx, mut rx) = channel::<u64>(64).unwrap();
    for i in 0..50u64 {
        for _ in 0..=i % 4 {
            assert_eq!(rx.try_pop(), None);
        }
        tx.try_push(i).unwrap();
        assert_eq!(
            rx.try_pop(),
            Some(i),
            "news after {} empty polls",
            i % 4 + 1
        );
    }
    assert_eq!(
        rx.stats(),
        EndpointStats {
            index_reloads: 50,
            stalls: 50,
            chase_backoffs: 0,
        }
    );
    // A chunk that wants 8 where 3 are ready: the reload that finds them is news; the next
    // finds nothing more, a new stall, and the polls after it are that same episode.
    for i in 50..53 {
        tx.try_push(i).unwrap();
    }
    let chunk = rx.read_chunk(8);
    assert_eq!(chunk.len(), 3);
    chunk.release();
    for _ in 0..3 {
        assert_eq!(rx.read_chunk(8).len(), 0);
    }
    let stats = rx.stats();
    assert_eq!((stats.index_reloads, stats.stalls), (51, 51));
}
