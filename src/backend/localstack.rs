//! LocalStack in Docker, through `testcontainers`: used when `--backend localstack` is asked
//! for and no endpoint is given. The image is pinned to `localstack/localstack:4.9.2` (tags up
//! to 4.14.0 need no auth token; aws-semantics.md §5.1) with `SERVICES=kms,s3,sts,iam`. The
//! container lives as long as the returned [`Container`]; dropping it removes the container.
//! CI machines have no Docker daemon, so CI runs LocalStack with `scripts/localstack-host`
//! instead and this path is exercised only where Docker runs.

use std::path::PathBuf;

use testcontainers_modules::localstack::LocalStack;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

/// The pinned image tag.
pub const IMAGE_TAG: &str = "4.9.2";

/// A running LocalStack container.
pub struct Container(#[allow(dead_code)] ContainerAsync<LocalStack>);

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalStack container")
    }
}

/// Whether a Docker daemon looks reachable: `DOCKER_HOST` is set, or a Docker socket exists.
pub fn docker_available() -> bool {
    if std::env::var_os("DOCKER_HOST").is_some() {
        return true;
    }
    let mut sockets = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(home) = std::env::var_os("HOME") {
        sockets.push(PathBuf::from(home).join(".docker/run/docker.sock"));
    }
    sockets.iter().any(|s| s.exists())
}

/// How to get a LocalStack when Docker is not there.
pub const NO_DOCKER: &str = "no Docker daemon answers, so keylab cannot start LocalStack in a container: start Docker, or start LocalStack yourself without Docker with `scripts/localstack-host start` and set KEYLAB_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566 (or pass --endpoint URL)";

/// Starts LocalStack in Docker and returns it with its endpoint.
pub async fn start() -> Result<(Container, String), String> {
    if !docker_available() {
        return Err(NO_DOCKER.into());
    }
    let container = LocalStack::default()
        .with_tag(IMAGE_TAG)
        .with_env_var("SERVICES", "kms,s3,sts,iam")
        .start()
        .await
        .map_err(|e| {
            format!("cannot start localstack/localstack:{IMAGE_TAG} in Docker: {e}. {NO_DOCKER}")
        })?;
    let port = container
        .get_host_port_ipv4(4566)
        .await
        .map_err(|e| format!("LocalStack started but its port is unknown: {e}"))?;
    Ok((Container(container), format!("http://127.0.0.1:{port}")))
}
