//! The built-in engine: an in-process emulator of AWS KMS, S3, STS, IAM, Secrets Manager and
//! CloudTrail's event history that speaks the real wire protocols on loopback (plain HTTP and HTTPS), verifies
//! every SigV4 signature (with session tokens for assumed roles), evaluates key policies,
//! identity policies, role trust policies and grants with explanations, keeps an audit log,
//! and persists its state encrypted in a state directory. Any AWS SDK, the `aws` CLI or boto3
//! can talk to it; an admin API ([`admin`]) moves its clock.
//!
//! Layout: [`server`] (listeners and routing) hands each request to a service's front
//! (`kms::http`, `s3::http`, `secrets::http`, [`sts`], [`iam_query`], [`cloudtrail`],
//! [`admin`]), which
//! authenticates it ([`sigv4`]), decides it with `keylab_policy` and audits it ([`audit`]);
//! [`kms`], [`s3`], [`secrets`], [`sts`] and [`iam`] are the services, on [`identity`], [`roles`], [`clock`]
//! and [`state`]; [`reply`] holds the shapes the Query and JSON fronts share. The engine binds
//! 127.0.0.1 only.

pub mod admin;
pub mod audit;
pub(crate) mod auth;
pub mod clock;
pub mod cloudtrail;
pub mod connection;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod iam;
pub mod iam_query;
pub mod identity;
pub(crate) mod json_front;
pub mod kms;
pub mod operations;
pub mod reply;
pub mod roles;
pub mod s3;
pub mod secrets;
pub mod server;
pub mod sigv4;
pub mod state;
pub mod sts;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use self::audit::AuditLog;
use self::clock::Clock;
use self::iam::Iam;
use self::identity::{DEFAULT_IDENTITIES, IdentityError, IdentitySet};
use self::kms::Kms;
use self::state::{StateError, StateStore};

/// The region the engine serves unless told otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How to start an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where state, the audit log, the CA certificate and generated secrets live.
    pub state_dir: PathBuf,
    /// The HTTP port (0 picks a free one).
    pub http_port: u16,
    /// The HTTPS port (0 picks a free one).
    pub https_port: u16,
    /// The region served.
    pub region: String,
    /// An identity file to use instead of the embedded default.
    pub identities_file: Option<PathBuf>,
}

impl EngineConfig {
    /// A configuration with free ports, the default region and default identities.
    pub fn new(state_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            state_dir: state_dir.into(),
            http_port: 0,
            https_port: 0,
            region: DEFAULT_REGION.into(),
            identities_file: None,
        }
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A port could not be bound.
    #[error(
        "cannot listen on {addr}: {source}. Pass --port 0 and --tls-port 0 to pick free ports, or stop the program using it."
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The state directory is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The identity file is invalid.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// TLS could not be set up.
    #[error("{0}")]
    Tls(String),
    /// The audit log could not be opened.
    #[error("{path}: {source}")]
    Audit {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct EngineMeta {
    clock_offset_secs: i64,
}

/// Shared state of a running engine.
pub struct Inner {
    pub(crate) region: String,
    pub(crate) identities: Arc<IdentitySet>,
    pub(crate) kms: Arc<Kms>,
    pub(crate) iam: Iam,
    pub(crate) s3: s3s::service::S3Service,
    pub(crate) secrets: secrets::SecretsManager,
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) clock: Arc<Clock>,
    pub(crate) store: Arc<StateStore>,
}

/// A handle on a running engine's state (identities, policies, audit log, KMS), shared with
/// the console and graders; the listeners belong to the [`Engine`].
#[derive(Clone)]
pub struct EngineHandle(Arc<Inner>);

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// The lab identities.
    pub fn identities(&self) -> &IdentitySet {
        &self.0.identities
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.0.audit
    }

    /// The KMS service.
    pub fn kms(&self) -> &Kms {
        &self.0.kms
    }

    /// The IAM service: inline identity policies, authorized as the caller.
    pub fn iam(&self) -> &Iam {
        &self.0.iam
    }

    /// The virtual clock.
    pub fn clock(&self) -> &Clock {
        &self.0.clock
    }

    /// Advances the virtual clock and applies what became due (rotations, deletions).
    pub fn advance_clock(&self, by: time::Duration) -> Result<(), StateError> {
        self.0.clock.advance(by);
        self.save_clock()
    }

    /// Sets the virtual clock to `to`, which must not be earlier than its current time (the
    /// lab's clock only moves forward, so what already happened stays in the past); applies
    /// what became due. Returns the new time.
    pub fn set_clock(&self, to: time::OffsetDateTime) -> Result<time::OffsetDateTime, String> {
        let now = self.0.clock.now();
        if to < now {
            return Err(format!(
                "the engine clock only moves forward: {} is before its current time {}",
                to.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                now.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ));
        }
        self.0.clock.advance(to - now);
        self.save_clock().map_err(|e| e.to_string())?;
        Ok(self.0.clock.now())
    }

    fn save_clock(&self) -> Result<(), StateError> {
        self.0.store.save(
            "engine",
            &EngineMeta {
                clock_offset_secs: self.0.clock.offset_secs(),
            },
        )?;
        self.0.kms.tick();
        Ok(())
    }

    /// Replaces a role's trust policy, as the lab's operator (no authorization; saved).
    pub fn put_trust_policy(&self, role_arn: &str, document: &str) -> Result<(), String> {
        self.0.identities.put_trust_policy(role_arn, document)?;
        self.0
            .store
            .save(sts::TRUST_DOC, &self.0.identities.trust_texts())
            .map_err(|e| e.to_string())
    }

