//! Whole frames from arbitrary bytes: the header checks and the checksum must turn everything
//! away without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtop::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    if let Ok(header) = Decoder::new().decode(data, &mut out) {
        assert_eq!(out.len(), header.rows);
    }
});
