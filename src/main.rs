//! The `ringtop` command: parses arguments, picks a front end, calls the library.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ringtop::engine::probe::{self, ProbeConfig, ProbeReport};

/// Watch and tune a lock-free ring on this machine.
#[derive(Debug, Parser)]
#[command(name = "ringtop", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Options for the default command (`probe`).
    #[command(flatten)]
    probe: ProbeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure SPSC throughput, one-way latency and round trip on two pinned threads (default).
    Probe(ProbeArgs),
}

#[derive(Debug, Args, Clone)]
struct ProbeArgs {
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Rows moved in the throughput phase.
    #[arg(long, default_value_t = ProbeConfig::default().items)]
    items: u64,
    /// Ring capacity in rows (a power of two).
    #[arg(long, default_value_t = ProbeConfig::default().capacity)]
    capacity: usize,
    /// Rows per batch in the throughput phase.
    #[arg(long, default_value_t = ProbeConfig::default().batch)]
    batch: usize,
    /// Send rate (rows/s) of the one-way latency phase.
    #[arg(long, default_value_t = ProbeConfig::default().rate)]
    rate: u64,
    /// Rows sent in the one-way latency phase.
    #[arg(long, default_value_t = ProbeConfig::default().latency_samples)]
    latency_samples: u64,
    /// Ping-pong round trips.
    #[arg(long, default_value_t = ProbeConfig::default().round_trips)]
    round_trips: u64,
    /// CPU of the producer thread (default: first allowed CPU).
    #[arg(long)]
    producer_cpu: Option<usize>,
    /// CPU of the consumer thread (default: next allowed CPU).
    #[arg(long)]
    consumer_cpu: Option<usize>,
}

impl ProbeArgs {
    fn config(&self) -> ProbeConfig {
        ProbeConfig {
            items: self.items,
            capacity: self.capacity,
            batch: self.batch,
            rate: self.rate,
            latency_samples: self.latency_samples,
            round_trips: self.round_trips,
            producer_cpu: self.producer_cpu,
            consumer_cpu: self.consumer_cpu,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Probe(args)) => args,
        None => cli.probe,
    };
    let report = match probe::run(&args.config()) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("ringtop: {err}");
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        serde_json::to_string(&report).map(|mut s| {
            s.push('\n');
            s
        })
    } else {
        Ok(ringtop::engine::probe::render_table(&report))
    };
    let text = match text {
        Ok(t) => t,
        Err(err) => {
            eprintln!("ringtop: cannot encode the report: {err}");
            return ExitCode::FAILURE;
        }
    };
    write_stdout(&text, &report)
}

/// Writes the report; a closed stdout (`| head`) is not an error worth a panic.
fn write_stdout(text: &str, report: &ProbeReport) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        Err(err) => {
            eprintln!("ringtop: cannot write the report: {err}");
            return ExitCode::FAILURE;
        }
    }
    if report.integrity.is_clean() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "ringtop: ring integrity violated: {:?} (this is a bug; please report it)",
            report.integrity
        );
        ExitCode::FAILURE
    }
}
