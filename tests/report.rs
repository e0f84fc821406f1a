//! `ringtop report` in a real browser: headless Chromium (Debian's `chromium`, which CI installs)
//! renders the HTML of a real run to a PNG, and the plots are there: every chart's series
//! colours are drawn, not a blank page. The file fetches nothing.
#![cfg(not(loom))]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use ringtop::export::svg::PALETTE;

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringtop-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Pixels of `png` within a small distance of the colour `#rrggbb`.
fn pixels_of(png: &[u8], channels: usize, hex: &str) -> usize {
    let target: Vec<i32> = (0..3)
        .map(|i| i32::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap())
        .collect();
    png.chunks_exact(channels)
        .filter(|p| (0..3).all(|i| (i32::from(p[i]) - target[i]).abs() <= 12))
        .count()
}

#[test]
fn chromium_renders_every_plot_of_a_real_run() {
    let dir = dir();
    let run = dir.join("run.jsonl");
    let hlog = dir.join("run.hlog");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--builtin", "default"])
        .args(["--duration", "2s", "--interval", "200ms", "--hlog"])
        .arg(&hlog)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&run, &out.stdout).unwrap();
    let c2c = dir.join("c2c.json");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["c2c", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&c2c, &out.stdout).unwrap();

    let html = dir.join("report.html");
    let status = Command::new(cargo_bin("ringtop"))
        .arg("report")
        .arg(&run)
        .arg("-o")
        .arg(&html)
        .arg("--c2c")
        .arg(&c2c)
        .arg("--hlog")
        .arg(&hlog)
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing to fetch.
    for fetch in ["src=", "href=", "@import", "url(", "<script"] {
        assert!(
            !page.contains(fetch),
            "the report fetches something: {fetch}"
        );
    }
    assert_eq!(
        page.matches("<svg").count(),
        5,
        "four charts and the heatmap"
    );
    // The percentile plot from the interval log: every percentile, not the summary's six.
    let first_line = page.split("<polyline points=\"").nth(1).unwrap();
    let points = first_line.split('"').next().unwrap().split(' ').count();
    assert!(points > 20, "{points} points in the percentile plot");

    let shot = dir.join("report.png");
    let rendered = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,3000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("Chromium (Debian package chromium) is needed to render the report");
    assert!(rendered.success());
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    let pixels = &pixels[..frame.buffer_size()];
    // Two threads: the first two colours are drawn, in the throughput and CPU share charts
    // (both threads) and the latency charts (the consumer, first colour).
    for colour in &PALETTE[..2] {
        let drawn = pixels_of(pixels, channels, colour);
        assert!(
            drawn > 500,
            "{colour}: {drawn} pixels: the plots are missing"
        );
    }
    let not_white = pixels
        .chunks_exact(channels)
        .filter(|p| p[..3].iter().any(|c| *c < 200))
        .count();
    assert!(
        not_white > pixels.len() / channels / 50,
        "{not_white} dark pixels: a blank page"
    );
}
