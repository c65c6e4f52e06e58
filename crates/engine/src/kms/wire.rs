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

/// Every operation the engine serves.
pub const OPERATIONS: &[&str] = &[
    "CreateKey",
    "DescribeKey",
    "ListKeys",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ListAliases",
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateRandom",
    "EnableKey",
    "DisableKey",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "GetKeyRotationStatus",
    "RotateKeyOnDemand",
    "ListKeyRotations",
    "PutKeyPolicy",
    "GetKeyPolicy",
    "ListKeyPolicies",
    "CreateGrant",
    "ListGrants",
    "RetireGrant",
    "RevokeGrant",
    "TagResource",
    "UntagResource",
    "ListResourceTags",
];

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

/// Runs one operation on a JSON body and returns the JSON response body.
pub fn dispatch(
    kms: &Kms,
    call: &mut Call,
    operation: &str,
    body: &[u8],
) -> Result<Vec<u8>, KmsError> {
    kms.tick();
    match operation {
        "CreateKey" => to_body(&kms.create_key(call, parse_input(body)?)?),
        "DescribeKey" => to_body(&kms.describe_key(call, parse_input(body)?)?),
        "ListKeys" => to_body(&kms.list_keys(call, parse_input(body)?)?),
        "CreateAlias" => to_body(&kms.create_alias(call, parse_input(body)?)?),
        "UpdateAlias" => to_body(&kms.update_alias(call, parse_input(body)?)?),
        "DeleteAlias" => to_body(&kms.delete_alias(call, parse_input(body)?)?),
        "ListAliases" => to_body(&kms.list_aliases(call, parse_input(body)?)?),
        "Encrypt" => to_body(&kms.encrypt(call, parse_input(body)?)?),
        "Decrypt" => to_body(&kms.decrypt(call, parse_input(body)?)?),
        "ReEncrypt" => to_body(&kms.re_encrypt(call, parse_input(body)?)?),
        "GenerateDataKey" => to_body(&kms.generate_data_key(call, parse_input(body)?, true)?),
        "GenerateDataKeyWithoutPlaintext" => {
            to_body(&kms.generate_data_key(call, parse_input(body)?, false)?)
        }
        "GenerateRandom" => to_body(&kms.generate_random(call, parse_input(body)?)?),
        "EnableKey" => to_body(&kms.enable_key(call, parse_input(body)?)?),
        "DisableKey" => to_body(&kms.disable_key(call, parse_input(body)?)?),
        "ScheduleKeyDeletion" => to_body(&kms.schedule_key_deletion(call, parse_input(body)?)?),
        "CancelKeyDeletion" => to_body(&kms.cancel_key_deletion(call, parse_input(body)?)?),
        "EnableKeyRotation" => to_body(&kms.enable_key_rotation(call, parse_input(body)?)?),
        "DisableKeyRotation" => to_body(&kms.disable_key_rotation(call, parse_input(body)?)?),
        "GetKeyRotationStatus" => to_body(&kms.get_key_rotation_status(call, parse_input(body)?)?),
        "RotateKeyOnDemand" => to_body(&kms.rotate_key_on_demand(call, parse_input(body)?)?),
        "ListKeyRotations" => to_body(&kms.list_key_rotations(call, parse_input(body)?)?),
        "PutKeyPolicy" => to_body(&kms.put_key_policy(call, parse_input(body)?)?),
        "GetKeyPolicy" => to_body(&kms.get_key_policy(call, parse_input(body)?)?),
        "ListKeyPolicies" => to_body(&kms.list_key_policies(call, parse_input(body)?)?),
        "CreateGrant" => to_body(&kms.create_grant(call, parse_input(body)?)?),
        "ListGrants" => to_body(&kms.list_grants(call, parse_input(body)?)?),
        "RetireGrant" => to_body(&kms.retire_grant(call, parse_input(body)?)?),
        "RevokeGrant" => to_body(&kms.revoke_grant(call, parse_input(body)?)?),
        "TagResource" => to_body(&kms.tag_resource(call, parse_input(body)?)?),
        "UntagResource" => to_body(&kms.untag_resource(call, parse_input(body)?)?),
        "ListResourceTags" => to_body(&kms.list_resource_tags(call, parse_input(body)?)?),
        _ => Err(KmsError::unknown_operation()),
    }
}

/// The JSON error body for an error.
pub fn error_body(code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "__type": code, "message": message }))
        .unwrap_or_default()
}

/// The request parameters recorded in the audit log: the body with every plaintext, blob and
/// grant token removed.
pub fn audit_parameters(body: &[u8]) -> Value {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
        return Value::Null;
    };
    let plaintext_len = match map.get("Plaintext") {
        Some(Value::String(s)) => Some(s.len() / 4 * 3),
        _ => None,
    };
    for secret in ["Plaintext", "CiphertextBlob", "GrantTokens", "GrantToken"] {
        map.remove(secret);
    }
    if let Some(n) = plaintext_len {
        map.insert("PlaintextBytesApprox".into(), Value::from(n));
    }
    Value::Object(map)
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
    fn audit_parameters_drop_secrets() {
        let v = audit_parameters(br#"{"KeyId":"k","Plaintext":"c2VjcmV0","GrantTokens":["t"]}"#);
        assert_eq!(v["KeyId"], "k");
        assert!(v.get("Plaintext").is_none() && v.get("GrantTokens").is_none());
    }
}
