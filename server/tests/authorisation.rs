//! Issue 3's authorisation matrix: every API endpoint × every principal (the six web roles,
//! a field device's token, nobody) × a target in the caller's own gemeente or in another
//! one, with the exact status each must get. Ids from another gemeente answer 404, exactly
//! like ids that do not exist; only the admin may issue enrolment codes or revoke devices.
//!
//! [`every_documented_operation_is_in_the_matrix`] fails when an endpoint is added to the
//! API without a row here. Issue 11 added the HTML pages ([`page_matrix`]) and
//! [`every_route_in_the_router_has_a_row`], which reads every `.route(..)` in the server's
//! source, so that a page cannot be added without saying who may see it.

mod common;

use std::collections::BTreeSet;

use avondronde_server::auth::{self, ENROLMENT_TTL_MS};
use avondronde_server::{Config, setup};
use avondronde_shared::sync::Payload;
use avondronde_shared::{CareFormId, DeviceId, Role, UserId};
use axum::http::{Method, StatusCode};
use common::*;
use jiff::Timestamp;
use rstest::{fixture, rstest};

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Straatcoach,
    Boa,
    Wijkagent,
    Coordinator,
    Meldpunt,
    Admin,
    Device,
    Anonymous,
}

impl Who {
    fn index(self) -> usize {
        self as usize
    }

    fn role(self) -> Option<Role> {
        Some(match self {
            Who::Straatcoach => Role::Straatcoach,
            Who::Boa => Role::Boa,
            Who::Wijkagent => Role::Wijkagent,
            Who::Coordinator => Role::Coordinator,
            Who::Meldpunt => Role::Meldpunt,
            Who::Admin => Role::Admin,
            Who::Device | Who::Anonymous => return None,
        })
    }
}

/// Where the target of the request lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Own,
    Other,
}

/// The endpoints of the API.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Enrol,
    Push,
    Pull,
    Login,
    Logout,
    Me,
    SessionTotp,
    SessionTotpSetup,
    IssueCode,
    Revoke,
    Health,
    Metrics,
    OpenApi,
    HotspotWijken,
    HotspotCells,
    HotspotHistogram,
    HotspotTrend,
    HotspotSummary,
    HotspotCsv,
    HotspotGeojson,
    HotspotTrends,
    HotspotTrendsCsv,
    HotspotTrendsGeojson,
    CareForms,
    CareForm,
    CareFormStatus,
    MeldpuntUnlock,
    MeldpuntLock,
    Audit,
}

impl Endpoint {
    /// Method and path as documented in the OpenAPI document (`None` for the document itself).
    fn documented(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Endpoint::Enrol => ("post", "/api/v1/enrol"),
            Endpoint::Push => ("post", "/api/v1/sync/push"),
            Endpoint::Pull => ("post", "/api/v1/sync/pull"),
            Endpoint::Login => ("post", "/api/v1/session"),
            Endpoint::Logout => ("delete", "/api/v1/session"),
            Endpoint::Me => ("get", "/api/v1/me"),
            Endpoint::SessionTotp => ("post", "/api/v1/session/totp"),
            Endpoint::SessionTotpSetup => ("post", "/api/v1/session/totp/setup"),
            Endpoint::IssueCode => ("post", "/api/v1/admin/enrolment-codes"),
            Endpoint::Revoke => ("post", "/api/v1/admin/devices/{id}/revoke"),
            Endpoint::Health => ("get", "/health"),
            Endpoint::Metrics => ("get", "/metrics"),
            Endpoint::OpenApi => return None,
            Endpoint::HotspotWijken => ("get", "/api/v1/hotspot/wijken"),
            Endpoint::HotspotCells => ("get", "/api/v1/hotspot/wijken/{wijk}/cells"),
            Endpoint::HotspotHistogram => ("get", "/api/v1/hotspot/wijken/{wijk}/histogram"),
            Endpoint::HotspotTrend => ("get", "/api/v1/hotspot/wijken/{wijk}/trend"),
            Endpoint::HotspotSummary => ("get", "/api/v1/hotspot/wijken/{wijk}/summary"),
            Endpoint::HotspotCsv => ("get", "/api/v1/hotspot/wijken/{wijk}/export.csv"),
            Endpoint::HotspotGeojson => ("get", "/api/v1/hotspot/wijken/{wijk}/export.geojson"),
            Endpoint::HotspotTrends => ("get", "/api/v1/hotspot/wijken/{wijk}/trends"),
            Endpoint::HotspotTrendsCsv => {
                ("get", "/api/v1/hotspot/wijken/{wijk}/trends/export.csv")
            }
            Endpoint::HotspotTrendsGeojson => {
                ("get", "/api/v1/hotspot/wijken/{wijk}/trends/export.geojson")
            }
            Endpoint::CareForms => ("get", "/api/v1/care-forms"),
            Endpoint::CareForm => ("get", "/api/v1/care-forms/{id}"),
            Endpoint::CareFormStatus => ("put", "/api/v1/care-forms/{id}/status"),
            Endpoint::MeldpuntUnlock => ("post", "/api/v1/meldpunt/unlock"),
            Endpoint::MeldpuntLock => ("post", "/api/v1/meldpunt/lock"),
            Endpoint::Audit => ("get", "/api/v1/audit"),
        })
    }

    const ALL: [Endpoint; 29] = [
        Endpoint::Enrol,
        Endpoint::Push,
        Endpoint::Pull,
        Endpoint::Login,
        Endpoint::Logout,
        Endpoint::Me,
        Endpoint::SessionTotp,
        Endpoint::SessionTotpSetup,
        Endpoint::IssueCode,
        Endpoint::Revoke,
        Endpoint::Health,
        Endpoint::Metrics,
        Endpoint::OpenApi,
        Endpoint::HotspotWijken,
        Endpoint::HotspotCells,
        Endpoint::HotspotHistogram,
        Endpoint::HotspotTrend,
        Endpoint::HotspotSummary,
        Endpoint::HotspotCsv,
        Endpoint::HotspotGeojson,
        Endpoint::HotspotTrends,
        Endpoint::HotspotTrendsCsv,
        Endpoint::HotspotTrendsGeojson,
        Endpoint::CareForms,
        Endpoint::CareForm,
        Endpoint::CareFormStatus,
        Endpoint::MeldpuntUnlock,
        Endpoint::MeldpuntLock,
        Endpoint::Audit,
    ];
}

