//! `aws iam put-role-policy|put-user-policy|get-role-policy|get-user-policy|delete-role-policy|
//! delete-user-policy|list-role-policies|list-user-policies`: inline identity policies of the
//! lab identities in the caller's account, parsed here and served by the engine's IAM
//! (`keylab_engine::iam`), which authorizes the caller first. On other backends they say they
//! need the built-in engine.

use serde_json::{Value, json};

use super::args::{self, Parsed};
use super::{CmdError, Ctx};
use keylab_engine::iam::{IamError, Target};
use keylab_engine::identity::PrincipalKind;

const OPERATIONS: &[&str] = &[
    "delete-role-policy",
    "delete-user-policy",
    "get-role-policy",
    "get-user-policy",
    "list-role-policies",
    "list-user-policies",
    "put-role-policy",
    "put-user-policy",
];

/// Runs `aws iam <operation> …`.
pub fn run(ctx: &Ctx<'_>, operation: &str, mut p: Parsed) -> Result<Value, CmdError> {
    if !OPERATIONS.contains(&operation) {
        return Err(CmdError::invalid_choice(
            "operation",
            OPERATIONS.iter().copied(),
        ));
    }
    let engine = ctx.backend.engine.as_ref().ok_or_else(|| {
        CmdError::Other(format!(
            "aws iam in the console needs the built-in engine; on {} use the real aws CLI (keylab env)",
            ctx.backend.name
        ))
    })?;
    let is_role = operation.contains("role");
    let (kind, name_option) = if is_role {
        (PrincipalKind::Role, "role-name")
    } else {
        (PrincipalKind::User, "user-name")
    };
    let name = p
        .take_one(name_option)
        .map_err(CmdError::Usage)?
        .ok_or_else(|| {
            CmdError::Usage(format!(
                "the following arguments are required: --{name_option}"
            ))
        })?;
    let policy_name = p.take_one("policy-name").map_err(CmdError::Usage)?;
    let document = p.take_one("policy-document").map_err(CmdError::Usage)?;
    p.finish().map_err(CmdError::Usage)?;

    let caller = engine
        .identities()
        .by_profile(ctx.profile)
        .ok_or_else(|| CmdError::Other(format!("unknown profile {}", ctx.profile)))?;
    let target = Target { kind, name: &name };
    let api = api_name(operation);
    let aws = |e: IamError| CmdError::Aws {
        code: e.code.into(),
        message: e.message,
        operation: api.clone(),
    };
    let needs_name = || {
        policy_name.clone().ok_or_else(|| {
            CmdError::Usage("the following arguments are required: --policy-name".into())
        })
    };
    let iam = engine.iam();
    match operation {
        "put-role-policy" | "put-user-policy" => {
            let text = document.ok_or_else(|| {
                CmdError::Usage("the following arguments are required: --policy-document".into())
            })?;
            let text = args::load_text(&text, ctx.workspace).map_err(CmdError::from)?;
            iam.put_policy(caller, target, &needs_name()?, &text)
                .map_err(aws)?;
            Ok(Value::Null)
        }
        "get-role-policy" | "get-user-policy" => {
            let policy_name = needs_name()?;
            let doc = iam.get_policy(caller, target, &policy_name).map_err(aws)?;
            let parsed: Value = serde_json::from_str(&doc).unwrap_or(Value::String(doc));
            let key = if is_role { "RoleName" } else { "UserName" };
            Ok(json!({ key: name, "PolicyName": policy_name, "PolicyDocument": parsed }))
        }
        "delete-role-policy" | "delete-user-policy" => {
            iam.delete_policy(caller, target, &needs_name()?)
                .map_err(aws)?;
            Ok(Value::Null)
        }
        _ => {
            let names = iam.list_policies(caller, target).map_err(aws)?;
            Ok(json!({ "PolicyNames": names }))
        }
    }
}

fn api_name(operation: &str) -> String {
    super::kms::pascal(operation)
}
