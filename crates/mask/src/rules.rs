//! The masking rules file: TOML, parsed strictly. Every `[[rule]]` names one column and one
//! operation (`op`); its other fields belong to that operation, and a field the operation does
//! not have is an error naming the file, the line and the fields it does have. Keys are never
//! in this file: `[key] source` says where the key comes from.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::MaskError;
use crate::toml_lines::{describe, line_of};

/// The rules format this keylab reads.
pub const FORMAT_VERSION: u32 = 1;

/// A parsed rules file.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The file, for messages.
    pub file: String,
    /// Where the master key comes from, when a rule needs one.
    pub key: Option<KeySpec>,
    /// The rules, in file order, with their lines.
    pub rules: Vec<(Rule, usize)>,
    /// The columns whose rules say `optional = true`: an input may lack them. Any other rule's
    /// column missing from an input is an error.
    pub optional: BTreeSet<String>,
    /// k-anonymity suppression to apply after the rules.
    pub anonymity: Option<AnonymitySpec>,
    /// How the masked copy is stored.
    pub output: Option<OutputSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    format_version: u32,
    #[serde(default)]
    key: Option<KeySpec>,
    #[serde(default)]
    rule: Vec<toml::Spanned<toml::Table>>,
    #[serde(default)]
    anonymity: Option<AnonymitySpec>,
    #[serde(default)]
    output: Option<OutputSpec>,
}

/// `[output]`: how the masked copy is stored when it goes to S3.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The KMS key (id, ARN or alias) an `s3://` output is encrypted under with SSE-KMS.
    pub sse_kms_key: Option<String>,
}

/// `[key]`: a reference to the master key, never the key itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// `env:NAME`, `file:PATH` or `kms:PATH` (a KMS ciphertext blob, decrypted through the
    /// active backend).
    pub source: String,
    /// The encryption context the KMS blob was made with.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
}

/// `[anonymity]`: suppress the rows that keep a table from k-anonymity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymitySpec {
    /// The quasi-identifier columns, after masking.
    pub quasi_identifiers: Vec<String>,
    /// The smallest class size wanted.
    pub k: usize,
    /// Rows in smaller classes get every quasi-identifier replaced by `*` (ARX's record
    /// suppression); without it the rules only report.
    #[serde(default)]
    pub suppress: bool,
}

/// How a value is canonicalised before it is tokenised, so spellings of one value join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Bytes as they are.
    None,
    /// Trimmed, inner whitespace collapsed to one space.
    #[default]
    Text,
    /// Trimmed and lower-cased.
    Email,
    /// Digits only (SSNs, card numbers).
    Digits,
    /// Digits only, a 10-digit NANP number prefixed with the country code 1 (E.164 without `+`).
    Phone,
}

/// How a token is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Unpadded URL-safe base64.
    #[default]
    Base64url,
    /// Lower-case hex.
    Hex,
}

/// An unkeyed hash algorithm (taught as the mistake it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgorithm {
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    #[default]
    Sha256,
    /// SHA-512.
    Sha512,
}

/// Which characters FF1 encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// Digits; everything else stays in place.
    #[default]
    Digits,
    /// Digits, lower-case and upper-case letters, each within its own class.
    Alphanumeric,
}

/// A date generalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatePart {
    /// `YYYY-MM`.
    Month,
    /// `YYYY`.
    Year,
    /// `1980s`.
    Decade,
}

/// A free-text entity that `scan_replace` finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Entity {
    /// An e-mail address.
    EmailAddress,
    /// A 13–19 digit card number with a valid Luhn digit.
    CreditCard,
    /// A US SSN (`ddd-dd-dddd`), without the never-issued forms.
    UsSsn,
    /// A NANP phone number.
    PhoneNumber,
    /// An IPv4 address.
    IpAddress,
}

impl Entity {
    /// Every entity.
    pub const ALL: [Entity; 5] = [
        Entity::EmailAddress,
        Entity::CreditCard,
        Entity::UsSsn,
        Entity::PhoneNumber,
        Entity::IpAddress,
    ];

