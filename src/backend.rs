//! Where the console and the grader send requests: a backend's endpoints, CA and the lab
//! identities' credentials, and what it enforces ([`Capabilities`]). The built-in engine runs
//! in process and enforces everything; LocalStack (or any AWS-compatible endpoint) is reached
//! over HTTP with the lab identities mapped onto 12-digit access key ids (LocalStack derives the
//! account from them and ignores secrets), and a probe at connect finds what it enforces.
//! Engine-only powers (IAM inline policies, the audit log) are reached through
//! [`Backend::engine`], and say so when it is absent.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::sdk::ClientSettings;
use keylab_engine::identity::{DEFAULT_IDENTITIES, IdentitySet};
use keylab_engine::{Engine, EngineHandle};

/// What a backend enforces or offers, found by [`probe`] (or known, for the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// Key policies are evaluated (a key policy can deny another account).
    pub key_policies: bool,
    /// Bucket policies are evaluated (a Deny stops a request).
    pub bucket_policies: bool,
    /// `GenerateDataKey` honours `NumberOfBytes`/`KeySpec`.
    pub data_key_sizes: bool,
    /// A ciphertext names its key, so Decrypt across accounts needs no KeyId.
    pub cross_account_decrypt_without_key_id: bool,
    /// Requests can be made over TLS, so `aws:SecureTransport` can be true.
    pub tls: bool,
    /// The lab identities' IAM policies can be changed (`aws iam put-role-policy`).
    pub identity_policies: bool,
    /// An audit log of every request, for graders.
    pub audit_log: bool,
    /// Object bodies are encrypted at rest.
    pub at_rest_encryption: bool,
}

impl Capabilities {
    /// Everything, as the built-in engine does.
    pub fn all() -> Capabilities {
        Capabilities {
            key_policies: true,
            bucket_policies: true,
            data_key_sizes: true,
            cross_account_decrypt_without_key_id: true,
            tls: true,
            identity_policies: true,
            audit_log: true,
            at_rest_encryption: true,
        }
    }

    /// Whether one capability, by its name in graders, is there.
    pub fn has(&self, name: &str) -> bool {
        match name {
            "key_policies" => self.key_policies,
            "bucket_policies" => self.bucket_policies,
            "data_key_sizes" => self.data_key_sizes,
            "cross_account_decrypt_without_key_id" => self.cross_account_decrypt_without_key_id,
            "tls" => self.tls,
            "identity_policies" => self.identity_policies,
            "audit_log" => self.audit_log,
            "at_rest_encryption" => self.at_rest_encryption,
            _ => false,
        }
    }

    /// The names of the capabilities graders may ask for (the pack format's list).
    pub const NAMES: &'static [&'static str] = crate::pack::CAPABILITIES;

    /// The missing ones, for the status bar and reports.
    pub fn missing(&self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .copied()
            .filter(|n| !self.has(n))
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
            capabilities: Capabilities {
                key_policies: false,
                bucket_policies: false,
                data_key_sizes: false,
                cross_account_decrypt_without_key_id: false,
                tls: false,
                identity_policies: false,
                audit_log: false,
                at_rest_encryption: false,
            },
            offline_identities: Some(Arc::new(identities)),
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
/// owner account, used by the partner): key policies, bucket policies, data-key sizes and
/// cross-account Decrypt without a KeyId. Unknown results stay `false`: a check that needs a
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
        crate::sdk::kms_client(&owner),
        crate::sdk::kms_client(&partner),
        crate::sdk::s3_client(&owner),
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
    let caps = &mut backend.capabilities;
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
            caps.data_key_sizes = dk.plaintext().is_some_and(|p| p.as_ref().len() == 16);
        }
        let foreign = kms_partner
            .encrypt()
            .key_id(&arn)
            .plaintext(Blob::new(b"probe".to_vec()))
            .send()
            .await;
        caps.key_policies = foreign.is_err();
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
            caps.cross_account_decrypt_without_key_id = match decrypted {
                Ok(_) => true,
                Err(e) => !format!("{e:?}").contains("NotFoundException"),
            };
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
            caps.bucket_policies = s3.list_objects_v2().bucket(&bucket).send().await.is_err();
            let _ = s3.delete_bucket_policy().bucket(&bucket).send().await;
        }
        let _ = s3.delete_bucket().bucket(&bucket).send().await;
    }
}
