//! The masking checks of a grader. The grader applies the learner's rules file to the
//! workspace tables itself (in memory, with the key the rules name, decrypted through the
//! backend for `kms:` keys), once per grading, and every masking check looks at that run with
//! the ground truth in hand: the originals are known, so leaks are searched for by value
//! ([`keylab_mask::attack`]), tokens are attacked with a dictionary and re-made under another
//! key, and k-anonymity is measured with a utility guard ([`keylab_mask::analyze`]).

use std::collections::{HashMap, HashSet};

use argon2::PasswordVerifier;

use super::check::{Failure, broken, fail};
use super::session::Session;
use crate::console::mask::resolve_key;
use crate::pack::{
    CheckKind, FormatsCheck, JoinsCheck, KAnonymityCheck, KeyedTokensCheck, MaskingSpec,
    PasswordHashesCheck,
};
use keylab_mask::{
    self as mask, Format, MasterKey, Options, Rules, Table, attack, scan::luhn_valid,
};

struct Input {
    name: String,
    format: Format,
    bytes: Vec<u8>,
    original: Table,
    masked: Table,
    masked_bytes: Vec<u8>,
}

/// A masked table the learner published to the backend, read back.
struct Published {
    name: String,
    bytes: Vec<u8>,
    rows: usize,
}

/// One masking run of the learner's rules over the grader's inputs.
pub struct MaskRun {
    rules: Rules,
    inputs: Vec<Input>,
    published: Vec<Published>,
    seed: u64,
}

/// A table's bytes and format by its name; Parquet is read back as CSV.
fn table_bytes(name: &str, bytes: Vec<u8>) -> Result<(Vec<u8>, Format), String> {
    if mask::columnar::is_parquet_name(name) {
        let csv = mask::parquet_rows::to_csv(bytes.into()).map_err(|e| format!("{name}: {e}"))?;
        return Ok((csv, Format::Csv));
    }
    let format =
        Format::from_name(name).ok_or_else(|| format!("{name} is not .csv, .jsonl or .parquet"))?;
    Ok((bytes, format))
}

/// Reads the table at `s3://BUCKET/KEY` through the backend with `settings`.
async fn read_object_table(
    settings: &crate::backend::sdk::ClientSettings,
    url: &str,
) -> Result<(Vec<u8>, Format), Failure> {
    let (bucket, key) = url
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .ok_or_else(|| broken(format!("[masking] {url} is not s3://BUCKET/KEY")))?;
    let (_, body) = crate::backend::envelope::fetch(settings, bucket, key)
        .await
        .map_err(|e| fail(format!("{url} cannot be read ({e})")))?;
    table_bytes(key, body).map_err(fail)
}

/// Reads a published copy back and counts its rows.
async fn read_published(
    settings: &crate::backend::sdk::ClientSettings,
    url: &str,
) -> Result<Published, Failure> {
    let (bytes, format) = read_object_table(settings, url).await.map_err(|f| {
        fail(format!(
            "{}: publish the masked table there",
            f.message.trim_end_matches('.')
        ))
    })?;
    let rows = Table::parse(&bytes, format)
        .map_err(|e| fail(format!("{url} is not a table: {e}")))?
        .rows
        .len();
    Ok(Published {
        name: url.to_string(),
        bytes,
        rows,
    })
}

