//! The attacks a grader runs on masked output, with the ground truth in hand: a known-value
//! search (every original sensitive value and its normalised spellings, found anywhere in the
//! output with one `aho-corasick` automaton, free text included), and a dictionary battery
//! that tries to recompute tokens from the originals with unkeyed hashes (MD5, SHA-1, SHA-256,
//! SHA-512 in hex, upper hex, base64 and base64url, truncated or whole), with every string the
//! rules show as a salt before or after the value, and HMAC under an empty or visible key.
//! A keyed token survives all of it; `sha256(value || "visible salt")` does not.

use std::collections::HashSet;

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// The spellings of a sensitive value a leak search looks for.
pub fn spellings(value: &str) -> Vec<String> {
    let value = value.trim();
    let mut out = vec![value.to_string()];
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 12 {
        // Card numbers as people write them: in groups of four.
        let groups: Vec<String> = digits
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        out.push(groups.join(" "));
        out.push(groups.join("-"));
    }
    if digits.len() >= 7 && digits != value {
        out.push(digits);
    }
    let lower = value.to_lowercase();
    if lower != value {
        out.push(lower);
    }
    out.retain(|s| s.chars().count() >= 4);
    out.sort();
    out.dedup();
    out
}

/// The original values (of those given) found in `haystack`.
pub fn leaks(originals: &[String], haystack: &[u8]) -> Vec<String> {
    let mut needles = Vec::new();
    let mut owner = Vec::new();
    for (i, v) in originals.iter().enumerate() {
        for s in spellings(v) {
            needles.push(s);
            owner.push(i);
        }
    }
    if needles.is_empty() {
        return Vec::new();
    }
    let ac = AhoCorasick::new(&needles).expect("literal patterns build");
    let mut found: Vec<usize> = ac
        .find_overlapping_iter(haystack)
        .map(|m| owner[m.pattern().as_usize()])
        .collect();
    found.sort_unstable();
    found.dedup();
    found.into_iter().map(|i| originals[i].clone()).collect()
}

fn encodings(digest: &[u8]) -> [String; 4] {
    [
        hex::encode(digest),
        hex::encode_upper(digest),
        STANDARD.encode(digest),
        URL_SAFE_NO_PAD.encode(digest),
    ]
}

/// The first original whose token the battery recomputes, with how: `None` when the tokens
/// resist it. `salts` are strings an attacker can read (the rules file, the output).
pub fn dictionary(originals: &[&str], tokens: &[&str], salts: &[String]) -> Option<String> {
    let tokens: HashSet<&str> = tokens.iter().copied().filter(|t| t.len() >= 8).collect();
    let mut lengths: Vec<usize> = tokens.iter().map(|t| t.len()).collect();
    lengths.sort_unstable();
    lengths.dedup();
    let hit = |candidate: &str| {
        lengths
            .iter()
            .any(|&n| candidate.len() >= n && tokens.contains(&candidate[..n]))
    };
    let mut extras: Vec<&str> = vec![""];
    extras.extend(salts.iter().map(String::as_str));
    for &value in originals {
        let mut forms = vec![value.to_string(), value.trim().to_lowercase()];
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            forms.push(digits);
        }
        forms.dedup();
        for form in &forms {
            for salt in &extras {
                let inputs = [format!("{form}{salt}"), format!("{salt}{form}")];
                for input in &inputs {
                    let digests: [(&str, Vec<u8>); 4] = [
                        ("MD5", md5::Md5::digest(input).to_vec()),
                        ("SHA-1", sha1::Sha1::digest(input).to_vec()),
                        ("SHA-256", Sha256::digest(input).to_vec()),
                        ("SHA-512", Sha512::digest(input).to_vec()),
                    ];
                    for (name, d) in digests {
                        if encodings(&d).iter().any(|e| hit(e)) {
                            return Some(format!(
                                "{name}({}) recomputes the token of '{value}'",
                                describe(form, salt, input)
                            ));
                        }
                    }
                }
                let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(salt.as_bytes())
                    .expect("any key");
                mac.update(form.as_bytes());
                if encodings(&mac.finalize().into_bytes())
                    .iter()
                    .any(|e| hit(e))
                {
                    return Some(format!(
                        "HMAC-SHA-256 with the key \"{salt}\" recomputes the token of '{value}'"
                    ));
                }
            }
        }
    }
    None
}

fn describe(form: &str, salt: &str, input: &str) -> String {
    if salt.is_empty() {
        format!("\"{form}\"")
    } else if input.starts_with(form) {
        format!("\"{form}\" + salt \"{salt}\"")
    } else {
        format!("salt \"{salt}\" + \"{form}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_leaks_and_unkeyed_hashes() {
        let originals = vec!["912-34-5678".to_string(), "ana@example.com".to_string()];
        let out = b"note: ssn 912345678 was here; mail ***@example.com";
        assert_eq!(leaks(&originals, out), vec!["912-34-5678".to_string()]);
        let token = hex::encode(Sha256::digest("912-34-5678pepper"));
        let salts = vec!["pepper".to_string()];
        let found = dictionary(&["912-34-5678"], &[&token], &salts).unwrap();
        assert!(
            found.contains("SHA-256") && found.contains("pepper"),
            "{found}"
        );
        let truncated = &URL_SAFE_NO_PAD.encode(Sha256::digest("912345678"))[..22];
        assert!(dictionary(&["912-34-5678"], &[truncated], &[]).is_some());
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&[7; 32]).unwrap();
        mac.update(b"912-34-5678");
        let keyed = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert_eq!(dictionary(&["912-34-5678"], &[&keyed], &salts), None);
    }
}
