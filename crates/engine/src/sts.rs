//! AWS STS as the engine serves it, over the Query protocol (`POST /` with a form body
//! `Action=…&Version=2011-06-15`, XML answers, routed here by the `sts` credential scope):
//! `GetCallerIdentity` for any caller, and `AssumeRole`, decided by the policy evaluator with
//! the role's trust policy as the resource policy ([`ResourceRules::RoleTrust`]) and the
//! caller's identity policies, across accounts as in one. An allowed call gets temporary
//! credentials ([`crate::roles::Session`]) that expire on the engine's clock. Denials use
//! AWS's wording: a trust policy that does not allow says only "is not authorized to perform:
//! sts:AssumeRole on resource: <role ARN>" (AWS does not say which side refused), a missing
//! identity policy adds "because no identity-based policy allows the sts:AssumeRole action",
//! and an unknown role is refused the same way as an untrusting one. Session policies, tags,
//! `SourceIdentity` and MFA are not modelled; `ExternalId` is passed to the trust policy as
//! `sts:ExternalId`.

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Inner;
use crate::audit::{AuditEvent, UserIdentity};
use crate::auth::SignedRequestError;
use crate::connection::Connection;
use crate::identity::{Identity, IdentitySet, PrincipalKind};
use crate::roles::{
    CHAINED_SESSION_SECONDS, DEFAULT_SESSION_SECONDS, MAX_SESSION_SECONDS, MIN_SESSION_SECONDS,
    SESSIONS_TABLE, Session, SessionRecord, new_access_key_id, new_secret, new_token,
};
use crate::sigv4::{self, AuthError};
use crate::state::{Change, StateError, StateStore};
use keylab_policy::eval::decide_with;
use keylab_policy::{
    ContextKeys, Decision, Denial, Policies, Request as PolicyRequest, ResourceRules,
};

/// The largest STS request body read (the Query form of AssumeRole with a 2,048-character
/// session policy fits many times over).
pub const MAX_BODY: usize = 16 * 1024;

/// The state document of role trust policies changed since the identity file was read.
pub const TRUST_DOC: &str = "iam-trust";

/// The operations served.
pub const OPERATIONS: &[&str] = &["GetCallerIdentity", "AssumeRole"];

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// An STS error: HTTP status, AWS's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsError {
    /// The HTTP status.
    pub status: u16,
    /// AWS's error code (`AccessDenied`, `ValidationError`, …).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl StsError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> StsError {
        StsError {
            status,
            code,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> StsError {
        StsError::new(400, "ValidationError", message)
    }
}

/// What `AssumeRole` asks for.
#[derive(Debug, Clone)]
pub struct AssumeRoleInput {
    /// `RoleArn`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `DurationSeconds`, if given.
    pub duration_seconds: Option<i64>,
    /// `ExternalId`, if given.
    pub external_id: Option<String>,
}

/// Temporary credentials, as `AssumeRole` returns them.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `ASIA…`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When they expire (engine clock).
    pub expiration: OffsetDateTime,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub assumed_role_arn: String,
    /// `AROA…:<session>`.
    pub assumed_role_id: String,
}

/// Who is asking, and how the request came.
#[derive(Debug, Clone, Copy)]
pub struct CallerContext<'a> {
    /// The caller.
    pub identity: &'a Identity,
    /// True when the caller used temporary credentials or is itself a role session: a role
    /// it assumes is chained, limited to one hour.
    pub chained: bool,
    /// True over HTTPS.
    pub secure: bool,
    /// The client's address.
    pub source_ip: &'a str,
}

