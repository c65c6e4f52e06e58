//! KMS errors with the codes, messages and HTTP statuses AWS returns (see
//! `aws-semantics.md` §1.14). The wire layer turns them into `{"__type", "message"}` bodies.

use keylab_policy::Decision;

/// A KMS error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct KmsError {
    /// The AWS error code, such as `NotFoundException`.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
    /// The authorization decision, for AccessDeniedException.
    pub decision: Option<Box<Decision>>,
}

impl KmsError {
    fn new(code: &'static str, message: impl Into<String>) -> KmsError {
        KmsError {
            code,
            message: message.into(),
            status: 400,
            decision: None,
        }
    }

    /// `NotFoundException`.
    pub fn not_found(message: impl Into<String>) -> KmsError {
        KmsError::new("NotFoundException", message)
    }

    /// `ValidationException`.
    pub fn validation(message: impl Into<String>) -> KmsError {
        KmsError::new("ValidationException", message)
    }

    /// `ValidationException` for a missing required member, worded as AWS words it.
    pub fn missing(member: &str) -> KmsError {
        KmsError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// `DisabledException`: "`<arn>` is disabled."
    pub fn disabled(arn: &str) -> KmsError {
        KmsError::new("DisabledException", format!("{arn} is disabled."))
    }

    /// `KMSInvalidStateException`.
    pub fn invalid_state(message: impl Into<String>) -> KmsError {
        KmsError::new("KMSInvalidStateException", message)
    }

    /// `InvalidCiphertextException`, with AWS's empty message.
    pub fn invalid_ciphertext() -> KmsError {
        KmsError::new("InvalidCiphertextException", "")
    }

    /// `KMSInvalidMacException`: the MAC does not verify (no message, as for ciphertexts).
    pub fn invalid_mac() -> KmsError {
        KmsError::new("KMSInvalidMacException", "")
    }

    /// `KMSInvalidSignatureException`: the signature does not verify (no message, as for MACs).
    pub fn invalid_signature() -> KmsError {
        KmsError::new("KMSInvalidSignatureException", "")
    }

    /// `IncorrectKeyException`.
    pub fn incorrect_key() -> KmsError {
        KmsError::new(
            "IncorrectKeyException",
            "The key ID in the request does not identify a CMK that can perform this operation.",
        )
    }

    /// `AccessDeniedException` carrying the decision.
    pub fn access_denied(decision: Decision) -> KmsError {
        KmsError {
            code: "AccessDeniedException",
            message: decision.message(),
            status: 400,
            decision: Some(Box::new(decision)),
        }
    }

    /// `MalformedPolicyDocumentException`.
    pub fn malformed_policy(message: impl Into<String>) -> KmsError {
        KmsError::new("MalformedPolicyDocumentException", message)
    }

    /// `AlreadyExistsException`.
    pub fn already_exists(message: impl Into<String>) -> KmsError {
        KmsError::new("AlreadyExistsException", message)
    }

    /// `LimitExceededException`.
    pub fn limit_exceeded(message: impl Into<String>) -> KmsError {
        KmsError::new("LimitExceededException", message)
    }

    /// `UnsupportedOperationException`.
    pub fn unsupported(message: impl Into<String>) -> KmsError {
        KmsError::new("UnsupportedOperationException", message)
    }

    /// `TagException`.
    pub fn tag(message: impl Into<String>) -> KmsError {
        KmsError::new("TagException", message)
    }

    /// `InvalidAliasNameException`.
    pub fn invalid_alias(message: impl Into<String>) -> KmsError {
        KmsError::new("InvalidAliasNameException", message)
    }

    /// `InvalidGrantTokenException`.
    pub fn invalid_grant_token() -> KmsError {
        KmsError::new(
            "InvalidGrantTokenException",
            "The grant token is not valid.",
        )
    }

    /// `InvalidGrantIdException`.
    pub fn invalid_grant_id(message: impl Into<String>) -> KmsError {
        KmsError::new("InvalidGrantIdException", message)
    }

    /// `InvalidKeyUsageException`.
    pub fn invalid_key_usage(message: impl Into<String>) -> KmsError {
        KmsError::new("InvalidKeyUsageException", message)
    }

    /// `DryRunOperationException` (HTTP 412).
    pub fn dry_run() -> KmsError {
        KmsError {
            status: 412,
            ..KmsError::new(
                "DryRunOperationException",
                "The request would have succeeded, but the DryRun option is set.",
            )
        }
    }

    /// `SerializationException` for a body that does not parse.
    pub fn serialization(message: impl Into<String>) -> KmsError {
        KmsError::new("SerializationException", message)
    }

    /// `UnknownOperationException`.
    pub fn unknown_operation() -> KmsError {
        KmsError::new("UnknownOperationException", "")
    }

    /// `KMSInternalException` (HTTP 500), for failures of the engine itself.
    pub fn internal(message: impl Into<String>) -> KmsError {
        KmsError {
            status: 500,
            ..KmsError::new("KMSInternalException", message)
        }
    }
}
