//! A minimal device client for tests and the benchmark. It speaks the sync API the way the
//! field app does: a bearer token, JSON request bodies gzip-compressed with
//! `Content-Encoding: gzip`, and gzip-compressed answers (`Accept-Encoding: gzip`).
//!
//! It is not the field app's sync code (that lives in `app/`); it exists so the server can
//! be tested and measured end to end without the app.

use std::io::Write;

use avondronde_shared::sync::{PullRequest, PullResponse, PushRequest, PushResponse};
use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use serde::de::DeserializeOwned;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not get an answer.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an error status.
    #[error("status {status}: {body}")]
    Status {
        /// The status.
        status: reqwest::StatusCode,
        /// The body (the server's JSON `{code, message}`).
        body: String,
    },
    /// The answer was not the expected JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// An HTTP client for loopback test traffic: gzip answers on, and no proxy from the
/// environment, so test requests can never leave the machine through one.
///
/// # Panics
/// If the TLS backend cannot initialise (a broken environment).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .gzip(true)
        .build()
        .expect("building the HTTP client")
}

/// Gzip-compresses a request body.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::new(2));
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The answer of `POST /api/v1/enrol`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Enrolled {
    /// The device id.
    pub device_id: String,
    /// The bearer token.
    pub token: String,
    /// The field worker's role code.
    pub role: String,
}

/// An enrolled device talking to one server.
#[derive(Debug, Clone)]
pub struct DeviceClient {
    http: reqwest::Client,
    base: String,
    /// The bearer token.
    pub token: String,
}

impl DeviceClient {
    /// Enrols with a one-time code at `base` (e.g. `TestServer::url()`).
    ///
    /// # Errors
    /// If the server refuses the code or cannot be reached.
    pub async fn enrol(
        http: &reqwest::Client,
        base: &str,
        code: &str,
    ) -> Result<(DeviceClient, Enrolled), ClientError> {
        let res = http
            .post(format!("{base}/api/v1/enrol"))
            .json(&serde_json::json!({ "code": code, "label": "test" }))
            .send()
            .await?;
        let enrolled: Enrolled = json(res).await?;
        Ok((
            DeviceClient::with_token(http, base, &enrolled.token),
            enrolled,
        ))
    }

    /// A client for a device whose token is already known.
    pub fn with_token(http: &reqwest::Client, base: &str, token: &str) -> DeviceClient {
        DeviceClient {
            http: http.clone(),
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    /// Sends a push with a gzip body; returns the raw response.
    ///
    /// # Errors
    /// If the server cannot be reached.
    pub async fn push_response(&self, req: &PushRequest) -> Result<reqwest::Response, ClientError> {
        let body = gzip(&serde_json::to_vec(req)?);
        self.post_gzip("/api/v1/sync/push", body).await
    }

    /// Posts an already gzip-compressed JSON body to `path` with this device's token.
    ///
    /// # Errors
    /// If the server cannot be reached.
    pub async fn post_gzip(
        &self,
        path: &str,
        gzipped_json: Vec<u8>,
    ) -> Result<reqwest::Response, ClientError> {
        Ok(self
            .http
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .body(gzipped_json)
            .send()
            .await?)
    }

    /// Pushes a batch and returns the receipts.
    ///
    /// # Errors
    /// On an error status or an unreachable server.
    pub async fn push(&self, req: &PushRequest) -> Result<PushResponse, ClientError> {
        json(self.push_response(req).await?).await
    }

    /// Pulls configuration and feedback.
    ///
    /// # Errors
    /// On an error status or an unreachable server.
    pub async fn pull(&self, req: &PullRequest) -> Result<PullResponse, ClientError> {
        let body = gzip(&serde_json::to_vec(req)?);
        json(self.post_gzip("/api/v1/sync/pull", body).await?).await
    }
}

/// Reads a successful JSON answer, or the error status with its body.
///
/// # Errors
/// On an error status, a broken connection or unexpected JSON.
pub async fn json<T: DeserializeOwned>(res: reqwest::Response) -> Result<T, ClientError> {
    let status = res.status();
    let bytes = res.bytes().await?;
    if !status.is_success() {
        return Err(ClientError::Status {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Ok(serde_json::from_slice(&bytes)?)
}
