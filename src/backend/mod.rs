//! Where the console and the grader send requests: a backend's endpoints, CA and the lab
//! identities' credentials, and what it enforces ([`Capabilities`]). The built-in engine runs
//! in process and enforces everything; LocalStack (or any AWS-compatible endpoint) is reached
//! over HTTP with the lab identities mapped onto 12-digit access key ids (LocalStack derives the
//! account from them and ignores secrets), and a probe at connect finds what it enforces.
//! Engine-only powers (IAM inline policies, the audit log) are reached through
//! [`Backend::engine`], and say so when it is absent.

pub mod client;
pub mod envelope;
#[cfg(feature = "docker")]
pub mod localstack;
pub mod query;
pub mod sdk;
pub mod wire;

use std::collections::BTreeSet;
use std::sync::Arc;

use zeroize::Zeroizing;

use self::sdk::ClientSettings;
use crate::pack::Capability;
use keylab_engine::identity::{DEFAULT_IDENTITIES, IdentitySet};
use keylab_engine::{Engine, EngineHandle};

/// What a backend enforces or offers, found by [`probe`] (or known, for the engine).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Capabilities(BTreeSet<Capability>);

impl Capabilities {
    /// Everything, as the built-in engine does.
    pub fn all() -> Capabilities {
        Capabilities(Capability::ALL.iter().copied().collect())
    }

    /// None yet: where an endpoint starts before [`probe`].
    pub fn none() -> Capabilities {
        Capabilities::default()
    }

    /// Whether it has `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        self.0.contains(&capability)
    }

    /// Records whether it has `capability`.
    pub fn set(&mut self, capability: Capability, present: bool) {
        if present {
            self.0.insert(capability);
        } else {
            self.0.remove(&capability);
        }
    }

    /// The missing ones, for the status bar and reports.
    pub fn missing(&self) -> Vec<Capability> {
        Capability::ALL
            .iter()
            .copied()
            .filter(|&c| !self.has(c))
            .collect()
    }
}

/// The credentials of one lab identity.
#[derive(Clone)]
pub struct ProfileCredentials {
    /// The profile name (`owner-admin`).
    pub profile: String,
    /// The account id.
    pub account: String,
    /// The principal ARN.
    pub arn: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Zeroizing<String>,
}

