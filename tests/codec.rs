//! Codecs under proptest: every codec round-trips any rows bit for bit, and every decoder meets
//! hostile bytes (arbitrary, truncated, bit-flipped, or behind a valid checksum) with an error,
//! never a panic. Plus the frame pipeline switching codecs on every frame with nothing lost.
#![cfg(not(loom))]

use proptest::prelude::*;
use ringtop::Row;
use ringtop::codec::frame::{self, HEADER_LEN, MAX_FRAME_ROWS};
use ringtop::codec::pipe::{FrameReceiver, FrameSender};
use ringtop::codec::trial::first_difference;
use ringtop::codec::{CodecError, CodecId, Decoder, Encoder, max_frame_len, max_payload_len};
use ringtop::ring::frames;
use ringtop::source::{Source, SourceKind};

/// Doubles with the awkward cases well represented: NaNs with payloads, ±0, ±inf, subnormals,
/// decimals, and arbitrary bit patterns.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(-f64::NAN),
        (0u64..1 << 51).prop_map(|payload| f64::from_bits(0x7ff8_0000_0000_0000 | payload)),
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (1u64..1 << 52).prop_map(f64::from_bits),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
        (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(n, e)| n as f64 / 10f64.powi(e as i32)),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (any::<u64>(), any::<u64>(), prop::array::uniform6(value())).prop_map(
        |(seq, stamp_ns, values)| Row {
            seq,
            stamp_ns,
            values,
        },
    )
}

/// Rows that look like a series: runs of repeats, small steps, then arbitrary jumps.
fn series() -> impl Strategy<Value = Vec<Row>> {
    prop_oneof![
        prop::collection::vec(row(), 0..300),
        (row(), prop::collection::vec((0u8..4, row()), 0..300)).prop_map(|(first, steps)| {
            let mut rows = vec![first];
            for (kind, fresh) in steps {
                let prev = *rows.last().unwrap();
                rows.push(match kind {
                    0 => prev,
                    1 => Row {
                        seq: prev.seq.wrapping_add(1),
                        stamp_ns: prev.stamp_ns.wrapping_add(1000),
                        ..prev
                    },
                    2 => Row {
                        seq: prev.seq.wrapping_add(1),
                        ..fresh
                    },
                    _ => fresh,
                });
            }
            rows
        }),
        // Printed decimals that walk, with rare jumps, beside calendar-like stamps (multiples
        // of a day, steps varying by a few days): the forms the decimal codec chooses between
        // (differences of each order, a common factor, packing or Rice coding, columns derived
        // from others) all get used.
        (
            0u32..4,
            -1_000_000i64..1_000_000,
            prop::collection::vec((-40i64..40, 0u8..40, 27u64..32), 0..400),
        )
            .prop_map(|(decimals, start, steps)| {
                let scale = 10f64.powi(decimals as i32);
                let (mut level, mut day) = (start, 13_000u64);
                steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, (step, jump, days))| {
                        level += if jump == 0 { step * 1_000_000 } else { step };
                        day += days;
                        let mut row = Row::new(i as u64, day * 86_400);
                        // Four walking columns, then a total of the first two and a negation
                        // of the first: relations the decimal codec stores as such.
                        let ints = [
                            level,
                            level + 1,
                            level + 2,
                            level + 3,
                            2 * level + 1,
                            -level,
                        ];
                        row.values = ints.map(|v| v as f64 / scale);
                        row
                    })
                    .collect()
            }),
    ]
}

fn codec() -> impl Strategy<Value = CodecId> {
    prop::sample::select(CodecId::ALL.to_vec())
}

fn encode(codec: CodecId, rows: &[Row]) -> Vec<u8> {
    let mut frame = Vec::new();
    Encoder::new()
        .encode_to_vec(codec, rows, &mut frame)
        .unwrap();
    frame
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_codec_round_trips_any_rows_bit_for_bit(rows in series(), codec in codec()) {
        let frame = encode(codec, &rows);
        prop_assert!(frame.len() <= max_frame_len(rows.len()));
        let mut back = Vec::new();
        let header = Decoder::new().decode(&frame, &mut back).unwrap();
        prop_assert_eq!(header.codec, codec);
        prop_assert_eq!(first_difference(&rows, &back), None);
    }

    #[test]
    fn arbitrary_bytes_are_an_error_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut out = Vec::new();
        prop_assert!(Decoder::new().decode(&bytes, &mut out).is_err());
        prop_assert!(out.is_empty());
    }

    #[test]
    fn payloads_behind_a_valid_checksum_never_panic(
        codec in codec(),
        rows in 0usize..300,
        payload in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let payload = &payload[..payload.len().min(max_payload_len(rows))];
        let frame = frame::wrap(codec, rows, payload).unwrap();
        let mut out = Vec::new();
        match Decoder::new().decode(&frame, &mut out) {
            Ok(header) => prop_assert_eq!(out.len(), header.rows),
            Err(_) => prop_assert!(out.is_empty()),
        }
    }

    #[test]
    fn a_valid_payload_cut_or_mangled_behind_the_checksum_never_panics(
        rows in series(),
        codec in codec(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let frame = encode(codec, &rows);
        let payload = &frame[HEADER_LEN..];
        let mut mangled = payload.to_vec();
        if !mangled.is_empty() {
            let at = flip.index(mangled.len());
            mangled[at] ^= 1 << bit;
        }
        let cut_len = if payload.is_empty() { 0 } else { cut.index(payload.len()) };
        for candidate in [&mangled[..], &payload[..cut_len]] {
            let wrapped = frame::wrap(codec, rows.len(), candidate).unwrap();
            let mut out = Vec::new();
            if let Ok(header) = Decoder::new().decode(&wrapped, &mut out) {
                prop_assert_eq!(out.len(), header.rows);
            }
        }
    }

    #[test]
    fn every_truncation_and_every_bit_flip_of_a_frame_is_caught(
        rows in prop::collection::vec(row(), 0..40),
        codec in codec(),
    ) {
        let frame = encode(codec, &rows);
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        for len in 0..frame.len() {
            prop_assert!(decoder.decode(&frame[..len], &mut out).is_err(), "prefix of {} bytes", len);
        }
        let mut flipped = frame.clone();
        for i in 0..flipped.len() * 8 {
            flipped[i / 8] ^= 1 << (i % 8);
            prop_assert!(decoder.decode(&flipped, &mut out).is_err(), "bit {} flipped", i);
            flipped[i / 8] ^= 1 << (i % 8);
        }
        prop_assert!(out.is_empty());
    }
}

