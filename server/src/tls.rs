//! HTTPS served by the server itself (`serve --tls-cert --tls-key`), through rustls
//! (`axum-server`). With TLS on, responses carry HSTS and the session cookie is named
//! `__Host-avondronde` (see [`crate::security`] and [`crate::auth`]); `Config::tls` must
//! be set for that, which `main` does together with choosing this server.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;

use crate::AppState;

/// Reads a PEM certificate chain and private key.
pub async fn config_from_pem_files(cert: &Path, key: &Path) -> std::io::Result<RustlsConfig> {
    RustlsConfig::from_pem_chain_file(cert, key).await
}

/// Serves the application over TLS on `listener` until `shutdown` resolves, with the
/// same background jobs as [`crate::serve`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: RustlsConfig,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let retention = tokio::spawn(crate::retention::run_daily(state.clone()));
    let sweeper = tokio::spawn(crate::run_sweeper(state.clone()));
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let served = axum_server::from_tcp_rustls(listener.into_std()?, tls)?
        .handle(handle)
        .serve(crate::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await;
    retention.abort();
    sweeper.abort();
    served
}
