//! The Secrets Manager operations themselves, on the service of [`super`]: each one validates
//! its input with AWS's errors and changes or reads one secret; authorization, key choice and
//! envelope encryption are the parent module's.

use std::sync::Arc;

use base64::Engine as _;
use keylab_policy::{PolicyDocument, PolicyKind};
use rand::RngCore;
use serde_json::{Value, json};

use super::{
    AWSCURRENT, DAY, MAX_POLICY, Secret, SecretValue, SecretsCall, SecretsError, SecretsManager,
    is_public, open, required, str_field, valid_name, value_of, version_id,
};
use crate::audit::AuditEvent;

impl SecretsManager {
    pub(super) fn create_secret(
        &self,
        call: &SecretsCall,
        input: &Value,
        event: &mut AuditEvent,
    ) -> Result<Value, SecretsError> {
        let name = required(input, "Name")?;
        if !valid_name(name) {
            return Err(SecretsError::parameter(
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
            ));
        }
        let account = call.identity.caller.account.clone();
        event.request_parameters = json!({"name": name, "kmsKeyId": str_field(input, "KmsKeyId")?});
        if let Some(existing) = self
            .secrets
            .read()
            .expect("secrets lock")
            .values()
            .find(|s| s.name == name && s.account == account)
        {
            return Err(if existing.deletion_date.is_some() {
                SecretsError::new(
                    "InvalidRequestException",
                    "You can't create this secret because a secret with this name is already scheduled for deletion.",
                )
            } else {
                SecretsError::new(
                    "ResourceExistsException",
                    format!("The operation failed because the secret {name} already exists."),
                )
            });
        }
        let suffix: String = {
            let mut bytes = [0u8; 6];
            rand::rng().fill_bytes(&mut bytes);
            bytes
                .iter()
                .map(|b| {
                    char::from(
                        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[*b as usize % 52],
                    )
                })
                .collect()
        };
        let arn = format!(
            "arn:aws:secretsmanager:{}:{account}:secret:{name}-{suffix}",
            self.region
        );
        event.resources = vec![arn.clone()];
        self.authorize(
            call,
            "secretsmanager:CreateSecret",
            &arn,
            &account,
            None,
            event,
        )?;
        let value = value_of(input)?;
        let tags = match input.get("Tags") {
            Some(Value::Array(list)) => list
                .iter()
                .map(|t| {
                    (
                        t["Key"].as_str().unwrap_or_default().to_string(),
                        t["Value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        let now = self.now();
        let mut secret = Secret {
            arn: arn.clone(),
            name: name.to_string(),
            account,
            description: str_field(input, "Description")?
                .unwrap_or_default()
                .to_string(),
            kms_key_id: str_field(input, "KmsKeyId")?
                .filter(|k| !k.is_empty())
                .map(str::to_string),
            created: now,
            last_changed: now,
            deletion_date: None,
            deleted_date: None,
            resource_policy: None,
            policy_doc: None,
            tags,
            versions: Vec::new(),
        };
        let mut out = json!({"ARN": arn, "Name": name});
        if let Some(id) = self.add_current_version(call, &mut secret, input, value)? {
            out["VersionId"] = json!(id);
        }
        self.store_secret(secret)?;
        Ok(out)
    }

    pub(super) fn list_secrets(
        &self,
        call: &SecretsCall,
        input: &Value,
        event: &mut AuditEvent,
    ) -> Result<Value, SecretsError> {
        let account = call.identity.caller.account.clone();
        self.authorize(
            call,
            "secretsmanager:ListSecrets",
            "*",
            &account,
            None,
            event,
        )?;
        let max = match input.get("MaxResults").and_then(Value::as_i64) {
            None => 100,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(_) => return Err(SecretsError::parameter("MaxResults must be 1 to 100.")),
        };
        let with_deleted = input["IncludePlannedDeletion"].as_bool().unwrap_or(false);
        let prefixes: Vec<String> = input["Filters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["Key"] == "name")
            .flat_map(|f| f["Values"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let start: usize = match str_field(input, "NextToken")? {
            None => 0,
            Some(t) => t
                .parse()
                .map_err(|_| SecretsError::parameter("Invalid NextToken."))?,
        };
        let secrets = self.secrets.read().expect("secrets lock");
        let listed: Vec<&Secret> = secrets
            .values()
            .filter(|s| s.account == account)
            .filter(|s| with_deleted || s.deletion_date.is_none())
            .filter(|s| prefixes.is_empty() || prefixes.iter().any(|p| s.name.starts_with(p)))
            .collect();
        let page: Vec<Value> = listed
            .iter()
            .skip(start)
            .take(max)
            .map(|s| self.describe(s, false))
            .collect();
        let mut out = json!({"SecretList": page});
        if start + max < listed.len() {
            out["NextToken"] = json!((start + max).to_string());
        }
        Ok(out)
    }

    pub(super) fn describe(&self, secret: &Secret, single: bool) -> Value {
        let mut out = json!({
            "ARN": secret.arn,
            "Name": secret.name,
            "CreatedDate": secret.created,
            "LastChangedDate": secret.last_changed,
            "Tags": secret.tags_json(),
        });
        if !secret.description.is_empty() {
            out["Description"] = json!(secret.description);
        }
        if let Some(k) = &secret.kms_key_id {
            out["KmsKeyId"] = json!(k);
        }
        if let Some(d) = secret.deleted_date {
            out["DeletedDate"] = json!(d);
        }
        let stages = secret.stages();
        if single {
            out["VersionIdsToStages"] = stages;
        } else {
            out["SecretVersionsToStages"] = stages;
        }
        out
    }

    pub(super) fn get_secret_value(
        &self,
        call: &SecretsCall,
        secret: &Secret,
        input: &Value,
    ) -> Result<Value, SecretsError> {
        let version = secret.version(
            str_field(input, "VersionId")?,
            str_field(input, "VersionStage")?,
        )?;
        let data_key = self.open_data_key(call, &secret.arn, version)?;
        let value = open(
            &data_key,
            &format!("{}|{}", secret.arn, version.id),
            &version.sealed,
        )
        .ok_or_else(|| {
            SecretsError::new(
                "DecryptionFailure",
                "The stored secret value does not open.",
            )
        })?;
        let mut out = json!({
            "ARN": secret.arn,
            "Name": secret.name,
            "VersionId": version.id,
            "VersionStages": version.stages,
            "CreatedDate": version.created,
        });
        if version.binary {
            out["SecretBinary"] = json!(base64::engine::general_purpose::STANDARD.encode(&*value));
        } else {
            out["SecretString"] = json!(String::from_utf8_lossy(&value));
        }
        Ok(out)
    }

    pub(super) fn put_secret_value(
        &self,
        call: &SecretsCall,
        secret: &mut Secret,
        input: &Value,
    ) -> Result<Value, SecretsError> {
        let Some((value, binary)) = value_of(input)? else {
            return Err(SecretsError::parameter(
                "You must provide either SecretString or SecretBinary.",
            ));
        };
        let id = version_id(input)?;
        if secret.versions.iter().any(|v| v.id == id) {
            return Err(SecretsError::new(
                "ResourceExistsException",
                format!("A version with VersionId {id} already exists."),
            ));
        }
        let stages: Vec<String> = match input.get("VersionStages").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            None => vec![AWSCURRENT.into()],
        };
        self.add_version(call, secret, id.clone(), &value, binary, stages.clone())?;
        Ok(
            json!({"ARN": secret.arn, "Name": secret.name, "VersionId": id, "VersionStages": stages}),
        )
    }

    pub(super) fn update_secret(
        &self,
        call: &SecretsCall,
        secret: &mut Secret,
        input: &Value,
    ) -> Result<Value, SecretsError> {
        if let Some(d) = str_field(input, "Description")? {
            secret.description = d.to_string();
        }
        if let Some(k) = str_field(input, "KmsKeyId")? {
            let new_key = (!k.is_empty()).then(|| k.to_string());
            if new_key != secret.kms_key_id {
                secret.kms_key_id = new_key;
                let key_arn = self.key_ref(secret)?;
                // AWS re-encrypts the labelled versions under the new key and keeps them
                // decryptable with the old one; without Decrypt on the old key it leaves them.
                let labelled: Vec<usize> = (0..secret.versions.len())
                    .filter(|&i| !secret.versions[i].stages.is_empty())
                    .collect();
                for i in labelled {
                    let Ok(data_key) = self.open_data_key(call, &secret.arn, &secret.versions[i])
                    else {
                        continue;
                    };
                    let id = secret.versions[i].id.clone();
                    let wrapped =
                        self.wrap_data_key(call, &key_arn, &secret.arn, &id, &data_key)?;
                    secret.versions[i].keys.insert(0, wrapped);
                }
            }
        }
        let mut out = json!({"ARN": secret.arn, "Name": secret.name});
        if let Some(id) = self.add_current_version(call, secret, input, value_of(input)?)? {
            out["VersionId"] = json!(id);
        }
        secret.last_changed = self.now();
        Ok(out)
    }

    pub(super) fn delete_secret(
        &self,
        secret: &mut Secret,
        input: &Value,
    ) -> Result<Value, SecretsError> {
        let force = input["ForceDeleteWithoutRecovery"]
            .as_bool()
            .unwrap_or(false);
        let window = input.get("RecoveryWindowInDays").and_then(Value::as_i64);
        if force && window.is_some() {
            return Err(SecretsError::parameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
            ));
        }
        let days = window.unwrap_or(30);
        if !force && !(7..=30).contains(&days) {
            return Err(SecretsError::parameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
            ));
        }
        let now = self.now();
        let when = if force { now } else { now + days * DAY };
        secret.deletion_date = Some(when);
        secret.deleted_date = Some(now);
        Ok(json!({"ARN": secret.arn, "Name": secret.name, "DeletionDate": when}))
    }

    pub(super) fn put_resource_policy(
        &self,
        secret: &mut Secret,
        input: &Value,
    ) -> Result<Value, SecretsError> {
        let text = required(input, "ResourcePolicy")?;
        if text.len() > MAX_POLICY {
            return Err(SecretsError::new(
                "MalformedPolicyDocumentException",
                format!("The resource policy is longer than {MAX_POLICY} characters."),
            ));
        }
        let doc = PolicyDocument::parse(text, PolicyKind::Resource)
            .map_err(|e| SecretsError::new("MalformedPolicyDocumentException", e.to_string()))?;
        let block_public = input["BlockPublicPolicy"].as_bool().unwrap_or(true);
        let parsed: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if block_public && is_public(&parsed) {
            return Err(SecretsError::new(
                "PublicPolicyException",
                "The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent broad access to the secret.",
            ));
        }
        secret.resource_policy = Some(text.to_string());
        secret.policy_doc = Some(Arc::new(doc));
        Ok(json!({"ARN": secret.arn, "Name": secret.name}))
    }

    /// A `value` given with CreateSecret or UpdateSecret as the new AWSCURRENT version, under the
    /// input's `ClientRequestToken` as its id; returns the id, `None` when no value was given.
    fn add_current_version(
        &self,
        call: &SecretsCall,
        secret: &mut Secret,
        input: &Value,
        value: Option<SecretValue>,
    ) -> Result<Option<String>, SecretsError> {
        let Some((value, binary)) = value else {
            return Ok(None);
        };
        let id = version_id(input)?;
        let stages = vec![AWSCURRENT.into()];
        self.add_version(call, secret, id.clone(), &value, binary, stages)?;
        Ok(Some(id))
    }
}
