//! `aws iam …` and `aws sts …`: the IAM and STS operations the lab uses, sent to the backend over
//! the Query protocol as the AWS CLI sends them (`crate::backend::query`), so they work against
//! any backend that serves them and are authorized there (the engine: by the caller's own
//! policies, in its own account). Options map to parameters mechanically (`--role-name` →
//! `RoleName`; lists to `Name.member.N`); answers are printed as the CLI prints them, with
//! policy documents decoded and numbers and booleans restored.

use serde_json::{Map, Value};

use super::args::{self, Parsed};
use super::kms::{Op, op};
use super::{CmdError, Ctx};

const IAM_OPS: &[Op] = &[
    op(
        "put-role-policy",
        "PutRolePolicy",
        &["role-name", "policy-name", "policy-document"],
        &["role-name", "policy-name", "policy-document"],
    ),
    op(
        "put-user-policy",
        "PutUserPolicy",
        &["user-name", "policy-name", "policy-document"],
        &["user-name", "policy-name", "policy-document"],
    ),
    op(
        "get-role-policy",
        "GetRolePolicy",
        &["role-name", "policy-name"],
        &["role-name", "policy-name"],
    ),
    op(
        "get-user-policy",
        "GetUserPolicy",
        &["user-name", "policy-name"],
        &["user-name", "policy-name"],
    ),
    op(
        "delete-role-policy",
        "DeleteRolePolicy",
        &["role-name", "policy-name"],
        &["role-name", "policy-name"],
    ),
    op(
        "delete-user-policy",
        "DeleteUserPolicy",
        &["user-name", "policy-name"],
        &["user-name", "policy-name"],
    ),
    op(
        "list-role-policies",
        "ListRolePolicies",
        &["role-name"],
        &["role-name"],
    ),
    op(
        "list-user-policies",
        "ListUserPolicies",
        &["user-name"],
        &["user-name"],
    ),
    op(
        "create-role",
        "CreateRole",
        &[
            "role-name",
            "assume-role-policy-document",
            "description",
            "max-session-duration",
        ],
        &["role-name", "assume-role-policy-document"],
    ),
    op("get-role", "GetRole", &["role-name"], &["role-name"]),
    op("delete-role", "DeleteRole", &["role-name"], &["role-name"]),
    op(
        "update-assume-role-policy",
        "UpdateAssumeRolePolicy",
        &["role-name", "policy-document"],
        &["role-name", "policy-document"],
    ),
    op(
        "simulate-principal-policy",
        "SimulatePrincipalPolicy",
        &["policy-source-arn", "action-names", "resource-arns"],
        &["policy-source-arn", "action-names"],
    ),
];

const STS_OPS: &[Op] = &[
    op("get-caller-identity", "GetCallerIdentity", &[], &[]),
    op(
        "assume-role",
        "AssumeRole",
        &[
            "role-arn",
            "role-session-name",
            "duration-seconds",
            "external-id",
            "policy",
        ],
        &["role-arn", "role-session-name"],
    ),
];

/// Options whose value is a list (`--action-names a b`).
fn is_list(option: &str) -> bool {
    matches!(option, "action-names" | "resource-arns")
}

/// Options whose value may be `file://…` (policy documents).
fn is_document(option: &str) -> bool {
    option.ends_with("policy-document") || option == "policy"
}

/// The CLI names of the IAM operations the console serves.
pub fn iam_operations() -> impl Iterator<Item = &'static str> {
    IAM_OPS.iter().map(|o| o.cli)
}

/// The CLI names of the STS operations the console serves.
pub fn sts_operations() -> impl Iterator<Item = &'static str> {
    STS_OPS.iter().map(|o| o.cli)
}

/// Runs `aws iam <operation> …`.
pub async fn run_iam(ctx: &Ctx<'_>, operation: &str, parsed: Parsed) -> Result<Value, CmdError> {
    let Some(op) = IAM_OPS.iter().find(|o| o.cli == operation) else {
        return Err(CmdError::invalid_choice("operation", iam_operations()));
    };
    run(ctx, "iam", "2010-05-08", op, parsed).await
}

