//! The KMS service of the built-in engine: keys, aliases, grants, rotation and deletion under
//! the virtual clock, and authorization of every call by key policy, identity policies and
//! grants, with AWS's cross-account rules. Inputs and outputs are the typed shapes of
//! [`types`]; [`wire`] speaks the JSON 1.1 protocol around them.
//!
//! Symmetric encryption keys (`SYMMETRIC_DEFAULT`), HMAC keys (`HMAC_224` … `HMAC_512`, see
//! `mac`) and asymmetric keys (`RSA_2048/3072/4096`, `ECC_NIST_P256/P384`, see `asym`) are
//! modelled, with `AWS_KMS` origin, or `EXTERNAL` for symmetric keys (which stays
//! `PendingImport`: importing material is not offered).
//! Grants take effect at once (AWS's eventual consistency is not simulated).

mod aliases;
mod asym;
mod authz;
pub mod blob;
mod crypto;
pub mod error;
mod grants;
pub(crate) mod http;
mod keys;
mod mac;
pub mod model;
mod policy;
mod rotation;
mod tags;
pub mod types;
pub mod wire;

use self::authz::*;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use rand::RngCore;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use self::error::KmsError;
use self::model::{Alias, Grant, Key, KeyMaterial, KeyState, KmsState, MaterialBytes};
use self::types::*;
use super::clock::{Clock, epoch_seconds};
use super::identity::{Identity, IdentitySet, PrincipalKind};
use super::state::{Change, StateError, StateStore};
use keylab_policy::document::PrincipalRef;
use keylab_policy::eval::decide_with;
use keylab_policy::eval::{Denial, GrantCheck};
use keylab_policy::{
    ContextKeys, Decision, Policies, PolicyDocument, PolicyKind, Request, ResourceRules,
};

/// Largest plaintext Encrypt accepts for a symmetric key.
pub const MAX_PLAINTEXT: usize = 4096;
/// Most on-demand rotations per key.
pub const MAX_ON_DEMAND_ROTATIONS: u32 = 25;
/// The state document engines before the store kept everything in, moved into the tables once.
const LEGACY_STATE: &str = "kms";
/// The table of keys, by key id.
const KEYS: &str = "kms-keys";
/// The table of aliases, by alias ARN.
const ALIASES: &str = "kms-aliases";
const DAY: i64 = 86_400;

/// One call as the service sees it: who, over what transport, and notes for the audit log.
#[derive(Debug)]
pub struct Call<'a> {
    /// The authenticated caller.
    pub identity: &'a Identity,
    /// True when the request came over HTTPS.
    pub secure_transport: bool,
    /// The client's address.
    pub source_ip: String,
    /// The service calling on the caller's behalf (`kms:ViaService`), if any.
    pub via_service: Option<String>,
    /// Filled in by the operation for the audit log.
    pub notes: AuditNotes,
}

impl<'a> Call<'a> {
    /// A direct call by `identity`.
    pub fn new(identity: &'a Identity, secure_transport: bool) -> Call<'a> {
        Call {
            identity,
            secure_transport,
            source_ip: "127.0.0.1".into(),
            via_service: None,
            notes: AuditNotes::default(),
        }
    }
}

/// What an operation tells the audit log.
#[derive(Debug, Default)]
pub struct AuditNotes {
    /// Resource ARNs involved.
    pub resources: Vec<String>,
    /// The encryption context sent.
    pub encryption_context: Option<EncryptionContext>,
    /// The last authorization decision (allowed?).
    pub allowed: Option<bool>,
    /// The decision of a denied request.
    pub denied: Option<Box<Decision>>,
}

/// What a cryptographic operation needs of a key: its identity and current material (a copy
/// that is zeroised when dropped), without cloning the whole key.
#[derive(Debug)]
struct UsableKey {
    id: String,
    arn: String,
    material: KeyMaterial,
}

/// Which forms of key identifier an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyForm {
    /// Key id, key ARN, alias name, alias ARN.
    Any,
    /// Key id or key ARN only.
    IdOrArn,
}

/// Whether an operation works on another account's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrossAccount {
    Never,
    Allowed,
}

#[derive(Debug)]
struct Resolved {
    key_id: String,
    alias: Option<String>,
}

/// The KMS service.
#[derive(Debug)]
pub struct Kms {
    region: String,
    state: RwLock<KmsState>,
    store: Option<Arc<StateStore>>,
    identities: Arc<IdentitySet>,
    clock: Arc<Clock>,
    /// The earliest time any key has a deletion or rotation due (`i64::MAX` for none), so
    /// [`Kms::tick`] costs one comparison per request rather than a scan of every key.
    next_due: AtomicI64,
}

