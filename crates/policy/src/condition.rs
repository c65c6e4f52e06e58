//! Condition operators, wildcard matching and the request context they read.
//!
//! Implements the rules of the IAM User Guide's "Condition operators" page: the missing-key
//! rule (a key absent from the request makes a condition false, except for negated operators,
//! which are then true, `…IfExists`, which is true, and `Null`), the `ForAnyValue:` /
//! `ForAllValues:` set qualifiers for multi-valued keys, case-insensitive key names and
//! case-sensitive string values. Each evaluation returns a sentence for the decision trace.

use std::collections::BTreeMap;
use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::document::{Condition, OperatorKind, SetQualifier};

/// The condition keys of one request. Key names are stored lower-case, because AWS matches
/// condition key names case-insensitively; values keep their case.
#[derive(Debug, Clone, Default)]
pub struct ContextKeys {
    keys: BTreeMap<String, Vec<String>>,
}

impl ContextKeys {
    /// An empty context.
    pub fn new() -> ContextKeys {
        ContextKeys::default()
    }

    /// Sets a single-valued key, replacing any earlier value.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.keys
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
    }

    /// Sets a multi-valued key (such as `kms:EncryptionContextKeys`).
    pub fn set_many(&mut self, key: &str, values: Vec<String>) {
        self.keys.insert(key.to_ascii_lowercase(), values);
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) {
        self.keys.remove(&key.to_ascii_lowercase());
    }

    /// The values of a key, if the request has it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }

    /// All keys and values, for traces and reports.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.keys.iter()
    }
}

/// Matches `text` against a pattern with `*` (any run) and `?` (one character) wildcards.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Matches an ARN against an ARN pattern component by component, as `ArnLike` does: the first
/// five colons split service, region and account, and each part is wildcard-matched.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    let pat: Vec<&str> = pattern.splitn(6, ':').collect();
    let val: Vec<&str> = arn.splitn(6, ':').collect();
    if pat.len() != 6 || val.len() != 6 {
        return pattern == "*" || wildcard_match(pattern, arn);
    }
    pat.iter()
        .zip(val.iter())
        .all(|(p, v)| wildcard_match(p, v))
}

/// Parses a policy date: ISO 8601 (RFC 3339, or a bare date) or epoch seconds.
pub fn parse_date(value: &str) -> Option<OffsetDateTime> {
    if let Ok(secs) = value.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp(secs).ok();
    }
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(t);
    }
    let with_time = format!("{value}T00:00:00Z");
    OffsetDateTime::parse(&with_time, &Rfc3339).ok()
}

