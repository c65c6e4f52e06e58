//! Parsing and validation of IAM policy documents (identity policies, key policies and bucket
//! policies) into a typed model.
//!
//! The parser is strict in the ways AWS is strict: the document must be a JSON object with a
//! `Statement`, every statement needs a valid `Effect` and exactly one of `Action` /
//! `NotAction`, resource-based policies need a `Principal` and identity-based policies must not
//! have one, and condition operators must be known. Every rejection is a [`PolicyError`] whose
//! message names the element and says what to change. It does not check that principals exist:
//! that needs the engine's identity set, and the KMS layer does it.

use std::fmt;

use serde_json::{Map, Value};

/// Which family of policy a document is, which decides whether `Principal` is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user or role: must not name a principal.
    Identity,
    /// Attached to a resource (key policy, bucket policy): must name a principal.
    Resource,
    /// A role's trust policy: must name a principal and has no `Resource` (the role is the
    /// resource), as IAM requires.
    Trust,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    /// The `Version` element, if given.
    pub version: Option<String>,
    /// The `Id` element, if given.
    pub id: Option<String>,
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the matched request unless something denies it.
    Allow,
    /// Denies the matched request whatever else allows it.
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The `Sid`, if given.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal`, for resource-based policies.
    pub principal: Option<PrincipalMatch>,
    /// `Action` or `NotAction`.
    pub action: Matcher,
    /// `Resource` or `NotResource` (required in every kind of policy).
    pub resource: Option<Matcher>,
    /// The `Condition` element flattened to one entry per operator and key.
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// A short label for traces: the Sid, or the statement's position.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) if !sid.is_empty() => format!("statement {index} (Sid \"{sid}\")"),
            _ => format!("statement {index}"),
        }
    }
}

/// A list of patterns, positive (`Action`) or negated (`NotAction`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    /// True for `NotAction` / `NotResource`.
    pub negated: bool,
    /// The patterns, with `*` and `?` wildcards.
    pub patterns: Vec<String>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalMatch {
    /// True for `NotPrincipal`.
    pub negated: bool,
    /// The principals listed.
    pub principals: Vec<PrincipalRef>,
}

/// One principal named in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalRef {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    Anyone,
    /// An account, written as a 12-digit id or `arn:aws:iam::<id>:root`.
    Account(String),
    /// A user, role or assumed-role session ARN.
    Arn(String),
    /// An AWS service such as `s3.amazonaws.com`.
    Service(String),
    /// Federated or canonical-user principals, kept for display; they never match lab identities.
    Other(String),
}

impl fmt::Display for PrincipalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrincipalRef::Anyone => f.write_str("*"),
            PrincipalRef::Account(id) => write!(f, "arn:aws:iam::{id}:root"),
            PrincipalRef::Arn(arn) => f.write_str(arn),
            PrincipalRef::Service(s) => write!(f, "service {s}"),
            PrincipalRef::Other(s) => f.write_str(s),
        }
    }
}

/// The base comparison of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorKind {
    /// `StringEquals`
    StringEquals,
    /// `StringNotEquals`
    StringNotEquals,
    /// `StringEqualsIgnoreCase`
    StringEqualsIgnoreCase,
    /// `StringNotEqualsIgnoreCase`
    StringNotEqualsIgnoreCase,
    /// `StringLike`
    StringLike,
    /// `StringNotLike`
    StringNotLike,
    /// `NumericEquals`
    NumericEquals,
    /// `NumericNotEquals`
    NumericNotEquals,
    /// `NumericLessThan`
    NumericLessThan,
    /// `NumericLessThanEquals`
    NumericLessThanEquals,
    /// `NumericGreaterThan`
    NumericGreaterThan,
    /// `NumericGreaterThanEquals`
    NumericGreaterThanEquals,
    /// `DateEquals`
    DateEquals,
    /// `DateNotEquals`
    DateNotEquals,
    /// `DateLessThan`
    DateLessThan,
    /// `DateLessThanEquals`
    DateLessThanEquals,
    /// `DateGreaterThan`
    DateGreaterThan,
    /// `DateGreaterThanEquals`
    DateGreaterThanEquals,
    /// `Bool`
    Bool,
    /// `BinaryEquals`
    BinaryEquals,
    /// `IpAddress`
    IpAddress,
    /// `NotIpAddress`
    NotIpAddress,
    /// `ArnEquals`
    ArnEquals,
    /// `ArnLike`
    ArnLike,
    /// `ArnNotEquals`
    ArnNotEquals,
    /// `ArnNotLike`
    ArnNotLike,
    /// `Null`
    Null,
}

const OPERATORS: &[(&str, OperatorKind)] = &[
    ("StringEquals", OperatorKind::StringEquals),
    ("StringNotEquals", OperatorKind::StringNotEquals),
    (
        "StringEqualsIgnoreCase",
        OperatorKind::StringEqualsIgnoreCase,
    ),
    (
        "StringNotEqualsIgnoreCase",
        OperatorKind::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", OperatorKind::StringLike),
    ("StringNotLike", OperatorKind::StringNotLike),
    ("NumericEquals", OperatorKind::NumericEquals),
    ("NumericNotEquals", OperatorKind::NumericNotEquals),
    ("NumericLessThan", OperatorKind::NumericLessThan),
    ("NumericLessThanEquals", OperatorKind::NumericLessThanEquals),
    ("NumericGreaterThan", OperatorKind::NumericGreaterThan),
    (
        "NumericGreaterThanEquals",
        OperatorKind::NumericGreaterThanEquals,
    ),
    ("DateEquals", OperatorKind::DateEquals),
    ("DateNotEquals", OperatorKind::DateNotEquals),
    ("DateLessThan", OperatorKind::DateLessThan),
    ("DateLessThanEquals", OperatorKind::DateLessThanEquals),
    ("DateGreaterThan", OperatorKind::DateGreaterThan),
    ("DateGreaterThanEquals", OperatorKind::DateGreaterThanEquals),
    ("Bool", OperatorKind::Bool),
    ("BinaryEquals", OperatorKind::BinaryEquals),
    ("IpAddress", OperatorKind::IpAddress),
    ("NotIpAddress", OperatorKind::NotIpAddress),
    ("ArnEquals", OperatorKind::ArnEquals),
    ("ArnLike", OperatorKind::ArnLike),
    ("ArnNotEquals", OperatorKind::ArnNotEquals),
    ("ArnNotLike", OperatorKind::ArnNotLike),
    ("Null", OperatorKind::Null),
];

impl OperatorKind {
    /// The operator's name as written in a policy.
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, kind)| *kind == self)
            .map(|(name, _)| *name)
            .unwrap_or("?")
    }

    /// True for the `Numeric…` operators.
    pub fn is_numeric(self) -> bool {
        self.name().starts_with("Numeric")
    }

    /// True for the `Date…` operators.
    pub fn is_date(self) -> bool {
        self.name().starts_with("Date")
    }

    /// True for operators that require the key *not* to match (`StringNotEquals`, …); these
    /// are true when the key is absent from the request.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            OperatorKind::StringNotEquals
                | OperatorKind::StringNotEqualsIgnoreCase
                | OperatorKind::StringNotLike
                | OperatorKind::NumericNotEquals
                | OperatorKind::DateNotEquals
                | OperatorKind::NotIpAddress
                | OperatorKind::ArnNotEquals
                | OperatorKind::ArnNotLike
        )
    }
}

/// `ForAnyValue:` or `ForAllValues:` in front of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// True when at least one request value satisfies the operator.
    ForAnyValue,
    /// True when every request value satisfies the operator (and when there are none).
    ForAllValues,
}

/// A full operator: qualifier, base comparison and `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// `ForAnyValue:` / `ForAllValues:`, if written.
    pub qualifier: Option<SetQualifier>,
    /// The comparison.
    pub kind: OperatorKind,
    /// True when the name ends in `IfExists`.
    pub if_exists: bool,
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.qualifier {
            Some(SetQualifier::ForAnyValue) => f.write_str("ForAnyValue:")?,
            Some(SetQualifier::ForAllValues) => f.write_str("ForAllValues:")?,
            None => {}
        }
        f.write_str(self.kind.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

impl Operator {
    /// Parses an operator name such as `ForAnyValue:StringLikeIfExists`.
    pub fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let kind = OPERATORS.iter().find(|(n, _)| *n == base)?.1;
        if if_exists && kind == OperatorKind::Null {
            return None;
        }
        Some(Operator {
            qualifier,
            kind,
            if_exists,
        })
    }
}

