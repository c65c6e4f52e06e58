//! IAM over the wire: the Query protocol (form-encoded `Action=…&Version=2010-05-08`, XML
//! answers in IAM's namespace, SigV4 for the service name `iam`) in front of [`crate::iam`], so
//! `aws iam put-role-policy`, boto3 and the SDKs change what a lab identity may do exactly as the
//! console does. Served: `Put`, `Get`, `Delete` and `List` of role and user inline policies,
//! and `SimulatePrincipalPolicy` (answered by keylab's evaluator on the principal's identity
//! policies, with the names of the policies whose statements applied). Documents come back
//! URL-encoded, as IAM returns them (the AWS CLI and boto3 decode them). Every call is audited
//! with the target's ARN. Roles: `CreateRole`, `GetRole`, `DeleteRole` and
//! `UpdateAssumeRolePolicy`. Not served (an `InvalidAction` that says so): users' creation and
//! deletion, managed policies.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::Inner;
use crate::audit::{AuditEvent, UserIdentity};
use crate::auth::SignedRequestError;
use crate::connection::Connection;
use crate::iam::{IamError, RoleView, Target};
use crate::identity::{Identity, PrincipalKind};
use crate::sigv4::{self, AuthError};
use crate::sts::{form_pairs, xml_escape};

/// IAM's XML namespace.
const XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The largest IAM request body read (a policy document is at most 10,240 characters, and
/// URL-encoding can triple it).
pub const MAX_BODY: usize = 64 * 1024;

/// The actions served.
pub const OPERATIONS: &[&str] = &[
    "PutRolePolicy",
    "GetRolePolicy",
    "DeleteRolePolicy",
    "ListRolePolicies",
    "PutUserPolicy",
    "GetUserPolicy",
    "DeleteUserPolicy",
    "ListUserPolicies",
    "SimulatePrincipalPolicy",
    "CreateRole",
    "GetRole",
    "DeleteRole",
    "UpdateAssumeRolePolicy",
];

/// An answer that is not a success: HTTP status, code, message.
struct QueryError {
    status: u16,
    code: String,
    message: String,
}

impl From<IamError> for QueryError {
    fn from(e: IamError) -> QueryError {
        let status = match e.code {
            "NoSuchEntity" => 404,
            "EntityAlreadyExists" | "DeleteConflict" => 409,
            "AccessDenied" => 403,
            "ServiceFailure" => 500,
            _ => 400,
        };
        QueryError {
            status,
            code: e.code.to_string(),
            message: e.message,
        }
    }
}

fn invalid(code: &str, message: impl Into<String>) -> QueryError {
    QueryError {
        status: 400,
        code: code.to_string(),
        message: message.into(),
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(params: &'a [(String, String)], name: &str) -> Result<&'a str, QueryError> {
    param(params, name).ok_or_else(|| {
        let field = format!("{}{}", name[..1].to_lowercase(), &name[1..]);
        invalid(
            "ValidationError",
            format!(
                "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
            ),
        )
    })
}

/// `Name.member.1`, `Name.member.2`, … in order.
fn members(params: &[(String, String)], name: &str) -> Vec<String> {
    let prefix = format!("{name}.member.");
    let mut found: Vec<(u32, String)> = params
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse().ok()?, v.clone())))
        .collect();
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, v)| v).collect()
}

fn error_response(request_id: &str, e: &QueryError) -> Response<s3s::Body> {
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        xml_escape(&e.code),
        xml_escape(&e.message),
        xml_escape(request_id)
    );
    crate::reply::xml(e.status, request_id, body)
}

fn success_response(request_id: &str, action: &str, result: Option<String>) -> Response<s3s::Body> {
    let result = result
        .map(|r| format!("  <{action}Result>\n{r}  </{action}Result>\n"))
        .unwrap_or_default();
    let body = format!(
        "<{action}Response xmlns=\"{XMLNS}\">\n{result}  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
        xml_escape(request_id)
    );
    crate::reply::xml(200, request_id, body)
}