/// Parses an IP address or CIDR block into (network address, prefix length).
pub fn parse_cidr(value: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (value, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((ip, prefix))
}

fn ip_in_cidr(ip: &str, cidr: &str) -> bool {
    let (Ok(ip), Some((net, prefix))) = (ip.parse::<IpAddr>(), parse_cidr(cidr)) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

/// Applies a Numeric/Date operator to the ordering of request value against policy value.
fn compare(kind: OperatorKind, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let Some(o) = ordering else { return false };
    match kind
        .name()
        .trim_start_matches("Numeric")
        .trim_start_matches("Date")
    {
        "Equals" | "NotEquals" => o == Equal,
        "LessThan" => o == Less,
        "LessThanEquals" => o != Greater,
        "GreaterThan" => o == Greater,
        _ => o != Less,
    }
}

/// Compares one request value with one policy value under the *positive* form of `kind`
/// (`StringNotEquals` compares as `StringEquals`; the caller negates).
fn positive_match(kind: OperatorKind, request: &str, policy: &str) -> bool {
    use OperatorKind as K;
    match kind {
        K::StringEquals | K::StringNotEquals => request == policy,
        K::StringEqualsIgnoreCase | K::StringNotEqualsIgnoreCase => {
            request.to_lowercase() == policy.to_lowercase()
        }
        K::StringLike | K::StringNotLike => wildcard_match(policy, request),
        k if k.is_numeric() => {
            let (Ok(r), Ok(p)) = (request.parse::<f64>(), policy.parse::<f64>()) else {
                return false;
            };
            compare(kind, r.partial_cmp(&p))
        }
        k if k.is_date() => {
            let (Some(r), Some(p)) = (parse_date(request), parse_date(policy)) else {
                return false;
            };
            compare(kind, Some(r.cmp(&p)))
        }
        K::Bool => request.eq_ignore_ascii_case(policy),
        K::BinaryEquals => request == policy,
        K::IpAddress | K::NotIpAddress => ip_in_cidr(request, policy),
        K::ArnEquals | K::ArnLike | K::ArnNotEquals | K::ArnNotLike => arn_match(policy, request),
        // Null is decided on presence alone, before values are compared.
        _ => false,
    }
}

/// The outcome of one condition, with a sentence for the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionResult {
    /// Whether the condition holds.
    pub holds: bool,
    /// Why, in one sentence.
    pub reason: String,
}

fn show(values: &[String]) -> String {
    match values {
        [one] => format!("\"{one}\""),
        many => format!(
            "[{}]",
            many.iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Evaluates one condition against the request context.
pub fn evaluate(condition: &Condition, context: &ContextKeys) -> ConditionResult {
    let op = condition.operator;
    let key = &condition.key;
    let policy_values = &condition.values;
    let request_values = context.get(key);

    if op.kind == OperatorKind::Null {
        let want_absent = policy_values.iter().any(|v| v == "true");
        let absent = request_values.is_none_or(|v| v.is_empty());
        let holds = want_absent == absent;
        let state = if absent { "absent" } else { "present" };
        return ConditionResult {
            holds,
            reason: format!(
                "{op} {key} = {}: the key is {state}, so the condition is {holds}",
                show(policy_values)
            ),
        };
    }

    let values = match request_values {
        Some(v) if !v.is_empty() => v,
        _ => {
            let holds = match op.qualifier {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => op.if_exists,
                None => op.if_exists || op.kind.is_negated(),
            };
            let why = match op.qualifier {
                Some(SetQualifier::ForAllValues) => {
                    "ForAllValues is true when the request has no values"
                }
                Some(SetQualifier::ForAnyValue) if !op.if_exists => {
                    "ForAnyValue is false when the request has no values"
                }
                _ if op.if_exists => "IfExists makes an absent key true",
                _ if op.kind.is_negated() => "a negated operator is true when the key is absent",
                _ => "an absent key makes the condition false",
            };
            return ConditionResult {
                holds,
                reason: format!(
                    "{op} {key} = {}: the key is absent from the request; {why}",
                    show(policy_values)
                ),
            };
        }
    };

    let value_satisfies = |v: &String| {
        let any = policy_values.iter().any(|p| positive_match(op.kind, v, p));
        if op.kind.is_negated() { !any } else { any }
    };
    let holds = match op.qualifier {
        Some(SetQualifier::ForAllValues) => values.iter().all(value_satisfies),
        Some(SetQualifier::ForAnyValue) => values.iter().any(value_satisfies),
        None if op.kind.is_negated() => values.iter().all(value_satisfies),
        None => values.iter().any(value_satisfies),
    };
    ConditionResult {
        holds,
        reason: format!(
            "{op} {key} = {}: the request has {}, so the condition is {holds}",
            show(policy_values),
            show(values)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_iam_rules() {
        assert!(wildcard_match("kms:*", "kms:Decrypt"));
        assert!(wildcard_match("kms:Generate*", "kms:GenerateDataKey"));
        assert!(wildcard_match("kms:?ncrypt", "kms:Encrypt"));
        assert!(!wildcard_match("kms:?ncrypt", "kms:ReEncrypt"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a*b", "a"));
        assert!(wildcard_match(
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/a/b"
        ));
    }

    #[test]
    fn arn_like_matches_by_component() {
        assert!(arn_match(
            "arn:aws:kms:*:111122223333:key/*",
            "arn:aws:kms:us-east-1:111122223333:key/abc"
        ));
        assert!(!arn_match(
            "arn:aws:kms:*:111122223333:key/*",
            "arn:aws:kms:us-east-1:444455556666:key/abc"
        ));
    }

    #[test]
    fn cidr_matching() {
        assert!(ip_in_cidr("127.0.0.1", "127.0.0.0/8"));
        assert!(!ip_in_cidr("10.0.0.1", "127.0.0.0/8"));
        assert!(ip_in_cidr("::1", "::1/128"));
    }
}
