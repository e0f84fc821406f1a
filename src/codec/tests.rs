use super::*;

#[test]
fn max_rows_in_is_the_inverse_of_max_frame_len() {
    assert_eq!(max_rows_in(max_frame_len(1) - 1), 0);
    for bytes in [max_frame_len(1), 4096, 65_536 - 8, 1 << 20] {
        let rows = max_rows_in(bytes);
        assert!(max_frame_len(rows) <= bytes, "{bytes}");
        assert!(max_frame_len(rows + 1) > bytes, "{bytes}");
    }
    assert_eq!(max_rows_in(usize::MAX / 2), frame::MAX_FRAME_ROWS);
}

fn sample(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let mut row = Row::new(i as u64, 1_000_000 + 1000 * i as u64);
            row.values = [
                100.0 + (i % 7) as f64 * 0.01,
                (i as f64).sin(),
                (i / 10) as f64,
                -0.0,
                f64::NAN,
                if i % 3 == 0 { f64::INFINITY } else { 1e-310 },
            ];
            row
        })
        .collect()
}

#[test]
fn every_codec_round_trips_awkward_values() {
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    for n in [0, 1, 2, 127, 128, 129, 1000] {
        let rows = sample(n);
        for codec in CodecId::ALL {
            let mut frame = Vec::new();
            encoder.encode_to_vec(codec, &rows, &mut frame).unwrap();
            assert!(frame.len() <= max_frame_len(n));
            let mut back = Vec::new();
            let header = decoder.decode(&frame, &mut back).unwrap();
            assert_eq!(header.codec, codec);
            assert_eq!(header.rows, n);
            assert_eq!(
                trial::first_difference(&rows, &back),
                None,
                "{codec} with {n} rows"
            );
        }
    }
}

#[test]
fn a_decoder_asked_for_some_columns_still_gives_every_row_back_after() {
    // A table's shape: stamps zero, a total beside its parts (a derived column), a zero
    // and a constant column; the columns a caller does not take may be left unwritten.
    let rows: Vec<Row> = (0..500u64)
        .map(|i| {
            let (a, b) = ((i % 50) as i64 - 20, (i * 7 % 13) as i64);
            let mut row = Row::new(i, 0);
            row.values = [
                a as f64 / 10.0,
                b as f64 / 10.0,
                (a + b) as f64 / 10.0,
                0.0,
                7.5,
                (i as f64).sqrt(),
            ];
            row
        })
        .collect();
    // Decoded before each: whatever a skipped column holds is the decoy's, not the rows'.
    let decoy: Vec<Row> = rows
        .iter()
        .map(|r| Row {
            values: r.values.map(|v| v + 1.0),
            ..*r
        })
        .collect();
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    for codec in CodecId::ALL {
        let mut frame = Vec::new();
        encoder.encode_to_vec(codec, &rows, &mut frame).unwrap();
        let mut decoy_frame = Vec::new();
        encoder
            .encode_to_vec(codec, &decoy, &mut decoy_frame)
            .unwrap();
        for wanted in 0..=Row::COLUMNS {
            decoder.decode(&decoy_frame, &mut Vec::new()).unwrap();
            let mut columns = vec![Vec::new(); wanted];
            decoder.decode_values(&frame, &mut columns).unwrap();
            for (c, column) in columns.iter().enumerate() {
                let expected: Vec<u64> = rows.iter().map(|r| r.values[c].to_bits()).collect();
                let got: Vec<u64> = column.iter().map(|v| v.to_bits()).collect();
                assert!(
                    got == expected,
                    "{codec}, column {c} of {wanted}: {} values, first wrong at {:?}",
                    got.len(),
                    got.iter().zip(&expected).position(|(a, b)| a != b)
                );
            }
            let mut back = Vec::new();
            decoder.decode(&frame, &mut back).unwrap();
            assert_eq!(
                trial::first_difference(&rows, &back),
                None,
                "{codec}: rows after {wanted} columns"
            );
        }
    }
}

#[test]
fn values_decode_into_columns_as_they_decode_into_rows() {
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    let rows = sample(300);
    for codec in CodecId::ALL {
        let mut frame = Vec::new();
        encoder.encode_to_vec(codec, &rows, &mut frame).unwrap();
        for wanted in [0, 1, 2, 6, 7] {
            // Something already there stays, and the frame's values follow it.
            let mut columns: Vec<Vec<f64>> = vec![vec![42.0]; wanted];
            decoder.decode_values(&frame, &mut columns).unwrap();
            for (c, column) in columns.iter().enumerate() {
                let expected: Vec<u64> = std::iter::once(42.0f64.to_bits())
                    .chain(
                        rows.iter()
                            .map(|r| r.values.get(c).map_or(42.0, |v| *v).to_bits()),
                    )
                    .collect();
                if c >= Row::COLUMNS {
                    assert_eq!(column, &[42.0], "{codec}: a seventh column is left alone");
                    continue;
                }
                let got: Vec<u64> = column.iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, expected, "{codec}, column {c} of {wanted}");
            }
        }
        let last = frame.len() - 1;
        frame[last] ^= 0x10;
        let mut columns = vec![vec![1.0], Vec::new()];
        assert!(decoder.decode_values(&frame, &mut columns).is_err());
        assert_eq!(
            columns,
            vec![vec![1.0], Vec::new()],
            "{codec}: untouched on error"
        );
    }
}