impl std::fmt::Debug for ProfileCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileCredentials")
            .field("profile", &self.profile)
            .field("secret_access_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A backend the lab talks to.
#[derive(Debug, Clone)]
pub struct Backend {
    /// `engine` or `localstack`.
    pub name: String,
    /// The region.
    pub region: String,
    /// The plain-HTTP endpoint.
    pub http_endpoint: String,
    /// The HTTPS endpoint.
    pub https_endpoint: String,
    /// The CA certificate (PEM) to trust for HTTPS, when it is not a public one.
    pub ca_pem: Option<String>,
    /// The CA certificate's file.
    pub ca_path: Option<std::path::PathBuf>,
    /// The lab identities.
    pub profiles: Vec<ProfileCredentials>,
    /// The engine's state, when the backend is the built-in engine.
    pub engine: Option<EngineHandle>,
    /// What it enforces.
    pub capabilities: Capabilities,
    /// The lab identities and their policies, for the evaluator when the backend is not the
    /// engine (the engine's own are used otherwise).
    pub offline_identities: Option<Arc<IdentitySet>>,
    /// The container it runs in, when keylab found or started one (`LocalStack in container
    /// 0123456789ab (shared: keylab localstack up)`), for the status bar.
    pub container: Option<String>,
}

/// The lab identities as profiles, with the credentials `credentials` gives each.
fn profiles(
    identities: &IdentitySet,
    credentials: impl Fn(&keylab_engine::identity::Identity) -> (String, String),
) -> Vec<ProfileCredentials> {
    identities
        .identities()
        .iter()
        .map(|i| {
            let (access_key_id, secret) = credentials(i);
            ProfileCredentials {
                profile: i.profile.clone(),
                account: i.caller.account.clone(),
                arn: i.caller.principal_arn.clone(),
                access_key_id,
                secret_access_key: Zeroizing::new(secret),
            }
        })
        .collect()
}

impl Backend {
    /// The built-in engine.
    pub fn from_engine(engine: &Engine) -> Backend {
        let profiles = profiles(engine.identities(), |i| {
            (i.access_key_id.clone(), i.secret.expose().to_string())
        });
        Backend {
            name: "engine".into(),
            region: engine.region().to_string(),
            http_endpoint: engine.http_endpoint(),
            https_endpoint: engine.https_endpoint(),
            ca_pem: Some(engine.ca_cert_pem().to_string()),
            ca_path: Some(engine.ca_cert_path().to_path_buf()),
            profiles,
            engine: Some(engine.handle()),
            capabilities: Capabilities::all(),
            offline_identities: None,
            container: None,
        }
    }

    /// LocalStack (or another AWS-compatible endpoint) at `endpoint`, plain HTTP. The lab
    /// identities keep their profiles; their access keys become their 12-digit account ids.
    /// Capabilities start as LocalStack's documented ones; [`probe`] checks them.
    pub fn endpoint(name: &str, endpoint: &str, region: &str) -> Result<Backend, String> {
        let identities = IdentitySet::parse(DEFAULT_IDENTITIES, "default identities", None)
            .map_err(|e| e.to_string())?;
        let profiles = profiles(&identities, |i| {
            (i.caller.account.clone(), "test".to_string())
        });
        let endpoint = endpoint.trim_end_matches('/').to_string();
        Ok(Backend {
            name: name.to_string(),
            region: region.to_string(),
            http_endpoint: endpoint.clone(),
            https_endpoint: endpoint,
            ca_pem: None,
            ca_path: None,
            profiles,
            engine: None,
            capabilities: Capabilities::none(),
            offline_identities: Some(Arc::new(identities)),
            container: None,
        })
    }

    /// The lab identities with their policies, for the evaluator.
    pub fn identities(&self) -> &IdentitySet {
        match (&self.engine, &self.offline_identities) {
            (Some(e), _) => e.identities(),
            (None, Some(i)) => i,
            (None, None) => unreachable!("a backend has the engine's identities or its own"),
        }
    }

    /// A lab identity's credentials, or an error listing the profiles there are.
    pub fn profile(&self, name: &str) -> Result<&ProfileCredentials, String> {
        self.profiles
            .iter()
            .find(|p| p.profile == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.profiles.iter().map(|p| p.profile.as_str()).collect();
                format!(
                    "The config profile ({name}) could not be found; the lab identities are: {}",
                    names.join(", ")
                )
            })
    }

    /// Client settings for a lab identity over HTTP or HTTPS.
    pub fn settings(&self, profile: &str, https: bool) -> Result<ClientSettings, String> {
        let p = self.profile(profile)?;
        Ok(ClientSettings {
            endpoint: if https {
                self.https_endpoint.clone()
            } else {
                self.http_endpoint.clone()
            },
            region: self.region.clone(),
            access_key_id: p.access_key_id.clone(),
            secret_access_key: p.secret_access_key.to_string(),
            ca_pem: if https { self.ca_pem.clone() } else { None },
            session_token: None,
        })
    }

    /// Whether requests to `endpoint` go over TLS.
    pub fn is_https(&self, endpoint: &str) -> bool {
        endpoint.starts_with("https://")
    }

    /// The account of an account name (`owner`, `partner`, `outsider`), from the profiles.
    pub fn account_of(&self, profile: &str) -> Option<&str> {
        self.profiles
            .iter()
            .find(|p| p.profile == profile)
            .map(|p| p.account.as_str())
    }
}