/// Masks the inputs with the learner's rules.
pub(super) async fn prepare(session: &Session, spec: &MaskingSpec) -> Result<MaskRun, Failure> {
    let text = crate::confine::read_text(&session.workspace, &spec.rules).map_err(|_| {
        fail(format!(
            "{} is missing: write your masking rules in it",
            spec.rules
        ))
    })?;
    let rules = Rules::parse(&spec.rules, &text).map_err(|e| fail(e.to_string()))?;
    let profile = spec
        .profile
        .clone()
        .unwrap_or_else(|| session.exercise.spec.profile.clone());
    let settings = session.backend.settings(&profile, true).map_err(broken)?;
    crate::console::mask::confine_key_source(&rules, &session.workspace)
        .map_err(|e| fail(e.to_string()))?;
    let key = resolve_key(Some(&settings), &rules, &session.workspace)
        .await
        .map_err(fail)?;
    let mut inputs = Vec::new();
    for name in &spec.inputs {
        let (bytes, format) = if name.starts_with("s3://") {
            let url = session.substitute(name).map_err(broken)?;
            read_object_table(&settings, &url).await?
        } else {
            let bytes = crate::confine::read(&session.workspace, name)
                .map_err(|e| broken(format!("[masking] input {e}")))?;
            table_bytes(name, bytes).map_err(|e| broken(format!("[masking] input {e}")))?
        };
        let original = Table::parse(&bytes, format).map_err(|e| broken(format!("{name}: {e}")))?;
        inputs.push(Input {
            name: name.clone(),
            format,
            bytes,
            original,
            masked: Table::default(),
            masked_bytes: Vec::new(),
        });
    }
    let mut published = Vec::new();
    for url in &spec.published {
        let url = session.substitute(url).map_err(broken)?;
        published.push(read_published(&settings, &url).await?);
    }
    let mut run = MaskRun {
        rules,
        inputs,
        published,
        seed: session.seed,
    };
    let outputs = run
        .inputs
        .iter()
        .map(|input| run.mask(input, key.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    for (input, (bytes, table)) in run.inputs.iter_mut().zip(outputs) {
        input.masked_bytes = bytes;
        input.masked = table;
    }
    Ok(run)
}

impl MaskRun {
    /// Masks one input with the rules under `key`.
    fn mask(&self, input: &Input, key: Option<&MasterKey>) -> Result<(Vec<u8>, Table), Failure> {
        let options = Options {
            seed: Some(self.seed),
            ..Options::default()
        };
        let (bytes, _) = mask::mask_bytes(
            &self.rules,
            key,
            std::path::Path::new("."),
            &input.bytes,
            input.format,
            &options,
        )
        .map_err(|e| fail(format!("masking {} failed: {e}", input.name)))?;
        let table = Table::parse(&bytes, input.format)
            .map_err(|e| broken(format!("masked {}: {e}", input.name)))?;
        Ok((bytes, table))
    }

    fn pairs(&self, column: &str) -> Vec<(&str, Option<&str>)> {
        let mut out = Vec::new();
        for input in &self.inputs {
            let original = input.original.column(column);
            if original.is_empty() {
                continue;
            }
            let masked = input.masked.column(column);
            for (i, o) in original.into_iter().enumerate() {
                if let Some(o) = o.filter(|o| !o.is_empty()) {
                    out.push((o, masked.get(i).copied().flatten()));
                }
            }
        }
        out
    }

    fn input(&self, name: &str) -> Result<&Input, Failure> {
        self.inputs
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| broken(format!("{name} is not one of the [masking] inputs")))
    }
}

fn need_column<'a>(
    run: &'a MaskRun,
    column: &str,
) -> Result<Vec<(&'a str, Option<&'a str>)>, Failure> {
    let pairs = run.pairs(column);
    if pairs.is_empty() {
        return Err(broken(format!(
            "no [masking] input has values in column '{column}'"
        )));
    }
    Ok(pairs)
}

/// Runs one masking check on the run.
pub(super) fn check(run: &MaskRun, kind: &CheckKind) -> Result<(), Failure> {
    match kind {
        CheckKind::NoLeaks(c) => no_leaks(run, &c.columns),
        CheckKind::Formats(c) => formats(run, c),
        CheckKind::Joins(c) => joins(run, c),
        CheckKind::KeyedTokens(c) => keyed(run, c),
        CheckKind::PasswordHashes(c) => passwords(run, c),
        CheckKind::KAnonymity(c) => k_anonymity(run, c),
        _ => Err(broken("not a masking check")),
    }
}

fn no_leaks(run: &MaskRun, columns: &[String]) -> Result<(), Failure> {
    let mut originals = Vec::new();
    let mut column_of = HashMap::new();
    for column in columns {
        // Format-preserving encryption is a permutation: now and then a value maps to itself
        // (about one card in 10^5 under the Luhn cycle-walk), which no rule can avoid and is
        // not a leak of the learner's making.
        let fpe = run
            .rules
            .rules
            .iter()
            .any(|(r, _)| matches!(r, mask::rules::Rule::Fpe { .. }) && r.column() == column);
        for (o, masked) in need_column(run, column)? {
            if fpe && masked == Some(o) {
                continue;
            }
            column_of.insert(o.to_string(), column.as_str());
            originals.push(o.to_string());
        }
    }
    originals.sort();
    originals.dedup();
    let rows = run.inputs.first().map_or(0, |i| i.original.rows.len());
    if let Some(p) = run.published.iter().find(|p| p.rows != rows) {
        return Err(fail(format!(
            "{} holds {} rows where the table has {rows}: publish the whole masked table",
            p.name, p.rows
        )));
    }
    let mut haystack = Vec::new();
    for input in &run.inputs {
        haystack.extend_from_slice(&input.masked_bytes);
        haystack.push(b'\n');
    }
    for p in &run.published {
        let found = attack::leaks(&originals, &p.bytes);
        if let Some(first) = found.first() {
            return Err(fail(format!(
                "{} of {} sensitive values are in {}, e.g. '{first}' from column '{}': publish the masked table, not the original",
                found.len(),
                originals.len(),
                p.name,
                column_of[first]
            )));
        }
    }
    let found = attack::leaks(&originals, &haystack);
    let Some(first) = found.first() else {
        return Ok(());
    };
    Err(fail(format!(
        "{} of {} sensitive values are still in the masked output, e.g. '{first}' from column '{}' — look in every column, free text too",
        found.len(),
        originals.len(),
        column_of[first]
    )))
}

