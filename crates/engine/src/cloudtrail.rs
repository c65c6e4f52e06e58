//! CloudTrail's event history over the wire: `LookupEvents` (AWS JSON 1.1, `X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`, SigV4 for the service
//! name `cloudtrail`), answered from the engine's audit log ([`crate::audit`]) in AWS's shape,
//! so `aws cloudtrail lookup-events`, boto3 and graders ask the engine what they would ask AWS.
//!
//! As in AWS: only management events are listed (KMS, STS, IAM, Secrets Manager and S3
//! bucket-level calls; S3
//! object calls are data events and are not); a call shows in the event history of the
//! caller's account and of the account owning the resource (a partner's Decrypt with the
//! owner's key shows in both); at most one lookup attribute (`EventId`, `EventName`,
//! `ReadOnly`, `Username`, `ResourceType`, `ResourceName`, `EventSource`, `AccessKeyId`), a time
//! range within the last 90 days of the engine clock, `MaxResults` 1 to 50 (default 50), newest
//! first, and a `NextToken` valid only with the same parameters. The caller needs
//! `cloudtrail:LookupEvents` from an identity policy. Each event's `CloudTrailEvent` is the
//! record as CloudTrail writes it (`userIdentity`, `requestParameters` with the encryption
//! context, `resources`, `errorCode`…). Limits: the history is the audit log's recent events
//! ([`crate::audit::MEMORY_CAP`]), `ReadOnly` follows the operation's name, and there is no
//! throttling and no Insights category.

use std::sync::Arc;

use base64::Engine as _;
use http::{Request, Response};
use hyper::body::Incoming;
use keylab_policy::eval::{Policies, Request as PolicyRequest, decide_with};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Inner;
use crate::audit::{AuditEvent, UserIdentity};
use crate::connection::Connection;
use crate::json_front::{Accepted, JsonFront, Refusal, Served};

/// What every CloudTrail `X-Amz-Target` contains (the AWS CLI sends it after
/// `com.amazonaws.cloudtrail.v20131101.`, other SDKs without).
pub const TARGET_MARK: &str = "CloudTrail_20131101.";

/// The service name requests are signed for.
pub const SIGNING_NAME: &str = "cloudtrail";

/// The operations served.
pub const OPERATIONS: &[&str] = &["LookupEvents"];

/// The largest request body read.
pub const MAX_BODY: usize = 16 * 1024;

/// How far back the event history reaches.
pub const HISTORY_DAYS: i64 = 90;

/// The lookup attribute keys AWS accepts.
pub const ATTRIBUTE_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

/// A refusal, as CloudTrail words it.
#[derive(Debug)]
struct TrailError {
    status: u16,
    code: &'static str,
    message: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> TrailError {
    TrailError {
        status: 400,
        code,
        message: message.into(),
    }
}

/// One `LookupEvents` request, checked.
#[derive(Debug, Default)]
struct Lookup {
    attribute: Option<(String, String)>,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    max_results: usize,
    next_token: Option<String>,
}

fn timestamp(value: &Value, field: &str) -> Result<OffsetDateTime, TrailError> {
    let parsed = match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128).ok()),
        Value::String(s) => OffsetDateTime::parse(s, &Rfc3339).ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        invalid(
            "SerializationException",
            format!("{field} must be a timestamp (seconds since the epoch)."),
        )
    })
}

