//! `aws iam put-role-policy|put-user-policy|get-role-policy|get-user-policy|delete-role-policy|
//! delete-user-policy|list-role-policies|list-user-policies`: inline identity policies of the
//! lab identities in the caller's account. The engine serves no IAM endpoint, so these act on
//! the engine's identity set directly, after the caller's own identity policy is evaluated for
//! the `iam:` action with the same evaluator as every other request. On other backends they
//! say they need the built-in engine.

use serde_json::{Value, json};

use super::args::{self, Parsed};
use super::{CmdError, Ctx};
use keylab_engine::identity::PrincipalKind;
use keylab_policy::{ContextKeys, Policies, Request, ResourceRules};

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

    let identities = engine.identities();
    let caller = identities
        .by_profile(ctx.profile)
        .ok_or_else(|| CmdError::Other(format!("unknown profile {}", ctx.profile)))?;
    let account = caller.caller.account.clone();
    let target = identities
        .identities()
        .iter()
        .find(|i| i.caller.account == account && i.kind == kind && i.name == name)
        .ok_or_else(|| CmdError::Aws {
            code: "NoSuchEntity".into(),
            message: format!(
                "The {} with name {name} cannot be found.",
                if is_role { "role" } else { "user" }
            ),
            operation: api_name(operation),
        })?;
    let resource = format!(
        "arn:aws:iam::{account}:{}/{name}",
        if is_role { "role" } else { "user" }
    );
    let action = format!("iam:{}", api_name(operation));
    let policies = identities.policies_of(&caller.profile);
    let context = ContextKeys::new();
    let request = Request {
        caller: &caller.caller,
        action: &action,
        resource: &resource,
        resource_account: &account,
        context: &context,
    };
    let decision = keylab_policy::eval::decide_with(
        &request,
        &Policies {
            identity: policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: None,
            rules: ResourceRules::Standard,
            grants: Vec::new(),
        },
        true,
    );
    if !decision.allowed {
        return Err(CmdError::Aws {
            code: "AccessDenied".into(),
            message: decision.message(),
            operation: api_name(operation),
        });
    }
    let profile = target.profile.clone();
    let needs_name = || {
        policy_name.clone().ok_or_else(|| {
            CmdError::Usage("the following arguments are required: --policy-name".into())
        })
    };
    match operation {
        "put-role-policy" | "put-user-policy" => {
            let text = document.ok_or_else(|| {
                CmdError::Usage("the following arguments are required: --policy-document".into())
            })?;
            let text = args::load_text(&text, ctx.workspace).map_err(CmdError::Usage)?;
            engine
                .put_identity_policy(&profile, &needs_name()?, &text)
                .map_err(|m| CmdError::Aws {
                    code: "MalformedPolicyDocument".into(),
                    message: m,
                    operation: api_name(operation),
                })?;
            Ok(Value::Null)
        }
        "get-role-policy" | "get-user-policy" => {
            let policy_name = needs_name()?;
            let texts = identities.policy_texts();
            let doc = texts
                .get(&profile)
                .and_then(|p| p.get(&policy_name))
                .ok_or_else(|| CmdError::Aws {
                    code: "NoSuchEntity".into(),
                    message: format!("The role policy with name {policy_name} cannot be found."),
                    operation: api_name(operation),
                })?;
            let parsed: Value = serde_json::from_str(doc).unwrap_or(Value::String(doc.clone()));
            let key = if is_role { "RoleName" } else { "UserName" };
            Ok(json!({ key: name, "PolicyName": policy_name, "PolicyDocument": parsed }))
        }
        "delete-role-policy" | "delete-user-policy" => {
            let policy_name = needs_name()?;
            let existed = engine
                .delete_identity_policy(&profile, &policy_name)
                .map_err(CmdError::Other)?;
            if !existed {
                return Err(CmdError::Aws {
                    code: "NoSuchEntity".into(),
                    message: format!("The role policy with name {policy_name} cannot be found."),
                    operation: api_name(operation),
                });
            }
            Ok(Value::Null)
        }
        _ => {
            let names: Vec<String> = identities
                .policy_texts()
                .get(&profile)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            Ok(json!({ "PolicyNames": names }))
        }
    }
}

fn api_name(operation: &str) -> String {
    super::kms::pascal(operation)
}
