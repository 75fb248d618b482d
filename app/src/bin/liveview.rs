//! `avondronde-liveview`: serves the real app (its components, store and sync engine) to
//! a browser over a websocket on loopback, for the Playwright tests.
//!
//! ```text
//! avondronde-liveview --data-dir DIR [--now 2026-11-20T22:30:00+01:00] [--addr 127.0.0.1:0]
//! ```
//! It prints `LIVEVIEW_URL=http://127.0.0.1:PORT/` once it listens. `--now` pins the app's
//! clock (it then runs on from there), so a test can assert the norm verdict's text.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use avondronde_app::clock::Clock;
use avondronde_app::platform::secrets::Preference;
use avondronde_app::services::AppCtx;
use avondronde_app::ui::App;
use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use dioxus::prelude::VirtualDom;
use dioxus_liveview::{LiveViewPool, axum_socket, interpreter_glue};

#[derive(Clone)]
struct Served {
    pool: LiveViewPool,
    ctx: AppCtx,
}

struct Args {
    data_dir: PathBuf,
    addr: SocketAddr,
    now: Option<jiff::Timestamp>,
}

fn args() -> anyhow::Result<Args> {
    let mut data_dir = None;
    let mut addr: SocketAddr = "127.0.0.1:0".parse()?;
    let mut now = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value)),
            "--addr" => addr = value.parse().context("--addr")?,
            "--now" => {
                let zoned: jiff::Zoned = value
                    .parse()
                    .or_else(|_| {
                        value
                            .parse::<jiff::Timestamp>()
                            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC))
                    })
                    .context("--now: an RFC 3339 time such as 2026-11-20T22:30:00+01:00")?;
                now = Some(zoned.timestamp());
            }
            other => bail!("unknown flag {other}"),
        }
    }
    if !addr.ip().is_loopback() {
        bail!("liveview serves loopback only");
    }
    Ok(Args {
        data_dir: data_dir.context("--data-dir is required")?,
        addr,
        now,
    })
}

async fn index() -> impl IntoResponse {
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Avondronde</title>
<style>html,body{{margin:0;background:#000;color:#fff}}</style>
</head>
<body>
<div id="main"></div>
<script>document.addEventListener('submit', e => e.preventDefault(), true);</script>
{glue}
</body>
</html>"#,
        glue = interpreter_glue("/ws")
    ))
}

async fn ws(upgrade: WebSocketUpgrade, State(served): State<Served>) -> impl IntoResponse {
    upgrade.on_upgrade(move |socket| async move {
        let ctx = served.ctx.clone();
        let _ = served
            .pool
            .launch_virtualdom(axum_socket(socket), move || {
                VirtualDom::new(App).with_root_context(ctx)
            })
            .await;
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let clock = args.now.map_or(Clock::System, Clock::fixed);
    let ctx = AppCtx::open(&args.data_dir, clock, Preference::File, true)?;
    let served = Served {
        pool: LiveViewPool::new(),
        ctx,
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/ws", get(ws))
        .with_state(served);
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!("LIVEVIEW_URL=http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