/// Two gemeenten with web users, a device in the first, and a session per role there.
struct World {
    app: TestApp,
    own: Seed,
    other: Seed,
    device: String,
    sessions: Vec<(Role, String)>,
}

impl World {
    fn seed(&self, scope: Scope) -> &Seed {
        match scope {
            Scope::Own => &self.own,
            Scope::Other => &self.other,
        }
    }

    fn session(&self, role: Role) -> &str {
        &self
            .sessions
            .iter()
            .find(|(r, _)| *r == role)
            .expect("session per role")
            .1
    }

    /// A fresh device of the seed's field user, enrolled directly in the database.
    fn fresh_device(&self, seed: &Seed) -> (DeviceId, String) {
        self.app
            .direct()
            .transaction(|tx| {
                let code = auth::issue_enrolment_code(tx, seed.field_user, ENROLMENT_TTL_MS)?;
                auth::enrol(tx, &code, "matrix")
            })
            .expect("db")
            .expect("fresh code enrols")
    }

    /// A new field user of the seed's gemeente, so that what happens to their enrolment
    /// codes is this case's doing alone (cases run concurrently).
    fn fresh_field_user(&self, seed: &Seed) -> (UserId, String) {
        let username = format!("veld-{}", UserId::new());
        let id = self
            .app
            .direct()
            .transaction(|tx| {
                Ok(setup::add_user(
                    tx,
                    seed.gemeente,
                    &username,
                    Role::Boa,
                    None,
                ))
            })
            .expect("db")
            .expect("field user");
        (id, username)
    }

    fn codes_of(&self, user: UserId) -> i64 {
        self.app.scalar(&format!(
            "SELECT COUNT(*) FROM enrolment_code WHERE user_id = '{}'",
            user
        ))
    }

    fn revoked(&self, device: DeviceId) -> bool {
        self.app.scalar(&format!(
            "SELECT revoked_at IS NOT NULL FROM device WHERE id = '{device}'"
        )) == 1
    }
}

#[fixture]
#[once]
fn world() -> World {
    // Login and enrolment limits are tested on their own; here they would only make the
    // outcome depend on how many cases ran before.
    let app = TestApp::with_config(Config {
        logins_per_minute: 100_000,
        ..Config::default()
    });
    let own = app.seed(true);
    let other = app.seed(true);
    let sessions = own
        .web_users
        .iter()
        .map(|(role, username, password)| (*role, app.session_cookie(username, password)))
        .collect();
    let (_, device) = app
        .direct()
        .transaction(|tx| auth::enrol(tx, &own.enrolment_code, "matrix"))
        .expect("db")
        .expect("enrol");
    World {
        app,
        own,
        other,
        device,
        sessions,
    }
}

#[rstest]
//                       straatcoach boa  wijkagent coordinator meldpunt admin device anonymous
#[case::enrol(Endpoint::Enrol,
    [200, 200, 200, 200, 200, 200, 200, 200],
    [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::push(Endpoint::Push,
    [401, 401, 401, 401, 401, 401, 200, 401],
    [401, 401, 401, 401, 401, 401, 200, 401])]
#[case::pull(Endpoint::Pull,
    [401, 401, 401, 401, 401, 401, 200, 401],
    [401, 401, 401, 401, 401, 401, 200, 401])]
#[case::login(Endpoint::Login,
    [200, 200, 200, 200, 200, 200, 200, 200],
    [200, 200, 200, 200, 200, 200, 200, 200])]
// Issue 11: a device token is known but never allowed on a web endpoint: 403 everywhere.
#[case::logout(Endpoint::Logout,
    [204, 204, 204, 204, 204, 204, 403, 401],
    [204, 204, 204, 204, 204, 204, 403, 401])]
#[case::me(Endpoint::Me,
    [200, 200, 200, 200, 200, 200, 403, 401],
    [200, 200, 200, 200, 200, 200, 403, 401])]
// Finishing the second factor: every session here is already complete (409).
#[case::session_totp(Endpoint::SessionTotp,
    [409, 409, 409, 409, 409, 409, 403, 401],
    [409, 409, 409, 409, 409, 409, 403, 401])]
#[case::session_totp_setup(Endpoint::SessionTotpSetup,
    [409, 409, 409, 409, 409, 409, 403, 401],
    [409, 409, 409, 409, 409, 409, 403, 401])]
#[case::issue_code(Endpoint::IssueCode,
    [403, 403, 403, 403, 403, 200, 403, 401],
    [403, 403, 403, 403, 403, 404, 403, 401])]
#[case::revoke(Endpoint::Revoke,
    [403, 403, 403, 403, 403, 204, 403, 401],
    [403, 403, 403, 403, 403, 404, 403, 401])]