fn validate_input(input: &AssumeRoleInput) -> Result<(), StsError> {
    let arn_len = input.role_arn.chars().count();
    if arn_len < 20 {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
            input.role_arn
        )));
    }
    if arn_len > 2048 {
        return Err(StsError::validation(
            "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length less than or equal to 2048",
        ));
    }
    let name = &input.session_name;
    let len = name.chars().count();
    if len < 2 {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"
        )));
    }
    if len > 64 {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"
        )));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    {
        return Err(StsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    if let Some(d) = input.duration_seconds {
        if d < MIN_SESSION_SECONDS {
            return Err(StsError::validation(format!(
                "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_SESSION_SECONDS}"
            )));
        }
        if d > MAX_SESSION_SECONDS {
            return Err(StsError::validation(format!(
                "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {MAX_SESSION_SECONDS}"
            )));
        }
    }
    Ok(())
}

/// The condition keys of an STS request.
fn context(caller: &CallerContext, now: OffsetDateTime, input: &AssumeRoleInput) -> ContextKeys {
    let mut ctx = crate::reply::caller_context(caller.identity, caller.secure, now);
    ctx.set("aws:SourceIp", caller.source_ip.to_string());
    ctx.set("sts:RoleSessionName", input.session_name.clone());
    if let Some(id) = &input.external_id {
        ctx.set("sts:ExternalId", id.clone());
    }
    ctx
}

/// AWS's AccessDenied message for a refused AssumeRole: a trust policy that does not allow
/// gets no reason, as AWS gives none.
pub fn denial_message(decision: &Decision) -> String {
    let t = &decision.trace;
    match decision.denial {
        Some(Denial::NoResourceAllow) => format!(
            "User: {} is not authorized to perform: {} on resource: {}",
            t.caller.arn, t.action, t.resource
        ),
        _ => decision.message(),
    }
}

/// Decides an `AssumeRole` of `input.role_arn` by `caller`, with the trace. `Err` is a
/// validation error; an unknown role is decided like a role whose trust policy names nobody.
pub fn authorize_assume_role(
    identities: &IdentitySet,
    caller: &CallerContext,
    input: &AssumeRoleInput,
    now: OffsetDateTime,
) -> Result<Decision, StsError> {
    validate_input(input)?;
    let identity_policies = identities.policies_of(&caller.identity.profile);
    let trust = identities.trust_policy(&input.role_arn);
    let resource_account = input
        .role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split(':').next())
        .unwrap_or_default()
        .to_string();
    let policies = Policies {
        identity: identity_policies
            .iter()
            .map(|(n, d)| (n.clone(), d.as_ref()))
            .collect(),
        resource: trust
            .as_ref()
            .map(|(_, d)| (format!("trust policy of {}", input.role_arn), d.as_ref())),
        rules: ResourceRules::RoleTrust,
        grants: Vec::new(),
    };
    let ctx = context(caller, now, input);
    let req = PolicyRequest {
        caller: &caller.identity.caller,
        action: "sts:AssumeRole",
        resource: &input.role_arn,
        resource_account: &resource_account,
        context: &ctx,
    };
    let decision = decide_with(&req, &policies, false);
    if decision.allowed {
        return Ok(decision);
    }
    Ok(decide_with(&req, &policies, true))
}

/// A refused `AssumeRole`: the error, and the decision when one was made (for the audit log).
pub type Refused = (StsError, Option<Box<Decision>>);

/// `AssumeRole`: authorizes, then creates a session, saved in `store`. Returns the
/// credentials and the decision (for the audit log).
pub fn assume_role(
    identities: &IdentitySet,
    store: &StateStore,
    caller: &CallerContext,
    input: &AssumeRoleInput,
    now: OffsetDateTime,
) -> Result<(Credentials, Decision), Refused> {
    let decision = authorize_assume_role(identities, caller, input, now).map_err(|e| (e, None))?;
    if !decision.allowed {
        let message = denial_message(&decision);
        return Err((
            StsError::new(403, "AccessDenied", message),
            Some(Box::new(decision)),
        ));
    }
    let role = identities
        .role_by_arn(&input.role_arn)
        .expect("a trust policy that allowed belongs to a role");
    let duration = input.duration_seconds.unwrap_or(DEFAULT_SESSION_SECONDS);
    if caller.chained && duration > CHAINED_SESSION_SECONDS {
        let e = StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        );
        return Err((e, Some(Box::new(decision))));
    }
    if duration > role.max_session_duration {
        let e = StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        );
        return Err((e, Some(Box::new(decision))));
    }
    let access_key_id = new_access_key_id();
    let secret = new_secret();
    let token = new_token();
    // Whole seconds, so the expiry written to the store and to the client is the one enforced.
    let expires = OffsetDateTime::from_unix_timestamp(now.unix_timestamp() + duration)
        .unwrap_or(now + time::Duration::seconds(duration));
    let identity =
        role.session_identity(&input.session_name, access_key_id.clone(), secret.clone());
    let credentials = Credentials {
        access_key_id: access_key_id.clone(),
        secret_access_key: secret.expose().to_string(),
        session_token: token.expose().to_string(),
        expiration: expires,
        assumed_role_arn: identity.caller.arn.clone(),
        assumed_role_id: identity.user_id.clone(),
    };
    let record = SessionRecord {
        role_arn: role.arn.clone(),
        session_name: input.session_name.clone(),
        access_key_id: access_key_id.clone(),
        secret,
        token: token.clone(),
        expires: expires.unix_timestamp(),
        source_arn: caller.identity.caller.arn.clone(),
    };
    let dropped = identities.sessions().insert(
        Session {
            identity,
            token,
            expires,
            source_arn: caller.identity.caller.arn.clone(),
        },
        now,
    );
    let mut changes = vec![Change::put(SESSIONS_TABLE, access_key_id, &record)];
    changes.extend(
        dropped
            .into_iter()
            .map(|k| Change::delete(SESSIONS_TABLE, k)),
    );
    store.commit(&changes).map_err(|e| {
        (
            StsError::new(500, "InternalFailure", e.to_string()),
            Some(Box::new(decision.clone())),
        )
    })?;
    Ok((credentials, decision))
}

