use super::*;

fn write(writer: &mut WindowWriter, kind: u32, payload: &[u8]) -> bool {
    let Some(spot) = place(
        writer.capacity(),
        writer.head(),
        writer.published(),
        payload.len(),
    )
    .unwrap() else {
        return false;
    };
    if let Some((offset, len)) = spot.padding {
        writer
            .free_slice(offset as u64, HEADER)
            .unwrap()
            .copy_from_slice(&record_header(len, PADDING));
    }
    let bytes = encode_record(kind, payload);
    writer
        .free_slice(spot.offset as u64, bytes.len())
        .unwrap()
        .copy_from_slice(&bytes);
    writer.publish(spot.end).unwrap();
    true
}

#[test]
fn records_come_out_in_order_across_many_wraps() {
    let (mut writer, mut reader) = channel(256).unwrap();
    let mut next_read = 0u32;
    for n in 0..2000u32 {
        let payload = vec![n as u8; (n % 90) as usize];
        while !write(&mut writer, n, &payload) {
            let record = reader.try_read().unwrap().unwrap();
            assert_eq!(record.kind(), next_read);
            assert_eq!(
                record.payload(),
                &vec![next_read as u8; (next_read % 90) as usize][..]
            );
            record.release();
            next_read += 1;
        }
    }
    while let Some(record) = reader.try_read().unwrap() {
        assert_eq!(record.kind(), next_read);
        record.release();
        next_read += 1;
    }
    assert_eq!(next_read, 2000);
}

#[test]
fn writes_outside_the_free_part_are_refused() {
    let (mut writer, mut reader) = channel(256).unwrap();
    assert!(write(&mut writer, 1, &[0; 100]));
    // Published bytes [0, 112) are unread: writing over them is refused.
    assert!(matches!(
        writer.free_slice(8, 8),
        Err(WindowError::NotFree { .. })
    ));
    assert!(matches!(
        writer.free_slice(250, 8),
        Err(WindowError::OutOfBounds { .. })
    ));
    assert!(matches!(
        writer.free_slice(u64::MAX - 2, 8),
        Err(WindowError::OutOfBounds { .. })
    ));
    // The free part wraps: [112, 256) and nothing before the head.
    assert!(writer.free_slice(112, 144).is_ok());
    assert!(writer.free_slice(0, 8).is_err());
    reader.try_read().unwrap().unwrap().release();
    assert!(writer.free_slice(0, 112).is_ok());
}

#[test]
fn bad_tails_are_refused() {
    let (mut writer, _reader) = channel(256).unwrap();
    assert!(writer.publish(4).is_err());
    assert!(writer.publish(264).is_err());
    assert_eq!(writer.publish(64).unwrap(), 64, "the bytes it adds");
    assert!(writer.publish(56).is_err());
    assert_eq!(writer.publish(64).unwrap(), 0, "the same tail adds none");
    assert_eq!(writer.publish(96).unwrap(), 32);
}

#[test]
fn garbage_headers_are_reported_not_trusted() {
    let (mut writer, mut reader) = channel(256).unwrap();
    writer
        .free_slice(0, 8)
        .unwrap()
        .copy_from_slice(&record_header(4000, 1));
    writer.publish(16).unwrap();
    let err = reader.try_read().unwrap_err();
    assert!(err.to_string().contains("runs past the end"), "{err}");
    assert_eq!(reader.discard_published(), 16);
    assert!(reader.try_read().unwrap().is_none());

    writer
        .free_slice(16, 8)
        .unwrap()
        .copy_from_slice(&record_header(40, 1));
    writer.publish(32).unwrap();
    let err = reader.try_read().unwrap_err();
    assert!(err.to_string().contains("only 16 bytes published"), "{err}");
}

#[test]
fn oversized_records_are_a_permanent_error() {
    assert!(matches!(
        place(256, 0, 0, 121),
        Err(WindowError::RecordTooLarge { max: 120, .. })
    ));
    assert!(place(256, 0, 0, 120).unwrap().is_some());
}

#[test]
fn a_tail_published_over_bytes_not_written_since_reads_as_an_error_not_a_replay() {
    let (mut writer, mut reader) = channel(64).unwrap();
    // One lap of records, read and released.
    for n in 0..4u32 {
        assert!(write(&mut writer, n, &[n as u8; 8]));
        let record = reader.try_read().unwrap().unwrap();
        assert_eq!((record.kind(), record.position()), (n, u64::from(n) * 16));
        record.release();
    }
    // The next lap's first 16 bytes still hold record 0, but nobody wrote them since.
    writer.publish(64 + 16).unwrap();
    let err = reader.try_read().unwrap_err().to_string();
    assert!(err.contains("a record already read"), "{err}");
}

#[test]
fn memory_handed_to_a_device_is_copied_out_not_lent() {
    let (mut writer, mut reader) = channel(256).unwrap();
    let _ = writer.device_memory();
    for n in 0..40u32 {
        let payload: Vec<u8> = (0..n as u8 * 3).collect();
        assert!(write(&mut writer, n, &payload));
        let record = reader.try_read().unwrap().unwrap();
        assert!(matches!(record.payload, Payload::Copied(_)));
        assert_eq!((record.kind(), record.payload()), (n, &payload[..]));
        record.release();
    }
    let (mut writer, mut reader) = channel(256).unwrap();
    assert!(write(&mut writer, 1, b"lent"));
    let record = reader.try_read().unwrap().unwrap();
    assert!(matches!(record.payload, Payload::InPlace(b"lent")));
}

#[test]
fn payload_into_replaces_the_buffer_with_the_record_whether_lent_or_copied_out() {
    for device in [false, true] {
        let (mut writer, mut reader) = channel(256).unwrap();
        if device {
            let _ = writer.device_memory();
        }
        let mut out = b"what the buffer held before".to_vec();
        for n in 0..40u8 {
            let payload = vec![n; usize::from(n) * 3 % 70];
            assert!(write(&mut writer, 1, &payload));
            let mut record = reader.try_read().unwrap().unwrap();
            record.payload_into(&mut out);
            assert_eq!(out, payload, "record {n}, device memory: {device}");
            record.release();
        }
    }
}
