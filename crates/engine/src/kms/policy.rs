//! Key policies: PutKeyPolicy (validated, with the lockout safety check), GetKeyPolicy and
//! ListKeyPolicies.

use super::*;

impl Kms {
    pub(super) fn check_policy_name(name: Option<&str>) -> Result<(), KmsError> {
        match name {
            None | Some("default") => Ok(()),
            Some(other) => Err(KmsError::not_found(format!(
                "No such policy exists: \"{other}\". Every key has exactly one policy, named \"default\"."
            ))),
        }
    }

    /// PutKeyPolicy.
    pub fn put_key_policy(
        &self,
        call: &mut Call,
        input: PutKeyPolicyInput,
    ) -> Result<Empty, KmsError> {
        Self::check_policy_name(input.policy_name.as_deref())?;
        let doc = self.validate_policy(&input.policy)?;
        let bypass = input.bypass_policy_lockout_safety_check.unwrap_or(false);
        let mut state = self.state.write().expect("kms lock");
        let resolved = self.resolve(&state, call, &input.key_id, KeyForm::IdOrArn)?;
        let key = &state.keys[&resolved.key_id];
        call.notes.resources.push(key.arn.clone());
        self.authorize_key(
            &state,
            call,
            key,
            "kms:PutKeyPolicy",
            CrossAccount::Never,
            None,
            &move |ctx| {
                ctx.set("kms:BypassPolicyLockoutSafetyCheck", bypass.to_string());
            },
        )?;
        if !bypass {
            self.lockout_check(&state, call, key, &doc)?;
        }
        let key = state
            .keys
            .get_mut(&resolved.key_id)
            .expect("resolved key exists");
        key.policy = input.policy;
        key.policy_doc = Some(Arc::new(doc));
        self.persist(&state, &[&resolved.key_id], &[])?;
        Ok(Empty {})
    }

    /// GetKeyPolicy.
    pub fn get_key_policy(
        &self,
        call: &mut Call,
        input: GetKeyPolicyInput,
    ) -> Result<GetKeyPolicyOutput, KmsError> {
        Self::check_policy_name(input.policy_name.as_deref())?;
        self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new("kms:GetKeyPolicy", CrossAccount::Never, StateRule::Any),
            |k| {
                Ok(GetKeyPolicyOutput {
                    policy: k.policy.clone(),
                    policy_name: "default".into(),
                })
            },
        )
    }

    /// ListKeyPolicies.
    pub fn list_key_policies(
        &self,
        call: &mut Call,
        input: ListInput,
    ) -> Result<ListKeyPoliciesOutput, KmsError> {
        validate_limit(input.limit)?;
        let key_id = input.key_id.ok_or_else(|| KmsError::missing("keyId"))?;
        self.with_key(
            call,
            &key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListKeyPolicies", CrossAccount::Never, StateRule::Any),
            |_| {
                Ok(ListKeyPoliciesOutput {
                    policy_names: vec!["default".into()],
                    truncated: false,
                })
            },
        )
    }
}
