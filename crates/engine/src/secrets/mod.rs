//! Secrets Manager: secrets of the lab accounts, their versions and staging labels, their
//! resource policies, and their values encrypted at rest by envelope encryption through the
//! engine's own KMS, called as the requester, exactly as AWS describes it: a new 256-bit data
//! key from `GenerateDataKey` for every new value, under the secret's KMS key, with the
//! encryption context `{"SecretARN": …, "SecretVersionId": …}` and `kms:ViaService` set to
//! `secretsmanager.<region>.amazonaws.com`; `Decrypt` of that data key on every read. A secret
//! created without `KmsKeyId` uses the account's AWS managed key `aws/secretsmanager`, made on
//! first use with AWS's key policy, which is why another account can never read it: a
//! cross-account read needs the secret's resource policy, the caller's identity policy and a
//! customer managed key whose policy lets the caller decrypt.
//!
//! Authorization is keylab's evaluator: identity policies and the resource policy, where one
//! allowing is enough in the secret's account and both are needed across accounts. The wire
//! front is [`http`]. Limits: no rotation (`RotateSecret`), replication, `BatchGetSecretValue`
//! or `ListSecretVersionIds`; `ListSecrets` filters by name prefix only; versions without a
//! staging label are kept (AWS removes them over time).

pub mod http;
mod ops;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use keylab_policy::eval::{Policies, Request as PolicyRequest, ResourceRules, decide_with};
use keylab_policy::{Decision, PolicyDocument, PolicyKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditLog, UserIdentity};
use crate::clock::Clock;
use crate::identity::{Identity, IdentitySet};
use crate::kms::error::KmsError;
use crate::kms::types::{DecryptInput, EncryptInput, GenerateDataKeyInput};
use crate::kms::{Call, Kms};
use crate::state::{Change, StateStore};

/// The table secrets are kept in, by ARN.
const SECRETS: &str = "secrets";
/// The staging label of the current version.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The staging label of the version before it.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// The largest secret value, in bytes.
pub const MAX_VALUE: usize = 65_536;
/// The largest resource policy, in characters.
pub const MAX_POLICY: usize = 20_480;
const DAY: i64 = 86_400;

/// A refusal, as Secrets Manager words it.
#[derive(Debug)]
pub struct SecretsError {
    /// The error code, such as `ResourceNotFoundException`.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The authorization decision of an `AccessDeniedException`.
    pub decision: Option<Box<Decision>>,
}

impl SecretsError {
    fn new(code: &'static str, message: impl Into<String>) -> SecretsError {
        SecretsError {
            code,
            message: message.into(),
            decision: None,
        }
    }

    fn not_found() -> SecretsError {
        SecretsError::new(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        )
    }

    fn parameter(message: impl Into<String>) -> SecretsError {
        SecretsError::new("InvalidParameterException", message)
    }

    fn marked_for_deletion() -> SecretsError {
        SecretsError::new(
            "InvalidRequestException",
            "You can't perform this operation on the secret because it was marked for deletion.",
        )
    }

    /// The HTTP status AWS answers with.
    pub fn status(&self) -> u16 {
        match self.code {
            "InternalServiceError" => 500,
            _ => 400,
        }
    }

    /// A KMS refusal met while encrypting (`encrypting`) or decrypting a value, as Secrets
    /// Manager reports it, with KMS's own explanation after it.
    fn from_kms(e: KmsError, encrypting: bool) -> SecretsError {
        if e.code == "AccessDeniedException" {
            return SecretsError {
                code: "AccessDeniedException",
                message: format!("Access to KMS is not allowed. KMS said: {}", e.message),
                decision: e.decision,
            };
        }
        let (code, what) = if encrypting {
            ("EncryptionFailure", "encrypt")
        } else {
            ("DecryptionFailure", "decrypt")
        };
        SecretsError::new(
            code,
            format!(
                "Secrets Manager can't {what} the protected secret text using the provided KMS key. KMS said: {}: {}",
                e.code, e.message
            ),
        )
    }
}

