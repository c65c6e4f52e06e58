//! Authentication and authorization of S3 requests. `s3s` verifies SigV4 with the secrets of
//! the lab identities ([`IdentityAuth`]); [`PolicyAccess`] then decides every request with the
//! policy evaluator: the caller's identity policies and the bucket policy, same-account or
//! cross-account rules, with AWS's condition keys (`aws:SecureTransport` from the listener,
//! `s3:TlsVersion` from the handshake, the encryption request headers as sent, absent when an
//! upload relies on default encryption). Each decision goes to the request's audit record.

use std::sync::{Arc, RwLock};

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::path::S3Path;
use s3s::{S3Error, S3ErrorCode, S3Result};

use super::model::S3State;
use crate::audit::{AuditSlot, UserIdentity};
use crate::clock::Clock;
use crate::connection::Connection;
use crate::identity::{Identity, IdentitySet};
use keylab_policy::document::{Effect, PrincipalRef};
use keylab_policy::eval::decide_with;
use keylab_policy::{ContextKeys, Policies, PolicyDocument, Request, ResourceRules};

/// Looks secrets up in the lab identities.
pub struct IdentityAuth(pub Arc<IdentitySet>);

#[async_trait::async_trait]
impl S3Auth for IdentityAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.by_access_key(access_key) {
            Some(principal) => Ok(SecretKey::from(principal.secret.expose())),
            None => Err(S3Error::with_message(
                S3ErrorCode::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            )),
        }
    }
}

/// Decides S3 requests with the policy evaluator.
#[derive(Clone)]
pub struct PolicyAccess {
    /// The S3 state (bucket owners and policies).
    pub state: Arc<RwLock<S3State>>,
    /// The lab identities.
    pub identities: Arc<IdentitySet>,
    /// The virtual clock.
    pub clock: Arc<Clock>,
}

/// The IAM action an S3 operation needs (most are `s3:<Operation>`; some differ, as in the
/// S3 User Guide's table of operations and permissions).
pub fn action_for(operation: &str) -> String {
    let action = match operation {
        "ListBuckets" => "ListAllMyBuckets",
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => "ListBucket",
        "HeadObject" => "GetObject",
        "PutBucketEncryption" | "DeleteBucketEncryption" => "PutEncryptionConfiguration",
        "GetBucketEncryption" => "GetEncryptionConfiguration",
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => "PutBucketPublicAccessBlock",
        "GetPublicAccessBlock" => "GetBucketPublicAccessBlock",
        "CopyObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => {
            "PutObject"
        }
        "AbortMultipartUpload" => "AbortMultipartUpload",
        other => other,
    };
    format!("s3:{action}")
}

/// One authorization question about an S3 request.
pub struct AccessRequest<'a> {
    /// The S3 operation name (`PutObject`, …).
    pub operation: &'a str,
    /// The bucket, if the request names one.
    pub bucket: Option<&'a str>,
    /// The object key, if the request names one.
    pub key: Option<&'a str>,
    /// The multipart upload of an UploadPart or CompleteMultipartUpload: the encryption
    /// condition keys come from the headers that initiated it.
    pub upload_id: Option<&'a str>,
    /// True when this is the read of a CopyObject's source: the audit record keeps the
    /// request's name and gains the source as a resource.
    pub copy_source: bool,
    /// The verified credentials.
    pub credentials: Option<&'a s3s::auth::Credentials>,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The request extensions (connection facts, audit record).
    pub extensions: &'a http::Extensions,
}

/// The encryption request headers that are also condition keys.
const ENCRYPTION_HEADERS: [&str; 3] = [
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
];

