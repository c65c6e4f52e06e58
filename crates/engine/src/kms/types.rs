//! The typed inputs and outputs of the KMS operations the engine serves, named and shaped as
//! in the AWS KMS API (the shapes of `aws-sdk-kms`). Blobs are raw bytes here; the wire layer
//! converts them to and from base64. Missing optional members are `None`, so outputs omit them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// An encryption context.
pub type EncryptionContext = BTreeMap<String, String>;

mod blob {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub fn serialize<S: Serializer>(bytes: &Zeroizing<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes.as_slice()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        STANDARD
            .decode(text.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| serde::de::Error::custom("Blob value is not valid base64"))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            bytes: &Option<Zeroizing<Vec<u8>>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => super::serialize(b, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// Bytes that are zeroised when dropped (plaintexts, data keys) or plain blobs.
pub type Bytes = Zeroizing<Vec<u8>>;

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub tag_key: String,
    /// The value.
    pub tag_value: String,
}

/// CreateKey input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct CreateKeyInput {
    pub policy: Option<String>,
    pub description: Option<String>,
    pub key_usage: Option<String>,
    pub customer_master_key_spec: Option<String>,
    pub key_spec: Option<String>,
    pub origin: Option<String>,
    pub bypass_policy_lockout_safety_check: Option<bool>,
    pub tags: Option<Vec<Tag>>,
    pub multi_region: Option<bool>,
    pub custom_key_store_id: Option<String>,
}

/// The metadata of a key, as DescribeKey and CreateKey return it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: f64,
    pub enabled: bool,
    pub description: String,
    pub key_usage: String,
    pub key_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    pub origin: String,
    pub key_manager: String,
    pub customer_master_key_spec: String,
    pub key_spec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<String>>,
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

/// Output holding key metadata (CreateKey, DescribeKey).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyMetadataOutput {
    pub key_metadata: KeyMetadata,
}

/// Input naming a key only.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyIdInput {
    pub key_id: String,
    pub grant_tokens: Option<Vec<String>>,
}

/// Output naming a key only.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyIdOutput {
    pub key_id: String,
}

/// ListKeys input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListInput {
    pub limit: Option<i64>,
    pub marker: Option<String>,
    pub key_id: Option<String>,
}

/// One entry of ListKeys.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyListEntry {
    pub key_id: String,
    pub key_arn: String,
}

/// ListKeys output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListKeysOutput {
    pub keys: Vec<KeyListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// CreateAlias / UpdateAlias input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AliasInput {
    pub alias_name: String,
    pub target_key_id: Option<String>,
}

/// One entry of ListAliases.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct AliasListEntry {
    pub alias_name: String,
    pub alias_arn: String,
    pub target_key_id: String,
    pub creation_date: f64,
    pub last_updated_date: f64,
}

/// ListAliases output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListAliasesOutput {
    pub aliases: Vec<AliasListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// Encrypt input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct EncryptInput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub plaintext: Bytes,
    pub encryption_context: Option<EncryptionContext>,
    pub grant_tokens: Option<Vec<String>>,
    pub encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

/// Encrypt output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct EncryptOutput {
    #[serde(with = "blob")]
    pub ciphertext_blob: Bytes,
    pub key_id: String,
    pub encryption_algorithm: String,
}

/// Decrypt input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct DecryptInput {
    #[serde(with = "blob")]
    pub ciphertext_blob: Bytes,
    pub encryption_context: Option<EncryptionContext>,
    pub grant_tokens: Option<Vec<String>>,
    pub key_id: Option<String>,
    pub encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

/// Decrypt output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct DecryptOutput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub plaintext: Bytes,
    pub encryption_algorithm: String,
    /// The key material used: symmetric encryption keys only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

/// ReEncrypt input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ReEncryptInput {
    #[serde(with = "blob")]
    pub ciphertext_blob: Bytes,
    pub source_encryption_context: Option<EncryptionContext>,
    pub source_key_id: Option<String>,
    pub destination_key_id: String,
    pub destination_encryption_context: Option<EncryptionContext>,
    pub source_encryption_algorithm: Option<String>,
    pub destination_encryption_algorithm: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

/// ReEncrypt output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ReEncryptOutput {
    #[serde(with = "blob")]
    pub ciphertext_blob: Bytes,
    pub source_key_id: String,
    pub key_id: String,
    pub source_encryption_algorithm: String,
    pub destination_encryption_algorithm: String,
    pub source_key_material_id: String,
    pub destination_key_material_id: String,
}

/// GenerateDataKey / GenerateDataKeyWithoutPlaintext input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GenerateDataKeyInput {
    pub key_id: String,
    pub encryption_context: Option<EncryptionContext>,
    pub number_of_bytes: Option<i64>,
    pub key_spec: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

/// GenerateDataKey output (without `Plaintext` for the WithoutPlaintext variant).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GenerateDataKeyOutput {
    #[serde(with = "blob")]
    pub ciphertext_blob: Bytes,
    #[serde(with = "blob::option", skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<Bytes>,
    pub key_id: String,
    pub key_material_id: String,
}

/// GenerateRandom input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GenerateRandomInput {
    pub number_of_bytes: Option<i64>,
    pub custom_key_store_id: Option<String>,
}

