//! Policy evaluation with an explanation of every step.
//!
//! This is our own code rather than a crate because keylab needs two things no crate gives:
//! a trace a learner can read (which statement matched or failed, and why), and AWS's
//! resource-specific combination rules. It implements the IAM User Guide's evaluation logic
//! for one account or across two (default deny; an explicit deny anywhere wins; same account:
//! identity or resource policy may allow; cross-account: both must), and the KMS rules on top
//! (a key policy must enable IAM, through its account principal, before an identity policy
//! counts; grants are one more source of Allow), and the same rule for role trust policies
//! (`sts:AssumeRole`: the trust policy must allow, by naming the caller or its account). Service control policies, permission
//! boundaries, session policies and policy variables (`${aws:username}`) are not modelled.
//! The `iam-rs` crate was considered: it answers Allow / Deny / NotApplicable without saying
//! which statement decided or why, and has no notion of the KMS rules.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::condition::{ContextKeys, evaluate as evaluate_condition, wildcard_match};
use super::document::{Effect, PolicyDocument, PrincipalMatch, PrincipalRef, Statement};

/// The principal making a request. An AWS service calling as its own service principal has
/// the service's name (`logs.us-east-1.amazonaws.com`) as both `arn` and `principal_arn`:
/// only a `{"Service": …}` principal with that exact name (or `*`) matches it, never an
/// account or an ARN, so it gets no permission from any identity policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The ARN shown in messages: a user ARN, or an assumed-role session ARN.
    pub arn: String,
    /// The ARN policies match (`aws:PrincipalArn`): the user ARN, or the role ARN.
    pub principal_arn: String,
    /// The caller's 12-digit account id.
    pub account: String,
}

/// One request to authorize.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Who is asking.
    pub caller: &'a Caller,
    /// The action, such as `kms:Decrypt`.
    pub action: &'a str,
    /// The resource ARN (or `*` for actions without a resource).
    pub resource: &'a str,
    /// The account that owns the resource.
    pub resource_account: &'a str,
    /// The request's condition keys.
    pub context: &'a ContextKeys,
}

/// How a resource policy's `Principal` matched the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PrincipalMatchKind {
    /// The statement names the caller's account: it delegates to the account's IAM policies.
    Account,
    /// The statement names the caller itself (or everyone).
    Direct,
}

/// What one statement did for one request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatementTrace {
    /// Which policy the statement belongs to.
    pub policy: String,
    /// The statement's label (index and Sid).
    pub statement: String,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// True when principal, action, resource and every condition matched.
    pub applies: bool,
    /// One sentence per element checked.
    pub notes: Vec<String>,
}

/// The result of evaluating one policy document.
#[derive(Debug, Clone, Default)]
pub struct PolicyOutcome {
    /// The strongest Allow that applied, if any.
    pub allow: Option<PrincipalMatchKind>,
    /// True when a Deny statement applied.
    pub deny: bool,
    /// Every statement's trace.
    pub statements: Vec<StatementTrace>,
}

