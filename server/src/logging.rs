//! What the server writes to its log, in one place: the binary installs [`layer`] and a
//! test installs the same layer over a buffer.
//!
//! The log must never hold personal data (names, addresses, birth dates, free text about
//! a child, usernames, passwords). Avondronde's own events are written with that in mind
//! (ids, counts and keyed tags only), but the crates under it are not: at `debug`,
//! `tokio-postgres` logs every statement's parameters, which are usernames, password
//! hashes and the contacts' facts, and `axum` traces why it refused a form, quoting what
//! was typed. An operator who sets `RUST_LOG=debug` to chase a problem must not turn the
//! log into a copy of the database. So whatever `RUST_LOG` asks for, only Avondronde's
//! own crates and `tower_http` (method, path with ids only, status, latency) log below
//! `info`; every other crate stops at `info`.

use tracing::{Level, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::registry::LookupSpan;

/// The directives used when `RUST_LOG` is unset or cannot be read.
pub const DEFAULT_DIRECTIVES: &str = "info,tower_http=info";

/// Targets that may log below `info`: their events are written for this log.
const VERBOSE_TARGETS: [&str; 2] = ["avondronde", "tower_http"];

/// Whether an event or span may be written at all: at `info` and above from anywhere,
/// below it only from Avondronde's own crates and `tower_http`.
pub fn allowed(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || VERBOSE_TARGETS.iter().any(|t| meta.target().starts_with(t))
}

/// The server's log layer: `directives` as `RUST_LOG` gives them (the default if `None`
/// or unreadable), capped by [`allowed`], written to `writer` without targets, in colour
/// only if `ansi` (a terminal; a log file or journald gets plain text).
pub fn layer<S, W>(
    directives: Option<&str>,
    writer: W,
    ansi: bool,
) -> impl Layer<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let requested = directives
        .and_then(|d| EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_DIRECTIVES));
    tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer)
        .with_filter(requested)
        .with_filter(filter_fn(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(target: &'static str, level: Level) -> Metadata<'static> {
        struct Nowhere;
        impl tracing::callsite::Callsite for Nowhere {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!("not registered")
            }
        }
        static NOWHERE: Nowhere = Nowhere;
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            tracing::field::FieldSet::new(&[], tracing::callsite::Identifier(&NOWHERE)),
            tracing::metadata::Kind::EVENT,
        )
    }

    #[test]
    fn only_our_own_crates_and_the_request_trace_log_below_info() {
        for (target, level, expected) in [
            ("avondronde_server::api::session", Level::TRACE, true),
            ("tower_http::trace::on_response", Level::DEBUG, true),
            ("tokio_postgres::query", Level::DEBUG, false),
            ("axum::rejection", Level::TRACE, false),
            ("tokio_postgres::connection", Level::INFO, true),
            ("r2d2", Level::ERROR, true),
        ] {
            assert_eq!(allowed(&meta(target, level)), expected, "{target} {level}");
        }
    }
}
