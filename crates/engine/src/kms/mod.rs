//! The KMS service of the built-in engine: keys, aliases, grants, rotation and deletion under
//! the virtual clock, and authorization of every call by key policy, identity policies and
//! grants, with AWS's cross-account rules. Inputs and outputs are the typed shapes of
//! [`types`]; [`wire`] speaks the JSON 1.1 protocol around them.
//!
//! Only symmetric encryption keys (`SYMMETRIC_DEFAULT`) are modelled, with `AWS_KMS` or
//! `EXTERNAL` origin (the latter stays `PendingImport`: importing material is not offered).
//! Grants take effect at once (AWS's eventual consistency is not simulated).

pub mod blob;
pub mod error;
pub mod model;
pub mod types;
pub mod wire;

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
use super::state::StateStore;
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
const STATE_NAME: &str = "kms";
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
}

fn now_secs(clock: &Clock) -> i64 {
    clock.now().unix_timestamp()
}

fn to_epoch(secs: i64) -> f64 {
    epoch_seconds(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

fn new_material(created: i64, rotation_type: Option<&str>) -> KeyMaterial {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    KeyMaterial {
        id: random_hex(32),
        bytes: MaterialBytes(bytes),
        created,
        rotation_type: rotation_type.map(str::to_string),
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

const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

const SYMMETRIC_GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

/// What an operation on one key needs: its IAM action, whether it works across accounts, and
/// which key states allow it.
#[derive(Debug, Clone, Copy)]
struct Access {
    action: &'static str,
    cross: CrossAccount,
    rule: StateRule,
}

impl Access {
    fn new(action: &'static str, cross: CrossAccount, rule: StateRule) -> Access {
        Access {
            action,
            cross,
            rule,
        }
    }
}

/// The state rules of the AWS key-state table, by operation family.
#[derive(Debug, Clone, Copy)]
enum StateRule {
    /// Cryptographic operations: only Enabled keys.
    Crypto,
    /// Works in every state.
    Any,
    /// EnableKey / DisableKey.
    EnableDisable,
    /// ScheduleKeyDeletion.
    Schedule,
    /// CancelKeyDeletion.
    Cancel,
    /// Enable/DisableKeyRotation.
    RotationConfig,
    /// RotateKeyOnDemand.
    RotateNow,
    /// CreateGrant.
    CreateGrant,
    /// CreateAlias/UpdateAlias target, TagResource, UntagResource.
    NotPendingDeletion,
}

fn check_state(rule: StateRule, key: &Key) -> Result<(), KmsError> {
    use KeyState::*;
    let arn = &key.arn;
    let pending_deletion = || KmsError::invalid_state(format!("{arn} is pending deletion."));
    let pending_import = || KmsError::invalid_state(format!("{arn} is pending import."));
    match (rule, key.state) {
        (StateRule::Any, _) => Ok(()),
        (StateRule::Cancel, PendingDeletion) => Ok(()),
        (StateRule::Cancel, _) => Err(KmsError::invalid_state(format!(
            "{arn} is not pending deletion."
        ))),
        (_, PendingDeletion) => Err(pending_deletion()),
        (
            StateRule::Crypto
            | StateRule::CreateGrant
            | StateRule::RotationConfig
            | StateRule::RotateNow,
            Disabled,
        ) => Err(KmsError::disabled(arn)),
        (
            StateRule::Crypto
            | StateRule::EnableDisable
            | StateRule::CreateGrant
            | StateRule::RotateNow,
            PendingImport,
        ) => Err(pending_import()),
        (StateRule::RotationConfig, PendingImport) => Err(KmsError::unsupported(format!(
            "{arn} origin is EXTERNAL which is not valid for this operation."
        ))),
        _ => Ok(()),
    }
}

impl Kms {
    /// Opens the service, loading saved state from `store` if there is any.
    pub fn open(
        region: &str,
        store: Option<Arc<StateStore>>,
        identities: Arc<IdentitySet>,
        clock: Arc<Clock>,
    ) -> Result<Kms, super::state::StateError> {
        let mut state: KmsState = match &store {
            Some(s) => s.load(STATE_NAME)?.unwrap_or_default(),
            None => KmsState::default(),
        };
        for key in state.keys.values_mut() {
            key.policy_doc = PolicyDocument::parse(&key.policy, PolicyKind::Resource)
                .ok()
                .map(Arc::new);
        }
        Ok(Kms {
            region: region.to_string(),
            state: RwLock::new(state),
            store,
            identities,
            clock,
        })
    }

    /// The region this service answers for.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn save(&self, state: &KmsState) -> Result<(), KmsError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        store
            .save(STATE_NAME, state)
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
        let due = |k: &Key| {
            (k.state == KeyState::PendingDeletion && k.deletion_date.is_some_and(|d| d <= now))
                || (k.state == KeyState::Enabled
                    && k.rotation_enabled
                    && k.next_rotation.is_some_and(|d| d <= now))
        };
        if !self.state.read().expect("kms lock").keys.values().any(due) {
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
        state
            .aliases
            .retain(|_, a| !deleted.contains(&a.target_key_id));
        for key in state.keys.values_mut() {
            while key.state == KeyState::Enabled && key.rotation_enabled {
                let Some(next) = key.next_rotation.filter(|&d| d <= now) else {
                    break;
                };
                key.materials.push(new_material(next, Some("AUTOMATIC")));
                key.next_rotation = Some(next + i64::from(key.rotation_period_days) * DAY);
            }
        }
        let _ = self.save(&state);
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
            alias_arn,
            Alias {
                name: name.clone(),
                account: account.to_string(),
                target_key_id: id,
                created: now,
                updated: now,
            },
        );
        self.save(&state)?;
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
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_state: k.state.as_str().into(),
            deletion_date: k.deletion_date.map(to_epoch),
            pending_deletion_window_in_days: k.pending_window_days,
            origin: k.origin.clone(),
            key_manager: k.key_manager.clone(),
            customer_master_key_spec: "SYMMETRIC_DEFAULT".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            encryption_algorithms: Some(vec!["SYMMETRIC_DEFAULT".into()]),
            multi_region: false,
            current_key_material_id: k.current_material().map(|m| m.id.clone()),
        }
    }

    // ---- resolution ------------------------------------------------------------------------

    fn resolve(
        &self,
        state: &KmsState,
        call: &Call,
        key_id: &str,
        form: KeyForm,
    ) -> Result<Resolved, KmsError> {
        let caller_account = &call.identity.caller.account;
        if key_id.is_empty() {
            return Err(KmsError::missing("keyId"));
        }
        if let Some(rest) = key_id.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            if parts.len() != 5 || parts[0] != "aws" || parts[1] != "kms" {
                return Err(KmsError::not_found(format!("Invalid arn {key_id}")));
            }
            let (region, account, resource) = (parts[2], parts[3], parts[4]);
            if region != self.region {
                return Err(KmsError::not_found(format!("Invalid arn {region}")));
            }
            if let Some(id) = resource.strip_prefix("key/") {
                let found = state.keys.get(id).filter(|k| k.account == account);
                return match found {
                    Some(_) => Ok(Resolved {
                        key_id: id.to_string(),
                        alias: None,
                    }),
                    None => Err(KmsError::not_found(format!(
                        "Key '{key_id}' does not exist"
                    ))),
                };
            }
            if resource.starts_with("alias/") && form == KeyForm::Any {
                return self.resolve_alias(state, account, resource);
            }
            return Err(KmsError::not_found(format!("Invalid keyId '{key_id}'")));
        }
        if key_id.starts_with("alias/") && form == KeyForm::Any {
            return self.resolve_alias(state, caller_account, key_id);
        }
        if !is_key_uuid(key_id) {
            return Err(KmsError::not_found(format!("Invalid keyId '{key_id}'")));
        }
        match state
            .keys
            .get(key_id)
            .filter(|k| &k.account == caller_account)
        {
            Some(_) => Ok(Resolved {
                key_id: key_id.to_string(),
                alias: None,
            }),
            None => Err(KmsError::not_found(format!(
                "Key '{}' does not exist",
                self.key_arn(caller_account, key_id)
            ))),
        }
    }

    /// Resolves `alias/<name>` in `account` (AWS names the alias ARN when it is missing).
    fn resolve_alias(
        &self,
        state: &KmsState,
        account: &str,
        name: &str,
    ) -> Result<Resolved, KmsError> {
        let alias_arn = self.alias_arn(account, name);
        match state.aliases.get(&alias_arn) {
            Some(a) => Ok(Resolved {
                key_id: a.target_key_id.clone(),
                alias: Some(a.name.clone()),
            }),
            None => Err(KmsError::not_found(format!(
                "Alias {alias_arn} is not found."
            ))),
        }
    }

    // ---- authorization ---------------------------------------------------------------------

    fn base_context(&self, call: &Call) -> ContextKeys {
        let caller = &call.identity.caller;
        let now = self.clock.now();
        let mut ctx = ContextKeys::new();
        ctx.set("aws:SecureTransport", call.secure_transport.to_string());
        ctx.set("aws:PrincipalArn", caller.principal_arn.clone());
        ctx.set("aws:PrincipalAccount", caller.account.clone());
        ctx.set("aws:userid", call.identity.access_key_id.clone());
        ctx.set(
            "aws:PrincipalType",
            match call.identity.kind {
                PrincipalKind::User => "User",
                PrincipalKind::Role => "AssumedRole",
            },
        );
        if call.identity.kind == PrincipalKind::User {
            ctx.set("aws:username", call.identity.name.clone());
        }
        ctx.set("aws:CurrentTime", now.format(&Rfc3339).unwrap_or_default());
        ctx.set("aws:EpochTime", now.unix_timestamp().to_string());
        ctx.set("aws:SourceIp", call.source_ip.clone());
        ctx.set("aws:RequestedRegion", self.region.clone());
        ctx.set("kms:CallerAccount", caller.account.clone());
        if let Some(via) = &call.via_service {
            ctx.set("kms:ViaService", via.clone());
        }
        ctx
    }

    fn key_context(&self, state: &KmsState, key: &Key, ctx: &mut ContextKeys) {
        ctx.set("kms:KeySpec", "SYMMETRIC_DEFAULT");
        ctx.set("kms:KeyUsage", "ENCRYPT_DECRYPT");
        ctx.set("kms:KeyOrigin", key.origin.clone());
        ctx.set("kms:MultiRegion", "false");
        let aliases: Vec<String> = state
            .aliases
            .values()
            .filter(|a| a.target_key_id == key.id)
            .map(|a| a.name.clone())
            .collect();
        if !aliases.is_empty() {
            ctx.set_many("kms:ResourceAliases", aliases);
        }
        for (k, v) in &key.tags {
            ctx.set(&format!("aws:ResourceTag/{k}"), v.clone());
        }
    }

    fn context_with_ec(ctx: &mut ContextKeys, ec: Option<&EncryptionContext>) {
        let Some(ec) = ec.filter(|e| !e.is_empty()) else {
            return;
        };
        for (k, v) in ec {
            ctx.set(&format!("kms:EncryptionContext:{k}"), v.clone());
        }
        ctx.set_many("kms:EncryptionContextKeys", ec.keys().cloned().collect());
    }

    fn grant_checks(
        key: &Key,
        call: &Call,
        operation: &str,
        ec: Option<&EncryptionContext>,
    ) -> Vec<GrantCheck> {
        let caller = &call.identity.caller;
        let account_root = format!("arn:aws:iam::{}:root", caller.account);
        let empty = EncryptionContext::new();
        key.grants
            .iter()
            .map(|g| {
                let grantee_ok = g.grantee == caller.principal_arn
                    || g.grantee == caller.arn
                    || g.grantee == account_root;
                let op_ok = g.operations.iter().any(|o| o == operation);
                let ec_ok = g.admits(ec.unwrap_or(&empty));
                let note = if !grantee_ok {
                    format!("grantee {} is not the caller", g.grantee)
                } else if !op_ok {
                    format!("allows [{}], not {operation}", g.operations.join(", "))
                } else if !ec_ok {
                    "the encryption context does not meet the grant's constraints".to_string()
                } else {
                    format!("allows {operation} for {}", g.grantee)
                };
                GrantCheck {
                    grant_id: g.id.clone(),
                    allows: grantee_ok && op_ok && ec_ok,
                    note,
                }
            })
            .collect()
    }

    /// Decides a call on a key. `operation` is the KMS operation name (for grants), `action`
    /// the IAM action.
    #[allow(clippy::too_many_arguments)]
    fn decide_key(
        &self,
        state: &KmsState,
        call: &Call,
        key: &Key,
        action: &str,
        operation: &str,
        ec: Option<&EncryptionContext>,
        extra: &dyn Fn(&mut ContextKeys),
        policy_override: Option<&PolicyDocument>,
    ) -> Decision {
        let mut ctx = self.base_context(call);
        self.key_context(state, key, &mut ctx);
        Self::context_with_ec(&mut ctx, ec);
        extra(&mut ctx);
        let identity_policies = self.identities.policies_of(&call.identity.profile);
        let key_policy = policy_override.or(key.policy_doc.as_deref());
        let policies = Policies {
            identity: identity_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: key_policy.map(|d| (format!("key policy of {}", key.id), d)),
            rules: ResourceRules::Kms,
            grants: if policy_override.is_some() {
                Vec::new()
            } else {
                Self::grant_checks(key, call, operation, ec)
            },
        };
        let req = Request {
            caller: &call.identity.caller,
            action,
            resource: &key.arn,
            resource_account: &key.account,
            context: &ctx,
        };
        let decision = decide_with(&req, &policies, false);
        if decision.allowed {
            decision
        } else {
            decide_with(&req, &policies, true)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn authorize_key(
        &self,
        state: &KmsState,
        call: &mut Call,
        key: &Key,
        action: &str,
        cross: CrossAccount,
        ec: Option<&EncryptionContext>,
        extra: &dyn Fn(&mut ContextKeys),
    ) -> Result<(), KmsError> {
        let operation = action.trim_start_matches("kms:");
        let mut decision = self.decide_key(state, call, key, action, operation, ec, extra, None);
        if cross == CrossAccount::Never && key.account != call.identity.caller.account {
            decision.allowed = false;
            decision.denial = Some(Denial::NotCrossAccount);
            decision.trace.steps.push(format!(
                "{action} never works across accounts, whatever the policies say: denied."
            ));
        }
        self.finish_decision(call, decision)
    }

    fn finish_decision(&self, call: &mut Call, decision: Decision) -> Result<(), KmsError> {
        call.notes.allowed = Some(decision.allowed);
        if decision.allowed {
            return Ok(());
        }
        call.notes.denied = Some(Box::new(decision.clone()));
        Err(KmsError::access_denied(decision))
    }

    /// Authorizes an action with no key resource (CreateKey, ListKeys, ListAliases,
    /// GenerateRandom) or on an alias resource: identity policies alone decide.
    fn authorize_identity(
        &self,
        call: &mut Call,
        action: &str,
        resource: &str,
        extra: &dyn Fn(&mut ContextKeys),
    ) -> Result<(), KmsError> {
        let mut ctx = self.base_context(call);
        extra(&mut ctx);
        let identity_policies = self.identities.policies_of(&call.identity.profile);
        let policies = Policies {
            identity: identity_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: None,
            rules: ResourceRules::Standard,
            grants: Vec::new(),
        };
        let caller = call.identity.caller.clone();
        let req = Request {
            caller: &caller,
            action,
            resource,
            resource_account: &caller.account,
            context: &ctx,
        };
        let decision = decide_with(&req, &policies, false);
        let decision = if decision.allowed {
            decision
        } else {
            decide_with(&req, &policies, true)
        };
        self.finish_decision(call, decision)
    }

    fn validate_policy(&self, text: &str) -> Result<PolicyDocument, KmsError> {
        let doc = PolicyDocument::parse(text, PolicyKind::Resource)
            .map_err(|e| KmsError::malformed_policy(e.0))?;
        for statement in &doc.statements {
            let Some(principal) = &statement.principal else {
                continue;
            };
            for p in &principal.principals {
                let known = match p {
                    PrincipalRef::Account(id) => self.identities.has_account(id),
                    PrincipalRef::Arn(arn) => self.identities.has_principal_arn(arn),
                    _ => true,
                };
                if !known {
                    return Err(KmsError::malformed_policy(format!(
                        "Policy contains a statement with one or more invalid principals. ({p} is not an account or principal of this lab.)"
                    )));
                }
            }
        }
        Ok(doc)
    }

    fn lockout_check(
        &self,
        state: &KmsState,
        call: &Call,
        key: &Key,
        doc: &PolicyDocument,
    ) -> Result<(), KmsError> {
        let decision = self.decide_key(
            state,
            call,
            key,
            "kms:PutKeyPolicy",
            "PutKeyPolicy",
            None,
            &|_| {},
            Some(doc),
        );
        if decision.allowed {
            return Ok(());
        }
        Err(KmsError::malformed_policy(
            "The new key policy will not allow you to update the key policy in the future.",
        ))
    }

    // ---- operations ------------------------------------------------------------------------

    /// CreateKey.
    pub fn create_key(
        &self,
        call: &mut Call,
        input: CreateKeyInput,
    ) -> Result<KeyMetadataOutput, KmsError> {
        let usage = input
            .key_usage
            .clone()
            .unwrap_or_else(|| "ENCRYPT_DECRYPT".into());
        let spec = input
            .key_spec
            .clone()
            .or(input.customer_master_key_spec.clone())
            .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
        let origin = input.origin.clone().unwrap_or_else(|| "AWS_KMS".into());
        let tags = input.tags.clone().unwrap_or_default();
        let bypass = input.bypass_policy_lockout_safety_check.unwrap_or(false);
        self.authorize_identity(call, "kms:CreateKey", "*", &|ctx| {
            ctx.set("kms:KeySpec", spec.clone());
            ctx.set("kms:KeyUsage", usage.clone());
            ctx.set("kms:KeyOrigin", origin.clone());
            ctx.set(
                "kms:MultiRegion",
                input.multi_region.unwrap_or(false).to_string(),
            );
            ctx.set("kms:BypassPolicyLockoutSafetyCheck", bypass.to_string());
            for t in &tags {
                ctx.set(
                    &format!("aws:RequestTag/{}", t.tag_key),
                    t.tag_value.clone(),
                );
            }
            if !tags.is_empty() {
                ctx.set_many(
                    "aws:TagKeys",
                    tags.iter().map(|t| t.tag_key.clone()).collect(),
                );
            }
        })?;
        if usage != "ENCRYPT_DECRYPT" {
            return Err(KmsError::unsupported(format!(
                "KeyUsage {usage} is not available in the keylab engine: it models symmetric encryption keys (ENCRYPT_DECRYPT) only."
            )));
        }
        if spec != "SYMMETRIC_DEFAULT" {
            return Err(KmsError::unsupported(format!(
                "KeySpec {spec} is not available in the keylab engine: it models SYMMETRIC_DEFAULT keys only."
            )));
        }
        if origin != "AWS_KMS" && origin != "EXTERNAL" {
            return Err(KmsError::unsupported(format!(
                "Origin {origin} is not available in the keylab engine: use AWS_KMS (or EXTERNAL to see the PendingImport state)."
            )));
        }
        if input.multi_region == Some(true) || input.custom_key_store_id.is_some() {
            return Err(KmsError::unsupported(
                "Multi-Region keys and custom key stores are not modelled by the keylab engine.",
            ));
        }
        let description = input.description.clone().unwrap_or_default();
        if description.chars().count() > 8192 {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192",
            ));
        }
        validate_tags(&tags)?;
        let account = call.identity.caller.account.clone();
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_secs(&self.clock);
        let (policy, doc) = match &input.policy {
            Some(p) => (p.clone(), self.validate_policy(p)?),
            None => {
                let p = default_key_policy(&account);
                let doc = PolicyDocument::parse(&p, PolicyKind::Resource)
                    .map_err(|e| KmsError::internal(e.0))?;
                (p, doc)
            }
        };
        let mut key = Key {
            id: id.clone(),
            account: account.clone(),
            arn: self.key_arn(&account, &id),
            description,
            created: now,
            state: if origin == "EXTERNAL" {
                KeyState::PendingImport
            } else {
                KeyState::Enabled
            },
            origin: origin.clone(),
            key_manager: "CUSTOMER".into(),
            deletion_date: None,
            pending_window_days: None,
            policy,
            policy_doc: None,
            rotation_enabled: false,
            rotation_period_days: 365,
            next_rotation: None,
            materials: if origin == "EXTERNAL" {
                Vec::new()
            } else {
                vec![new_material(now, None)]
            },
            on_demand_rotations: 0,
            tags: tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect(),
            grants: Vec::new(),
        };
        let mut state = self.state.write().expect("kms lock");
        if input.policy.is_some() && !bypass {
            self.lockout_check(&state, call, &key, &doc)?;
        }
        key.policy_doc = Some(Arc::new(doc));
        call.notes.resources.push(key.arn.clone());
        let metadata = self.metadata(&key);
        state.keys.insert(id, key);
        self.save(&state)?;
        Ok(KeyMetadataOutput {
            key_metadata: metadata,
        })
    }

    fn with_key<T>(
        &self,
        call: &mut Call,
        key_id: &str,
        form: KeyForm,
        access: Access,
        f: impl FnOnce(&Key) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let Access {
            action,
            cross,
            rule,
        } = access;
        let state = self.state.read().expect("kms lock");
        let resolved = self.resolve(&state, call, key_id, form)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        let alias = resolved.alias.clone();
        self.authorize_key(&state, call, key, action, cross, None, &move |ctx| {
            if let Some(a) = &alias {
                ctx.set("kms:RequestAlias", a.clone());
            }
        })?;
        check_state(rule, key)?;
        f(key)
    }

    fn mutate_key<T>(
        &self,
        call: &mut Call,
        key_id: &str,
        access: Access,
        extra: &dyn Fn(&mut ContextKeys),
        f: impl FnOnce(&mut Key, i64) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let Access {
            action,
            cross,
            rule,
        } = access;
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        self.authorize_key(&state, call, key, action, cross, None, extra)?;
        check_state(rule, key)?;
        let now = now_secs(&self.clock);
        let key = state
            .keys
            .get_mut(&resolved.key_id)
            .expect("resolved key exists");
        let out = f(key, now)?;
        self.save(&state)?;
        Ok(out)
    }

    /// DescribeKey.
    pub fn describe_key(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyMetadataOutput, KmsError> {
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        self.with_key(
            call,
            &input.key_id,
            KeyForm::Any,
            Access::new("kms:DescribeKey", CrossAccount::Allowed, StateRule::Any),
            |k| {
                Ok(KeyMetadataOutput {
                    key_metadata: self.metadata(k),
                })
            },
        )
    }

    /// ListKeys.
    pub fn list_keys(&self, call: &mut Call, input: ListInput) -> Result<ListKeysOutput, KmsError> {
        self.authorize_identity(call, "kms:ListKeys", "*", &|_| {})?;
        let state = self.state.read().expect("kms lock");
        let account = &call.identity.caller.account;
        let keys: Vec<KeyListEntry> = state
            .keys
            .values()
            .filter(|k| &k.account == account)
            .map(|k| KeyListEntry {
                key_id: k.id.clone(),
                key_arn: k.arn.clone(),
            })
            .collect();
        let (keys, next_marker) = page(keys, input.limit, input.marker.as_deref())?;
        Ok(ListKeysOutput {
            keys,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }

    fn validate_alias_name(name: &str) -> Result<(), KmsError> {
        if !name.starts_with("alias/") {
            return Err(KmsError::validation(
                "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
            ));
        }
        if name.starts_with("alias/aws/") {
            return Err(KmsError::invalid_alias(
                "Alias names that begin with alias/aws/ are reserved for AWS managed keys. Choose another name.",
            ));
        }
        let valid = name.len() <= 256
            && name.len() > 6
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-:".contains(&b));
        if !valid {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            )));
        }
        Ok(())
    }

    /// CreateAlias.
    pub fn create_alias(&self, call: &mut Call, input: AliasInput) -> Result<Empty, KmsError> {
        Self::validate_alias_name(&input.alias_name)?;
        let target = input
            .target_key_id
            .clone()
            .ok_or_else(|| KmsError::missing("targetKeyId"))?;
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &target, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        let account = call.identity.caller.account.clone();
        let alias_arn = self.alias_arn(&account, &input.alias_name);
        call.notes
            .resources
            .extend([alias_arn.clone(), key.arn.clone()]);
        self.authorize_key(
            &state,
            call,
            key,
            "kms:CreateAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        self.authorize_identity(call, "kms:CreateAlias", &alias_arn, &|_| {})?;
        check_state(StateRule::NotPendingDeletion, key)?;
        if state.aliases.contains_key(&alias_arn) {
            return Err(KmsError::already_exists(format!(
                "An alias with the name {alias_arn} already exists"
            )));
        }
        let now = now_secs(&self.clock);
        state.aliases.insert(
            alias_arn,
            Alias {
                name: input.alias_name,
                account,
                target_key_id: resolved.key_id,
                created: now,
                updated: now,
            },
        );
        self.save(&state)?;
        Ok(Empty {})
    }

    /// UpdateAlias.
    pub fn update_alias(&self, call: &mut Call, input: AliasInput) -> Result<Empty, KmsError> {
        let target = input
            .target_key_id
            .clone()
            .ok_or_else(|| KmsError::missing("targetKeyId"))?;
        let mut state = self.state.write().expect("kms lock");
        let account = call.identity.caller.account.clone();
        let alias_arn = self.alias_arn(&account, &input.alias_name);
        let Some(alias) = state.aliases.get(&alias_arn).cloned() else {
            return Err(KmsError::not_found(format!(
                "Alias {alias_arn} is not found."
            )));
        };
        let resolved = self.resolve(&state, call, &target, KeyForm::IdOrArn)?;
        let new_key = &state.keys[&resolved.key_id];
        let old_key = &state.keys[&alias.target_key_id];
        call.notes
            .resources
            .extend([alias_arn.clone(), old_key.arn.clone(), new_key.arn.clone()]);
        self.authorize_identity(call, "kms:UpdateAlias", &alias_arn, &|_| {})?;
        self.authorize_key(
            &state,
            call,
            old_key,
            "kms:UpdateAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        self.authorize_key(
            &state,
            call,
            new_key,
            "kms:UpdateAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        check_state(StateRule::NotPendingDeletion, new_key)?;
        let now = now_secs(&self.clock);
        let entry = state.aliases.get_mut(&alias_arn).expect("alias exists");
        entry.target_key_id = resolved.key_id;
        entry.updated = now;
        self.save(&state)?;
        Ok(Empty {})
    }

    /// DeleteAlias.
    pub fn delete_alias(&self, call: &mut Call, input: AliasInput) -> Result<Empty, KmsError> {
        Self::validate_alias_name(&input.alias_name)?;
        let mut state = self.state.write().expect("kms lock");
        let account = call.identity.caller.account.clone();
        let alias_arn = self.alias_arn(&account, &input.alias_name);
        let Some(alias) = state.aliases.get(&alias_arn).cloned() else {
            return Err(KmsError::not_found(format!(
                "Alias {alias_arn} is not found."
            )));
        };
        let key = &state.keys[&alias.target_key_id];
        call.notes
            .resources
            .extend([alias_arn.clone(), key.arn.clone()]);
        self.authorize_identity(call, "kms:DeleteAlias", &alias_arn, &|_| {})?;
        self.authorize_key(
            &state,
            call,
            key,
            "kms:DeleteAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        state.aliases.remove(&alias_arn);
        self.save(&state)?;
        Ok(Empty {})
    }

    /// ListAliases.
    pub fn list_aliases(
        &self,
        call: &mut Call,
        input: ListInput,
    ) -> Result<ListAliasesOutput, KmsError> {
        self.authorize_identity(call, "kms:ListAliases", "*", &|_| {})?;
        let state = self.state.read().expect("kms lock");
        let filter = match &input.key_id {
            Some(k) => Some(self.resolve(&state, call, k, KeyForm::IdOrArn)?.key_id),
            None => None,
        };
        let account = &call.identity.caller.account;
        let mut aliases: Vec<AliasListEntry> = state
            .aliases
            .iter()
            .filter(|(_, a)| &a.account == account)
            .filter(|(_, a)| filter.as_ref().is_none_or(|f| *f == a.target_key_id))
            .map(|(arn, a)| AliasListEntry {
                alias_name: a.name.clone(),
                alias_arn: arn.clone(),
                target_key_id: a.target_key_id.clone(),
                creation_date: to_epoch(a.created),
                last_updated_date: to_epoch(a.updated),
            })
            .collect();
        aliases.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
        let (aliases, next_marker) = page(aliases, input.limit, input.marker.as_deref())?;
        Ok(ListAliasesOutput {
            aliases,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }

    fn check_grant_tokens(&self, tokens: Option<&[String]>) -> Result<(), KmsError> {
        let Some(tokens) = tokens else { return Ok(()) };
        let state = self.state.read().expect("kms lock");
        for t in tokens {
            if !state
                .keys
                .values()
                .any(|k| k.grants.iter().any(|g| &g.token == t))
            {
                return Err(KmsError::invalid_grant_token());
            }
        }
        Ok(())
    }

    fn check_algorithm(algorithm: Option<&str>) -> Result<(), KmsError> {
        match algorithm {
            None | Some("SYMMETRIC_DEFAULT") => Ok(()),
            Some(other) => Err(KmsError::invalid_key_usage(format!(
                "The encryption algorithm {other} is not valid for a SYMMETRIC_DEFAULT key: use SYMMETRIC_DEFAULT."
            ))),
        }
    }

    /// Resolves, authorizes and state-checks a key for a cryptographic operation, returning a
    /// copy of the key (its material is zeroised when the copy drops).
    fn crypto_key(
        &self,
        call: &mut Call,
        key_id: &str,
        action: &str,
        ec: Option<&EncryptionContext>,
        extra: &dyn Fn(&mut ContextKeys),
    ) -> Result<UsableKey, KmsError> {
        let state = self.state.read().expect("kms lock");
        let resolved = self.resolve(&state, call, key_id, KeyForm::Any)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        let alias = resolved.alias.clone();
        self.authorize_key(
            &state,
            call,
            key,
            action,
            CrossAccount::Allowed,
            ec,
            &move |ctx| {
                if let Some(a) = &alias {
                    ctx.set("kms:RequestAlias", a.clone());
                }
                extra(ctx);
            },
        )?;
        check_state(StateRule::Crypto, key)?;
        let material = key
            .current_material()
            .ok_or_else(|| KmsError::internal("the key has no material"))?
            .clone();
        Ok(UsableKey {
            id: key.id.clone(),
            arn: key.arn.clone(),
            material,
        })
    }

    /// Encrypt.
    pub fn encrypt(&self, call: &mut Call, input: EncryptInput) -> Result<EncryptOutput, KmsError> {
        if input.plaintext.is_empty() {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        if input.plaintext.len() > MAX_PLAINTEXT {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
            ));
        }
        Self::check_algorithm(input.encryption_algorithm.as_deref())?;
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let ec = input.encryption_context.as_ref();
        call.notes.encryption_context = input.encryption_context.clone();
        let key = self.crypto_key(call, &input.key_id, "kms:Encrypt", ec, &|ctx| {
            ctx.set("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
        })?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let material = &key.material;
        let blob = blob::seal(
            &key.arn,
            &material.id,
            &material.bytes.0,
            &input.plaintext,
            ec,
        );
        Ok(EncryptOutput {
            ciphertext_blob: Zeroizing::new(blob),
            key_id: key.arn,
            encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
        })
    }

    /// Finds the key a ciphertext names and decrypts it, authorizing `action`.
    fn open_blob(
        &self,
        call: &mut Call,
        ciphertext: &[u8],
        key_id: Option<&str>,
        ec: Option<&EncryptionContext>,
        action: &str,
    ) -> Result<(UsableKey, Bytes), KmsError> {
        let (header, header_end) =
            blob::parse_header(ciphertext).ok_or_else(KmsError::invalid_ciphertext)?;
        let state = self.state.read().expect("kms lock");
        let parts: Vec<&str> = header.key_arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[3] != self.region {
            return Err(KmsError::invalid_ciphertext());
        }
        let blob_key_id = parts[5].trim_start_matches("key/");
        let Some(key) = state
            .keys
            .get(blob_key_id)
            .filter(|k| k.arn == header.key_arn)
        else {
            return Err(KmsError::not_found(format!(
                "Key '{}' does not exist",
                header.key_arn
            )));
        };
        call.notes.resources.push(key.arn.clone());
        // A bare key id naming the blob's own key is accepted even across accounts (AWS: "a
        // short key ID is accepted for symmetric ciphertexts"); anything else must resolve.
        if let Some(requested) = key_id.filter(|k| *k != key.id) {
            let resolved = self.resolve(&state, call, requested, KeyForm::Any)?;
            if resolved.key_id != key.id {
                return Err(KmsError::incorrect_key());
            }
        }
        self.authorize_key(
            &state,
            call,
            key,
            action,
            CrossAccount::Allowed,
            ec,
            &|ctx| {
                ctx.set("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
            },
        )?;
        check_state(StateRule::Crypto, key)?;
        let material = key
            .materials
            .iter()
            .find(|m| m.id == header.material_id)
            .ok_or_else(KmsError::invalid_ciphertext)?;
        let plaintext = blob::open(ciphertext, header_end, &material.bytes.0, ec)
            .ok_or_else(KmsError::invalid_ciphertext)?;
        Ok((
            UsableKey {
                id: key.id.clone(),
                arn: key.arn.clone(),
                material: material.clone(),
            },
            plaintext,
        ))
    }

    /// Decrypt.
    pub fn decrypt(&self, call: &mut Call, input: DecryptInput) -> Result<DecryptOutput, KmsError> {
        if input.ciphertext_blob.is_empty() || input.ciphertext_blob.len() > blob::MAX_BLOB {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144",
            ));
        }
        Self::check_algorithm(input.encryption_algorithm.as_deref())?;
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        call.notes.encryption_context = input.encryption_context.clone();
        let (key, plaintext) = self.open_blob(
            call,
            &input.ciphertext_blob,
            input.key_id.as_deref(),
            input.encryption_context.as_ref(),
            "kms:Decrypt",
        )?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        Ok(DecryptOutput {
            key_id: key.arn,
            plaintext,
            encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
            key_material_id: key.material.id.clone(),
        })
    }

    /// ReEncrypt.
    pub fn re_encrypt(
        &self,
        call: &mut Call,
        input: ReEncryptInput,
    ) -> Result<ReEncryptOutput, KmsError> {
        Self::check_algorithm(input.source_encryption_algorithm.as_deref())?;
        Self::check_algorithm(input.destination_encryption_algorithm.as_deref())?;
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        call.notes.encryption_context = input.destination_encryption_context.clone();
        let (source, plaintext) = self
            .open_blob(
                call,
                &input.ciphertext_blob,
                input.source_key_id.as_deref(),
                input.source_encryption_context.as_ref(),
                "kms:ReEncryptFrom",
            )
            .map_err(|e| {
                if e.code == "IncorrectKeyException" {
                    KmsError::incorrect_key()
                } else {
                    e
                }
            })?;
        let same_key = {
            let state = self.state.read().expect("kms lock");
            self.resolve(&state, call, &input.destination_key_id, KeyForm::Any)
                .is_ok_and(|r| r.key_id == source.id)
        };
        let dest = self.crypto_key(
            call,
            &input.destination_key_id,
            "kms:ReEncryptTo",
            input.destination_encryption_context.as_ref(),
            &move |ctx| {
                ctx.set("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
                ctx.set("kms:ReEncryptOnSameKey", same_key.to_string());
            },
        )?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let material = &dest.material;
        let blob = blob::seal(
            &dest.arn,
            &material.id,
            &material.bytes.0,
            &plaintext,
            input.destination_encryption_context.as_ref(),
        );
        Ok(ReEncryptOutput {
            ciphertext_blob: Zeroizing::new(blob),
            source_key_id: source.arn,
            key_id: dest.arn.clone(),
            source_encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
            destination_encryption_algorithm: "SYMMETRIC_DEFAULT".into(),
            source_key_material_id: source.material.id.clone(),
            destination_key_material_id: material.id.clone(),
        })
    }

    /// GenerateDataKey (with `with_plaintext`) or GenerateDataKeyWithoutPlaintext.
    pub fn generate_data_key(
        &self,
        call: &mut Call,
        input: GenerateDataKeyInput,
        with_plaintext: bool,
    ) -> Result<GenerateDataKeyOutput, KmsError> {
        let length = match (&input.key_spec, input.number_of_bytes) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(KmsError::validation(
                    "Please specify either number of bytes or key spec.",
                ));
            }
            (Some(spec), None) => match spec.as_str() {
                "AES_256" => 32,
                "AES_128" => 16,
                other => {
                    return Err(KmsError::validation(format!(
                        "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
                    )));
                }
            },
            (None, Some(n)) => validate_number_of_bytes(n)?,
        };
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let action = if with_plaintext {
            "kms:GenerateDataKey"
        } else {
            "kms:GenerateDataKeyWithoutPlaintext"
        };
        let ec = input.encryption_context.as_ref();
        call.notes.encryption_context = input.encryption_context.clone();
        let spec = input.key_spec.clone();
        let key = self.crypto_key(call, &input.key_id, action, ec, &move |ctx| {
            if let Some(s) = &spec {
                ctx.set("kms:DataKeyKeySpec", s.clone());
            }
        })?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let mut data_key = Zeroizing::new(vec![0u8; length]);
        rand::rngs::OsRng.fill_bytes(&mut data_key);
        let material = &key.material;
        let blob = blob::seal(&key.arn, &material.id, &material.bytes.0, &data_key, ec);
        Ok(GenerateDataKeyOutput {
            ciphertext_blob: Zeroizing::new(blob),
            plaintext: with_plaintext.then_some(data_key),
            key_id: key.arn.clone(),
            key_material_id: material.id.clone(),
        })
    }

    /// GenerateRandom.
    pub fn generate_random(
        &self,
        call: &mut Call,
        input: GenerateRandomInput,
    ) -> Result<GenerateRandomOutput, KmsError> {
        let n = input
            .number_of_bytes
            .ok_or_else(|| KmsError::validation("NumberOfBytes is required."))?;
        let length = validate_number_of_bytes(n)?;
        if input.custom_key_store_id.is_some() {
            return Err(KmsError::unsupported(
                "Custom key stores are not modelled by the keylab engine.",
            ));
        }
        self.authorize_identity(call, "kms:GenerateRandom", "*", &|_| {})?;
        let mut bytes = Zeroizing::new(vec![0u8; length]);
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Ok(GenerateRandomOutput { plaintext: bytes })
    }

    /// EnableKey.
    pub fn enable_key(&self, call: &mut Call, input: KeyIdInput) -> Result<Empty, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:EnableKey",
                CrossAccount::Never,
                StateRule::EnableDisable,
            ),
            &|_| {},
            |k, _| {
                k.state = KeyState::Enabled;
                Ok(Empty {})
            },
        )
    }

    /// DisableKey.
    pub fn disable_key(&self, call: &mut Call, input: KeyIdInput) -> Result<Empty, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:DisableKey",
                CrossAccount::Never,
                StateRule::EnableDisable,
            ),
            &|_| {},
            |k, _| {
                k.state = KeyState::Disabled;
                Ok(Empty {})
            },
        )
    }

    /// ScheduleKeyDeletion.
    pub fn schedule_key_deletion(
        &self,
        call: &mut Call,
        input: ScheduleKeyDeletionInput,
    ) -> Result<ScheduleKeyDeletionOutput, KmsError> {
        let days = input.pending_window_in_days.unwrap_or(30);
        if !(7..=30).contains(&days) {
            return Err(KmsError::validation(format!(
                "PendingWindowInDays should be between 7 and 30, but it is {days}"
            )));
        }
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:ScheduleKeyDeletion",
                CrossAccount::Never,
                StateRule::Schedule,
            ),
            &move |ctx| {
                ctx.set(
                    "kms:ScheduleKeyDeletionPendingWindowInDays",
                    days.to_string(),
                )
            },
            |k, now| {
                let date = now + days * DAY;
                k.state = KeyState::PendingDeletion;
                k.deletion_date = Some(date);
                k.pending_window_days = Some(days as u32);
                Ok(ScheduleKeyDeletionOutput {
                    key_id: k.arn.clone(),
                    deletion_date: to_epoch(date),
                    key_state: "PendingDeletion".into(),
                    pending_window_in_days: days as u32,
                })
            },
        )
    }

    /// CancelKeyDeletion.
    pub fn cancel_key_deletion(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyIdOutput, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:CancelKeyDeletion",
                CrossAccount::Never,
                StateRule::Cancel,
            ),
            &|_| {},
            |k, _| {
                k.state = if k.materials.is_empty() {
                    KeyState::PendingImport
                } else {
                    KeyState::Disabled
                };
                k.deletion_date = None;
                k.pending_window_days = None;
                Ok(KeyIdOutput {
                    key_id: k.arn.clone(),
                })
            },
        )
    }

    /// EnableKeyRotation.
    pub fn enable_key_rotation(
        &self,
        call: &mut Call,
        input: EnableKeyRotationInput,
    ) -> Result<Empty, KmsError> {
        let days = input.rotation_period_in_days.unwrap_or(365);
        if days < 90 {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90"
            )));
        }
        if days > 2560 {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560"
            )));
        }
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:EnableKeyRotation",
                CrossAccount::Never,
                StateRule::RotationConfig,
            ),
            &move |ctx| ctx.set("kms:RotationPeriodInDays", days.to_string()),
            |k, now| {
                k.rotation_enabled = true;
                k.rotation_period_days = days as u32;
                k.next_rotation = Some(now + days * DAY);
                Ok(Empty {})
            },
        )
    }

    /// DisableKeyRotation.
    pub fn disable_key_rotation(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<Empty, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:DisableKeyRotation",
                CrossAccount::Never,
                StateRule::RotationConfig,
            ),
            &|_| {},
            |k, _| {
                k.rotation_enabled = false;
                k.next_rotation = None;
                Ok(Empty {})
            },
        )
    }

    /// GetKeyRotationStatus.
    pub fn get_key_rotation_status(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyRotationStatusOutput, KmsError> {
        self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new(
                "kms:GetKeyRotationStatus",
                CrossAccount::Allowed,
                StateRule::Any,
            ),
            |k| {
                let enabled = k.rotation_enabled && k.state != KeyState::PendingDeletion;
                Ok(KeyRotationStatusOutput {
                    key_id: k.arn.clone(),
                    key_rotation_enabled: enabled,
                    rotation_period_in_days: enabled.then_some(k.rotation_period_days),
                    next_rotation_date: if enabled {
                        k.next_rotation.map(to_epoch)
                    } else {
                        None
                    },
                })
            },
        )
    }

    /// RotateKeyOnDemand.
    pub fn rotate_key_on_demand(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyIdOutput, KmsError> {
        self.mutate_key(call, &input.key_id, Access::new("kms:RotateKeyOnDemand", CrossAccount::Never, StateRule::RotateNow), &|_| {}, |k, now| {
            if k.origin != "AWS_KMS" {
                return Err(KmsError::unsupported(format!("{} origin is {} which is not valid for this operation.", k.arn, k.origin)));
            }
            if k.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS {
                return Err(KmsError::limit_exceeded(format!(
                    "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                    k.arn
                )));
            }
            k.on_demand_rotations += 1;
            k.materials.push(new_material(now, Some("ON_DEMAND")));
            Ok(KeyIdOutput { key_id: k.id.clone() })
        })
    }

    /// ListKeyRotations.
    pub fn list_key_rotations(
        &self,
        call: &mut Call,
        input: ListKeyRotationsInput,
    ) -> Result<ListKeyRotationsOutput, KmsError> {
        let all = match input.include_key_material.as_deref() {
            None | Some("ROTATIONS_ONLY") => false,
            Some("ALL_KEY_MATERIAL") => true,
            Some(other) => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
                )));
            }
        };
        let rotations = self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListKeyRotations", CrossAccount::Never, StateRule::Any),
            |k| {
                let last = k.materials.len().saturating_sub(1);
                Ok(k.materials
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| all || m.rotation_type.is_some())
                    .map(|(i, m)| RotationsListEntry {
                        key_id: k.id.clone(),
                        key_material_id: m.id.clone(),
                        key_material_state: if i == last { "CURRENT" } else { "NON_CURRENT" }
                            .into(),
                        rotation_date: to_epoch(m.created),
                        rotation_type: m.rotation_type.clone(),
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        let (rotations, next_marker) = page(rotations, input.limit, input.marker.as_deref())?;
        Ok(ListKeyRotationsOutput {
            rotations,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }

    fn check_policy_name(name: Option<&str>) -> Result<(), KmsError> {
        match name {
            None | Some("default") => Ok(()),
            Some(other) => Err(KmsError::not_found(format!(
                "No such policy exists: \"{other}\". Every key has exactly one policy, named \"default\"."
            ))),
        }
    }

    /// PutKeyPolicy.
    pub fn put_key_policy(
        &self,
        call: &mut Call,
        input: PutKeyPolicyInput,
    ) -> Result<Empty, KmsError> {
        Self::check_policy_name(input.policy_name.as_deref())?;
        let doc = self.validate_policy(&input.policy)?;
        let bypass = input.bypass_policy_lockout_safety_check.unwrap_or(false);
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &input.key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        self.authorize_key(
            &state,
            call,
            key,
            "kms:PutKeyPolicy",
            CrossAccount::Never,
            None,
            &move |ctx| {
                ctx.set("kms:BypassPolicyLockoutSafetyCheck", bypass.to_string());
            },
        )?;
        if !bypass {
            self.lockout_check(&state, call, key, &doc)?;
        }
        let key = state
            .keys
            .get_mut(&resolved.key_id)
            .expect("resolved key exists");
        key.policy = input.policy;
        key.policy_doc = Some(Arc::new(doc));
        self.save(&state)?;
        Ok(Empty {})
    }

    /// GetKeyPolicy.
    pub fn get_key_policy(
        &self,
        call: &mut Call,
        input: GetKeyPolicyInput,
    ) -> Result<GetKeyPolicyOutput, KmsError> {
        Self::check_policy_name(input.policy_name.as_deref())?;
        self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new("kms:GetKeyPolicy", CrossAccount::Never, StateRule::Any),
            |k| {
                Ok(GetKeyPolicyOutput {
                    policy: k.policy.clone(),
                    policy_name: "default".into(),
                })
            },
        )
    }

    /// ListKeyPolicies.
    pub fn list_key_policies(
        &self,
        call: &mut Call,
        input: ListInput,
    ) -> Result<ListKeyPoliciesOutput, KmsError> {
        validate_limit(input.limit)?;
        let key_id = input.key_id.ok_or_else(|| KmsError::missing("keyId"))?;
        self.with_key(
            call,
            &key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListKeyPolicies", CrossAccount::Never, StateRule::Any),
            |_| {
                Ok(ListKeyPoliciesOutput {
                    policy_names: vec!["default".into()],
                    truncated: false,
                })
            },
        )
    }

    /// CreateGrant.
    pub fn create_grant(
        &self,
        call: &mut Call,
        input: CreateGrantInput,
    ) -> Result<CreateGrantOutput, KmsError> {
        if input.operations.is_empty() {
            return Err(KmsError::validation(
                "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        for op in &input.operations {
            if !GRANT_OPERATIONS.contains(&op.as_str()) {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '[{op}]' at 'operations' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    GRANT_OPERATIONS.join(", ")
                )));
            }
            if !SYMMETRIC_GRANT_OPERATIONS.contains(&op.as_str()) {
                return Err(KmsError::validation(format!(
                    "Grant operation {op} is not supported for a symmetric encryption key."
                )));
            }
        }
        for principal in
            std::iter::once(&input.grantee_principal).chain(input.retiring_principal.iter())
        {
            if !is_principal_arn(principal) {
                return Err(KmsError::validation(format!(
                    "Invalid principal \"{principal}\": use an IAM user, role or account root ARN such as arn:aws:iam::444455556666:role/Analyst."
                )));
            }
        }
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &input.key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        let operations = input.operations.clone();
        let grantee = input.grantee_principal.clone();
        let retiring = input.retiring_principal.clone();
        let constraint_types: Vec<String> = input
            .constraints
            .iter()
            .flat_map(|c| {
                let mut v = Vec::new();
                if c.encryption_context_equals.is_some() {
                    v.push("EncryptionContextEquals".to_string());
                }
                if c.encryption_context_subset.is_some() {
                    v.push("EncryptionContextSubset".to_string());
                }
                v
            })
            .collect();
        self.authorize_key(
            &state,
            call,
            key,
            "kms:CreateGrant",
            CrossAccount::Allowed,
            None,
            &move |ctx| {
                ctx.set_many("kms:GrantOperations", operations.clone());
                ctx.set("kms:GranteePrincipal", grantee.clone());
                if let Some(r) = &retiring {
                    ctx.set("kms:RetiringPrincipal", r.clone());
                }
                if !constraint_types.is_empty() {
                    ctx.set_many("kms:GrantConstraintType", constraint_types.clone());
                }
                ctx.set("kms:GrantIsForAWSResource", "false");
            },
        )?;
        check_state(StateRule::CreateGrant, key)?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let grant = Grant {
            id: random_hex(32),
            token: random_hex(48),
            name: input.name.unwrap_or_default(),
            grantee: input.grantee_principal,
            retiring: input.retiring_principal,
            operations: input.operations,
            constraints: input.constraints,
            created: now_secs(&self.clock),
            issuing_account: call.identity.caller.account.clone(),
        };
        let out = CreateGrantOutput {
            grant_token: grant.token.clone(),
            grant_id: grant.id.clone(),
        };
        state
            .keys
            .get_mut(&resolved.key_id)
            .expect("resolved key exists")
            .grants
            .push(grant);
        self.save(&state)?;
        Ok(out)
    }

    /// ListGrants.
    pub fn list_grants(
        &self,
        call: &mut Call,
        input: ListGrantsInput,
    ) -> Result<ListGrantsOutput, KmsError> {
        let grants = self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListGrants", CrossAccount::Allowed, StateRule::Any),
            |k| {
                Ok(k.grants
                    .iter()
                    .filter(|g| input.grant_id.as_ref().is_none_or(|id| *id == g.id))
                    .filter(|g| {
                        input
                            .grantee_principal
                            .as_ref()
                            .is_none_or(|p| *p == g.grantee)
                    })
                    .map(|g| GrantListEntry {
                        key_id: k.arn.clone(),
                        grant_id: g.id.clone(),
                        name: g.name.clone(),
                        creation_date: to_epoch(g.created),
                        grantee_principal: g.grantee.clone(),
                        retiring_principal: g.retiring.clone(),
                        issuing_account: format!("arn:aws:iam::{}:root", g.issuing_account),
                        operations: g.operations.clone(),
                        constraints: g.constraints.clone(),
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        let (grants, next_marker) = page(grants, input.limit, input.marker.as_deref())?;
        Ok(ListGrantsOutput {
            grants,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }

    /// RetireGrant.
    pub fn retire_grant(
        &self,
        call: &mut Call,
        input: RetireGrantInput,
    ) -> Result<Empty, KmsError> {
        let mut state = self.state.write().expect("kms lock");
        let (key_id, grant_id) = match (&input.grant_token, &input.key_id, &input.grant_id) {
            (Some(token), _, _) => state
                .keys
                .values()
                .find_map(|k| {
                    k.grants
                        .iter()
                        .find(|g| &g.token == token)
                        .map(|g| (k.id.clone(), g.id.clone()))
                })
                .ok_or_else(KmsError::invalid_grant_token)?,
            (None, Some(key), Some(grant)) => {
                let resolved = self.resolve(&state, call, key, KeyForm::IdOrArn)?;
                let exists = state.keys[&resolved.key_id]
                    .grants
                    .iter()
                    .any(|g| &g.id == grant);
                if !exists {
                    return Err(KmsError::not_found(format!("Grant ID {grant} not found")));
                }
                (resolved.key_id, grant.clone())
            }
            _ => {
                return Err(KmsError::validation(
                    "RetireGrant needs either GrantToken, or both KeyId (the key ARN) and GrantId.",
                ));
            }
        };
        let key = &state.keys[&key_id];
        call.notes.resources.push(key.arn.clone());
        let grant = key
            .grants
            .iter()
            .find(|g| g.id == grant_id)
            .expect("grant found above")
            .clone();
        let caller = &call.identity.caller;
        let is = |p: &Option<String>| {
            p.as_ref()
                .is_some_and(|p| *p == caller.principal_arn || *p == caller.arn)
        };
        let by_retiring = is(&grant.retiring);
        let by_grantee =
            is(&Some(grant.grantee.clone())) && grant.operations.iter().any(|o| o == "RetireGrant");
        if !(by_retiring || by_grantee) {
            if caller.account != grant.issuing_account {
                let mut decision = self.decide_key(
                    &state,
                    call,
                    key,
                    "kms:RetireGrant",
                    "RetireGrant",
                    None,
                    &|_| {},
                    None,
                );
                decision.allowed = false;
                decision.denial = Some(Denial::NoResourceAllow);
                decision.trace.steps.push(
                    "Only the grant's retiring principal, its grantee (when the grant includes RetireGrant) or the account that created it may retire a grant: denied.".into(),
                );
                return self.finish_decision(call, decision).map(|_| Empty {});
            }
            self.authorize_key(
                &state,
                call,
                key,
                "kms:RetireGrant",
                CrossAccount::Never,
                None,
                &|_| {},
            )?;
        } else {
            call.notes.allowed = Some(true);
        }
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        state
            .keys
            .get_mut(&key_id)
            .expect("key exists")
            .grants
            .retain(|g| g.id != grant_id);
        self.save(&state)?;
        Ok(Empty {})
    }

    /// RevokeGrant.
    pub fn revoke_grant(
        &self,
        call: &mut Call,
        input: RevokeGrantInput,
    ) -> Result<Empty, KmsError> {
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &input.key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        self.authorize_key(
            &state,
            call,
            key,
            "kms:RevokeGrant",
            CrossAccount::Allowed,
            None,
            &|_| {},
        )?;
        if !key.grants.iter().any(|g| g.id == input.grant_id) {
            return Err(KmsError::not_found(format!(
                "Grant ID {} not found",
                input.grant_id
            )));
        }
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        state
            .keys
            .get_mut(&resolved.key_id)
            .expect("key exists")
            .grants
            .retain(|g| g.id != input.grant_id);
        self.save(&state)?;
        Ok(Empty {})
    }

    /// TagResource.
    pub fn tag_resource(
        &self,
        call: &mut Call,
        input: TagResourceInput,
    ) -> Result<Empty, KmsError> {
        validate_tags(&input.tags)?;
        let tags = input.tags.clone();
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:TagResource",
                CrossAccount::Never,
                StateRule::NotPendingDeletion,
            ),
            &move |ctx| {
                for t in &tags {
                    ctx.set(
                        &format!("aws:RequestTag/{}", t.tag_key),
                        t.tag_value.clone(),
                    );
                }
                ctx.set_many(
                    "aws:TagKeys",
                    tags.iter().map(|t| t.tag_key.clone()).collect(),
                );
            },
            |k, _| {
                for t in input.tags {
                    k.tags.insert(t.tag_key, t.tag_value);
                }
                if k.tags.len() > 50 {
                    return Err(KmsError::limit_exceeded("A key can have at most 50 tags."));
                }
                Ok(Empty {})
            },
        )
    }

    /// UntagResource.
    pub fn untag_resource(
        &self,
        call: &mut Call,
        input: UntagResourceInput,
    ) -> Result<Empty, KmsError> {
        let keys = input.tag_keys.clone();
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:UntagResource",
                CrossAccount::Never,
                StateRule::NotPendingDeletion,
            ),
            &move |ctx| ctx.set_many("aws:TagKeys", keys.clone()),
            |k, _| {
                for t in &input.tag_keys {
                    k.tags.remove(t);
                }
                Ok(Empty {})
            },
        )
    }

    /// ListResourceTags.
    pub fn list_resource_tags(
        &self,
        call: &mut Call,
        input: ListInput,
    ) -> Result<ListResourceTagsOutput, KmsError> {
        let key_id = input
            .key_id
            .clone()
            .ok_or_else(|| KmsError::missing("keyId"))?;
        let tags = self.with_key(
            call,
            &key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListResourceTags", CrossAccount::Never, StateRule::Any),
            |k| {
                Ok(k.tags
                    .iter()
                    .map(|(k, v)| Tag {
                        tag_key: k.clone(),
                        tag_value: v.clone(),
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        let (tags, next_marker) = page(tags, input.limit, input.marker.as_deref())?;
        Ok(ListResourceTagsOutput {
            tags,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }
}

fn validate_number_of_bytes(n: i64) -> Result<usize, KmsError> {
    if n < 1 {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    if n > 1024 {
        return Err(KmsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
        )));
    }
    Ok(n as usize)
}

fn is_principal_arn(p: &str) -> bool {
    let Some(rest) = p.strip_prefix("arn:aws:") else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(4, ':').collect();
    if parts.len() != 4 || parts[2].len() != 12 || !parts[2].bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match parts[0] {
        "iam" => {
            parts[3] == "root" || parts[3].starts_with("user/") || parts[3].starts_with("role/")
        }
        "sts" => parts[3].starts_with("assumed-role/"),
        _ => false,
    }
}
