//! The engine's audit log, modelled on CloudTrail: one event per request with the time, the
//! principal, the operation, the resources, the encryption context, the authorization decision
//! (with its trace when denied) and the error code. It never holds plaintext, data keys,
//! ciphertext blobs or secrets, and what it keeps of a request is bounded (the services record
//! known fields only, each capped). Events are kept in memory for in-process graders (the most
//! recent [`MEMORY_CAP`], at most [`MEMORY_BYTES`]) and appended to `audit.jsonl` in the state
//! directory by a writer thread that collects them every [`FLUSH_EVERY`], so logging costs a
//! request no system call and no thread wake-up. The file is rotated at [`ROTATE_BYTES`]
//! (`audit.jsonl.1` keeps the previous part, which is read back with the current one).

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use keylab_policy::eval::Trace;

/// How many recent events are kept in memory.
pub const MEMORY_CAP: usize = 2_000;

/// How many bytes of recent events are kept in memory (about; see [`AuditEvent::approx_size`]).
pub const MEMORY_BYTES: usize = 8 * 1024 * 1024;

/// The size at which `audit.jsonl` is rotated to `audit.jsonl.1`.
pub const ROTATE_BYTES: u64 = 16 * 1024 * 1024;

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
    /// The unique id (`aws:userid`): `AIDA…` for a user, `AROA…:<session>` for a role
    /// session (CloudTrail's `principalId`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub principal_id: String,
    /// For a role session, the role's ARN (CloudTrail's `sessionContext.sessionIssuer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<String>,
}

impl UserIdentity {
    /// The audit view of a lab identity or session.
    pub fn of(identity: &crate::identity::Identity) -> UserIdentity {
        UserIdentity {
            arn: identity.caller.arn.clone(),
            account_id: identity.caller.account.clone(),
            profile: identity.profile.clone(),
            access_key_id: identity.access_key_id.clone(),
            principal_id: identity.user_id.clone(),
            session_issuer: (identity.kind == crate::identity::PrincipalKind::Role)
                .then(|| identity.caller.principal_arn.clone()),
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
    /// The account that owns the resources when their ARNs do not say (S3 buckets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_owner: Option<String>,
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
            resource_owner: None,
        }
    }
}

/// The audit record of one S3 request, shared between the access check and the server.
#[derive(Clone)]
pub struct AuditSlot(pub Arc<Mutex<AuditEvent>>);

/// The audit log of one engine.
pub struct AuditLog {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    writer: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
}

struct Shared {
    recent: VecDeque<(Arc<AuditEvent>, usize)>,
    recent_bytes: usize,
    pending: Vec<Arc<AuditEvent>>,
    closed: bool,
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

/// The previous part of a rotated log.
fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// The events of the last [`TAIL_BYTES`] of a file, oldest first; lines that do not parse
/// are left in the file and skipped here.
fn tail_events(path: &Path) -> Vec<AuditEvent> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    if start > 0 {
        lines.next();
    }
    lines
        .filter_map(|l| serde_json::from_str::<AuditEvent>(l).ok())
        .collect()
}

