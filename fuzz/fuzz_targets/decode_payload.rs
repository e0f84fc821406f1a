//! Arbitrary payloads behind a valid header and checksum, so the fuzzer reaches every codec's
//! decoder: the first byte picks the codec, the next two the row count.
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
    let mut out = Vec::new();
    if let Ok(header) = Decoder::new().decode(&frame, &mut out) {
        assert_eq!(out.len(), header.rows);
    }
});