/// Loads the saved sessions that are still live (dropping the rest from the store).
pub fn restore_sessions(
    identities: &IdentitySet,
    store: &StateStore,
    now: OffsetDateTime,
) -> Result<(), StateError> {
    let records = store.load_table::<SessionRecord>(SESSIONS_TABLE)?;
    let mut stale = Vec::new();
    for (key, r) in records {
        let expires = OffsetDateTime::from_unix_timestamp(r.expires).unwrap_or(now);
        let Some(role) = identities
            .role_by_arn(&r.role_arn)
            .filter(|_| expires > now)
        else {
            stale.push(Change::delete(SESSIONS_TABLE, key));
            continue;
        };
        let identity =
            role.session_identity(&r.session_name, r.access_key_id.clone(), r.secret.clone());
        let dropped = identities.sessions().insert(
            Session {
                identity,
                token: r.token.clone(),
                expires,
                source_arn: r.source_arn.clone(),
            },
            now,
        );
        stale.extend(
            dropped
                .into_iter()
                .map(|k| Change::delete(SESSIONS_TABLE, k)),
        );
    }
    store.commit(&stale)
}

// ---- the Query protocol ----------------------------------------------------------------------

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Decodes an `application/x-www-form-urlencoded` body (`+` is a space).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let decode = |s: &str| {
        String::from_utf8_lossy(&sigv4::percent_decode(&s.replace('+', " "))).into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn error_response(request_id: &str, e: &StsError) -> Response<s3s::Body> {
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        e.code,
        xml_escape(&e.message),
        xml_escape(request_id)
    );
    crate::reply::xml(e.status, request_id, body)
}

fn success_response(request_id: &str, action: &str, result: &str) -> Response<s3s::Body> {
    let body = format!(
        "<{action}Response xmlns=\"{XMLNS}\">\n  <{action}Result>\n{result}  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
        xml_escape(request_id)
    );
    crate::reply::xml(200, request_id, body)
}

fn auth_error(e: &AuthError) -> StsError {
    let status = match e {
        AuthError::Malformed(_) | AuthError::ExpiredToken => 400,
        _ => 403,
    };
    StsError::new(status, crate::reply::query_auth_code(e), e.to_string())
}

