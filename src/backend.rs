//! Where the console and the grader send requests: a backend's endpoints, CA and the lab
//! identities' credentials. Today that is the built-in engine, in process; LocalStack plugs in
//! here as another constructor. Engine-only powers (IAM inline policies, the audit log) are
//! reached through [`Backend::engine`], and say so when it is absent.

use zeroize::Zeroizing;

use crate::engine::{Engine, EngineHandle};
use crate::sdk::ClientSettings;

/// The credentials of one lab identity.
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
#[derive(Debug)]
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
}

impl Backend {
    /// The built-in engine.
    pub fn from_engine(engine: &Engine) -> Backend {
        let profiles = engine
            .identities()
            .identities()
            .iter()
            .map(|i| ProfileCredentials {
                profile: i.profile.clone(),
                account: i.caller.account.clone(),
                arn: i.caller.principal_arn.clone(),
                access_key_id: i.access_key_id.clone(),
                secret_access_key: Zeroizing::new(i.secret.expose().to_string()),
            })
            .collect();
        Backend {
            name: "engine".into(),
            region: engine.region().to_string(),
            http_endpoint: engine.http_endpoint(),
            https_endpoint: engine.https_endpoint(),
            ca_pem: Some(engine.ca_cert_pem().to_string()),
            ca_path: Some(engine.ca_cert_path().to_path_buf()),
            profiles,
            engine: Some(engine.handle()),
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

    /// The account of an account name (`owner`, `partner`, `outsider`), from the profiles.
    pub fn account_of(&self, profile: &str) -> Option<&str> {
        self.profiles
            .iter()
            .find(|p| p.profile == profile)
            .map(|p| p.account.as_str())
    }
}