impl AuditEvent {
    /// About how many bytes the event holds, for the memory bound.
    pub fn approx_size(&self) -> usize {
        let strings = [
            &self.event_time,
            &self.event_source,
            &self.event_name,
            &self.request_id,
        ]
        .iter()
        .map(|s| s.len())
        .sum::<usize>();
        let optional = [
            &self.error_code,
            &self.error_message,
            &self.via_service,
            &self.decision,
        ]
        .iter()
        .map(|s| s.as_ref().map_or(0, String::len))
        .sum::<usize>();
        let context = self
            .encryption_context
            .as_ref()
            .map_or(0, |c| c.iter().map(|(k, v)| k.len() + v.len()).sum());
        let parameters = if self.request_parameters.is_null() {
            0
        } else {
            self.request_parameters.to_string().len()
        };
        let trace = self
            .trace
            .as_ref()
            .map_or(0, |t| serde_json::to_vec(t).map_or(0, |v| v.len()));
        256 + strings
            + optional
            + context
            + parameters
            + trace
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

impl AuditLog {
    /// A log appended to `dir/audit.jsonl`; the last events of the log (and of its rotated
    /// part) are read back, so a restarted engine (the next `keylab check`, the TUI opened
    /// again) still sees what was done before.
    pub fn open(dir: &Path) -> io::Result<AuditLog> {
        let path = dir.join(FILE_NAME);
        let mut shared = Shared {
            recent: VecDeque::new(),
            recent_bytes: 0,
            pending: Vec::new(),
            closed: false,
        };
        for event in tail_events(&rotated(&path))
            .into_iter()
            .chain(tail_events(&path))
        {
            shared.remember(Arc::new(event));
        }
        let file = open_for_append(&path)?;
        let shared = Arc::new((Mutex::new(shared), Condvar::new()));
        let writer = {
            let shared = shared.clone();
            let path = path.clone();
            std::thread::Builder::new()
                .name("keylab-audit".into())
                .spawn(move || write_events(&shared, &path, file))?
        };
        Ok(AuditLog {
            shared,
            writer: Mutex::new(Some(writer)),
            path,
        })
    }

    /// Records one event: into memory at once, into the file at the writer's next round.
    pub fn record(&self, event: AuditEvent) {
        let event = Arc::new(event);
        let mut shared = self.shared.0.lock().expect("audit lock");
        if !shared.closed {
            shared.pending.push(event.clone());
        }
        shared.remember(event);
    }

    /// The recent events, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.shared
            .0
            .lock()
            .expect("audit lock")
            .recent
            .iter()
            .map(|(e, _)| AuditEvent::clone(e))
            .collect()
    }

    /// Stops the writer thread after it has written every event.
    pub fn close(&self) {
        {
            let mut shared = self.shared.0.lock().expect("audit lock");
            shared.closed = true;
            self.shared.1.notify_all();
        }
        if let Some(handle) = self.writer.lock().expect("audit lock").take() {
            let _ = handle.join();
        }
    }
}

impl Shared {
    /// Keeps an event in memory, dropping the oldest past [`MEMORY_CAP`] or [`MEMORY_BYTES`].
    fn remember(&mut self, event: Arc<AuditEvent>) {
        let size = event.approx_size();
        self.recent_bytes += size;
        self.recent.push_back((event, size));
        while self.recent.len() > MEMORY_CAP
            || (self.recent_bytes > MEMORY_BYTES && self.recent.len() > 1)
        {
            if let Some((_, old)) = self.recent.pop_front() {
                self.recent_bytes -= old;
            }
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// Opens the log for appending, owner-only.
fn open_for_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The writer thread: every [`FLUSH_EVERY`] (or at once when the log closes) it writes what
/// was recorded since, and rotates the file past [`ROTATE_BYTES`].
fn write_events(shared: &(Mutex<Shared>, Condvar), path: &Path, file: File) {
    let mut size = file.metadata().map_or(0, |m| m.len());
    let mut out = BufWriter::new(file);
    loop {
        let (batch, closed) = {
            let (lock, wake) = shared;
            let mut state = lock.lock().expect("audit lock");
            if !state.closed {
                state = wake.wait_timeout(state, FLUSH_EVERY).expect("audit lock").0;
            }
            (std::mem::take(&mut state.pending), state.closed)
        };
        for event in &batch {
            let Ok(mut line) = serde_json::to_vec(event.as_ref()) else {
                continue;
            };
            line.push(b'\n');
            if out.write_all(&line).is_ok() {
                size += line.len() as u64;
            }
        }
        if !batch.is_empty() {
            let _ = out.flush();
        }
        if size > ROTATE_BYTES {
            let _ = out.flush();
            if std::fs::rename(path, rotated(path)).is_ok()
                && let Ok(file) = open_for_append(path)
            {
                out = BufWriter::new(file);
                size = 0;
            }
        }
        if closed {
            break;
        }
    }
    let _ = out.flush();
}

/// Reads an audit log file, after its rotated part when there is one. A line that does not
/// parse is reported with its number.
pub fn read_file(path: &Path) -> Result<Vec<AuditEvent>, String> {
    let older = rotated(path);
    let mut events = if older.exists() {
        read_one(&older)?
    } else {
        Vec::new()
    };
    events.extend(read_one(path)?);
    Ok(events)
}

fn read_one(path: &Path) -> Result<Vec<AuditEvent>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn big_event(i: usize) -> AuditEvent {
        let mut e = AuditEvent::new(
            "kms.amazonaws.com",
            &format!("r{i}"),
            true,
            time::OffsetDateTime::UNIX_EPOCH,
        );
        e.event_name = "PutKeyPolicy".into();
        e.request_parameters = serde_json::json!({ "Policy": "x".repeat(4096) });
        e
    }

    #[test]
    fn memory_is_bounded_in_bytes_and_the_file_rotates_keeping_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        let n = 5_000;
        for i in 0..n {
            log.record(big_event(i));
        }
        {
            let shared = log.shared.0.lock().unwrap();
            assert!(
                shared.recent_bytes <= MEMORY_BYTES,
                "{}",
                shared.recent_bytes
            );
            assert!(shared.recent.len() < n);
        }
        log.close();
        let path = dir.path().join(FILE_NAME);
        assert!(
            rotated(&path).exists(),
            "the log was rotated past {ROTATE_BYTES} bytes"
        );
        assert!(std::fs::metadata(&path).unwrap().len() < ROTATE_BYTES);
        let all = read_file(&path).unwrap();
        assert_eq!(all.last().unwrap().request_id, format!("r{}", n - 1));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the audit log is the owner's only");
        }
        let reopened = AuditLog::open(dir.path()).unwrap();
        let events = reopened.events();
        assert_eq!(events.last().unwrap().request_id, format!("r{}", n - 1));
    }
}