#[test]
fn names_parse_back_and_unknown_names_list_the_codecs() {
    for codec in CodecId::ALL {
        assert_eq!(codec.name().parse::<CodecId>().unwrap(), codec);
        assert_eq!(CodecId::from_id(codec as u8), Some(codec));
    }
    let err = "zstd".parse::<CodecId>().unwrap_err().to_string();
    assert!(
        err.contains("unknown codec \"zstd\"") && err.contains("decimal-fast"),
        "{err}"
    );
    assert_eq!(CodecId::from_id(CodecId::ALL.len() as u8), None);
}

#[test]
fn frames_of_earlier_versions_decode_and_unknown_versions_are_refused() {
    let rows = sample(50);
    let mut frame = Vec::new();
    Encoder::new()
        .encode_to_vec(CodecId::Lz4, &rows, &mut frame)
        .unwrap();
    assert_eq!(frame[2], frame::FORMAT_VERSION);
    let reseal = |frame: &mut Vec<u8>, version: u8| {
        frame[2] = version;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&frame[..16]);
        hasher.update(&frame[HEADER_LEN..]);
        let crc = hasher.finalize();
        frame[16..20].copy_from_slice(&crc.to_le_bytes());
    };
    // Versions 1 and 2 wrote LZ4 over the whole rows.
    let mut whole = vec![0u8; rows.len() * ROW_BYTES];
    rows_to_bytes(&rows, &mut whole);
    let mut payload = vec![0u8; lz4::max_compressed_len(whole.len())];
    let mut writer = ByteWriter::new(&mut payload);
    lz4::compress(&whole, &mut writer).unwrap();
    let len = writer.position();
    let mut old = frame::wrap(CodecId::Lz4, rows.len(), &payload[..len]).unwrap();
    for version in [1, 2] {
        reseal(&mut old, version);
        let mut back = Vec::new();
        let header = Decoder::new().decode(&old, &mut back).unwrap();
        assert_eq!(header.version, version);
        assert_eq!(trial::first_difference(&rows, &back), None, "{version}");
    }
    // Under a version-3 header those bytes are not a version-3 payload.
    reseal(&mut old, 3);
    assert!(Decoder::new().decode(&old, &mut Vec::new()).is_err());
    reseal(&mut frame, frame::FORMAT_VERSION + 1);
    let err = Decoder::new().decode(&frame, &mut Vec::new()).unwrap_err();
    assert_eq!(
        err,
        CodecError::UnsupportedVersion(frame::FORMAT_VERSION + 1)
    );
    assert_eq!(
        err.to_string(),
        format!(
            "frame format version {} is not supported (this build reads versions 1 to {})",
            frame::FORMAT_VERSION + 1,
            frame::FORMAT_VERSION
        )
    );
}

#[test]
fn lz4_stores_words_constant_throughout_once() {
    // Two value columns in use; the stamp and four value columns hold one value throughout.
    let rows: Vec<Row> = (0..1000)
        .map(|i| {
            let mut row = Row::new(i, 0);
            row.values = [i as f64 * 0.5, (i % 17) as f64, 0.0, -0.0, 7.5, f64::NAN];
            row
        })
        .collect();
    let (constant, values) = constant_words(&rows);
    assert_eq!(constant, 0b1111_0010);
    assert_eq!(values[5], (-0.0f64).to_bits());
    let mut frame = Vec::new();
    Encoder::new()
        .encode_to_vec(CodecId::Lz4, &rows, &mut frame)
        .unwrap();
    let mut back = Vec::new();
    Decoder::new().decode(&frame, &mut back).unwrap();
    assert_eq!(trial::first_difference(&rows, &back), None);
    let mut columns = vec![Vec::new(); 6];
    Decoder::new().decode_values(&frame, &mut columns).unwrap();
    for (c, column) in columns.iter().enumerate() {
        let expected: Vec<u64> = rows.iter().map(|r| r.values[c].to_bits()).collect();
        let got: Vec<u64> = column.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, expected, "column {c}");
    }
    // A single row: every word is constant, and nothing is left for LZ4 but an empty block.
    let one = &rows[..1];
    assert_eq!(constant_words(one).0, u8::MAX);
    Encoder::new()
        .encode_to_vec(CodecId::Lz4, one, &mut frame)
        .unwrap();
    let mut back = Vec::new();
    Decoder::new().decode(&frame, &mut back).unwrap();
    assert_eq!(trial::first_difference(one, &back), None);
}

#[test]
fn a_flipped_bit_is_caught_by_the_checksum() {
    let rows = sample(100);
    let mut frame = Vec::new();
    Encoder::new()
        .encode_to_vec(CodecId::Decimal, &rows, &mut frame)
        .unwrap();
    let last = frame.len() - 1;
    frame[last] ^= 1;
    let mut out = Vec::new();
    let err = Decoder::new().decode(&frame, &mut out).unwrap_err();
    assert!(matches!(err, CodecError::ChecksumMismatch { .. }), "{err}");
    assert!(out.is_empty());
}

#[test]
fn a_small_output_buffer_is_an_error() {
    let rows = sample(10);
    let mut out = [0u8; 40];
    let err = Encoder::new()
        .encode(CodecId::None, &rows, &mut out)
        .unwrap_err();
    assert_eq!(
        err,
        CodecError::OutputTooSmall {
            available: 40 - HEADER_LEN
        }
    );
}
