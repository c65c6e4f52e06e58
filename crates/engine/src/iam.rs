//! IAM as the engine serves it: the inline identity policies of the lab's users and roles
//! (Put/Get/Delete/List Role- and UserPolicy), and roles themselves (`CreateRole`, `GetRole`,
//! `DeleteRole`, `UpdateAssumeRolePolicy`; the identity file's roles cannot be deleted). Every call is authorized first, as AWS does,
//! by the caller's own identity policies for the `iam:` action on the target principal's ARN
//! (IAM has no resource policies), and only then changes the identity set, which is saved.
//! Principals are looked up in the caller's account only: IAM never reaches into another
//! account.

use std::sync::Arc;

use keylab_policy::eval::decide_with;
use keylab_policy::{ContextKeys, Decision, Policies, Request};

use crate::identity::{Identity, IdentitySet, PrincipalKind, RoleChangeError};
use crate::state::StateStore;

/// An IAM error, with AWS's code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct IamError {
    /// AWS's error code (`NoSuchEntity`, `AccessDenied`, `MalformedPolicyDocument`, …).
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The denied decision, for `AccessDenied`.
    pub decision: Option<Box<Decision>>,
}

impl IamError {
    fn new(code: &'static str, message: impl Into<String>) -> IamError {
        IamError {
            code,
            message: message.into(),
            decision: None,
        }
    }
}

/// The principal an inline-policy call names: a role or a user of the caller's account.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Role or user.
    pub kind: PrincipalKind,
    /// Its name (`RoleName`/`UserName`).
    pub name: &'a str,
}

impl Target<'_> {
    fn noun(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Role => "role",
            PrincipalKind::User => "user",
        }
    }

    /// `Role` or `User`, as IAM's action names spell it.
    fn title(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Role => "Role",
            PrincipalKind::User => "User",
        }
    }
}

/// The IAM service over the lab identities.
#[derive(Debug)]
pub struct Iam {
    identities: Arc<IdentitySet>,
    store: Arc<StateStore>,
}

impl Iam {
    /// IAM over `identities`, saving their policies in `store`.
    pub fn new(identities: Arc<IdentitySet>, store: Arc<StateStore>) -> Iam {
        Iam { identities, store }
    }

    /// Finds the target in the caller's account and authorizes `iam:<verb><Role|User><noun>`,
    /// such as `iam:PutRolePolicy` or `iam:ListUserPolicies`.
    fn authorize(
        &self,
        caller: &Identity,
        verb: &str,
        target: Target<'_>,
        noun: &str,
    ) -> Result<String, IamError> {
        let account = &caller.caller.account;
        let identity = self.identities.identities().iter().find(|i| {
            &i.caller.account == account && i.kind == target.kind && i.name == target.name
        });
        let role = (target.kind == PrincipalKind::Role)
            .then(|| {
                self.identities
                    .roles()
                    .into_iter()
                    .find(|r| &r.account == account && r.name == target.name)
            })
            .flatten();
        let found = identity
            .map(|i| i.profile.clone())
            .or_else(|| role.map(|r| r.policy_key.clone()))
            .ok_or_else(|| {
                IamError::new(
                    "NoSuchEntity",
                    format!(
                        "The {} with name {} cannot be found.",
                        target.noun(),
                        target.name
                    ),
                )
            })?;
        let action = format!("iam:{verb}{}{noun}", target.title());
        let resource = format!("arn:aws:iam::{account}:{}/{}", target.noun(), target.name);
        let identity_policies = self.identities.policies_of(&caller.profile);
        let context = ContextKeys::new();
        let request = Request {
            caller: &caller.caller,
            action: &action,
            resource: &resource,
            resource_account: account,
            context: &context,
        };
        let decision = decide_with(&request, &Policies::identity_only(&identity_policies), true);
        if decision.allowed {
            return Ok(found);
        }
        Err(IamError {
            code: "AccessDenied",
            message: decision.message(),
            decision: Some(Box::new(decision)),
        })
    }

    /// Saves every identity policy.
    pub(crate) fn save(&self) -> Result<(), IamError> {
        self.store
            .save("iam", &self.identities.policy_texts())
            .map_err(|e| IamError::new("ServiceFailure", e.to_string()))
    }

    /// Put(Role|User)Policy: attaches or replaces an inline policy (validated first).
    pub fn put_policy(
        &self,
        caller: &Identity,
        target: Target<'_>,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        let found = self.authorize(caller, "Put", target, "Policy")?;
        self.identities
            .put_policy(&found, policy_name, document)
            .map_err(|m| IamError::new("MalformedPolicyDocument", m))?;
        self.save()
    }