fn parse(body: &[u8]) -> Result<Lookup, TrailError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            invalid(
                "SerializationException",
                format!("The body is not JSON: {e}"),
            )
        })?
    };
    let Value::Object(fields) = value else {
        return Err(invalid(
            "SerializationException",
            "The body must be a JSON object.",
        ));
    };
    let mut lookup = Lookup {
        max_results: 50,
        ..Lookup::default()
    };
    for (name, value) in &fields {
        match name.as_str() {
            "LookupAttributes" => {
                let list = value.as_array().cloned().unwrap_or_default();
                if list.len() > 1 {
                    return Err(invalid(
                        "InvalidLookupAttributesException",
                        "You cannot specify more than one lookup attribute.",
                    ));
                }
                if let Some(item) = list.first() {
                    let key = item["AttributeKey"].as_str().unwrap_or_default();
                    let wanted = item["AttributeValue"].as_str().unwrap_or_default();
                    if !ATTRIBUTE_KEYS.contains(&key) {
                        return Err(invalid(
                            "InvalidLookupAttributesException",
                            format!(
                                "Invalid attribute key '{}': it must be one of {}.",
                                key.chars().take(64).collect::<String>(),
                                ATTRIBUTE_KEYS.join(", ")
                            ),
                        ));
                    }
                    if wanted.is_empty() || wanted.len() > 2000 {
                        return Err(invalid(
                            "InvalidLookupAttributesException",
                            "The attribute value must be 1 to 2000 characters.",
                        ));
                    }
                    lookup.attribute = Some((key.to_string(), wanted.to_string()));
                }
            }
            "StartTime" => lookup.start = Some(timestamp(value, "StartTime")?),
            "EndTime" => lookup.end = Some(timestamp(value, "EndTime")?),
            "MaxResults" => {
                let n = value.as_i64().unwrap_or(0);
                if !(1..=50).contains(&n) {
                    return Err(invalid(
                        "InvalidMaxResultsException",
                        "MaxResults must be 1 to 50.",
                    ));
                }
                lookup.max_results = n as usize;
            }
            "NextToken" => lookup.next_token = value.as_str().map(str::to_string),
            "EventCategory" => {
                if value.as_str() != Some("insight") {
                    return Err(invalid(
                        "InvalidEventCategoryException",
                        "EventCategory must be insight.",
                    ));
                }
            }
            other => {
                return Err(invalid(
                    "SerializationException",
                    format!(
                        "Unknown field {}: LookupEvents takes LookupAttributes, StartTime, EndTime, EventCategory, MaxResults and NextToken.",
                        other.chars().take(64).collect::<String>()
                    ),
                ));
            }
        }
    }
    if let (Some(start), Some(end)) = (lookup.start, lookup.end)
        && start > end
    {
        return Err(invalid(
            "InvalidTimeRangeException",
            "The start time must be before the end time.",
        ));
    }
    Ok(lookup)
}

/// Whether an audited call is a management event, as CloudTrail's event history lists them.
pub fn is_management_event(event: &AuditEvent) -> bool {
    match event.event_source.as_str() {
        "kms.amazonaws.com"
        | "sts.amazonaws.com"
        | "iam.amazonaws.com"
        | "cloudtrail.amazonaws.com"
        | "secretsmanager.amazonaws.com" => !event.event_name.is_empty(),
        "s3.amazonaws.com" => event.event_name.contains("Bucket"),
        _ => false,
    }
}

/// Whether an operation only reads (CloudTrail's `readOnly`).
pub fn is_read_only(name: &str) -> bool {
    [
        "Describe", "Get", "List", "Lookup", "Head", "Generate", "Verify",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || matches!(name, "Encrypt" | "Decrypt" | "ReEncrypt" | "Sign")
}

fn resource_type(arn: &str) -> &'static str {
    let service = arn.split(':').nth(2).unwrap_or_default();
    let rest = arn.split(':').nth(5).unwrap_or_default();
    match service {
        "kms" if rest.starts_with("alias/") => "AWS::KMS::Alias",
        "kms" => "AWS::KMS::Key",
        "s3" => "AWS::S3::Bucket",
        "secretsmanager" => "AWS::SecretsManager::Secret",
        "iam" if rest.starts_with("user/") => "AWS::IAM::User",
        "iam" => "AWS::IAM::Role",
        _ => "AWS::Unknown",
    }
}

/// The account owning a resource of `event`: the ARN's, or for an ARN without one (an S3
/// bucket) the owner the request found.
fn resource_account<'a>(event: &'a AuditEvent, arn: &'a str) -> &'a str {
    match arn.split(':').nth(4) {
        Some(account) if !account.is_empty() => account,
        _ => event.resource_owner.as_deref().unwrap_or_default(),
    }
}

