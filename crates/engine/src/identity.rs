//! Lab identities: accounts, IAM users and roles, their access keys, secrets and identity
//! policies, read from a strictly parsed TOML file (the embedded default has an owner, a
//! partner and an outsider account, each with an administrator and a least-privileged
//! principal). Secrets the file does not give are generated on first start and kept in the
//! state directory, so every learner's engine has its own. Secrets are zeroised on drop and
//! never appear in `Debug` output.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rand::Rng;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::roles::{Principal, Role, Sessions, TokenProblem, unique_id};
use super::state::{StateError, StateStore};
use keylab_policy::{Caller, PolicyDocument, PolicyKind};

/// The embedded default identity file.
pub const DEFAULT_IDENTITIES: &str = include_str!("default_identities.toml");

/// A secret access key: zeroised on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The secret itself; call only where it is really needed (signing, printing on request).
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn generate() -> Secret {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = rand::rng();
        Secret(
            (0..40)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    format_version: u32,
    #[serde(default)]
    account: Vec<AccountSpec>,
    #[serde(default)]
    identity: Vec<IdentitySpec>,
    #[serde(default)]
    role: Vec<RoleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    account: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_max_session")]
    max_session_duration: i64,
    trust_policy: String,
    #[serde(default)]
    policy: Vec<PolicySpec>,
    #[serde(default)]
    profile: Vec<RoleProfileSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleProfileSpec {
    name: String,
    source_profile: String,
}

/// A profile of the AWS CLI and SDKs that assumes a role (`role_arn` + `source_profile` in
/// `~/.aws/config`), as the lab shell's config should offer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleProfile {
    /// The profile name (`partner-analyst-in-owner`).
    pub name: String,
    /// The role it assumes.
    pub role_arn: String,
    /// The lab identity whose credentials assume it.
    pub source_profile: String,
}

fn default_max_session() -> i64 {
    crate::roles::DEFAULT_SESSION_SECONDS
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSpec {
    name: String,
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentitySpec {
    profile: String,
    account: String,
    kind: PrincipalKind,
    name: String,
    access_key_id: String,
    #[serde(default)]
    secret_access_key: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    policy: Vec<PolicySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    name: String,
    document: String,
}

/// An IAM user or a role (used through a session named after the profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// An IAM user with long-term keys.
    User,
    /// An IAM role; requests act as an assumed-role session.
    Role,
}

/// One account of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Its short name, such as `owner`.
    pub name: String,
    /// Its 12-digit id.
    pub id: String,
}

/// One lab identity.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The profile name learners choose it by (`--profile owner-admin`).
    pub profile: String,
    /// The account's short name.
    pub account_name: String,
    /// User or role.
    pub kind: PrincipalKind,
    /// The IAM user or role name.
    pub name: String,
    /// What policies see.
    pub caller: Caller,
    /// The unique id policies see as `aws:userid`: `AIDA…` for a user, `AROA…:<session>` for
    /// a role session.
    pub user_id: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: Secret,
    /// What the identity is for.
    pub description: String,
}

/// An identity-file problem, naming the file and saying how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong, with line and column where TOML reports them.
        message: String,
    },
    /// Generated secrets cannot be stored.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Identity policies that can change while the engine runs (an exercise may attach one).
pub type IdentityPolicies = BTreeMap<String, BTreeMap<String, String>>;

/// Parsed identity policies by profile, with their names.
type ParsedPolicies = HashMap<String, Vec<(String, Arc<PolicyDocument>)>>;

/// Role trust policies by role ARN, as text (what is saved).
pub type TrustPolicies = BTreeMap<String, String>;

/// All lab identities, roles, sessions and their policies.
#[derive(Debug)]
pub struct IdentitySet {
    accounts: Vec<Account>,
    identities: Vec<Identity>,
    by_key: HashMap<String, usize>,
    roles: RwLock<Vec<Role>>,
    role_profiles: Vec<RoleProfile>,
    trust: RwLock<ParsedTrust>,
    sessions: Sessions,
    policies: RwLock<ParsedPolicies>,
    policy_text: RwLock<IdentityPolicies>,
}