    /// Get(Role|User)Policy: the document's text.
    pub fn get_policy(
        &self,
        caller: &Identity,
        target: Target<'_>,
        policy_name: &str,
    ) -> Result<String, IamError> {
        let found = self.authorize(caller, "Get", target, "Policy")?;
        self.identities
            .policy_texts()
            .get(&found)
            .and_then(|p| p.get(policy_name))
            .cloned()
            .ok_or_else(|| no_such_policy(target, policy_name))
    }

    /// Delete(Role|User)Policy.
    pub fn delete_policy(
        &self,
        caller: &Identity,
        target: Target<'_>,
        policy_name: &str,
    ) -> Result<(), IamError> {
        let found = self.authorize(caller, "Delete", target, "Policy")?;
        if !self.identities.delete_policy(&found, policy_name) {
            return Err(no_such_policy(target, policy_name));
        }
        self.save()
    }

    /// List(Role|User)Policies: the inline policy names.
    pub fn list_policies(
        &self,
        caller: &Identity,
        target: Target<'_>,
    ) -> Result<Vec<String>, IamError> {
        let found = self.authorize(caller, "List", target, "Policies")?;
        Ok(self
            .identities
            .policy_texts()
            .get(&found)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default())
    }
}

/// The document name roles made by `CreateRole` are saved under.
pub const CREATED_ROLES_DOC: &str = "iam-roles";

/// What `GetRole` and `CreateRole` answer with.
#[derive(Debug, Clone)]
pub struct RoleView {
    /// The role.
    pub role: crate::roles::Role,
    /// Its trust policy, as text.
    pub trust_policy: String,
}

impl Iam {
    /// Decides `action` on `resource` (of the caller's account) by the caller's identity
    /// policies.
    fn authorize_action(
        &self,
        caller: &Identity,
        action: &str,
        resource: &str,
    ) -> Result<(), IamError> {
        let identity_policies = self.identities.policies_of(&caller.profile);
        let context = ContextKeys::new();
        let request = Request {
            caller: &caller.caller,
            action,
            resource,
            resource_account: &caller.caller.account,
            context: &context,
        };
        let decision = decide_with(&request, &Policies::identity_only(&identity_policies), true);
        if decision.allowed {
            return Ok(());
        }
        Err(IamError {
            code: "AccessDenied",
            message: decision.message(),
            decision: Some(Box::new(decision)),
        })
    }

    fn role_arn(caller: &Identity, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", caller.caller.account)
    }

    fn view(&self, role: crate::roles::Role) -> RoleView {
        let trust_policy = self
            .identities
            .trust_policy(&role.arn)
            .map(|(text, _)| text)
            .unwrap_or_default();
        RoleView { role, trust_policy }
    }

    fn no_such_role(name: &str) -> IamError {
        IamError::new(
            "NoSuchEntity",
            format!("The role with name {name} cannot be found."),
        )
    }

    fn save_roles(&self) -> Result<(), IamError> {
        self.store
            .save(CREATED_ROLES_DOC, &self.identities.created_roles())
            .and_then(|()| {
                self.store
                    .save(crate::sts::TRUST_DOC, &self.identities.trust_texts())
            })
            .map_err(|e| IamError::new("ServiceFailure", e.to_string()))
    }

    /// `CreateRole` in the caller's account, with its trust policy.
    pub fn create_role(
        &self,
        caller: &Identity,
        name: &str,
        description: &str,
        max_session_duration: Option<i64>,
        trust_policy: &str,
        now: i64,
    ) -> Result<RoleView, IamError> {
        self.authorize_action(caller, "iam:CreateRole", &Self::role_arn(caller, name))?;
        let role = self
            .identities
            .create_role(
                &caller.caller.account,
                name,
                description,
                max_session_duration.unwrap_or(crate::roles::DEFAULT_SESSION_SECONDS),
                trust_policy,
                now,
            )
            .map_err(role_change_error)?;
        self.save_roles()?;
        Ok(self.view(role))
    }

    /// `GetRole`: a role of the caller's account and its trust policy.
    pub fn get_role(&self, caller: &Identity, name: &str) -> Result<RoleView, IamError> {
        let arn = Self::role_arn(caller, name);
        self.authorize_action(caller, "iam:GetRole", &arn)?;
        let role = self
            .identities
            .role_by_arn(&arn)
            .ok_or_else(|| Self::no_such_role(name))?;
        Ok(self.view(role))
    }

    /// `DeleteRole`: only roles made by `CreateRole`, once their inline policies are gone.
    pub fn delete_role(&self, caller: &Identity, name: &str) -> Result<(), IamError> {
        let arn = Self::role_arn(caller, name);
        self.authorize_action(caller, "iam:DeleteRole", &arn)?;
        self.identities.delete_role(&arn).map_err(|e| match e {
            RoleChangeError::NotFound => Self::no_such_role(name),
            other => role_change_error(other),
        })?;
        self.save_roles()
    }