/// GenerateRandom output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GenerateRandomOutput {
    #[serde(with = "blob")]
    pub plaintext: Bytes,
}

/// ScheduleKeyDeletion input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ScheduleKeyDeletionInput {
    pub key_id: String,
    pub pending_window_in_days: Option<i64>,
}

/// ScheduleKeyDeletion output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ScheduleKeyDeletionOutput {
    pub key_id: String,
    pub deletion_date: f64,
    pub key_state: String,
    pub pending_window_in_days: u32,
}

/// EnableKeyRotation input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct EnableKeyRotationInput {
    pub key_id: String,
    pub rotation_period_in_days: Option<i64>,
}

/// GetKeyRotationStatus output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct KeyRotationStatusOutput {
    pub key_id: String,
    pub key_rotation_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<f64>,
}

/// ListKeyRotations input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListKeyRotationsInput {
    pub key_id: String,
    pub include_key_material: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

/// One entry of ListKeyRotations.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct RotationsListEntry {
    pub key_id: String,
    pub key_material_id: String,
    pub key_material_state: String,
    pub rotation_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<String>,
}

/// ListKeyRotations output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListKeyRotationsOutput {
    pub rotations: Vec<RotationsListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// PutKeyPolicy input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct PutKeyPolicyInput {
    pub key_id: String,
    pub policy_name: Option<String>,
    pub policy: String,
    pub bypass_policy_lockout_safety_check: Option<bool>,
}

/// GetKeyPolicy input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GetKeyPolicyInput {
    pub key_id: String,
    pub policy_name: Option<String>,
}

/// GetKeyPolicy output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GetKeyPolicyOutput {
    pub policy: String,
    pub policy_name: String,
}

/// ListKeyPolicies output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListKeyPoliciesOutput {
    pub policy_names: Vec<String>,
    pub truncated: bool,
}

/// Grant constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GrantConstraints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<EncryptionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<EncryptionContext>,
}

/// CreateGrant input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct CreateGrantInput {
    pub key_id: String,
    pub grantee_principal: String,
    pub retiring_principal: Option<String>,
    pub operations: Vec<String>,
    pub constraints: Option<GrantConstraints>,
    pub grant_tokens: Option<Vec<String>>,
    pub name: Option<String>,
    pub dry_run: Option<bool>,
}

/// CreateGrant output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct CreateGrantOutput {
    pub grant_token: String,
    pub grant_id: String,
}

/// ListGrants input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListGrantsInput {
    pub key_id: String,
    pub grant_id: Option<String>,
    pub grantee_principal: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

/// One grant as ListGrants shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GrantListEntry {
    pub key_id: String,
    pub grant_id: String,
    pub name: String,
    pub creation_date: f64,
    pub grantee_principal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
}

/// ListGrants output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListGrantsOutput {
    pub grants: Vec<GrantListEntry>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// RetireGrant input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct RetireGrantInput {
    pub grant_token: Option<String>,
    pub key_id: Option<String>,
    pub grant_id: Option<String>,
    pub dry_run: Option<bool>,
}

/// RevokeGrant input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct RevokeGrantInput {
    pub key_id: String,
    pub grant_id: String,
    pub dry_run: Option<bool>,
}

/// TagResource input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct TagResourceInput {
    pub key_id: String,
    pub tags: Vec<Tag>,
}

/// UntagResource input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct UntagResourceInput {
    pub key_id: String,
    pub tag_keys: Vec<String>,
}

/// ListResourceTags output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct ListResourceTagsOutput {
    pub tags: Vec<Tag>,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// An empty output (`{}`).
#[derive(Debug, Serialize)]
pub struct Empty {}

/// GenerateMac input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GenerateMacInput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub message: Bytes,
    pub mac_algorithm: String,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

/// GenerateMac output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GenerateMacOutput {
    #[serde(with = "blob")]
    pub mac: Bytes,
    pub key_id: String,
    pub mac_algorithm: String,
}

/// VerifyMac input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct VerifyMacInput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub message: Bytes,
    pub mac_algorithm: String,
    #[serde(with = "blob")]
    pub mac: Bytes,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

/// VerifyMac output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct VerifyMacOutput {
    pub key_id: String,
    pub mac_valid: bool,
    pub mac_algorithm: String,
}

/// Sign input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct SignInput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub message: Bytes,
    pub message_type: Option<String>,
    pub signing_algorithm: String,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

/// Sign output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct SignOutput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub signature: Bytes,
    pub signing_algorithm: String,
}

/// Verify input.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct VerifyInput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub message: Bytes,
    pub message_type: Option<String>,
    #[serde(with = "blob")]
    pub signature: Bytes,
    pub signing_algorithm: String,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

/// Verify output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct VerifyOutput {
    pub key_id: String,
    pub signature_valid: bool,
    pub signing_algorithm: String,
}

/// GetPublicKey output.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct GetPublicKeyOutput {
    pub key_id: String,
    #[serde(with = "blob")]
    pub public_key: Bytes,
    pub customer_master_key_spec: String,
    pub key_spec: String,
    pub key_usage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<String>>,
}
