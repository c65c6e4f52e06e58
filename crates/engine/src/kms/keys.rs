//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, and scheduling or
//! cancelling deletion under the virtual clock.

use super::*;

/// AWS's rules for KeySpec × KeyUsage × Origin, as far as the engine models them.
fn check_spec(spec: &str, usage: &str, origin: &str, mac: bool) -> Result<(), KmsError> {
    let asymmetric = asym::usages(spec);
    let fits = match (spec, usage) {
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT") => true,
        (_, "GENERATE_VERIFY_MAC") if mac => true,
        _ => asymmetric.is_some_and(|u| u.contains(&usage)),
    };
    if usage == "KEY_AGREEMENT" && matches!(spec, "ECC_NIST_P256" | "ECC_NIST_P384") {
        return Err(KmsError::unsupported(format!(
            "KeyUsage KEY_AGREEMENT is not available in the keylab engine: its {spec} keys are for SIGN_VERIFY."
        )));
    }
    if !fits && (spec == "SYMMETRIC_DEFAULT" || mac || asymmetric.is_some()) {
        return Err(KmsError::validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec}: SYMMETRIC_DEFAULT keys have KeyUsage ENCRYPT_DECRYPT, HMAC keys GENERATE_VERIFY_MAC, RSA keys ENCRYPT_DECRYPT or SIGN_VERIFY, ECC keys SIGN_VERIFY."
        )));
    }
    if !fits {
        return Err(KmsError::unsupported(format!(
            "KeySpec {spec} is not available in the keylab engine: it models SYMMETRIC_DEFAULT, HMAC_224/256/384/512, RSA_2048/3072/4096 and ECC_NIST_P256/P384 keys."
        )));
    }
    if (mac || asymmetric.is_some()) && origin != "AWS_KMS" {
        return Err(KmsError::unsupported(
            "HMAC and asymmetric keys in the keylab engine have Origin AWS_KMS only.",
        ));
    }
    Ok(())
}

