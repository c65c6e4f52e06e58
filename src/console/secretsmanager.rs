//! `aws secretsmanager …`: the operations of the backend's Secrets Manager that the lab uses,
//! sent by name over the JSON 1.1 protocol as the AWS CLI sends them (the engine serves them in
//! `keylab_engine::secrets`). Options map to request fields as for `aws kms`; the response is
//! printed as the service sent it, with dates as ISO 8601.

use serde_json::Value;

use super::args::Parsed;
use super::kms::{Op, iso_dates, op, request_body};
use super::{CmdError, Ctx};

const OPS: &[Op] = &[
    op(
        "create-secret",
        "CreateSecret",
        &[
            "name",
            "client-request-token",
            "description",
            "kms-key-id",
            "secret-binary",
            "secret-string",
            "tags",
        ],
        &["name"],
    ),
    op(
        "get-secret-value",
        "GetSecretValue",
        &["secret-id", "version-id", "version-stage"],
        &["secret-id"],
    ),
    op(
        "put-secret-value",
        "PutSecretValue",
        &[
            "secret-id",
            "client-request-token",
            "secret-binary",
            "secret-string",
            "version-stages",
        ],
        &["secret-id"],
    ),
    op(
        "update-secret",
        "UpdateSecret",
        &[
            "secret-id",
            "client-request-token",
            "description",
            "kms-key-id",
            "secret-binary",
            "secret-string",
        ],
        &["secret-id"],
    ),
    op(
        "describe-secret",
        "DescribeSecret",
        &["secret-id"],
        &["secret-id"],
    ),
    op(
        "list-secrets",
        "ListSecrets",
        &["include-planned-deletion", "max-results", "filters"],
        &[],
    ),
    op(
        "delete-secret",
        "DeleteSecret",
        &[
            "secret-id",
            "recovery-window-in-days",
            "force-delete-without-recovery",
        ],
        &["secret-id"],
    ),
    op(
        "restore-secret",
        "RestoreSecret",
        &["secret-id"],
        &["secret-id"],
    ),
    op(
        "put-resource-policy",
        "PutResourcePolicy",
        &["secret-id", "resource-policy", "block-public-policy"],
        &["secret-id", "resource-policy"],
    ),
    op(
        "get-resource-policy",
        "GetResourcePolicy",
        &["secret-id"],
        &["secret-id"],
    ),
    op(
        "delete-resource-policy",
        "DeleteResourcePolicy",
        &["secret-id"],
        &["secret-id"],
    ),
];

/// The CLI names of the Secrets Manager operations the console serves.
pub fn operations() -> impl Iterator<Item = &'static str> {
    OPS.iter().map(|o| o.cli)
}

/// The options of an operation (CLI names without `--`).
pub fn options(operation: &str) -> impl Iterator<Item = &'static str> {
    OPS.iter()
        .filter(move |o| o.cli == operation)
        .flat_map(|o| o.options.iter().copied())
}

/// Runs `aws secretsmanager <operation> …`.
pub async fn run(ctx: &Ctx<'_>, operation: &str, parsed: Parsed) -> Result<Value, CmdError> {
    let Some(op) = OPS.iter().find(|o| o.cli == operation) else {
        return Err(CmdError::invalid_choice("operation", operations()));
    };
    let mut body = request_body(ctx, op, parsed)?;
    // The AWS CLI fills the idempotency token itself when it is not given; some services
    // (LocalStack's) refuse a request without it.
    let takes_token = matches!(op.api, "CreateSecret" | "PutSecretValue" | "UpdateSecret");
    if takes_token && body.get("ClientRequestToken").is_none() {
        let token = hex::encode(rand::random::<[u8; 16]>());
        body["ClientRequestToken"] = Value::String(token);
    }
    let response = crate::backend::client::secretsmanager_call(&ctx.settings, op.api, body).await?;
    Ok(iso_dates(response))
}
