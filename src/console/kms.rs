//! `aws kms …`: every operation of the engine's KMS, sent by name over the JSON 1.1 protocol
//! (`crate::backend::wire`). The table below lists each operation's options as the AWS CLI names them;
//! option names map to request fields mechanically (`--key-id` → `KeyId`), and types decide how
//! a value is read (blobs as base64 or `fileb://`, maps as JSON or `k=v,k2=v2`, lists as several
//! values). The response is printed as the service sent it, with dates as ISO 8601, as the
//! AWS CLI v2 does.

use serde_json::{Map, Value};

use super::args::{self, Parsed};
use super::{CmdError, Ctx};

/// One operation: its CLI name, its API name, its options and which are required.
pub(super) struct Op {
    pub(super) cli: &'static str,
    pub(super) api: &'static str,
    pub(super) options: &'static [&'static str],
    pub(super) required: &'static [&'static str],
}

pub(super) const fn op(
    cli: &'static str,
    api: &'static str,
    options: &'static [&'static str],
    required: &'static [&'static str],
) -> Op {
    Op {
        cli,
        api,
        options,
        required,
    }
}

const DATA_KEY: &[&str] = &[
    "key-id",
    "encryption-context",
    "number-of-bytes",
    "key-spec",
    "grant-tokens",
    "dry-run",
];
const PAGED_KEY: &[&str] = &["key-id", "limit", "marker"];

const OPS: &[Op] = &[
    op(
        "cancel-key-deletion",
        "CancelKeyDeletion",
        &["key-id"],
        &["key-id"],
    ),
    op(
        "create-alias",
        "CreateAlias",
        &["alias-name", "target-key-id"],
        &["alias-name", "target-key-id"],
    ),
    op(
        "create-grant",
        "CreateGrant",
        &[
            "key-id",
            "grantee-principal",
            "retiring-principal",
            "operations",
            "constraints",
            "grant-tokens",
            "name",
            "dry-run",
        ],
        &["key-id", "grantee-principal", "operations"],
    ),
    op(
        "create-key",
        "CreateKey",
        &[
            "policy",
            "description",
            "key-usage",
            "customer-master-key-spec",
            "key-spec",
            "origin",
            "custom-key-store-id",
            "bypass-policy-lockout-safety-check",
            "tags",
            "multi-region",
        ],
        &[],
    ),
    op(
        "decrypt",
        "Decrypt",
        &[
            "ciphertext-blob",
            "encryption-context",
            "grant-tokens",
            "key-id",
            "encryption-algorithm",
            "dry-run",
        ],
        &["ciphertext-blob"],
    ),
    op(
        "delete-alias",
        "DeleteAlias",
        &["alias-name"],
        &["alias-name"],
    ),
    op(
        "describe-key",
        "DescribeKey",
        &["key-id", "grant-tokens"],
        &["key-id"],
    ),
    op("disable-key", "DisableKey", &["key-id"], &["key-id"]),
    op(
        "disable-key-rotation",
        "DisableKeyRotation",
        &["key-id"],
        &["key-id"],
    ),
    op("enable-key", "EnableKey", &["key-id"], &["key-id"]),
    op(
        "enable-key-rotation",
        "EnableKeyRotation",
        &["key-id", "rotation-period-in-days"],
        &["key-id"],
    ),
    op(
        "encrypt",
        "Encrypt",
        &[
            "key-id",
            "plaintext",
            "encryption-context",
            "grant-tokens",
            "encryption-algorithm",
            "dry-run",
        ],
        &["key-id", "plaintext"],
    ),
    op(
        "generate-data-key",
        "GenerateDataKey",
        DATA_KEY,
        &["key-id"],
    ),
    op(
        "generate-data-key-without-plaintext",
        "GenerateDataKeyWithoutPlaintext",
        DATA_KEY,
        &["key-id"],
    ),
    op(
        "generate-random",
        "GenerateRandom",
        &["number-of-bytes"],
        &[],
    ),
    op(
        "get-key-policy",
        "GetKeyPolicy",
        &["key-id", "policy-name"],
        &["key-id"],
    ),
    op(
        "get-key-rotation-status",
        "GetKeyRotationStatus",
        &["key-id"],
        &["key-id"],
    ),
    op(
        "get-public-key",
        "GetPublicKey",
        &["key-id", "grant-tokens"],
        &["key-id"],
    ),
    op("list-aliases", "ListAliases", PAGED_KEY, &[]),
    op(
        "list-grants",
        "ListGrants",
        &["key-id", "limit", "marker", "grant-id", "grantee-principal"],
        &["key-id"],
    ),
    op(
        "list-key-policies",
        "ListKeyPolicies",
        PAGED_KEY,
        &["key-id"],
    ),
    op(
        "list-key-rotations",
        "ListKeyRotations",
        PAGED_KEY,
        &["key-id"],
    ),
    op("list-keys", "ListKeys", &["limit", "marker"], &[]),
    op(
        "list-resource-tags",
        "ListResourceTags",
        PAGED_KEY,
        &["key-id"],
    ),
    op(
        "put-key-policy",
        "PutKeyPolicy",
        &[
            "key-id",
            "policy-name",
            "policy",
            "bypass-policy-lockout-safety-check",
        ],
        &["key-id", "policy"],
    ),
    op(
        "re-encrypt",
        "ReEncrypt",
        &[
            "ciphertext-blob",
            "source-encryption-context",
            "source-key-id",
            "destination-key-id",
            "destination-encryption-context",
            "source-encryption-algorithm",
            "destination-encryption-algorithm",
            "grant-tokens",
            "dry-run",
        ],
        &["ciphertext-blob", "destination-key-id"],
    ),
    op(
        "retire-grant",
        "RetireGrant",
        &["grant-token", "key-id", "grant-id", "dry-run"],
        &[],
    ),
    op(
        "revoke-grant",
        "RevokeGrant",
        &["key-id", "grant-id", "dry-run"],
        &["key-id", "grant-id"],
    ),
    op(
        "rotate-key-on-demand",
        "RotateKeyOnDemand",
        &["key-id"],
        &["key-id"],
    ),
    op(
        "schedule-key-deletion",
        "ScheduleKeyDeletion",
        &["key-id", "pending-window-in-days"],
        &["key-id"],
    ),
    op(
        "sign",
        "Sign",
        &[
            "key-id",
            "message",
            "message-type",
            "grant-tokens",
            "signing-algorithm",
            "dry-run",
        ],
        &["key-id", "message", "signing-algorithm"],
    ),
    op(
        "tag-resource",
        "TagResource",
        &["key-id", "tags"],
        &["key-id", "tags"],
    ),
    op(
        "untag-resource",
        "UntagResource",
        &["key-id", "tag-keys"],
        &["key-id", "tag-keys"],
    ),
    op(
        "update-alias",
        "UpdateAlias",
        &["alias-name", "target-key-id"],
        &["alias-name", "target-key-id"],
    ),
    op(
        "verify",
        "Verify",
        &[
            "key-id",
            "message",
            "message-type",
            "signature",
            "signing-algorithm",
            "grant-tokens",
            "dry-run",
        ],
        &["key-id", "message", "signature", "signing-algorithm"],
    ),
];

