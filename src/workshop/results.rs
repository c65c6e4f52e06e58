//! The results file a learner hands in (`keylab submit`): who (learner name, workshop id),
//! with what (pack name and SHA-256, seed, keylab version), and per exercise the last checks,
//! the checks failed over time, hints, attempts, times and the evidence re-runnable checks
//! need. The payload is signed with the learner's Ed25519 key, which keylab makes on first use
//! and keeps in the learner's data directory (mode 0600); the public key travels in the file.
//!
//! What the signature proves: the file was not edited after `keylab submit` by anyone without
//! the learner's key. It does not prove who the learner is: an instructor who needs that notes
//! each learner's key fingerprint (printed by `keylab submit`) at the start of the workshop.
//! The payload is signed as serialised from these types (fields in declaration order, maps
//! sorted), and verified by parsing into the same types, which deny unknown fields, and
//! serialising again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::lab::grader::Evidence;
use crate::lab::progress::{Progress, RecordedCheck};
use crate::pack::Pack;

/// What a results file says it is.
pub const KIND: &str = "keylab-results";

/// The results format.
pub const FORMAT_VERSION: u32 = 1;

/// The pack a learner worked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackId {
    /// `pack.toml` name.
    pub name: String,
    /// SHA-256 of its files.
    pub hash: String,
    /// SHA-256 of what grading depends on ([`Pack::grading_hash`]): results whose pack differs
    /// only in prose (lessons, READMEs, questions) are still accepted. Absent in files made by
    /// an older keylab, which then need the same [`PackId::hash`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<String>,
}

/// One exercise's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseResult {
    /// The exercise id.
    pub id: String,
    /// Checks run.
    pub attempts: u32,
    /// Hints shown.
    pub hints_used: u32,
    /// First opened.
    pub first_opened_at: Option<DateTime<Utc>>,
    /// First passed (RFC 3339).
    pub passed_at: Option<String>,
    /// The last check's results.
    pub checks: Vec<RecordedCheck>,
    /// Failures per check (by its place in the grader) over every attempt.
    pub failed_checks: BTreeMap<usize, u32>,
    /// What the last check looked at.
    pub evidence: Evidence,
    /// When the last check ran (absent in files of an older keylab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<DateTime<Utc>>,
    /// How many checks failed with exactly this set of checks failing (the places in the
    /// grader, comma-separated: `"1,3"`), over every attempt: the class table tells a
    /// starting-state failure from a mistake by it. Absent in files of an older keylab.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failing_sets: BTreeMap<String, u32>,
}

/// Everything signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The learner's name.
    pub learner: String,
    /// The workshop id.
    pub workshop: String,
    /// The pack.
    pub pack: PackId,
    /// The learner's seed.
    pub seed: u64,
    /// The keylab that wrote it.
    pub keylab_version: String,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Every exercise the learner opened, in course order.
    pub exercises: Vec<ExerciseResult>,
}

/// A results file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsFile {
    /// [`KIND`].
    pub kind: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The signed content.
    pub payload: Payload,
    /// The learner's Ed25519 public key, hex.
    pub public_key: String,
    /// The signature of the payload, hex.
    pub signature: String,
}

pub use crate::lab::learner::{fingerprint, learner_key};

/// Builds the payload from a learner's progress.
pub fn payload(
    pack: &Pack,
    progress: &Progress,
    learner: &str,
    workshop: &str,
    now: DateTime<Utc>,
) -> Payload {
    let exercises = pack
        .exercises
        .iter()
        .filter_map(|x| progress.exercises.get(&x.id).map(|p| (x, p)))
        .map(|(x, p)| ExerciseResult {
            id: x.id.clone(),
            attempts: p.attempts,
            hints_used: p.hints_used,
            first_opened_at: p.first_opened_at,
            passed_at: p
                .passed_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            checks: p
                .checks
                .iter()
                .map(|c| RecordedCheck {
                    message: without_home(&c.message),
                    ..c.clone()
                })
                .collect(),
            failed_checks: p.failed_checks.clone(),
            evidence: p.evidence.clone(),
            last_checked_at: p.last_checked_at,
            failing_sets: p.failing_sets.clone(),
        })
        .collect();
    Payload {
        learner: learner.to_string(),
        workshop: workshop.to_string(),
        pack: PackId {
            name: pack.manifest.name.clone(),
            hash: pack.hash(),
            grading: Some(pack.grading_hash()),
        },
        seed: progress.seed,
        keylab_version: env!("CARGO_PKG_VERSION").to_string(),
        submitted_at: now,
        exercises,
    }
}

