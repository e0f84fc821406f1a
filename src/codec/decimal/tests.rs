use super::*;
use crate::codec::columns::ALL_COLUMNS;

/// Eight columns of `n` rows: sequence, stamp, then `values(row)`.
fn frame_of(n: usize, values: impl Fn(usize) -> [f64; 6]) -> Columns {
    let mut cols = Columns::default();
    cols.reset(n);
    for i in 0..n {
        cols.column_mut(0)[i] = i as u64;
        cols.column_mut(1)[i] = 0;
        for (c, v) in values(i).into_iter().enumerate() {
            cols.column_mut(2 + c)[i] = v.to_bits();
        }
    }
    cols
}

fn encoded(cols: &Columns) -> Vec<u8> {
    let mut buf = vec![0u8; max_len(cols.rows())];
    let mut out = ByteWriter::new(&mut buf);
    encode(cols, &mut Scratch::default(), Coding::Smallest, &mut out).unwrap();
    let len = out.position();
    buf.truncate(len);
    buf
}

fn decoded(bytes: &[u8], n: usize) -> Result<Columns, CodecError> {
    let mut back = Columns::default();
    back.reset(n);
    let mut input = ByteReader::new(bytes);
    decode(&mut input, &mut back, &mut Scratch::default(), ALL_COLUMNS)?;
    input.finish()?;
    Ok(back)
}

#[test]
fn a_total_beside_its_parts_is_stored_as_the_relation() {
    // Column 2 (a total) precedes its parts (3 and 4); 5 is the difference of the parts,
    // 6 the negation of one; 7 has an exception (NaN) and so stays itself.
    let n = 500;
    let parts = |i: usize| {
        let a = ((i * 37) % 977 + 1000) as i64;
        let b = ((i * 53) % 991 + 3000) as i64;
        (a, b)
    };
    let table = |broken: bool| {
        frame_of(n, move |i| {
            let (a, b) = parts(i);
            // Broken: one row of each relation off by a tenth.
            let off = if broken && i == 250 { 1 } else { 0 };
            [
                (a + b + off) as f64 / 10.0,
                a as f64 / 10.0,
                b as f64 / 10.0,
                (a - b + off) as f64 / 10.0,
                (-a + off) as f64 / 10.0,
                if i == 7 {
                    f64::NAN
                } else {
                    (a + b) as f64 / 10.0
                },
            ]
        })
    };
    let cols = table(false);
    let bytes = encoded(&cols);
    let back = decoded(&bytes, n).unwrap();
    for c in 0..WORDS {
        let same = back
            .column(c)
            .iter()
            .zip(cols.column(c))
            .all(|(x, y)| x == y);
        assert!(same, "column {c}");
    }
    let broken = encoded(&table(true));
    assert!(decoded(&broken, n).is_ok());
    // Each relation costs five bytes where a stored column of these costs hundreds.
    assert!(
        bytes.len() * 2 < broken.len(),
        "{} bytes with the relations, {} without",
        bytes.len(),
        broken.len()
    );
}

#[test]
fn derived_columns_with_bad_terms_are_errors() {
    let n = 10;
    // A frame of a sequence, a zero stamp, one scaled column (2), then 3..8 derived as given.
    let frame = |relation: [u8; 4], exact_term: bool| {
        let mut buf = vec![0u8; 4096];
        let mut out = ByteWriter::new(&mut buf);
        out.put_u8(ZERO).unwrap();
        out.put_u8(ZERO).unwrap();
        out.put_u8(SCALED_STREAM).unwrap();
        out.put_u8(1).unwrap();
        if exact_term {
            out.put_varint(0).unwrap();
        } else {
            out.put_varint(1).unwrap();
            out.put_varint(3).unwrap();
            out.put_u64(f64::NAN.to_bits()).unwrap();
        }
        put_stream(&[5; 10], &mut Vec::new(), Coding::Smallest, &mut out).unwrap();
        out.put_u8(DERIVED).unwrap();
        for b in relation {
            out.put_u8(b).unwrap();
        }
        for _ in 4..WORDS {
            out.put_u8(ZERO).unwrap();
        }
        let len = out.position();
        buf.truncate(len);
        buf
    };
    let fine = decoded(&frame([1, 2, NO_TERM, 1], true), n).unwrap();
    assert_eq!(f64::from_bits(fine.column(3)[0]), -0.5);
    for (relation, exact, why) in [
        ([1, 3, NO_TERM, 0], true, "itself"),
        ([1, 0, NO_TERM, 0], true, "the sequence"),
        ([1, 9, NO_TERM, 0], true, "past the columns"),
        ([1, 2, 2, 0], true, "one term twice"),
        ([1, 2, NO_TERM, 2], true, "a sign of 2"),
        ([2, 2, NO_TERM, 0], true, "another exponent"),
        ([1, 4, NO_TERM, 0], true, "a zero column"),
        ([1, 2, NO_TERM, 0], false, "a term with exceptions"),
    ] {
        let decodes = decoded(&frame(relation, exact), n);
        assert!(decodes.is_err(), "{why}: {relation:?}");
    }
}

#[test]
fn columns_written_by_earlier_versions_still_decode() {
    // A frame of eight columns as earlier versions wrote them: INTEGER for the sequence and
    // stamp, SCALED for the values.
    let n = 300;
    let mut cols = Columns::default();
    cols.reset(n);
    for c in 0..WORDS {
        for (i, w) in cols.column_mut(c).iter_mut().enumerate() {
            *w = if c < 2 {
                (i * (c + 1)) as u64
            } else {
                (i as f64 / 10.0 + c as f64).to_bits()
            };
        }
    }
    let mut buf = vec![0u8; max_len(n)];
    let mut out = ByteWriter::new(&mut buf);
    let mut deltas = Vec::new();
    for c in 0..WORDS {
        let column = cols.column(c);
        let ints: Vec<i64> = if c < 2 {
            out.put_u8(INTEGER).unwrap();
            column.iter().map(|&w| w as i64).collect()
        } else {
            out.put_u8(SCALED).unwrap();
            out.put_u8(1).unwrap();
            out.put_varint(0).unwrap();
            column
                .iter()
                .map(|&w| scaled(f64::from_bits(w), 1).unwrap())
                .collect()
        };
        super::super::ints::put_integers(&ints, &mut deltas, &mut out).unwrap();
    }
    let len = out.position();
    let mut back = Columns::default();
    back.reset(n);
    let mut input = ByteReader::new(&buf[..len]);
    decode(&mut input, &mut back, &mut Scratch::default(), ALL_COLUMNS).unwrap();
    input.finish().unwrap();
    for c in 0..WORDS {
        assert_eq!(back.column(c), cols.column(c), "column {c}");
    }
}

#[test]
fn exponents_are_the_fewest_decimals_that_print_the_value() {
    assert_eq!(exponent_of(42.0), 0);
    assert_eq!(exponent_of(39.4), 1);
    assert_eq!(exponent_of(123.45), 2);
    assert_eq!(exponent_of(0.001), 3);
    assert_eq!(exponent_of(-7.25), 2);
    assert_eq!(exponent_of(f64::NAN), u8::MAX);
    assert_eq!(exponent_of(-0.0), u8::MAX, "-0.0 would come back as +0.0");
    assert_eq!(
        exponent_of(std::f64::consts::PI),
        15,
        "3.141592653589793 prints in 15"
    );
    assert_eq!(
        exponent_of(1.0 / 3.0),
        u8::MAX,
        "0.3333333333333333 needs 16"
    );
    assert_eq!(exponent_of(1e300), u8::MAX);
}
