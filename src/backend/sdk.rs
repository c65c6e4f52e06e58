//! Building `aws-sdk-kms` and `aws-sdk-s3` clients for a lab identity against an endpoint (the built-in engine
//! or any AWS-compatible one), over HTTP or over HTTPS trusting the engine's CA. Retries are
//! off so that every error reaches the caller as it happened.

use aws_credential_types::Credentials;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, HttpClientError};

/// Where and as whom a client connects.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The endpoint URL.
    pub endpoint: String,
    /// The region.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// A CA certificate (PEM) to trust in addition to none other, for HTTPS to the engine.
    pub ca_pem: Option<String>,
    /// The session token of temporary credentials (an assumed role), sent as
    /// `X-Amz-Security-Token` and signed.
    pub session_token: Option<String>,
}

/// Builds the HTTP client: rustls on ring, trusting only `ca_pem` when given.
pub fn http_client(
    ca_pem: Option<&str>,
) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, HttpClientError> {
    let builder = Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    let builder = match ca_pem {
        Some(pem) => {
            let store = TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(pem.as_bytes().to_vec());
            builder.tls_context(TlsContext::builder().with_trust_store(store).build()?)
        }
        None => builder,
    };
    Ok(builder.build_https())
}

fn credentials(settings: &ClientSettings) -> Credentials {
    Credentials::new(
        settings.access_key_id.clone(),
        settings.secret_access_key.clone(),
        settings.session_token.clone(),
        None,
        "keylab",
    )
}

/// A KMS client.
pub fn kms_client(settings: &ClientSettings) -> Result<aws_sdk_kms::Client, HttpClientError> {
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .endpoint_url(settings.endpoint.clone())
        .credentials_provider(credentials(settings))
        .retry_config(RetryConfig::disabled())
        .http_client(http_client(settings.ca_pem.as_deref())?)
        .build();
    Ok(aws_sdk_kms::Client::from_conf(config))
}

/// An S3 client (path-style addressing, so it works with an IP endpoint).
pub fn s3_client(settings: &ClientSettings) -> Result<aws_sdk_s3::Client, HttpClientError> {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(settings.region.clone()))
        .endpoint_url(settings.endpoint.clone())
        .force_path_style(true)
        .credentials_provider(credentials(settings))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .http_client(http_client(settings.ca_pem.as_deref())?)
        .build();
    Ok(aws_sdk_s3::Client::from_conf(config))
}

/// Client settings for a lab identity of a running engine.
pub fn engine_settings(
    engine: &keylab_engine::Engine,
    profile: &str,
    https: bool,
) -> Option<ClientSettings> {
    let identity = engine.identities().by_profile(profile)?;
    Some(ClientSettings {
        endpoint: if https {
            engine.https_endpoint()
        } else {
            engine.http_endpoint()
        },
        region: engine.region().to_string(),
        access_key_id: identity.access_key_id.clone(),
        secret_access_key: identity.secret.expose().to_string(),
        ca_pem: https.then(|| engine.ca_cert_pem().to_string()),
        session_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_credentials_keep_their_session_token() {
        let mut settings = ClientSettings {
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "secret".into(),
            ca_pem: None,
            session_token: Some("the-token".into()),
        };
        let temporary = credentials(&settings);
        assert_eq!(temporary.session_token(), Some("the-token"));
        assert_eq!(temporary.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(temporary.secret_access_key(), "secret");
        settings.session_token = None;
        assert_eq!(credentials(&settings).session_token(), None);
    }
}