/// When the virtual clock next has something to do to `key`: delete it or rotate it.
fn due_at(key: &Key) -> Option<i64> {
    match key.state {
        KeyState::PendingDeletion => key.deletion_date,
        KeyState::Enabled if key.rotation_enabled => key.next_rotation,
        _ => None,
    }
}

fn now_secs(clock: &Clock) -> i64 {
    clock.now().unix_timestamp()
}

fn to_epoch(secs: i64) -> f64 {
    epoch_seconds(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

fn new_material(created: i64, rotation_type: Option<&str>) -> KeyMaterial {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(bytes.as_mut());
    KeyMaterial {
        id: random_hex(32),
        bytes: MaterialBytes(bytes),
        created,
        rotation_type: rotation_type.map(str::to_string),
        mac_key: None,
        private_key: None,
    }
}

fn is_key_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if let Some(rest) = s.strip_prefix("mrk-") {
        return rest.len() == 32 && rest.bytes().all(|c| c.is_ascii_hexdigit());
    }
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Loads the keys and aliases tables, first moving a state document of an older engine into
/// them.
fn load_state(store: &StateStore) -> Result<KmsState, StateError> {
    if let Some(old) = store.legacy::<KmsState>(LEGACY_STATE)? {
        let keys = old
            .keys
            .iter()
            .map(|(id, k)| Change::put(KEYS, id.as_str(), k));
        let aliases = old
            .aliases
            .iter()
            .map(|(arn, a)| Change::put(ALIASES, arn.as_str(), a));
        store.commit(&keys.chain(aliases).collect::<Vec<_>>())?;
        store.forget_legacy(LEGACY_STATE);
    }
    Ok(KmsState {
        keys: store.load_table(KEYS)?,
        aliases: store.load_table(ALIASES)?,
    })
}

/// The default key policy: one statement that enables IAM policies for the account.
pub fn default_key_policy(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Id":"key-default-1","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

fn validate_limit(limit: Option<i64>) -> Result<usize, KmsError> {
    match limit {
        None => Ok(100),
        Some(n) if n < 1 => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ))),
        Some(n) if n > 1000 => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"
        ))),
        Some(n) => Ok(n as usize),
    }
}

fn page<T>(
    items: Vec<T>,
    limit: Option<i64>,
    marker: Option<&str>,
) -> Result<(Vec<T>, Option<String>), KmsError> {
    let limit = validate_limit(limit)?;
    let start = match marker {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| KmsError::new_invalid_marker())?,
    };
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = (start + out.len() < total).then(|| (start + out.len()).to_string());
    Ok((out, next))
}

impl KmsError {
    fn new_invalid_marker() -> KmsError {
        KmsError {
            code: "InvalidMarkerException",
            message: "The marker is not valid.".into(),
            status: 400,
            decision: None,
        }
    }
}

fn validate_tags(tags: &[Tag]) -> Result<(), KmsError> {
    for t in tags {
        if t.tag_key.is_empty()
            || t.tag_key.chars().count() > 128
            || t.tag_value.chars().count() > 256
        {
            return Err(KmsError::tag(format!(
                "Tag key \"{}\" must be 1 to 128 characters and its value at most 256.",
                t.tag_key
            )));
        }
        if t.tag_key.to_ascii_lowercase().starts_with("aws:") {
            return Err(KmsError::tag("Tags beginning with aws: are reserved"));
        }
    }
    Ok(())
}

impl Kms {
    /// Opens the service, loading saved state from `store` if there is any.
    pub fn open(
        region: &str,
        store: Option<Arc<StateStore>>,
        identities: Arc<IdentitySet>,
        clock: Arc<Clock>,
    ) -> Result<Kms, super::state::StateError> {
        let mut state = match &store {
            Some(s) => load_state(s)?,
            None => KmsState::default(),
        };
        for key in state.keys.values_mut() {
            key.policy_doc = PolicyDocument::parse(&key.policy, PolicyKind::Resource)
                .ok()
                .map(Arc::new);
        }
        let next_due = state.keys.values().filter_map(due_at).min();
        Ok(Kms {
            region: region.to_string(),
            state: RwLock::new(state),
            store,
            identities,
            clock,
            next_due: AtomicI64::new(next_due.unwrap_or(i64::MAX)),
        })
    }