/// One operator applied to one condition key, with the policy's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// The condition key as written (matching is case-insensitive).
    pub key: String,
    /// The policy values, as strings (JSON booleans and numbers are converted).
    pub values: Vec<String>,
}

/// Why a policy document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(msg.into()))
}

/// Largest key policy AWS accepts, in characters.
pub const MAX_POLICY_CHARS: usize = 131_072;

impl PolicyDocument {
    /// Parses and validates a policy document of the given kind.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
        if text.chars().count() > MAX_POLICY_CHARS {
            return err(format!(
                "The policy is longer than {MAX_POLICY_CHARS} characters."
            ));
        }
        if !text.trim_start().starts_with('{') {
            return err("Policies must be valid JSON and the first byte must be '{'.");
        }
        let value: Value = serde_json::from_str(text).map_err(|e| {
            PolicyError(format!(
                "The policy is not valid JSON: {e}. Check quotes, commas and braces."
            ))
        })?;
        let Value::Object(map) = value else {
            return err("The policy must be a JSON object.");
        };
        Self::from_object(&map, kind)
    }

    fn from_object(
        map: &Map<String, Value>,
        kind: PolicyKind,
    ) -> Result<PolicyDocument, PolicyError> {
        for key in map.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return err(format!(
                    "Unknown policy element \"{key}\": a policy has only Version, Id and Statement."
                ));
            }
        }
        let version = match map.get("Version") {
            None => None,
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
            Some(other) => {
                return err(format!(
                    "Invalid Version {other}: use \"2012-10-17\" (or the legacy \"2008-10-17\")."
                ));
            }
        };
        let id = match map.get("Id") {
            None => None,
            Some(Value::String(v)) => Some(v.clone()),
            Some(_) => return err("The policy Id must be a string."),
        };
        let statements = match map.get("Statement") {
            None => return err("Missing required field Statement."),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, s)| parse_statement(s, i, kind))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single @ Value::Object(_)) => vec![parse_statement(single, 0, kind)?],
            Some(_) => return err("Statement must be an object or an array of objects."),
        };
        if statements.is_empty() {
            return err("The policy has no statements: add at least one statement.");
        }
        Ok(PolicyDocument {
            version,
            id,
            statements,
        })
    }
}

