//! The `ringtop` command.

// `eprintln!` and `println!` panic when their stream cannot be written: see `say!`.
#![warn(clippy::print_stderr, clippy::print_stdout)]

#[cfg(not(loom))]
mod cli;

#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    cli::main()
}

/// Under `--cfg loom` only the rings are built, for the loom models; the command needs the rest.
#[cfg(loom)]
#[allow(clippy::print_stderr)] // A build no user runs; `output` is not in it.
fn main() -> std::process::ExitCode {
    eprintln!("ringtop: this build is for loom model checking; build without --cfg loom");
    std::process::ExitCode::from(2)
}