#[case::health(Endpoint::Health,
    [200, 200, 200, 200, 200, 200, 200, 200],
    [200, 200, 200, 200, 200, 200, 200, 200])]
// Issue 11: /metrics needs its own bearer token; without one configured it does not exist.
#[case::metrics(Endpoint::Metrics,
    [404, 404, 404, 404, 404, 404, 404, 404],
    [404, 404, 404, 404, 404, 404, 404, 404])]
#[case::openapi(Endpoint::OpenApi,
    [200, 200, 200, 200, 200, 200, 200, 200],
    [200, 200, 200, 200, 200, 200, 200, 200])]
// Issue 6: the hotspot map is for the coordinator, and only for their own gemeente's wijken.
#[case::hotspot_wijken(Endpoint::HotspotWijken,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 200, 403, 403, 403, 401])]
#[case::hotspot_cells(Endpoint::HotspotCells,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
#[case::hotspot_histogram(Endpoint::HotspotHistogram,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
#[case::hotspot_trend(Endpoint::HotspotTrend,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
#[case::hotspot_summary(Endpoint::HotspotSummary,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
#[case::hotspot_csv(Endpoint::HotspotCsv,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
#[case::hotspot_geojson(Endpoint::HotspotGeojson,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
// Issue 15: the trends of the map, the same rule.
#[case::hotspot_trends(Endpoint::HotspotTrends,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
#[case::hotspot_trends_csv(Endpoint::HotspotTrendsCsv,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
#[case::hotspot_trends_geojson(Endpoint::HotspotTrendsGeojson,
    [403, 403, 403, 200, 403, 403, 403, 401],
    [403, 403, 403, 404, 403, 403, 403, 401])]
// Issue 5: care forms are for the meldpunt only (a device token is known, so 403). This
// world has no meldpunt key and no forms, so the meldpunt gets 404 for any form id and 409
// on unlock; tests/care_forms.rs drives the same endpoints over real sealed forms.
#[case::care_forms(Endpoint::CareForms,
    [403, 403, 403, 403, 200, 403, 403, 401],
    [403, 403, 403, 403, 200, 403, 403, 401])]
#[case::care_form(Endpoint::CareForm,
    [403, 403, 403, 403, 404, 403, 403, 401],
    [403, 403, 403, 403, 404, 403, 403, 401])]
#[case::care_form_status(Endpoint::CareFormStatus,
    [403, 403, 403, 403, 404, 403, 403, 401],
    [403, 403, 403, 403, 404, 403, 403, 401])]
#[case::meldpunt_unlock(Endpoint::MeldpuntUnlock,
    [403, 403, 403, 403, 409, 403, 403, 401],
    [403, 403, 403, 403, 409, 403, 403, 401])]
#[case::meldpunt_lock(Endpoint::MeldpuntLock,
    [403, 403, 403, 403, 204, 403, 403, 401],
    [403, 403, 403, 403, 204, 403, 403, 401])]
// The audit log: the admin and the meldpunt of the gemeente (their own log only).
#[case::audit(Endpoint::Audit,
    [403, 403, 403, 403, 200, 200, 403, 401],
    [403, 403, 403, 403, 200, 200, 403, 401])]
