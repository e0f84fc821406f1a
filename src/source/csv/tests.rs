use super::*;

fn write(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ringtop-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn numeric_columns_are_kept_and_the_rest_named() {
    let path = write(
        "ok.csv",
        b"date,temp,label,a,b,c,d,e,f\n2010/01/01,39.4,x,1,2,3,4,5,6\n2010/01/02,NaN,y,1,2,3,4,5,6\n",
    );
    let table = load(&path).unwrap();
    assert_eq!(
        table.names(),
        ["date", "temp", "a", "b", "c", "d", "e", "f"],
        "every numeric column, past the six a row carries"
    );
    assert_eq!(table.rows(), 2);
    assert_eq!(table.columns[7].values, [6.0, 6.0]);
    let replay = table.replay_values();
    assert_eq!(replay[0], [1_262_304_000.0, 39.4, 1.0, 2.0, 3.0, 4.0]);
    assert!(replay[1][1].is_nan());
    let dropped: Vec<&str> = table.dropped.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(dropped, ["label"]);
    assert_eq!(table.dropped[0].reason, "not numeric at line 2: \"x\"");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn dates_and_times_in_the_usual_forms_are_epoch_seconds() {
    // 2010-01-01T00:00:00Z is 1,262,304,000 s after the epoch.
    let new_year = 1_262_304_000.0;
    for (text, seconds) in [
        ("2010-01-01", new_year),
        ("2010/01/01", new_year),
        ("2010/01/01 00:00", new_year),
        ("2010/01/01 01:30", new_year + 5400.0),
        ("2010-01-01 00:00:07", new_year + 7.0),
        ("2010-01-01T00:00:00Z", new_year),
        ("2010-01-01T00:00:00.25Z", new_year + 0.25),
        ("2010-01-01T02:00:00+02:00", new_year),
        ("2009-12-31T19:00:00-05:00", new_year),
        // Before 1970, as Python's datetime(…, tzinfo=timezone.utc).timestamp() gives them.
        ("1969-12-31", -86_400.0),
        ("1969-12-31T23:00:00-02:00", 3_600.0),
        ("1900-01-01", -2_208_988_800.0),
        ("1900-03-01 12:00", -2_203_848_000.0),
        ("1600-02-29", -11_670_998_400.0),
        ("1582-10-15T00:00:00.5Z", -12_219_292_799.5),
        ("0001-01-01", -62_135_596_800.0),
    ] {
        assert_eq!(epoch_seconds(text), Some(seconds), "{text}");
    }
    for not_a_time in [
        "39.4",
        "2010",
        "drizzle",
        "2010-13-01",
        "2010-01-01 25:00",
        "01/02/2010",
        "1900-02-29",
        "1969-02-29",
        "2010-01-01T00:00:00é+1",
        "2010-01-01 00:00:00+0é",
        "2010-01-01 日本語日本",
        "2010-01-01 00:00:00本日ab",
    ] {
        assert_eq!(epoch_seconds(not_a_time), None, "{not_a_time}");
    }
}

#[test]
fn a_date_column_is_kept_as_epoch_seconds_and_named() {
    let path = write(
        "dates.csv",
        b"date,temp,weather\n2010/01/01 00:00,39.4,rain\n2010/01/01 01:00,39.2,sun\n",
    );
    let table = load(&path).unwrap();
    assert_eq!(table.names(), ["date", "temp"]);
    assert_eq!(table.time_columns(), ["date"]);
    assert_eq!(
        table.replay_values()[1],
        [1_262_307_600.0, 39.2, 0.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(table.dropped[0].name, "weather");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn empty_cells_are_missing_values_read_as_nan_and_counted() {
    let path = write(
        "gaps.csv",
        b"date,temp,wind,none\n2012/01/01,,4.7,\n,10.6, ,\n2012/01/03,9.4,3.1,\n",
    );
    let table = load(&path).unwrap();
    assert_eq!(table.names(), ["date", "temp", "wind"]);
    assert_eq!(table.time_columns(), ["date"]);
    let bits = |c: usize| -> Vec<u64> {
        table.columns[c]
            .values
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(
        bits(0),
        [
            1_325_376_000.0f64.to_bits(),
            f64::NAN.to_bits(),
            1_325_548_800.0f64.to_bits()
        ]
    );
    assert_eq!(
        bits(1),
        [f64::NAN.to_bits(), 10.6f64.to_bits(), 9.4f64.to_bits()]
    );
    assert_eq!(
        bits(2),
        [4.7f64.to_bits(), f64::NAN.to_bits(), 3.1f64.to_bits()]
    );
    let counts: Vec<(String, usize)> = table
        .empty_cells()
        .into_iter()
        .map(|e| (e.name, e.cells))
        .collect();
    assert_eq!(
        counts,
        [
            ("date".to_owned(), 1),
            ("temp".to_owned(), 1),
            ("wind".to_owned(), 1)
        ]
    );
    assert_eq!(table.dropped.len(), 1);
    assert_eq!(table.dropped[0].name, "none");
    assert_eq!(table.dropped[0].reason, "no values: every cell is empty");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn integers_past_what_a_double_holds_are_counted_as_rounded() {
    let path = write(
        "nanos.csv",
        b"ns,n\n1262304000123456789,9007199254740993\n1262304000000000000,9007199254740992\n-1262304000123456789,-12\n",
    );
    let table = load(&path).unwrap();
    // 1 262 304 × 10^12 and 2^53 are doubles; the others fall between two.
    let counts: Vec<(String, usize)> = table
        .rounded_integers()
        .into_iter()
        .map(|c| (c.name, c.cells))
        .collect();
    assert_eq!(counts, [("ns".to_owned(), 2), ("n".to_owned(), 1)]);
    assert_eq!(table.columns[0].values[1], 1_262_304_000_000_000_000.0);
    for (text, rounded) in [
        ("9007199254740993", true),
        ("9007199254740992", false),
        ("+9007199254740993", true),
        ("123456789012345678901234567890123456789012", true),
        // 2^140, 43 digits: a double, exactly.
        ("1393796574908163946345982392040522594123776", false),
        ("-0000000000000000", false),
        ("0009007199254740993", true),
        ("1e300", false),
        ("12.000000000000001", false),
        ("123", false),
    ] {
        let value: f64 = text.parse().unwrap();
        assert_eq!(is_rounded_integer(text, value), rounded, "{text}");
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_headerless_file_may_start_with_an_empty_cell() {
    let path = write("gap-first.csv", b"1,,3\n4,5,6\n");
    let table = load(&path).unwrap();
    assert_eq!(table.names(), ["column 1", "column 2", "column 3"]);
    assert_eq!(table.rows(), 2, "the first line is data, not a header");
    assert!(table.columns[1].values[0].is_nan());
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_column_of_dates_is_dropped_at_the_first_cell_that_is_not_one() {
    let path = write(
        "bad-date.csv",
        b"date,temp\n2010/01/01 00:00,39.4\n2010/01/01 01:00,39.2\n2010-13-45,39.0\n",
    );
    let table = load(&path).unwrap();
    assert_eq!(table.names(), ["temp"]);
    assert_eq!(
        table.dropped[0].reason,
        "not a date or time at line 4: \"2010-13-45\""
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn tab_semicolon_and_pipe_separated_files_read_as_they_are() {
    for (name, text, delimiter) in [
        (
            "tabs.tsv",
            "time\ttemp\n2010-01-01\t1.5\n2010-01-02\t2\n",
            b'\t',
        ),
        (
            "semis.csv",
            "time;temp\n2010-01-01;1.5\n2010-01-02;2\n",
            b';',
        ),
        (
            "pipes.csv",
            "time|temp\n2010-01-01|1.5\n2010-01-02|2\n",
            b'|',
        ),
        // A comma inside quotes is no separator: two fields, comma-separated.
        (
            "quoted.csv",
            "\"time;x|y\",temp\n2010-01-01,1.5\n2010-01-02,2\n",
            b',',
        ),
    ] {
        let path = write(name, text.as_bytes());
        let table = load(&path).unwrap();
        assert_eq!(table.delimiter, delimiter, "{name}");
        assert_eq!(table.columns.len(), 2, "{name}");
        assert_eq!(table.columns[1].values, [1.5, 2.0], "{name}");
        std::fs::remove_file(path).unwrap();
    }
    assert_eq!(sniff_delimiter(b"one column"), b',', "none found: a comma");
    assert_eq!(sniff_delimiter(b"a,b;c"), b',', "a tie: the comma");
    assert_eq!(sniff_delimiter(b"a;b;c,d"), b';');
}

#[test]
fn a_gzipped_table_reads_as_its_text_and_a_broken_one_says_so() {
    use std::io::Write;
    let text = "date,temp\n2010-01-01,1.5\n2010-01-02,2\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    // Told by its bytes, not its name.
    let path = write("gzipped.csv", &bytes);
    let table = load(&path).unwrap();
    let plain = write("plain.csv", text.as_bytes());
    let expected = load(&plain).unwrap();
    assert_eq!(table.columns, expected.columns);
    let cut = write("cut.csv.gz", &bytes[..bytes.len() - 12]);
    let err = load(&cut).unwrap_err().to_string();
    assert!(err.contains("cut.csv.gz: gzip: "), "{err}");
    for p in [path, plain, cut] {
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn a_file_without_a_header_gets_numbered_columns() {
    let path = write("nohdr.csv", b"1,2\n3,4\n");
    let table = load(&path).unwrap();
    assert_eq!(table.names(), ["column 1", "column 2"]);
    assert_eq!(table.columns[1].values, [2.0, 4.0]);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn bad_files_are_errors_with_the_line() {
    let ragged = write("ragged.csv", b"a,b\n1,2\n3\n");
    let err = load(&ragged).unwrap_err().to_string();
    assert!(
        err.ends_with("ragged.csv:3: 1 fields, but the first line has 2"),
        "{err}"
    );

    let latin1 = write("latin1.csv", b"a,b\n1,2\n3,\xe9\n");
    let err = load(&latin1).unwrap_err().to_string();
    assert!(err.ends_with("latin1.csv:3: not valid UTF-8"), "{err}");

    let words = write("words.csv", b"name,city\nann,oslo\n");
    let err = load(&words).unwrap_err().to_string();
    assert!(
        err.contains("no numeric columns (name: not numeric at line 2: \"ann\""),
        "{err}"
    );

    let empty = write("empty.csv", b"");
    assert!(
        load(&empty)
            .unwrap_err()
            .to_string()
            .ends_with("no data lines")
    );

    let missing = load(Path::new("/nonexistent/x.csv"))
        .unwrap_err()
        .to_string();
    assert!(missing.starts_with("/nonexistent/x.csv: "), "{missing}");
    for p in [ragged, latin1, words, empty] {
        std::fs::remove_file(p).unwrap();
    }
}