/// Finds what an endpoint enforces with a few harmless requests (a probe key and bucket in the
/// owner account, used by the partner): key policies, bucket policies, data-key sizes,
/// cross-account Decrypt without a KeyId, CloudTrail's event history (`LookupEvents`) and
/// Secrets Manager's cross-account rule. Unknown results stay `false`: a check that needs a
/// capability the probe could not show is marked not applicable, never passed.
pub async fn probe(backend: &mut Backend) {
    use aws_sdk_kms::primitives::Blob;
    let (Ok(owner), Ok(partner)) = (
        backend.settings("owner-admin", false),
        backend.settings("partner-admin", false),
    ) else {
        return;
    };
    let (Ok(kms), Ok(kms_partner), Ok(s3)) = (
        sdk::kms_client(&owner),
        sdk::kms_client(&partner),
        sdk::s3_client(&owner),
    ) else {
        return;
    };
    let account = backend
        .account_of("owner-admin")
        .unwrap_or_default()
        .to_string();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let history =
        client::cloudtrail_call(&owner, "LookupEvents", serde_json::json!({"MaxResults": 1})).await;
    let caps = &mut backend.capabilities;
    caps.set(
        Capability::AuditLog,
        history.is_ok_and(|page| page.get("Events").is_some_and(serde_json::Value::is_array)),
    );
    if let Ok(key) = kms
        .create_key()
        .policy(policy)
        .description("keylab capability probe")
        .send()
        .await
        && let Some(arn) = key
            .key_metadata()
            .map(|m| m.arn().unwrap_or_default().to_string())
    {
        if let Ok(dk) = kms
            .generate_data_key()
            .key_id(&arn)
            .number_of_bytes(16)
            .send()
            .await
        {
            caps.set(
                Capability::DataKeySizes,
                dk.plaintext().is_some_and(|p| p.as_ref().len() == 16),
            );
        }
        let foreign = kms_partner
            .encrypt()
            .key_id(&arn)
            .plaintext(Blob::new(b"probe".to_vec()))
            .send()
            .await;
        caps.set(Capability::KeyPolicies, foreign.is_err());
        if let Ok(ct) = kms
            .encrypt()
            .key_id(&arn)
            .plaintext(Blob::new(b"probe".to_vec()))
            .send()
            .await
            && let Some(blob) = ct.ciphertext_blob()
        {
            // Allowed or denied, a service that finds the key from the blob answers about it;
            // one that resolves the key id in the caller's account answers NotFound.
            let decrypted = kms_partner
                .decrypt()
                .ciphertext_blob(blob.clone())
                .send()
                .await;
            let names_its_key = match decrypted {
                Ok(_) => true,
                Err(e) => !format!("{e:?}").contains("NotFoundException"),
            };
            caps.set(Capability::CrossAccountDecryptWithoutKeyId, names_its_key);
        }
        let _ = kms
            .schedule_key_deletion()
            .key_id(&arn)
            .pending_window_in_days(7)
            .send()
            .await;
    }
    let bucket = format!("keylab-probe-{}", hex::encode(rand::random::<[u8; 4]>()));
    if s3.create_bucket().bucket(&bucket).send().await.is_ok() {
        let deny = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}}]}}"#
        );
        if s3
            .put_bucket_policy()
            .bucket(&bucket)
            .policy(deny)
            .send()
            .await
            .is_ok()
        {
            let denied = s3.list_objects_v2().bucket(&bucket).send().await.is_err();
            caps.set(Capability::BucketPolicies, denied);
            let _ = s3.delete_bucket_policy().bucket(&bucket).send().await;
        }
        let _ = s3.delete_bucket().bucket(&bucket).send().await;
    }
    let partner_account = backend
        .account_of("partner-admin")
        .unwrap_or_default()
        .to_string();
    let shared = probe_secrets(&owner, &partner, &partner_account).await;
    backend.capabilities.set(Capability::SecretsManager, shared);
}

/// Whether Secrets Manager keeps another account out of a secret under `aws/secretsmanager`
/// even when the secret's resource policy lets it in (as AWS does); the probe secret is
/// deleted at once.
async fn probe_secrets(
    owner: &ClientSettings,
    partner: &ClientSettings,
    partner_account: &str,
) -> bool {
    use serde_json::json;
    let name = format!("keylab-probe-{}", hex::encode(rand::random::<[u8; 4]>()));
    let Ok(created) = client::secretsmanager_call(
        owner,
        "CreateSecret",
        json!({"Name": name, "SecretString": "probe"}),
    )
    .await
    else {
        return false;
    };
    let arn = created["ARN"].as_str().unwrap_or_default().to_string();
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{partner_account}:root")},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]});
    let attached = client::secretsmanager_call(
        owner,
        "PutResourcePolicy",
        json!({"SecretId": arn, "ResourcePolicy": policy.to_string(), "BlockPublicPolicy": false}),
    )
    .await
    .is_ok();
    let owner_reads =
        client::secretsmanager_call(owner, "GetSecretValue", json!({"SecretId": arn}))
            .await
            .is_ok_and(|v| v["SecretString"] == "probe");
    let partner_denied =
        client::secretsmanager_call(partner, "GetSecretValue", json!({"SecretId": arn}))
            .await
            .is_err_and(|e| e.code() == Some("AccessDeniedException"));
    let _ = client::secretsmanager_call(
        owner,
        "DeleteSecret",
        json!({"SecretId": arn, "ForceDeleteWithoutRecovery": true}),
    )
    .await;
    attached && owner_reads && partner_denied
}
