//! Rotation: automatic rotation on a period, on-demand rotation, rotation status and history.

use super::*;

/// Only symmetric encryption keys rotate (automatically or on demand).
fn check_rotatable(k: &Key) -> Result<(), KmsError> {
    if k.key_spec == model::SYMMETRIC_DEFAULT {
        return Ok(());
    }
    Err(KmsError::unsupported(format!(
        "{} key spec is {}, which does not support key rotation: only symmetric encryption keys rotate.",
        k.arn, k.key_spec
    )))
}

impl Kms {
    /// EnableKeyRotation.
    pub fn enable_key_rotation(
        &self,
        call: &mut Call,
        input: EnableKeyRotationInput,
    ) -> Result<Empty, KmsError> {
        let days = input.rotation_period_in_days.unwrap_or(365);
        if days < 90 {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90"
            )));
        }
        if days > 2560 {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560"
            )));
        }
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:EnableKeyRotation",
                CrossAccount::Never,
                StateRule::RotationConfig,
            ),
            &move |ctx| ctx.set("kms:RotationPeriodInDays", days.to_string()),
            |k, now| {
                check_rotatable(k)?;
                k.rotation_enabled = true;
                k.rotation_period_days = days as u32;
                k.next_rotation = Some(now + days * DAY);
                Ok(Empty {})
            },
        )
    }

    /// DisableKeyRotation.
    pub fn disable_key_rotation(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<Empty, KmsError> {
        self.mutate_key(
            call,
            &input.key_id,
            Access::new(
                "kms:DisableKeyRotation",
                CrossAccount::Never,
                StateRule::RotationConfig,
            ),
            &|_| {},
            |k, _| {
                k.rotation_enabled = false;
                k.next_rotation = None;
                Ok(Empty {})
            },
        )
    }

    /// GetKeyRotationStatus.
    pub fn get_key_rotation_status(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyRotationStatusOutput, KmsError> {
        self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new(
                "kms:GetKeyRotationStatus",
                CrossAccount::Allowed,
                StateRule::Any,
            ),
            |k| {
                let enabled = k.rotation_enabled && k.state != KeyState::PendingDeletion;
                Ok(KeyRotationStatusOutput {
                    key_id: k.arn.clone(),
                    key_rotation_enabled: enabled,
                    rotation_period_in_days: enabled.then_some(k.rotation_period_days),
                    next_rotation_date: if enabled {
                        k.next_rotation.map(to_epoch)
                    } else {
                        None
                    },
                })
            },
        )
    }

    /// RotateKeyOnDemand.
    pub fn rotate_key_on_demand(
        &self,
        call: &mut Call,
        input: KeyIdInput,
    ) -> Result<KeyIdOutput, KmsError> {
        self.mutate_key(call, &input.key_id, Access::new("kms:RotateKeyOnDemand", CrossAccount::Never, StateRule::RotateNow), &|_| {}, |k, now| {
            if k.origin != "AWS_KMS" {
                return Err(KmsError::unsupported(format!("{} origin is {} which is not valid for this operation.", k.arn, k.origin)));
            }
            check_rotatable(k)?;
            if k.on_demand_rotations >= MAX_ON_DEMAND_ROTATIONS {
                return Err(KmsError::limit_exceeded(format!(
                    "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                    k.arn
                )));
            }
            k.on_demand_rotations += 1;
            k.materials.push(new_material(now, Some("ON_DEMAND")));
            Ok(KeyIdOutput { key_id: k.id.clone() })
        })
    }

    /// ListKeyRotations.
    pub fn list_key_rotations(
        &self,
        call: &mut Call,
        input: ListKeyRotationsInput,
    ) -> Result<ListKeyRotationsOutput, KmsError> {
        let all = match input.include_key_material.as_deref() {
            None | Some("ROTATIONS_ONLY") => false,
            Some("ALL_KEY_MATERIAL") => true,
            Some(other) => {
                return Err(KmsError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]"
                )));
            }
        };
        let rotations = self.with_key(
            call,
            &input.key_id,
            KeyForm::IdOrArn,
            Access::new("kms:ListKeyRotations", CrossAccount::Never, StateRule::Any),
            |k| {
                let last = k.materials.len().saturating_sub(1);
                Ok(k.materials
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| all || m.rotation_type.is_some())
                    .map(|(i, m)| RotationsListEntry {
                        key_id: k.id.clone(),
                        key_material_id: m.id.clone(),
                        key_material_state: if i == last { "CURRENT" } else { "NON_CURRENT" }
                            .into(),
                        rotation_date: to_epoch(m.created),
                        rotation_type: m.rotation_type.clone(),
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        let (rotations, next_marker) = page(rotations, input.limit, input.marker.as_deref())?;
        Ok(ListKeyRotationsOutput {
            rotations,
            truncated: next_marker.is_some(),
            next_marker,
        })
    }
}
