//! TLS for the engine's HTTPS listener: a local certificate authority kept in the state
//! directory (its private key sealed, its certificate in `ca.pem` for clients to trust) and a
//! fresh leaf certificate for `localhost` and `127.0.0.1` signed by it at every start, served
//! with rustls on the ring provider. The CA is stable across restarts, so a learner configures
//! `AWS_CA_BUNDLE` once.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::state::StateStore;
use crate::fsutil::write_atomic;

/// The file name of the CA certificate in the state directory.
pub const CA_FILE: &str = "ca.pem";

#[derive(Serialize, Deserialize)]
struct StoredCa {
    key_pem: String,
    cert_pem: String,
}

impl Drop for StoredCa {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key_pem);
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "keylab local engine CA");
    dn.push(DnType::OrganizationName, "keylab");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// The TLS material of one engine run.
pub struct TlsSetup {
    /// The rustls server configuration.
    pub config: Arc<ServerConfig>,
    /// Where the CA certificate was written.
    pub ca_path: PathBuf,
    /// The CA certificate (PEM).
    pub ca_pem: String,
}

fn tls_err(e: impl std::fmt::Display) -> String {
    format!("cannot set up TLS: {e}")
}

/// Loads or creates the CA and issues this run's server certificate.
pub fn setup(store: &StateStore) -> Result<TlsSetup, String> {
    let stored: Option<StoredCa> = store.load("tls-ca").map_err(tls_err)?;
    let stored = match stored {
        Some(s) => s,
        None => {
            let key = KeyPair::generate().map_err(tls_err)?;
            let cert = ca_params().self_signed(&key).map_err(tls_err)?;
            let s = StoredCa {
                key_pem: key.serialize_pem(),
                cert_pem: cert.pem(),
            };
            store.save("tls-ca", &s).map_err(tls_err)?;
            s
        }
    };
    let ca_key = KeyPair::from_pem(&stored.key_pem).map_err(tls_err)?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let ca_path = store.dir().join(CA_FILE);
    write_atomic(&ca_path, stored.cert_pem.as_bytes())
        .map_err(|e| format!("{}: {e}", ca_path.display()))?;

    let mut leaf = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "s3.localhost".to_string(),
        "*.s3.localhost".to_string(),
    ])
    .map_err(tls_err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf_key = KeyPair::generate().map_err(tls_err)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(tls_err)?;
    let ca_der = rustls::pki_types::pem::PemObject::from_pem_slice(stored.cert_pem.as_bytes())
        .map_err(|e| tls_err(format!("CA certificate: {e:?}")))?;
    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_der];
    let key_der = Zeroizing::new(leaf_key.serialize_der());
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(tls_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsSetup {
        config: Arc::new(config),
        ca_path,
        ca_pem: stored.cert_pem.clone(),
    })
}
