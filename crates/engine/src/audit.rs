//! The engine's audit log, modelled on CloudTrail: one event per request with the time, the
//! principal, the operation, the resources, the encryption context, the authorization decision
//! (with its trace when denied) and the error code. It never holds plaintext, data keys,
//! ciphertext blobs or secrets. Events are kept in memory for in-process graders (the most
//! recent [`MEMORY_CAP`]) and appended to `audit.jsonl` in the state directory by a writer
//! thread, so logging never blocks a request. The file is flushed at least every
//! [`FLUSH_EVERY`] and when the log is closed.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use keylab_policy::eval::Trace;

/// How many recent events are kept in memory.
pub const MEMORY_CAP: usize = 2_000;

/// How long an event may wait in the writer's buffer before it reaches the file.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// The file name of the audit log inside the state directory.
pub const FILE_NAME: &str = "audit.jsonl";

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    /// The caller's ARN (user, or assumed-role session).
    pub arn: String,
    /// The caller's account.
    pub account_id: String,
    /// The lab profile name.
    pub profile: String,
    /// The access key used.
    pub access_key_id: String,
}

impl UserIdentity {
    /// The audit view of a lab identity.
    pub fn of(identity: &crate::identity::Identity) -> UserIdentity {
        UserIdentity {
            arn: identity.caller.arn.clone(),
            account_id: identity.caller.account.clone(),
            profile: identity.profile.clone(),
            access_key_id: identity.access_key_id.clone(),
        }
    }
}

/// One audited request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Virtual time of the request (RFC 3339).
    pub event_time: String,
    /// `kms.amazonaws.com` or `s3.amazonaws.com`.
    pub event_source: String,
    /// The operation, such as `Encrypt`.
    pub event_name: String,
    /// The request id returned to the client.
    pub request_id: String,
    /// True when the request came over HTTPS.
    pub secure_transport: bool,
    /// The caller, when the signature was valid.
    pub user_identity: Option<UserIdentity>,
    /// The service that called on the caller's behalf (`kms:ViaService`), if any.
    pub via_service: Option<String>,
    /// ARNs of the resources involved.
    pub resources: Vec<String>,
    /// The encryption context sent, if any.
    pub encryption_context: Option<BTreeMap<String, String>>,
    /// Request parameters with every secret and blob removed.
    pub request_parameters: serde_json::Value,
    /// `Allow` or `Deny`, when an authorization decision was made.
    pub decision: Option<String>,
    /// The decision's trace, for denied requests.
    pub trace: Option<Box<Trace>>,
    /// The error code returned, if the request failed.
    pub error_code: Option<String>,
    /// The error message returned, if the request failed.
    pub error_message: Option<String>,
}

impl AuditEvent {
    /// A fresh record of a request to `source` (such as `kms.amazonaws.com`), to be filled in
    /// as the request is authenticated, authorized and answered.
    pub fn new(
        source: &str,
        request_id: &str,
        secure: bool,
        now: time::OffsetDateTime,
    ) -> AuditEvent {
        AuditEvent {
            event_time: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            event_source: source.to_string(),
            event_name: String::new(),
            request_id: request_id.to_string(),
            secure_transport: secure,
            user_identity: None,
            via_service: None,
            resources: Vec::new(),
            encryption_context: None,
            request_parameters: serde_json::Value::Null,
            decision: None,
            trace: None,
            error_code: None,
            error_message: None,
        }
    }
}

/// The audit record of one S3 request, shared between the access check and the server.
#[derive(Clone)]
pub struct AuditSlot(pub Arc<Mutex<AuditEvent>>);

/// The audit log of one engine.
pub struct AuditLog {
    inner: Mutex<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
}

struct Shared {
    recent: VecDeque<Arc<AuditEvent>>,
    sender: Option<Sender<Arc<AuditEvent>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The most bytes of an existing log read back at start.
const TAIL_BYTES: u64 = 8 * 1024 * 1024;

/// The last [`MEMORY_CAP`] events of an existing log (from its last [`TAIL_BYTES`]), so a
/// restarted engine (the next `keylab check`, the TUI opened again) still sees what was done
/// before; lines that do not parse are left in the file and skipped here.
fn read_tail(path: &Path) -> VecDeque<Arc<AuditEvent>> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return VecDeque::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return VecDeque::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        lines.next();
    }
    let mut recent: VecDeque<Arc<AuditEvent>> = lines
        .filter_map(|l| serde_json::from_str::<AuditEvent>(l).ok())
        .map(Arc::new)
        .collect();
    while recent.len() > MEMORY_CAP {
        recent.pop_front();
    }
    recent
}

impl AuditLog {
    /// A log appended to `dir/audit.jsonl`.
    pub fn open(dir: &Path) -> io::Result<AuditLog> {
        let path = dir.join(FILE_NAME);
        let recent = read_tail(&path);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("keylab-audit".into())
            .spawn(move || write_events(rx, file))?;
        Ok(AuditLog {
            inner: Mutex::new(Shared {
                recent,
                sender: Some(tx),
            }),
            writer: Mutex::new(Some(writer)),
            path,
        })
    }

    /// Records one event.
    pub fn record(&self, event: AuditEvent) {
        let event = Arc::new(event);
        let mut shared = self.inner.lock().expect("audit lock");
        if let Some(tx) = &shared.sender {
            let _ = tx.send(event.clone());
        }
        if shared.recent.len() == MEMORY_CAP {
            shared.recent.pop_front();
        }
        shared.recent.push_back(event);
    }

    /// The recent events, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.inner
            .lock()
            .expect("audit lock")
            .recent
            .iter()
            .map(|e| AuditEvent::clone(e))
            .collect()
    }

    /// Stops the writer thread after it has written every event.
    pub fn close(&self) {
        self.inner.lock().expect("audit lock").sender.take();
        if let Some(handle) = self.writer.lock().expect("audit lock").take() {
            let _ = handle.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_events(rx: Receiver<Arc<AuditEvent>>, file: File) {
    let mut out = BufWriter::new(file);
    let mut pending = false;
    let mut last_flush = Instant::now();
    loop {
        let wait = if pending {
            FLUSH_EVERY.saturating_sub(last_flush.elapsed())
        } else {
            Duration::from_secs(3600)
        };
        match rx.recv_timeout(wait) {
            Ok(e) => {
                if serde_json::to_writer(&mut out, e.as_ref()).is_ok() {
                    let _ = out.write_all(b"\n");
                }
                pending = true;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if pending && last_flush.elapsed() >= FLUSH_EVERY {
            let _ = out.flush();
            pending = false;
            last_flush = Instant::now();
        }
    }
    let _ = out.flush();
}

/// Reads an audit log file. A line that does not parse is reported with its number.
pub fn read_file(path: &Path) -> Result<Vec<AuditEvent>, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut events = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        events.push(event);
    }
    Ok(events)
}
