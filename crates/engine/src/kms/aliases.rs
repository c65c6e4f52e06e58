//! Aliases: CreateAlias, UpdateAlias, DeleteAlias and ListAliases, with AWS's name rules.

use super::*;

impl Kms {
    pub(super) fn validate_alias_name(name: &str) -> Result<(), KmsError> {
        if !name.starts_with("alias/") {
            return Err(KmsError::validation(
                "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
            ));
        }
        if name.starts_with("alias/aws/") {
            return Err(KmsError::invalid_alias(
                "Alias names that begin with alias/aws/ are reserved for AWS managed keys. Choose another name.",
            ));
        }
        let valid = name.len() <= 256
            && name.len() > 6
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-:".contains(&b));
        if !valid {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            )));
        }
        Ok(())
    }

    /// CreateAlias.
    pub fn create_alias(&self, call: &mut Call, input: AliasInput) -> Result<Empty, KmsError> {
        Self::validate_alias_name(&input.alias_name)?;
        let target = input
            .target_key_id
            .clone()
            .ok_or_else(|| KmsError::missing("targetKeyId"))?;
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &target, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        let account = call.identity.caller.account.clone();
        let alias_arn = self.alias_arn(&account, &input.alias_name);
        call.notes
            .resources
            .extend([alias_arn.clone(), key.arn.clone()]);
        self.authorize_key(
            &state,
            call,
            key,
            "kms:CreateAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        self.authorize_identity(call, "kms:CreateAlias", &alias_arn, &|_| {})?;
        check_state(StateRule::NotPendingDeletion, key)?;
        if state.aliases.contains_key(&alias_arn) {
            return Err(KmsError::already_exists(format!(
                "An alias with the name {alias_arn} already exists"
            )));
        }
        let now = now_secs(&self.clock);
        state.aliases.insert(
            alias_arn.clone(),
            Alias {
                name: input.alias_name,
                account,
                target_key_id: resolved.key_id,
                created: now,
                updated: now,
            },
        );
        self.persist(&state, &[], &[&alias_arn])?;
        Ok(Empty {})
    }

    /// UpdateAlias.
    pub fn update_alias(&self, call: &mut Call, input: AliasInput) -> Result<Empty, KmsError> {
        let target = input
            .target_key_id
            .clone()
            .ok_or_else(|| KmsError::missing("targetKeyId"))?;
        let mut state = self.state.write().expect("kms lock");
        let account = call.identity.caller.account.clone();
        let alias_arn = self.alias_arn(&account, &input.alias_name);
        let Some(alias) = state.aliases.get(&alias_arn).cloned() else {
            return Err(KmsError::not_found(format!(
                "Alias {alias_arn} is not found."
            )));
        };
        let resolved = self.resolve(&state, call, &target, KeyForm::IdOrArn)?;
        let new_key = &state.keys[&resolved.key_id];
        let old_key = &state.keys[&alias.target_key_id];
        call.notes
            .resources
            .extend([alias_arn.clone(), old_key.arn.clone(), new_key.arn.clone()]);
        self.authorize_identity(call, "kms:UpdateAlias", &alias_arn, &|_| {})?;
        self.authorize_key(
            &state,
            call,
            old_key,
            "kms:UpdateAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        self.authorize_key(
            &state,
            call,
            new_key,
            "kms:UpdateAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        check_state(StateRule::NotPendingDeletion, new_key)?;
        let now = now_secs(&self.clock);
        let entry = state.aliases.get_mut(&alias_arn).expect("alias exists");
        entry.target_key_id = resolved.key_id;
        entry.updated = now;
        self.persist(&state, &[], &[&alias_arn])?;
        Ok(Empty {})
    }

    /// DeleteAlias.
    pub fn delete_alias(&self, call: &mut Call, input: AliasInput) -> Result<Empty, KmsError> {
        Self::validate_alias_name(&input.alias_name)?;
        let mut state = self.state.write().expect("kms lock");
        let account = call.identity.caller.account.clone();
        let alias_arn = self.alias_arn(&account, &input.alias_name);
        let Some(alias) = state.aliases.get(&alias_arn).cloned() else {
            return Err(KmsError::not_found(format!(
                "Alias {alias_arn} is not found."
            )));
        };
        let key = &state.keys[&alias.target_key_id];
        call.notes
            .resources
            .extend([alias_arn.clone(), key.arn.clone()]);
        self.authorize_identity(call, "kms:DeleteAlias", &alias_arn, &|_| {})?;
        self.authorize_key(
            &state,
            call,
            key,
            "kms:DeleteAlias",
            CrossAccount::Never,
            None,
            &|_| {},
        )?;
        state.aliases.remove(&alias_arn);
        self.persist(&state, &[], &[&alias_arn])?;
        Ok(Empty {})
    }

    /// ListAliases.
    pub fn list_aliases(
        &self,
        call: &mut Call,
        input: ListInput,
    ) -> Result<ListAliasesOutput, KmsError> {
        self.authorize_identity(call, "kms:ListAliases", "*", &|_| {})?;
        let state = self.state.read().expect("kms lock");
        let filter = match &input.key_id {
            Some(k) => Some(self.resolve(&state, call, k, KeyForm::IdOrArn)?.key_id),
            None => None,
        };
        let account = &call.identity.caller.account;
        let mut aliases: Vec<AliasListEntry> = state
            .aliases
            .iter()
            .filter(|(_, a)| &a.account == account)
            .filter(|(_, a)| filter.as_ref().is_none_or(|f| *f == a.target_key_id))
            .map(|(arn, a)| AliasListEntry {
                alias_name: a.name.clone(),
                alias_arn: arn.clone(),
                target_key_id: a.target_key_id.clone(),
                creation_date: to_epoch(a.created),
                last_updated_date: to_epoch(a.updated),
            })
            .collect();
        aliases.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
        let (aliases, next_marker) = page(aliases, input.limit, input.marker.as_deref())?;
        Ok(ListAliasesOutput {
            aliases,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }
}
