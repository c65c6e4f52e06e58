//! The AWS client pieces the console and the grader share: a KMS operation called by name over
//! the JSON 1.1 protocol ([`kms_call`], on [`super::wire`]) and an SDK failure as the AWS CLI
//! would report it ([`s3_error`]). Both answer with a [`ClientError`], which each caller maps to
//! its own wording: the console to the CLI's exit codes, the grader to a failed or broken check.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use serde_json::{Map, Value};

use super::sdk::ClientSettings;

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an AWS error.
    #[error("An error occurred ({code}) when calling the {operation} operation: {message}")]
    Aws {
        /// The error code, such as `AccessDeniedException`.
        code: String,
        /// The message.
        message: String,
        /// The API operation.
        operation: String,
    },
    /// The request did not get an AWS answer (connection, TLS, a body that is not JSON).
    #[error("{0}")]
    Transport(String),
}

impl ClientError {
    /// The AWS error code, when the service answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Aws { code, .. } => Some(code),
            ClientError::Transport(_) => None,
        }
    }
}

/// Calls a KMS operation by its API name (`Encrypt`) with a JSON body, as the AWS CLI does.
pub async fn kms_call(
    settings: &ClientSettings,
    api: &str,
    body: Value,
) -> Result<Value, ClientError> {
    json_call(settings, "kms", &format!("TrentService.{api}"), api, body).await
}

/// Calls a Secrets Manager operation by its API name (`GetSecretValue`) with a JSON body.
pub async fn secretsmanager_call(
    settings: &ClientSettings,
    api: &str,
    body: Value,
) -> Result<Value, ClientError> {
    let target = format!("secretsmanager.{api}");
    json_call(settings, "secretsmanager", &target, api, body).await
}

/// The `X-Amz-Target` prefix of CloudTrail's operations, as the AWS CLI sends it.
pub const CLOUDTRAIL_TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

/// Calls a CloudTrail operation by its API name (`LookupEvents`) with a JSON body.
pub async fn cloudtrail_call(
    settings: &ClientSettings,
    api: &str,
    body: Value,
) -> Result<Value, ClientError> {
    let target = format!("{CLOUDTRAIL_TARGET}.{api}");
    json_call(settings, "cloudtrail", &target, api, body).await
}

/// The most pages [`lookup_events`] follows (50 events each).
pub const MAX_LOOKUP_PAGES: usize = 40;

/// Every event `LookupEvents` returns for `body` (a request without `NextToken`), following
/// `NextToken` up to [`MAX_LOOKUP_PAGES`] pages, newest first.
pub async fn lookup_events(
    settings: &ClientSettings,
    mut body: Value,
) -> Result<Vec<Value>, ClientError> {
    let mut events = Vec::new();
    for _ in 0..MAX_LOOKUP_PAGES {
        let page = cloudtrail_call(settings, "LookupEvents", body.clone()).await?;
        if let Some(list) = page.get("Events").and_then(Value::as_array) {
            events.extend(list.iter().cloned());
        }
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => body["NextToken"] = Value::from(token),
            _ => break,
        }
    }
    Ok(events)
}

/// Sends one AWS JSON 1.1 request by `X-Amz-Target` and reads the answer or the AWS error.
async fn json_call(
    settings: &ClientSettings,
    service: &str,
    target: &str,
    api: &str,
    body: Value,
) -> Result<Value, ClientError> {
    let bytes = serde_json::to_vec(&body).expect("JSON serializes");
    let (status, response) = super::wire::call_json(settings, service, target, bytes)
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    let value: Value = if response.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(&response).map_err(|e| {
            ClientError::Transport(format!(
                "the service answered with something other than JSON ({e})"
            ))
        })?
    };
    if status < 300 {
        return Ok(value);
    }
    let code = value
        .get("__type")
        .and_then(Value::as_str)
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Err(ClientError::Aws {
        code,
        message,
        operation: api.to_string(),
    })
}

/// An SDK failure as the AWS CLI reports it: the service's code and message (or the HTTP
/// status's, for the bodiless answers of HEAD), or why no answer came.
pub fn s3_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    operation: &str,
    e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> ClientError {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let SdkError::ServiceError(se) = e else {
        return ClientError::Transport(format!(
            "Could not complete {operation}: {}",
            error_chain(&e)
        ));
    };
    let err = se.err();
    let code = err
        .code()
        .map(str::to_string)
        .unwrap_or_else(|| status.map(|s| s.to_string()).unwrap_or_default());
    let message = err.message().map(str::to_string).unwrap_or_else(|| {
        match status {
            Some(400) => "Bad Request",
            Some(403) => "Forbidden",
            Some(404) => "Not Found",
            _ => "",
        }
        .to_string()
    });
    ClientError::Aws {
        code,
        message,
        operation: operation.to_string(),
    }
}

/// An error and its sources, one after the other.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
