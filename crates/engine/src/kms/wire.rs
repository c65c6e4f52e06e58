//! The KMS wire protocol: AWS JSON 1.1 (`POST /`, `X-Amz-Target: TrentService.<Operation>`,
//! `Content-Type: application/x-amz-json-1.1`). Parses bodies into the typed inputs, runs the
//! operation and serialises the output, or the error as `{"__type", "message"}`. Missing
//! required members are reported as AWS reports them (`Value null at 'keyId' …`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::KmsError;
use super::{Call, Kms};

/// The `X-Amz-Target` prefix of KMS.
pub const TARGET_PREFIX: &str = "TrentService.";

fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Parses a request body into an operation's input.
pub fn parse_input<T: DeserializeOwned>(body: &[u8]) -> Result<T, KmsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        if let Some(rest) = text.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or_default();
            return KmsError::missing(&lower_camel(field));
        }
        KmsError::serialization(format!("The request body could not be read: {text}"))
    })
}

fn to_body<T: Serialize>(output: &T) -> Result<Vec<u8>, KmsError> {
    serde_json::to_vec(output)
        .map_err(|e| KmsError::internal(format!("cannot serialise the response: {e}")))
}

/// Declares the operations the engine serves from one list: each row names the operation and
/// the `Kms` method that serves it (with any fixed argument), from which come [`OPERATIONS`]
/// and [`dispatch`].
macro_rules! operations {
    ($($op:ident => $method:ident $(($arg:expr))?,)*) => {
        /// Every operation the engine serves.
        pub const OPERATIONS: &[&str] = &[$(stringify!($op)),*];

        /// Runs one operation on a JSON body and returns the JSON response body.
        pub fn dispatch(
            kms: &Kms,
            call: &mut Call,
            operation: &str,
            body: &[u8],
        ) -> Result<Vec<u8>, KmsError> {
            kms.tick();
            match operation {
                $(stringify!($op) => to_body(&kms.$method(call, parse_input(body)? $(, $arg)?)?),)*
                _ => Err(KmsError::unknown_operation()),
            }
        }
    };
}

operations! {
    CreateKey => create_key,
    DescribeKey => describe_key,
    ListKeys => list_keys,
    CreateAlias => create_alias,
    UpdateAlias => update_alias,
    DeleteAlias => delete_alias,
    ListAliases => list_aliases,
    Encrypt => encrypt,
    Decrypt => decrypt,
    ReEncrypt => re_encrypt,
    GenerateDataKey => generate_data_key(true),
    GenerateDataKeyWithoutPlaintext => generate_data_key(false),
    GenerateRandom => generate_random,
    GenerateMac => generate_mac,
    VerifyMac => verify_mac,
    Sign => sign,
    Verify => verify,
    GetPublicKey => get_public_key,
    EnableKey => enable_key,
    DisableKey => disable_key,
    ScheduleKeyDeletion => schedule_key_deletion,
    CancelKeyDeletion => cancel_key_deletion,
    EnableKeyRotation => enable_key_rotation,
    DisableKeyRotation => disable_key_rotation,
    GetKeyRotationStatus => get_key_rotation_status,
    RotateKeyOnDemand => rotate_key_on_demand,
    ListKeyRotations => list_key_rotations,
    PutKeyPolicy => put_key_policy,
    GetKeyPolicy => get_key_policy,
    ListKeyPolicies => list_key_policies,
    CreateGrant => create_grant,
    ListGrants => list_grants,
    RetireGrant => retire_grant,
    RevokeGrant => revoke_grant,
    TagResource => tag_resource,
    UntagResource => untag_resource,
    ListResourceTags => list_resource_tags,
}

/// The JSON error body for an error.
pub fn error_body(code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "__type": code, "message": message }))
        .unwrap_or_default()
}

/// The request members the audit log records, as CloudTrail records KMS requests: names,
/// ids, settings and contexts; never plaintexts, blobs or grant tokens.
const AUDITED: &[&str] = &[
    "AliasName",
    "BypassPolicyLockoutSafetyCheck",
    "Constraints",
    "CustomerMasterKeySpec",
    "Description",
    "DestinationEncryptionContext",
    "DestinationKeyId",
    "EncryptionAlgorithm",
    "EncryptionContext",
    "GrantId",
    "GranteePrincipal",
    "KeyId",
    "KeySpec",
    "KeyUsage",
    "Limit",
    "MacAlgorithm",
    "Marker",
    "MessageType",
    "MultiRegion",
    "Name",
    "NumberOfBytes",
    "Operations",
    "Origin",
    "PendingWindowInDays",
    "Policy",
    "PolicyName",
    "RetiringPrincipal",
    "RotationPeriodInDays",
    "SourceEncryptionContext",
    "SigningAlgorithm",
    "SourceKeyId",
    "TagKeys",
    "Tags",
    "TargetKeyId",
];

/// The longest string the audit log keeps of a member (a key policy is cut here).
pub const AUDIT_STRING_LIMIT: usize = 4096;

/// The most entries the audit log keeps of a list or map member.
const AUDIT_ITEMS_LIMIT: usize = 50;

/// A member as the audit log keeps it: strings cut at [`AUDIT_STRING_LIMIT`], lists and maps
/// at [`AUDIT_ITEMS_LIMIT`] entries.
fn capped(value: &Value) -> Value {
    match value {
        Value::String(s) if s.len() > AUDIT_STRING_LIMIT => {
            let mut end = AUDIT_STRING_LIMIT;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}…", &s[..end]))
        }
        Value::Array(items) => {
            Value::Array(items.iter().take(AUDIT_ITEMS_LIMIT).map(capped).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .take(AUDIT_ITEMS_LIMIT)
                .map(|(k, v)| (capped_key(k), capped(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn capped_key(key: &str) -> String {
    match capped(&Value::String(key.to_string())) {
        Value::String(s) => s,
        _ => key.to_string(),
    }
}

/// The request parameters recorded in the audit log: the members of [`AUDITED`], capped, and
/// the plaintext's approximate size.
pub fn audit_parameters(body: &[u8]) -> Value {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Value::Null;
    };
    let mut out = serde_json::Map::new();
    for (name, value) in &map {
        if AUDITED.contains(&name.as_str()) {
            out.insert(name.clone(), capped(value));
        }
    }
    if let Some(Value::String(s)) = map.get("Plaintext") {
        out.insert("PlaintextBytesApprox".into(), Value::from(s.len() / 4 * 3));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::types::EncryptInput;

    #[test]
    fn a_missing_member_is_named_as_aws_names_it() {
        let err = parse_input::<EncryptInput>(br#"{"Plaintext":"aGk="}"#).unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert!(
            err.message.contains("Value null at 'keyId'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn bad_json_is_a_serialization_error() {
        let err = parse_input::<EncryptInput>(b"{nope").unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn audit_parameters_keep_known_members_only_and_cap_them() {
        let v = audit_parameters(
            br#"{"KeyId":"k","Plaintext":"c2VjcmV0","GrantTokens":["t"],"Injected":"\u001b[31m"}"#,
        );
        assert_eq!(v["KeyId"], "k");
        assert!(v.get("Plaintext").is_none() && v.get("GrantTokens").is_none());
        assert!(v.get("Injected").is_none(), "unknown members are not kept");
        let long = format!(r#"{{"Policy":"{}"}}"#, "x".repeat(100_000));
        let v = audit_parameters(long.as_bytes());
        assert!(v["Policy"].as_str().unwrap().len() <= AUDIT_STRING_LIMIT + 4);
    }
}
