//! The HTTP client for the sync server's device API: enrolment, push and pull.
//!
//! Request bodies are gzipped (a long queue on a weak connection is mostly repetitive
//! JSON); the server decompresses them. Errors are sorted into the plan's
//! [`Failure`] so that [`avondronde_shared::sync::after_failure`] decides what happens.

use std::io::Write;
use std::time::Duration;

use avondronde_shared::sync::{Failure, PullRequest, PullResponse, PushRequest, PushResponse};
use avondronde_shared::{DeviceId, Role};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A request to the server failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No connection, DNS, TLS or a timeout.
    #[error("geen verbinding met de server")]
    Network,
    /// The server answered with an error.
    #[error("{message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The server's stable code, e.g. `device_revoked`.
        code: String,
        /// The server's message (Dutch).
        message: String,
        /// How long a busy server asked to be left alone (`Retry-After`, in seconds).
        retry_after: Option<Duration>,
    },
    /// The answer could not be read.
    #[error("onverwacht antwoord van de server")]
    Decode,
    /// The address typed is not a server address.
    #[error("ongeldig serveradres; begin met https://")]
    BadUrl,
    /// Plain `http://` to a host other than this device: refused before any connection.
    #[error(
        "Dit serveradres is niet beveiligd (http://). Gebruik https://; onversleuteld verkeer kan worden afgeluisterd en veranderd."
    )]
    Insecure,
}

impl ClientError {
    /// The failure as the sync plan sees it.
    pub fn failure(&self) -> Failure {
        match self {
            ClientError::Network | ClientError::BadUrl | ClientError::Insecure => Failure::Network,
            ClientError::Status {
                status: 429 | 503,
                retry_after: Some(wait),
                ..
            } => Failure::ComeBackAfter(*wait),
            ClientError::Status { status, .. } => Failure::Status(*status),
            // A garbled answer (a proxy's page, a cut connection) is retried like a 502.
            ClientError::Decode => Failure::Status(502),
        }
    }

    /// Whether the server says this device was revoked.
    pub fn is_revoked(&self) -> bool {
        matches!(self, ClientError::Status { status: 401, .. })
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// Enrolment request body.
#[derive(Serialize)]
struct EnrolRequest<'a> {
    code: &'a str,
    label: &'a str,
}

/// What enrolment gives.
#[derive(Debug, Clone, Deserialize)]
pub struct Enrolled {
    /// The new device id.
    pub device_id: DeviceId,
    /// The bearer token; keep it in the secret store only.
    pub token: String,
    /// The role code.
    pub role: String,
    /// The fingerprint of the meldpunt's root signing key, which the phone pins.
    #[serde(default)]
    pub meldpunt_fingerprint: Option<String>,
}

impl Enrolled {
    /// The role, if this build knows it.
    pub fn role(&self) -> Option<Role> {
        Role::from_code(&self.role)
    }
}

/// Normalises a server address typed by a person: trims, adds `https://` when no scheme
/// was given, and drops a trailing slash.
///
/// Plain `http://` is refused unless the host is this device itself (127.0.0.0/8, ::1,
/// `localhost`), in every build (issue 10). A debug-only exception would be untestable in
/// the very build the browser tests run, and the tests need no exception: their servers
/// listen on loopback. The check runs before any connection is made.
pub fn normalise_url(input: &str) -> Result<String, ClientError> {
    let t = input.trim();
    let lower = t.to_ascii_lowercase();
    let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
        t.to_owned()
    } else if t.contains("://") {
        // Another scheme: never guess https in front of it.
        return Err(ClientError::BadUrl);
    } else {
        format!("https://{t}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|_| ClientError::BadUrl)?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ClientError::BadUrl);
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(ClientError::Insecure),
        _ => return Err(ClientError::BadUrl),
    }
    Ok(with_scheme.trim_end_matches('/').to_owned())
}

/// Whether the URL's host is this device.
fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How long a request may take in all before it counts as "geen verbinding". A server
/// that accepts the connection and then says nothing (hanging, or a dead link behind a
/// proxy) is reported after this long instead of after most of a minute (rev3 finding
/// 14). A batch is at most [`crate::sync::MAX_BATCH_BYTES`] before gzip, a few hundred
/// kB on the wire; a link too weak to send that in time gets half the items on each retry
/// ([`avondronde_shared::sync::after_failure`]), so the queue still drains. A push that
/// timed out after the server took it is harmless: the retry gets a duplicate receipt.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("avondronde-app/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

async fn answer<T: DeserializeOwned>(res: reqwest::Response) -> Result<T, ClientError> {
    let status = res.status();
    if status.is_success() {
        return res.json::<T>().await.map_err(|_| ClientError::Decode);
    }
    let code = status.as_u16();
    let retry_after = retry_after(res.headers());
    let body = res.json::<ErrorBody>().await.ok();
    Err(ClientError::Status {
        status: code,
        code: body.as_ref().map_or_else(String::new, |b| b.code.clone()),
        message: body.map_or_else(|| format!("serverfout {code}"), |b| b.message),
        retry_after,
    })
}

/// `Retry-After` in seconds, as this server sends it. The HTTP-date form, or anything
/// unreadable, counts as absent: the device then backs off on its own.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn net(_: reqwest::Error) -> ClientError {
    ClientError::Network
}

