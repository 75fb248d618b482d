//! Issue 15, the trends API through `Router::oneshot`: a space-time cube pushed through the
//! sync API (ten weeks of contacts in a hangplek that grows) comes back classified as
//! planted; a period under eight weeks is a Dutch 400; only classes, one-decimal z-scores and
//! counts as the map shows them leave; both exports are audited; and only a coordinator of
//! the wijk's gemeente may ask.

mod common;

use avondronde_shared::sync::Payload;
use avondronde_shared::{ContactId, Role, StreetContact};
use axum::http::StatusCode;
use common::*;
use h3o::{CellIndex, LatLng, Resolution};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

struct Arranged {
    app: TestApp,
    seed: Seed,
    cookie: String,
    /// The planted patch's centre cell.
    centre: CellIndex,
    /// First Monday and last Sunday of the ten weeks.
    from: Date,
    to: Date,
}

/// Ten whole weeks before the current one: in week `w` every cell of a seven-cell patch
/// (the seed's inside point and its ring) gets one contact of `4 + 2w` children, on the
/// Wednesday evening.
async fn arrange() -> Arranged {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (user, password) = seed.login(Role::Coordinator);
    let cookie = app.login(user, password).await;
    let device = app.device(&seed).await;
    let round = start_round(&app, &device, &seed).await;
    let today = Timestamp::now().to_zoned(TimeZone::UTC).date();
    let this_monday = today
        .checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset())))
        .expect("date");
    let from = this_monday
        .checked_sub(jiff::Span::new().weeks(10))
        .expect("date");
    let to = this_monday.yesterday().expect("date");
    let (lat, lon) = seed.inside;
    let centre = LatLng::new(lat, lon)
        .expect("valid")
        .to_cell(Resolution::Ten);
    let mut contacts = Vec::new();
    for w in 0..10i64 {
        let wednesday = from
            .checked_add(jiff::Span::new().days(7 * w + 2))
            .expect("date");
        let at: Timestamp = format!("{wednesday}T19:00:00Z").parse().expect("timestamp");
        for cell in centre.grid_disk::<Vec<_>>(1) {
            let ll = LatLng::from(cell);
            contacts.push(Payload::Contact(StreetContact {
                id: ContactId::new(),
                round: round.id,
                facts: facts(at, (ll.lat(), ll.lng()), 4 + 2 * w as u16),
            }));
        }
    }
    let res = app
        .push_ok(&device, &push_request(Timestamp::now(), &contacts))
        .await;
    for r in &res.receipts {
        acceptance(r);
    }
    Arranged {
        app,
        seed,
        cookie,
        centre,
        from,
        to,
    }
}

impl Arranged {
    fn url(&self, what: &str, query: &str) -> String {
        format!("/api/v1/hotspot/wijken/{}/{what}?{query}", self.seed.wijk)
    }

    fn period(&self) -> String {
        format!("from={}&to={}", self.from, self.to)
    }

    async fn get(&self, path: &str) -> Reply {
        self.app.send(get(path, Auth::Cookie(&self.cookie))).await
    }
}