fn parse_statement(
    value: &Value,
    index: usize,
    kind: PolicyKind,
) -> Result<Statement, PolicyError> {
    let Value::Object(map) = value else {
        return err(format!("Statement {index} must be a JSON object."));
    };
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return err(format!(
                "Statement {index} has an unknown element \"{key}\"."
            ));
        }
    }
    let sid = match map.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return err(format!("Statement {index}: Sid must be a string.")),
    };
    let effect = match map.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return err(format!(
                "Statement {index}: Effect must be \"Allow\" or \"Deny\" (case-sensitive), not {other}."
            ));
        }
        None => {
            return err(format!(
                "Statement {index} is missing Effect: add \"Effect\": \"Allow\" or \"Deny\"."
            ));
        }
    };
    let principal = match (map.get("Principal"), map.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return err(format!(
                "Statement {index} has both Principal and NotPrincipal: keep one."
            ));
        }
        (Some(p), None) => Some(PrincipalMatch {
            negated: false,
            principals: parse_principals(p, index)?,
        }),
        (None, Some(p)) => Some(PrincipalMatch {
            negated: true,
            principals: parse_principals(p, index)?,
        }),
        (None, None) => None,
    };
    match (kind, &principal) {
        (PolicyKind::Identity, Some(_)) => {
            return err(format!(
                "Statement {index}: an identity-based policy must not specify a Principal; the principal is the user or role the policy is attached to."
            ));
        }
        (PolicyKind::Resource, None) => {
            return err(format!(
                "Statement {index} is missing Principal: a key or bucket policy must say whom it applies to."
            ));
        }
        (PolicyKind::Trust, None) => {
            return err(format!(
                "Statement {index} is missing Principal: a trust policy must say who may assume the role."
            ));
        }
        _ => {}
    }
    let action = match (map.get("Action"), map.get("NotAction")) {
        (Some(_), Some(_)) => {
            return err(format!(
                "Statement {index} has both Action and NotAction: keep one."
            ));
        }
        (Some(a), None) => Matcher {
            negated: false,
            patterns: parse_actions(a, index, "Action")?,
        },
        (None, Some(a)) => Matcher {
            negated: true,
            patterns: parse_actions(a, index, "NotAction")?,
        },
        (None, None) => {
            return err(format!(
                "Statement {index} is missing Action: add the actions it covers, such as \"kms:Decrypt\"."
            ));
        }
    };
    let resource = match (map.get("Resource"), map.get("NotResource")) {
        (Some(_), Some(_)) => {
            return err(format!(
                "Statement {index} has both Resource and NotResource: keep one."
            ));
        }
        (Some(r), None) => Some(Matcher {
            negated: false,
            patterns: parse_strings(r, index, "Resource")?,
        }),
        (None, Some(r)) => Some(Matcher {
            negated: true,
            patterns: parse_strings(r, index, "NotResource")?,
        }),
        (None, None) => None,
    };
    match (kind, &resource) {
        (PolicyKind::Trust, Some(_)) => {
            return err(format!(
                "Statement {index} has a prohibited field Resource: a trust policy's resource is its role; remove Resource."
            ));
        }
        (PolicyKind::Identity | PolicyKind::Resource, None) => {
            return err(format!(
                "Statement {index} is missing Resource: add \"Resource\": \"*\" or the ARNs it covers."
            ));
        }
        _ => {}
    }
    if let Some(r) = &resource {
        for pattern in &r.patterns {
            if pattern != "*" && !pattern.starts_with("arn:") {
                return err(format!(
                    "Statement {index}: resource \"{pattern}\" must be \"*\" or an ARN starting with \"arn:\"."
                ));
            }
        }
    }
    let conditions = match map.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_conditions(c, index)?,
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_strings(value: &Value, index: usize, element: &str) -> Result<Vec<String>, PolicyError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    if items.is_empty() {
        return err(format!("Statement {index}: {element} must not be empty."));
    }
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => err(format!(
                "Statement {index}: every {element} entry must be a non-empty string."
            )),
        })
        .collect()
}