    /// Attaches an inline identity policy to a lab identity, as the lab's operator (no
    /// authorization: tests and setup use it; learners go through [`Iam`]).
    pub fn put_identity_policy(
        &self,
        profile: &str,
        name: &str,
        document: &str,
    ) -> Result<(), String> {
        self.0.identities.put_policy(profile, name, document)?;
        self.0.iam.save().map_err(|e| e.message)
    }

    /// Removes an inline identity policy; returns whether it existed.
    pub fn delete_identity_policy(&self, profile: &str, name: &str) -> Result<bool, String> {
        let existed = self.0.identities.delete_policy(profile, name);
        self.0.iam.save().map_err(|e| e.message)?;
        Ok(existed)
    }
}

/// A running engine. Dropping it without [`Engine::shutdown`] stops the listeners too. It
/// derefs to its [`EngineHandle`] for the state every holder of a handle can reach.
pub struct Engine {
    handle: EngineHandle,
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    ca_path: PathBuf,
    ca_pem: String,
    started: Instant,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _lock: std::fs::File,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("http", &self.http_addr)
            .field("https", &self.https_addr)
            .finish_non_exhaustive()
    }
}

async fn bind(port: u16) -> Result<TcpListener, EngineError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpListener::bind(addr)
        .await
        .map_err(|source| EngineError::Bind { addr, source })
}

impl Engine {
    /// Starts the engine: loads state, binds both listeners on 127.0.0.1 and serves.
    pub async fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let started = Instant::now();
        let lock = state::lock(&config.state_dir)?;
        let store = Arc::new(StateStore::open(&config.state_dir)?);
        let identities = match &config.identities_file {
            Some(path) => IdentitySet::load(path, Some(&store))?,
            None => IdentitySet::parse(DEFAULT_IDENTITIES, "default identities", Some(&store))?,
        };
        if let Some(saved) = store.load("iam")? {
            identities.replace_policies(saved);
        }
        if let Some(saved) = store.load(iam::CREATED_ROLES_DOC)? {
            identities.restore_created_roles(saved);
        }
        if let Some(saved) = store.load(sts::TRUST_DOC)? {
            identities.restore_trust(saved);
        }
        let identities = Arc::new(identities);
        let meta: EngineMeta = store.load("engine")?.unwrap_or_default();
        let clock = Arc::new(Clock::with_offset(meta.clock_offset_secs));
        sts::restore_sessions(&identities, &store, clock.now())?;
        let kms = Arc::new(Kms::open(
            &config.region,
            Some(store.clone()),
            identities.clone(),
            clock.clone(),
        )?);
        let audit = Arc::new(
            AuditLog::open(store.dir()).map_err(|source| EngineError::Audit {
                path: store.dir().join(audit::FILE_NAME),
                source,
            })?,
        );
        let s3_engine = s3::S3Engine::open(
            &config.region,
            store.clone(),
            kms.clone(),
            identities.clone(),
            clock.clone(),
            audit.clone(),
        )?;
        let secrets = secrets::SecretsManager::open(
            &config.region,
            kms.clone(),
            identities.clone(),
            audit.clone(),
            clock.clone(),
            store.clone(),
        )?;
        let s3_state = s3_engine.state_handle();
        let access = s3_engine.access();
        let mut builder = s3s::service::S3ServiceBuilder::new(s3_engine);
        builder.set_auth(s3::access::IdentityAuth(identities.clone()));
        builder.set_route(s3::object_encryption::EngineRoutes {
            bucket: s3::blocked::BucketEncryptionRoute {
                state: s3_state.clone(),
                store: store.clone(),
                access: access.clone(),
            },
            object: s3::object_encryption::ObjectEncryptionRoute {
                state: s3_state,
                store: store.clone(),
                access: access.clone(),
                kms: kms.clone(),
                identities: identities.clone(),
                audit: audit.clone(),
                clock: clock.clone(),
                region: config.region.clone(),
            },
        });
        builder.set_access(access);
        builder.set_host(s3::host::LoopbackHost);
        let s3 = builder.build();
        let tls = tls::setup(&store).map_err(EngineError::Tls)?;

        let http = bind(config.http_port).await?;
        let https = bind(config.https_port).await?;
        let http_addr = http.local_addr().map_err(|source| EngineError::Bind {
            addr: http_addr_of(config.http_port),
            source,
        })?;
        let https_addr = https.local_addr().map_err(|source| EngineError::Bind {
            addr: http_addr_of(config.https_port),
            source,
        })?;

        let identities_for_iam = identities.clone();
        let inner = Arc::new(Inner {
            region: config.region.clone(),
            identities,
            kms,
            iam: Iam::new(identities_for_iam, store.clone()),
            s3,
            secrets,
            audit,
            clock,
            store,
        });
        let (shutdown, rx) = watch::channel(false);
        let acceptor = TlsAcceptor::from(tls.config.clone());
        let tasks = vec![
            tokio::spawn(server::serve(http, None, inner.clone(), rx.clone())),
            tokio::spawn(server::serve(https, Some(acceptor), inner.clone(), rx)),
        ];
        Ok(Engine {
            handle: EngineHandle(inner),
            http_addr,
            https_addr,
            ca_path: tls.ca_path,
            ca_pem: tls.ca_pem,
            started,
            shutdown,
            tasks,
            _lock: lock,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn https_endpoint(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    /// The CA certificate file clients must trust for HTTPS.
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_path
    }

    /// The CA certificate (PEM).
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The region served.
    pub fn region(&self) -> &str {
        &self.handle.0.region
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        self.handle.0.store.dir()
    }

    /// How long start-up took.
    pub fn startup_time(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// A cheap, cloneable handle on the engine's state, for the console and graders.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Stops the listeners and flushes the audit log.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        self.handle.0.audit.close();
    }
}

fn http_addr_of(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl std::ops::Deref for Engine {
    type Target = EngineHandle;

    fn deref(&self) -> &EngineHandle {
        &self.handle
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
