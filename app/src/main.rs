//! The `avondronde` binary: opens the encrypted store, starts the sync engine and shows
//! the app. The same code runs in the desktop window and in the Android and iOS webviews.

use anyhow::Context;
use avondronde_app::clock::Clock;
use avondronde_app::platform::{self, secrets::Preference};
use avondronde_app::services::AppCtx;
use avondronde_app::ui::App;

fn main() -> anyhow::Result<()> {
    // Only ids and counts are ever logged; no personal data reaches a log line.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AVONDRONDE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_target(false)
        .init();
    let dir = platform::data_dir();
    let ctx = AppCtx::open(&dir, Clock::System, Preference::Auto, true)
        .with_context(|| format!("opening the app's store in {}", dir.display()))?;
    enrol_from_env(&ctx)?;
    launch(ctx);
    Ok(())
}

/// `AVONDRONDE_ENROL_URL` and `AVONDRONDE_ENROL_CODE` enrol a fresh install before the
/// first screen (used by `scripts/demo`); an enrolled app ignores them.
fn enrol_from_env(ctx: &AppCtx) -> anyhow::Result<()> {
    let (Ok(url), Ok(code)) = (
        std::env::var("AVONDRONDE_ENROL_URL"),
        std::env::var("AVONDRONDE_ENROL_CODE"),
    ) else {
        return Ok(());
    };
    if ctx.enrolment().is_some() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(ctx.enrol(&url, &code))
        .map_err(|e| anyhow::anyhow!("aanmelden bij {url} lukte niet: {e}"))
}

#[cfg(feature = "desktop")]
fn launch(ctx: AppCtx) {
    use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
    let window = WindowBuilder::new()
        .with_title("Avondronde")
        .with_inner_size(LogicalSize::new(390.0, 780.0));
    let config = Config::new()
        .with_window(window)
        .with_menu(None)
        .with_background_color((0, 0, 0, 255))
        .with_custom_head(
            r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#.into(),
        );
    dioxus::LaunchBuilder::new()
        .with_cfg(config)
        .with_context(ctx)
        .launch(App);
}

#[cfg(not(feature = "desktop"))]
fn launch(ctx: AppCtx) {
    dioxus::LaunchBuilder::new().with_context(ctx).launch(App);
}