/// The options of a KMS operation (CLI names without `--`).
pub fn options(operation: &str) -> impl Iterator<Item = &'static str> {
    OPS.iter()
        .filter(move |o| o.cli == operation)
        .flat_map(|o| o.options.iter().copied())
}

/// The CLI names of the KMS operations the console serves.
pub fn operations() -> impl Iterator<Item = &'static str> {
    OPS.iter().map(|o| o.cli)
}

enum Kind {
    Text,
    Blob,
    Map,
    Int,
    Flag,
    List,
    Structure,
    StructureList,
}

fn kind_of(option: &str) -> Kind {
    match option {
        "plaintext" | "ciphertext-blob" | "message" | "signature" | "secret-binary" => Kind::Blob,
        "encryption-context" | "source-encryption-context" | "destination-encryption-context" => {
            Kind::Map
        }
        "limit"
        | "number-of-bytes"
        | "pending-window-in-days"
        | "rotation-period-in-days"
        | "recovery-window-in-days"
        | "max-results" => Kind::Int,
        "bypass-policy-lockout-safety-check"
        | "multi-region"
        | "dry-run"
        | "force-delete-without-recovery"
        | "block-public-policy"
        | "include-planned-deletion" => Kind::Flag,
        "grant-tokens" | "operations" | "tag-keys" | "version-stages" => Kind::List,
        "constraints" => Kind::Structure,
        "tags" | "filters" => Kind::StructureList,
        _ => Kind::Text,
    }
}

