//! Requests decided by the policy evaluator against the bucket or key policy the learner
//! wrote (read back from the backend) and the lab identities' own policies, each with its
//! trace when the decision is not the expected one. A request may come from an AWS service
//! principal calling as itself (CloudWatch Logs, CloudTrail) instead of a lab identity: it has
//! no identity policies and is in the resource's account, so only a statement naming it
//! allows it. Global keys AWS sets for such calls (`aws:SourceArn`, `aws:SourceAccount`) and
//! the service's encryption context are given by the check's `context`. A request may also be
//! decided by the resource policy alone (`resource_policy_only`) or with a stated identity
//! policy instead of the caller's own (`identity_policy`), so a check can tell a condition in
//! the key or bucket policy from the same condition in an IAM policy; and with a stated
//! resource policy (`resource_policy`), to test what the caller's identity policies allow.

use keylab_policy::Caller;

use super::*;

pub(super) async fn run(session: &Session, c: &SimulateCheck) -> Result<(), Failure> {
    let identities = session.backend.identities();
    let owner = settings_as(session, Some(&session.exercise.spec.profile))?;
    let target = sub(session, &c.policy)?;
    let (text, rules, default_resource, resource_account, name) =
        if let Some(bucket) = target.strip_prefix("bucket:") {
            let policy = read_bucket_policy(session, bucket).await?;
            let account = session
                .backend
                .account_of(&session.exercise.spec.profile)
                .unwrap_or_default()
                .to_string();
            (
                policy,
                ResourceRules::Standard,
                None,
                account,
                format!("bucket policy of {bucket}"),
            )
        } else if let Some(key) = target.strip_prefix("key:") {
            let arn = key_arn(&owner, key).await?;
            let out = kms_call(
                &owner,
                "GetKeyPolicy",
                json!({ "KeyId": arn, "PolicyName": "default" }),
            )
            .await?;
            let account = arn.split(':').nth(4).unwrap_or_default().to_string();
            (
                out.get("Policy")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ResourceRules::Kms,
                Some(arn),
                account,
                "key policy".to_string(),
            )
        } else {
            return Err(broken(format!(
                "policy = \"{target}\": write bucket:<name> or key:<key id or alias>"
            )));
        };
    let doc = match &text {
        Some(t) => Some(
            PolicyDocument::parse(t, PolicyKind::Resource)
                .map_err(|e| fail(format!("the {name} does not parse: {}", e.0)))?,
        ),
        None => None,
    };
    let mut wrong: Vec<Failure> = Vec::new();
    for r in &c.request {
        let resource = match (&r.resource, &default_resource) {
            (Some(res), _) => sub(session, res)?,
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(broken(
                    "a bucket request needs resource = \"arn:aws:s3:::…\"",
                ));
            }
        };
        let mut context = ContextKeys::new();
        context.set("aws:SecureTransport", r.secure.to_string());
        let (caller, identity_policies, who) = match &r.service {
            Some(service) => {
                let service = sub(session, service)?;
                let caller = Caller {
                    arn: service.clone(),
                    principal_arn: service.clone(),
                    account: resource_account.clone(),
                };
                (caller, Vec::new(), format!("service {service}"))
            }
            None => {
                let identity = identities
                    .by_profile(&r.profile)
                    .ok_or_else(|| broken(format!("no lab identity {}", r.profile)))?;
                context.set("aws:PrincipalArn", identity.caller.principal_arn.clone());
                context.set("aws:PrincipalAccount", identity.caller.account.clone());
                if rules == ResourceRules::Kms {
                    context.set("kms:CallerAccount", identity.caller.account.clone());
                }
                (
                    identity.caller.clone(),
                    identities.policies_of(&identity.profile),
                    r.profile.clone(),
                )
            }
        };
        for (k, v) in &r.context {
            context.set(k, sub(session, v)?);
        }
        let (identity_policies, who) = stated_identity(session, r, identity_policies, who, &name)?;
        let stated = stated_resource(session, r)?;
        let (resource_doc, resource_name) = match &stated {
            Some(d) => (Some(d), "the stated resource policy".to_string()),
            None => (doc.as_ref(), name.clone()),
        };
        let policies = Policies {
            identity: identity_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: resource_doc.map(|d| (resource_name.clone(), d)),
            rules,
            grants: Vec::new(),
        };
        let request = Request {
            caller: &caller,
            action: &r.action,
            resource: &resource,
            resource_account: &resource_account,
            context: &context,
        };
        let decision = keylab_policy::decide(&request, &policies);
        let want = r.expect == Expect::Allow;
        if decision.allowed != want {
            wrong.push(Failure {
                message: format!(
                    "{} {} on {} over {} should be {} but is {}",
                    who,
                    r.action,
                    resource,
                    if r.secure { "HTTPS" } else { "plain HTTP" },
                    if want { "allowed" } else { "denied" },
                    if decision.allowed {
                        "allowed"
                    } else {
                        "denied"
                    },
                ),
                trace: Some(decision.to_string()),
                error: false,
            });
        }
    }
    // Every request that is decided wrongly, so two different mistakes read differently (the
    // trace is the first one's).
    let mut wrong = wrong.into_iter();
    match wrong.next() {
        None => Ok(()),
        Some(mut first) => {
            for other in wrong {
                first.message = format!("{}; {}", first.message, other.message);
            }
            Err(first)
        }
    }
}