fn parse_actions(value: &Value, index: usize, element: &str) -> Result<Vec<String>, PolicyError> {
    let actions = parse_strings(value, index, element)?;
    for action in &actions {
        if action == "*" {
            continue;
        }
        let Some((service, name)) = action.split_once(':') else {
            return err(format!(
                "Statement {index}: action \"{action}\" must have the form service:Action, such as \"kms:Decrypt\"."
            ));
        };
        let service_ok = !service.is_empty()
            && service
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?');
        if !service_ok || !name_ok {
            return err(format!(
                "Statement {index}: \"{action}\" is not a valid action."
            ));
        }
    }
    Ok(actions)
}

fn parse_principals(value: &Value, index: usize) -> Result<Vec<PrincipalRef>, PolicyError> {
    let invalid = || {
        PolicyError(format!(
            "Statement {index}: Policy contains a statement with one or more invalid principals. Use \"*\", {{\"AWS\": \"<account id or ARN>\"}} or {{\"Service\": \"<service>.amazonaws.com\"}}."
        ))
    };
    match value {
        Value::String(s) if s == "*" => return Ok(vec![PrincipalRef::Anyone]),
        Value::Object(map) if !map.is_empty() => {
            let mut out = Vec::new();
            for (kind, entries) in map {
                let entries = parse_strings(entries, index, "Principal").map_err(|_| invalid())?;
                for entry in entries {
                    out.push(match kind.as_str() {
                        "AWS" => parse_aws_principal(&entry).ok_or_else(invalid)?,
                        "Service" => PrincipalRef::Service(entry),
                        "Federated" | "CanonicalUser" => PrincipalRef::Other(entry),
                        _ => return Err(invalid()),
                    });
                }
            }
            return Ok(out);
        }
        _ => {}
    }
    Err(invalid())
}