/// Runs one authenticated action; returns the `…Result` element's contents, if any.
fn dispatch(
    inner: &Inner,
    caller: &Identity,
    action: &str,
    params: &[(String, String)],
    event: &mut AuditEvent,
) -> Result<Option<String>, QueryError> {
    let iam = &inner.iam;
    let account = &caller.caller.account;
    if action == "SimulatePrincipalPolicy" {
        let source = required(params, "PolicySourceArn")?;
        let actions = members(params, "ActionNames");
        if actions.is_empty() {
            return Err(invalid(
                "ValidationError",
                "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
            ));
        }
        event.resources = vec![source.chars().take(2048).collect()];
        event.request_parameters = serde_json::json!({
            "policySourceArn": source.chars().take(2048).collect::<String>(),
            "actionNames": actions.iter().take(100).collect::<Vec<_>>(),
        });
        let results = iam.simulate(caller, source, &actions, &members(params, "ResourceArns"))?;
        let mut xml =
            String::from("    <IsTruncated>false</IsTruncated>\n    <EvaluationResults>\n");
        for r in results {
            let matched: String = r
                .matched
                .iter()
                .map(|p| {
                    format!(
                        "          <member>\n            <SourcePolicyId>{}</SourcePolicyId>\n            <SourcePolicyType>IAM Policy</SourcePolicyType>\n          </member>\n",
                        xml_escape(p)
                    )
                })
                .collect();
            xml.push_str(&format!(
                "      <member>\n        <EvalActionName>{}</EvalActionName>\n        <EvalResourceName>{}</EvalResourceName>\n        <EvalDecision>{}</EvalDecision>\n        <MatchedStatements>\n{matched}        </MatchedStatements>\n        <MissingContextValues/>\n      </member>\n",
                xml_escape(&r.action),
                xml_escape(&r.resource),
                r.decision
            ));
        }
        xml.push_str("    </EvaluationResults>\n");
        return Ok(Some(xml));
    }
    if let Some(result) = role_action(inner, caller, action, params, event) {
        return result;
    }
    let is_role = action.contains("Role");
    let (kind, name_param, noun) = if is_role {
        (PrincipalKind::Role, "RoleName", "role")
    } else {
        (PrincipalKind::User, "UserName", "user")
    };
    let name = required(params, name_param)?;
    let target = Target { kind, name };
    event.resources = vec![format!("arn:aws:iam::{account}:{noun}/{name}")];
    let policy_name = param(params, "PolicyName");
    event.request_parameters = serde_json::json!({
        name_param: name.chars().take(128).collect::<String>(),
        "policyName": policy_name.map(|p| p.chars().take(128).collect::<String>()),
    });
    let name_xml = format!("    <{name_param}>{}</{name_param}>\n", xml_escape(name));
    match action {
        "PutRolePolicy" | "PutUserPolicy" => {
            let policy_name = required(params, "PolicyName")?;
            let document = required(params, "PolicyDocument")?;
            iam.put_policy(caller, target, policy_name, document)?;
            Ok(None)
        }
        "GetRolePolicy" | "GetUserPolicy" => {
            let policy_name = required(params, "PolicyName")?;
            let document = iam.get_policy(caller, target, policy_name)?;
            Ok(Some(format!(
                "{name_xml}    <PolicyName>{}</PolicyName>\n    <PolicyDocument>{}</PolicyDocument>\n",
                xml_escape(policy_name),
                sigv4::uri_encode(document.as_bytes(), false)
            )))
        }
        "DeleteRolePolicy" | "DeleteUserPolicy" => {
            let policy_name = required(params, "PolicyName")?;
            iam.delete_policy(caller, target, policy_name)?;
            Ok(None)
        }
        _ => {
            let names: String = iam
                .list_policies(caller, target)?
                .iter()
                .map(|n| format!("      <member>{}</member>\n", xml_escape(n)))
                .collect();
            Ok(Some(format!(
                "    <PolicyNames>\n{names}    </PolicyNames>\n    <IsTruncated>false</IsTruncated>\n"
            )))
        }
    }
}

/// The `<Role>` element of `CreateRole` and `GetRole`.
fn role_xml(view: &RoleView) -> String {
    let r = &view.role;
    let created = time::OffsetDateTime::from_unix_timestamp(r.create_date)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let description = if r.description.is_empty() {
        String::new()
    } else {
        format!(
            "      <Description>{}</Description>\n",
            xml_escape(&r.description)
        )
    };
    format!(
        "    <Role>\n      <Path>/</Path>\n      <AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument>\n      <MaxSessionDuration>{}</MaxSessionDuration>\n      <RoleId>{}</RoleId>\n      <RoleName>{}</RoleName>\n      <Arn>{}</Arn>\n      <CreateDate>{created}</CreateDate>\n{description}    </Role>\n",
        sigv4::uri_encode(view.trust_policy.as_bytes(), false),
        r.max_session_duration,
        xml_escape(&r.role_id),
        xml_escape(&r.name),
        xml_escape(&r.arn),
    )
}