#[tokio::test]
async fn authorisation_matrix(
    world: &World,
    #[case] endpoint: Endpoint,
    #[case] own: [u16; 8],
    #[case] other: [u16; 8],
    #[values(
        Who::Straatcoach,
        Who::Boa,
        Who::Wijkagent,
        Who::Coordinator,
        Who::Meldpunt,
        Who::Admin,
        Who::Device,
        Who::Anonymous
    )]
    who: Who,
    #[values(Scope::Own, Scope::Other)] scope: Scope,
) {
    let expected = match scope {
        Scope::Own => own,
        Scope::Other => other,
    }[who.index()];
    let target = world.seed(scope);

    // Logging out ends the session, so that case gets a session of its own.
    let session = match (endpoint, who.role()) {
        (Endpoint::Logout, Some(role)) => {
            let (username, password) = world.own.login(role);
            Some(world.app.session_cookie(username, password))
        }
        (_, Some(role)) => Some(world.session(role).to_owned()),
        (_, None) => None,
    };
    let auth = match (who, &session) {
        (Who::Device, _) => Auth::Bearer(&world.device),
        (_, Some(c)) => Auth::Cookie(c),
        _ => Auth::None,
    };

    let mut revoke_target = None;
    let mut code_target = None;
    let req = match endpoint {
        Endpoint::Enrol => {
            let code = world
                .app
                .direct()
                .transaction(|tx| {
                    auth::issue_enrolment_code(tx, target.field_user, ENROLMENT_TTL_MS)
                })
                .expect("code");
            post(
                "/api/v1/enrol",
                auth,
                json_body(&serde_json::json!({ "code": code })),
            )
        }
        Endpoint::Push => {
            let r = round(target.wijk, minutes_ago(30));
            post(
                "/api/v1/sync/push",
                auth,
                json_body(&push_request(Timestamp::now(), &[Payload::Round(r)])),
            )
        }
        Endpoint::Pull => post(
            "/api/v1/sync/pull",
            auth,
            json_body(&serde_json::json!({ "protocol": 1 })),
        ),
        Endpoint::Login => {
            let (username, password) = target.login(Role::Coordinator);
            post(
                "/api/v1/session",
                auth,
                json_body(&serde_json::json!({ "username": username, "password": password })),
            )
        }
        Endpoint::Logout => request(Method::DELETE, "/api/v1/session", auth, (None, vec![])),
        Endpoint::Me => get("/api/v1/me", auth),
        Endpoint::SessionTotp => post(
            "/api/v1/session/totp",
            auth,
            json_body(&serde_json::json!({ "code": "000000" })),
        ),
        Endpoint::SessionTotpSetup => post("/api/v1/session/totp/setup", auth, (None, vec![])),
        Endpoint::IssueCode => {
            let (user, username) = world.fresh_field_user(target);
            code_target = Some(user);
            post(
                "/api/v1/admin/enrolment-codes",
                auth,
                json_body(&serde_json::json!({ "username": username })),
            )
        }
        Endpoint::Revoke => {
            let (device, _) = world.fresh_device(target);
            revoke_target = Some(device);
            post(
                &format!("/api/v1/admin/devices/{device}/revoke"),
                auth,
                (None, vec![]),
            )
        }
        Endpoint::Health => get("/health", auth),
        Endpoint::Metrics => get("/metrics", auth),
        Endpoint::OpenApi => get("/api/v1/openapi.json", auth),
        Endpoint::HotspotWijken => get("/api/v1/hotspot/wijken", auth),
        Endpoint::HotspotCells => get(
            &format!("/api/v1/hotspot/wijken/{}/cells", target.wijk),
            auth,
        ),
        Endpoint::HotspotHistogram => get(
            &format!(
                "/api/v1/hotspot/wijken/{}/histogram?hours=22-2",
                target.wijk
            ),
            auth,
        ),
        Endpoint::HotspotTrend => get(
            &format!("/api/v1/hotspot/wijken/{}/trend", target.wijk),
            auth,
        ),
        Endpoint::HotspotSummary => get(
            &format!("/api/v1/hotspot/wijken/{}/summary", target.wijk),
            auth,
        ),
        Endpoint::HotspotCsv => get(
            &format!("/api/v1/hotspot/wijken/{}/export.csv", target.wijk),
            auth,
        ),
        Endpoint::HotspotGeojson => get(
            &format!("/api/v1/hotspot/wijken/{}/export.geojson", target.wijk),
            auth,
        ),
        // Eight whole weeks (Monday 5 January to Sunday 1 March 2026), the fewest a trend takes.
        Endpoint::HotspotTrends => get(
            &format!(
                "/api/v1/hotspot/wijken/{}/trends?from=2026-01-05&to=2026-03-01",
                target.wijk
            ),
            auth,
        ),
        Endpoint::HotspotTrendsCsv => get(
            &format!(
                "/api/v1/hotspot/wijken/{}/trends/export.csv?from=2026-01-05&to=2026-03-01",
                target.wijk
            ),
            auth,
        ),
        Endpoint::HotspotTrendsGeojson => get(
            &format!(
                "/api/v1/hotspot/wijken/{}/trends/export.geojson?from=2026-01-05&to=2026-03-01",
                target.wijk
            ),
            auth,
        ),
        Endpoint::CareForms => get("/api/v1/care-forms", auth),
        Endpoint::CareForm => get(&format!("/api/v1/care-forms/{}", CareFormId::new()), auth),
        Endpoint::CareFormStatus => request(
            Method::PUT,
            &format!("/api/v1/care-forms/{}/status", CareFormId::new()),
            auth,
            json_body(&serde_json::json!({ "status": "in_progress" })),
        ),
        Endpoint::MeldpuntUnlock => post(
            "/api/v1/meldpunt/unlock",
            auth,
            json_body(&serde_json::json!({ "passphrase": "geen sleutel in deze wereld" })),
        ),
        Endpoint::MeldpuntLock => post("/api/v1/meldpunt/lock", auth, (None, vec![])),
        Endpoint::Audit => get("/api/v1/audit", auth),
    };
    let reply = world.app.send(req).await;
    assert_eq!(
        reply.status.as_u16(),
        expected,
        "{endpoint:?} by {who:?} on {scope:?}: {}",
        reply.text()
    );
    if reply.status.is_client_error() || reply.status.is_server_error() {
        assert_json_error(&reply);
    }
    // A refusal changes nothing.
    if let Some(device) = revoke_target {
        assert_eq!(world.revoked(device), expected == 204);
    }
    if let Some(user) = code_target {
        let issued = i64::from(expected == 200);
        assert_eq!(world.codes_of(user), issued, "a code only when allowed");
    }
}

#[rstest]
#[tokio::test]
async fn every_documented_operation_is_in_the_matrix(world: &World) {
    let spec: serde_json::Value = world
        .app
        .send(get("/api/v1/openapi.json", Auth::None))
        .await
        .json();
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .filter(|k| {
                    matches!(
                        k.as_str(),
                        "get" | "post" | "put" | "patch" | "delete" | "head" | "options"
                    )
                })
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let in_matrix: BTreeSet<(String, String)> = Endpoint::ALL
        .iter()
        .filter_map(|e| e.documented())
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&in_matrix).collect();
    assert!(
        missing.is_empty(),
        "endpoints without a row in the authorisation matrix: {missing:?}"
    );
    let stale: Vec<_> = in_matrix.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "matrix rows for endpoints that do not exist: {stale:?}"
    );
}

