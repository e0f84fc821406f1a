//! Helpers the end-to-end test files share: the binary under test and its JSON-lines output.
#![allow(dead_code, reason = "each test file uses the helpers it needs")]

use std::io::BufRead;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// Fails the test with the command's stderr unless it exited 0.
pub fn assert_succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `ringtop` binary this build made.
pub fn ringtop() -> Command {
    let mut command = Command::cargo_bin("ringtop").expect("binary built");
    dies_with_the_test(&mut command);
    command
}

/// Has the process `command` starts killed by the kernel (SIGKILL, `PR_SET_PDEATHSIG`) when the
/// thread that starts it ends, for the case where no destructor runs: a test binary killed by a
/// timeout or `kill -9` would otherwise leave its `ringtop serve` or workload spinning on a CPU.
/// A test that waits for its child, or keeps it in a [`Reaped`], ends it first anyway.
pub fn dies_with_the_test(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec; it allocates nothing and
    // makes only async-signal-safe system calls (prctl, getppid).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The test died before the signal was asked for: it will never come.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    }
}

/// The next headless line of the given type, skipping others.
pub fn next_of(lines: &mut impl BufRead, kind: &str) -> Value {
    loop {
        let mut line = String::new();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "output ended before a {kind} line"
        );
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if value["type"] == kind {
            return value;
        }
    }
}

/// The tally in a summary line's `warnings` whose wording starts with `wording` (the numbers in
/// a warning's text change from one run to the next).
pub fn tally<'a>(summary: &'a Value, wording: &str) -> &'a Value {
    summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["warning"].as_str().unwrap().starts_with(wording))
        .unwrap_or_else(|| panic!("no tally of a warning `{wording}…`: {summary}"))
}

/// A child process killed when the test ends, however it ends: a failing test must not leave a
/// workload, a server or a dashboard running.
pub struct Reaped(Option<std::process::Child>);

impl Reaped {
    /// Takes charge of `child`.
    pub fn new(child: std::process::Child) -> Self {
        Reaped(Some(child))
    }

    /// Starts `command` as a child killed when the test ends, as [`Reaped::new`], and also when
    /// the test's thread dies without unwinding ([`dies_with_the_test`]).
    pub fn spawn(command: &mut Command) -> std::io::Result<Self> {
        dies_with_the_test(command).spawn().map(Reaped::new)
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("not taken").id()
    }

    /// The child, still running or not.
    pub fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("not taken")
    }

    /// The child, no longer killed at the end.
    pub fn take(mut self) -> std::process::Child {
        self.0.take().expect("not taken")
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `HOST:PORT` of the `/metrics` endpoint ringtop announces on stderr
/// (`ringtop: Prometheus metrics at http://HOST:PORT/metrics`).
pub fn announced_metrics(stderr: &mut impl BufRead) -> String {
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "ringtop never said where its metrics are"
        );
        if let Some(rest) = line.split("http://").nth(1) {
            return rest.trim().trim_end_matches("/metrics").to_owned();
        }
    }
}