fn listed(spec: &PrincipalMatch) -> String {
    spec.principals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NotPrincipal`: the statement skips the caller only when it lists the caller's own ARN,
/// and for an assumed-role session both the session's and the role's ARN. Listing the account
/// alone exempts the account's root user, not its users and roles (IAM User Guide,
/// "AWS JSON policy elements: NotPrincipal").
fn not_principal(
    spec: &PrincipalMatch,
    caller: &Caller,
    explain: bool,
) -> (Option<PrincipalMatchKind>, String) {
    let lists = |arn: &str| {
        spec.principals
            .iter()
            .any(|p| matches!(p, PrincipalRef::Arn(a) if a == arn))
    };
    let is_session = caller.arn != caller.principal_arn;
    let exempt = lists(&caller.principal_arn) && (!is_session || lists(&caller.arn));
    let kind = (!exempt).then_some(PrincipalMatchKind::Direct);
    if !explain {
        return (kind, String::new());
    }
    let listed = listed(spec);
    let note = match (exempt, is_session, lists(&caller.principal_arn)) {
        (true, _, _) => {
            format!("NotPrincipal [{listed}] names the caller, so the statement skips it")
        }
        (false, true, true) => format!(
            "NotPrincipal [{listed}] names the role but not the session {}, so the statement applies",
            caller.arn
        ),
        (false, _, _) => format!(
            "NotPrincipal [{listed}] does not name {} (an account exempts only its root user), so the statement applies",
            caller.principal_arn
        ),
    };
    (kind, note)
}

/// Whether the caller is an AWS service principal rather than an IAM user or role.
fn is_service(caller: &Caller) -> bool {
    !caller.principal_arn.starts_with("arn:")
}

fn principal_match(
    statement: &Statement,
    caller: &Caller,
    explain: bool,
) -> (Option<PrincipalMatchKind>, String) {
    let Some(spec) = &statement.principal else {
        return (
            Some(PrincipalMatchKind::Direct),
            "identity policy: applies to its own principal".into(),
        );
    };
    if spec.negated {
        return not_principal(spec, caller, explain);
    }
    let mut best = None;
    for p in &spec.principals {
        let m = match p {
            PrincipalRef::Anyone => Some(PrincipalMatchKind::Direct),
            PrincipalRef::Account(id) if *id == caller.account && !is_service(caller) => {
                Some(PrincipalMatchKind::Account)
            }
            PrincipalRef::Arn(arn) if *arn == caller.principal_arn || *arn == caller.arn => {
                Some(PrincipalMatchKind::Direct)
            }
            PrincipalRef::Service(name) if *name == caller.principal_arn => {
                Some(PrincipalMatchKind::Direct)
            }
            _ => None,
        };
        best = best.max(m);
    }
    if !explain {
        return (best, String::new());
    }
    let listed = listed(spec);
    let note = match best {
        Some(PrincipalMatchKind::Direct) => format!("Principal [{listed}] includes the caller"),
        Some(PrincipalMatchKind::Account) => format!(
            "Principal [{listed}] names the caller's account {}: this delegates to the account's IAM policies",
            caller.account
        ),
        None => format!("Principal [{listed}] does not include {}", caller.arn),
    };
    (best, note)
}

fn list_match(patterns: &[String], value: &str, ignore_case: bool) -> Option<String> {
    patterns
        .iter()
        .find(|p| {
            if ignore_case {
                wildcard_match(&p.to_ascii_lowercase(), &value.to_ascii_lowercase())
            } else {
                wildcard_match(p, value)
            }
        })
        .cloned()
}

/// Evaluates one statement against a request; with `explain` false the trace's notes stay
/// empty (the fast path for requests nobody asks to explain).
pub fn evaluate_statement(
    policy: &str,
    index: usize,
    statement: &Statement,
    req: &Request,
    explain: bool,
) -> (StatementTrace, Option<PrincipalMatchKind>) {
    let mut notes = Vec::new();
    let (principal, note) = principal_match(statement, req.caller, explain);
    let mut applies = principal.is_some();
    if !explain {
        applies = applies && statement_matches(statement, req);
        let trace = StatementTrace {
            policy: String::new(),
            statement: String::new(),
            effect: statement.effect.to_string(),
            applies,
            notes,
        };
        return (trace, if applies { principal } else { None });
    }
    notes.push(note);

    let found = list_match(&statement.action.patterns, req.action, true);
    let action_ok = found.is_some() != statement.action.negated;
    notes.push(match (&found, statement.action.negated) {
        (Some(p), false) => format!("Action {} matches \"{p}\"", req.action),
        (None, false) => format!("Action {} is not listed in Action", req.action),
        (Some(p), true) => format!(
            "Action {} matches NotAction \"{p}\", so the statement skips it",
            req.action
        ),
        (None, true) => format!(
            "Action {} is not in NotAction, so the statement covers it",
            req.action
        ),
    });
    applies &= action_ok;

    if let Some(resource) = &statement.resource {
        let found = list_match(&resource.patterns, req.resource, false);
        let ok = found.is_some() != resource.negated;
        notes.push(match (&found, resource.negated) {
            (Some(p), false) => format!("Resource {} matches \"{p}\"", req.resource),
            (None, false) => format!("Resource {} is not listed in Resource", req.resource),
            (Some(p), true) => format!("Resource {} matches NotResource \"{p}\"", req.resource),
            (None, true) => format!("Resource {} is not in NotResource", req.resource),
        });
        applies &= ok;
    }

    for condition in &statement.conditions {
        let result = evaluate_condition(condition, req.context);
        notes.push(format!("Condition {}", result.reason));
        applies &= result.holds;
    }

    let trace = StatementTrace {
        policy: policy.to_string(),
        statement: statement.label(index),
        effect: statement.effect.to_string(),
        applies,
        notes,
    };
    (trace, if applies { principal } else { None })
}

fn statement_matches(statement: &Statement, req: &Request) -> bool {
    let action_ok = list_match(&statement.action.patterns, req.action, true).is_some()
        != statement.action.negated;
    let resource_ok = statement
        .resource
        .as_ref()
        .is_none_or(|r| list_match(&r.patterns, req.resource, false).is_some() != r.negated);
    action_ok
        && resource_ok
        && statement
            .conditions
            .iter()
            .all(|c| evaluate_condition(c, req.context).holds)
}

/// Evaluates a whole policy document against a request.
pub fn evaluate_policy(
    policy: &str,
    doc: &PolicyDocument,
    req: &Request,
    explain: bool,
) -> PolicyOutcome {
    let mut outcome = PolicyOutcome::default();
    for (index, statement) in doc.statements.iter().enumerate() {
        let (trace, matched) = evaluate_statement(policy, index, statement, req, explain);
        if let Some(kind) = matched {
            match statement.effect {
                Effect::Allow => outcome.allow = outcome.allow.max(Some(kind)),
                Effect::Deny => outcome.deny = true,
            }
        }
        if explain {
            outcome.statements.push(trace);
        }
    }
    outcome
}

/// Which combination rules apply to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceRules {
    /// KMS keys: the key policy must allow, directly or by enabling IAM; grants also allow.
    Kms,
    /// Every other resource (S3 buckets): identity or resource policy may allow in one account.
    Standard,
    /// `sts:AssumeRole` on a role: its trust policy must allow, naming the caller (enough in
    /// the role's account) or the caller's account (then an identity policy must allow too).
    RoleTrust,
}

/// Which kind of policy a denial refers to, as AWS words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    /// An identity-based (IAM user or role) policy.
    Identity,
    /// A resource-based (key or bucket) policy.
    Resource,
}

/// Why a request was denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Denial {
    /// A Deny statement applied.
    ExplicitDeny(PolicyType),
    /// Nothing in the caller's identity policies allowed it.
    NoIdentityAllow,
    /// Nothing in the resource policy allowed it.
    NoResourceAllow,
    /// The operation never works across accounts.
    NotCrossAccount,
}

/// A grant's verdict, computed by the KMS layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantCheck {
    /// The grant's id.
    pub grant_id: String,
    /// Whether it allows this request.
    pub allows: bool,
    /// Why.
    pub note: String,
}

/// Everything the evaluator needs besides the request.
#[derive(Debug, Clone)]
pub struct Policies<'a> {
    /// The caller's identity policies, with their names.
    pub identity: Vec<(String, &'a PolicyDocument)>,
    /// The resource policy, with its name.
    pub resource: Option<(String, &'a PolicyDocument)>,
    /// The rules for this resource.
    pub rules: ResourceRules,
    /// Grants on the resource (KMS only).
    pub grants: Vec<GrantCheck>,
}

impl<'a> Policies<'a> {
    /// The caller's identity policies alone (no resource policy, no grants), as for a service
    /// without resource policies or a request the resource policy does not govern.
    pub fn identity_only(identity: &'a [(String, std::sync::Arc<PolicyDocument>)]) -> Policies<'a> {
        Policies {
            identity: identity
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: None,
            rules: ResourceRules::Standard,
            grants: Vec::new(),
        }
    }
}

/// The full explanation of a decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    /// The caller.
    pub caller: Caller,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// Whether caller and resource are in different accounts.
    pub cross_account: bool,
    /// The condition keys of the request.
    pub context: Vec<(String, Vec<String>)>,
    /// Each statement's evaluation.
    pub statements: Vec<StatementTrace>,
    /// Each grant's evaluation.
    pub grants: Vec<GrantCheck>,
    /// The rules applied, in order, as sentences.
    pub steps: Vec<String>,
}

/// The decision on one request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    /// True when the request is allowed.
    pub allowed: bool,
    /// Why it was denied, when it was.
    pub denial: Option<Denial>,
    /// The explanation.
    pub trace: Trace,
}

impl Decision {
    /// The AccessDenied message in AWS's wording.
    pub fn message(&self) -> String {
        let t = &self.trace;
        let head = format!(
            "User: {} is not authorized to perform: {} on resource: {}",
            t.caller.arn, t.action, t.resource
        );
        match &self.denial {
            None => String::new(),
            Some(Denial::ExplicitDeny(PolicyType::Identity)) => {
                format!("{head} with an explicit deny in an identity-based policy")
            }
            Some(Denial::ExplicitDeny(PolicyType::Resource)) => {
                format!("{head} with an explicit deny in a resource-based policy")
            }
            Some(Denial::NoIdentityAllow) => format!(
                "{head} because no identity-based policy allows the {} action",
                t.action
            ),
            Some(Denial::NoResourceAllow) => format!(
                "{head} because no resource-based policy allows the {} action",
                t.action
            ),
            Some(Denial::NotCrossAccount) => format!(
                "{head} because no resource-based policy allows the {} action ({} cannot be used across accounts)",
                t.action, t.action
            ),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.trace;
        writeln!(
            f,
            "{} {} on {} by {}",
            if self.allowed { "ALLOW" } else { "DENY" },
            t.action,
            t.resource,
            t.caller.arn
        )?;
        for s in &t.statements {
            let mark = if s.applies {
                "applies"
            } else {
                "does not apply"
            };
            writeln!(f, "  {} {} ({}): {mark}", s.policy, s.statement, s.effect)?;
            for note in &s.notes {
                writeln!(f, "    - {note}")?;
            }
        }
        for g in &t.grants {
            writeln!(f, "  grant {}: {}", g.grant_id, g.note)?;
        }
        for step in &t.steps {
            writeln!(f, "  => {step}")?;
        }
        Ok(())
    }
}

/// Decides a request from the caller's identity policies, the resource policy and grants,
/// with a full trace.
pub fn decide(req: &Request, policies: &Policies) -> Decision {
    decide_with(req, policies, true)
}

/// Like [`decide`]; with `explain` false the trace has no statement notes, which is cheaper.
/// The outcome is the same either way.
pub fn decide_with(req: &Request, policies: &Policies, explain: bool) -> Decision {
    let mut statements = Vec::new();
    let mut steps = Vec::new();
    let mut identity_allow = false;
    let mut identity_deny = false;
    for (name, doc) in &policies.identity {
        let label = if explain {
            format!("identity policy {name}")
        } else {
            String::new()
        };
        let out = evaluate_policy(&label, doc, req, explain);
        identity_allow |= out.allow.is_some();
        identity_deny |= out.deny;
        statements.extend(out.statements);
    }
    let mut resource_allow = None;
    let mut resource_deny = false;
    if let Some((name, doc)) = &policies.resource {
        let out = evaluate_policy(name, doc, req, explain);
        resource_allow = out.allow;
        resource_deny = out.deny;
        statements.extend(out.statements);
    }
    let grant_allow = policies.grants.iter().any(|g| g.allows);
    let cross_account = req.caller.account != req.resource_account;

    let denial = if identity_deny {
        steps.push(
            "An explicit Deny in an identity-based policy applies: denied, whatever allows it."
                .into(),
        );
        Some(Denial::ExplicitDeny(PolicyType::Identity))
    } else if resource_deny {
        steps.push(
            "An explicit Deny in the resource-based policy applies: denied, whatever allows it."
                .into(),
        );
        Some(Denial::ExplicitDeny(PolicyType::Resource))
    } else {
        combine(
            policies.rules,
            cross_account,
            identity_allow,
            resource_allow,
            grant_allow,
            &mut steps,
        )
    };

    Decision {
        allowed: denial.is_none(),
        denial,
        trace: Trace {
            caller: req.caller.clone(),
            action: req.action.to_string(),
            resource: req.resource.to_string(),
            cross_account,
            context: if explain {
                req.context
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            } else {
                Vec::new()
            },
            statements,
            grants: policies.grants.clone(),
            steps,
        },
    }
}

fn combine(
    rules: ResourceRules,
    cross_account: bool,
    identity_allow: bool,
    resource_allow: Option<PrincipalMatchKind>,
    grant_allow: bool,
    steps: &mut Vec<String>,
) -> Option<Denial> {
    use PrincipalMatchKind::{Account, Direct};
    if grant_allow && rules == ResourceRules::Kms {
        steps.push("A grant on the key allows this operation for the caller: allowed.".into());
        return None;
    }
    if cross_account {
        steps.push("Caller and resource are in different accounts: both the resource policy and the caller's identity policy must allow.".into());
        if rules == ResourceRules::RoleTrust && resource_allow.is_none() {
            steps.push(
                "The role's trust policy does not allow the caller or its account: denied.".into(),
            );
            return Some(Denial::NoResourceAllow);
        }
        if resource_allow.is_none() {
            steps.push(
                "The resource policy does not allow the caller or its account: denied.".into(),
            );
            return Some(Denial::NoResourceAllow);
        }
        if !identity_allow {
            steps.push("The resource policy allows, but no identity policy in the caller's account does: denied.".into());
            return Some(Denial::NoIdentityAllow);
        }
        steps.push("Both allow: allowed.".into());
        return None;
    }
    match rules {
        ResourceRules::RoleTrust => match resource_allow {
            Some(Direct) => {
                steps.push("The role's trust policy names the caller: allowed.".into());
                None
            }
            Some(Account) if identity_allow => {
                steps.push("The role's trust policy names the caller's account, and an identity policy allows: allowed.".into());
                None
            }
            Some(Account) => {
                steps.push("The role's trust policy names the caller's account, but no identity policy allows sts:AssumeRole on the role: denied.".into());
                Some(Denial::NoIdentityAllow)
            }
            None => {
                steps.push("The role's trust policy does not allow the caller, so no identity policy can: denied.".into());
                Some(Denial::NoResourceAllow)
            }
        },
        ResourceRules::Kms => match resource_allow {
            Some(Direct) => {
                steps.push("The key policy allows the caller directly: allowed.".into());
                None
            }
            Some(Account) if identity_allow => {
                steps.push("The key policy enables IAM policies for the account, and an identity policy allows: allowed.".into());
                None
            }
            Some(Account) => {
                steps.push("The key policy enables IAM policies for the account, but no identity policy allows: denied.".into());
                Some(Denial::NoIdentityAllow)
            }
            None => {
                if identity_allow {
                    steps.push("An identity policy allows, but the key policy neither allows the caller nor enables IAM policies, so the identity policy has no effect: denied.".into());
                } else {
                    steps.push(
                        "Neither the key policy nor any grant allows the caller: denied.".into(),
                    );
                }
                Some(Denial::NoResourceAllow)
            }
        },
        ResourceRules::Standard => {
            if resource_allow == Some(Direct) {
                steps.push("The resource policy allows the caller directly: allowed.".into());
                return None;
            }
            if identity_allow {
                steps.push("An identity policy allows: allowed.".into());
                return None;
            }
            steps.push("No identity policy allows and the resource policy does not allow the caller: denied (default deny).".into());
            Some(Denial::NoIdentityAllow)
        }
    }
}
