//! Arbitrary payloads behind a valid header and checksum, so the fuzzer reaches every codec's
//! decoder: the first byte picks the codec, the next two the row count. Each payload is decoded
//! into rows and into columns, which must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtop::codec::{CodecId, Decoder, frame};

fuzz_target!(|data: &[u8]| {
    let [id, lo, hi, payload @ ..] = data else {
        return;
    };
    let codec = CodecId::ALL[usize::from(*id) % CodecId::ALL.len()];
    let rows = usize::from(u16::from_le_bytes([*lo, *hi])) % 2048;
    let Ok(frame) = frame::wrap(codec, rows, payload) else {
        return;
    };
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let as_rows = decoder.decode(&frame, &mut out);
    // Into columns: the same verdict and, when it decodes, the same values.
    let mut columns = vec![Vec::new(); 6];
    let as_columns = decoder.decode_values(&frame, &mut columns);
    assert_eq!(as_rows.is_ok(), as_columns.is_ok());
    if let Ok(header) = as_rows {
        assert_eq!(out.len(), header.rows);
        for (c, column) in columns.iter().enumerate() {
            assert!(
                column
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(out.iter().map(|r| r.values[c].to_bits()))
            );
        }
    }
});
