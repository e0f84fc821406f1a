use super::*;

fn err(text: &str) -> ProfileError {
    parse(text, "p.toml").unwrap_err()
}

const MINIMAL: &str = "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1024\n[workload]\n";

#[test]
fn every_builtin_profile_is_valid_here() {
    for (name, _) in builtin::BUILTIN {
        let profile = builtin::get(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(profile.version, PROFILE_VERSION);
        assert!(
            !profile.description.is_empty(),
            "{name} says what it is for"
        );
    }
    let err = builtin::get("nope").unwrap_err().to_string();
    assert!(err.contains("built-in: default, low-latency"), "{err}");
}

#[test]
fn a_minimal_profile_takes_the_defaults() {
    let p = parse(MINIMAL, "p.toml").unwrap();
    assert_eq!(p.workload.producers, 1);
    assert_eq!(p.workload.consumers, 1);
    assert_eq!(p.workload.batch, 64);
    assert_eq!(p.workload.rate, 0);
    assert_eq!(p.workload.source, SourceSetting::RandomWalk);
    assert_eq!(p.ring.numa_node, NumaSetting::Default);
    assert_eq!(p.report.interval.0, Duration::from_secs(1));
    assert_eq!(p.codec(), None);
}

#[test]
fn saved_profiles_read_back_equal() {
    for (name, _) in builtin::BUILTIN {
        let p = builtin::get(name).unwrap();
        let text = p.to_toml().unwrap();
        let back = parse(&text, "saved.toml").unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(back, p, "{name}");
    }
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_column() {
    let e = err("version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1024\nsize = 3\n[workload]\n");
    assert_eq!((e.line, e.column), (Some(5), Some(1)), "{e}");
    assert!(e.message.contains("unknown field `size`"), "{e}");
    assert!(
        e.to_string()
            .starts_with("p.toml:5:1: unknown field `size`"),
        "{e}"
    );
}

/// A profile from another version is refused for its version, however its keys differ from
/// this build's: an unknown key or a missing section would hide the one thing to fix.
#[test]
fn another_version_is_named_before_keys_this_build_does_not_know() {
    for text in [
        "version = 2\n[ring]\nkind = \"spsc\"\ncapacity = 1024\nlanes = 4\n[workload]\n",
        "version = 2\n",
        "version = 2\n[ring]\nkind = \"spsc\"\ncapacity = 1024\n[workload]\n",
    ] {
        let e = err(text);
        assert_eq!(
            e.to_string(),
            "p.toml:1:11: profile version 2 is not supported (expected 1)",
            "{text}"
        );
    }
    // This version's own mistakes are still named as they are.
    assert!(
        err("version = 1\n")
            .message
            .contains("missing field `ring`")
    );
}

#[test]
fn a_wrong_type_or_word_says_what_was_expected() {
    let e = err("version = 1\n[ring]\nkind = \"spsx\"\ncapacity = 1024\n[workload]\n");
    assert_eq!(e.line, Some(3));
    assert!(
        e.message.contains("spsc") && e.message.contains("mpmc"),
        "{e}"
    );
    let e = err("version = 1\n[ring]\nkind = \"spsc\"\ncapacity = \"big\"\n[workload]\n");
    assert_eq!(e.line, Some(4));
    assert_eq!(
        e.message,
        "invalid type: string \"big\", expected a whole number (0, 1, 2, …)"
    );
    let e = err(&format!("{MINIMAL}source = 3\n"));
    assert!(
        e.message.ends_with(
            r#"expected a source in quotes: "random-walk", "sine-noise", "steps" or "csv:PATH""#
        ),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[codec]\nname = \"zstd\"\n"));
    assert_eq!(e.line, Some(7));
    assert!(e.message.contains("decimal"), "{e}");
    let e = err(&format!("{MINIMAL}duration = \"ten\"\n"));
    assert!(e.message.contains("bad duration \"ten\""), "{e}");
    // A value that is no word at all is told the words, as a wrong word is.
    let e = err("version = 1\n[ring]\nkind = 3\ncapacity = 1024\n[workload]\n");
    assert_eq!((e.line, e.column), (Some(3), Some(8)), "{e}");
    assert_eq!(
        e.message,
        "invalid type: integer `3`, expected one of `spsc`, `relay`, `broadcast`, `mpmc`"
    );
    let e = err(&format!("{MINIMAL}[codec]\nname = true\n"));
    assert!(
        e.message
            .starts_with("invalid type: boolean `true`, expected one of `none`, `delta`"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[wait]\nproducer = 1.5\n"));
    assert_eq!(
        e.message,
        "invalid type: floating point `1.5`, expected one of `busy-spin`, `spin-yield`, \
         `spin-park`"
    );
    let e = err(&format!("{MINIMAL}[wait]\nconsumer = \"fast\"\n"));
    assert!(
        e.message
            .contains("unknown variant `fast`, expected one of `busy-spin`"),
        "{e}"
    );
    let e = err("version = 1\n[ring\n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn a_rate_is_read_as_a_number_or_in_words() {
    for (written, rate) in [
        ("2000", 2_000),
        ("\"500k\"", 500_000),
        ("\"2.5M\"", 2_500_000),
        ("1e6", 1_000_000),
        ("2.5e5", 250_000),
    ] {
        let p = parse(&format!("{MINIMAL}rate = {written}\n"), "p.toml").unwrap();
        assert_eq!(p.workload.rate, rate, "{written}");
    }
    for wrong in ["\"fast\"", "-5", "1.5", "\"0.5\"", "-1e6", "inf", "nan"] {
        let e = err(&format!("{MINIMAL}rate = {wrong}\n"));
        assert_eq!((e.line, e.column), (Some(6), Some(8)), "{e}");
        assert!(e.message.contains("expected rows a second"), "{e}");
    }
    // A number past any rate is said as written, not in 301 digits.
    let e = err(&format!("{MINIMAL}rate = 1e300\n"));
    assert!(
        e.message
            .starts_with("invalid value: floating point `1e300`, expected rows a second"),
        "{e}"
    );
}

#[test]
fn semantic_errors_point_at_the_setting() {
    let e = err("version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1000\n[workload]\n");
    assert_eq!((e.line, e.column), (Some(4), Some(12)), "{e}");
    assert!(e.message.contains("not a power of two"), "{e}");

    let e = err(&format!("{MINIMAL}consumers = 0\n"));
    assert_eq!(e.line, Some(6));
    assert!(e.message.contains("between 1 and 256"), "{e}");

    let e = err(&format!("{MINIMAL}consumers = 2\n"));
    assert!(e.message.contains("exactly one consumer"), "{e}");

    let e = err(&format!("{MINIMAL}[pinning]\nconsumers = [4096]\n"));
    assert_eq!((e.line, e.column), (Some(7), Some(14)), "{e}");
    assert!(
        e.message
            .starts_with("CPU 4096 is not available; allowed: "),
        "{e}"
    );

    let e =
        err("version = 1\n[ring]\nkind = \"mpmc\"\ncapacity = 1024\nnuma_node = 77\n[workload]\n");
    assert_eq!(e.line, Some(5));
    assert!(e.message.starts_with("NUMA node 77 does not exist"), "{e}");

    let e = err(
        "version = 1\n[ring]\nkind = \"mpmc\"\ncapacity = 1024\n[workload]\n[codec]\nname = \"lz4\"\n",
    );
    assert_eq!(e.line, Some(6));
    assert!(e.message.contains("needs kind = \"spsc\""), "{e}");

    let e = err(&format!("{MINIMAL}source = \"csv:/nonexistent.csv\"\n"));
    assert!(e.message.starts_with("/nonexistent.csv: "), "{e}");

    let e = err("version = 2\n[ring]\nkind = \"spsc\"\ncapacity = 1024\n[workload]\n");
    assert_eq!(e.line, Some(1));
}

#[test]
fn a_prefetch_distance_the_engine_would_ignore_is_refused_where_it_is_written() {
    const MPMC: &str = "version = 1\n[ring]\nkind = \"mpmc\"\ncapacity = 1024\n[workload]\n";
    let e = err(&format!("{MPMC}[prefetch]\ndistance = 4\n"));
    assert_eq!((e.line, e.column), (Some(7), Some(12)), "{e}");
    assert!(e.message.contains("no batch path to prefetch"), "{e}");
    assert!(parse(&format!("{MPMC}[prefetch]\ndistance = 0\n"), "p.toml").is_ok());

    let e = err(&format!(
        "{MINIMAL}[codec]\nname = \"lz4\"\n[prefetch]\ndistance = 4\n"
    ));
    assert_eq!(e.line, Some(9), "{e}");
    assert!(e.message.contains("no slots to prefetch"), "{e}");

    let e = err(&format!("{MINIMAL}[prefetch]\ndistance = 1024\n"));
    assert!(
        e.message.contains("below the ring's capacity (1024)"),
        "{e}"
    );
    assert!(parse(&format!("{MINIMAL}[prefetch]\ndistance = 8\n"), "p.toml").is_ok());
}

#[test]
fn a_duration_or_interval_out_of_range_is_refused_where_it_is_written() {
    let e = err(&format!("{MINIMAL}duration = \"500000000000years\"\n"));
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.message.contains("at most 100 years"), "{e}");
    let e = err(&format!("{MINIMAL}[report]\ninterval = \"0s\"\n"));
    assert!(e.message.contains("interval must be at least 100ms"), "{e}");
    // A bare number, the likely slip, is told its unit is missing.
    let e = err(&format!("{MINIMAL}[report]\ninterval = 1\n"));
    assert_eq!((e.line, e.column), (Some(7), Some(12)), "{e}");
    assert!(
        e.message
            .ends_with("expected a duration in quotes with its unit (\"1s\", \"500ms\", \"2m\")"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}[report]\ninterval = \"20ms\"\n"));
    assert_eq!((e.line, e.column), (Some(7), Some(12)), "{e}");
    assert!(e.message.contains("interval must be at least 100ms"), "{e}");
    for key in ["idle_timeout", "handshake_timeout"] {
        for value in ["0s", "2days"] {
            let e = err(&format!(
                "{MINIMAL}[transport]\nkind = \"tcp\"\nlisten = \"127.0.0.1:0\"\n{key} = \"{value}\"\n"
            ));
            assert_eq!(e.line, Some(9), "{e}");
            assert!(
                e.message
                    .contains(&format!("{key} must be more than zero and at most 1 day")),
                "{e}"
            );
        }
    }
}

#[test]
fn a_token_no_handshake_could_carry_is_refused_where_it_is_written() {
    let long = "k".repeat(300);
    let e = err(&format!(
        "{MINIMAL}[transport]\nkind = \"tcp\"\nconnect = \"127.0.0.1:7471\"\ntoken = \"{long}\"\n"
    ));
    assert_eq!(e.line, Some(9), "{e}");
    assert!(
        e.message
            .contains("a token is at most 256 bytes; this one is 300"),
        "{e}"
    );
}

#[test]
fn a_relay_ring_takes_one_consumer_no_prefetch_no_codec_and_stays_local() {
    const RELAY: &str = "version = 1\n[ring]\nkind = \"relay\"\ncapacity = 256\n[workload]\n";
    let ok = parse(RELAY, "relay.toml").unwrap();
    assert_eq!(ok.ring.kind, RingKind::Relay);

    let e = err(&format!("{RELAY}consumers = 2\n"));
    assert_eq!(e.line, Some(6), "{e}");
    assert!(
        e.message
            .starts_with("kind = \"relay\" has exactly one consumer"),
        "{e}"
    );

    let e = err(&format!("{RELAY}[prefetch]\ndistance = 8\n"));
    assert_eq!((e.line, e.column), (Some(7), Some(12)), "{e}");
    assert!(e.message.contains("nothing to prefetch"), "{e}");

    let e = err(&format!("{RELAY}[codec]\nname = \"lz4\"\n"));
    assert!(e.message.contains("needs kind = \"spsc\""), "{e}");

    let e = err(&format!(
        "{RELAY}[transport]\nkind = \"tcp\"\nconnect = \"127.0.0.1:7471\"\n"
    ));
    assert!(e.message.starts_with("a remote ring is spsc"), "{e}");
}

#[test]
fn numa_settings_read_words_and_numbers() {
    let p = parse(
        &MINIMAL.replace("capacity = 1024", "capacity = 1024\nnuma_node = \"any\""),
        "p",
    )
    .unwrap();
    assert_eq!(p.ring.numa_node, NumaSetting::Word(NumaWord::Any));
    let p = parse(
        &MINIMAL.replace("capacity = 1024", "capacity = 1024\nnuma_node = 0"),
        "p",
    )
    .unwrap();
    assert_eq!(p.ring.numa_node, NumaSetting::Node(0));
    for wrong in ["\"far\"", "-2", "1.5"] {
        let e = err(&MINIMAL.replace(
            "capacity = 1024",
            &format!("capacity = 1024\nnuma_node = {wrong}"),
        ));
        assert_eq!((e.line, e.column), (Some(5), Some(13)), "{e}");
        assert!(
            e.message
                .ends_with("expected a NUMA node number (0, 1, …), \"local\" or \"any\""),
            "{e}"
        );
    }
}

#[test]
fn a_cpu_that_is_neither_a_number_nor_auto_says_what_would_do() {
    let p = parse(
        &format!("{MINIMAL}[pinning]\nconsumers = [\"auto\"]\n"),
        "p",
    )
    .unwrap();
    assert_eq!(p.pinning.consumers, [CpuSetting::Auto(AutoWord::Auto)]);
    for wrong in ["\"x\"", "-1", "true"] {
        let e = err(&format!("{MINIMAL}[pinning]\nconsumers = [{wrong}]\n"));
        assert_eq!((e.line, e.column), (Some(7), Some(14)), "{e}");
        assert!(
            e.message
                .ends_with("expected a CPU number (0, 1, …) or \"auto\""),
            "{e}"
        );
    }
    let e = err(&format!("{MINIMAL}[pinning]\nconsumers = [0, 1]\n"));
    assert_eq!(
        e.message, "2 CPUs given for 1 consumer (workload.consumers = 1; one CPU a thread)",
        "{e}"
    );
    // One CPU not in a list is told the list it should be.
    let e = err(&format!("{MINIMAL}[pinning]\nproducers = 1\n"));
    assert_eq!((e.line, e.column), (Some(7), Some(13)), "{e}");
    assert!(
        e.message.ends_with(
            "expected a list with a CPU number or \"auto\" per thread ([1], or [\"auto\", 3])"
        ),
        "{e}"
    );
}

#[test]
fn a_frame_too_big_for_the_ring_points_at_rows_per_frame() {
    let e = err(&format!(
        "{MINIMAL}[codec]\nname = \"lz4\"\nrows_per_frame = 60000\n"
    ));
    assert_eq!((e.line, e.column), (Some(8), Some(18)), "{e}");
    assert!(e.message.contains("more than half"), "{e}");
    let p = parse(
        &format!("{MINIMAL}[codec]\nname = \"lz4\"\nrows_per_frame = 100\n"),
        "p",
    )
    .unwrap();
    assert_eq!(p.effective_batch(), 100);
}

#[test]
fn a_codec_ratio_floor_reads_as_a_number_or_words_and_refuses_what_is_no_ratio() {
    let with = |value: &str| format!("{MINIMAL}[codec]\nname = \"decimal\"\nmin_ratio = {value}\n");
    for (value, floor) in [
        ("10", 10.0),
        ("2.5", 2.5),
        ("\"10x\"", 10.0),
        ("\"7.5×\"", 7.5),
    ] {
        let p = parse(&with(value), "p").unwrap();
        assert_eq!(p.codec.as_ref().unwrap().min_ratio, Some(floor), "{value}");
        // Written back (as `tune` writes its profiles), it reads the same.
        let again = parse(&p.to_toml().unwrap(), "again").unwrap();
        assert_eq!(again.codec.unwrap().min_ratio, Some(floor), "{value}");
    }
    assert_eq!(
        parse(&with("10").replace("min_ratio = 10\n", ""), "p")
            .unwrap()
            .codec
            .unwrap()
            .min_ratio,
        None
    );
    for value in ["0", "-3", "\"0x\"", "\"ten\"", "nan", "inf", "true"] {
        let e = err(&with(value));
        assert_eq!((e.line, e.column), (Some(8), Some(13)), "{value}: {e}");
        assert!(
            e.message.contains("expected a codec ratio above 0"),
            "{value}: {e}"
        );
    }
}

#[test]
fn transport_sections_name_one_end_and_point_at_the_bad_key() {
    let both = format!(
        "{MINIMAL}[transport]\nkind = \"tcp\"\nconnect = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n"
    );
    let e = err(&both);
    assert_eq!((e.line, e.column), (Some(9), Some(10)), "{e}");
    assert!(e.message.contains("not both"), "{e}");

    let neither = format!("{MINIMAL}[transport]\nkind = \"tcp\"\n");
    let e = err(&neither);
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("needs connect"), "{e}");

    let broadcast = "version = 1\n[ring]\nkind = \"broadcast\"\ncapacity = 1024\n[workload]\nconsumers = 2\n\
                     [transport]\nkind = \"tcp\"\nconnect = \"127.0.0.1:1\"\n";
    let e = err(broadcast);
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("remote ring is spsc"), "{e}");

    let huge = format!(
        "{MINIMAL}[transport]\nkind = \"tcp\"\nconnect = \"127.0.0.1:1\"\nmax_frame_bytes = 1000000\n"
    );
    assert!(
        err(&huge)
            .message
            .contains("max_frame_bytes must be between")
    );

    let cap = format!(
        "{MINIMAL}[transport]\nkind = \"tcp\"\nconnect = \"127.0.0.1:1\"\nlink_mbps = -5.0\n"
    );
    assert!(err(&cap).message.contains("positive number of Mbit/s"));

    for (end, address, says) in [
        ("connect", "db-host", "expected host:port"),
        ("connect", "127.0.0.1:0", "port 0 only listens"),
        ("listen", "0.0.0.0:http", "the port is a number"),
        ("listen", "fe80::1:7471", "an IPv6 address goes in brackets"),
    ] {
        let bad = format!("{MINIMAL}[transport]\nkind = \"tcp\"\n{end} = \"{address}\"\n");
        let e = err(&bad);
        assert_eq!((e.line, e.column), (Some(8), Some(end.len() + 4)), "{e}");
        assert!(
            e.message.contains(&format!("address {address:?}: {says}")),
            "{e}"
        );
    }
    for (end, address) in [("listen", "127.0.0.1:0"), ("connect", "[::1]:7471")] {
        let good = format!("{MINIMAL}[transport]\nkind = \"tcp\"\n{end} = \"{address}\"\n");
        assert!(parse(&good, "p.toml").is_ok(), "{end} = {address}");
    }

    let rdma = format!("{MINIMAL}[transport]\nkind = \"rdma\"\nconnect = \"127.0.0.1:1\"\n");
    let checked = parse(&rdma, "p.toml");
    assert_eq!(checked.is_ok(), cfg!(feature = "rdma"), "{checked:?}");

    let sender = parse(
        &format!("{MINIMAL}[transport]\nkind = \"tcp\"\nconnect = \"10.0.0.2:7471\"\n"),
        "p.toml",
    )
    .unwrap();
    assert_eq!(
        sender.link_end(),
        LinkEndSetting::Send(TransportKind::Tcp, "10.0.0.2:7471".into())
    );
    let back = parse(&sender.to_toml().unwrap(), "saved.toml").unwrap();
    assert_eq!(back, sender);
}