/// `key-id` → `KeyId`.
pub fn pascal(option: &str) -> String {
    option
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Runs `aws kms <operation> …`.
pub async fn run(ctx: &Ctx<'_>, operation: &str, parsed: Parsed) -> Result<Value, CmdError> {
    let Some(op) = OPS.iter().find(|o| o.cli == operation) else {
        return Err(CmdError::invalid_choice("operation", operations()));
    };
    let body = request_body(ctx, op, parsed)?;
    let response = call(ctx, op.api, body).await?;
    Ok(iso_dates(response))
}

/// The JSON request of `op` from the command line's options, as the AWS CLI builds it
/// (option names mapped mechanically, values read by their kind); unknown and missing
/// required options are usage errors.
pub(super) fn request_body(ctx: &Ctx<'_>, op: &Op, mut parsed: Parsed) -> Result<Value, CmdError> {
    let mut body = match parsed.take_one("cli-input-json").map_err(CmdError::Usage)? {
        None => Map::new(),
        Some(text) => match args::load_structure("cli-input-json", &text, ctx.workspace)
            .map_err(CmdError::from)?
        {
            Value::Object(map) => map,
            _ => {
                return Err(CmdError::Usage(
                    "Error parsing parameter '--cli-input-json': it must be a JSON object".into(),
                ));
            }
        },
    };
    for option in op.options {
        let kind = kind_of(option);
        if let Kind::Flag = kind {
            if let Some(b) = parsed.take_flag(option) {
                body.insert(pascal(option), Value::Bool(b));
            }
            continue;
        }
        let Some(values) = parsed.take(option) else {
            continue;
        };
        let value = read_value(ctx, option, kind, values)?;
        body.insert(pascal(option), value);
    }
    if !parsed.trailing.is_empty() {
        return Err(CmdError::Usage(format!(
            "Unknown options: {}",
            parsed.trailing.join(", ")
        )));
    }
    parsed.finish().map_err(CmdError::Usage)?;
    let missing: Vec<String> = op
        .required
        .iter()
        .filter(|r| !body.contains_key(&pascal(r)))
        .map(|r| format!("--{r}"))
        .collect();
    if !missing.is_empty() {
        return Err(CmdError::Usage(format!(
            "the following arguments are required: {}",
            missing.join(", ")
        )));
    }
    Ok(Value::Object(body))
}

/// Calls a KMS operation by its API name with a JSON body; AWS errors become
/// [`CmdError::Aws`].
pub async fn call(ctx: &Ctx<'_>, api: &str, body: Value) -> Result<Value, CmdError> {
    Ok(crate::backend::client::kms_call(&ctx.settings, api, body).await?)
}

fn read_value(
    ctx: &Ctx<'_>,
    option: &str,
    kind: Kind,
    values: Vec<String>,
) -> Result<Value, CmdError> {
    use base64::Engine as _;
    let usage = CmdError::Usage;
    let single = |values: &[String]| -> Result<String, CmdError> {
        match values {
            [v] => Ok(v.clone()),
            [] => Err(usage(format!("argument --{option}: expected one argument"))),
            _ => Err(usage(format!(
                "argument --{option}: expected one argument, got {}",
                values.len()
            ))),
        }
    };
    Ok(match kind {
        Kind::Text => Value::String(
            args::load_text(&single(&values)?, ctx.workspace).map_err(CmdError::from)?,
        ),
        Kind::Blob => {
            let bytes = args::load_blob(option, &single(&values)?, ctx.workspace)
                .map_err(CmdError::from)?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Kind::Map => {
            let map =
                args::load_map(option, &single(&values)?, ctx.workspace).map_err(CmdError::from)?;
            serde_json::to_value(map).expect("maps serialize")
        }
        Kind::Int => {
            let v = single(&values)?;
            Value::from(
                v.parse::<i64>()
                    .map_err(|_| usage(format!("argument --{option}: invalid int value: '{v}'")))?,
            )
        }
        Kind::Flag => Value::Bool(true),
        Kind::List => {
            if let [one] = values.as_slice()
                && one.trim_start().starts_with('[')
            {
                serde_json::from_str(one).map_err(|e| {
                    usage(format!(
                        "Error parsing parameter '--{option}': Invalid JSON: {e}"
                    ))
                })?
            } else {
                Value::Array(values.into_iter().map(Value::String).collect())
            }
        }
        Kind::Structure => args::load_structure(option, &single(&values)?, ctx.workspace)
            .map_err(CmdError::from)?,
        Kind::StructureList => {
            if let [one] = values.as_slice()
                && (one.trim_start().starts_with('[') || one.starts_with("file://"))
            {
                args::load_structure(option, one, ctx.workspace).map_err(CmdError::from)?
            } else {
                Value::Array(
                    values
                        .iter()
                        .map(|v| args::shorthand(v))
                        .collect::<Result<_, _>>()
                        .map_err(|e| usage(format!("Error parsing parameter '--{option}': {e}")))?,
                )
            }
        }
    })
}

/// Epoch-second dates as ISO 8601, as the AWS CLI v2 prints them.
pub(super) fn iso_dates(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match (&v, k.ends_with("Date") || k == "ValidTo") {
                        (Value::Number(n), true) => n
                            .as_f64()
                            .and_then(|secs| {
                                time::OffsetDateTime::from_unix_timestamp_nanos(
                                    (secs * 1e9) as i128,
                                )
                                .ok()
                            })
                            .and_then(|t| {
                                t.format(&time::format_description::well_known::Rfc3339)
                                    .ok()
                            })
                            .map(Value::String)
                            .unwrap_or(v),
                        _ => iso_dates(v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(iso_dates).collect()),
        other => other,
    }
}
