//! LocalStack in Docker, through `testcontainers`: used when `--backend localstack` is asked
//! for and no endpoint is given.
//!
//! The image comes from `KEYLAB_LOCALSTACK_IMAGE`, by default `localstack/localstack:4.9.2`
//! (tags up to 4.14.0 need no auth token; aws-semantics.md §5.1). Where no registry can be
//! reached, `scripts/localstack-image build` makes `keylab/localstack:4.9.2` from Debian's and
//! PyPI's packages with the same pins as `scripts/localstack-host`.
//!
//! Two kinds of container, told apart by the label [`ROLE_LABEL`]:
//! - a **session** container belongs to one keylab process (its pid in [`OWNER_LABEL`]) and is
//!   removed when the [`Container`] guard is dropped (normal exit, error, unwinding panic), by
//!   the panic hook (a panic on another thread), and on SIGINT, SIGTERM and SIGHUP by
//!   [`remove_on_signals`]. `keylab localstack prune` removes those of processes killed outright.
//! - a **shared** container comes from `keylab localstack up`: later commands and the terminal
//!   app use it instead of starting their own, until `keylab localstack down`.
//!
//! testcontainers creates the container and waits for LocalStack's `Ready.`; keylab removes it
//! itself (through bollard, on a thread of its own) because testcontainers' own removal on drop
//! needs a tokio runtime to still be running, which is not the case when `main` returns. Limits:
//! testcontainers publishes the port on every interface of the host (LocalStack takes any
//! credentials, so a lab machine on a shared network should use host mode or a firewall), and
//! `prune` can tell a dead owner only where `/proc` exists (Linux); elsewhere it removes every
//! session container only with `--all`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt, ReuseDirective};

/// The image used when `KEYLAB_LOCALSTACK_IMAGE` is not set: the official one, pinned.
pub const DEFAULT_IMAGE: &str = "localstack/localstack:4.9.2";
/// The image `scripts/localstack-image build` makes here, without a registry.
pub const BUILT_IMAGE: &str = "keylab/localstack:4.9.2";
/// The environment variable that chooses the image.
pub const IMAGE_ENV: &str = "KEYLAB_LOCALSTACK_IMAGE";
/// The label every keylab container carries: `session` or `shared`.
pub const ROLE_LABEL: &str = "org.keylab.localstack";
/// The label naming the pid of the keylab process that owns a session container.
pub const OWNER_LABEL: &str = "org.keylab.owner";
/// The label naming the image a container was asked for (so `up` for one image is not reused
/// for another).
pub const IMAGE_LABEL: &str = "org.keylab.image";
/// The services keylab needs, and the only ones LocalStack starts.
const SERVICES: &str = "kms,s3,sts,iam,secretsmanager";
/// How long LocalStack may take to print `Ready.`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);

/// How to get a LocalStack when Docker is not there.
pub const NO_DOCKER: &str = "no Docker daemon answers, so keylab cannot start LocalStack in a container: start Docker, or start LocalStack yourself without Docker with `scripts/localstack-host start` and set KEYLAB_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566 (or pass --endpoint URL)";

/// A container image, as `name:tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository, `localstack/localstack`.
    pub name: String,
    /// The tag, `4.9.2`.
    pub tag: String,
}

impl ImageRef {
    /// The image chosen by `KEYLAB_LOCALSTACK_IMAGE`, or [`DEFAULT_IMAGE`].
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(IMAGE_ENV) {
            Ok(value) if !value.trim().is_empty() => {
                Self::parse(value.trim()).map_err(|e| format!("{IMAGE_ENV}: {e}"))
            }
            _ => Self::parse(DEFAULT_IMAGE),
        }
    }

    /// Parses `name:tag` (a registry host with a port, `host:5000/name:tag`, is kept whole).
    pub fn parse(text: &str) -> Result<Self, String> {
        let slash = text.rfind('/').map_or(0, |i| i + 1);
        let Some(colon) = text[slash..].rfind(':').map(|i| slash + i) else {
            return Err(format!(
                "`{text}` has no tag; write it as name:tag, for example {BUILT_IMAGE}"
            ));
        };
        let (name, tag) = (&text[..colon], &text[colon + 1..]);
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c))
        };
        if !valid(name) || !valid(tag) || tag.contains('/') {
            return Err(format!(
                "`{text}` is not an image name; write it as name:tag, for example {BUILT_IMAGE}"
            ));
        }
        Ok(Self {
            name: name.to_string(),
            tag: tag.to_string(),
        })
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// A LocalStack container keylab uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    /// Its endpoint on this machine, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The container's id (the first 12 characters are what `docker ps` shows).
    pub id: String,
    /// The image it runs.
    pub image: String,
    /// Whether it is the shared container of `keylab localstack up` (not removed by this
    /// process).
    pub shared: bool,
}

