//! `avondronde-liveview`: serves the real app (its components, store and sync engine) to
//! a browser over a websocket on loopback: for the Playwright tests, and for `scripts/demo`
//! on a machine without a display.
//!
//! ```text
//! avondronde-liveview --data-dir DIR [--now 2026-11-20T22:30:00+01:00] [--addr 127.0.0.1:0]
//! AVONDRONDE_ENROL_URL=http://127.0.0.1:8080 AVONDRONDE_ENROL_CODE=… avondronde-liveview …
//! ```
//! It prints `LIVEVIEW_URL=http://127.0.0.1:PORT/?token=TOKEN` once it listens.
//!
//! For the QR-enrolment browser test it also writes test images of a QR code:
//! `avondronde-liveview qr-image TEXT OUT.bmp` (a photo for the file input) and
//! `avondronde-liveview qr-video TEXT OUT.y4m` (for Chromium's fake camera,
//! `--use-file-for-fake-video-capture`). `--now`
//! pins the app's clock (it then runs on from there), so a test can assert the norm
//! verdict's text.
//!
//! Development only (the `liveview` feature, off by default): it serves the real store, so
//! it listens on loopback only, answers only a browser that opened the URL with its random
//! token (which then holds it in a `SameSite=Strict` cookie, because liveview rewrites the
//! URL), and refuses a websocket whose `Origin` is not its own address.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use avondronde_app::clock::Clock;
use avondronde_app::platform::secrets::Preference;
use avondronde_app::services::AppCtx;
use avondronde_app::ui::App;
use axum::Router;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use dioxus::prelude::VirtualDom;
use dioxus_liveview::{LiveViewPool, axum_socket, interpreter_glue};

#[derive(Clone)]
struct Served {
    pool: LiveViewPool,
    ctx: AppCtx,
    /// The random token in the printed URL.
    token: String,
    /// `http://127.0.0.1:PORT`, the only Origin the websocket accepts.
    origin: String,
}

const COOKIE: &str = "avondronde_liveview";

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
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

async fn index(
    State(served): State<Served>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let by_query = q.token.as_deref() == Some(served.token.as_str());
    let by_cookie = cookie_token(&headers) == Some(served.token.as_str());
    if !by_query && !by_cookie {
        return (StatusCode::FORBIDDEN, "open the URL with its token").into_response();
    }
    let page = Html(format!(
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
    ));
    (
        [(
            header::SET_COOKIE,
            format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                served.token
            ),
        )],
        page,
    )
        .into_response()
}

async fn ws(
    upgrade: WebSocketUpgrade,
    State(served): State<Served>,
    headers: HeaderMap,
) -> Response {
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| o == served.origin);
    if !origin_ok || cookie_token(&headers) != Some(served.token.as_str()) {
        return (StatusCode::FORBIDDEN, "wrong origin or token").into_response();
    }
    upgrade
        .on_upgrade(move |socket| async move {
            let ctx = served.ctx.clone();
            let _ = served
                .pool
                .launch_virtualdom(axum_socket(socket), move || {
                    VirtualDom::new(App).with_root_context(ctx)
                })
                .await;
        })
        .into_response()
}

/// `AVONDRONDE_ENROL_URL` and `AVONDRONDE_ENROL_CODE` enrol a fresh data directory before
/// the app is served (used by `scripts/demo` without a display); an enrolled app ignores
/// them.
async fn enrol_from_env(ctx: &AppCtx) -> anyhow::Result<()> {
    let (Ok(url), Ok(code)) = (
        std::env::var("AVONDRONDE_ENROL_URL"),
        std::env::var("AVONDRONDE_ENROL_CODE"),
    ) else {
        return Ok(());
    };
    if ctx.enrolment().is_some() {
        return Ok(());
    }
    ctx.enrol(&url, &code)
        .await
        .map_err(|e| anyhow::anyhow!("aanmelden bij {url} lukte niet: {e}"))
}

/// A QR code for `text` centred on a white 640×480 greyscale canvas.
fn qr_canvas(text: &str) -> anyhow::Result<(usize, usize, Vec<u8>)> {
    let (w, h) = (640usize, 480usize);
    let (side, _, code) =
        avondronde_app::qr::render_luma(text, 1).context("text too long for a QR code")?;
    let scale = (h * 8 / 10 / side).max(1);
    let mut luma = vec![255u8; w * h];
    let (x0, y0) = ((w - side * scale) / 2, (h - side * scale) / 2);
    for y in 0..side * scale {
        for x in 0..side * scale {
            luma[(y0 + y) * w + x0 + x] = code[(y / scale) * side + x / scale];
        }
    }
    Ok((w, h, luma))
}

/// Writes the QR test image or video named on the command line (see the module doc).
fn write_qr(kind: &str, text: &str, out: &str) -> anyhow::Result<()> {
    let (w, h, luma) = qr_canvas(text)?;
    let mut bytes = Vec::new();
    if kind == "qr-video" {
        // YUV4MPEG2, 4:2:0: the luma plane, then neutral chroma; ten identical frames
        // (Chromium loops the file).
        bytes.extend_from_slice(format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").as_bytes());
        for _ in 0..10 {
            bytes.extend_from_slice(b"FRAME\n");
            bytes.extend_from_slice(&luma);
            bytes.extend(std::iter::repeat_n(128u8, w * h / 2));
        }
    } else {
        // A 24-bit BMP, rows bottom-up (w × 3 is a multiple of 4 here).
        let data = w * h * 3;
        let size = 54 + data;
        bytes.extend_from_slice(b"BM");
        for v in [size as u32, 0, 54, 40, w as u32, h as u32] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&24u16.to_le_bytes());
        for v in [0u32, data as u32, 2835, 2835, 0, 0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        for row in luma.chunks(w).rev() {
            for &g in row {
                bytes.extend_from_slice(&[g, g, g]);
            }
        }
    }
    std::fs::write(out, bytes).with_context(|| format!("writing {out}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if let [_, kind, text, out] = argv.as_slice()
        && (kind == "qr-image" || kind == "qr-video")
    {
        return write_qr(kind, text, out);
    }
    let args = args()?;
    let clock = args.now.map_or(Clock::System, Clock::fixed);
    let ctx = AppCtx::open(&args.data_dir, clock, Preference::File, true)?;
    enrol_from_env(&ctx).await?;
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let served = Served {
        pool: LiveViewPool::new(),
        ctx,
        token: token.clone(),
        origin: origin.clone(),
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/ws", get(ws))
        .with_state(served);
    println!("LIVEVIEW_URL={origin}/?token={token}");
    axum::serve(listener, app).await?;
    Ok(())
}