/// Runs `aws sts <operation> …`.
pub async fn run_sts(ctx: &Ctx<'_>, operation: &str, parsed: Parsed) -> Result<Value, CmdError> {
    let Some(op) = STS_OPS.iter().find(|o| o.cli == operation) else {
        return Err(CmdError::invalid_choice("operation", sts_operations()));
    };
    run(ctx, "sts", "2011-06-15", op, parsed).await
}

async fn run(
    ctx: &Ctx<'_>,
    service: &str,
    version: &str,
    op: &Op,
    mut parsed: Parsed,
) -> Result<Value, CmdError> {
    let usage = CmdError::Usage;
    let mut params: Vec<(String, String)> = Vec::new();
    for option in op.options {
        let name = super::kms::pascal(option);
        if is_list(option) {
            let Some(values) = parsed.take(option) else {
                continue;
            };
            for (i, v) in values.iter().enumerate() {
                params.push((format!("{name}.member.{}", i + 1), v.clone()));
            }
            continue;
        }
        let Some(value) = parsed.take_one(option).map_err(usage)? else {
            continue;
        };
        let value = if is_document(option) {
            args::load_text(&value, ctx.workspace).map_err(CmdError::from)?
        } else {
            value
        };
        params.push((name, value));
    }
    if !parsed.trailing.is_empty() {
        return Err(CmdError::Usage(format!(
            "Unknown options: {}",
            parsed.trailing.join(", ")
        )));
    }
    parsed.finish().map_err(usage)?;
    let missing: Vec<String> = op
        .required
        .iter()
        .filter(|r| {
            let name = super::kms::pascal(r);
            !params
                .iter()
                .any(|(k, _)| *k == name || k.starts_with(&format!("{name}.member.")))
        })
        .map(|r| format!("--{r}"))
        .collect();
    if !missing.is_empty() {
        return Err(CmdError::Usage(format!(
            "the following arguments are required: {}",
            missing.join(", ")
        )));
    }
    let result =
        crate::backend::query::query_call(&ctx.settings, service, version, op.api, &params).await?;
    Ok(restore_types(result))
}

/// Restores what the XML answer flattened to strings, as the CLI prints it from the model:
/// URL-encoded policy documents as JSON, booleans, numbers, and empty lists.
fn restore_types(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let v = match (k.as_str(), v) {
                    ("PolicyDocument" | "AssumeRolePolicyDocument", Value::String(s)) => {
                        let decoded =
                            String::from_utf8_lossy(&keylab_engine::sigv4::percent_decode(&s))
                                .into_owned();
                        serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
                    }
                    ("IsTruncated" | "MacValid", Value::String(s)) => Value::Bool(s == "true"),
                    ("MaxSessionDuration" | "PackedPolicySize", Value::String(s)) => s
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or(Value::String(s)),
                    (
                        "PolicyNames"
                        | "EvaluationResults"
                        | "MatchedStatements"
                        | "MissingContextValues",
                        Value::String(s),
                    ) if s.is_empty() => Value::Array(Vec::new()),
                    (_, v) => restore_types(v),
                };
                out.insert(k, v);
            }
            Value::Object(out)
        }
        Value::Array(list) => Value::Array(list.into_iter().map(restore_types).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_numbers_and_empty_lists_come_back_typed() {
        let raw = serde_json::json!({
            "Role": {
                "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
                "MaxSessionDuration": "3600",
            },
            "PolicyNames": "",
            "IsTruncated": "false",
        });
        let typed = restore_types(raw);
        assert_eq!(
            typed["Role"]["AssumeRolePolicyDocument"]["Version"],
            "2012-10-17"
        );
        assert_eq!(typed["Role"]["MaxSessionDuration"], 3600);
        assert_eq!(typed["PolicyNames"], serde_json::json!([]));
        assert_eq!(typed["IsTruncated"], false);
    }
}
