//! Runs the table-driven policy-evaluation cases in `tests/data/policy_cases.toml` against
//! keylab's evaluator. Every case cites the AWS rule it checks; a failure prints the case, the
//! rule and the evaluator's full trace.

use std::collections::BTreeMap;

use keylab_policy::eval::{Denial, GrantCheck, PolicyType};
use keylab_policy::{
    Caller, ContextKeys, Policies, PolicyDocument, PolicyKind, Request, ResourceRules, decide,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
    parse_case: Vec<ParseCase>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ContextValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rule: String,
    caller: String,
    action: String,
    resource: String,
    resource_account: String,
    rules: String,
    expect: String,
    #[serde(default)]
    identity: Vec<String>,
    resource_policy: Option<String>,
    #[serde(default)]
    grant: bool,
    #[serde(default)]
    context: BTreeMap<String, ContextValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParseCase {
    name: String,
    rule: String,
    kind: String,
    document: String,
    error_contains: String,
}

fn caller(profile: &str) -> Caller {
    let (account, arn, principal) = match profile {
        "owner-admin" => (
            "111122223333",
            "arn:aws:iam::111122223333:user/admin",
            "arn:aws:iam::111122223333:user/admin",
        ),
        "owner-analyst" => (
            "111122223333",
            "arn:aws:sts::111122223333:assumed-role/Analyst/owner-analyst",
            "arn:aws:iam::111122223333:role/Analyst",
        ),
        "partner-admin" => (
            "444455556666",
            "arn:aws:iam::444455556666:user/admin",
            "arn:aws:iam::444455556666:user/admin",
        ),
        "partner-analyst" => (
            "444455556666",
            "arn:aws:sts::444455556666:assumed-role/Analyst/partner-analyst",
            "arn:aws:iam::444455556666:role/Analyst",
        ),
        "outsider-admin" => (
            "777788889999",
            "arn:aws:iam::777788889999:user/admin",
            "arn:aws:iam::777788889999:user/admin",
        ),
        // An AWS service calling as itself, in the owner account's Region.
        service if service.ends_with(".amazonaws.com") => ("111122223333", service, service),
        other => panic!("unknown caller {other}"),
    };
    Caller {
        arn: arn.into(),
        principal_arn: principal.into(),
        account: account.into(),
    }
}

fn outcome(allowed: bool, denial: &Option<Denial>) -> String {
    match (allowed, denial) {
        (true, _) => "allow".into(),
        (false, Some(Denial::ExplicitDeny(PolicyType::Identity))) => {
            "deny:explicit-identity".into()
        }
        (false, Some(Denial::ExplicitDeny(PolicyType::Resource))) => {
            "deny:explicit-resource".into()
        }
        (false, Some(Denial::NoIdentityAllow)) => "deny:no-identity".into(),
        (false, Some(Denial::NoResourceAllow)) => "deny:no-resource".into(),
        (false, other) => format!("deny:{other:?}"),
    }
}

fn load() -> CaseFile {
    let text = include_str!("data/policy_cases.toml");
    toml::from_str(text).unwrap_or_else(|e| panic!("tests/data/policy_cases.toml: {e}"))
}

#[test]
fn evaluation_cases_match_aws_rules() {
    let file = load();
    assert!(
        file.case.len() >= 100,
        "at least 100 cases, found {}",
        file.case.len()
    );
    let mut failures = Vec::new();
    for c in &file.case {
        assert!(
            !c.rule.trim().is_empty(),
            "{}: every case cites its rule",
            c.name
        );
        let who = caller(&c.caller);
        let identity: Vec<PolicyDocument> = c
            .identity
            .iter()
            .map(|d| {
                PolicyDocument::parse(d, PolicyKind::Identity)
                    .unwrap_or_else(|e| panic!("{}: identity policy: {e}", c.name))
            })
            .collect();
        let resource = c.resource_policy.as_ref().map(|d| {
            PolicyDocument::parse(d, PolicyKind::Resource)
                .unwrap_or_else(|e| panic!("{}: resource policy: {e}", c.name))
        });
        let mut context = ContextKeys::new();
        context.set("aws:PrincipalArn", who.principal_arn.clone());
        context.set("aws:PrincipalAccount", who.account.clone());
        for (k, v) in &c.context {
            match v {
                ContextValue::One(s) => context.set(k, s.clone()),
                ContextValue::Many(list) => context.set_many(k, list.clone()),
            }
        }
        let rules = match c.rules.as_str() {
            "kms" => ResourceRules::Kms,
            "standard" => ResourceRules::Standard,
            other => panic!("{}: rules must be kms or standard, not {other}", c.name),
        };
        let grants = if c.grant {
            vec![GrantCheck {
                grant_id: "g1".into(),
                allows: true,
                note: "test grant".into(),
            }]
        } else {
            Vec::new()
        };
        let policies = Policies {
            identity: identity
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("policy{i}"), d))
                .collect(),
            resource: resource
                .as_ref()
                .map(|d| ("resource policy".to_string(), d)),
            rules,
            grants,
        };
        let req = Request {
            caller: &who,
            action: &c.action,
            resource: &c.resource,
            resource_account: &c.resource_account,
            context: &context,
        };
        let decision = decide(&req, &policies);
        let got = outcome(decision.allowed, &decision.denial);
        if got != c.expect {
            failures.push(format!(
                "{}: expected {}, got {}\n  rule: {}\n{}",
                c.name, c.expect, got, c.rule, decision
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        file.case.len(),
        failures.join("\n")
    );
}

#[test]
fn every_case_name_is_unique() {
    let file = load();
    let mut names: Vec<&str> = file
        .case
        .iter()
        .map(|c| c.name.as_str())
        .chain(file.parse_case.iter().map(|c| c.name.as_str()))
        .collect();
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total);
}

#[test]
fn malformed_documents_are_rejected_with_a_clear_message() {
    let file = load();
    let mut failures = Vec::new();
    for c in &file.parse_case {
        let kind = if c.kind == "identity" {
            PolicyKind::Identity
        } else {
            PolicyKind::Resource
        };
        match PolicyDocument::parse(&c.document, kind) {
            Ok(_) => failures.push(format!(
                "{}: accepted, but {} ({})",
                c.name, c.error_contains, c.rule
            )),
            Err(e) if !e.0.contains(&c.error_contains) => failures.push(format!(
                "{}: message \"{}\" lacks \"{}\"",
                c.name, e.0, c.error_contains
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_denial_message_follows_aws_wording() {
    let who = caller("partner-analyst");
    let doc = PolicyDocument::parse(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
        PolicyKind::Resource,
    )
    .unwrap();
    let context = ContextKeys::new();
    let key = "arn:aws:kms:us-east-1:111122223333:key/k";
    let req = Request {
        caller: &who,
        action: "kms:Decrypt",
        resource: key,
        resource_account: "111122223333",
        context: &context,
    };
    let policies = Policies {
        identity: vec![],
        resource: Some(("key policy".into(), &doc)),
        rules: ResourceRules::Kms,
        grants: vec![],
    };
    let d = decide(&req, &policies);
    assert_eq!(
        d.message(),
        "User: arn:aws:sts::444455556666:assumed-role/Analyst/partner-analyst is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k because no resource-based policy allows the kms:Decrypt action"
    );
    let text = d.to_string();
    assert!(
        text.contains("does not include") && text.contains("=> "),
        "{text}"
    );
}