/// A secret value's data key, wrapped by one KMS key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WrappedKey {
    key_arn: String,
    blob: Vec<u8>,
}

/// One version of a secret's value.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Version {
    id: String,
    stages: Vec<String>,
    created: i64,
    /// The data key, wrapped by the secret's KMS key; a key change adds the new key first
    /// and keeps the old one, so either opens it (as AWS describes).
    keys: Vec<WrappedKey>,
    /// Nonce then AES-256-GCM ciphertext of the value.
    sealed: Vec<u8>,
    binary: bool,
}

/// One secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Secret {
    arn: String,
    name: String,
    account: String,
    description: String,
    /// The key as the caller named it; `None` is `aws/secretsmanager`.
    kms_key_id: Option<String>,
    created: i64,
    last_changed: i64,
    deletion_date: Option<i64>,
    #[serde(default)]
    deleted_date: Option<i64>,
    resource_policy: Option<String>,
    #[serde(skip)]
    policy_doc: Option<Arc<PolicyDocument>>,
    tags: Vec<(String, String)>,
    versions: Vec<Version>,
}

impl Secret {
    fn version(&self, id: Option<&str>, stage: Option<&str>) -> Result<&Version, SecretsError> {
        let found = match (id, stage) {
            (Some(id), stage) => self
                .versions
                .iter()
                .find(|v| v.id == id && stage.is_none_or(|s| v.stages.iter().any(|l| l == s))),
            (None, stage) => {
                let stage = stage.unwrap_or(AWSCURRENT);
                self.versions
                    .iter()
                    .find(|v| v.stages.iter().any(|l| l == stage))
            }
        };
        found.ok_or_else(|| {
            SecretsError::new(
                "ResourceNotFoundException",
                format!(
                    "Secrets Manager can't find the specified secret value for {}",
                    match id {
                        Some(id) => format!("VersionId: {id}"),
                        None => format!("staging label: {}", stage.unwrap_or(AWSCURRENT)),
                    }
                ),
            )
        })
    }

    fn stages(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .map(|v| (v.id.clone(), json!(v.stages)))
            .collect();
        Value::Object(map)
    }

    fn tags_json(&self) -> Value {
        json!(
            self.tags
                .iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect::<Vec<_>>()
        )
    }
}

/// Who is calling, over what.
pub struct SecretsCall<'a> {
    /// The authenticated caller.
    pub identity: &'a Identity,
    /// True over HTTPS.
    pub secure: bool,
    /// The client's address.
    pub source_ip: String,
}

/// The Secrets Manager service.
pub struct SecretsManager {
    region: String,
    kms: Arc<Kms>,
    identities: Arc<IdentitySet>,
    audit: Arc<AuditLog>,
    clock: Arc<Clock>,
    store: Arc<StateStore>,
    secrets: RwLock<BTreeMap<String, Secret>>,
    /// Held by every call that changes a secret, from reading it to saving it, so two
    /// concurrent changes of one secret cannot lose a version.
    writes: std::sync::Mutex<()>,
}

fn secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn str_field<'a>(input: &'a Value, name: &str) -> Result<Option<&'a str>, SecretsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(SecretsError::parameter(format!("{name} must be a string."))),
    }
}

fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, SecretsError> {
    str_field(input, name)?.ok_or_else(|| {
        SecretsError::parameter(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// A secret value and whether it is binary.
type SecretValue = (Zeroizing<Vec<u8>>, bool);

/// A value from `SecretString` or `SecretBinary` (base64 on the wire); at most one.
fn value_of(input: &Value) -> Result<Option<SecretValue>, SecretsError> {
    let string = str_field(input, "SecretString")?;
    let binary = str_field(input, "SecretBinary")?;
    let value = match (string, binary) {
        (Some(_), Some(_)) => {
            return Err(SecretsError::parameter(
                "You can't specify both a binary secret value and a string secret value in the same secret.",
            ));
        }
        (Some(s), None) => (Zeroizing::new(s.as_bytes().to_vec()), false),
        (None, Some(b)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|_| SecretsError::parameter("SecretBinary must be base64."))?;
            (Zeroizing::new(bytes), true)
        }
        (None, None) => return Ok(None),
    };
    if value.0.len() > MAX_VALUE {
        return Err(SecretsError::parameter(format!(
            "The secret value is larger than {MAX_VALUE} bytes."
        )));
    }
    Ok(Some(value))
}

fn version_id(input: &Value) -> Result<String, SecretsError> {
    match str_field(input, "ClientRequestToken")? {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(t)
            if (32..=64).contains(&t.len())
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Ok(t.to_string())
        }
        Some(_) => Err(SecretsError::parameter(
            "ClientRequestToken must be 32 to 64 letters, digits or hyphens.",
        )),
    }
}

fn valid_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

/// Whether a resource policy lets anyone in (an `Allow` for `*` with no condition), which
/// `BlockPublicPolicy` refuses.
fn is_public(policy: &Value) -> bool {
    let statements = match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        other => vec![other.clone()],
    };
    statements.iter().any(|s| {
        let star = |p: &Value| match p {
            Value::String(s) => s == "*",
            Value::Array(list) => list.iter().any(|v| v == "*"),
            _ => false,
        };
        s["Effect"] == "Allow"
            && s.get("Condition").is_none()
            && (star(&s["Principal"]) || star(&s["Principal"]["AWS"]))
    })
}

fn seal(key: &[u8], aad: &str, plain: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).expect("a 32-byte data key");
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let body = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .expect("AES-GCM encryption");
    [nonce.as_slice(), &body].concat()
}

fn open(key: &[u8], aad: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, body) = sealed.split_at_checked(12)?;
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: aad.as_bytes(),
            },
        )
        .ok()
        .map(Zeroizing::new)
}

impl SecretsManager {
    /// Opens the service on the engine's state.
    pub fn open(
        region: &str,
        kms: Arc<Kms>,
        identities: Arc<IdentitySet>,
        audit: Arc<AuditLog>,
        clock: Arc<Clock>,
        store: Arc<StateStore>,
    ) -> Result<SecretsManager, crate::state::StateError> {
        let mut secrets: BTreeMap<String, Secret> = store.load_table(SECRETS)?;
        for secret in secrets.values_mut() {
            secret.policy_doc = secret
                .resource_policy
                .as_deref()
                .and_then(|p| PolicyDocument::parse(p, PolicyKind::Resource).ok())
                .map(Arc::new);
        }
        Ok(SecretsManager {
            region: region.to_string(),
            kms,
            identities,
            audit,
            clock,
            store,
            secrets: RwLock::new(secrets),
            writes: std::sync::Mutex::new(()),
        })
    }

    /// The number of secrets, deleted ones included until their recovery window ends.
    pub fn len(&self) -> usize {
        self.secrets.read().expect("secrets lock").len()
    }

