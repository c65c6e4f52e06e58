//! Per-learner names and data: every `{{var}}` of an exercise gets a value derived from the
//! learner's seed (SHA-256 of seed, exercise and name), so two learners get different bucket
//! names, aliases and dataset rows, and one learner gets the same ones every time. Built-in
//! variables name the backend (`{{http_endpoint}}`, `{{https_endpoint}}`, `{{region}}`) and the
//! lab accounts (`{{owner_account}}`, `{{partner_account}}`, `{{outsider_account}}`).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::pack::VarKind;

const WORDS: &[&str] = &[
    "amber", "birch", "cedar", "delta", "ember", "fjord", "glade", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "maple", "nimbus", "onyx", "prairie", "quartz", "raven", "sierra",
    "tundra",
];

fn digest(seed: u64, exercise: &str, name: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    h.update(exercise.as_bytes());
    h.update([0]);
    h.update(name.as_bytes());
    h.finalize().into()
}

/// The value of one variable for a seed.
pub fn value(seed: u64, exercise: &str, name: &str, kind: VarKind) -> String {
    let d = digest(seed, exercise, name);
    let word = WORDS[d[0] as usize % WORDS.len()];
    match kind {
        VarKind::Bucket => format!("keylab-{word}-{}", hex::encode(&d[1..4])),
        VarKind::Alias => format!("alias/{word}-{}", hex::encode(&d[1..3])),
        VarKind::Name => format!("{word}-{}", hex::encode(&d[1..3])),
        VarKind::Number => (1000 + u16::from_be_bytes([d[1], d[2]]) % 9000).to_string(),
    }
}

/// Replaces every `{{name}}` in `text`; an unknown name is an error that names it.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = rest[start + 2..start + end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| format!("{{{{{name}}}}} is not a variable of this exercise"))?;
        out.push_str(value);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces the `{{name}}` placeholders `vars` knows and leaves the others as written: for
/// text shown before an exercise is set up (a hint asked for from the command line).
pub fn fill_known(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let whole = &rest[start..start + end + 2];
        match vars.get(rest[start + 2..start + end].trim()) {
            Some(value) => out.push_str(value),
            None => out.push_str(whole),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// A generated table as CSV ([`keylab_mask::generate`]), seeded by the learner's seed and the
/// exercise: `customers`, `orders` (joining to the `customers` of the same rows) or `users`.
pub fn dataset(kind: &str, rows: u32, seed: u64, exercise: &str) -> Result<String, String> {
    let d = digest(seed, exercise, "dataset");
    let table_seed = u64::from_be_bytes(d[..8].try_into().expect("eight bytes"));
    keylab_mask::generate::table(kind, rows, table_seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_seed() {
        let a = value(1, "ex", "bucket", VarKind::Bucket);
        assert_eq!(a, value(1, "ex", "bucket", VarKind::Bucket));
        assert_ne!(a, value(2, "ex", "bucket", VarKind::Bucket));
        assert!(a.starts_with("keylab-") && a.len() <= 63);
        assert!(value(1, "ex", "a", VarKind::Alias).starts_with("alias/"));
        let vars = BTreeMap::from([("b".to_string(), "x".to_string())]);
        assert_eq!(substitute("s3://{{ b }}/{{b}}", &vars).unwrap(), "s3://x/x");
        assert!(substitute("{{c}}", &vars).unwrap_err().contains("{{c}}"));
        assert_eq!(fill_known("{{ b }} and {{c}} {{", &vars), "x and {{c}} {{");
        let csv = dataset("customers", 3, 7, "ex").unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert_ne!(csv, dataset("customers", 3, 8, "ex").unwrap());
    }
}