impl Running {
    /// How the status bar and messages name it: `LocalStack in container 0123456789ab (shared,
    /// keylab localstack up)`.
    pub fn describe(&self) -> String {
        let short = &self.id[..self.id.len().min(12)];
        if self.shared {
            format!("LocalStack in container {short} (shared: keylab localstack up)")
        } else {
            format!("LocalStack in container {short} (removed when keylab exits)")
        }
    }
}

/// The LocalStack a keylab process uses: removed on drop when this process started it.
#[derive(Debug)]
pub struct Container {
    running: Running,
}

impl Container {
    /// The container.
    pub fn running(&self) -> &Running {
        &self.running
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.running.shared {
            return;
        }
        remove_blocking(&self.running.id);
        owned().retain(|id| id != &self.running.id);
    }
}

/// The ids of the session containers this process owns, for the signal and panic paths (a
/// guard cannot run there).
fn owned() -> std::sync::MutexGuard<'static, Vec<String>> {
    static OWNED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    OWNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

fn docker() -> Result<Docker, String> {
    if !docker_available() {
        return Err(NO_DOCKER.into());
    }
    Docker::connect_with_defaults().map_err(|e| format!("cannot reach Docker: {e}. {NO_DOCKER}"))
}

/// The shared container for `image`, if `keylab localstack up` left one running.
pub async fn find_shared(image: &ImageRef) -> Result<Option<Running>, String> {
    let docker = docker()?;
    let found = list(&docker, "shared", false).await?;
    Ok(found
        .into_iter()
        .find(|c| c.image == image.to_string() && c.running && c.endpoint.is_some())
        .map(|c| Running {
            endpoint: c.endpoint.unwrap_or_default(),
            id: c.id,
            image: c.image,
            shared: true,
        }))
}

/// The LocalStack for this process: the shared container of `keylab localstack up` when one
/// runs the same image, otherwise a session container started now and removed when the
/// returned guard is dropped.
pub async fn start() -> Result<Container, String> {
    let image = ImageRef::from_env()?;
    if let Some(running) = find_shared(&image).await? {
        return Ok(Container { running });
    }
    let running = launch(&image, Role::Session).await?;
    Ok(Container { running })
}

/// `keylab localstack up`: the shared container, started if none runs.
pub async fn up() -> Result<(Running, bool), String> {
    let image = ImageRef::from_env()?;
    if let Some(running) = find_shared(&image).await? {
        return Ok((running, false));
    }
    Ok((launch(&image, Role::Shared).await?, true))
}

/// `keylab localstack down`: removes the shared containers; returns their ids.
pub async fn down() -> Result<Vec<String>, String> {
    let docker = docker()?;
    let mut removed = Vec::new();
    for found in list(&docker, "shared", true).await? {
        remove(&docker, &found.id).await?;
        removed.push(found.id);
    }
    Ok(removed)
}

/// `keylab localstack prune`: removes the session containers whose keylab process is gone
/// (all of them with `all`); returns the removed ids and the ones kept with their owners.
pub async fn prune(all: bool) -> Result<(Vec<String>, Vec<(String, String)>), String> {
    let docker = docker()?;
    let (mut removed, mut kept) = (Vec::new(), Vec::new());
    for found in list(&docker, "session", true).await? {
        let owner = found.owner.clone().unwrap_or_default();
        if !all && owner_is_alive(&owner) {
            kept.push((found.id, owner));
            continue;
        }
        remove(&docker, &found.id).await?;
        removed.push(found.id);
    }
    Ok((removed, kept))
}

/// Every keylab container, for `keylab localstack status`.
pub async fn status() -> Result<Vec<Listed>, String> {
    let docker = docker()?;
    let mut all = list(&docker, "shared", true).await?;
    all.extend(list(&docker, "session", true).await?);
    Ok(all)
}