#[rstest]
#[tokio::test]
async fn ids_from_another_gemeente_answer_exactly_like_ids_that_do_not_exist(world: &World) {
    let admin = world.session(Role::Admin);
    let (theirs, _) = world.fresh_device(&world.other);
    let foreign = world
        .app
        .send(post(
            &format!("/api/v1/admin/devices/{theirs}/revoke"),
            Auth::Cookie(admin),
            (None, vec![]),
        ))
        .await;
    let missing = world
        .app
        .send(post(
            &format!("/api/v1/admin/devices/{}/revoke", DeviceId::new()),
            Auth::Cookie(admin),
            (None, vec![]),
        ))
        .await;
    let not_an_id = world
        .app
        .send(post(
            "/api/v1/admin/devices/not-an-id/revoke",
            Auth::Cookie(admin),
            (None, vec![]),
        ))
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(foreign.body, missing.body);
    assert_eq!(foreign.body, not_an_id.body);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(!world.revoked(theirs));
}

/// The HTML pages and forms (issue 11): method, path, and a body for forms.
#[derive(Debug, Clone, Copy)]
enum PageRoute {
    Home,
    LoginPage,
    LoginSubmit,
    CodePage,
    CodeSubmit,
    ResetPage,
    ResetSubmit,
    Logout,
    Field,
    Beheer,
    BeheerCode,
    BeheerRevoke,
    BeheerUsers,
    BeheerUserAdd,
    BeheerUserDisable,
    BeheerUserReset,
    BeheerUserSessions,
    BeheerUserMfa,
    BeheerUserEnable,
    BeheerUserWijken,
    BeheerPhonePolicy,
    BeheerPhones,
    BeheerSettings,
    BeheerRetention,
    MeldpuntKey,
    MeldpuntKeyCreate,
    MeldpuntKeyRotate,
    Audit,
    Kaart,
    Meldpunt,
    MeldpuntUnlock,
    MeldpuntLock,
    MeldpuntForm,
    MeldpuntFormSave,
    MeldpuntFormHold,
    AppCss,
    MeldpuntCss,
    KaartJs,
    KaartCss,
    TrendsJs,
    TrendsCss,
    LeafletJs,
    LeafletCss,
    BeheerNormen,
    BeheerNormenSave,
    BeheerRegels,
    BeheerRegelsSave,
    BeheerRegelEnd,
    BeheerRegelEdit,
    BeheerWijken,
    BeheerWijkenUpload,
    BeheerWijkenConfirm,
    BeheerJs,
    BeheerCss,
}

impl PageRoute {
    /// Method and path as written in the router.
    fn route(self) -> (&'static str, &'static str) {
        match self {
            PageRoute::Home => ("get", "/"),
            PageRoute::LoginPage => ("get", "/login"),
            PageRoute::LoginSubmit => ("post", "/login"),
            PageRoute::CodePage => ("get", "/login/code"),
            PageRoute::CodeSubmit => ("post", "/login/code"),
            PageRoute::ResetPage => ("get", "/wachtwoord"),
            PageRoute::ResetSubmit => ("post", "/wachtwoord"),
            PageRoute::Logout => ("post", "/logout"),
            PageRoute::Field => ("get", "/veld"),
            PageRoute::Beheer => ("get", "/beheer"),
            PageRoute::BeheerCode => ("post", "/beheer/code"),
            PageRoute::BeheerRevoke => ("post", "/beheer/intrekken"),
            PageRoute::BeheerUsers => ("get", "/beheer/gebruikers"),
            PageRoute::BeheerUserAdd => ("post", "/beheer/gebruikers"),
            PageRoute::BeheerUserDisable => ("post", "/beheer/gebruikers/uitschakelen"),
            PageRoute::BeheerUserReset => ("post", "/beheer/gebruikers/herstelcode"),
            PageRoute::BeheerUserSessions => ("post", "/beheer/gebruikers/sessies"),
            PageRoute::BeheerUserMfa => ("post", "/beheer/gebruikers/tweede-stap"),
            PageRoute::BeheerUserEnable => ("post", "/beheer/gebruikers/inschakelen"),
            PageRoute::BeheerUserWijken => ("post", "/beheer/gebruikers/wijken"),
            PageRoute::BeheerPhonePolicy => ("post", "/beheer/telefooninstellingen"),
            PageRoute::BeheerPhones => ("get", "/beheer/telefoons"),
            PageRoute::BeheerSettings => ("get", "/beheer/instellingen"),
            PageRoute::BeheerRetention => ("post", "/beheer/bewaartermijnen"),
            PageRoute::MeldpuntKey => ("get", "/meldpunt/sleutel"),
            PageRoute::MeldpuntKeyCreate => ("post", "/meldpunt/sleutel/maken"),
            PageRoute::MeldpuntKeyRotate => ("post", "/meldpunt/sleutel/vervangen"),
            PageRoute::Audit => ("get", "/audit"),
            PageRoute::Kaart => ("get", "/kaart"),
            PageRoute::Meldpunt => ("get", "/meldpunt"),
            PageRoute::MeldpuntUnlock => ("post", "/meldpunt/ontgrendelen"),
            PageRoute::MeldpuntLock => ("post", "/meldpunt/vergrendelen"),
            PageRoute::MeldpuntForm => ("get", "/meldpunt/formulieren/{id}"),
            PageRoute::MeldpuntFormSave => ("post", "/meldpunt/formulieren/{id}"),
            PageRoute::MeldpuntFormHold => ("post", "/meldpunt/formulieren/{id}/vasthouden"),
            PageRoute::AppCss => ("get", "/static/app.css"),
            PageRoute::MeldpuntCss => ("get", "/static/meldpunt.css"),
            PageRoute::KaartJs => ("get", "/static/kaart.js"),
            PageRoute::TrendsJs => ("get", "/static/trends.js"),
            PageRoute::TrendsCss => ("get", "/static/trends.css"),
            PageRoute::KaartCss => ("get", "/static/kaart.css"),
            PageRoute::LeafletJs => ("get", "/static/vendor/leaflet.js"),
            PageRoute::LeafletCss => ("get", "/static/vendor/leaflet.css"),
            PageRoute::BeheerNormen => ("get", "/beheer/normen"),
            PageRoute::BeheerNormenSave => ("post", "/beheer/normen"),
            PageRoute::BeheerRegels => ("get", "/beheer/gebiedsregels"),
            PageRoute::BeheerRegelsSave => ("post", "/beheer/gebiedsregels"),
            PageRoute::BeheerRegelEnd => ("post", "/beheer/gebiedsregels/beeindigen"),
            PageRoute::BeheerRegelEdit => ("get", "/beheer/gebiedsregels/wijzigen"),
            PageRoute::BeheerWijken => ("get", "/beheer/wijken"),
            PageRoute::BeheerWijkenUpload => ("post", "/beheer/wijken"),
            PageRoute::BeheerWijkenConfirm => ("post", "/beheer/wijken/bevestigen"),
            PageRoute::BeheerJs => ("get", "/static/beheer.js"),
            PageRoute::BeheerCss => ("get", "/static/beheer.css"),
        }
    }