    /// The name used in rules and placeholders.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::EmailAddress => "EMAIL_ADDRESS",
            Entity::CreditCard => "CREDIT_CARD",
            Entity::UsSsn => "US_SSN",
            Entity::PhoneNumber => "PHONE_NUMBER",
            Entity::IpAddress => "IP_ADDRESS",
        }
    }
}

/// One rule: a column and what to do with it.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// Remove the column from the output (DataBrew DELETE).
    Redact {
        /// The column.
        column: String,
    },
    /// Empty value (CSV) or `null` (JSON Lines).
    Null {
        /// The column.
        column: String,
    },
    /// A fixed value (Presidio replace).
    Replace {
        /// The column.
        column: String,
        /// The value written.
        with: String,
    },
    /// Mask characters, keeping some at either end and leaving separators alone.
    Mask {
        /// The column.
        column: String,
        /// Characters kept at the start.
        #[serde(default)]
        keep_first: usize,
        /// Characters kept at the end.
        #[serde(default)]
        keep_last: usize,
        /// The mask character.
        #[serde(default = "star")]
        char: char,
        /// Characters never masked nor counted (such as `-`, `@`, `.`).
        #[serde(default)]
        ignore: String,
    },
    /// Less precise values: a date part, a number bucket, a ZIP prefix or a hierarchy level.
    Generalize {
        /// The column.
        column: String,
        /// For `YYYY-MM-DD` dates.
        #[serde(default)]
        to: Option<DatePart>,
        /// For numbers: buckets this wide (`30-39`).
        #[serde(default)]
        bucket: Option<u64>,
        /// For codes such as ZIPs: keep this many leading characters, `*` for the rest.
        #[serde(default)]
        keep_digits: Option<usize>,
        /// An ARX hierarchy file (`;`-separated, one row per value, one column per level).
        #[serde(default)]
        hierarchy: Option<String>,
        /// The hierarchy level (1 = one step up).
        #[serde(default)]
        level: Option<usize>,
    },
    /// Round numbers to a multiple of `step`, halves away from zero.
    Round {
        /// The column.
        column: String,
        /// The step (1 = whole numbers, 1000 = thousands).
        step: f64,
    },
    /// Permute the column's values between rows, within groups (DataBrew SHUFFLE_ROWS).
    Shuffle {
        /// The column.
        column: String,
        /// Columns whose values form the groups.
        #[serde(default)]
        group_by: Vec<String>,
    },
    /// An unkeyed hash, optionally with a visible salt: shown in the course as the mistake
    /// it is (a dictionary reverses it), never a pseudonym.
    Hash {
        /// The column.
        column: String,
        /// The algorithm.
        #[serde(default)]
        algorithm: HashAlgorithm,
        /// Text appended before hashing (Presidio's `salt`).
        #[serde(default)]
        salt: Option<String>,
    },
    /// HMAC-SHA-256 token under a per-domain key: keeps joins, not reversible.
    HmacToken {
        /// The column.
        column: String,
        /// The pseudonymisation domain; columns that must join share it (default: the column).
        #[serde(default)]
        domain: Option<String>,
        /// Canonicalisation before hashing.
        #[serde(default)]
        normalize: Normalize,
        /// Output encoding.
        #[serde(default)]
        encoding: Encoding,
        /// Token length in bits (128 or 256).
        #[serde(default = "bits_128")]
        bits: u32,
    },
    /// AES-SIV (RFC 5297) with the domain as associated data: keeps joins, reversible.
    DeterministicEncrypt {
        /// The column.
        column: String,
        /// The domain (default: the column).
        #[serde(default)]
        domain: Option<String>,
    },
    /// FF1 format-preserving encryption (NIST SP 800-38G).
    Fpe {
        /// The column.
        column: String,
        /// The domain, used as the FF1 tweak (default: the column).
        #[serde(default)]
        domain: Option<String>,
        /// Which characters are encrypted.
        #[serde(default)]
        alphabet: Alphabet,
        /// Alphabet characters kept at the start (a card's BIN).
        #[serde(default)]
        keep_prefix: usize,
        /// Alphabet characters kept at the end (a card's last four).
        #[serde(default)]
        keep_suffix: usize,
        /// Keep a valid Luhn check digit (card numbers), by cycle-walking.
        #[serde(default)]
        luhn: bool,
    },
    /// Argon2id with a random salt per row, as a PHC string.
    PasswordHash {
        /// The column.
        column: String,
        /// Memory in KiB (OWASP minimum 19456).
        #[serde(default = "argon_memory")]
        memory_kib: u32,
        /// Passes (OWASP minimum 2).
        #[serde(default = "argon_iterations")]
        iterations: u32,
        /// Lanes.
        #[serde(default = "one")]
        parallelism: u32,
    },
    /// Find entities inside free text and replace them.
    ScanReplace {
        /// The column.
        column: String,
        /// The entities (default: all).
        #[serde(default)]
        entities: Vec<Entity>,
        /// The replacement; `{TYPE}` is the entity's name.
        #[serde(default = "type_placeholder")]
        with: String,
    },
}