/// The encryption headers of a request that are also condition keys, as sent.
pub fn condition_headers(headers: &http::HeaderMap) -> std::collections::BTreeMap<String, String> {
    ENCRYPTION_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

impl PolicyAccess {
    /// The request context of a signed S3 request: transport, caller, time, and the request's
    /// condition headers (a multipart part sees its upload's; a copy's source sees none).
    fn context(
        &self,
        identity: &Identity,
        conn: Option<&Connection>,
        bucket: Option<&str>,
        upload_id: Option<&str>,
        copy_source: bool,
        headers: &http::HeaderMap,
    ) -> ContextKeys {
        let secure = conn.is_some_and(|c| c.secure);
        let mut ctx = crate::reply::caller_context(identity, secure, self.clock.now());
        if let Some(v) = conn.and_then(|c| c.tls_version.clone()) {
            ctx.set("s3:TlsVersion", v);
        }
        if let Some(c) = conn {
            ctx.set("aws:SourceIp", c.peer.ip().to_string());
        }
        let sent = match (bucket, upload_id) {
            (Some(b), Some(id)) => self
                .state
                .read()
                .expect("s3 lock")
                .buckets
                .get(b)
                .and_then(|b| b.uploads.get(id))
                .map(|u| u.condition_headers.clone())
                .unwrap_or_default(),
            _ if copy_source => Default::default(),
            _ => condition_headers(headers),
        };
        for (name, value) in sent {
            ctx.set(&format!("s3:{name}"), value);
        }

        ctx
    }

    /// Decides one S3 request and fills the request's audit record.
    pub fn authorize(&self, request: &AccessRequest<'_>) -> S3Result<()> {
        let AccessRequest {
            operation,
            bucket,
            key,
            upload_id,
            copy_source,
            credentials,
            headers,
            extensions,
        } = *request;
        let action = action_for(operation);
        let resource = match (bucket, key) {
            (None, _) => "*".to_string(),
            (Some(b), None) => format!("arn:aws:s3:::{b}"),
            (Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
        };
        let conn = extensions.get::<Connection>().cloned();
        let slot = extensions.get::<AuditSlot>().cloned();
        if let Some(slot) = &slot {
            let mut event = slot.0.lock().expect("audit slot");
            if copy_source {
                event.resources.push(resource.clone());
            } else {
                event.event_name = operation.to_string();
                event.resources = vec![resource.clone()];
            }
        }
        let identity = credentials.and_then(|c| self.identities.by_access_key(&c.access_key));
        let Some(principal) = identity else {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Anonymous requests are not accepted by the keylab engine: sign requests with a lab identity.",
            ));
        };
        let identity: &Identity = &principal;
        if let Some(slot) = &slot {
            slot.0.lock().expect("audit slot").user_identity = Some(UserIdentity::of(identity));
        }

        let ctx = self.context(
            identity,
            conn.as_ref(),
            bucket,
            upload_id,
            copy_source,
            headers,
        );

        // CreateBucket is the caller's own act: it is authorized in the caller's account even
        // when the name is taken (the operation then answers BucketAlreadyExists).
        let bucket_for_policy = if operation == "CreateBucket" {
            None
        } else {
            bucket
        };
        let facts = bucket_for_policy.and_then(|b| {
            let state = self.state.read().expect("s3 lock");
            state.buckets.get(b).map(|b| {
                // RestrictPublicBuckets: a public policy gives nothing to other accounts.
                let restricted = b
                    .public_access_block
                    .is_some_and(|p| p.restrict_public_buckets)
                    && b.account != identity.caller.account
                    && b.policy_doc.as_deref().is_some_and(is_public);
                (
                    b.account.clone(),
                    if restricted {
                        None
                    } else {
                        b.policy_doc.clone()
                    },
                )
            })
        });
        let (owner, bucket_policy) = match facts {
            Some((owner, policy)) => {
                if let Some(slot) = &slot {
                    slot.0.lock().expect("audit slot").resource_owner = Some(owner.clone());
                }
                (owner, policy)
            }
            None => (identity.caller.account.clone(), None),
        };
        let identity_policies = self.identities.policies_of(&identity.profile);
        let policies = Policies {
            identity: identity_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: bucket_policy.as_deref().map(|d| {
                (
                    format!("bucket policy of {}", bucket.unwrap_or_default()),
                    d,
                )
            }),
            rules: ResourceRules::Standard,
            grants: Vec::new(),
        };
        let req = Request {
            caller: &identity.caller,
            action: &action,
            resource: &resource,
            resource_account: &owner,
            context: &ctx,
        };
        let mut decision = decide_with(&req, &policies, false);
        if !decision.allowed {
            decision = decide_with(&req, &policies, true);
        }
        if let Some(slot) = &slot {
            let mut event = slot.0.lock().expect("audit slot");
            if !copy_source || !decision.allowed {
                event.decision = Some(if decision.allowed { "Allow" } else { "Deny" }.to_string());
            }
            if !decision.allowed {
                event.trace = Some(Box::new(decision.trace.clone()));
            }
        }
        if decision.allowed {
            return Ok(());
        }
        Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            decision.message(),
        ))
    }
}