fn class(c: char) -> u8 {
    match c {
        '0'..='9' => 0,
        'a'..='z' => 1,
        'A'..='Z' => 2,
        _ => 3,
    }
}

fn formats(run: &MaskRun, c: &FormatsCheck) -> Result<(), Failure> {
    for column in &c.columns {
        let pairs = need_column(run, column)?;
        let mut same = 0;
        for (o, m) in &pairs {
            let m = m.unwrap_or("");
            let (oc, mc): (Vec<char>, Vec<char>) = (o.chars().collect(), m.chars().collect());
            let shape_kept = oc.len() == mc.len()
                && oc
                    .iter()
                    .zip(&mc)
                    .all(|(a, b)| class(*a) == class(*b) && (class(*a) != 3 || a == b));
            if !shape_kept {
                return Err(fail(format!(
                    "column '{column}': '{o}' became '{m}', which does not keep its format (length, digits, letters and separators in place)"
                )));
            }
            if luhn_valid(o) && !luhn_valid(m) {
                return Err(fail(format!(
                    "column '{column}': '{m}' fails the Luhn check that '{o}' passes: card-number systems will reject it"
                )));
            }
            same += usize::from(o == &m);
        }
        if same * 10 > pairs.len() {
            return Err(fail(format!(
                "column '{column}': {same} of {} values come out unchanged",
                pairs.len()
            )));
        }
    }
    Ok(())
}

fn split_ref(r: &str) -> Result<(&str, &str), Failure> {
    r.split_once(':')
        .ok_or_else(|| broken(format!("'{r}' is not file:column")))
}

fn joins(run: &MaskRun, c: &JoinsCheck) -> Result<(), Failure> {
    let mut sides = Vec::new();
    for r in [&c.left, &c.right] {
        let (file, column) = split_ref(r)?;
        let input = run.input(file)?;
        let original = input.original.column(column);
        let masked = input.masked.column(column);
        if original.is_empty() {
            return Err(broken(format!("{file} has no column '{column}'")));
        }
        if masked.is_empty() {
            return Err(fail(format!(
                "the masked {file} has no column '{column}' any more: a redacted key cannot join"
            )));
        }
        sides.push((r.as_str(), original, masked));
    }
    let mut token_of: HashMap<&str, &str> = HashMap::new();
    let mut original_of: HashMap<&str, &str> = HashMap::new();
    for (name, original, masked) in &sides {
        for (o, m) in original.iter().zip(masked) {
            let (Some(o), Some(m)) = (o, m) else {
                continue;
            };
            if let Some(prev) = token_of.insert(o, m)
                && prev != *m
            {
                return Err(fail(format!(
                    "'{o}' became '{prev}' in one place and '{m}' in {name}: the two columns do not share a pseudonymisation domain and key, so they no longer join"
                )));
            }
            if let Some(prev) = original_of.insert(m, o)
                && prev != *o
            {
                return Err(fail(format!(
                    "'{prev}' and '{o}' both became '{m}': tokens collide, so the join would match the wrong rows"
                )));
            }
        }
    }
    let matches = |left: &[Option<&str>], right: &[Option<&str>]| {
        let set: HashSet<&str> = left.iter().flatten().copied().collect();
        right.iter().flatten().filter(|v| set.contains(*v)).count()
    };
    let before = matches(&sides[0].1, &sides[1].1);
    let after = matches(&sides[0].2, &sides[1].2);
    if before != after {
        return Err(fail(format!(
            "the join {} = {} matched {before} rows before masking and {after} after",
            c.left, c.right
        )));
    }
    Ok(())
}