fn star() -> char {
    '*'
}
fn bits_128() -> u32 {
    128
}
/// OWASP's minimum Argon2id memory, KiB.
pub const ARGON_MIN_MEMORY_KIB: u32 = 19456;
/// OWASP's minimum Argon2id passes.
pub const ARGON_MIN_ITERATIONS: u32 = 2;
fn argon_memory() -> u32 {
    ARGON_MIN_MEMORY_KIB
}
fn argon_iterations() -> u32 {
    ARGON_MIN_ITERATIONS
}
fn one() -> u32 {
    1
}
fn type_placeholder() -> String {
    "<{TYPE}>".into()
}

impl Rule {
    /// The column it acts on.
    pub fn column(&self) -> &str {
        match self {
            Rule::Redact { column }
            | Rule::Null { column }
            | Rule::Replace { column, .. }
            | Rule::Mask { column, .. }
            | Rule::Generalize { column, .. }
            | Rule::Round { column, .. }
            | Rule::Shuffle { column, .. }
            | Rule::Hash { column, .. }
            | Rule::HmacToken { column, .. }
            | Rule::DeterministicEncrypt { column, .. }
            | Rule::Fpe { column, .. }
            | Rule::PasswordHash { column, .. }
            | Rule::ScanReplace { column, .. } => column,
        }
    }

    /// The operation's name as written in rules.
    pub fn op(&self) -> &'static str {
        match self {
            Rule::Redact { .. } => "redact",
            Rule::Null { .. } => "null",
            Rule::Replace { .. } => "replace",
            Rule::Mask { .. } => "mask",
            Rule::Generalize { .. } => "generalize",
            Rule::Round { .. } => "round",
            Rule::Shuffle { .. } => "shuffle",
            Rule::Hash { .. } => "hash",
            Rule::HmacToken { .. } => "hmac_token",
            Rule::DeterministicEncrypt { .. } => "deterministic_encrypt",
            Rule::Fpe { .. } => "fpe",
            Rule::PasswordHash { .. } => "password_hash",
            Rule::ScanReplace { .. } => "scan_replace",
        }
    }

    /// Whether it needs the master key.
    pub fn needs_key(&self) -> bool {
        matches!(
            self,
            Rule::HmacToken { .. } | Rule::DeterministicEncrypt { .. } | Rule::Fpe { .. }
        )
    }

    /// Whether the key holder can undo it (`keylab mask --reverse`).
    pub fn is_reversible(&self) -> bool {
        matches!(self, Rule::DeterministicEncrypt { .. } | Rule::Fpe { .. })
    }
}

/// The operations, for messages.
pub const OPS: &str = "redact, null, replace, mask, generalize, round, shuffle, hash, hmac_token, deterministic_encrypt, fpe, password_hash, scan_replace";