    /// The region this service answers for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Writes the named keys and aliases as they now are in `state` (removing those that are
    /// gone) in one transaction: a change costs the records it touches, not the whole state.
    fn persist(&self, state: &KmsState, keys: &[&str], aliases: &[&str]) -> Result<(), KmsError> {
        for key in keys.iter().filter_map(|id| state.keys.get(*id)) {
            if let Some(due) = due_at(key) {
                self.next_due.fetch_min(due, Ordering::Relaxed);
            }
        }
        let Some(store) = &self.store else {
            return Ok(());
        };
        let key_changes = keys.iter().map(|id| match state.keys.get(*id) {
            Some(key) => Change::put(KEYS, *id, key),
            None => Change::delete(KEYS, *id),
        });
        let alias_changes = aliases.iter().map(|arn| match state.aliases.get(*arn) {
            Some(alias) => Change::put(ALIASES, *arn, alias),
            None => Change::delete(ALIASES, *arn),
        });
        let changes: Vec<Change> = key_changes.chain(alias_changes).collect();
        store
            .commit(&changes)
            .map_err(|e| KmsError::internal(format!("cannot save engine state: {e}")))
    }

    fn key_arn(&self, account: &str, id: &str) -> String {
        format!("arn:aws:kms:{}:{account}:key/{id}", self.region)
    }

    fn alias_arn(&self, account: &str, name: &str) -> String {
        format!("arn:aws:kms:{}:{account}:{name}", self.region)
    }

    /// Applies what the virtual clock has made due: scheduled deletions and automatic
    /// rotations. Called before every request.
    pub fn tick(&self) {
        let now = now_secs(&self.clock);
        if now < self.next_due.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.state.write().expect("kms lock");
        let deleted: Vec<String> = state
            .keys
            .values()
            .filter(|k| {
                k.state == KeyState::PendingDeletion && k.deletion_date.is_some_and(|d| d <= now)
            })
            .map(|k| k.id.clone())
            .collect();
        for id in &deleted {
            state.keys.remove(id);
        }
        let orphaned: Vec<String> = state
            .aliases
            .iter()
            .filter(|(_, a)| deleted.contains(&a.target_key_id))
            .map(|(arn, _)| arn.clone())
            .collect();
        for arn in &orphaned {
            state.aliases.remove(arn);
        }
        let mut rotated = Vec::new();
        for key in state.keys.values_mut() {
            while key.state == KeyState::Enabled && key.rotation_enabled {
                let Some(next) = key.next_rotation.filter(|&d| d <= now) else {
                    break;
                };
                key.materials.push(new_material(next, Some("AUTOMATIC")));
                key.next_rotation = Some(next + i64::from(key.rotation_period_days) * DAY);
                if rotated.last() != Some(&key.id) {
                    rotated.push(key.id.clone());
                }
            }
        }
        let next_due = state.keys.values().filter_map(due_at).min();
        self.next_due
            .store(next_due.unwrap_or(i64::MAX), Ordering::Relaxed);
        let keys: Vec<&str> = deleted.iter().chain(&rotated).map(String::as_str).collect();
        let aliases: Vec<&str> = orphaned.iter().map(String::as_str).collect();
        let _ = self.persist(&state, &keys, &aliases);
    }

