//! What the KMS engine stores: keys with their versions of key material, aliases and grants.
//! Persisted (sealed) in the state directory; key material is zeroised when dropped.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use super::types::{EncryptionContext, GrantConstraints};
use keylab_policy::PolicyDocument;

/// A key's state (the AWS `KeyState` enum, as far as the engine models it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Not usable for cryptography until enabled again.
    Disabled,
    /// Scheduled for deletion; unusable; can be cancelled.
    PendingDeletion,
    /// Created with `Origin=EXTERNAL` and waiting for key material.
    PendingImport,
}

impl KeyState {
    /// The name AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
        }
    }
}

/// 256 bits of key material, zeroised on drop, stored base64 inside sealed state.
#[derive(Clone)]
pub struct MaterialBytes(pub Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MaterialBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaterialBytes(<redacted>)")
    }
}

impl Serialize for MaterialBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(STANDARD.encode(self.0.as_ref()));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for MaterialBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        let raw = Zeroizing::new(
            STANDARD
                .decode(text.as_bytes())
                .map_err(serde::de::Error::custom)?,
        );
        if raw.len() != 32 {
            return Err(serde::de::Error::custom("key material must be 32 bytes"));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&raw);
        Ok(MaterialBytes(bytes))
    }
}

/// HMAC key material (28 to 64 bytes) or a private key's DER, zeroised on drop, stored base64 inside sealed state.
#[derive(Clone)]
pub struct SecretBytes(pub Zeroizing<Vec<u8>>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(<redacted>)")
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(STANDARD.encode(self.0.as_slice()));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        let raw = Zeroizing::new(
            STANDARD
                .decode(text.as_bytes())
                .map_err(serde::de::Error::custom)?,
        );
        Ok(SecretBytes(raw))
    }
}

/// The key spec of symmetric encryption keys (what keys saved before key specs existed are).
pub const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// The key usage of symmetric encryption keys.
pub const ENCRYPT_DECRYPT: &str = "ENCRYPT_DECRYPT";

/// The key usage of HMAC keys.
pub const GENERATE_VERIFY_MAC: &str = "GENERATE_VERIFY_MAC";

/// The key usage of signing keys.
pub const SIGN_VERIFY: &str = "SIGN_VERIFY";

/// The private half of an asymmetric key pair: its key spec and its PKCS #8 DER (sealed at rest
/// with the rest of the state, zeroised on drop). The public key is derived from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivateKeyMaterial {
    /// `RSA_2048`, `RSA_3072`, `RSA_4096`, `ECC_NIST_P256` or `ECC_NIST_P384`.
    pub spec: String,
    /// The private key as PKCS #8 DER.
    pub pkcs8: SecretBytes,
}

fn symmetric_default() -> String {
    SYMMETRIC_DEFAULT.into()
}

fn encrypt_decrypt() -> String {
    ENCRYPT_DECRYPT.into()
}

/// One version of a key's material.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyMaterial {
    /// 64 hex characters, carried in every ciphertext made with it.
    pub id: String,
    /// The AES-256 key.
    pub bytes: MaterialBytes,
    /// When it was created (epoch seconds, virtual clock).
    pub created: i64,
    /// `AUTOMATIC` or `ON_DEMAND` for rotations; `None` for the original material.
    pub rotation_type: Option<String>,
    /// The HMAC key of an HMAC key (`bytes` is then unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_key: Option<SecretBytes>,
    /// The private key of an asymmetric key (`bytes` is then unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PrivateKeyMaterial>,
}

/// A KMS key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Key {
    /// The key id (a UUID).
    pub id: String,
    /// The owning account.
    pub account: String,
    /// The key ARN.
    pub arn: String,
    /// The description.
    pub description: String,
    /// Creation time (epoch seconds).
    pub created: i64,
    /// The state.
    pub state: KeyState,
    /// `SYMMETRIC_DEFAULT`, `HMAC_224` … `HMAC_512`, `RSA_2048` … `RSA_4096`,
    /// `ECC_NIST_P256` or `ECC_NIST_P384`.
    #[serde(default = "symmetric_default")]
    pub key_spec: String,
    /// `ENCRYPT_DECRYPT`, `GENERATE_VERIFY_MAC` or `SIGN_VERIFY`.
    #[serde(default = "encrypt_decrypt")]
    pub key_usage: String,
    /// `AWS_KMS` or `EXTERNAL`.
    pub origin: String,
    /// `CUSTOMER` or `AWS`.
    pub key_manager: String,
    /// When deletion completes, while pending deletion.
    pub deletion_date: Option<i64>,
    /// The waiting period, while pending deletion.
    pub pending_window_days: Option<u32>,
    /// The key policy, as the learner wrote it.
    pub policy: String,
    /// The parsed key policy.
    #[serde(skip)]
    pub policy_doc: Option<Arc<PolicyDocument>>,
    /// Whether automatic rotation is on.
    pub rotation_enabled: bool,
    /// The automatic rotation period in days.
    pub rotation_period_days: u32,
    /// When the next automatic rotation is due.
    pub next_rotation: Option<i64>,
    /// Every version of the key material, oldest first; the last is current.
    pub materials: Vec<KeyMaterial>,
    /// How many on-demand rotations were done.
    pub on_demand_rotations: u32,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Grants.
    pub grants: Vec<Grant>,
}

impl Key {
    /// The current key material, if the key has any.
    pub fn current_material(&self) -> Option<&KeyMaterial> {
        self.materials.last()
    }
}

/// An alias.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alias {
    /// `alias/<name>`.
    pub name: String,
    /// The owning account.
    pub account: String,
    /// The key id it points to.
    pub target_key_id: String,
    /// Creation time.
    pub created: i64,
    /// Last update.
    pub updated: i64,
}

/// A grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    /// The grant id.
    pub id: String,
    /// The grant token.
    pub token: String,
    /// The optional name.
    pub name: String,
    /// Who may use it.
    pub grantee: String,
    /// Who may retire it.
    pub retiring: Option<String>,
    /// The operations it allows.
    pub operations: Vec<String>,
    /// Encryption-context constraints.
    pub constraints: Option<GrantConstraints>,
    /// Creation time.
    pub created: i64,
    /// The account the grant was created in.
    pub issuing_account: String,
}

impl Grant {
    /// Whether the constraints admit this encryption context.
    pub fn admits(&self, context: &EncryptionContext) -> bool {
        let Some(c) = &self.constraints else {
            return true;
        };
        let equals_ok = c
            .encryption_context_equals
            .as_ref()
            .is_none_or(|eq| eq == context);
        let subset_ok = c
            .encryption_context_subset
            .as_ref()
            .is_none_or(|sub| sub.iter().all(|(k, v)| context.get(k) == Some(v)));
        equals_ok && subset_ok
    }
}

/// Everything the KMS engine keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KmsState {
    /// Keys by key id.
    pub keys: BTreeMap<String, Key>,
    /// Aliases by alias ARN.
    pub aliases: BTreeMap<String, Alias>,
}