/// A message with the learner's home folder written `~`: a results file leaves the machine,
/// and absolute paths say more about it than the instructor needs.
fn without_home(message: &str) -> String {
    match directories::BaseDirs::new() {
        Some(dirs) => {
            let home = dirs.home_dir().to_string_lossy();
            if home.len() > 1 {
                message.replace(home.as_ref(), "~")
            } else {
                message.to_string()
            }
        }
        None => message.to_string(),
    }
}

/// Signs a payload.
pub fn sign(payload: Payload, key: &SigningKey) -> ResultsFile {
    let bytes = serde_json::to_vec(&payload).expect("payloads serialize");
    let signature = key.sign(&bytes);
    ResultsFile {
        kind: KIND.into(),
        format_version: FORMAT_VERSION,
        payload,
        public_key: hex::encode(key.verifying_key().to_bytes()),
        signature: hex::encode(signature.to_bytes()),
    }
}

/// Parses a results file and checks its signature; the error says what is wrong.
pub fn read_verified(bytes: &[u8]) -> Result<ResultsFile, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
        return Err("not a keylab results file (no \"kind\": \"keylab-results\")".into());
    }
    let file: ResultsFile =
        serde_json::from_value(value).map_err(|e| format!("tampered or damaged: {e}"))?;
    if file.format_version != FORMAT_VERSION {
        return Err(format!(
            "results format_version {} is not one this keylab reads ({FORMAT_VERSION})",
            file.format_version
        ));
    }
    let public: [u8; 32] = hex::decode(&file.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("tampered: the public key is not 32 bytes of hex")?;
    let key =
        VerifyingKey::from_bytes(&public).map_err(|_| "tampered: not an Ed25519 public key")?;
    let signature: [u8; 64] = hex::decode(&file.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("tampered: the signature is not 64 bytes of hex")?;
    let bytes = serde_json::to_vec(&file.payload).expect("payloads serialize");
    key.verify_strict(&bytes, &Signature::from_bytes(&signature))
        .map_err(
            |_| "tampered: the signature does not match the content (edited after keylab submit)",
        )?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_file_verifies_and_any_edit_shows() {
        let pack = Pack::embedded().unwrap();
        let mut progress = Progress::new(9);
        progress.entry("first-cmk").attempts = 2;
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let file = sign(
            payload(&pack, &progress, "Ada", "w1", DateTime::UNIX_EPOCH),
            &key,
        );
        let bytes = serde_json::to_vec_pretty(&file).unwrap();
        assert_eq!(read_verified(&bytes).unwrap(), file);
        let edited = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\"attempts\": 2", "\"attempts\": 1");
        assert!(
            read_verified(edited.as_bytes())
                .unwrap_err()
                .contains("signature does not match")
        );
        let added = String::from_utf8(bytes).unwrap().replacen(
            "\"learner\"",
            "\"extra\": 1, \"learner\"",
            1,
        );
        assert!(
            read_verified(added.as_bytes())
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            read_verified(b"{}")
                .unwrap_err()
                .contains("not a keylab results file")
        );
    }

    #[test]
    fn a_file_of_an_older_keylab_without_the_new_fields_still_verifies() {
        let pack = Pack::embedded().unwrap();
        let mut progress = Progress::new(9);
        progress.entry("first-cmk").attempts = 1;
        let mut p = payload(&pack, &progress, "Ada", "w1", DateTime::UNIX_EPOCH);
        p.pack.grading = None;
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let bytes = serde_json::to_vec(&sign(p, &key)).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        for field in ["grading", "failing_sets", "last_checked_at"] {
            assert!(!text.contains(field), "{field} in {text}");
        }
        assert!(read_verified(&bytes).is_ok());
    }
}