    const ALL: [PageRoute; 54] = [
        PageRoute::Home,
        PageRoute::LoginPage,
        PageRoute::LoginSubmit,
        PageRoute::CodePage,
        PageRoute::CodeSubmit,
        PageRoute::ResetPage,
        PageRoute::ResetSubmit,
        PageRoute::Logout,
        PageRoute::Field,
        PageRoute::Beheer,
        PageRoute::BeheerCode,
        PageRoute::BeheerRevoke,
        PageRoute::BeheerUsers,
        PageRoute::BeheerUserAdd,
        PageRoute::BeheerUserDisable,
        PageRoute::BeheerUserReset,
        PageRoute::BeheerUserSessions,
        PageRoute::BeheerUserMfa,
        PageRoute::BeheerUserEnable,
        PageRoute::BeheerUserWijken,
        PageRoute::BeheerPhonePolicy,
        PageRoute::BeheerPhones,
        PageRoute::BeheerSettings,
        PageRoute::BeheerRetention,
        PageRoute::MeldpuntKey,
        PageRoute::MeldpuntKeyCreate,
        PageRoute::MeldpuntKeyRotate,
        PageRoute::Audit,
        PageRoute::Kaart,
        PageRoute::Meldpunt,
        PageRoute::MeldpuntUnlock,
        PageRoute::MeldpuntLock,
        PageRoute::MeldpuntForm,
        PageRoute::MeldpuntFormSave,
        PageRoute::MeldpuntFormHold,
        PageRoute::AppCss,
        PageRoute::MeldpuntCss,
        PageRoute::KaartJs,
        PageRoute::KaartCss,
        PageRoute::TrendsJs,
        PageRoute::TrendsCss,
        PageRoute::LeafletJs,
        PageRoute::LeafletCss,
        PageRoute::BeheerNormen,
        PageRoute::BeheerNormenSave,
        PageRoute::BeheerRegels,
        PageRoute::BeheerRegelsSave,
        PageRoute::BeheerRegelEnd,
        PageRoute::BeheerRegelEdit,
        PageRoute::BeheerWijken,
        PageRoute::BeheerWijkenUpload,
        PageRoute::BeheerWijkenConfirm,
        PageRoute::BeheerJs,
        PageRoute::BeheerCss,
    ];
}

