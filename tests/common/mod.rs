//! Shared helpers for the integration tests: an engine in a temporary directory and clients
//! for its lab identities.
#![allow(dead_code)]

use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata;
use keylab::backend::sdk::{engine_settings, kms_client};
use keylab_engine::{Engine, EngineConfig};

pub struct Lab {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub async fn start() -> Lab {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::start(EngineConfig::new(dir.path()))
            .await
            .expect("engine starts");
        Lab { engine, dir }
    }

    pub fn kms(&self, profile: &str) -> Client {
        let settings = engine_settings(&self.engine, profile, false).expect("known profile");
        kms_client(&settings).expect("client")
    }

    pub fn kms_https(&self, profile: &str) -> Client {
        let settings = engine_settings(&self.engine, profile, true).expect("known profile");
        kms_client(&settings).expect("client")
    }
}

/// The error code and message of a failed SDK call; panics if the call succeeded.
pub fn err<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, E>,
) -> (String, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (
            e.code().unwrap_or("<no code>").to_string(),
            e.message().unwrap_or("").to_string(),
        ),
    }
}

pub async fn create_key(kms: &Client) -> String {
    kms.create_key()
        .send()
        .await
        .expect("create key")
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

pub const OWNER: &str = "111122223333";
pub const PARTNER: &str = "444455556666";

impl Lab {
    pub fn s3(&self, profile: &str) -> aws_sdk_s3::Client {
        let settings = engine_settings(&self.engine, profile, false).expect("known profile");
        keylab::backend::sdk::s3_client(&settings).expect("client")
    }

    pub fn s3_https(&self, profile: &str) -> aws_sdk_s3::Client {
        let settings = engine_settings(&self.engine, profile, true).expect("known profile");
        keylab::backend::sdk::s3_client(&settings).expect("client")
    }
}
