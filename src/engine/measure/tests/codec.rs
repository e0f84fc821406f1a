//! The codec figures of `measure` and `summarize`: over the same window as the rows, and per
//! codec when a run switched.

use super::super::super::reading::CodecShare;
use super::*;

#[test]
fn codec_figures_cover_the_same_window_as_the_rows() {
    let shape = shape_of(RingKind::Spsc, true);
    let mut before = pair(1_000, 100, 100);
    before.threads[0].codec = CodecReading {
        frames: 4,
        rows: 100,
        frame_bytes: 1_000,
        nanos: 5_000,
        ..CodecReading::default()
    };
    let mut now = pair(2_000, 300, 300);
    now.threads[0].codec = CodecReading {
        frames: 12,
        rows: 300,
        frame_bytes: 2_000,
        nanos: 7_000,
        ..CodecReading::default()
    };
    now.threads[1].codec = CodecReading {
        rows: 200,
        frame_bytes: 1_000,
        nanos: 4_000,
        ..CodecReading::default()
    };
    let codec = measure(&shape, &before, &now).snapshot.codec.unwrap();
    assert_eq!(codec.raw_bytes, 200 * 64);
    assert_eq!(codec.encoded_bytes, 1_000);
    assert_eq!(codec.ratio, Some(12.8));
    assert_eq!((codec.frames, codec.rows_per_frame), (8, Some(25.0)));
    assert_eq!(codec.encode_ns_per_row, Some(10.0));
    assert_eq!(codec.decode_ns_per_row, Some(20.0));
    assert_eq!(codec.name.as_deref(), Some("none"));
}

#[test]
fn a_run_that_switched_codecs_gives_each_codec_its_own_tally() {
    let shape = shape_of(RingKind::Spsc, true);
    let share = |rows, frame_bytes, nanos| CodecShare {
        frames: rows / 50,
        rows,
        frame_bytes,
        nanos,
    };
    let coded = |delta: CodecShare, decimal: CodecShare| {
        let mut per_codec = [CodecShare::default(); CodecId::ALL.len()];
        per_codec[CodecId::DeltaLz4 as usize] = delta;
        per_codec[CodecId::Decimal as usize] = decimal;
        CodecReading {
            frames: delta.frames + decimal.frames,
            rows: delta.rows + decimal.rows,
            frame_bytes: delta.frame_bytes + decimal.frame_bytes,
            nanos: delta.nanos + decimal.nanos,
            per_codec,
            ..CodecReading::default()
        }
    };
    let mut end = pair(2_000, 300, 300);
    end.codec_setting = CodecId::Decimal;
    end.threads[0].codec = coded(share(100, 3_200, 1_000), share(200, 1_600, 4_000));
    end.threads[1].codec = coded(share(100, 3_200, 500), share(200, 1_600, 600));
    let codec = summarize(&shape, &Reading::start(), &end).codec.unwrap();
    assert_eq!(
        codec.name.as_deref(),
        Some("decimal"),
        "the codec at the end"
    );
    let parts: Vec<(&str, u64, Option<f64>)> = codec
        .by_codec
        .iter()
        .map(|p| (p.name.as_str(), p.rows, p.ratio))
        .collect();
    assert_eq!(
        parts,
        [("delta-lz4", 100, Some(2.0)), ("decimal", 200, Some(8.0))]
    );
    assert_eq!(codec.by_codec[0].encode_ns_per_row, Some(10.0));
    assert_eq!(codec.by_codec[1].decode_ns_per_row, Some(3.0));
    assert_eq!((codec.frames, codec.rows_per_frame), (6, Some(50.0)));
    assert_eq!(codec.by_codec[1].frames, 4);
}