// 303 = redirect (to the login, or after a form); 403 = the "Geen toegang" page. A device
// token is no login for a page: it is redirected like nobody.
#[rstest]
//                          straatcoach boa  wijkagent coordinator meldpunt admin device anonymous
#[case::home(PageRoute::Home,                 [303, 303, 303, 303, 303, 303, 303, 303])]
#[case::login_page(PageRoute::LoginPage,      [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::login_submit(PageRoute::LoginSubmit,  [303, 303, 303, 303, 303, 303, 303, 303])]
#[case::code_page(PageRoute::CodePage,        [303, 303, 303, 303, 303, 303, 303, 303])]
#[case::code_submit(PageRoute::CodeSubmit,    [303, 303, 303, 303, 303, 303, 303, 303])]
#[case::reset_page(PageRoute::ResetPage,      [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::reset_submit(PageRoute::ResetSubmit,  [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::logout(PageRoute::Logout,             [303, 303, 303, 303, 303, 303, 303, 303])]
#[case::field(PageRoute::Field,               [200, 200, 200, 403, 403, 403, 303, 303])]
#[case::beheer(PageRoute::Beheer,             [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_code(PageRoute::BeheerCode,    [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_revoke(PageRoute::BeheerRevoke,[403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_users(PageRoute::BeheerUsers,  [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_user_add(PageRoute::BeheerUserAdd, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_user_disable(PageRoute::BeheerUserDisable, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_user_reset(PageRoute::BeheerUserReset, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_user_sessions(PageRoute::BeheerUserSessions, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_user_mfa(PageRoute::BeheerUserMfa, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_user_enable(PageRoute::BeheerUserEnable, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_user_wijken(PageRoute::BeheerUserWijken, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_phone_policy(PageRoute::BeheerPhonePolicy, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_phones(PageRoute::BeheerPhones, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_settings(PageRoute::BeheerSettings, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_retention(PageRoute::BeheerRetention, [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::meldpunt_key(PageRoute::MeldpuntKey,  [403, 403, 403, 403, 200, 403, 303, 303])]
#[case::meldpunt_key_create(PageRoute::MeldpuntKeyCreate, [403, 403, 403, 403, 200, 403, 303, 303])]
#[case::meldpunt_key_rotate(PageRoute::MeldpuntKeyRotate, [403, 403, 403, 403, 200, 403, 303, 303])]
#[case::audit(PageRoute::Audit,               [403, 403, 403, 403, 200, 200, 303, 303])]
#[case::kaart(PageRoute::Kaart,               [403, 403, 403, 200, 403, 403, 303, 303])]
#[case::meldpunt(PageRoute::Meldpunt,         [403, 403, 403, 403, 200, 403, 303, 303])]
#[case::meldpunt_unlock(PageRoute::MeldpuntUnlock, [403, 403, 403, 403, 303, 403, 303, 303])]
#[case::meldpunt_lock(PageRoute::MeldpuntLock,     [403, 403, 403, 403, 303, 403, 303, 303])]
#[case::meldpunt_form(PageRoute::MeldpuntForm,     [403, 403, 403, 403, 404, 403, 303, 303])]
#[case::meldpunt_form_save(PageRoute::MeldpuntFormSave, [403, 403, 403, 403, 404, 403, 303, 303])]
#[case::meldpunt_form_hold(PageRoute::MeldpuntFormHold, [403, 403, 403, 403, 404, 403, 303, 303])]
#[case::app_css(PageRoute::AppCss,            [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::meldpunt_css(PageRoute::MeldpuntCss,  [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::kaart_js(PageRoute::KaartJs,          [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::kaart_css(PageRoute::KaartCss,        [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::trends_js(PageRoute::TrendsJs,        [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::trends_css(PageRoute::TrendsCss,      [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::leaflet_js(PageRoute::LeafletJs,      [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::leaflet_css(PageRoute::LeafletCss,    [200, 200, 200, 200, 200, 200, 200, 200])]
// Issue 12 part B: the rule pages are the admin's alone; a bad form still answers 200 with
// its Dutch error for the admin, and changes nothing.
#[case::beheer_normen(PageRoute::BeheerNormen,               [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_normen_save(PageRoute::BeheerNormenSave,      [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_regels(PageRoute::BeheerRegels,               [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_regels_save(PageRoute::BeheerRegelsSave,      [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_regel_end(PageRoute::BeheerRegelEnd,          [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_regel_edit(PageRoute::BeheerRegelEdit,        [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_wijken(PageRoute::BeheerWijken,               [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_wijken_upload(PageRoute::BeheerWijkenUpload,  [403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_wijken_confirm(PageRoute::BeheerWijkenConfirm,[403, 403, 403, 403, 403, 200, 303, 303])]
#[case::beheer_js(PageRoute::BeheerJs,                       [200, 200, 200, 200, 200, 200, 200, 200])]
#[case::beheer_css(PageRoute::BeheerCss,                     [200, 200, 200, 200, 200, 200, 200, 200])]
#[tokio::test]
async fn page_matrix(
    world: &World,
    #[case] page: PageRoute,
    #[case] expected: [u16; 8],
    #[values(
        Who::Straatcoach,
        Who::Boa,
        Who::Wijkagent,
        Who::Coordinator,
        Who::Meldpunt,
        Who::Admin,
        Who::Device,
        Who::Anonymous
    )]
    who: Who,
) {
    let session = match (page, who.role()) {
        (PageRoute::Logout | PageRoute::MeldpuntLock, Some(role)) => {
            let (username, password) = world.own.login(role);
            Some(world.app.session_cookie(username, password))
        }
        (_, Some(role)) => Some(world.session(role).to_owned()),
        (_, None) => None,
    };
    let auth = match (who, &session) {
        (Who::Device, _) => Auth::Bearer(&world.device),
        (_, Some(c)) => Auth::Cookie(c),
        _ => Auth::None,
    };
    let (method, path) = page.route();
    let path = path.replace("{id}", &CareFormId::new().to_string());
    let body = match page {
        PageRoute::LoginSubmit => form(&[("username", "niemand"), ("password", "fout-wachtwoord")]),
        PageRoute::CodeSubmit => form(&[("code", "000000")]),
        PageRoute::ResetSubmit => form(&[
            ("username", "niemand"),
            ("code", "AAAA-BBBB-CCCC"),
            ("password", "een-nieuw-wachtwoord"),
        ]),
        PageRoute::BeheerCode => form(&[("username", "niemand")]),
        PageRoute::BeheerRevoke => form(&[("device", "geen-id")]),
        // Each changes nothing: an empty username, an unknown user, no confirmation, a
        // period out of range, two passphrases that differ.
        PageRoute::BeheerUserAdd => form(&[("username", ""), ("role", "coordinator")]),
        PageRoute::BeheerUserDisable => form(&[("username", "niemand")]),
        PageRoute::BeheerUserReset
        | PageRoute::BeheerUserSessions
        | PageRoute::BeheerUserMfa
        | PageRoute::BeheerUserEnable
        | PageRoute::BeheerUserWijken => form(&[("username", "niemand")]),
        PageRoute::BeheerPhonePolicy => {
            form(&[("lock_after_minutes", "5"), ("contact_retention_days", "0")])
        }
        PageRoute::BeheerRetention => form(&[
            ("care_form_months", "0"),
            ("contact_months", "24"),
            ("open_form_warn_months", "3"),
            ("open_form_months", "12"),
        ]),
        PageRoute::MeldpuntKeyCreate | PageRoute::MeldpuntKeyRotate => form(&[
            ("passphrase", "niet-de-goede"),
            ("new_passphrase", "een-lange-wachtwoordzin"),
            ("repeat", "een-andere-wachtwoordzin"),
        ]),
        PageRoute::MeldpuntUnlock => form(&[("passphrase", "geen sleutel hier")]),
        PageRoute::MeldpuntFormSave => form(&[("status", "in_progress")]),
        PageRoute::MeldpuntFormHold => form(&[("vast", "1")]),
        PageRoute::BeheerNormenSave => form(&[("age6_9", "25:00"), ("night_end", "06:00")]),
        PageRoute::BeheerRegelsSave => form(&[("naam", "x"), ("gebied", "[]")]),
        PageRoute::BeheerRegelEnd => form(&[("regel", "geen-id")]),
        PageRoute::BeheerWijkenUpload | PageRoute::BeheerWijkenConfirm => {
            form(&[("geojson", "geen")])
        }
        _ => (None, vec![]),
    };
    let method = if method == "post" {
        Method::POST
    } else {
        Method::GET
    };
    let reply = world.app.send(request(method, &path, auth, body)).await;
    assert_eq!(
        reply.status.as_u16(),
        expected[who.index()],
        "{page:?} by {who:?}: {}",
        reply.text()
    );
}