impl Kms {
    /// CreateKey.
    pub fn create_key(
        &self,
        call: &mut Call,
        input: CreateKeyInput,
    ) -> Result<KeyMetadataOutput, KmsError> {
        let usage = input
            .key_usage
            .clone()
            .unwrap_or_else(|| "ENCRYPT_DECRYPT".into());
        let spec = input
            .key_spec
            .clone()
            .or(input.customer_master_key_spec.clone())
            .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
        let origin = input.origin.clone().unwrap_or_else(|| "AWS_KMS".into());
        let tags = input.tags.clone().unwrap_or_default();
        let bypass = input.bypass_policy_lockout_safety_check.unwrap_or(false);
        self.authorize_identity(call, "kms:CreateKey", "*", &|ctx| {
            ctx.set("kms:KeySpec", spec.clone());
            ctx.set("kms:KeyUsage", usage.clone());
            ctx.set("kms:KeyOrigin", origin.clone());
            ctx.set(
                "kms:MultiRegion",
                input.multi_region.unwrap_or(false).to_string(),
            );
            ctx.set("kms:BypassPolicyLockoutSafetyCheck", bypass.to_string());
            for t in &tags {
                ctx.set(
                    &format!("aws:RequestTag/{}", t.tag_key),
                    t.tag_value.clone(),
                );
            }
            if !tags.is_empty() {
                ctx.set_many(
                    "aws:TagKeys",
                    tags.iter().map(|t| t.tag_key.clone()).collect(),
                );
            }
        })?;
        let mac_bytes = mac::key_bytes(&spec);
        check_spec(&spec, &usage, &origin, mac_bytes.is_some())?;
        if origin != "AWS_KMS" && origin != "EXTERNAL" {
            return Err(KmsError::unsupported(format!(
                "Origin {origin} is not available in the keylab engine: use AWS_KMS (or EXTERNAL to see the PendingImport state)."
            )));
        }
        if input.multi_region == Some(true) || input.custom_key_store_id.is_some() {
            return Err(KmsError::unsupported(
                "Multi-Region keys and custom key stores are not modelled by the keylab engine.",
            ));
        }
        let description = input.description.clone().unwrap_or_default();
        if description.chars().count() > 8192 {
            return Err(KmsError::validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192",
            ));
        }
        validate_tags(&tags)?;
        let account = call.identity.caller.account.clone();
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_secs(&self.clock);
        let (policy, doc) = match &input.policy {
            Some(p) => (p.clone(), self.validate_policy(p)?),
            None => {
                let p = default_key_policy(&account);
                let doc = PolicyDocument::parse(&p, PolicyKind::Resource)
                    .map_err(|e| KmsError::internal(e.0))?;
                (p, doc)
            }
        };
        let mut key = Key {
            id: id.clone(),
            account: account.clone(),
            arn: self.key_arn(&account, &id),
            description,
            created: now,
            key_spec: spec.clone(),
            key_usage: usage.clone(),
            state: if origin == "EXTERNAL" {
                KeyState::PendingImport
            } else {
                KeyState::Enabled
            },
            origin: origin.clone(),
            key_manager: "CUSTOMER".into(),
            deletion_date: None,
            pending_window_days: None,
            policy,
            policy_doc: None,
            rotation_enabled: false,
            rotation_period_days: 365,
            next_rotation: None,
            materials: if origin == "EXTERNAL" {
                Vec::new()
            } else {
                let mut material = mac::with_mac_key(new_material(now, None), mac_bytes);
                material.private_key = asym::generate(&spec)?;
                vec![material]
            },
            on_demand_rotations: 0,
            tags: tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect(),
            grants: Vec::new(),
        };
        let mut state = self.state.write().expect("kms lock");
        if input.policy.is_some() && !bypass {
            self.lockout_check(&state, call, &key, &doc)?;
        }
        key.policy_doc = Some(Arc::new(doc));
        call.notes.resources.push(key.arn.clone());
        let metadata = self.metadata(&key);
        state.keys.insert(id.clone(), key);
        self.persist(&state, &[&id], &[])?;
        Ok(KeyMetadataOutput {
            key_metadata: metadata,
        })
    }

    /// DescribeKey.
    pub fn describe_key(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyMetadataOutput, KmsError> {
        self.check_grant_tokens(input.grant_tokens.as_deref())?;
        self.with_key(
            call,
            &input.key_id,
            KeyForm::Any,
            Access::new("kms:DescribeKey", CrossAccount::Allowed, StateRule::Any),
            |k| {
                Ok(KeyMetadataOutput {
                    key_metadata: self.metadata(k),
                })
            },
        )
    }

    /// ListKeys.
    pub fn list_keys(&self, call: &mut Call, input: ListInput) -> Result<ListKeysOutput, KmsError> {
        self.authorize_identity(call, "kms:ListKeys", "*", &|_| {})?;
        let state = self.state.read().expect("kms lock");
        let account = &call.identity.caller.account;
        let keys: Vec<KeyListEntry> = state
            .keys
            .values()
            .filter(|k| &k.account == account)
            .map(|k| KeyListEntry {
                key_id: k.id.clone(),
                key_arn: k.arn.clone(),
            })
            .collect();
        let (keys, next_marker) = page(keys, input.limit, input.marker.as_deref())?;
        Ok(ListKeysOutput {
            keys,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }

    /// EnableKey.
    pub fn enable_key(&self, call: &mut Call, input: KeyIdInput) -> Result<Empty, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:EnableKey",
                CrossAccount::Never,
                StateRule::EnableDisable,
            ),
            &|_| {},
            |k, _| {
                k.state = KeyState::Enabled;
                Ok(Empty {})
            },
        )
    }

    /// DisableKey.
    pub fn disable_key(&self, call: &mut Call, input: KeyIdInput) -> Result<Empty, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:DisableKey",
                CrossAccount::Never,
                StateRule::EnableDisable,
            ),
            &|_| {},
            |k, _| {
                k.state = KeyState::Disabled;
                Ok(Empty {})
            },
        )
    }

    /// ScheduleKeyDeletion.
    pub fn schedule_key_deletion(
        &self,
        call: &mut Call,
        input: ScheduleKeyDeletionInput,
    ) -> Result<ScheduleKeyDeletionOutput, KmsError> {
        let days = input.pending_window_in_days.unwrap_or(30);
        if !(7..=30).contains(&days) {
            return Err(KmsError::validation(format!(
                "PendingWindowInDays should be between 7 and 30, but it is {days}"
            )));
        }
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:ScheduleKeyDeletion",
                CrossAccount::Never,
                StateRule::Schedule,
            ),
            &move |ctx| {
                ctx.set(
                    "kms:ScheduleKeyDeletionPendingWindowInDays",
                    days.to_string(),
                )
            },
            |k, now| {
                let date = now + days * DAY;
                k.state = KeyState::PendingDeletion;
                k.deletion_date = Some(date);
                k.pending_window_days = Some(days as u32);
                Ok(ScheduleKeyDeletionOutput {
                    key_id: k.arn.clone(),
                    deletion_date: to_epoch(date),
                    key_state: "PendingDeletion".into(),
                    pending_window_in_days: days as u32,
                })
            },
        )
    }

    /// CancelKeyDeletion.
    pub fn cancel_key_deletion(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyIdOutput, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:CancelKeyDeletion",
                CrossAccount::Never,
                StateRule::Cancel,
            ),
            &|_| {},
            |k, _| {
                k.state = if k.materials.is_empty() {
                    KeyState::PendingImport
                } else {
                    KeyState::Disabled
                };
                k.deletion_date = None;
                k.pending_window_days = None;
                Ok(KeyIdOutput {
                    key_id: k.arn.clone(),
                })
            },
        )
    }
}