/// The `HOST:PORT` a `ringtop serve` announces first on stderr (`ringtop: listening on ADDR`).
pub fn announced_address(stderr: &mut impl BufRead) -> String {
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    line.trim()
        .strip_prefix("ringtop: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

/// A command line run in a real pseudo-terminal (util-linux `script`), everything it writes to
/// the terminal collected as it comes.
pub struct Pty {
    /// `script`, which runs the command.
    pub script: Reaped,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    /// Runs `command_line` (a `/bin/sh` command line) in a pty with `TERM=xterm-256color` and
    /// `envs`. End it with `exec ringtop ...` so ringtop replaces the shell and is `script`'s
    /// child: dash (Debian's `/bin/sh`) would otherwise stay in between, and a signal a test
    /// sends "the child" would kill the shell and, with it, the pty under ringtop.
    pub fn spawn(command_line: &str, envs: &[(&str, &std::ffi::OsStr)]) -> Pty {
        use std::io::Read;
        let mut script = Command::new("script");
        script
            .args(["-q", "-f", "-e", "-c", command_line, "/dev/null"])
            .env("SHELL", "/bin/sh")
            .env("TERM", "xterm-256color")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (key, value) in envs {
            script.env(key, value);
        }
        let mut script = Reaped::spawn(&mut script)
            .expect("util-linux `script` (package bsdutils) runs the dashboard in a pty");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = {
            let output = output.clone();
            let mut stdout = script.child().stdout.take().unwrap();
            std::thread::spawn(move || {
                let mut chunk = [0; 4096];
                while let Ok(n) = stdout.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            })
        };
        Pty {
            script,
            output,
            reader: Some(reader),
        }
    }

    /// Types `keys` into the terminal.
    pub fn type_keys(&mut self, keys: &[u8]) {
        use std::io::Write;
        let stdin = self.script.child().stdin.as_mut().expect("a pty's input");
        stdin.write_all(keys).unwrap();
        stdin.flush().unwrap();
    }

    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until every one of `wanted` has been written, at most 30 s.
    pub fn wait_for(&self, wanted: &[&str]) {
        self.wait_for_within(wanted, std::time::Duration::from_secs(30));
    }

    /// As [`Pty::wait_for`], for up to `limit` (a search, a long measurement).
    pub fn wait_for_within(&self, wanted: &[&str], limit: std::time::Duration) {
        let started = std::time::Instant::now();
        while !wanted.iter().all(|w| self.text().contains(w)) {
            assert!(
                started.elapsed() < limit,
                "never shown: {wanted:?} in {}",
                self.text()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// What a `rows` × `cols` terminal shows now: everything written so far run through a
    /// terminal emulator. A redraw writes only the cells that changed, so text on the screen
    /// need not appear whole in the bytes (a letter already in its cell is skipped).
    pub fn screen(&self, rows: u16, cols: u16) -> String {
        let mut terminal = vt100::Parser::new(rows, cols, 0);
        terminal.process(&self.output.lock().unwrap());
        terminal.screen().contents()
    }

    /// Waits until a `rows` × `cols` screen shows every one of `wanted`, at most `limit`.
    pub fn wait_for_on_screen(
        &self,
        wanted: &[&str],
        (rows, cols): (u16, u16),
        limit: std::time::Duration,
    ) {
        let started = std::time::Instant::now();
        loop {
            let screen = self.screen(rows, cols);
            if wanted.iter().all(|w| screen.contains(w)) {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "never on screen: {wanted:?} in\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Waits for `script` to end; its status and everything written.
    pub fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = self.script.child().wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status, self.text())
    }
}

/// A fresh, empty directory for one test's files, under a name that starts with `ringtop-{name}-`
/// and is this directory's alone; removed with everything in it when dropped, a failing test's
/// too, so runs leave nothing behind in the temporary directory.
pub struct ScratchDir {
    dir: tempfile::TempDir,
}

impl std::ops::Deref for ScratchDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl AsRef<std::path::Path> for ScratchDir {
    fn as_ref(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl AsRef<std::ffi::OsStr> for ScratchDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.dir.path().as_os_str()
    }
}

/// A [`ScratchDir`] for one test's files.
pub fn scratch_dir(name: &str) -> ScratchDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("ringtop-{name}-"))
        .tempdir()
        .expect("a scratch directory");
    ScratchDir { dir }
}

/// The example binary `name`, built beside ringtop (cargo builds examples with the tests; built
/// here when a single test target was asked for).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let ringtop = assert_cmd::cargo::cargo_bin("ringtop");
    let profile_dir = ringtop.parent().expect("the binary's directory");
    let example = profile_dir.join("examples").join(name);
    // Always: `cargo test --test NAME` does not build examples, and one built earlier may be
    // stale (an up-to-date build returns at once).
    {
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        build.args(["build", "--example", name]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "the example builds");
    }
    example
}

/// This host's page size, as `getconf` says.
pub fn page_size() -> u64 {
    let out = Command::new("getconf").arg("PAGESIZE").output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Pixels of `png` within a small distance of the colour `#rrggbb`.
pub fn pixels_of(png: &[u8], channels: usize, hex: &str) -> usize {
    let target: Vec<i32> = (0..3)
        .map(|i| i32::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap())
        .collect();
    png.chunks_exact(channels)
        .filter(|p| (0..3).all(|i| (i32::from(p[i]) - target[i]).abs() <= 12))
        .count()
}

/// `html` as headless Chromium renders it: the PNG's pixels and its channels per pixel.
pub fn screenshot(html: &std::path::Path) -> (Vec<u8>, usize) {
    let shot = html.with_extension("png");
    let rendered = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,3000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("Chromium (Debian package chromium) is needed to render the report");
    assert!(rendered.success());
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(frame.buffer_size());
    (pixels, frame.color_type.samples())
}

/// `ringtop schema`'s schema for the `--json` document `name` (`documents.tune`, …).
pub fn document_schema(name: &str) -> Value {
    let out = ringtop().arg("schema").output().unwrap();
    assert_succeeded(&out);
    let schemas: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema = schemas["documents"][name].clone();
    assert!(schema.is_object(), "no schema for {name}");
    schema
}

/// Asserts that `doc` validates against [`document_schema`] `name`, by the `jsonschema` crate;
/// the schema, for further checks.
pub fn assert_document_valid(name: &str, doc: &Value) -> Value {
    let schema = document_schema(name);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{doc}");
    schema
}

/// Held by a test that spins threads on the machine's CPUs, so that the tests of one file that do
/// take them one at a time (two busy-spinning runs side by side on two CPUs would stall each
/// other and measure that). One lock per test binary.
pub fn machine() -> std::sync::MutexGuard<'static, ()> {
    static MACHINE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    MACHINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The comparison of `figure` for `thread` in a `compare --json` report.
pub fn comparison<'a>(report: &'a Value, thread: &str, figure: &str) -> &'a Value {
    report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["thread"] == thread && c["figure"] == figure)
        .unwrap_or_else(|| panic!("no {figure} of {thread} in {report}"))
}