/// The timestamp format of STS answers (`2026-01-01T12:00:00Z`).
fn iso8601(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn assume_role_input(params: &[(String, String)]) -> Result<AssumeRoleInput, StsError> {
    let required = |name: &str, field: &str| {
        param(params, name).map(str::to_string).ok_or_else(|| {
            StsError::validation(format!(
                "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
            ))
        })
    };
    let duration_seconds = match param(params, "DurationSeconds") {
        None => None,
        Some(v) => Some(v.trim().parse::<i64>().map_err(|_| {
            StsError::validation(format!(
                "1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy constraint: Member must be a whole number of seconds"
            ))
        })?),
    };
    Ok(AssumeRoleInput {
        role_arn: required("RoleArn", "roleArn")?,
        session_name: required("RoleSessionName", "roleSessionName")?,
        duration_seconds,
        external_id: param(params, "ExternalId").map(str::to_string),
    })
}

fn credentials_xml(c: &Credentials) -> String {
    format!(
        "    <AssumedRoleUser>\n      <Arn>{}</Arn>\n      <AssumedRoleId>{}</AssumedRoleId>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n",
        xml_escape(&c.assumed_role_arn),
        xml_escape(&c.assumed_role_id),
        c.access_key_id,
        xml_escape(&c.secret_access_key),
        xml_escape(&c.session_token),
        iso8601(c.expiration)
    )
}

/// Runs one authenticated STS action; fills in the audit record.
fn dispatch(
    inner: &Inner,
    caller: &CallerContext,
    action: &str,
    params: &[(String, String)],
    event: &mut AuditEvent,
) -> Result<String, StsError> {
    let identity = caller.identity;
    match action {
        "GetCallerIdentity" => Ok(format!(
            "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
            xml_escape(&identity.caller.arn),
            xml_escape(&identity.user_id),
            identity.caller.account
        )),
        "AssumeRole" => {
            let input = assume_role_input(params)?;
            event.request_parameters = serde_json::json!({
                "roleArn": input.role_arn.chars().take(2048).collect::<String>(),
                "roleSessionName": input.session_name.chars().take(64).collect::<String>(),
                "durationSeconds": input.duration_seconds,
            });
            event.resources = vec![input.role_arn.chars().take(2048).collect()];
            let result = assume_role(
                &inner.identities,
                &inner.store,
                caller,
                &input,
                inner.clock.now(),
            );
            match result {
                Ok((credentials, _)) => {
                    event.decision = Some("Allow".into());
                    Ok(credentials_xml(&credentials))
                }
                Err((e, decision)) => {
                    if let Some(d) = decision {
                        event.decision = Some(if d.allowed { "Allow" } else { "Deny" }.into());
                        if !d.allowed {
                            event.trace = Some(Box::new(d.trace.clone()));
                        }
                    }
                    Err(e)
                }
            }
        }
        other => Err(StsError::new(
            400,
            "InvalidAction",
            format!(
                "Could not find operation {other} for version 2011-06-15: the keylab engine serves STS {}.",
                OPERATIONS.join(" and ")
            ),
        )),
    }
}

/// Serves one STS request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    let (parts, body) = req.into_parts();
    let mut event = AuditEvent::new(
        "sts.amazonaws.com",
        &request_id,
        conn.secure,
        inner.clock.now(),
    );
    event.event_name = "Unknown".into();
    let refuse = |mut event: AuditEvent, e: StsError| {
        event.error_code = Some(e.code.into());
        event.error_message = Some(e.message.clone());
        inner.audit.record(event);
        error_response(&request_id, &e)
    };
    let (principal, body) =
        match crate::auth::authenticate_signed(&inner, &parts, body, "sts", MAX_BODY).await {
            Ok(found) => found,
            Err(SignedRequestError::Auth(e)) => return refuse(event, auth_error(&e)),
            Err(SignedRequestError::TooLarge) => {
                let e = StsError::new(
                    413,
                    "RequestEntityTooLarge",
                    format!("The request body is larger than {MAX_BODY} bytes or was cut off."),
                );
                return refuse(event, e);
            }
        };
    let mut params = form_pairs(&body);
    params.extend(form_pairs(parts.uri.query().unwrap_or_default().as_bytes()));
    let action = param(&params, "Action").unwrap_or_default().to_string();
    if OPERATIONS.contains(&action.as_str()) {
        event.event_name = action.clone();
    }
    event.user_identity = Some(UserIdentity::of(&principal));
    let source_ip = conn.peer.ip().to_string();
    let caller = CallerContext {
        identity: &principal,
        chained: principal.is_session() || principal.kind == PrincipalKind::Role,
        secure: conn.secure,
        source_ip: &source_ip,
    };
    match dispatch(&inner, &caller, &action, &params, &mut event) {
        Ok(result) => {
            inner.audit.record(event);
            success_response(&request_id, &action, &result)
        }
        Err(e) => refuse(event, e),
    }
}
