//! Roles as engine resources and the sessions `sts:AssumeRole` hands out.
//!
//! A [`Role`] is defined in the identity file (`[[role]]`): its account, name, trust policy,
//! inline identity policies (kept with the identity set's other policies under
//! [`Role::policy_key`]) and longest session. It has no access keys of its own: it is used
//! through a [`Session`], whose temporary credentials (an `ASIA…` access key id, a secret and a
//! session token) expire on the engine's clock. Sessions are kept in memory (at most
//! [`MAX_SESSIONS`], the earliest to expire dropped first) and in the state store, so a
//! restarted engine still honours the credentials a learner's shell cached. A request is
//! looked up among sessions only when it carries a session token, so requests signed with
//! long-term keys pay nothing for them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::identity::{Identity, PrincipalKind, Secret};

/// The most live sessions kept; beyond it the sessions expiring soonest are dropped.
pub const MAX_SESSIONS: usize = 10_000;

/// The shortest session AssumeRole grants, in seconds (AWS's minimum `DurationSeconds`).
pub const MIN_SESSION_SECONDS: i64 = 900;

/// The longest session a role may allow, in seconds (12 hours, AWS's maximum).
pub const MAX_SESSION_SECONDS: i64 = 43_200;

/// The session length when `DurationSeconds` is not given.
pub const DEFAULT_SESSION_SECONDS: i64 = 3_600;

/// The longest session a role session may get by assuming another role (role chaining).
pub const CHAINED_SESSION_SECONDS: i64 = 3_600;

/// The state-store table of sessions, by access key id.
pub const SESSIONS_TABLE: &str = "sts-sessions";

/// An IAM role of a lab account, assumable through its trust policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    /// The account's short name (`owner`).
    pub account_name: String,
    /// The account id.
    pub account: String,
    /// The role name.
    pub name: String,
    /// `arn:aws:iam::<account>:role/<name>`.
    pub arn: String,
    /// The role's unique id (`AROA…`), the first half of a session's `aws:userid`.
    pub role_id: String,
    /// What the role is for.
    pub description: String,
    /// The longest session, in seconds (3,600 to 43,200).
    pub max_session_duration: i64,
    /// The key under which the identity set keeps the role's inline policies.
    pub policy_key: String,
    /// True for a role made by `CreateRole` (saved with the engine's state), false for one
    /// of the identity file.
    #[serde(default)]
    pub created: bool,
    /// When `CreateRole` made it (seconds since the epoch); 0 for the identity file's roles.
    #[serde(default)]
    pub create_date: i64,
}

impl Role {
    /// The policy key of a role: never a profile name, since profiles have no `:`.
    pub fn policy_key_of(account_name: &str, name: &str) -> String {
        format!("role:{account_name}:{name}")
    }

    /// The identity a session of this role acts as.
    pub fn session_identity(
        &self,
        session_name: &str,
        access_key_id: String,
        secret: Secret,
    ) -> Identity {
        Identity {
            profile: self.policy_key.clone(),
            account_name: self.account_name.clone(),
            kind: PrincipalKind::Role,
            name: self.name.clone(),
            caller: keylab_policy::Caller {
                arn: format!(
                    "arn:aws:sts::{}:assumed-role/{}/{session_name}",
                    self.account, self.name
                ),
                principal_arn: self.arn.clone(),
                account: self.account.clone(),
            },
            user_id: format!("{}:{session_name}", self.role_id),
            access_key_id,
            secret,
            description: self.description.clone(),
        }
    }
}

