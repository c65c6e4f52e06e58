//! Who may do what to a key: resolving key ids, ARNs and aliases, the key-state table, and the
//! decision of key policy, identity policies and grants with AWS's cross-account rules (the
//! evaluator itself is `keylab_policy`); `with_key`/`mutate_key` wrap every single-key operation.

use super::*;

pub(super) const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

pub(super) const SYMMETRIC_GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

/// What an operation on one key needs: its IAM action, whether it works across accounts, and
/// which key states allow it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Access {
    pub(super) action: &'static str,
    pub(super) cross: CrossAccount,
    pub(super) rule: StateRule,
}

impl Access {
    pub(super) fn new(action: &'static str, cross: CrossAccount, rule: StateRule) -> Access {
        Access {
            action,
            cross,
            rule,
        }
    }
}

/// The state rules of the AWS key-state table, by operation family.
#[derive(Debug, Clone, Copy)]
pub(super) enum StateRule {
    /// Cryptographic operations: only Enabled keys.
    Crypto,
    /// Works in every state.
    Any,
    /// EnableKey / DisableKey.
    EnableDisable,
    /// ScheduleKeyDeletion.
    Schedule,
    /// CancelKeyDeletion.
    Cancel,
    /// Enable/DisableKeyRotation.
    RotationConfig,
    /// RotateKeyOnDemand.
    RotateNow,
    /// CreateGrant.
    CreateGrant,
    /// CreateAlias/UpdateAlias target, TagResource, UntagResource.
    NotPendingDeletion,
}

pub(super) fn check_state(rule: StateRule, key: &Key) -> Result<(), KmsError> {
    use KeyState::*;
    let arn = &key.arn;
    let pending_deletion = || KmsError::invalid_state(format!("{arn} is pending deletion."));
    let pending_import = || KmsError::invalid_state(format!("{arn} is pending import."));
    match (rule, key.state) {
        (StateRule::Any, _) => Ok(()),
        (StateRule::Cancel, PendingDeletion) => Ok(()),
        (StateRule::Cancel, _) => Err(KmsError::invalid_state(format!(
            "{arn} is not pending deletion."
        ))),
        (_, PendingDeletion) => Err(pending_deletion()),
        (
            StateRule::Crypto
            | StateRule::CreateGrant
            | StateRule::RotationConfig
            | StateRule::RotateNow,
            Disabled,
        ) => Err(KmsError::disabled(arn)),
        (
            StateRule::Crypto
            | StateRule::EnableDisable
            | StateRule::CreateGrant
            | StateRule::RotateNow,
            PendingImport,
        ) => Err(pending_import()),
        (StateRule::RotationConfig, PendingImport) => Err(KmsError::unsupported(format!(
            "{arn} origin is EXTERNAL which is not valid for this operation."
        ))),
        _ => Ok(()),
    }
}

