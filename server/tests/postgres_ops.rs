//! PostgreSQL operations (issue 13): what the server does when every connection of its pool
//! is busy (503 with `Retry-After`, never 500), and the monthly partition maintenance
//! (`admin postgres-maintain`): months are created ahead, rows that landed in the default
//! partition move into their new month, and months wholly past every gemeente's retention
//! are dropped. Each test runs on a throwaway cluster (tests/common/pg.rs).
//!
//! The synchronous PostgreSQL client blocks (also when a connection is dropped), which a
//! runtime's worker may not: stores are made and dropped outside the runtime, and only the
//! requests run in it.

#[path = "common/pg.rs"]
mod pg;

use std::sync::mpsc;
use std::time::Duration;

use avondronde_server::state::{AppState, Config};
use avondronde_server::store::postgres::{APP_ROLE, PgAdmin};
use avondronde_server::store::{PoolOptions, Scope, Store};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use pg::PgCluster;
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A migrated cluster.
fn migrated() -> PgCluster {
    let cluster = PgCluster::start();
    let mut admin = PgAdmin::connect(&cluster.admin_url("postgres")).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    cluster
}

/// (status, Retry-After, content type, body) of one request.
async fn send(
    router: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, Option<String>, String, String) {
    let res = router.clone().oneshot(req).await.expect("answer");
    let status = res.status();
    let header_of = |h| {
        res.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry = header_of(header::RETRY_AFTER);
    let ctype = header_of(header::CONTENT_TYPE).unwrap_or_default();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        retry,
        ctype,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn push_request() -> Request<Body> {
    Request::post("/api/v1/sync/push")
        .header(header::AUTHORIZATION, "Bearer not-a-real-device-token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"protocol":2,"items":[]}"#))
        .expect("request")
}

fn pull_request() -> Request<Body> {
    Request::post("/api/v1/sync/pull")
        .header(header::AUTHORIZATION, "Bearer not-a-real-device-token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"protocol":2}"#))
        .expect("request")
}

fn page_request() -> Request<Body> {
    Request::get("/beheer")
        .header(header::COOKIE, "avondronde_session=not-a-real-session")
        .body(Body::empty())
        .expect("request")
}

#[test]
fn an_exhausted_pool_answers_503_with_retry_after_and_a_dutch_message_not_500() {
    let cluster = migrated();
    let store = Store::connect_pool(
        &cluster.url(APP_ROLE, "postgres"),
        PoolOptions {
            max_size: 1,
            wait: Duration::from_millis(300),
        },
    )
    .expect("app store");
    let state = AppState::new(store.clone(), Config::default());
    let router = avondronde_server::app(state.clone());

    // Hold the pool's only connection in a transaction until told to let go.
    let (taken_tx, taken) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let holder = {
        let store = store.clone();
        std::thread::spawn(move || {
            store.read_blocking(Scope::System, |_tx| {
                taken_tx.send(()).expect("signal");
                let _ = release_rx.recv_timeout(Duration::from_secs(30));
                Ok(())
            })
        })
    };
    taken.recv().expect("the connection is held");

    let rt = runtime();
    let (push, pull, page, health) = rt.block_on(async {
        (
            send(&router, push_request()).await,
            send(&router, pull_request()).await,
            send(&router, page_request()).await,
            send(
                &router,
                Request::get("/health").body(Body::empty()).expect("req"),
            )
            .await,
        )
    });
    for (what, (status, retry, ctype, body)) in
        [("push", &push), ("pull", &pull), ("health", &health)]
    {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
        assert_eq!(retry.as_deref(), Some("5"), "{what} says when to retry");
        assert!(ctype.starts_with("application/json"), "{what}: {ctype}");
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["code"], "unavailable", "{what}");
        let message = json["message"].as_str().expect("message");
        assert!(message.contains("probeer het"), "{what}: Dutch: {message}");
        assert!(!message.contains("pool"), "{what}: no internals: {message}");
    }
    let (status, retry, ctype, body) = &page;
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "page: {body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(ctype.starts_with("text/html"), "a page, not JSON: {ctype}");
    assert!(body.contains("Het is even druk"), "{body}");

    // Once the connection is free again the same requests reach the database: the 503 was
    // the busy pool and nothing else (an unknown token is then refused as such).
    release.send(()).expect("release");
    holder.join().expect("holder").expect("held read");
    let push_after = rt.block_on(send(&router, push_request()));
    assert_eq!(push_after.0, StatusCode::UNAUTHORIZED, "{}", push_after.3);
    let health_after = rt.block_on(send(
        &router,
        Request::get("/health").body(Body::empty()).expect("req"),
    ));
    assert_eq!(health_after.0, StatusCode::OK);
    drop(rt);
    drop((router, state, store));
}
