//! The `keylab` command: parses the command line and maps errors to exit codes (0 success,
//! 1 failure, 2 usage errors, as clap reports them). Everything else lives in the library.

mod bench;
mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("keylab: {err:#}");
            ExitCode::FAILURE
        }
    }
}