impl Kms {
    pub(super) fn resolve(
        &self,
        state: &KmsState,
        call: &Call,
        key_id: &str,
        form: KeyForm,
    ) -> Result<Resolved, KmsError> {
        let caller_account = &call.identity.caller.account;
        if key_id.is_empty() {
            return Err(KmsError::missing("keyId"));
        }
        if let Some(rest) = key_id.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            if parts.len() != 5 || parts[0] != "aws" || parts[1] != "kms" {
                return Err(KmsError::not_found(format!("Invalid arn {key_id}")));
            }
            let (region, account, resource) = (parts[2], parts[3], parts[4]);
            if region != self.region {
                return Err(KmsError::not_found(format!("Invalid arn {region}")));
            }
            if let Some(id) = resource.strip_prefix("key/") {
                let found = state.keys.get(id).filter(|k| k.account == account);
                return match found {
                    Some(_) => Ok(Resolved {
                        key_id: id.to_string(),
                        alias: None,
                    }),
                    None => Err(KmsError::not_found(format!(
                        "Key '{key_id}' does not exist"
                    ))),
                };
            }
            if resource.starts_with("alias/") && form == KeyForm::Any {
                return self.resolve_alias(state, account, resource);
            }
            return Err(KmsError::not_found(format!("Invalid keyId '{key_id}'")));
        }
        if key_id.starts_with("alias/") && form == KeyForm::Any {
            return self.resolve_alias(state, caller_account, key_id);
        }
        if !is_key_uuid(key_id) {
            return Err(KmsError::not_found(format!("Invalid keyId '{key_id}'")));
        }
        match state
            .keys
            .get(key_id)
            .filter(|k| &k.account == caller_account)
        {
            Some(_) => Ok(Resolved {
                key_id: key_id.to_string(),
                alias: None,
            }),
            None => Err(KmsError::not_found(format!(
                "Key '{}' does not exist",
                self.key_arn(caller_account, key_id)
            ))),
        }
    }

    /// Resolves `alias/<name>` in `account` (AWS names the alias ARN when it is missing).
    pub(super) fn resolve_alias(
        &self,
        state: &KmsState,
        account: &str,
        name: &str,
    ) -> Result<Resolved, KmsError> {
        let alias_arn = self.alias_arn(account, name);
        match state.aliases.get(&alias_arn) {
            Some(a) => Ok(Resolved {
                key_id: a.target_key_id.clone(),
                alias: Some(a.name.clone()),
            }),
            None => Err(KmsError::not_found(format!(
                "Alias {alias_arn} is not found."
            ))),
        }
    }

    // ---- authorization ---------------------------------------------------------------------

    pub(super) fn base_context(&self, call: &Call) -> ContextKeys {
        let caller = &call.identity.caller;
        let now = self.clock.now();
        let mut ctx = ContextKeys::new();
        ctx.set("aws:SecureTransport", call.secure_transport.to_string());
        ctx.set("aws:PrincipalArn", caller.principal_arn.clone());
        ctx.set("aws:PrincipalAccount", caller.account.clone());
        ctx.set("aws:userid", call.identity.user_id.clone());
        ctx.set(
            "aws:PrincipalType",
            match call.identity.kind {
                PrincipalKind::User => "User",
                PrincipalKind::Role => "AssumedRole",
            },
        );
        if call.identity.kind == PrincipalKind::User {
            ctx.set("aws:username", call.identity.name.clone());
        }
        ctx.set("aws:CurrentTime", now.format(&Rfc3339).unwrap_or_default());
        ctx.set("aws:EpochTime", now.unix_timestamp().to_string());
        ctx.set("aws:SourceIp", call.source_ip.clone());
        ctx.set("aws:RequestedRegion", self.region.clone());
        ctx.set("kms:CallerAccount", caller.account.clone());
        if let Some(via) = &call.via_service {
            ctx.set("kms:ViaService", via.clone());
        }
        ctx
    }

    pub(super) fn key_context(&self, state: &KmsState, key: &Key, ctx: &mut ContextKeys) {
        ctx.set("kms:KeySpec", key.key_spec.clone());
        ctx.set("kms:KeyUsage", key.key_usage.clone());
        ctx.set("kms:KeyOrigin", key.origin.clone());
        ctx.set("kms:MultiRegion", "false");
        let aliases: Vec<String> = state
            .aliases
            .values()
            .filter(|a| a.target_key_id == key.id)
            .map(|a| a.name.clone())
            .collect();
        if !aliases.is_empty() {
            ctx.set_many("kms:ResourceAliases", aliases);
        }
        for (k, v) in &key.tags {
            ctx.set(&format!("aws:ResourceTag/{k}"), v.clone());
        }
    }

    pub(super) fn context_with_ec(ctx: &mut ContextKeys, ec: Option<&EncryptionContext>) {
        let Some(ec) = ec.filter(|e| !e.is_empty()) else {
            return;
        };
        for (k, v) in ec {
            ctx.set(&format!("kms:EncryptionContext:{k}"), v.clone());
        }
        ctx.set_many("kms:EncryptionContextKeys", ec.keys().cloned().collect());
    }

    pub(super) fn grant_checks(
        key: &Key,
        call: &Call,
        operation: &str,
        ec: Option<&EncryptionContext>,
    ) -> Vec<GrantCheck> {
        let caller = &call.identity.caller;
        let account_root = format!("arn:aws:iam::{}:root", caller.account);
        let empty = EncryptionContext::new();
        key.grants
            .iter()
            .map(|g| {
                let grantee_ok = g.grantee == caller.principal_arn
                    || g.grantee == caller.arn
                    || g.grantee == account_root;
                let op_ok = g.operations.iter().any(|o| o == operation);
                let ec_ok = g.admits(ec.unwrap_or(&empty));
                let note = if !grantee_ok {
                    format!("grantee {} is not the caller", g.grantee)
                } else if !op_ok {
                    format!("allows [{}], not {operation}", g.operations.join(", "))
                } else if !ec_ok {
                    "the encryption context does not meet the grant's constraints".to_string()
                } else {
                    format!("allows {operation} for {}", g.grantee)
                };
                GrantCheck {
                    grant_id: g.id.clone(),
                    allows: grantee_ok && op_ok && ec_ok,
                    note,
                }
            })
            .collect()
    }

    /// Decides a call on a key. `operation` is the KMS operation name (for grants), `action`
    /// the IAM action.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn decide_key(
        &self,
        state: &KmsState,
        call: &Call,
        key: &Key,
        action: &str,
        operation: &str,
        ec: Option<&EncryptionContext>,
        extra: &dyn Fn(&mut ContextKeys),
        policy_override: Option<&PolicyDocument>,
    ) -> Decision {
        let mut ctx = self.base_context(call);
        self.key_context(state, key, &mut ctx);
        Self::context_with_ec(&mut ctx, ec);
        extra(&mut ctx);
        let identity_policies = self.identities.policies_of(&call.identity.profile);
        let key_policy = policy_override.or(key.policy_doc.as_deref());
        let policies = Policies {
            identity: identity_policies
                .iter()
                .map(|(n, d)| (n.clone(), d.as_ref()))
                .collect(),
            resource: key_policy.map(|d| (format!("key policy of {}", key.id), d)),
            rules: ResourceRules::Kms,
            grants: if policy_override.is_some() {
                Vec::new()
            } else {
                Self::grant_checks(key, call, operation, ec)
            },
        };
        let req = Request {
            caller: &call.identity.caller,
            action,
            resource: &key.arn,
            resource_account: &key.account,
            context: &ctx,
        };
        let decision = decide_with(&req, &policies, false);
        if decision.allowed {
            decision
        } else {
            decide_with(&req, &policies, true)
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn authorize_key(
        &self,
        state: &KmsState,
        call: &mut Call,
        key: &Key,
        action: &str,
        cross: CrossAccount,
        ec: Option<&EncryptionContext>,
        extra: &dyn Fn(&mut ContextKeys),
    ) -> Result<(), KmsError> {
        let operation = action.trim_start_matches("kms:");
        let mut decision = self.decide_key(state, call, key, action, operation, ec, extra, None);
        if cross == CrossAccount::Never && key.account != call.identity.caller.account {
            decision.allowed = false;
            decision.denial = Some(Denial::NotCrossAccount);
            decision.trace.steps.push(format!(
                "{action} never works across accounts, whatever the policies say: denied."
            ));
        }
        self.finish_decision(call, decision)
    }

    pub(super) fn finish_decision(
        &self,
        call: &mut Call,
        decision: Decision,
    ) -> Result<(), KmsError> {
        call.notes.allowed = Some(decision.allowed);
        if decision.allowed {
            return Ok(());
        }
        call.notes.denied = Some(Box::new(decision.clone()));
        Err(KmsError::access_denied(decision))
    }

    /// Authorizes an action with no key resource (CreateKey, ListKeys, ListAliases,
    /// GenerateRandom) or on an alias resource: identity policies alone decide.
    pub(super) fn authorize_identity(
        &self,
        call: &mut Call,
        action: &str,
        resource: &str,
        extra: &dyn Fn(&mut ContextKeys),
    ) -> Result<(), KmsError> {
        let mut ctx = self.base_context(call);
        extra(&mut ctx);
        let identity_policies = self.identities.policies_of(&call.identity.profile);
        let policies = Policies::identity_only(&identity_policies);
        let caller = call.identity.caller.clone();
        let req = Request {
            caller: &caller,
            action,
            resource,
            resource_account: &caller.account,
            context: &ctx,
        };
        let decision = decide_with(&req, &policies, false);
        let decision = if decision.allowed {
            decision
        } else {
            decide_with(&req, &policies, true)
        };
        self.finish_decision(call, decision)
    }

    pub(super) fn validate_policy(&self, text: &str) -> Result<PolicyDocument, KmsError> {
        let doc = PolicyDocument::parse(text, PolicyKind::Resource)
            .map_err(|e| KmsError::malformed_policy(e.0))?;
        for (index, statement) in doc.statements.iter().enumerate() {
            let Some(principal) = &statement.principal else {
                continue;
            };
            if principal.negated && statement.effect == keylab_policy::document::Effect::Allow {
                return Err(KmsError::malformed_policy(format!(
                    "Policy contains a statement that uses NotPrincipal with Allow ({}): NotPrincipal must be used with Deny.",
                    statement.label(index)
                )));
            }
            for p in &principal.principals {
                let known = match p {
                    PrincipalRef::Account(id) => self.identities.has_account(id),
                    PrincipalRef::Arn(arn) => self.identities.has_principal_arn(arn),
                    _ => true,
                };
                if !known {
                    return Err(KmsError::malformed_policy(format!(
                        "Policy contains a statement with one or more invalid principals. ({p} is not an account or principal of this lab.)"
                    )));
                }
            }
        }
        Ok(doc)
    }

    pub(super) fn lockout_check(
        &self,
        state: &KmsState,
        call: &Call,
        key: &Key,
        doc: &PolicyDocument,
    ) -> Result<(), KmsError> {
        let decision = self.decide_key(
            state,
            call,
            key,
            "kms:PutKeyPolicy",
            "PutKeyPolicy",
            None,
            &|_| {},
            Some(doc),
        );
        if decision.allowed {
            return Ok(());
        }
        Err(KmsError::malformed_policy(
            "The new key policy will not allow you to update the key policy in the future.",
        ))
    }

    // ---- operations ------------------------------------------------------------------------

    pub(super) fn with_key<T>(
        &self,
        call: &mut Call,
        key_id: &str,
        form: KeyForm,
        access: Access,
        f: impl FnOnce(&Key) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let Access {
            action,
            cross,
            rule,
        } = access;
        let state = self.state.read().expect("kms lock");
        let resolved = self.resolve(&state, call, key_id, form)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        let alias = resolved.alias.clone();
        self.authorize_key(&state, call, key, action, cross, None, &move |ctx| {
            if let Some(a) = &alias {
                ctx.set("kms:RequestAlias", a.clone());
            }
        })?;
        check_state(rule, key)?;
        f(key)
    }

    pub(super) fn mutate_key<T>(
        &self,
        call: &mut Call,
        key_id: &str,
        access: Access,
        extra: &dyn Fn(&mut ContextKeys),
        f: impl FnOnce(&mut Key, i64) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let Access {
            action,
            cross,
            rule,
        } = access;
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        self.authorize_key(&state, call, key, action, cross, None, extra)?;
        check_state(rule, key)?;
        let now = now_secs(&self.clock);
        let key = state
            .keys
            .get_mut(&resolved.key_id)
            .expect("resolved key exists");
        let out = f(key, now)?;
        self.persist(&state, &[&resolved.key_id], &[])?;
        Ok(out)
    }
}
