//! Grants: CreateGrant, ListGrants, RetireGrant and RevokeGrant, with their constraints and
//! who may retire them.

use super::*;

impl Kms {
    /// CreateGrant.
    pub fn create_grant(
        &self,
        call: &mut Call,
        input: CreateGrantInput,
    ) -> Result<CreateGrantOutput, KmsError> {
        if input.operations.is_empty() {
            return Err(KmsError::validation(
                "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        for op in &input.operations {
            if !GRANT_OPERATIONS.contains(&op.as_str()) {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '[{op}]' at 'operations' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    GRANT_OPERATIONS.join(", ")
                )));
            }
            if !SYMMETRIC_GRANT_OPERATIONS.contains(&op.as_str()) {
                return Err(KmsError::validation(format!(
                    "Grant operation {op} is not supported for a symmetric encryption key."
                )));
            }
        }
        for principal in
            std::iter::once(&input.grantee_principal).chain(input.retiring_principal.iter())
        {
            if !is_principal_arn(principal) {
                return Err(KmsError::validation(format!(
                    "Invalid principal \"{principal}\": use an IAM user, role or account root ARN such as arn:aws:iam::444455556666:role/Analyst."
                )));
            }
        }
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &input.key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        let operations = input.operations.clone();
        let grantee = input.grantee_principal.clone();
        let retiring = input.retiring_principal.clone();
        let constraint_types: Vec<String> = input
            .constraints
            .iter()
            .flat_map(|c| {
                let mut v = Vec::new();
                if c.encryption_context_equals.is_some() {
                    v.push("EncryptionContextEquals".to_string());
                }
                if c.encryption_context_subset.is_some() {
                    v.push("EncryptionContextSubset".to_string());
                }
                v
            })
            .collect();
        self.authorize_key(
            &state,
            call,
            key,
            "kms:CreateGrant",
            CrossAccount::Allowed,
            None,
            &move |ctx| {
                ctx.set_many("kms:GrantOperations", operations.clone());
                ctx.set("kms:GranteePrincipal", grantee.clone());
                if let Some(r) = &retiring {
                    ctx.set("kms:RetiringPrincipal", r.clone());
                }
                if !constraint_types.is_empty() {
                    ctx.set_many("kms:GrantConstraintType", constraint_types.clone());
                }
                ctx.set("kms:GrantIsForAWSResource", "false");
            },
        )?;
        check_state(StateRule::CreateGrant, key)?;
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let grant = Grant {
            id: random_hex(32),
            token: random_hex(48),
            name: input.name.unwrap_or_default(),
            grantee: input.grantee_principal,
            retiring: input.retiring_principal,
            operations: input.operations,
            constraints: input.constraints,
            created: now_secs(&self.clock),
            issuing_account: call.identity.caller.account.clone(),
        };
        let out = CreateGrantOutput {
            grant_token: grant.token.clone(),
            grant_id: grant.id.clone(),
        };
        state
            .keys
            .get_mut(&resolved.key_id)
            .expect("resolved key exists")
            .grants
            .push(grant);
        self.persist(&state, &[&resolved.key_id], &[])?;
        Ok(out)
    }

    /// ListGrants.
    pub fn list_grants(
        &self,
        call: &mut Call,
        input: ListGrantsInput,
    ) -> Result<ListGrantsOutput, KmsError> {
        let grants = self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListGrants", CrossAccount::Allowed, StateRule::Any),
            |k| {
                Ok(k.grants
                    .iter()
                    .filter(|g| input.grant_id.as_ref().is_none_or(|id| *id == g.id))
                    .filter(|g| {
                        input
                            .grantee_principal
                            .as_ref()
                            .is_none_or(|p| *p == g.grantee)
                    })
                    .map(|g| GrantListEntry {
                        key_id: k.arn.clone(),
                        grant_id: g.id.clone(),
                        name: g.name.clone(),
                        creation_date: to_epoch(g.created),
                        grantee_principal: g.grantee.clone(),
                        retiring_principal: g.retiring.clone(),
                        issuing_account: format!("arn:aws:iam::{}:root", g.issuing_account),
                        operations: g.operations.clone(),
                        constraints: g.constraints.clone(),
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        let (grants, next_marker) = page(grants, input.limit, input.marker.as_deref())?;
        Ok(ListGrantsOutput {
            grants,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }

    /// RetireGrant.
    pub fn retire_grant(
        &self,
        call: &mut Call,
        input: RetireGrantInput,
    ) -> Result<Empty, KmsError> {
        let mut state = self.state.write().expect("kms lock");
        let (key_id, grant_id) = match (&input.grant_token, &input.key_id, &input.grant_id) {
            (Some(token), _, _) => state
                .keys
                .values()
                .find_map(|k| {
                    k.grants
                        .iter()
                        .find(|g| &g.token == token)
                        .map(|g| (k.id.clone(), g.id.clone()))
                })
                .ok_or_else(KmsError::invalid_grant_token)?,
            (None, Some(key), Some(grant)) => {
                let resolved = self.resolve(&state, call, key, KeyForm::IdOrArn)?;
                let exists = state.keys[&resolved.key_id]
                    .grants
                    .iter()
                    .any(|g| &g.id == grant);
                if !exists {
                    return Err(KmsError::not_found(format!("Grant ID {grant} not found")));
                }
                (resolved.key_id, grant.clone())
            }
            _ => {
                return Err(KmsError::validation(
                    "RetireGrant needs either GrantToken, or both KeyId (the key ARN) and GrantId.",
                ));
            }
        };
        let key = &state.keys[&key_id];
        call.notes.resources.push(key.arn.clone());
        let grant = key
            .grants
            .iter()
            .find(|g| g.id == grant_id)
            .expect("grant found above")
            .clone();
        let caller = &call.identity.caller;
        let is = |p: &Option<String>| {
            p.as_ref()
                .is_some_and(|p| *p == caller.principal_arn || *p == caller.arn)
        };
        let by_retiring = is(&grant.retiring);
        let by_grantee =
            is(&Some(grant.grantee.clone())) && grant.operations.iter().any(|o| o == "RetireGrant");
        if !(by_retiring || by_grantee) {
            if caller.account != grant.issuing_account {
                let mut decision = self.decide_key(
                    &state,
                    call,
                    key,
                    "kms:RetireGrant",
                    "RetireGrant",
                    None,
                    &|_| {},
                    None,
                );
                decision.allowed = false;
                decision.denial = Some(Denial::NoResourceAllow);
                decision.trace.steps.push(
                    "Only the grant's retiring principal, its grantee (when the grant includes RetireGrant) or the account that created it may retire a grant: denied.".into(),
                );
                return self.finish_decision(call, decision).map(|_| Empty {});
            }
            self.authorize_key(
                &state,
                call,
                key,
                "kms:RetireGrant",
                CrossAccount::Never,
                None,
                &|_| {},
            )?;
        } else {
            call.notes.allowed = Some(true);
        }
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        state
            .keys
            .get_mut(&key_id)
            .expect("key exists")
            .grants
            .retain(|g| g.id != grant_id);
        self.persist(&state, &[&key_id], &[])?;
        Ok(Empty {})
    }

    /// RevokeGrant.
    pub fn revoke_grant(
        &self,
        call: &mut Call,
        input: RevokeGrantInput,
    ) -> Result<Empty, KmsError> {
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &input.key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        self.authorize_key(
            &state,
            call,
            key,
            "kms:RevokeGrant",
            CrossAccount::Allowed,
            None,
            &|_| {},
        )?;
        if !key.grants.iter().any(|g| g.id == input.grant_id) {
            return Err(KmsError::not_found(format!(
                "Grant ID {} not found",
                input.grant_id
            )));
        }
        if input.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        state
            .keys
            .get_mut(&resolved.key_id)
            .expect("key exists")
            .grants
            .retain(|g| g.id != input.grant_id);
        self.persist(&state, &[&resolved.key_id], &[])?;
        Ok(Empty {})
    }
}

pub(super) fn is_principal_arn(p: &str) -> bool {
    let Some(rest) = p.strip_prefix("arn:aws:") else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(4, ':').collect();
    if parts.len() != 4 || parts[2].len() != 12 || !parts[2].bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match parts[0] {
        "iam" => {
            parts[3] == "root" || parts[3].starts_with("user/") || parts[3].starts_with("role/")
        }
        "sts" => parts[3].starts_with("assumed-role/"),
        _ => false,
    }
}