fn keyed(run: &MaskRun, c: &KeyedTokensCheck) -> Result<(), Failure> {
    // Only the inputs that hold the token columns are masked again.
    let other_key = MasterKey::random();
    let mut other = Vec::new();
    for input in &run.inputs {
        if c.columns
            .iter()
            .any(|col| input.original.index(col).is_some())
        {
            other.push((input, run.mask(input, Some(&other_key))?.1));
        }
    }
    let salts = run.rules.visible_strings();
    for column in &c.columns {
        let pairs = need_column(run, column)?;
        let mut unchanged = 0;
        let mut total = 0;
        for (input, table) in &other {
            let a = input.masked.column(column);
            let b = table.column(column);
            for (x, y) in a.iter().zip(&b) {
                if let Some(x) = x.filter(|x| !x.is_empty()) {
                    total += 1;
                    unchanged += usize::from(Some(x) == *y);
                }
            }
        }
        if total == 0 {
            return Err(fail(format!(
                "column '{column}' has no tokens in the output"
            )));
        }
        if unchanged > 0 {
            return Err(fail(format!(
                "column '{column}': {unchanged} of {total} tokens stay the same under another key — they do not depend on a secret, so anyone can recompute them"
            )));
        }
        let originals: Vec<&str> = pairs.iter().map(|(o, _)| *o).take(200).collect();
        let tokens: Vec<&str> = pairs.iter().filter_map(|(_, m)| *m).collect();
        if let Some(how) = attack::dictionary(&originals, &tokens, &salts) {
            return Err(fail(format!(
                "column '{column}': a dictionary attack reverses the tokens: {how}"
            )));
        }
    }
    Ok(())
}

fn passwords(run: &MaskRun, c: &PasswordHashesCheck) -> Result<(), Failure> {
    let pairs = need_column(run, &c.column)?;
    let mut salts = HashSet::new();
    for (i, (original, hash)) in pairs.iter().enumerate() {
        let hash = hash.unwrap_or("");
        let parsed = argon2::PasswordHash::new(hash).map_err(|_| {
            fail(format!(
                "column '{}': '{hash}' is not a PHC password hash string ($argon2id$v=19$m=…)",
                c.column
            ))
        })?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(fail(format!(
                "column '{}': {} is not Argon2id, the algorithm OWASP recommends",
                c.column, parsed.algorithm
            )));
        }
        let param = |n: &str| parsed.params.get_decimal(n).unwrap_or(0);
        if param("m") < mask::rules::ARGON_MIN_MEMORY_KIB
            || param("t") < mask::rules::ARGON_MIN_ITERATIONS
        {
            return Err(fail(format!(
                "column '{}': m={} t={} is below OWASP's minimum m=19456 t=2",
                c.column,
                param("m"),
                param("t")
            )));
        }
        let salt = parsed.salt.map(|s| s.to_string()).unwrap_or_default();
        if !salts.insert(salt) {
            return Err(fail(format!(
                "column '{}': two rows share a salt; every password needs its own random salt",
                c.column
            )));
        }
        if i < 2
            && argon2::Argon2::default()
                .verify_password(original.as_bytes(), &parsed)
                .is_err()
        {
            return Err(fail(format!(
                "column '{}': the hash of row {} does not verify against the original password",
                c.column,
                i + 1
            )));
        }
    }
    Ok(())
}

fn k_anonymity(run: &MaskRun, c: &KAnonymityCheck) -> Result<(), Failure> {
    let input = run.input(&c.input)?;
    let missing: Vec<&String> = c
        .quasi_identifiers
        .iter()
        .filter(|q| input.masked.index(q).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(fail(format!(
            "the masked {} lacks the quasi-identifier(s) {}: redacting them throws the data away; generalise them instead",
            c.input,
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let a = mask::analyze::analyze(
        &input.masked,
        &c.quasi_identifiers,
        c.sensitive.as_deref(),
        Some(c.k),
    )
    .map_err(|e| broken(e.to_string()))?;
    if a.suppression_rate > c.max_suppression {
        return Err(fail(format!(
            "{:.1}% of the rows are suppressed; at most {:.1}% may be",
            a.suppression_rate * 100.0,
            c.max_suppression * 100.0
        )));
    }
    if a.k < c.k {
        return Err(fail(format!(
            "k = {} (the smallest group of rows sharing {} has {} rows); {} is needed — generalise more or suppress the outliers",
            a.k,
            c.quasi_identifiers.join(", "),
            a.k,
            c.k
        )));
    }
    if a.normalized_aecs > c.max_class_size_ratio {
        return Err(fail(format!(
            "the classes average {:.1}× the size k needs (at most {:.1}×): the table is generalised far more than k = {} requires, and lost its use",
            a.normalized_aecs, c.max_class_size_ratio, c.k
        )));
    }
    if let (Some(l_req), Some(l)) = (c.l, a.l)
        && l < l_req
    {
        return Err(fail(format!(
            "l = {l}: some class has only {l} distinct values of {}; {l_req} are needed",
            c.sensitive.as_deref().unwrap_or_default()
        )));
    }
    Ok(())
}
