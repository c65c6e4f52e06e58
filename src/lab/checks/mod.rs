//! The check kinds, one file each, and what they share: `{{variables}}` filled in, the client
//! settings of a lab identity, a key named in any form resolved to its ARN. [`run`] dispatches
//! one check; the grader ([`super::grader`]) times it and records it.

mod alias;
mod audit;
mod bucket_encryption;
mod command;
mod document;
mod file;
mod key;
mod no_plaintext_keys;
mod object;
mod round_trip;
mod simulate;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::check::{Failure, broken, fail};
use super::masking;
use super::session::Session;
use crate::backend::client::{ClientError, kms_call, s3_error};
use crate::backend::envelope;
use crate::backend::sdk::{ClientSettings, s3_client};
use crate::pack::*;
use keylab_policy::{ContextKeys, Policies, PolicyDocument, PolicyKind, Request, ResourceRules};

/// Runs one check; the masking checks share one masking run per grading (`mask_run`).
pub(super) async fn run(
    session: &Session,
    kind: &CheckKind,
    mask_run: &mut Option<Result<masking::MaskRun, Failure>>,
) -> Result<(), Failure> {
    match kind {
        CheckKind::Key(c) => key::run(session, c).await,
        CheckKind::Alias(c) => alias::run(session, c).await,
        CheckKind::BucketEncryption(c) => bucket_encryption::run(session, c).await,
        CheckKind::Object(c) => object::run(session, c).await,
        CheckKind::Simulate(c) => simulate::run(session, c).await,
        CheckKind::Command(c) => command::run(session, c).await,
        CheckKind::RoundTrip(c) => round_trip::run(session, c).await,
        CheckKind::File(c) => file::run(session, c).await,
        CheckKind::NoPlaintextKeys(c) => no_plaintext_keys::run(session, c).await,
        CheckKind::Audit(c) => audit::run(session, c).await,
        CheckKind::Document(c) => document::run(session, c).await,
        CheckKind::NoLeaks(_)
        | CheckKind::Formats(_)
        | CheckKind::Joins(_)
        | CheckKind::KeyedTokens(_)
        | CheckKind::PasswordHashes(_)
        | CheckKind::KAnonymity(_) => masking_check(session, mask_run, kind).await,
    }
}

/// The masking run, made on first use and shared by the masking checks of one grading.
async fn masking_check(
    session: &Session,
    run: &mut Option<Result<masking::MaskRun, Failure>>,
    kind: &CheckKind,
) -> Result<(), Failure> {
    if run.is_none() {
        let spec = session
            .grader
            .masking
            .as_ref()
            .ok_or_else(|| broken("the grader has no [masking] table"))?;
        *run = Some(masking::prepare(session, spec).await);
    }
    match run.as_ref().expect("made above") {
        Ok(r) => masking::check(r, kind),
        Err(f) => Err(f.clone()),
    }
}

fn sub(session: &Session, text: &str) -> Result<String, Failure> {
    session.substitute(text).map_err(broken)
}

/// The client settings of a lab identity (the owner's administrator by default), over HTTPS.
fn settings_as(session: &Session, profile: Option<&str>) -> Result<ClientSettings, Failure> {
    session
        .backend
        .settings(profile.unwrap_or("owner-admin"), true)
        .map_err(broken)
}

async fn key_arn(settings: &ClientSettings, key: &str) -> Result<String, Failure> {
    let out = kms_call(settings, "DescribeKey", json!({ "KeyId": key })).await?;
    out.pointer("/KeyMetadata/Arn")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| broken("DescribeKey returned no ARN"))
}