impl Rules {
    /// Parses a rules file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Rules, MaskError> {
        let parsed: RulesFile = toml::from_str(text).map_err(|e| {
            let (line, mut message, fix) = describe(text, &e);
            if message.contains("unknown variant") && message.contains("expected one of") {
                message = format!("{message} (the operations are: {OPS})");
            }
            let fix = fix
                .unwrap_or("see `keylab mask --help` and the masking lesson for the rule format");
            MaskError::Rules {
                file: file.to_string(),
                line,
                message,
                fix: fix.to_string(),
            }
        })?;
        let rules_error = |line: Option<usize>, message: String, fix: &str| MaskError::Rules {
            file: file.to_string(),
            line,
            message,
            fix: fix.to_string(),
        };
        if parsed.format_version != FORMAT_VERSION {
            return Err(rules_error(
                Some(1),
                format!(
                    "format_version {} is not one this keylab reads",
                    parsed.format_version
                ),
                "write format_version = 1",
            ));
        }
        let mut rules = Vec::new();
        let mut optional = BTreeSet::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for spanned in parsed.rule {
            let line = line_of(text, spanned.span().start);
            let (rule, is_optional) = rule_of(spanned.into_inner())
                .map_err(|(m, fix)| rules_error(Some(line), m, fix))?;
            if is_optional {
                optional.insert(rule.column().to_string());
            }
            if let Some(first) = seen.insert(rule.column().to_string(), line) {
                return Err(rules_error(
                    Some(line),
                    format!(
                        "column '{}' already has a rule (line {first}); one rule per column",
                        rule.column()
                    ),
                    "keep one rule for the column",
                ));
            }
            check_rule(&rule).map_err(|(m, fix)| rules_error(Some(line), m, fix))?;
            rules.push((rule, line));
        }
        if let Some(key) = &parsed.key
            && !["env:", "file:", "kms:"]
                .iter()
                .any(|p| key.source.starts_with(p))
        {
            return Err(rules_error(
                None,
                format!("[key] source \"{}\" is not a key reference", key.source),
                "write env:NAME, file:PATH or kms:PATH (a KMS ciphertext blob); the key itself never goes in the rules",
            ));
        }
        if let Some(a) = &parsed.anonymity
            && (a.k < 2 || a.quasi_identifiers.is_empty())
        {
            return Err(rules_error(
                None,
                "[anonymity] needs quasi_identifiers and k of at least 2".into(),
                "list the quasi-identifier columns and set k = 2 or more",
            ));
        }
        Ok(Rules {
            file: file.to_string(),
            key: parsed.key,
            rules,
            optional,
            anonymity: parsed.anonymity,
            output: parsed.output,
        })
    }

    /// Whether any rule needs the master key.
    pub fn needs_key(&self) -> bool {
        self.rules.iter().any(|(r, _)| r.needs_key())
    }

    /// Rules that do what the user asked but not what they probably want.
    pub fn warnings(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|(r, _)| matches!(r, Rule::Hash { .. }))
            .map(|(r, line)| {
                format!(
                    "{}:{line}: hash of column '{}' is unkeyed: anyone can hash every candidate value and match it (a visible salt does not help); use hmac_token with a key",
                    self.file,
                    r.column()
                )
            })
            .collect()
    }

    /// Every string in the rules that could be a salt or a key someone typed in (for the
    /// dictionary battery of the grader).
    pub fn visible_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (rule, _) in &self.rules {
            match rule {
                Rule::Hash { salt: Some(s), .. } => out.push(s.clone()),
                Rule::Replace { with, .. } => out.push(with.clone()),
                _ => {}
            }
        }
        out
    }
}

/// A `[[rule]]` table as a rule and its `optional` flag (which every operation takes).
fn rule_of(mut table: toml::Table) -> Result<(Rule, bool), (String, &'static str)> {
    let optional = match table.remove("optional") {
        None => false,
        Some(toml::Value::Boolean(b)) => b,
        Some(other) => {
            return Err((
                format!("optional = {other} is not true or false"),
                "write optional = true for a column some inputs lack",
            ));
        }
    };
    let rule = toml::Value::Table(table).try_into::<Rule>().map_err(|e| {
        let mut message = e.message().trim().to_string();
        let fix = if message.starts_with("unknown field") {
            message.push_str(", or `optional`");
            "remove the field or correct its spelling to one of those expected"
        } else if message.starts_with("missing field") {
            "add the field"
        } else {
            if message.contains("unknown variant") && message.contains("expected one of") {
                message = format!("{message} (the operations are: {OPS})");
            }
            "see `keylab mask --help` and the masking lesson for the rule format"
        };
        (message, fix)
    })?;
    Ok((rule, optional))
}