/// Whether the process named by an owner label still runs. Where that cannot be known (no
/// `/proc`), it is taken as running.
fn owner_is_alive(owner: &str) -> bool {
    let Ok(pid) = owner.parse::<u32>() else {
        return false;
    };
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Session,
    Shared,
}

/// Starts a container through testcontainers and waits for LocalStack's `Ready.`.
async fn launch(image: &ImageRef, role: Role) -> Result<Running, String> {
    let docker = docker()?;
    let present = docker.inspect_image(&image.to_string()).await.is_ok();
    let mut request = GenericImage::new(image.name.clone(), image.tag.clone())
        .with_exposed_port(4566.tcp())
        .with_wait_for(WaitFor::message_on_either_std("Ready."))
        .with_env_var("SERVICES", SERVICES)
        .with_label(ROLE_LABEL, role_name(role))
        .with_label(IMAGE_LABEL, image.to_string())
        .with_startup_timeout(STARTUP_TIMEOUT)
        // keylab removes its containers itself (see the module's documentation).
        .with_reuse(ReuseDirective::Always);
    if role == Role::Session {
        request = request.with_label(OWNER_LABEL, std::process::id().to_string());
        install_panic_cleanup();
    }
    let started = request.start().await.map_err(|e| {
        if present {
            format!("cannot start {image} in Docker: {e}")
        } else {
            format!(
                "the image {image} is not on this machine and could not be pulled ({e}); without a registry, build one here with `bash scripts/localstack-image build` and set {IMAGE_ENV}={BUILT_IMAGE}"
            )
        }
    })?;
    let id = started.id().to_string();
    if role == Role::Session {
        owned().push(id.clone());
    }
    let port = match started.get_host_port_ipv4(4566).await {
        Ok(port) => port,
        Err(e) => {
            remove(&docker, &id).await.ok();
            owned().retain(|o| o != &id);
            return Err(format!("LocalStack started but its port is unknown: {e}"));
        }
    };
    Ok(Running {
        endpoint: format!("http://127.0.0.1:{port}"),
        id,
        image: image.to_string(),
        shared: role == Role::Shared,
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Session => "session",
        Role::Shared => "shared",
    }
}

/// A keylab container as Docker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its id.
    pub id: String,
    /// `session` or `shared`.
    pub role: String,
    /// The pid of the keylab that owns a session container.
    pub owner: Option<String>,
    /// The image it was asked for.
    pub image: String,
    /// Its endpoint, when its port is published.
    pub endpoint: Option<String>,
    /// Whether it runs.
    pub running: bool,
    /// Docker's status line, `Up 3 minutes`.
    pub status: String,
}

async fn list(docker: &Docker, role: &str, all: bool) -> Result<Vec<Listed>, String> {
    list_labelled(docker, &format!("{ROLE_LABEL}={role}"), all).await
}

async fn list_labelled(docker: &Docker, label: &str, all: bool) -> Result<Vec<Listed>, String> {
    let filters = HashMap::from([("label", vec![label.to_string()])]);
    let options = ListContainersOptionsBuilder::new()
        .all(all)
        .filters(&filters)
        .build();
    let summaries = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| format!("cannot list containers ({e}): {NO_DOCKER}"))?;
    Ok(summaries
        .into_iter()
        .map(|s| {
            let labels = s.labels.unwrap_or_default();
            let endpoint = s.ports.unwrap_or_default().into_iter().find_map(|p| {
                (p.private_port == 4566)
                    .then_some(p.public_port)
                    .flatten()
                    .map(|port| format!("http://127.0.0.1:{port}"))
            });
            Listed {
                id: s.id.unwrap_or_default(),
                role: labels.get(ROLE_LABEL).cloned().unwrap_or_default(),
                owner: labels.get(OWNER_LABEL).cloned(),
                image: labels.get(IMAGE_LABEL).cloned().unwrap_or_default(),
                endpoint,
                running: s
                    .state
                    .is_some_and(|st| st.to_string().eq_ignore_ascii_case("running")),
                status: s.status.unwrap_or_default(),
            }
        })
        .collect())
}

async fn remove(docker: &Docker, id: &str) -> Result<(), String> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(format!("cannot remove container {id}: {e}")),
    }
}