impl IdentitySet {
    /// Parses an identity file. `file` names it in errors. Secrets missing from the file are
    /// taken from (or generated into) `store`.
    pub fn parse(
        text: &str,
        file: &str,
        store: Option<&StateStore>,
    ) -> Result<IdentitySet, IdentityError> {
        let invalid = |message: String| IdentityError::Invalid {
            file: file.to_string(),
            message,
        };
        let spec: IdentityFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if spec.format_version != 1 {
            return Err(invalid(format!(
                "format_version {} is not supported: this keylab reads format_version = 1.",
                spec.format_version
            )));
        }
        let mut accounts = Vec::new();
        for a in &spec.account {
            if a.id.len() != 12 || !a.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "account \"{}\": id \"{}\" must be 12 digits.",
                    a.name, a.id
                )));
            }
            if accounts
                .iter()
                .any(|x: &Account| x.name == a.name || x.id == a.id)
            {
                return Err(invalid(format!(
                    "account \"{}\" ({}) is listed twice.",
                    a.name, a.id
                )));
            }
            accounts.push(Account {
                name: a.name.clone(),
                id: a.id.clone(),
            });
        }
        let mut stored: BTreeMap<String, Secret> = match store {
            Some(s) => s.load("credentials")?.unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let mut generated = false;
        let mut identities = Vec::new();
        let mut by_key = HashMap::new();
        let mut policy_text = IdentityPolicies::new();
        for id in spec.identity {
            let account = accounts.iter().find(|a| a.name == id.account).ok_or_else(|| {
                invalid(format!(
                    "identity \"{}\" names account \"{}\", which is not defined: add an [[account]] with that name.",
                    id.profile, id.account
                ))
            })?;
            let key_ok = id.access_key_id.len() >= 16
                && id.access_key_id.len() <= 128
                && id.access_key_id.bytes().all(|b| b.is_ascii_alphanumeric());
            if !key_ok {
                return Err(invalid(format!(
                    "identity \"{}\": access_key_id must be 16 to 128 letters and digits.",
                    id.profile
                )));
            }
            if by_key.contains_key(&id.access_key_id)
                || identities
                    .iter()
                    .any(|i: &Identity| i.profile == id.profile)
            {
                return Err(invalid(format!(
                    "identity \"{}\" or its access key is defined twice.",
                    id.profile
                )));
            }
            let secret = match (&id.secret_access_key, stored.get(&id.access_key_id)) {
                (Some(s), _) => Secret::new(s.clone()),
                (None, Some(s)) => s.clone(),
                (None, None) => {
                    let s = Secret::generate();
                    stored.insert(id.access_key_id.clone(), s.clone());
                    generated = true;
                    s
                }
            };
            let (caller, user_id) = match id.kind {
                PrincipalKind::User => {
                    let arn = format!("arn:aws:iam::{}:user/{}", account.id, id.name);
                    let user_id = unique_id("AIDA", &arn);
                    let caller = Caller {
                        arn: arn.clone(),
                        principal_arn: arn,
                        account: account.id.clone(),
                    };
                    (caller, user_id)
                }
                PrincipalKind::Role => {
                    let role_arn = format!("arn:aws:iam::{}:role/{}", account.id, id.name);
                    let user_id = format!("{}:{}", unique_id("AROA", &role_arn), id.profile);
                    let caller = Caller {
                        arn: format!(
                            "arn:aws:sts::{}:assumed-role/{}/{}",
                            account.id, id.name, id.profile
                        ),
                        principal_arn: role_arn,
                        account: account.id.clone(),
                    };
                    (caller, user_id)
                }
            };
            let mut docs = BTreeMap::new();
            for p in id.policy {
                PolicyDocument::parse(&p.document, PolicyKind::Identity).map_err(|e| {
                    invalid(format!(
                        "identity \"{}\", policy \"{}\": {e}",
                        id.profile, p.name
                    ))
                })?;
                docs.insert(p.name, p.document);
            }
            policy_text.insert(id.profile.clone(), docs);
            by_key.insert(id.access_key_id.clone(), identities.len());
            identities.push(Identity {
                profile: id.profile,
                account_name: account.name.clone(),
                kind: id.kind,
                name: id.name,
                caller,
                user_id,
                access_key_id: id.access_key_id,
                secret,
                description: id.description,
            });
        }
        if let (true, Some(store)) = (generated, store) {
            store.save("credentials", &stored)?;
        }
        let (roles, role_profiles, trust) =
            parse_roles(spec.role, &accounts, &identities, &mut policy_text).map_err(invalid)?;
        let set = IdentitySet {
            accounts,
            identities,
            by_key,
            roles: RwLock::new(roles),
            role_profiles,
            trust: RwLock::new(trust),
            sessions: Sessions::default(),
            policies: RwLock::new(HashMap::new()),
            policy_text: RwLock::new(IdentityPolicies::new()),
        };
        set.replace_policies(policy_text);
        Ok(set)
    }

    /// Reads and parses an identity file from disk.
    pub fn load(path: &Path, store: Option<&StateStore>) -> Result<IdentitySet, IdentityError> {
        let text = std::fs::read_to_string(path).map_err(|source| IdentityError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        IdentitySet::parse(&text, &path.display().to_string(), store)
    }

    /// The accounts.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Every identity.
    pub fn identities(&self) -> &[Identity] {
        &self.identities
    }

    /// The identity that owns a long-term access key, or the session of a temporary one
    /// (for a request whose session token was already checked with [`Self::authenticate`]).
    pub fn by_access_key(&self, access_key_id: &str) -> Option<Principal<'_>> {
        if let Some(&i) = self.by_key.get(access_key_id) {
            return Some(Principal::Long(&self.identities[i]));
        }
        self.sessions.get(access_key_id).map(Principal::Session)
    }

    /// The caller of a request signed with `access_key_id`: a long-term key when the request
    /// carries no session token (one map lookup, as before sessions existed), else a live
    /// session whose token is `token`.
    pub fn authenticate(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        now: time::OffsetDateTime,
    ) -> Result<Principal<'_>, TokenProblem> {
        match token {
            None => self
                .by_key
                .get(access_key_id)
                .map(|&i| Principal::Long(&self.identities[i]))
                .ok_or(TokenProblem::Invalid),
            Some(token) => self
                .sessions
                .check(access_key_id, token, now)
                .map(Principal::Session),
        }
    }

    /// The assumed-role sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The roles that can be assumed: the identity file's and those made by `CreateRole`.
    pub fn roles(&self) -> Vec<Role> {
        self.roles.read().expect("roles lock").clone()
    }

    /// The role profiles the identity file defines, for the AWS CLI config of the lab shell.
    pub fn role_profiles(&self) -> &[RoleProfile] {
        &self.role_profiles
    }

    /// The role with an ARN.
    pub fn role_by_arn(&self, arn: &str) -> Option<Role> {
        self.roles
            .read()
            .expect("roles lock")
            .iter()
            .find(|r| r.arn == arn)
            .cloned()
    }

    /// Makes a role (`CreateRole`) in the account with id `account`: a name no role or role
    /// identity of the account has, a session limit within AWS's range and a trust policy that
    /// names a principal. Returns the role.
    pub fn create_role(
        &self,
        account: &str,
        name: &str,
        description: &str,
        max_session_duration: i64,
        trust_policy: &str,
        now: i64,
    ) -> Result<Role, RoleChangeError> {
        let Some(account) = self.accounts.iter().find(|a| a.id == account) else {
            return Err(RoleChangeError::Invalid(format!(
                "{account} is not a lab account"
            )));
        };
        if !valid_role_name(name) {
            return Err(RoleChangeError::Invalid(
                "The specified value for roleName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-".into(),
            ));
        }
        if !(crate::roles::DEFAULT_SESSION_SECONDS..=crate::roles::MAX_SESSION_SECONDS)
            .contains(&max_session_duration)
        {
            return Err(RoleChangeError::Invalid(format!(
                "The requested MaxSessionDuration {max_session_duration} must be between 3600 and 43200 seconds."
            )));
        }
        let doc = PolicyDocument::parse(trust_policy, PolicyKind::Trust)
            .map_err(|e| RoleChangeError::Malformed(e.to_string()))?;
        let arn = format!("arn:aws:iam::{}:role/{name}", account.id);
        let mut roles = self.roles.write().expect("roles lock");
        let taken = roles.iter().any(|r| r.arn.eq_ignore_ascii_case(&arn))
            || self
                .identities
                .iter()
                .any(|i| i.caller.principal_arn.eq_ignore_ascii_case(&arn));
        if taken {
            return Err(RoleChangeError::Exists(format!(
                "Role with name {name} already exists."
            )));
        }
        let role = Role {
            account_name: account.name.clone(),
            account: account.id.clone(),
            role_id: unique_id("AROA", &arn),
            name: name.to_string(),
            arn: arn.clone(),
            description: description.to_string(),
            max_session_duration,
            policy_key: Role::policy_key_of(&account.name, name),
            created: true,
            create_date: now,
        };
        roles.push(role.clone());
        self.trust
            .write()
            .expect("trust lock")
            .insert(arn, (trust_policy.to_string(), Arc::new(doc)));
        Ok(role)
    }

    /// Removes a role made by `CreateRole` (`DeleteRole`); its inline policies must be gone
    /// first, as in AWS. The identity file's roles cannot be removed.
    pub fn delete_role(&self, arn: &str) -> Result<(), RoleChangeError> {
        let mut roles = self.roles.write().expect("roles lock");
        let Some(index) = roles.iter().position(|r| r.arn == arn) else {
            return Err(RoleChangeError::NotFound);
        };
        let role = &roles[index];
        if !role.created {
            return Err(RoleChangeError::Unmodifiable(format!(
                "The role {} is one of the lab's own roles (defined in its identity file) and cannot be deleted.",
                role.name
            )));
        }
        let has_policies = self
            .policy_text
            .read()
            .expect("policy lock")
            .get(&role.policy_key)
            .is_some_and(|m| !m.is_empty());
        if has_policies {
            return Err(RoleChangeError::Conflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        roles.remove(index);
        self.trust.write().expect("trust lock").remove(arn);
        Ok(())
    }

    /// The roles made by `CreateRole`, to be saved.
    pub fn created_roles(&self) -> Vec<Role> {
        self.roles
            .read()
            .expect("roles lock")
            .iter()
            .filter(|r| r.created)
            .cloned()
            .collect()
    }

    /// Restores roles made by `CreateRole` (their trust policies are restored with the
    /// others); a role whose name the identity file now uses is skipped.
    pub fn restore_created_roles(&self, saved: Vec<Role>) {
        let mut roles = self.roles.write().expect("roles lock");
        for role in saved {
            if !roles.iter().any(|r| r.arn == role.arn) && self.has_account(&role.account) {
                roles.push(role);
            }
        }
    }

    /// A role's trust policy, as text and parsed.
    pub fn trust_policy(&self, role_arn: &str) -> Option<(String, Arc<PolicyDocument>)> {
        self.trust
            .read()
            .expect("trust lock")
            .get(role_arn)
            .cloned()
    }

    /// Replaces a role's trust policy (validated first: it must name a principal).
    pub fn put_trust_policy(&self, role_arn: &str, document: &str) -> Result<(), String> {
        if self.role_by_arn(role_arn).is_none() {
            return Err(format!("no lab role has the ARN {role_arn}"));
        }
        let doc = PolicyDocument::parse(document, PolicyKind::Trust).map_err(|e| e.to_string())?;
        self.trust
            .write()
            .expect("trust lock")
            .insert(role_arn.to_string(), (document.to_string(), Arc::new(doc)));
        Ok(())
    }

    /// Every role's trust policy, as text.
    pub fn trust_texts(&self) -> TrustPolicies {
        self.trust
            .read()
            .expect("trust lock")
            .iter()
            .map(|(k, (t, _))| (k.clone(), t.clone()))
            .collect()
    }

    /// Restores saved trust policies; those of roles no longer defined, or that no longer
    /// parse, are skipped.
    pub fn restore_trust(&self, saved: TrustPolicies) {
        for (arn, text) in saved {
            let _ = self.put_trust_policy(&arn, &text);
        }
    }

    /// The identity with a profile name.
    pub fn by_profile(&self, profile: &str) -> Option<&Identity> {
        self.identities.iter().find(|i| i.profile == profile)
    }

    /// True when the account id is one of the lab's.
    pub fn has_account(&self, id: &str) -> bool {
        self.accounts.iter().any(|a| a.id == id)
    }

    /// True when a user or role ARN names a lab principal: an identity, or a role of the
    /// identity file or made by `CreateRole`.
    pub fn has_principal_arn(&self, arn: &str) -> bool {
        self.identities
            .iter()
            .any(|i| i.caller.principal_arn == arn || i.caller.arn == arn)
            || self
                .roles
                .read()
                .expect("roles lock")
                .iter()
                .any(|r| r.arn == arn)
    }

    /// The identity policies of a profile, parsed.
    pub fn policies_of(&self, profile: &str) -> Vec<(String, Arc<PolicyDocument>)> {
        self.policies
            .read()
            .expect("policy lock")
            .get(profile)
            .cloned()
            .unwrap_or_default()
    }

    /// The identity policy documents of every profile, as text.
    pub fn policy_texts(&self) -> IdentityPolicies {
        self.policy_text.read().expect("policy lock").clone()
    }

    /// Attaches (or replaces) an inline identity policy. The document is validated first.
    pub fn put_policy(&self, profile: &str, name: &str, document: &str) -> Result<(), String> {
        if self.by_profile(profile).is_none()
            && !self
                .roles
                .read()
                .expect("roles lock")
                .iter()
                .any(|r| r.policy_key == profile)
        {
            return Err(format!("no lab identity has the profile \"{profile}\""));
        }
        let doc =
            PolicyDocument::parse(document, PolicyKind::Identity).map_err(|e| e.to_string())?;
        let mut text = self.policy_text.write().expect("policy lock");
        text.entry(profile.to_string())
            .or_default()
            .insert(name.to_string(), document.to_string());
        let mut parsed = self.policies.write().expect("policy lock");
        let list = parsed.entry(profile.to_string()).or_default();
        list.retain(|(n, _)| n != name);
        list.push((name.to_string(), Arc::new(doc)));
        Ok(())
    }

    /// Removes an inline identity policy; returns whether it existed.
    pub fn delete_policy(&self, profile: &str, name: &str) -> bool {
        let mut text = self.policy_text.write().expect("policy lock");
        let existed = text
            .get_mut(profile)
            .is_some_and(|m| m.remove(name).is_some());
        let mut parsed = self.policies.write().expect("policy lock");
        if let Some(list) = parsed.get_mut(profile) {
            list.retain(|(n, _)| n != name);
        }
        existed
    }

    /// Replaces the identity policies of every principal `saved` names (used when loading
    /// saved state); a principal it does not name (a role added since it was saved) keeps the
    /// identity file's policies. Invalid documents are skipped, since they were validated
    /// when first stored.
    pub fn replace_policies(&self, saved: IdentityPolicies) {
        let mut all = self.policy_texts();
        all.extend(saved);
        let mut parsed = HashMap::new();
        for (profile, docs) in &all {
            let list: Vec<_> = docs
                .iter()
                .filter_map(|(name, text)| {
                    PolicyDocument::parse(text, PolicyKind::Identity)
                        .ok()
                        .map(|d| (name.clone(), Arc::new(d)))
                })
                .collect();
            parsed.insert(profile.clone(), list);
        }
        *self.policies.write().expect("policy lock") = parsed;
        *self.policy_text.write().expect("policy lock") = all;
    }
}

/// Why `CreateRole` or `DeleteRole` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChangeError {
    /// A name, a session limit or an account that IAM would refuse.
    Invalid(String),
    /// The trust policy does not parse.
    Malformed(String),
    /// The name is taken.
    Exists(String),
    /// No such role.
    NotFound,
    /// Inline policies are still attached.
    Conflict(String),
    /// One of the identity file's roles.
    Unmodifiable(String),
}

