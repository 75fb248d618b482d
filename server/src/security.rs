//! The browser-facing protections every response and request goes through (issue 11):
//!
//! - security headers on every answer, through tower-http: a strict Content Security
//!   Policy with no inline script, `frame-ancestors 'none'` plus `X-Frame-Options: DENY`,
//!   `nosniff`, `Referrer-Policy: no-referrer`, HSTS when the server terminates TLS, and
//!   `Cache-Control: no-store` on everything that does not say otherwise (pages and API
//!   answers carry personal data; only the static assets set their own caching);
//! - a same-origin check on every state-changing request, with or without a cookie: a
//!   browser sends `Sec-Fetch-Site` and `Origin`, and a cross-site one is refused with 403
//!   even if the `SameSite` cookie should not have been sent at all (and a cross-site
//!   login, which carries none, is refused too);
//! - the real client address behind a trusted reverse proxy (`--trusted-proxy`), taken
//!   from `X-Forwarded-For` only when the connection comes from such a proxy, so that the
//!   audit log and the per-address limits see the client rather than the proxy.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::json_error;
use crate::state::AppState;

/// The Content Security Policy. Scripts and styles only from this server (no inline
/// script anywhere); images also from the basemap's tile server. Inline `style`
/// *attributes* are allowed (the map's legend swatches and Leaflet set them); they cannot
/// run script.
pub fn content_security_policy(basemap_url: &str) -> String {
    let tiles = basemap_origin(basemap_url)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data:{tiles}; connect-src 'self'; font-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

/// `https://host[:port]` of a tile URL template, if it has one.
fn basemap_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
    .then(|| format!("{scheme}://{host}"))
}

/// The header layers, outermost first.
pub fn header_layers(state: &AppState) -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    let csp = HeaderValue::from_str(&content_security_policy(&state.config.basemap_url))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"));
    let mut layers = vec![
        SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, csp),
        SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        SetResponseHeaderLayer::overriding(
            axum::http::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ),
    ];
    if state.config.https() {
        layers.push(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    layers
}

/// Whether a request that changes state came from this site, cookie or not: a
/// cross-site login would log the victim's browser into the attacker's account, and a
/// cross-site logout end the victim's session. Requests without `Sec-Fetch-Site` and
/// `Origin` (scripts, the app, curl) pass: they do not come from a browser that could be
/// tricked into sending them.
pub fn same_origin(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    let h = req.headers();
    // `Sec-Fetch-Site` is the browser's own verdict and decides when present. It has to:
    // with `Referrer-Policy: no-referrer` a browser sends `Origin: null` on its own
    // same-origin form posts.
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match h.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("null")) {
        None => true,
        Some(origin) => {
            let host = h
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .or_else(|| req.uri().authority().map(|a| a.as_str()));
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
        }
    }
}

/// Middleware: refuses cross-site state-changing requests.
pub async fn check_origin(req: Request, next: Next) -> Response {
    if same_origin(&req) {
        next.run(req).await
    } else {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "cross-site request refused");
        json_error(
            StatusCode::FORBIDDEN,
            "cross_site",
            "verzoek van een andere website geweigerd",
        )
        .into_response()
    }
}

/// The client address: the peer, or behind a trusted proxy the right-most address in
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(peer: IpAddr, forwarded: Option<&str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(list) = forwarded else {
        return peer;
    };
    let mut client = peer;
    for hop in list.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

/// Middleware: replaces the connection's address with the real client's behind a
/// trusted proxy, so every `ConnectInfo` reader (audit, enrolment limit, login throttle)
/// sees it.
pub async fn real_client(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    if !state.config.trusted_proxies.is_empty()
        && let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied()
    {
        let forwarded: Option<String> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
            .into();
        let forwarded = forwarded.filter(|f| !f.is_empty());
        let ip = client_address(
            peer.ip(),
            forwarded.as_deref(),
            &state.config.trusted_proxies,
        );
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, peer.port())));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> ipnet::IpNet {
        s.parse().expect("cidr")
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let trusted = [net("10.0.0.0/8")];
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        // Straight from the internet: the header is the client's own claim.
        assert_eq!(
            client_address(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Through the proxy: the right-most untrusted hop.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                Some("6.6.6.6, 198.51.100.7, 10.0.0.3"),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // A proxy without the header, or with garbage, is itself the client.
        assert_eq!(
            client_address(ip("10.0.0.2"), None, &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), Some("nonsense"), &trusted),
            ip("10.0.0.2")
        );
        // Nobody trusted: never believed.
        assert_eq!(
            client_address(ip("10.0.0.2"), Some("1.2.3.4"), &[]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn the_csp_allows_no_inline_script_and_no_framing() {
        let csp = content_security_policy("https://service.pdok.nl/brt/{z}/{x}/{y}.png");
        assert!(csp.contains("script-src 'self';"));
        assert!(!csp.contains("unsafe-eval"));
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("img-src 'self' data: https://service.pdok.nl;"));
        assert!(!content_security_policy("javascript:alert(1)").contains("javascript"));
    }
}
