//! The `ringtop` command.

#[cfg(not(loom))]
mod cli;

#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    cli::main()
}

/// Under `--cfg loom` only the rings are built, for the loom models; the command needs the rest.
#[cfg(loom)]
fn main() -> std::process::ExitCode {
    eprintln!("ringtop: this build is for loom model checking; build without --cfg loom");
    std::process::ExitCode::from(2)
}
