//! The `keylab` command: parses the command line and maps errors to exit codes (0 success,
//! 1 failure, 2 usage errors, as clap reports them). Output cut short by a closed pipe (`keylab
//! list | head -1`) ends quietly with 0, as ripgrep does. Everything else lives in the library.

mod cli;

use std::process::ExitCode;

/// mimalloc: the engine allocates many small buffers per request from several threads, where
/// glibc's allocator spent a fifth of the engine's time under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let result = cli::run();
    cli::finish_signal_exit();
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let message = format!("{err:#}");
            eprintln!("keylab: {}", keylab::sanitize::text(&message));
            ExitCode::FAILURE
        }
    }
}

/// Whether an error comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