#[test]
fn thread_counts_are_capped_where_they_are_written() {
    let e = err(
        "version = 1\n[ring]\nkind = \"broadcast\"\ncapacity = 1024\n[workload]\nconsumers = 100000\n",
    );
    assert_eq!(e.line, Some(6), "{e}");
    assert!(
        e.message
            .contains("consumers must be between 1 and 256 (each is a thread pinned to a CPU); 100000 asked for"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}producers = 0\n"));
    assert!(
        e.message.contains("producers must be between 1 and 256"),
        "{e}"
    );
}

#[test]
fn a_profile_to_save_keeps_no_token() {
    let mut p = parse(
        &format!("{MINIMAL}[transport]\nkind = \"tcp\"\nconnect = \"127.0.0.1:7471\"\ntoken = \"s3cret\"\n"),
        "p.toml",
    )
    .unwrap();
    assert!(p.forget_secrets());
    let text = p.to_toml().unwrap();
    assert!(
        !text.contains("s3cret") && !text.contains("token"),
        "{text}"
    );
    assert!(!p.forget_secrets(), "nothing left to forget");
    assert!(parse(&text, "saved.toml").is_ok());
}

#[test]
fn a_profile_without_a_workload_section_takes_every_default() {
    let p = parse(
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1024\n",
        "p.toml",
    )
    .unwrap();
    assert_eq!(p.workload, WorkloadSection::default());
    assert_eq!((p.workload.producers, p.workload.batch), (1, 64));
}

#[cfg(not(loom))]
mod hostile_text {
    use super::*;
    use proptest::prelude::*;

    /// Every built-in's text, one line of it replaced by a line of another setting or of noise.
    fn mutated() -> impl Strategy<Value = String> {
        let texts: Vec<&'static str> = builtin::BUILTIN.iter().map(|(_, text)| *text).collect();
        let lines: Vec<String> = texts
            .iter()
            .flat_map(|t| t.lines().map(str::to_owned))
            .collect();
        let noise = prop_oneof![
            proptest::sample::select(lines),
            "[a-z_.]{1,12} = (-?[0-9]{1,25}(\\.[0-9]{0,3})?|\"[^\"\\n]{0,12}\"|\\[[0-9, -]{0,12}\\]|true|\\{\\})",
            "\\PC{0,30}",
        ];
        (
            proptest::sample::select(texts),
            any::<prop::sample::Index>(),
            noise,
        )
            .prop_map(|(text, at, line)| {
                let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
                let i = at.index(lines.len());
                lines[i] = line;
                lines.join("\n")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// A profile text however broken is a profile or an error placed inside the text,
        /// never a panic.
        #[test]
        fn a_broken_profile_is_an_error_inside_the_text_not_a_panic(text in mutated()) {
            if let Err(e) = parse(&text, "p.toml") {
                prop_assert!(!e.message.is_empty());
                if let Some(line) = e.line {
                    prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "{e}");
                }
            }
        }
    }
}

#[test]
fn a_saved_profile_says_how_once_and_never_starts_with_a_space() {
    let mut profile = builtin::get("default").unwrap();
    let own = profile.description.clone();
    profile.mark_saved("saved from a headless run at 2.5 s");
    assert_eq!(
        profile.description,
        format!("{own} (saved from a headless run at 2.5 s)")
    );
    // Saved again, from a run of the saved file: the later note replaces the earlier.
    profile.mark_saved("saved from the dashboard running `p.toml`");
    assert_eq!(
        profile.description,
        format!("{own} (saved from the dashboard running `p.toml`)")
    );
    profile.description.clear();
    profile.mark_saved("saved from a headless run at 2.5 s");
    assert_eq!(
        profile.description,
        "Profile saved from a headless run at 2.5 s"
    );
    profile.mark_saved("saved from a headless run at 7.0 s");
    assert_eq!(
        profile.description,
        "Profile saved from a headless run at 7.0 s"
    );
}
