//! The `snapkeep` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = snapkeep::cli::Cli::parse();
    match snapkeep::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("snapkeep: {err:#}");
            ExitCode::FAILURE
        }
    }
}