/// Removes a container from any thread, runtime or not (see [`on_own_runtime`]).
fn remove_blocking(id: &str) {
    let id = id.to_string();
    on_own_runtime(async move {
        if let Ok(docker) = docker()
            && let Err(e) = remove(&docker, &id).await
        {
            eprintln!("keylab: {e} (`keylab localstack prune` removes it later)");
        }
    });
}

/// Runs `work` on a thread of its own with a runtime of its own and waits for it, so a guard
/// dropped after `main`'s runtime stopped, a panic hook or a signal handler can still talk to
/// Docker.
fn on_own_runtime(work: impl std::future::Future<Output = ()> + Send + 'static) {
    let worker = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(work);
        }
    });
    let _ = worker.join();
}

/// Removes every session container this process owns (the signal and panic paths): those it
/// registered, and those Docker lists under its pid (a signal during start-up comes before the
/// container is registered).
pub fn remove_owned_blocking() {
    let mut ids: Vec<String> = owned().drain(..).collect();
    on_own_runtime(async move {
        let Ok(docker) = docker() else { return };
        let mine = format!("{OWNER_LABEL}={}", std::process::id());
        if let Ok(listed) = list_labelled(&docker, &mine, true).await {
            ids.extend(listed.into_iter().map(|l| l.id));
        }
        ids.sort();
        ids.dedup();
        for id in ids {
            if let Err(e) = remove(&docker, &id).await {
                eprintln!("keylab: {e} (`keylab localstack prune` removes it later)");
            }
        }
    });
}

/// Chains a panic hook that removes this process's session containers: a panic on a thread
/// other than the one holding the guard would otherwise leave them.
fn install_panic_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            remove_owned_blocking();
            previous(info);
        }));
    });
}

/// Whether a signal's cleanup is under way: the process is about to exit with the signal's
/// code, so whatever fails meanwhile (requests to the container being removed) must not end
/// it with another.
pub fn exiting() -> bool {
    EXITING.load(std::sync::atomic::Ordering::SeqCst)
}

static EXITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Waits on `runtime` for SIGINT, SIGTERM or SIGHUP; on one, removes this process's session
/// containers and exits with 128 + the signal's number, as a shell reports it.
#[cfg(unix)]
pub fn remove_on_signals(runtime: &tokio::runtime::Handle) {
    use tokio::signal::unix::{SignalKind, signal};
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        runtime.spawn(async {
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            let code = tokio::select! {
                _ = int.recv() => 130,
                _ = term.recv() => 143,
                _ = hup.recv() => 129,
            };
            EXITING.store(true, std::sync::atomic::Ordering::SeqCst);
            tokio::task::spawn_blocking(remove_owned_blocking)
                .await
                .ok();
            std::process::exit(code);
        });
    });
}

/// Where signals cannot be caught this way, the guard and `prune` are the cleanup.
#[cfg(not(unix))]
pub fn remove_on_signals(_runtime: &tokio::runtime::Handle) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_at_the_tag_not_at_a_registry_port() {
        assert_eq!(
            ImageRef::parse("localstack/localstack:4.9.2").unwrap(),
            ImageRef {
                name: "localstack/localstack".into(),
                tag: "4.9.2".into()
            }
        );
        assert_eq!(
            ImageRef::parse("registry.local:5000/keylab/localstack:4.9.2").unwrap(),
            ImageRef {
                name: "registry.local:5000/keylab/localstack".into(),
                tag: "4.9.2".into()
            }
        );
        let untagged = ImageRef::parse("registry.local:5000/keylab/localstack").unwrap_err();
        assert!(untagged.contains("has no tag"), "{untagged}");
        let bad = ImageRef::parse("local stack:1").unwrap_err();
        assert!(bad.contains("not an image name"), "{bad}");
    }

    #[test]
    fn a_shared_container_says_so_and_a_session_one_says_it_goes() {
        let mut running = Running {
            endpoint: "http://127.0.0.1:1".into(),
            id: "0123456789abcdef".into(),
            image: BUILT_IMAGE.into(),
            shared: true,
        };
        assert_eq!(
            running.describe(),
            "LocalStack in container 0123456789ab (shared: keylab localstack up)"
        );
        running.shared = false;
        assert!(running.describe().contains("removed when keylab exits"));
    }
}
