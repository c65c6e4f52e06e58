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

/// A generated dataset as CSV: `customers` (id, name, email, SSN, card, city, spend).
pub fn dataset(kind: &str, rows: u32, seed: u64, exercise: &str) -> Result<String, String> {
    if kind != "customers" {
        return Err(format!(
            "dataset '{kind}' is not known; the datasets are: customers"
        ));
    }
    const FIRST: &[&str] = &[
        "Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kemal", "Lea",
    ];
    const LAST: &[&str] = &[
        "Silva", "Berg", "Wong", "Okafor", "Novak", "Haddad", "Rossi", "Tanaka", "Dubois", "Khan",
    ];
    const CITIES: &[&str] = &["Lisbon", "Oslo", "Lagos", "Osaka", "Lyon", "Pune", "Austin"];
    let mut out = String::from("id,name,email,ssn,card_number,city,spend\n");
    for i in 0..rows {
        let d = digest(seed, exercise, &format!("row{i}"));
        let first = FIRST[d[0] as usize % FIRST.len()];
        let last = LAST[d[1] as usize % LAST.len()];
        let city = CITIES[d[2] as usize % CITIES.len()];
        let n = |k: usize| u32::from_be_bytes([0, d[k], d[k + 1], d[k + 2]]);
        out.push_str(&format!(
            "{},{first} {last},{}.{}@example.com,{:03}-{:02}-{:04},4{:015},{city},{}.{:02}\n",
            i + 1,
            first.to_lowercase(),
            last.to_lowercase(),
            900 + n(3) % 100,
            n(6) % 100,
            n(9) % 10000,
            u64::from(n(12)) * 1_000_003 % 1_000_000_000_000_000,
            n(15) % 5000,
            n(18) % 100
        ));
    }
    Ok(out)
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
        let csv = dataset("customers", 3, 7, "ex").unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert_ne!(csv, dataset("customers", 3, 8, "ex").unwrap());
    }
}