/// A role name as IAM accepts it: 1 to 64 letters, digits and `+=,.@_-`.
fn valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Parsed trust policies by role ARN.
type ParsedTrust = HashMap<String, (String, Arc<PolicyDocument>)>;

/// Validates the `[[role]]` entries: a known account, a name no other role or role identity
/// of the account uses, a session limit within AWS's range, a trust policy that names a
/// principal and valid identity policies (added to `policy_text` under the role's key).
fn parse_roles(
    specs: Vec<RoleSpec>,
    accounts: &[Account],
    identities: &[Identity],
    policy_text: &mut IdentityPolicies,
) -> Result<(Vec<Role>, Vec<RoleProfile>, ParsedTrust), String> {
    use crate::roles::MAX_SESSION_SECONDS;
    let mut roles: Vec<Role> = Vec::new();
    let mut profiles: Vec<RoleProfile> = Vec::new();
    let mut trust = HashMap::new();
    for r in specs {
        let account = accounts.iter().find(|a| a.name == r.account).ok_or_else(|| {
            format!(
                "role \"{}\" names account \"{}\", which is not defined: add an [[account]] with that name.",
                r.name, r.account
            )
        })?;
        if !valid_role_name(&r.name) {
            return Err(format!(
                "role \"{}\": a role name is 1 to 64 letters, digits and +=,.@_- characters.",
                r.name
            ));
        }
        let arn = format!("arn:aws:iam::{}:role/{}", account.id, r.name);
        let taken = roles.iter().any(|x| x.arn == arn)
            || identities.iter().any(|i| i.caller.principal_arn == arn);
        if taken {
            return Err(format!(
                "role \"{}\" in account \"{}\" is defined twice (as a [[role]] or a role [[identity]]).",
                r.name, r.account
            ));
        }
        if !(crate::roles::DEFAULT_SESSION_SECONDS..=MAX_SESSION_SECONDS)
            .contains(&r.max_session_duration)
        {
            return Err(format!(
                "role \"{}\": max_session_duration {} must be 3600 to 43200 seconds.",
                r.name, r.max_session_duration
            ));
        }
        let doc = PolicyDocument::parse(&r.trust_policy, PolicyKind::Trust)
            .map_err(|e| format!("role \"{}\", trust_policy: {e}", r.name))?;
        trust.insert(arn.clone(), (r.trust_policy.clone(), Arc::new(doc)));
        let policy_key = Role::policy_key_of(&account.name, &r.name);
        let mut docs = BTreeMap::new();
        for p in r.policy {
            PolicyDocument::parse(&p.document, PolicyKind::Identity)
                .map_err(|e| format!("role \"{}\", policy \"{}\": {e}", r.name, p.name))?;
            docs.insert(p.name, p.document);
        }
        policy_text.insert(policy_key.clone(), docs);
        for p in r.profile {
            let taken = identities.iter().any(|i| i.profile == p.name)
                || profiles.iter().any(|x| x.name == p.name);
            if taken || p.name.is_empty() || p.name.contains(char::is_whitespace) {
                return Err(format!(
                    "role \"{}\": profile \"{}\" is empty, has spaces or is already a profile name.",
                    r.name, p.name
                ));
            }
            if !identities.iter().any(|i| i.profile == p.source_profile) {
                return Err(format!(
                    "role \"{}\", profile \"{}\": source_profile \"{}\" is not a lab identity.",
                    r.name, p.name, p.source_profile
                ));
            }
            profiles.push(RoleProfile {
                name: p.name,
                role_arn: arn.clone(),
                source_profile: p.source_profile,
            });
        }
        roles.push(Role {
            account_name: account.name.clone(),
            account: account.id.clone(),
            role_id: unique_id("AROA", &arn),
            name: r.name,
            arn,
            description: r.description,
            max_session_duration: r.max_session_duration,
            policy_key,
            created: false,
            create_date: 0,
        });
    }
    Ok((roles, profiles, trust))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_identities_parse_and_get_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let set = IdentitySet::parse(DEFAULT_IDENTITIES, "default", Some(&store)).unwrap();
        assert_eq!(set.accounts().len(), 3);
        assert_eq!(set.identities().len(), 6);
        let analyst = set.by_profile("partner-analyst").unwrap();
        assert_eq!(
            analyst.caller.arn,
            "arn:aws:sts::444455556666:assumed-role/Analyst/partner-analyst"
        );
        assert_eq!(
            analyst.caller.principal_arn,
            "arn:aws:iam::444455556666:role/Analyst"
        );
        let again = IdentitySet::parse(DEFAULT_IDENTITIES, "default", Some(&store)).unwrap();
        assert_eq!(
            again.by_profile("partner-analyst").unwrap().secret,
            analyst.secret
        );
        assert!(!format!("{:?}", analyst.secret).contains(analyst.secret.expose()));
    }

    #[test]
    fn unknown_fields_are_errors_with_a_line() {
        let text = "format_version = 1\n[[account]]\nname = \"a\"\nid = \"111122223333\"\ncolour = \"red\"\n";
        let err = IdentitySet::parse(text, "ids.toml", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ids.toml") && err.contains("colour") && err.contains("line 5"),
            "{err}"
        );
    }

    #[test]
    fn an_identity_policy_with_a_principal_is_rejected() {
        let text = r#"format_version = 1
[[account]]
name = "a"
id = "111122223333"
[[identity]]
profile = "p"
account = "a"
kind = "user"
name = "u"
access_key_id = "AKIAAAAAAAAAAAAAAAAA"
[[identity.policy]]
name = "bad"
document = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'
"#;
        let err = IdentitySet::parse(text, "ids.toml", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must not specify a Principal"), "{err}");
    }
}