fn parse_aws_principal(entry: &str) -> Option<PrincipalRef> {
    if entry == "*" {
        return Some(PrincipalRef::Anyone);
    }
    if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
        return Some(PrincipalRef::Account(entry.to_string()));
    }
    let rest = entry.strip_prefix("arn:aws:")?;
    let (service, rest) = rest.split_once(':')?;
    let (region, rest) = rest.split_once(':')?;
    let (account, resource) = rest.split_once(':')?;
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if !region.is_empty() || !account_ok || resource.contains('*') || resource.contains('?') {
        return None;
    }
    match (service, resource) {
        ("iam", "root") => Some(PrincipalRef::Account(account.to_string())),
        ("iam", r) if r.starts_with("user/") || r.starts_with("role/") => {
            Some(PrincipalRef::Arn(entry.to_string()))
        }
        ("sts", r) if r.starts_with("assumed-role/") => Some(PrincipalRef::Arn(entry.to_string())),
        _ => None,
    }
}

fn parse_conditions(value: &Value, index: usize) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(blocks) = value else {
        return err(format!(
            "Statement {index}: Condition must be an object of operators."
        ));
    };
    let mut out = Vec::new();
    for (op_name, keys) in blocks {
        let operator = Operator::parse(op_name).ok_or_else(|| {
            PolicyError(format!(
                "Statement {index}: unknown condition operator \"{op_name}\" (operators are case-sensitive, such as StringEquals, Bool, Null, StringNotEqualsIfExists, ForAnyValue:StringLike)."
            ))
        })?;
        let Value::Object(keys) = keys else {
            return err(format!(
                "Statement {index}: {op_name} must map condition keys to values."
            ));
        };
        if keys.is_empty() {
            return err(format!(
                "Statement {index}: {op_name} has no condition keys."
            ));
        }
        for (key, raw) in keys {
            let items: Vec<&Value> = match raw {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            if items.is_empty() {
                return err(format!("Statement {index}: {op_name} {key} has no values."));
            }
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                values.push(match item {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => {
                        return err(format!(
                            "Statement {index}: {op_name} {key} values must be strings, numbers or booleans."
                        ));
                    }
                });
            }
            validate_condition_values(operator, key, &values, index)?;
            out.push(Condition {
                operator,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn validate_condition_values(
    op: Operator,
    key: &str,
    values: &[String],
    index: usize,
) -> Result<(), PolicyError> {
    use OperatorKind as K;
    let (invalid, what): (fn(&String) -> bool, &str) = match op.kind {
        K::Bool | K::Null => (|v| v != "true" && v != "false", "\"true\" or \"false\""),
        K::IpAddress | K::NotIpAddress => (
            |v| super::condition::parse_cidr(v).is_none(),
            "an IP address or CIDR block such as 203.0.113.0/24",
        ),
        k if k.is_numeric() => (|v| v.parse::<f64>().is_err(), "a number"),
        k if k.is_date() => (
            |v| super::condition::parse_date(v).is_none(),
            "an ISO 8601 date such as 2026-01-31T00:00:00Z, or epoch seconds",
        ),
        _ => return Ok(()),
    };
    if values.iter().any(invalid) {
        return err(format!(
            "Statement {index}: {op} {key}: every value must be {what}."
        ));
    }
    Ok(())
}