fn check_rule(rule: &Rule) -> Result<(), (String, &'static str)> {
    let column = rule.column();
    match rule {
        Rule::Mask { char, .. } if char.is_control() => Err((
            format!("mask of column '{column}': the mask character must be printable"),
            "use char = \"*\" or \"#\"",
        )),
        Rule::Generalize {
            to,
            bucket,
            keep_digits,
            hierarchy,
            level,
            ..
        } => {
            let chosen = [
                to.is_some(),
                bucket.is_some(),
                keep_digits.is_some(),
                hierarchy.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if chosen != 1 {
                return Err((
                    format!(
                        "generalize of column '{column}' needs exactly one of to, bucket, keep_digits, hierarchy"
                    ),
                    "e.g. to = \"year\", bucket = 10, keep_digits = 3 or hierarchy = \"zip.csv\" with level = 1",
                ));
            }
            if hierarchy.is_some() != level.is_some() {
                return Err((
                    format!("generalize of column '{column}': hierarchy and level go together"),
                    "give both hierarchy = \"FILE\" and level = N",
                ));
            }
            if *bucket == Some(0) {
                return Err((
                    format!("generalize of column '{column}': bucket must be at least 1"),
                    "e.g. bucket = 10",
                ));
            }
            Ok(())
        }
        Rule::Round { step, .. } if !(step.is_finite() && *step > 0.0) => Err((
            format!("round of column '{column}': step must be a positive number"),
            "e.g. step = 1000",
        )),
        Rule::HmacToken { bits, .. } if *bits != 128 && *bits != 256 => Err((
            format!("hmac_token of column '{column}': bits must be 128 or 256"),
            "128 bits keeps collisions out of reach (birthday bound 2^64)",
        )),
        Rule::PasswordHash {
            memory_kib,
            iterations,
            parallelism,
            ..
        } if *memory_kib < ARGON_MIN_MEMORY_KIB
            || *iterations < ARGON_MIN_ITERATIONS
            || *parallelism == 0 =>
        {
            Err((
                format!(
                    "password_hash of column '{column}': m={memory_kib} KiB, t={iterations}, p={parallelism} is below OWASP's Argon2id minimum (m=19456, t=2, p=1)"
                ),
                "leave the parameters out to get OWASP's minimum",
            ))
        }
        Rule::ScanReplace { with, .. } if with.is_empty() => Err((
            format!("scan_replace of column '{column}': with must not be empty"),
            "e.g. with = \"<{TYPE}>\"",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Rules::parse("rules.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn strict_parsing_names_the_line() {
        let ok = Rules::parse(
            "rules.toml",
            "format_version = 1\n[key]\nsource = \"env:K\"\n[[rule]]\ncolumn = \"email\"\nop = \"hmac_token\"\ndomain = \"customer\"\n",
        )
        .unwrap();
        assert_eq!(ok.rules[0].1, 4);
        assert!(ok.needs_key());
        let e = err("format_version = 1\n[[rule]]\ncolumn = \"a\"\nop = \"mask\"\nkeep_lst = 4\n");
        assert!(e.contains("rules.toml:") && e.contains("keep_lst"), "{e}");
        let e = err("format_version = 1\n[[rule]]\ncolumn = \"a\"\nop = \"sha\"\n");
        assert!(e.contains("hmac_token"), "{e}");
        let e = err(
            "format_version = 1\n[[rule]]\ncolumn = \"a\"\nop = \"null\"\n[[rule]]\ncolumn = \"a\"\nop = \"redact\"\n",
        );
        assert!(e.contains(":5:") && e.contains("line 2"), "{e}");
        let e = err("format_version = 1\n[key]\nsource = \"0123abcd\"\n");
        assert!(e.contains("env:NAME"), "{e}");
        let e = err(
            "format_version = 1\n[[rule]]\ncolumn = \"p\"\nop = \"password_hash\"\nmemory_kib = 1024\n",
        );
        assert!(e.contains("OWASP"), "{e}");
        let e = err("format_version = 1\n[[rule]]\ncolumn = \"d\"\nop = \"generalize\"\n");
        assert!(e.contains("exactly one"), "{e}");
    }
}