/// `CreateRole`, `GetRole`, `DeleteRole` and `UpdateAssumeRolePolicy`; `None` for any other
/// action.
fn role_action(
    inner: &Inner,
    caller: &Identity,
    action: &str,
    params: &[(String, String)],
    event: &mut AuditEvent,
) -> Option<Result<Option<String>, QueryError>> {
    if !matches!(
        action,
        "CreateRole" | "GetRole" | "DeleteRole" | "UpdateAssumeRolePolicy"
    ) {
        return None;
    }
    let mut run = || -> Result<Option<String>, QueryError> {
        let iam = &inner.iam;
        let name = required(params, "RoleName")?;
        event.resources = vec![format!(
            "arn:aws:iam::{}:role/{}",
            caller.caller.account,
            name.chars().take(64).collect::<String>()
        )];
        event.request_parameters =
            serde_json::json!({"roleName": name.chars().take(64).collect::<String>()});
        match action {
            "CreateRole" => {
                let document = required(params, "AssumeRolePolicyDocument")?;
                let max = match param(params, "MaxSessionDuration") {
                    None => None,
                    Some(v) => Some(v.parse::<i64>().map_err(|_| {
                        invalid(
                            "ValidationError",
                            "MaxSessionDuration must be a number of seconds.",
                        )
                    })?),
                };
                let view = iam.create_role(
                    caller,
                    name,
                    param(params, "Description").unwrap_or_default(),
                    max,
                    document,
                    inner.clock.now().unix_timestamp(),
                )?;
                Ok(Some(role_xml(&view)))
            }
            "GetRole" => Ok(Some(role_xml(&iam.get_role(caller, name)?))),
            "DeleteRole" => iam
                .delete_role(caller, name)
                .map(|()| None)
                .map_err(Into::into),
            _ => {
                let document = required(params, "PolicyDocument")?;
                iam.update_assume_role_policy(caller, name, document)?;
                Ok(None)
            }
        }
    };
    Some(run())
}

fn auth_error(e: &AuthError) -> QueryError {
    let status = if matches!(e, AuthError::Malformed(_)) {
        400
    } else {
        403
    };
    QueryError {
        status,
        code: crate::reply::query_auth_code(e).into(),
        message: e.to_string(),
    }
}

/// Serves one IAM request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    let (parts, body) = req.into_parts();
    let mut event = AuditEvent::new(
        "iam.amazonaws.com",
        &request_id,
        conn.secure,
        inner.clock.now(),
    );
    event.event_name = "Unknown".into();
    let refuse = |mut event: AuditEvent, e: QueryError| {
        event.error_code = Some(e.code.clone());
        event.error_message = Some(e.message.clone());
        inner.audit.record(event);
        error_response(&request_id, &e)
    };
    let (principal, body) =
        match crate::auth::authenticate_signed(&inner, &parts, body, "iam", MAX_BODY).await {
            Ok(found) => found,
            Err(SignedRequestError::Auth(e)) => return refuse(event, auth_error(&e)),
            Err(SignedRequestError::TooLarge) => {
                let e = QueryError {
                    status: 413,
                    code: "RequestEntityTooLarge".into(),
                    message: format!(
                        "The request body is larger than {MAX_BODY} bytes or was cut off."
                    ),
                };
                return refuse(event, e);
            }
        };
    let mut params = form_pairs(&body);
    params.extend(form_pairs(parts.uri.query().unwrap_or_default().as_bytes()));
    let action = param(&params, "Action").unwrap_or_default().to_string();
    event.user_identity = Some(UserIdentity::of(&principal));
    if !OPERATIONS.contains(&action.as_str()) {
        let e = invalid(
            "InvalidAction",
            format!(
                "Could not find operation {} for version 2010-05-08: the keylab engine serves IAM {}.",
                action.chars().take(64).collect::<String>(),
                OPERATIONS.join(", ")
            ),
        );
        return refuse(event, e);
    }
    event.event_name = action.clone();
    match dispatch(&inner, &principal, &action, &params, &mut event) {
        Ok(result) => {
            event.decision = Some("Allow".into());
            inner.audit.record(event);
            success_response(&request_id, &action, result)
        }
        Err(e) => {
            if e.code == "AccessDenied" {
                event.decision = Some("Deny".into());
            }
            refuse(event, e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_members_are_read_in_their_numeric_order() {
        let params = form_pairs(
            b"ActionNames.member.10=c&ActionNames.member.2=b&ActionNames.member.1=a&Other=x",
        );
        assert_eq!(members(&params, "ActionNames"), ["a", "b", "c"]);
        assert!(members(&params, "ResourceArns").is_empty());
    }
}
