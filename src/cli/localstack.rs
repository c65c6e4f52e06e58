//! `keylab localstack up|down|status|prune`: one LocalStack container kept running for later
//! commands and the terminal app (so each `check` does not pay LocalStack's start-up), and
//! the cleanup of containers a killed keylab left behind. The containers themselves are
//! [`keylab::backend::localstack`]'s.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// What `keylab localstack` does.
#[derive(Debug, Subcommand)]
pub enum LocalstackCommand {
    /// Start a LocalStack container that later commands and the terminal app reuse (image:
    /// KEYLAB_LOCALSTACK_IMAGE, default localstack/localstack:4.9.2).
    Up,
    /// Remove the container `keylab localstack up` started.
    Down,
    /// List keylab's LocalStack containers.
    Status,
    /// Remove the containers of keylab processes that were killed before they could.
    Prune {
        /// Also remove the containers of keylab processes that still run
        #[arg(long)]
        all: bool,
    },
}

/// Runs a `keylab localstack` command.
#[cfg(feature = "docker")]
pub fn run(command: &LocalstackCommand) -> Result<ExitCode> {
    use anyhow::anyhow;
    use keylab::backend::localstack;
    let rt = super::runtime()?;
    match command {
        LocalstackCommand::Up => {
            let image = localstack::ImageRef::from_env().map_err(|e| anyhow!(e))?;
            let spinner = indicatif::ProgressBar::new_spinner()
                .with_message(format!("starting LocalStack ({image}) in Docker"));
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let started = std::time::Instant::now();
            let result = rt.block_on(localstack::up());
            spinner.finish_and_clear();
            let (running, new) = result.map_err(|e| anyhow!("keylab localstack up: {e}"))?;
            if new {
                outln!(
                    "LocalStack ({}) is ready at {} after {:.1} s, in container {}",
                    running.image,
                    running.endpoint,
                    started.elapsed().as_secs_f64(),
                    &running.id[..12.min(running.id.len())]
                );
            } else {
                outln!(
                    "LocalStack ({}) already runs at {}, in container {}",
                    running.image,
                    running.endpoint,
                    &running.id[..12.min(running.id.len())]
                );
            }
            outln!(
                "`--backend localstack` and the terminal app use it until `keylab localstack down`."
            );
            Ok(ExitCode::SUCCESS)
        }
        LocalstackCommand::Down => {
            let removed = rt
                .block_on(localstack::down())
                .map_err(|e| anyhow!("keylab localstack down: {e}"))?;
            match removed.len() {
                0 => outln!("no shared LocalStack container runs"),
                n => outln!(
                    "removed {n} shared LocalStack container{}",
                    if n == 1 { "" } else { "s" }
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        LocalstackCommand::Status => {
            let all = rt
                .block_on(localstack::status())
                .map_err(|e| anyhow!("keylab localstack status: {e}"))?;
            if all.is_empty() {
                outln!("no keylab LocalStack container");
            }
            for c in all {
                let owner = c
                    .owner
                    .map(|pid| format!(", keylab pid {pid}"))
                    .unwrap_or_default();
                outln!(
                    "{}  {}{}  {}  {}  {}",
                    &c.id[..12.min(c.id.len())],
                    c.role,
                    owner,
                    c.image,
                    c.endpoint.as_deref().unwrap_or("-"),
                    c.status
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        LocalstackCommand::Prune { all } => {
            let (removed, kept) = rt
                .block_on(localstack::prune(*all))
                .map_err(|e| anyhow!("keylab localstack prune: {e}"))?;
            outln!(
                "removed {} leftover LocalStack container{}",
                removed.len(),
                if removed.len() == 1 { "" } else { "s" }
            );
            for (id, owner) in kept {
                outln!(
                    "kept {} : keylab pid {owner} still runs (--all removes it too)",
                    &id[..12.min(id.len())]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Without the docker feature there is nothing to manage.
#[cfg(not(feature = "docker"))]
pub fn run(_command: &LocalstackCommand) -> Result<ExitCode> {
    anyhow::bail!(
        "keylab localstack: this keylab was built without the docker feature; start LocalStack with `scripts/localstack-host start` and set KEYLAB_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566"
    )
}