    /// The AWS managed key of `service` (`s3`, …) in `account`, created on first use as AWS
    /// does: alias `alias/aws/<service>`, yearly rotation, and AWS's key policy that lets the
    /// account's principals use it only through that service (`kms:ViaService`,
    /// `kms:CallerAccount`), which is why such keys cannot be shared with other accounts.
    /// Returns the alias name, to be resolved in `account`.
    pub fn ensure_aws_managed_key(&self, account: &str, service: &str) -> Result<String, KmsError> {
        let name = format!("alias/aws/{service}");
        let alias_arn = self.alias_arn(account, &name);
        if self
            .state
            .read()
            .expect("kms lock")
            .aliases
            .contains_key(&alias_arn)
        {
            return Ok(name);
        }
        let mut state = self.state.write().expect("kms lock");
        if state.aliases.contains_key(&alias_arn) {
            return Ok(name);
        }
        let region = &self.region;
        let policy = format!(
            r#"{{"Version":"2012-10-17","Id":"auto-{service}-2","Statement":[{{"Sid":"Allow access through {service} for all principals in the account that are authorized to use {service}","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*","Condition":{{"StringEquals":{{"kms:CallerAccount":"{account}","kms:ViaService":"{service}.{region}.amazonaws.com"}}}}}},{{"Sid":"Allow direct access to key metadata to the account","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":["kms:Describe*","kms:Get*","kms:List*"],"Resource":"*"}}]}}"#
        );
        let doc = PolicyDocument::parse(&policy, PolicyKind::Resource)
            .map_err(|e| KmsError::internal(e.0))?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_secs(&self.clock);
        let key = Key {
            id: id.clone(),
            account: account.to_string(),
            arn: self.key_arn(account, &id),
            description: format!(
                "Default key that protects my {service} data when no other key is defined"
            ),
            created: now,
            state: KeyState::Enabled,
            key_spec: model::SYMMETRIC_DEFAULT.into(),
            key_usage: model::ENCRYPT_DECRYPT.into(),
            origin: "AWS_KMS".into(),
            key_manager: "AWS".into(),
            deletion_date: None,
            pending_window_days: None,
            policy,
            policy_doc: Some(Arc::new(doc)),
            rotation_enabled: true,
            rotation_period_days: 365,
            next_rotation: Some(now + 365 * DAY),
            materials: vec![new_material(now, None)],
            on_demand_rotations: 0,
            tags: Default::default(),
            grants: Vec::new(),
        };
        state.keys.insert(id.clone(), key);
        state.aliases.insert(
            alias_arn.clone(),
            Alias {
                name: name.clone(),
                account: account.to_string(),
                target_key_id: id.clone(),
                created: now,
                updated: now,
            },
        );
        self.persist(&state, &[&id], &[&alias_arn])?;
        Ok(name)
    }

    /// Summaries of every key (no key material), for graders and the CLI.
    pub fn key_summaries(&self) -> Vec<KeyMetadata> {
        let state = self.state.read().expect("kms lock");
        state.keys.values().map(|k| self.metadata(k)).collect()
    }

    fn metadata(&self, k: &Key) -> KeyMetadata {
        KeyMetadata {
            aws_account_id: k.account.clone(),
            key_id: k.id.clone(),
            arn: k.arn.clone(),
            creation_date: to_epoch(k.created),
            enabled: k.state == KeyState::Enabled,
            description: k.description.clone(),
            key_usage: k.key_usage.clone(),
            key_state: k.state.as_str().into(),
            deletion_date: k.deletion_date.map(to_epoch),
            pending_deletion_window_in_days: k.pending_window_days,
            origin: k.origin.clone(),
            key_manager: k.key_manager.clone(),
            customer_master_key_spec: k.key_spec.clone(),
            key_spec: k.key_spec.clone(),
            encryption_algorithms: asym::encryption_algorithms(&k.key_spec, &k.key_usage),
            mac_algorithms: mac::algorithm_of(&k.key_spec).map(|a| vec![a.to_string()]),
            signing_algorithms: asym::signing_algorithms(&k.key_spec, &k.key_usage),
            multi_region: false,
            current_key_material_id: k
                .current_material()
                .filter(|m| m.private_key.is_none())
                .map(|m| m.id.clone()),
        }
    }

    // ---- resolution ------------------------------------------------------------------------
}

/// Records a KMS call another service (S3, Secrets Manager) made on the requester's behalf,
/// as CloudTrail does: the requester as the user, the service in `via_service`, the
/// encryption context, the decision and its trace when denied.
pub fn record_call<T>(
    audit: &crate::audit::AuditLog,
    clock: &Clock,
    operation: &str,
    call: Call,
    result: &Result<T, KmsError>,
) {
    use crate::audit::{AuditEvent, UserIdentity};
    let mut resources = call.notes.resources;
    resources.dedup();
    let (error_code, error_message) = match result {
        Ok(_) => (None, None),
        Err(e) => (Some(e.code.to_string()), Some(e.message.clone())),
    };
    audit.record(AuditEvent {
        event_time: clock.now().format(&Rfc3339).unwrap_or_default(),
        event_source: "kms.amazonaws.com".into(),
        event_name: operation.into(),
        request_id: uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string(),
        secure_transport: call.secure_transport,
        user_identity: Some(UserIdentity::of(call.identity)),
        via_service: call.via_service,
        resources,
        encryption_context: call.notes.encryption_context,
        request_parameters: serde_json::Value::Null,
        decision: call
            .notes
            .allowed
            .map(|a| if a { "Allow" } else { "Deny" }.to_string()),
        trace: call.notes.denied.map(|d| Box::new(d.trace)),
        error_code,
        error_message,
        resource_owner: None,
    });
}
