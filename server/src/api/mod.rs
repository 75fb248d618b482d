//! The HTTP API, versioned under `/api/v1`. Each module owns its routes; [`router`] puts
//! them together with the OpenAPI document, which is generated from the handlers' own
//! annotations so that it cannot drift from what the server does.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, json_error};
use crate::state::AppState;

pub mod admin;
pub mod session;
pub mod sync;
pub mod system;

/// The OpenAPI document's fixed parts.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Avondronde API",
        description = "Sync, enrolment and web API of the Avondronde server. Errors are always JSON {code, message}."
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "metrics",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// All API routes plus the generated OpenAPI document.
pub fn router() -> (axum::Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(sync::router())
        .merge(session::router())
        .merge(admin::router())
        .merge(system::router())
        .merge(crate::hotspot::api::router())
        .merge(crate::meldpunt::api::router())
        .merge(crate::audit::web::api_router())
        .split_for_parts()
}

/// `Json` that answers malformed bodies with the API's JSON error shape.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> axum::response::Response {
    let status = rejection.status();
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "Het verzoek is te groot; stuur minder items per keer.".to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Stuur JSON met Content-Type: application/json.".to_owned(),
        ),
        _ => (
            "invalid_body",
            format!("Ongeldige JSON: {}", rejection.body_text()),
        ),
    };
    // A 422 from serde means the JSON was well-formed but had the wrong shape: still the
    // caller's mistake, reported as 400 with what was wrong.
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    json_error(status, code, &message)
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;