#[tokio::test]
async fn a_growing_hangplek_pushed_through_sync_is_intensifying() {
    let a = arrange().await;
    let reply = a.get(&a.url("trends", &a.period())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let fc: serde_json::Value = reply.json();
    assert_eq!(fc["type"], "FeatureCollection");
    assert_eq!(fc["step"], "week");
    assert_eq!(fc["steps"].as_array().expect("steps").len(), 10);
    let centre = a.centre.to_string();
    let feature = fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["id"] == centre.as_str())
        .expect("the centre is in the study area");
    let p = &feature["properties"];
    assert_eq!(p["class"], "intensifying_hotspot", "{p}");
    assert_eq!(p["label"], "toenemend");
    assert_eq!(p["trend_significant"], true);
    // Counts as the map shows them, protected with at most 5 of noise, and the noise of a
    // count n reaches down to -n:
    // - 4 children become 0 to 9, shown as "0" or "<10";
    // - 6 children become 1 to 11, shown as "<10" or "10";
    // - 22 children become 17 to 27, shown as 15, 20 or 25.
    let counts: Vec<&str> = p["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c.as_str().expect("a count is a string"))
        .collect();
    assert!(["0", "<10"].contains(&counts[0]), "{counts:?}");
    assert!(["<10", "10"].contains(&counts[1]), "{counts:?}");
    assert!(["15", "20", "25"].contains(&counts[9]), "{counts:?}");
}

/// What an attacker with a coordinator login sees: every count a suppressed string, every
/// z-score with at most one decimal, no p-value at all.
#[tokio::test]
async fn trends_carry_only_classes_one_decimal_z_and_shown_counts() {
    let a = arrange().await;
    let fc: serde_json::Value = a.get(&a.url("trends", &a.period())).await.json();
    for f in fc["features"].as_array().expect("features") {
        let p = f["properties"].as_object().expect("properties");
        for key in ["p", "q", "trend_p", "count"] {
            assert!(!p.contains_key(key), "{key} in {p:?}");
        }
        let one_decimal = |z: &serde_json::Value| {
            let z = z.as_f64().expect("number");
            assert!(((z * 10.0).round() - z * 10.0).abs() < 1e-9, "{z}");
        };
        one_decimal(&p["trend_z"]);
        p["z"].as_array().expect("z").iter().for_each(one_decimal);
        for c in p["counts"].as_array().expect("counts") {
            let s = c.as_str().expect("string");
            assert!(
                s == "0" || s == "<10" || s.parse::<u64>().is_ok_and(|v| v >= 10 && v % 5 == 0),
                "{s}"
            );
        }
    }
}

#[tokio::test]
async fn fewer_than_eight_weeks_is_a_dutch_400() {
    let a = arrange().await;
    let to = a
        .from
        .checked_add(jiff::Span::new().days(6 * 7 - 1))
        .expect("date");
    let reply = a
        .get(&a.url("trends", &format!("from={}&to={to}", a.from)))
        .await;
    let err = reply.error(StatusCode::BAD_REQUEST);
    assert!(err.message.contains("minstens 8"), "{}", err.message);
    let reply = a
        .get(&a.url("trends", &format!("{}&step=dag", a.period())))
        .await;
    let err = reply.error(StatusCode::BAD_REQUEST);
    assert!(err.message.contains("tijdstap"), "{}", err.message);
}

#[tokio::test]
async fn both_trend_exports_are_audited_and_open_in_excel() {
    let a = arrange().await;
    let csv = a.get(&a.url("trends/export.csv", &a.period())).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    let text = csv.text();
    assert!(text.starts_with('\u{feff}') && text.contains("klasse;klasse_code;uitleg"));
    assert!(text.contains("toenemend"));
    let geojson = a.get(&a.url("trends/export.geojson", &a.period())).await;
    assert_eq!(geojson.status, StatusCode::OK);
    let details = a
        .app
        .texts("SELECT detail FROM audit_log WHERE action = 'export' ORDER BY seq");
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details[0].starts_with("hotspot trends-csv"), "{details:?}");
    assert!(
        details[1].starts_with("hotspot trends-geojson"),
        "{details:?}"
    );
}

#[tokio::test]
async fn only_a_coordinator_of_the_gemeente_may_ask() {
    let a = arrange().await;
    let (user, password) = a.seed.login(Role::Straatcoach);
    let coach = a.app.login(user, password).await;
    let reply = a
        .app
        .send(get(&a.url("trends", &a.period()), Auth::Cookie(&coach)))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let other = a.app.seed(true);
    let (user, password) = other.login(Role::Coordinator);
    let stranger = a.app.login(user, password).await;
    let reply = a
        .app
        .send(get(
            &a.url("trends/export.csv", &a.period()),
            Auth::Cookie(&stranger),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = a
        .app
        .send(get(&a.url("trends", &a.period()), Auth::None))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

/// The before/after view: with a before period, every cell carries its class before, and
/// the legend's counts cover both periods.
#[tokio::test]
async fn before_and_after_carry_both_classes() {
    let a = arrange().await;
    let after_from = a.to.tomorrow().expect("date");
    let after_to = after_from
        .checked_add(jiff::Span::new().days(8 * 7 - 1))
        .expect("date");
    let q = format!(
        "before_from={}&before_to={}&from={after_from}&to={after_to}",
        a.from, a.to
    );
    let reply = a.get(&a.url("trends", &q)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let fc: serde_json::Value = reply.json();
    assert_eq!(fc["compare"], true);
    assert_eq!(
        fc["before_steps"].as_array().expect("before steps").len(),
        10
    );
    let centre = a.centre.to_string();
    let p = &fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["id"] == centre.as_str())
        .expect("centre")["properties"];
    assert_eq!(p["before_class"], "intensifying_hotspot", "{p}");
    assert_eq!(p["before_label"], "toenemend");
    assert_eq!(p["class"], "no_pattern", "nothing happened after: {p}");
    let classes = fc["classes"].as_array().expect("classes");
    let cells = fc["features"].as_array().expect("features").len() as u64;
    let sum = |key: &str| {
        classes
            .iter()
            .map(|k| k[key].as_u64().expect("n"))
            .sum::<u64>()
    };
    assert_eq!((sum("cells"), sum("before_cells")), (cells, cells));
}