/// A stable event id made from the request id (CloudTrail's `eventID` is a UUID of its own).
fn event_id(request_id: &str) -> String {
    let d = Sha256::digest(request_id.as_bytes());
    let h = hex::encode(&d[..16]);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn event_time(event: &AuditEvent) -> OffsetDateTime {
    OffsetDateTime::parse(&event.event_time, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The name CloudTrail's event history shows as the user: the user name, or the role
/// session's name.
fn username(user: &UserIdentity) -> String {
    user.arn.rsplit('/').next().unwrap_or_default().to_string()
}

/// Request parameters with CloudTrail's key casing (`keyId`, `encryptionContext`): the audit
/// log keeps the names the request used (KMS's are `KeyId`, …); the engine's own notes such as
/// `PlaintextBytesApprox` are left out.
fn camel_case_keys(parameters: &Value) -> Value {
    let Value::Object(map) = parameters else {
        return parameters.clone();
    };
    let renamed = map
        .iter()
        .filter(|(k, _)| k.as_str() != "PlaintextBytesApprox")
        .map(|(k, v)| {
            let mut chars = k.chars();
            let key = chars
                .next()
                .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                .unwrap_or_default();
            (key, v.clone())
        })
        .collect();
    Value::Object(renamed)
}

/// The record as CloudTrail writes it.
pub fn cloudtrail_record(event: &AuditEvent, region: &str) -> Value {
    let user = event.user_identity.as_ref();
    let user_identity = user.map(|u| {
        let assumed = u.session_issuer.is_some();
        let mut v = json!({
            "type": if assumed { "AssumedRole" } else { "IAMUser" },
            "principalId": u.principal_id,
            "arn": u.arn,
            "accountId": u.account_id,
            "accessKeyId": u.access_key_id,
        });
        if let Some(role) = &u.session_issuer {
            v["sessionContext"] = json!({"sessionIssuer": {
                "type": "Role",
                "arn": role,
                "accountId": u.account_id,
                "userName": role.rsplit('/').next().unwrap_or_default(),
            }});
        } else {
            v["userName"] = json!(username(u));
        }
        v
    });
    let mut parameters = camel_case_keys(&event.request_parameters);
    if let Some(context) = &event.encryption_context {
        if !parameters.is_object() {
            parameters = json!({});
        }
        if parameters.get("encryptionContext").is_none() {
            parameters["encryptionContext"] = json!(context);
        }
    }
    let recipient = event
        .resources
        .first()
        .map(|r| resource_account(event, r).to_string())
        .filter(|a| !a.is_empty())
        .or_else(|| user.map(|u| u.account_id.clone()))
        .unwrap_or_default();
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": user_identity,
        "eventTime": event_time(event).replace_nanosecond(0).unwrap_or(event_time(event)).format(&Rfc3339).unwrap_or_default(),
        "eventSource": event.event_source,
        "eventName": event.event_name,
        "awsRegion": region,
        "requestParameters": parameters,
        "responseElements": Value::Null,
        "requestID": event.request_id,
        "eventID": event_id(&event.request_id),
        "readOnly": is_read_only(&event.event_name),
        "resources": event.resources.iter().map(|arn| json!({
            "accountId": resource_account(event, arn),
            "type": resource_type(arn),
            "ARN": arn,
        })).collect::<Vec<_>>(),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": recipient,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": if event.secure_transport { "TLSv1.3" } else { "none" }},
    });
    if let Some(code) = &event.error_code {
        record["errorCode"] = json!(code);
        record["errorMessage"] = json!(event.error_message.clone().unwrap_or_default());
    }
    record
}

/// Whether `event` shows in the event history of `account`: the caller's or a resource's.
fn visible_to(event: &AuditEvent, account: &str) -> bool {
    event
        .user_identity
        .as_ref()
        .is_some_and(|u| u.account_id == account)
        || event
            .resources
            .iter()
            .any(|r| resource_account(event, r) == account)
}

fn matches(event: &AuditEvent, record: &Value, attribute: &(String, String)) -> bool {
    let (key, wanted) = attribute;
    match key.as_str() {
        "EventId" => record["eventID"] == *wanted,
        "EventName" => event.event_name == *wanted,
        "ReadOnly" => is_read_only(&event.event_name).to_string() == *wanted,
        "Username" => event
            .user_identity
            .as_ref()
            .is_some_and(|u| username(u) == *wanted),
        "ResourceType" => event.resources.iter().any(|r| resource_type(r) == wanted),
        "ResourceName" => event.resources.iter().any(|r| r == wanted),
        "EventSource" => event.event_source == *wanted,
        "AccessKeyId" => event
            .user_identity
            .as_ref()
            .is_some_and(|u| u.access_key_id == *wanted),
        _ => false,
    }
}