/// AWS-style unique id: `prefix` and 17 characters derived from `arn`, so it is stable
/// across restarts (`AIDA…` for users, `AROA…` for roles).
pub fn unique_id(prefix: &str, arn: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(arn.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{tail}")
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A fresh temporary access key id: `ASIA` and 16 upper-case letters and digits.
pub fn new_access_key_id() -> String {
    format!(
        "ASIA{}",
        random_string(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    )
}

/// A fresh 40-character secret access key.
pub fn new_secret() -> Secret {
    Secret::new(random_string(
        40,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    ))
}

/// A fresh session token (opaque to clients; 344 base64 characters).
pub fn new_token() -> Secret {
    use base64::Engine as _;
    let mut bytes = [0u8; 256];
    rand::rng().fill(&mut bytes[..]);
    Secret::new(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// One assumed-role session.
#[derive(Debug)]
pub struct Session {
    /// Who the session acts as (its ARN is the assumed-role ARN).
    pub identity: Identity,
    /// The session token clients send as `X-Amz-Security-Token`.
    pub token: Secret,
    /// When the credentials stop working (engine clock).
    pub expires: OffsetDateTime,
    /// The ARN of the principal that assumed the role.
    pub source_arn: String,
}

/// How a session is kept in the state store.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The role's ARN.
    pub role_arn: String,
    /// The session name.
    pub session_name: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: Secret,
    /// The session token.
    pub token: Secret,
    /// Expiry, seconds since the epoch (engine clock).
    pub expires: i64,
    /// The ARN of the principal that assumed the role.
    pub source_arn: String,
}

/// Why a session token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// The token or its access key is unknown, or they do not belong together.
    Invalid,
    /// The session has expired on the engine's clock.
    Expired,
}

/// The live sessions, by access key id.
#[derive(Debug, Default)]
pub struct Sessions {
    map: RwLock<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    /// Adds a session; returns the access keys of sessions dropped to make room (expired
    /// ones first, then those expiring soonest), for the caller to remove from the store.
    pub fn insert(&self, session: Session, now: OffsetDateTime) -> Vec<String> {
        let mut map = self.map.write().expect("sessions lock");
        let mut dropped = Vec::new();
        if map.len() >= MAX_SESSIONS {
            map.retain(|k, s| {
                let keep = s.expires > now;
                if !keep {
                    dropped.push(k.clone());
                }
                keep
            });
        }
        if map.len() >= MAX_SESSIONS {
            let mut by_expiry: Vec<(OffsetDateTime, String)> =
                map.iter().map(|(k, s)| (s.expires, k.clone())).collect();
            by_expiry.sort();
            for (_, k) in by_expiry.into_iter().take(MAX_SESSIONS / 10) {
                map.remove(&k);
                dropped.push(k);
            }
        }
        map.insert(session.identity.access_key_id.clone(), Arc::new(session));
        dropped
    }

    /// The session of an access key, when `token` is its token and it has not expired.
    pub fn check(
        &self,
        access_key_id: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<Session>, TokenProblem> {
        let session = self
            .map
            .read()
            .expect("sessions lock")
            .get(access_key_id)
            .cloned()
            .ok_or(TokenProblem::Invalid)?;
        let same: bool = session
            .token
            .expose()
            .as_bytes()
            .ct_eq(token.as_bytes())
            .into();
        if !same {
            return Err(TokenProblem::Invalid);
        }
        if session.expires <= now {
            return Err(TokenProblem::Expired);
        }
        Ok(session)
    }

    /// The session of an access key whatever its token (for a signature check that already
    /// passed [`Sessions::check`]).
    pub fn get(&self, access_key_id: &str) -> Option<Arc<Session>> {
        self.map
            .read()
            .expect("sessions lock")
            .get(access_key_id)
            .cloned()
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.map.read().expect("sessions lock").len()
    }

    /// True when no session is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A caller: a lab identity with long-term keys, or an assumed-role session.
#[derive(Debug, Clone)]
pub enum Principal<'a> {
    /// A lab identity (long-term access key).
    Long(&'a Identity),
    /// An assumed-role session (temporary credentials).
    Session(Arc<Session>),
}

impl Principal<'_> {
    /// True for temporary credentials.
    pub fn is_session(&self) -> bool {
        matches!(self, Principal::Session(_))
    }
}

impl std::ops::Deref for Principal<'_> {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        match self {
            Principal::Long(i) => i,
            Principal::Session(s) => &s.identity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(key: &str, expires: OffsetDateTime) -> Session {
        let role = Role {
            account_name: "owner".into(),
            account: "111122223333".into(),
            name: "R".into(),
            arn: "arn:aws:iam::111122223333:role/R".into(),
            role_id: unique_id("AROA", "arn:aws:iam::111122223333:role/R"),
            description: String::new(),
            max_session_duration: 3600,
            policy_key: Role::policy_key_of("owner", "R"),
            created: false,
            create_date: 0,
        };
        Session {
            identity: role.session_identity("s", key.into(), new_secret()),
            token: Secret::new(format!("token-{key}")),
            expires,
            source_arn: "arn:aws:iam::111122223333:user/admin".into(),
        }
    }

    #[test]
    fn a_session_needs_its_own_token_and_expires() {
        let now = OffsetDateTime::now_utc();
        let sessions = Sessions::default();
        sessions.insert(session("ASIAONE", now + time::Duration::hours(1)), now);
        assert!(sessions.check("ASIAONE", "token-ASIAONE", now).is_ok());
        assert_eq!(
            sessions.check("ASIAONE", "token-other", now).unwrap_err(),
            TokenProblem::Invalid
        );
        assert_eq!(
            sessions.check("ASIATWO", "token-ASIATWO", now).unwrap_err(),
            TokenProblem::Invalid
        );
        let later = now + time::Duration::hours(2);
        assert_eq!(
            sessions
                .check("ASIAONE", "token-ASIAONE", later)
                .unwrap_err(),
            TokenProblem::Expired
        );
        let s = sessions.get("ASIAONE").unwrap();
        assert_eq!(
            s.identity.caller.arn,
            "arn:aws:sts::111122223333:assumed-role/R/s"
        );
        assert!(s.identity.user_id.starts_with("AROA") && s.identity.user_id.ends_with(":s"));
    }

    #[test]
    fn sessions_are_bounded() {
        let now = OffsetDateTime::now_utc();
        let sessions = Sessions::default();
        for i in 0..MAX_SESSIONS + 5 {
            let expires = now + time::Duration::seconds(1000 + i as i64);
            sessions.insert(session(&format!("ASIA{i}"), expires), now);
        }
        assert!(sessions.len() <= MAX_SESSIONS);
        assert!(sessions.get(&format!("ASIA{}", MAX_SESSIONS + 4)).is_some());
        assert!(sessions.get("ASIA0").is_none());
    }
}