/// Turns a one-time code into a device token.
pub async fn enrol(server_url: &str, code: &str, label: &str) -> Result<Enrolled, ClientError> {
    let base = normalise_url(server_url)?;
    let res = http()
        .post(format!("{base}/api/v1/enrol"))
        .json(&EnrolRequest {
            code: code.trim(),
            label,
        })
        .send()
        .await
        .map_err(net)?;
    answer(res).await
}

/// A client for one enrolled device.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `base` with the device's bearer token.
    pub fn new(base: &str, token: &str) -> Client {
        Client {
            http: http(),
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let json = serde_json::to_vec(body).map_err(|_| ClientError::Decode)?;
        // Level 2, as the server answers: on zlib-rs the smallest level that does not give
        // up ratio for speed (fewer bytes than the old backend's fastest, less CPU).
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::new(2));
        gz.write_all(&json).map_err(|_| ClientError::Decode)?;
        let compressed = gz.finish().map_err(|_| ClientError::Decode)?;
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .body(compressed)
            .send()
            .await
            .map_err(net)?;
        answer(res).await
    }

    /// Pushes a batch; one receipt per item.
    pub async fn push(&self, req: &PushRequest) -> Result<PushResponse, ClientError> {
        self.post("/api/v1/sync/push", req).await
    }

    /// Pulls configuration and feedback.
    pub async fn pull(&self, req: &PullRequest) -> Result<PullResponse, ClientError> {
        self.post("/api/v1/sync/pull", req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10: plain http to anything but this device is refused, before any connection
    /// (this function does no I/O; `enrol` calls it first).
    #[test]
    fn plain_http_is_refused_except_to_this_device() {
        for refused in [
            "http://avondronde.example.invalid",
            "http://192.168.1.10:8080",
            "http://10.0.0.1",
            "HTTP://avondronde.gemeente.nl",
            "http://127.0.0.1.example.invalid",
            "http://[2001:db8::1]",
        ] {
            assert_eq!(
                normalise_url(refused),
                Err(ClientError::Insecure),
                "{refused}"
            );
        }
        assert!(ClientError::Insecure.to_string().contains("https://"));
        for allowed in [
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:8080",
            "https://avondronde.example.invalid",
        ] {
            assert!(normalise_url(allowed).is_ok(), "{allowed}");
        }
        assert_eq!(normalise_url("ftp://x.nl"), Err(ClientError::BadUrl));
    }

    /// Answers one request with `response`, after reading the whole request.
    async fn answer_once(response: String) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = socket.read(&mut buf).await.expect("read");
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if n == 0 || request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            socket.write_all(response.as_bytes()).await.expect("write");
            socket.shutdown().await.expect("shutdown");
        });
        base
    }

    /// The failure a pull meets when the server answers with `status` and `headers`.
    async fn pull_failure(status: &str, headers: &str) -> Failure {
        let body = r#"{"code":"busy","message":"Even geduld."}"#;
        let response = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let client = Client::new(&answer_once(response).await, "token");
        let request: PullRequest = serde_json::from_str("{}").expect("empty pull");
        client
            .pull(&request)
            .await
            .expect_err("an error status")
            .failure()
    }

    /// Issue 13: a busy server (pool full: 503) says when to come back, and the phone does
    /// not come back sooner; a status that is not "busy" keeps the phone's own backoff.
    #[tokio::test]
    async fn a_busy_servers_retry_after_reaches_the_sync_plan() {
        let busy = "503 Service Unavailable";
        assert_eq!(
            pull_failure(busy, "Retry-After: 7\r\n").await,
            Failure::ComeBackAfter(Duration::from_secs(7))
        );
        assert_eq!(
            pull_failure("429 Too Many Requests", "Retry-After: 12\r\n").await,
            Failure::ComeBackAfter(Duration::from_secs(12))
        );
        assert_eq!(
            pull_failure(busy, "").await,
            Failure::Status(503),
            "no wait given: the phone backs off on its own"
        );
        assert_eq!(
            pull_failure(busy, "Retry-After: Fri, 04 Dec 2026 23:00:00 GMT\r\n").await,
            Failure::Status(503),
            "a date is not read: the phone backs off on its own"
        );
        assert_eq!(
            pull_failure("500 Internal Server Error", "Retry-After: 7\r\n").await,
            Failure::Status(500),
            "only a busy server's wait is honoured"
        );
    }

    #[test]
    fn typed_addresses_are_normalised_or_refused() {
        assert_eq!(
            normalise_url(" avondronde.example.nl/ ").as_deref(),
            Ok("https://avondronde.example.nl")
        );
        assert_eq!(
            normalise_url("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(normalise_url("http://"), Err(ClientError::BadUrl));
        assert_eq!(normalise_url("https://a b"), Err(ClientError::BadUrl));
    }
}