#[async_trait::async_trait]
impl S3Access for PolicyAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let operation = cx.s3_op().name().to_string();
        // A browser POST upload is a PutObject of the object the form names: it is decided in
        // `post_object`, once the form is read.
        if operation == "PostObject" {
            return Ok(());
        }
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            S3Path::Object { bucket, key } => (Some(bucket.to_string()), Some(key.to_string())),
        };
        // The engine's upload ids are URL-safe, so the raw query value is the id.
        let upload_id = cx.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("uploadId="))
                .map(str::to_string)
        });
        let credentials = cx.credentials().cloned();
        let headers = cx.headers().clone();
        let extensions = cx.extensions_mut();
        self.authorize(&AccessRequest {
            operation: &operation,
            bucket: bucket.as_deref(),
            key: key.as_deref(),
            upload_id: upload_id.as_deref(),
            copy_source: false,
            credentials: credentials.as_ref(),
            headers: &headers,
            extensions,
        })
    }

    /// A browser POST upload, authorized as AWS does: `s3:PutObject` on the object the form
    /// names, with the form's encryption fields as the request headers of the conditions (the
    /// POST policy's own conditions and expiry were checked by `s3s`).
    async fn post_object(
        &self,
        req: &mut s3s::S3Request<s3s::dto::PostObjectInput>,
    ) -> S3Result<()> {
        let headers = post_form_headers(&req.input);
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let credentials = req.credentials.clone();
        self.authorize(&AccessRequest {
            operation: "PutObject",
            bucket: Some(&bucket),
            key: Some(&key),
            upload_id: None,
            copy_source: false,
            credentials: credentials.as_ref(),
            headers: &headers,
            extensions: &mut req.extensions,
        })
    }
}

/// The form fields of a POST upload that S3 treats as the request's headers for policy
/// conditions (`s3:x-amz-server-side-encryption`, …).
fn post_form_headers(input: &s3s::dto::PostObjectInput) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    let fields = [
        (
            "x-amz-server-side-encryption",
            input
                .server_side_encryption
                .as_ref()
                .map(|s| s.as_str().to_string()),
        ),
        (
            "x-amz-server-side-encryption-aws-kms-key-id",
            input.ssekms_key_id.clone(),
        ),
        (
            "x-amz-server-side-encryption-customer-algorithm",
            input.sse_customer_algorithm.clone(),
        ),
    ];
    for (name, value) in fields {
        if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    headers
}

/// Condition keys that pin a statement to known principals or networks, so that a statement
/// with `Principal: "*"` restricted by one of them is not public (S3 User Guide, "The meaning
/// of public").
const RESTRICTING_KEYS: &[&str] = &[
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:userid",
];

/// True when a bucket policy grants access to everyone: an Allow statement whose principal is
/// `*` (or a NotPrincipal) with no condition on a restricting key.
pub fn is_public(doc: &PolicyDocument) -> bool {
    doc.statements.iter().any(|s| {
        let everyone = s
            .principal
            .as_ref()
            .is_some_and(|p| p.negated || p.principals.contains(&PrincipalRef::Anyone));
        let restricted = s
            .conditions
            .iter()
            .any(|c| RESTRICTING_KEYS.contains(&c.key.to_ascii_lowercase().as_str()));
        s.effect == Effect::Allow && everyone && !restricted
    })
}