/// A mistyped address or an old bookmark: a browser gets a page in Dutch with the way back
/// to the user's own start page (or to the login), not a line of JSON; so does a form's
/// address opened from the address bar. The API, and any client that does not ask for
/// HTML, gets the JSON error it always got.
#[rstest]
#[tokio::test]
async fn an_unknown_address_or_a_forms_address_shows_a_browser_a_dutch_page_and_the_api_its_json(
    world: &World,
) {
    let as_browser = |mut req: axum::http::Request<axum::body::Body>| {
        req.headers_mut().insert(
            axum::http::header::ACCEPT,
            "text/html,application/xhtml+xml,*/*;q=0.8"
                .parse()
                .expect("header"),
        );
        req
    };
    for (who, start) in [
        (Some(Role::Coordinator), "href=\"/kaart\""),
        (Some(Role::Meldpunt), "href=\"/meldpunt\""),
        (None, "href=\"/login\""),
    ] {
        let auth = who.map_or(Auth::None, |role| Auth::Cookie(world.session(role)));
        let reply = world
            .app
            .send(as_browser(get("/trends/oud-adres", auth)))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{who:?}");
        assert!(
            reply.headers[axum::http::header::CONTENT_TYPE]
                .to_str()
                .expect("type")
                .starts_with("text/html"),
            "{who:?}: a page"
        );
        let page = reply.text();
        assert!(page.contains("Pagina niet gevonden"), "{who:?}: {page}");
        assert!(page.contains(start), "{who:?}: the way back {start}");
    }
    // The API answers JSON, even to a browser; so does anything that does not ask for HTML.
    for req in [
        as_browser(get("/api/v1/bestaat-niet", Auth::None)),
        get("/trends/oud-adres", Auth::None),
    ] {
        let reply = world.app.send(req).await;
        assert_eq!(reply.error(StatusCode::NOT_FOUND).code, "not_found");
    }
    // A form's address typed into the address bar (the logout is a POST): a page that says
    // so, and logs nobody out; still 405 with `Allow`.
    let cookie = world.session(Role::Coordinator);
    let reply = world
        .app
        .send(as_browser(get("/logout", Auth::Cookie(cookie))))
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.text().contains("Dit adres is voor een formulier"));
    assert!(reply.headers.contains_key(axum::http::header::ALLOW));
    let still = world
        .app
        .send(get("/api/v1/me", Auth::Cookie(cookie)))
        .await;
    assert_eq!(still.status, StatusCode::OK, "the session was not ended");
    // The API's wrong method stays JSON, even for a browser.
    let reply = world
        .app
        .send(as_browser(get("/api/v1/sync/push", Auth::None)))
        .await;
    assert_eq!(
        reply.error(StatusCode::METHOD_NOT_ALLOWED).code,
        "method_not_allowed"
    );
    assert!(reply.headers.contains_key(axum::http::header::ALLOW));
}

/// Every `.route("…", get(…).post(…))` in the server's source, as (method, path).
fn routes_in_source() -> BTreeSet<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (at, _) in text.match_indices(".route(") {
            let rest = &text[at + ".route(".len()..];
            let Some(path) = rest
                .trim_start()
                .strip_prefix('"')
                .and_then(|r| r.split('"').next())
            else {
                continue;
            };
            // The route's arguments: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let args = &rest[..end];
            for method in ["get", "post", "put", "delete", "patch"] {
                let call = format!("{method}(");
                if args.match_indices(&call).any(|(i, _)| {
                    i == 0 || !args[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                }) {
                    routes.insert((method.to_owned(), path.to_owned()));
                }
            }
        }
    }
    routes
}

#[test]
fn every_route_in_the_router_has_a_row() {
    let in_source = routes_in_source();
    assert!(
        in_source.contains(&("get".to_owned(), "/beheer".to_owned())),
        "the scan finds routes: {in_source:?}"
    );
    let mut covered: BTreeSet<(String, String)> = PageRoute::ALL
        .iter()
        .map(|p| p.route())
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    // The OpenAPI document is served by a `.route` too; the API matrix has its row.
    covered.insert(("get".to_owned(), "/api/v1/openapi.json".to_owned()));
    let missing: Vec<_> = in_source.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the page matrix: {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&in_source).collect();
    assert!(
        stale.is_empty(),
        "page rows for routes that do not exist: {stale:?}"
    );
}