/// The token for the page after the event with `request_id`, bound to the parameters.
fn token(request_id: &str, query: &str) -> String {
    let bind = hex::encode(&Sha256::digest(query.as_bytes())[..8]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{request_id}|{bind}"))
}

/// `LookupEvents` for a caller of `account`: the response body.
fn lookup_events(inner: &Inner, account: &str, lookup: &Lookup) -> Result<String, TrailError> {
    let now = inner.clock.now();
    let oldest = now - time::Duration::days(HISTORY_DAYS);
    let query = format!(
        "{:?}|{:?}|{:?}",
        lookup.attribute,
        lookup.start.map(|t| t.unix_timestamp()),
        lookup.end.map(|t| t.unix_timestamp())
    );
    let mut listed: Vec<(AuditEvent, Value)> = Vec::new();
    for event in inner.audit.events().into_iter().rev() {
        if !is_management_event(&event) || !visible_to(&event, account) {
            continue;
        }
        let at = event_time(&event);
        if at < oldest || lookup.start.is_some_and(|s| at < s) || lookup.end.is_some_and(|e| at > e)
        {
            continue;
        }
        let record = cloudtrail_record(&event, &inner.region);
        if lookup
            .attribute
            .as_ref()
            .is_some_and(|a| !matches(&event, &record, a))
        {
            continue;
        }
        listed.push((event, record));
    }
    let start = match &lookup.next_token {
        None => 0,
        Some(t) => listed
            .iter()
            .position(|(e, _)| token(&e.request_id, &query) == *t)
            .map(|i| i + 1)
            .ok_or_else(|| {
                invalid(
                    "InvalidNextTokenException",
                    "Invalid NextToken: it must come from a LookupEvents call with the same parameters.",
                )
            })?,
    };
    let page: Vec<&(AuditEvent, Value)> =
        listed.iter().skip(start).take(lookup.max_results).collect();
    let events: Vec<Value> = page
        .iter()
        .map(|(event, record)| {
            json!({
                "EventId": record["eventID"],
                "EventName": event.event_name,
                "ReadOnly": is_read_only(&event.event_name).to_string(),
                "AccessKeyId": event.user_identity.as_ref().map(|u| u.access_key_id.clone()),
                "EventTime": event_time(event).unix_timestamp(),
                "EventSource": event.event_source,
                "Username": event.user_identity.as_ref().map(username),
                "Resources": event.resources.iter().map(|arn| json!({
                    "ResourceType": resource_type(arn),
                    "ResourceName": arn,
                })).collect::<Vec<_>>(),
                "CloudTrailEvent": record.to_string(),
            })
        })
        .collect();
    let mut out = json!({ "Events": events });
    if start + page.len() < listed.len()
        && let Some((last, _)) = page.last()
    {
        out["NextToken"] = json!(token(&last.request_id, &query));
    }
    Ok(out.to_string())
}

/// How CloudTrail requests are named, signed and bounded.
const FRONT: JsonFront = JsonFront {
    source: "cloudtrail.amazonaws.com",
    signing_name: SIGNING_NAME,
    max_body: MAX_BODY,
    operations: OPERATIONS,
    title: "the engine's CloudTrail",
};

fn refusal(e: TrailError) -> Refusal {
    Refusal {
        status: e.status,
        code: e.code.to_string(),
        message: e.message,
    }
}

/// Serves one CloudTrail request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    conn: Connection,
    inner: Arc<Inner>,
    request_id: String,
) -> Response<s3s::Body> {
    FRONT
        .serve(req, conn, inner, request_id, operation_of, work)
        .await
}

/// The operation an `X-Amz-Target` names.
fn operation_of(target: &str) -> Option<&str> {
    target.split_once(TARGET_MARK).map(|(_, op)| op)
}