    /// `UpdateAssumeRolePolicy`: replaces a role's trust policy.
    pub fn update_assume_role_policy(
        &self,
        caller: &Identity,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        let arn = Self::role_arn(caller, name);
        self.authorize_action(caller, "iam:UpdateAssumeRolePolicy", &arn)?;
        if self.identities.role_by_arn(&arn).is_none() {
            return Err(Self::no_such_role(name));
        }
        self.identities
            .put_trust_policy(&arn, document)
            .map_err(|m| IamError::new("MalformedPolicyDocument", m))?;
        self.save_roles()
    }
}

fn role_change_error(e: RoleChangeError) -> IamError {
    match e {
        RoleChangeError::Invalid(m) => IamError::new("ValidationError", m),
        RoleChangeError::Malformed(m) => IamError::new("MalformedPolicyDocument", m),
        RoleChangeError::Exists(m) => IamError::new("EntityAlreadyExists", m),
        RoleChangeError::NotFound => IamError::new("NoSuchEntity", "The role cannot be found."),
        RoleChangeError::Conflict(m) => IamError::new("DeleteConflict", m),
        RoleChangeError::Unmodifiable(m) => IamError::new("UnmodifiableEntity", m),
    }
}

/// One answer of `SimulatePrincipalPolicy`.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// The action asked about.
    pub action: String,
    /// The resource asked about.
    pub resource: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`, as IAM words it.
    pub decision: &'static str,
    /// The names of the policies whose statements decided it.
    pub matched: Vec<String>,
}

impl Iam {
    /// `SimulatePrincipalPolicy`: how the identity policies of the user or role `source_arn`
    /// (of the caller's account) decide each action on each resource (`*` when none is
    /// given). The caller needs `iam:SimulatePrincipalPolicy` on `source_arn`.
    pub fn simulate(
        &self,
        caller: &Identity,
        source_arn: &str,
        actions: &[String],
        resources: &[String],
    ) -> Result<Vec<Simulated>, IamError> {
        let account = &caller.caller.account;
        let key = self
            .identities
            .identities()
            .iter()
            .find(|i| &i.caller.account == account && i.caller.principal_arn == source_arn)
            .map(|i| (i.profile.clone(), i.caller.clone()))
            .or_else(|| {
                self.identities
                    .roles()
                    .into_iter()
                    .find(|r| &r.account == account && r.arn == source_arn)
                    .map(|r| {
                        let caller = keylab_policy::Caller {
                            arn: r.arn.clone(),
                            principal_arn: r.arn.clone(),
                            account: r.account.clone(),
                        };
                        (r.policy_key.clone(), caller)
                    })
            });
        let Some((policy_key, principal)) = key else {
            return Err(IamError::new(
                "NoSuchEntity",
                format!(
                    "The user or role {} cannot be found in account {account}.",
                    source_arn.chars().take(256).collect::<String>()
                ),
            ));
        };
        let context = ContextKeys::new();
        let own = self.identities.policies_of(&caller.profile);
        let asked = Request {
            caller: &caller.caller,
            action: "iam:SimulatePrincipalPolicy",
            resource: source_arn,
            resource_account: account,
            context: &context,
        };
        let permission = decide_with(&asked, &Policies::identity_only(&own), true);
        if !permission.allowed {
            return Err(IamError {
                code: "AccessDenied",
                message: permission.message(),
                decision: Some(Box::new(permission)),
            });
        }
        let policies = self.identities.policies_of(&policy_key);
        let star = ["*".to_string()];
        let resources = if resources.is_empty() {
            &star[..]
        } else {
            resources
        };
        let mut out = Vec::new();
        for action in actions {
            for resource in resources {
                let request = Request {
                    caller: &principal,
                    action,
                    resource,
                    resource_account: account,
                    context: &context,
                };
                let decision = decide_with(&request, &Policies::identity_only(&policies), true);
                let explicit = matches!(
                    decision.denial,
                    Some(keylab_policy::Denial::ExplicitDeny(_))
                );
                out.push(Simulated {
                    action: action.clone(),
                    resource: resource.clone(),
                    decision: match (decision.allowed, explicit) {
                        (true, _) => "allowed",
                        (false, true) => "explicitDeny",
                        (false, false) => "implicitDeny",
                    },
                    matched: decision
                        .trace
                        .statements
                        .iter()
                        .filter(|s| s.applies)
                        .map(|s| s.policy.clone())
                        .collect(),
                });
            }
        }
        Ok(out)
    }
}

fn no_such_policy(target: Target<'_>, policy_name: &str) -> IamError {
    IamError::new(
        "NoSuchEntity",
        format!(
            "The {} policy with name {policy_name} cannot be found.",
            target.noun()
        ),
    )
}