#[test]
fn header_limits_bound_what_a_decoder_will_allocate() {
    let err = frame::wrap(CodecId::None, MAX_FRAME_ROWS + 1, &[]).unwrap_err();
    assert_eq!(err, CodecError::TooManyRows(MAX_FRAME_ROWS + 1));
    let mut frame = encode(CodecId::None, &[Row::new(1, 2)]);
    frame[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = Decoder::new().decode(&frame, &mut Vec::new()).unwrap_err();
    assert_eq!(err, CodecError::TooManyRows(u32::MAX as usize));
    let mut frame = encode(CodecId::None, &[Row::new(1, 2)]);
    frame[2] = 9;
    let err = Decoder::new().decode(&frame, &mut Vec::new()).unwrap_err();
    assert_eq!(err, CodecError::UnsupportedVersion(9));
    let mut frame = encode(CodecId::None, &[Row::new(1, 2)]);
    frame[3] = 200;
    let err = Decoder::new().decode(&frame, &mut Vec::new()).unwrap_err();
    assert_eq!(err, CodecError::UnknownCodecId(200));
}

#[test]
fn codecs_switched_on_every_frame_lose_nothing_through_the_ring() {
    const FRAMES: usize = 400;
    let (tx, rx) = frames::channel(1 << 20).unwrap();
    let mut sender = FrameSender::new(tx);
    let mut receiver = FrameReceiver::new(rx);
    let batch = 257.min(sender.max_batch());
    assert!(batch > 0);
    let producer = std::thread::spawn(move || {
        let mut source = Source::new(SourceKind::RandomWalk, 11);
        for f in 0..FRAMES {
            let rows = source.rows(batch, (f * batch) as u64, (f * batch) as u64 * 1000, 1000);
            let codec = CodecId::ALL[f % CodecId::ALL.len()];
            sender.send(codec, &rows).unwrap();
        }
    });
    let mut expected = Source::new(SourceKind::RandomWalk, 11);
    let mut out = Vec::new();
    let mut frames_seen = 0;
    while let Some(header) = receiver.recv(&mut out).unwrap() {
        assert_eq!(header.codec, CodecId::ALL[frames_seen % CodecId::ALL.len()]);
        frames_seen += 1;
    }
    producer.join().unwrap();
    assert_eq!(frames_seen, FRAMES);
    let want = expected.rows(FRAMES * batch, 0, 0, 1000);
    assert_eq!(
        first_difference(&want, &out),
        None,
        "every row, in order, bit for bit"
    );
}

#[test]
fn a_batch_too_big_for_the_ring_is_refused_up_front() {
    let (tx, _rx) = frames::channel(4096).unwrap();
    let mut sender = FrameSender::new(tx);
    let rows = vec![Row::new(0, 0); sender.max_batch() + 1];
    assert!(sender.send(CodecId::None, &rows).is_err());
}

/// The bytes a value costs under `codec`, every column of `file` (frames of 1,024 rows).
fn bytes_per_value(file: &str, codec: CodecId) -> (f64, Vec<(String, f64)>) {
    let table = ringtop::source::csv::load(std::path::Path::new(file)).unwrap();
    let columns: Vec<(&str, &[f64])> = table
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.values.as_slice()))
        .collect();
    let result = ringtop::codec::trial::run_columns(&columns, 1024, &[codec])
        .pop()
        .unwrap();
    assert!(result.is_exact(), "{file}: {}", result.roundtrip);
    let by_column = result
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.bytes_per_value))
        .collect();
    (result.bytes_per_value.unwrap(), by_column)
}

#[test]
fn the_decimal_codecs_store_real_series_in_at_most_a_byte_a_value() {
    // Sizes are deterministic: these are the goals for real data, not timings.
    for file in [
        "assets/seattle-hourly-temperature-2010.csv",
        "assets/san-francisco-hourly-temperature-2010.csv",
        "assets/seattle-daily-weather-2012-2015.csv",
        "assets/us-employment-monthly-2006-2015.csv",
    ] {
        let (whole, by_column) = bytes_per_value(file, CodecId::Decimal);
        assert!(whole <= 1.0, "{file}: {whole} bytes a value");
        // Packed only, never Rice-coded: never smaller, and within a byte a value still.
        let (fast, _) = bytes_per_value(file, CodecId::DecimalFast);
        assert!(
            (whole..=1.0).contains(&fast),
            "{file}: decimal-fast {fast} bytes a value, decimal {whole}"
        );
        if file.contains("hourly") {
            // The long hourly series: the temperatures alone, dates aside.
            let temp = by_column.iter().find(|(name, _)| name == "temp").unwrap().1;
            assert!(temp <= 0.75, "{file}: temp costs {temp} bytes a value");
        }
    }
}