fn work(inner: &Arc<Inner>, conn: &Connection, accepted: Accepted<'_>) -> Served {
    let Accepted {
        principal,
        body,
        mut event,
        ..
    } = accepted;
    let policies = inner.identities.policies_of(&principal.profile);
    let ctx = crate::reply::caller_context(&principal, conn.secure, inner.clock.now());
    let request = PolicyRequest {
        caller: &principal.caller,
        action: "cloudtrail:LookupEvents",
        resource: "*",
        resource_account: &principal.caller.account,
        context: &ctx,
    };
    let decision = decide_with(&request, &Policies::identity_only(&policies), false);
    if !decision.allowed {
        let decision = decide_with(&request, &Policies::identity_only(&policies), true);
        event.decision = Some("Deny".into());
        let r = Refusal::new("AccessDeniedException", decision.message());
        event.trace = Some(Box::new(decision.trace));
        return (event, Err(r));
    }
    event.decision = Some("Allow".into());
    let outcome = parse(&body).and_then(|lookup| {
        event.request_parameters = json!({
            "lookupAttributes": lookup.attribute.as_ref().map(|(k, v)| json!([{"attributeKey": k, "attributeValue": v.chars().take(256).collect::<String>()}])),
            "maxResults": lookup.max_results,
        });
        lookup_events(inner, &principal.caller.account, &lookup)
    });
    (event, outcome.map_err(refusal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_lookup_attribute_and_a_forward_time_range_are_accepted() {
        let two = br#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"Decrypt"},{"AttributeKey":"Username","AttributeValue":"admin"}]}"#;
        assert_eq!(
            parse(two).unwrap_err().code,
            "InvalidLookupAttributesException"
        );
        let unknown = br#"{"LookupAttributes":[{"AttributeKey":"Nope","AttributeValue":"x"}]}"#;
        let e = parse(unknown).unwrap_err();
        assert_eq!(e.code, "InvalidLookupAttributesException");
        assert!(e.message.contains("EventName"), "{}", e.message);
        let backwards = br#"{"StartTime":1700000100,"EndTime":1700000000}"#;
        assert_eq!(
            parse(backwards).unwrap_err().code,
            "InvalidTimeRangeException"
        );
        assert_eq!(
            parse(br#"{"MaxResults":51}"#).unwrap_err().code,
            "InvalidMaxResultsException"
        );
        let ok = parse(br#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"Decrypt"}],"StartTime":1700000000.5,"MaxResults":5}"#).unwrap();
        assert_eq!(ok.attribute, Some(("EventName".into(), "Decrypt".into())));
        assert_eq!(ok.max_results, 5);
        assert_eq!(parse(b"").unwrap().max_results, 50);
    }

    #[test]
    fn s3_object_calls_are_data_events_and_kms_calls_are_management_events() {
        let mut e = AuditEvent::new("s3.amazonaws.com", "r1", true, OffsetDateTime::UNIX_EPOCH);
        e.event_name = "GetObject".into();
        assert!(!is_management_event(&e));
        e.event_name = "PutBucketPolicy".into();
        assert!(is_management_event(&e));
        e.event_source = "kms.amazonaws.com".into();
        e.event_name = "Decrypt".into();
        assert!(is_management_event(&e));
        e.event_source = "keylab.engine".into();
        assert!(!is_management_event(&e));
        assert!(is_read_only("Decrypt") && is_read_only("ListKeys"));
        assert!(!is_read_only("CreateKey") && !is_read_only("PutKeyPolicy"));
    }

    #[test]
    fn records_use_cloudtrails_camel_case_parameters_once() {
        let mut e = AuditEvent::new("kms.amazonaws.com", "r2", true, OffsetDateTime::UNIX_EPOCH);
        e.event_name = "Decrypt".into();
        e.request_parameters =
            json!({"KeyId": "k", "EncryptionContext": {"case": "a"}, "PlaintextBytesApprox": 3});
        e.encryption_context = Some([("case".to_string(), "a".to_string())].into());
        let record = cloudtrail_record(&e, "us-east-1");
        assert_eq!(
            record["requestParameters"],
            json!({"keyId": "k", "encryptionContext": {"case": "a"}})
        );
    }

    #[test]
    fn a_bucket_call_shows_in_the_history_of_the_account_that_owns_the_bucket() {
        let mut e = AuditEvent::new("s3.amazonaws.com", "r3", true, OffsetDateTime::UNIX_EPOCH);
        e.event_name = "PutBucketPolicy".into();
        e.resources = vec!["arn:aws:s3:::reports".into()];
        e.resource_owner = Some("111122223333".into());
        let record = cloudtrail_record(&e, "us-east-1");
        assert_eq!(record["resources"][0]["accountId"], "111122223333");
        assert_eq!(record["recipientAccountId"], "111122223333");
        assert!(visible_to(&e, "111122223333"));
        assert!(!visible_to(&e, "444455556666"));
    }
}