    /// True when there is no secret.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> i64 {
        secs(self.clock.now())
    }

    fn save(&self, secret: &Secret) -> Result<(), SecretsError> {
        self.store
            .commit(&[Change::put(SECRETS, secret.arn.clone(), secret)])
            .map_err(|e| SecretsError::new("InternalServiceError", e.to_string()))
    }

    fn forget(&self, arn: &str) -> Result<(), SecretsError> {
        self.store
            .commit(&[Change::delete(SECRETS, arn)])
            .map_err(|e| SecretsError::new("InternalServiceError", e.to_string()))
    }

    /// Finds a secret by ARN (whole, or without its six-character suffix) or, in the caller's
    /// account, by name; a secret whose recovery window ended is removed first.
    fn resolve(&self, call: &SecretsCall, secret_id: &str) -> Result<Secret, SecretsError> {
        let now = self.now();
        let expired: Vec<String> = self
            .secrets
            .read()
            .expect("secrets lock")
            .values()
            .filter(|s| s.deletion_date.is_some_and(|d| d <= now))
            .map(|s| s.arn.clone())
            .collect();
        if !expired.is_empty() {
            let mut secrets = self.secrets.write().expect("secrets lock");
            for arn in &expired {
                secrets.remove(arn);
                self.forget(arn)?;
            }
        }
        let secrets = self.secrets.read().expect("secrets lock");
        let found = if secret_id.starts_with("arn:") {
            secrets.get(secret_id).or_else(|| {
                secrets.values().find(|s| {
                    s.arn
                        .strip_prefix(secret_id)
                        .is_some_and(|rest| rest.len() == 7 && rest.starts_with('-'))
                })
            })
        } else {
            secrets
                .values()
                .find(|s| s.name == secret_id && s.account == call.identity.caller.account)
        };
        found.cloned().ok_or_else(SecretsError::not_found)
    }

    /// Decides `action` on `arn` in `account` for the caller, with the secret's resource
    /// policy when there is one.
    fn authorize(
        &self,
        call: &SecretsCall,
        action: &str,
        arn: &str,
        account: &str,
        resource_policy: Option<&PolicyDocument>,
        event: &mut AuditEvent,
    ) -> Result<(), SecretsError> {
        let identity_policies = self.identities.policies_of(&call.identity.profile);
        let policies = Policies {
            identity: identity_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: resource_policy.map(|d| ("resource policy of the secret".to_string(), d)),
            rules: ResourceRules::Standard,
            grants: Vec::new(),
        };
        let mut ctx = crate::reply::caller_context(call.identity, call.secure, self.clock.now());
        ctx.set("aws:SourceIp", call.source_ip.clone());
        ctx.set("aws:RequestedRegion", self.region.clone());
        ctx.set("aws:ResourceAccount", account.to_string());
        if arn != "*" {
            ctx.set("secretsmanager:SecretId", arn.to_string());
        }
        let request = PolicyRequest {
            caller: &call.identity.caller,
            action,
            resource: arn,
            resource_account: account,
            context: &ctx,
        };
        if decide_with(&request, &policies, false).allowed {
            event.decision = Some("Allow".into());
            return Ok(());
        }
        let decision = decide_with(&request, &policies, true);
        event.decision = Some("Deny".into());
        event.trace = Some(Box::new(decision.trace.clone()));
        Err(SecretsError {
            code: "AccessDeniedException",
            message: decision.message(),
            decision: Some(Box::new(decision)),
        })
    }

    /// The KMS key of a secret as an ARN in the secret's account (an alias ARN for an alias),
    /// making `aws/secretsmanager` on first use.
    fn key_ref(&self, secret: &Secret) -> Result<String, SecretsError> {
        let account = &secret.account;
        let region = &self.region;
        let alias = |name: &str| format!("arn:aws:kms:{region}:{account}:{name}");
        Ok(match secret.kms_key_id.as_deref() {
            None => {
                let name = self
                    .kms
                    .ensure_aws_managed_key(account, "secretsmanager")
                    .map_err(|e| SecretsError::from_kms(e, true))?;
                alias(&name)
            }
            Some(k) if k.starts_with("arn:") => k.to_string(),
            Some(k) if k.starts_with("alias/") => alias(k),
            Some(id) => format!("arn:aws:kms:{region}:{account}:key/{id}"),
        })
    }

    fn kms_call<'a>(&self, call: &SecretsCall<'a>) -> Call<'a> {
        let mut kms_call = Call::new(call.identity, call.secure);
        kms_call.via_service = Some(format!("secretsmanager.{}.amazonaws.com", self.region));
        kms_call.source_ip = call.source_ip.clone();
        kms_call
    }

    fn context(arn: &str, version: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("SecretARN".to_string(), arn.to_string()),
            ("SecretVersionId".to_string(), version.to_string()),
        ])
    }

    /// A new data key under `key_arn` for one version, as the caller through Secrets Manager.
    fn new_data_key(
        &self,
        call: &SecretsCall,
        key_arn: &str,
        arn: &str,
        version: &str,
    ) -> Result<(WrappedKey, Zeroizing<Vec<u8>>), SecretsError> {
        let mut kms_call = self.kms_call(call);
        self.kms.tick();
        let result = self.kms.generate_data_key(
            &mut kms_call,
            GenerateDataKeyInput {
                key_id: key_arn.to_string(),
                encryption_context: Some(Self::context(arn, version)),
                number_of_bytes: None,
                key_spec: Some("AES_256".into()),
                grant_tokens: None,
                dry_run: None,
            },
            true,
        );
        crate::kms::record_call(
            &self.audit,
            &self.clock,
            "GenerateDataKey",
            kms_call,
            &result,
        );
        let out = result.map_err(|e| SecretsError::from_kms(e, true))?;
        let plain = Zeroizing::new(out.plaintext.unwrap_or_default().to_vec());
        Ok((
            WrappedKey {
                key_arn: out.key_id,
                blob: out.ciphertext_blob.to_vec(),
            },
            plain,
        ))
    }

    /// Wraps an existing data key under another KMS key (KMS Encrypt as the caller through
    /// Secrets Manager, same encryption context), for a key change.
    fn wrap_data_key(
        &self,
        call: &SecretsCall,
        key_arn: &str,
        arn: &str,
        version: &str,
        data_key: &[u8],
    ) -> Result<WrappedKey, SecretsError> {
        let mut kms_call = self.kms_call(call);
        self.kms.tick();
        let result = self.kms.encrypt(
            &mut kms_call,
            EncryptInput {
                key_id: key_arn.to_string(),
                plaintext: Zeroizing::new(data_key.to_vec()),
                encryption_context: Some(Self::context(arn, version)),
                grant_tokens: None,
                encryption_algorithm: None,
                dry_run: None,
            },
        );
        crate::kms::record_call(&self.audit, &self.clock, "Encrypt", kms_call, &result);
        let out = result.map_err(|e| SecretsError::from_kms(e, true))?;
        Ok(WrappedKey {
            key_arn: out.key_id,
            blob: out.ciphertext_blob.to_vec(),
        })
    }

    /// Opens a version's data key with KMS Decrypt as the caller: the newest wrapping first,
    /// then older ones; the first refusal is reported when none opens.
    fn open_data_key(
        &self,
        call: &SecretsCall,
        arn: &str,
        version: &Version,
    ) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
        let mut first_error = None;
        for wrapped in &version.keys {
            let mut kms_call = self.kms_call(call);
            self.kms.tick();
            let result = self.kms.decrypt(
                &mut kms_call,
                DecryptInput {
                    ciphertext_blob: Zeroizing::new(wrapped.blob.clone()),
                    encryption_context: Some(Self::context(arn, &version.id)),
                    grant_tokens: None,
                    key_id: None,
                    encryption_algorithm: None,
                    dry_run: None,
                },
            );
            crate::kms::record_call(&self.audit, &self.clock, "Decrypt", kms_call, &result);
            match result {
                Ok(out) => return Ok(Zeroizing::new(out.plaintext.to_vec())),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.map_or_else(
            || SecretsError::new("DecryptionFailure", "The version has no data key."),
            |e| SecretsError::from_kms(e, false),
        ))
    }

    /// Encrypts a value into a new version of `secret` with `stages`; the labels move from
    /// the versions that had them, and `AWSPREVIOUS` to the version that was current.
    fn add_version(
        &self,
        call: &SecretsCall,
        secret: &mut Secret,
        id: String,
        value: &[u8],
        binary: bool,
        stages: Vec<String>,
    ) -> Result<(), SecretsError> {
        let key_arn = self.key_ref(secret)?;
        let (wrapped, data_key) = self.new_data_key(call, &key_arn, &secret.arn, &id)?;
        let sealed = seal(&data_key, &format!("{}|{id}", secret.arn), value);
        if stages.iter().any(|s| s == AWSCURRENT) {
            for v in &mut secret.versions {
                v.stages.retain(|s| s != AWSPREVIOUS);
                if v.stages.iter().any(|s| s == AWSCURRENT) {
                    v.stages.retain(|s| s != AWSCURRENT);
                    v.stages.push(AWSPREVIOUS.into());
                }
            }
        }
        for v in &mut secret.versions {
            v.stages
                .retain(|s| s == AWSPREVIOUS || s == AWSCURRENT || !stages.contains(s));
        }
        let now = self.now();
        secret.versions.push(Version {
            id,
            stages,
            created: now,
            keys: vec![wrapped],
            sealed,
            binary,
        });
        secret.last_changed = now;
        Ok(())
    }

    /// Serves one operation; the body of a successful answer, or the refusal. `event` is
    /// filled in for the audit log.
    pub fn call(
        &self,
        call: &SecretsCall,
        operation: &str,
        input: &Value,
        event: &mut AuditEvent,
    ) -> Result<Value, SecretsError> {
        event.user_identity = Some(UserIdentity::of(call.identity));
        let reads = matches!(
            operation,
            "GetSecretValue" | "DescribeSecret" | "ListSecrets" | "GetResourcePolicy"
        );
        let _writing = (!reads).then(|| self.writes.lock().expect("secrets write lock"));
        if let Some(id) = input.get("SecretId").and_then(Value::as_str) {
            event.request_parameters =
                json!({"secretId": id.chars().take(2048).collect::<String>()});
        }
        match operation {
            "CreateSecret" => self.create_secret(call, input, event),
            "ListSecrets" => self.list_secrets(call, input, event),
            _ => {
                let secret_id = required(input, "SecretId")?;
                let mut secret = self.resolve(call, secret_id)?;
                event.resources = vec![secret.arn.clone()];
                let action = format!("secretsmanager:{operation}");
                self.authorize(
                    call,
                    &action,
                    &secret.arn.clone(),
                    &secret.account.clone(),
                    secret.policy_doc.clone().as_deref(),
                    event,
                )?;
                if secret.deletion_date.is_some()
                    && !matches!(
                        operation,
                        "DescribeSecret" | "RestoreSecret" | "GetResourcePolicy"
                    )
                {
                    return Err(SecretsError::marked_for_deletion());
                }
                let out = match operation {
                    "GetSecretValue" => return self.get_secret_value(call, &secret, input),
                    "DescribeSecret" => return Ok(self.describe(&secret, true)),
                    "GetResourcePolicy" => {
                        let mut out = json!({"ARN": secret.arn, "Name": secret.name});
                        if let Some(p) = &secret.resource_policy {
                            out["ResourcePolicy"] = json!(p);
                        }
                        return Ok(out);
                    }
                    "PutSecretValue" => self.put_secret_value(call, &mut secret, input)?,
                    "UpdateSecret" => self.update_secret(call, &mut secret, input)?,
                    "DeleteSecret" => self.delete_secret(&mut secret, input)?,
                    "RestoreSecret" => {
                        secret.deletion_date = None;
                        secret.deleted_date = None;
                        json!({"ARN": secret.arn, "Name": secret.name})
                    }
                    "PutResourcePolicy" => self.put_resource_policy(&mut secret, input)?,
                    "DeleteResourcePolicy" => {
                        secret.resource_policy = None;
                        secret.policy_doc = None;
                        json!({"ARN": secret.arn, "Name": secret.name})
                    }
                    _ => {
                        return Err(SecretsError::new(
                            "InvalidRequestException",
                            format!("The engine's Secrets Manager does not serve {operation}."),
                        ));
                    }
                };
                self.store_secret(secret)?;
                Ok(out)
            }
        }
    }

    fn store_secret(&self, secret: Secret) -> Result<(), SecretsError> {
        if secret.deletion_date.is_some_and(|d| d <= self.now()) {
            self.forget(&secret.arn)?;
            self.secrets
                .write()
                .expect("secrets lock")
                .remove(&secret.arn);
            return Ok(());
        }
        self.save(&secret)?;
        self.secrets
            .write()
            .expect("secrets lock")
            .insert(secret.arn.clone(), secret);
        Ok(())
    }
}
