//! The `keylab` command: parses the command line and maps errors to exit codes (0 success,
//! 1 failure, 2 usage errors, as clap reports them). Everything else lives in the library.

mod bench;
mod class_cli;
mod cli;
mod lab_cli;
mod mask_cli;
mod study_cli;

use std::process::ExitCode;

/// mimalloc: the engine allocates many small buffers per request from several threads, where
/// glibc's allocator spent a fifth of the engine's time under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("keylab: {err:#}");
            ExitCode::FAILURE
        }
    }
}