/// Policies decided with, by name.
type Named = Vec<(String, std::sync::Arc<PolicyDocument>)>;

/// The identity policies a request is decided with, and who it names in messages: the
/// caller's own, none (`resource_policy_only`) or the stated `identity_policy`.
fn stated_identity(
    session: &Session,
    r: &SimulatedRequest,
    own: Named,
    who: String,
    resource: &str,
) -> Result<(Named, String), Failure> {
    match (&r.identity_policy, r.resource_policy_only) {
        (Some(_), true) => Err(broken(
            "a request has both resource_policy_only and identity_policy: keep one",
        )),
        (Some(text), false) => {
            let doc = PolicyDocument::parse(&sub(session, text)?, PolicyKind::Identity)
                .map_err(|e| broken(format!("identity_policy does not parse: {}", e.0)))?;
            Ok((
                vec![("identity_policy".to_string(), std::sync::Arc::new(doc))],
                format!("{who} (with the stated identity policy)"),
            ))
        }
        (None, true) => Ok((Vec::new(), format!("{who} (by the {resource} alone)"))),
        (None, false) => Ok((own, who)),
    }
}

/// The stated `resource_policy` of a request, parsed.
fn stated_resource(
    session: &Session,
    r: &SimulatedRequest,
) -> Result<Option<PolicyDocument>, Failure> {
    r.resource_policy
        .as_ref()
        .map(|text| {
            PolicyDocument::parse(&sub(session, text)?, PolicyKind::Resource)
                .map_err(|e| broken(format!("resource_policy does not parse: {}", e.0)))
        })
        .transpose()
}

/// The bucket policy as the owner reads it: over HTTPS, or over plain HTTP when the policy
/// denies HTTPS (the `"true"` mistake locks HTTPS out, and the grader must still see it).
async fn read_bucket_policy(session: &Session, bucket: &str) -> Result<Option<String>, Failure> {
    let mut denied = None;
    for https in [true, false] {
        let settings = session
            .backend
            .settings(&session.exercise.spec.profile, https)
            .map_err(broken)?;
        let client = s3_client(&settings).map_err(|e| broken(e.to_string()))?;
        match client.get_bucket_policy().bucket(bucket).send().await {
            Ok(out) => return Ok(out.policy().map(str::to_string)),
            Err(e) => match s3_error("GetBucketPolicy", e) {
                ClientError::Aws { code, .. } if code == "NoSuchBucketPolicy" => return Ok(None),
                ClientError::Aws { code, .. } if code == "AccessDenied" => {
                    denied = Some(ClientError::Aws {
                        code,
                        message: format!("the owner cannot read the bucket policy of {bucket}"),
                        operation: "GetBucketPolicy".into(),
                    })
                }
                other => return Err(other.into()),
            },
        }
    }
    Err(denied
        .map(Failure::from)
        .unwrap_or_else(|| broken("GetBucketPolicy failed")))
}
