//! Issues 6 and 9, the hotspot API through `Router::oneshot`: contacts pushed by a phone
//! show up in the cells as *protected* counts (the cell-key method: exactly the count the
//! perturbation table gives for the true count and the stored record keys, through every
//! endpoint), the index follows new contacts and corrections, comparisons never put a
//! number on a small cell, the CSV opens in Dutch Excel with RD New coordinates, the page
//! is for coordinators only, a coordinator sees only their assigned wijken, and every
//! cells answer is in the audit log. (Who may call which endpoint is in `authorisation.rs`.)

mod common;

use std::collections::HashMap;

use avondronde_shared::disclosure::{CellKey, Ptable, PtableParams, RecordKey};
use avondronde_shared::sync::{ContactCorrection, Payload};
use avondronde_shared::{ContactId, CorrectionId, Role, StreetContact};
use axum::http::{StatusCode, header};
use common::*;
use h3o::{LatLng, Resolution};
use jiff::{Timestamp, ToSpan};

/// Five places on one line through the seeded wijk, about 400 m apart: five distinct
/// resolution-10 cells.
const SPOTS: [(f64, f64); 5] = [
    (51.912, 4.425),
    (51.912, 4.431),
    (51.912, 4.437),
    (51.912, 4.443),
    (51.912, 4.449),
];

fn cell_of((lat, lon): (f64, f64)) -> String {
    LatLng::new(lat, lon)
        .expect("valid")
        .to_cell(Resolution::Ten)
        .to_string()
}

struct Arranged {
    app: TestApp,
    seed: Seed,
    cookie: String,
    device: String,
    round: avondronde_shared::RoundId,
    /// The contact in SPOTS[0].
    first: StreetContact,
}

async fn push_contacts(app: &TestApp, token: &str, contacts: &[StreetContact]) {
    let payloads: Vec<Payload> = contacts.iter().cloned().map(Payload::Contact).collect();
    let res = app
        .push_ok(token, &push_request(Timestamp::now(), &payloads))
        .await;
    for r in &res.receipts {
        acceptance(r);
    }
}

fn group(
    round: avondronde_shared::RoundId,
    at: Timestamp,
    spot: (f64, f64),
    n: u16,
) -> StreetContact {
    StreetContact {
        id: ContactId::new(),
        round,
        facts: facts(at, spot, n),
    }
}

/// A coordinator session and one contact per spot with 1, 9, 10, 12 and 15 children. The
/// first four sit around the threshold of 10, so their noise decides what is shown; the
/// last is shown as a number whatever its noise (15 minus the largest noise, 5, is 10).
async fn arrange() -> Arranged {
    let app = TestApp::new();
    let seed = app.seed(true);
    let (user, password) = seed.login(Role::Coordinator);
    let cookie = app.login(user, password).await;
    let device = app.device(&seed).await;
    let round = start_round(&app, &device, &seed).await;
    let at = minutes_ago(20);
    let contacts: Vec<StreetContact> = SPOTS
        .iter()
        .zip([1u16, 9, 10, 12, 15])
        .map(|(&spot, n)| group(round.id, at, spot, n))
        .collect();
    push_contacts(&app, &device, &contacts).await;
    Arranged {
        first: contacts[0].clone(),
        app,
        seed,
        cookie,
        device,
        round: round.id,
    }
}

impl Arranged {
    /// What the map must show for the contacts in `where_sql` (a condition on `contact`),
    /// worked out from the database: the true count and the stored record keys, through
    /// the default perturbation table. `children`: the children measure, else contacts.
    fn expected(&self, where_sql: &str, children: bool) -> String {
        let of = |what: &str| {
            self.app
                .scalar(&format!("SELECT {what} FROM contact WHERE {where_sql}"))
        };
        let (n, kids, key_sum) = (
            of("COUNT(*)"),
            of("CAST(COALESCE(SUM(n_0_5 + n_6_9 + n_10_11 + n_12_13 + n_14p), 0) AS BIGINT)"),
            of("CAST(COALESCE(SUM(record_key), 0) % 4294967296 AS BIGINT)"),
        );
        let t = Ptable::new(PtableParams::default()).expect("table");
        let key = CellKey(RecordKey::from_i64(key_sum).0);
        let shown = if children {
            t.show(t.protect(kids as u64, key.for_children(0b1_1111)))
        } else {
            t.show(t.protect(n as u64, key))
        };
        shown.to_string()
    }

    /// [`Arranged::expected`] for the contacts in the cell of a spot.
    fn expected_at(&self, spot: (f64, f64), children: bool) -> String {
        let cell = u64::from(
            LatLng::new(spot.0, spot.1)
                .expect("valid")
                .to_cell(Resolution::Ten),
        ) as i64;
        self.expected(&format!("cell_r10 = {cell}"), children)
    }

    async fn get(&self, path: &str) -> Reply {
        self.app.send(get(path, Auth::Cookie(&self.cookie))).await
    }

    fn url(&self, what: &str, query: &str) -> String {
        format!("/api/v1/hotspot/wijken/{}/{what}?{query}", self.seed.wijk)
    }

    /// Cell → shown count, from the GeoJSON.
    async fn counts(&self, query: &str) -> HashMap<String, String> {
        let reply = self.get(&self.url("cells", query)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let fc: serde_json::Value = reply.json();
        fc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| {
                (
                    f["properties"]["cell"].as_str().expect("cell").to_owned(),
                    f["properties"]["count"]
                        .as_str()
                        .expect("count is a string")
                        .to_owned(),
                )
            })
            .collect()
    }
}

/// Every value under a key that names a count is a string `suppress` can produce.
fn assert_all_counts_suppressed(v: &serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if matches!(
                    k.as_str(),
                    "count"
                        | "before_count"
                        | "before"
                        | "contacts"
                        | "children"
                        | "brought_home"
                        | "past_norm"
                ) && !v.is_object()
                    && !v.is_null()
                {
                    let s = v
                        .as_str()
                        .unwrap_or_else(|| panic!("{k} = {v} is not a shown count"));
                    assert!(
                        s.parse::<avondronde_shared::hotspot::SuppressedCount>()
                            .is_ok(),
                        "{k} = {s:?}"
                    );
                }
                assert_all_counts_suppressed(v);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(assert_all_counts_suppressed),
        _ => {}
    }
}

#[tokio::test]
async fn cells_are_geojson_with_suppressed_counts_and_follow_new_contacts() {
    let a = arrange().await;
    let reply = a.get(&a.url("cells", "")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/geo+json");
    // RFC 7946: a FeatureCollection of closed Polygons in WGS84.
    let fc: geojson::FeatureCollection = reply.text().parse().expect("valid GeoJSON");
    assert!(
        fc.features.len() > 100,
        "the whole study area, empty cells included"
    );
    for f in &fc.features {
        let Some(geojson::GeometryValue::Polygon { coordinates: rings }) =
            f.geometry.as_ref().map(|g| &g.value)
        else {
            panic!("not a polygon: {f:?}");
        };
        assert_eq!(rings[0].len(), 7);
        assert_eq!(rings[0].first(), rings[0].last());
        let first = rings[0][0].as_slice();
        let (lon, lat) = (first[0], first[1]);
        assert!((4.3..4.6).contains(&lon) && (51.8..52.0).contains(&lat));
    }
    assert_all_counts_suppressed(&reply.json());

    let counts = a.counts("").await;
    for spot in SPOTS {
        assert_eq!(
            counts[&cell_of(spot)],
            a.expected_at(spot, true),
            "{spot:?}"
        );
    }
    assert!(
        counts.values().filter(|c| *c != "0").count() <= 5,
        "every other cell is 0"
    );

    // New contacts reach the map without a restart, with the noise of their new set of
    // records.
    let at = minutes_ago(10);
    push_contacts(
        &a.app,
        &a.device,
        &[
            group(a.round, at, SPOTS[4], 3),
            group(a.round, at, SPOTS[0], 9),
        ],
    )
    .await;
    let counts = a.counts("").await;
    assert_eq!(counts[&cell_of(SPOTS[4])], a.expected_at(SPOTS[4], true));
    assert_eq!(counts[&cell_of(SPOTS[0])], a.expected_at(SPOTS[0], true));

    // A correction that moves the first contact (1 child) to the third spot.
    let correction = ContactCorrection {
        id: CorrectionId::new(),
        contact: a.first.id,
        facts: facts(a.first.facts.observed_at, SPOTS[2], 1),
    };
    let res = a
        .app
        .push_ok(
            &a.device,
            &push_request(Timestamp::now(), &[Payload::Correction(correction)]),
        )
        .await;
    acceptance(&res.receipts[0]);
    // The corrected contact keeps its record key and takes it along to its new cell.
    let counts = a.counts("").await;
    assert_eq!(counts[&cell_of(SPOTS[0])], a.expected_at(SPOTS[0], true));
    assert_eq!(counts[&cell_of(SPOTS[2])], a.expected_at(SPOTS[2], true));

    // Contacts as the measure: one group per spot, shown as "<10" or 0 whatever its noise.
    let counts = a.counts("measure=contacts").await;
    assert_eq!(counts[&cell_of(SPOTS[3])], a.expected_at(SPOTS[3], false));
    assert!(["0", "<10"].contains(&counts[&cell_of(SPOTS[3])].as_str()));
}

#[tokio::test]
async fn filters_change_the_cells_and_bad_filters_say_why() {
    let a = arrange().await;
    // Age band 6–9 holds all children; 10–11 none.
    let none = a.counts("bands=10-11").await;
    assert!(none.values().all(|c| c == "0"));
    let hour = a.get(&a.url("histogram", "hours=22-2")).await;
    assert_eq!(hour.status, StatusCode::OK);
    let h: serde_json::Value = hour.json();
    assert_eq!(h["hours"].as_array().expect("hours").len(), 24);
    assert_eq!(h["hours"][0]["label"], "12:00");
    assert_eq!(
        h["hours"]
            .as_array()
            .expect("hours")
            .iter()
            .filter(|b| b["selected"] == true)
            .count(),
        4
    );
    assert_all_counts_suppressed(&h);

    let reply = a.get(&a.url("cells", "hours=25-3")).await;
    let err = reply.error(StatusCode::BAD_REQUEST);
    assert!(err.message.contains("uren"), "{}", err.message);
    let reply = a
        .get(&a.url("summary", "from=2026-12-01&to=2026-11-01"))
        .await;
    reply.error(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn summary_and_trend_show_only_suppressed_totals() {
    let a = arrange().await;
    let reply = a.get(&a.url("summary", "")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let s: serde_json::Value = reply.json();
    assert_all_counts_suppressed(&s);
    // Totals are protected as aggregates of their own: the whole wijk's records and key.
    assert_eq!(
        s["after"]["totals"]["children"],
        a.expected("1 = 1", true).as_str()
    );
    assert_eq!(
        s["after"]["totals"]["contacts"],
        a.expected("1 = 1", false).as_str()
    );
    assert_eq!(s["wijk"]["code"], "WK900001");
    let t: serde_json::Value = a.get(&a.url("trend", "")).await.json();
    assert_all_counts_suppressed(&t);
    assert_eq!(t["weeks"].as_array().expect("weeks").len(), 1);
    // The week holds the same records as the wijk total, so it has the same key and noise:
    // the same records get the same protected count through every endpoint.
    assert_eq!(t["weeks"][0]["count"], a.expected("1 = 1", true).as_str());
    let h: serde_json::Value = a.get(&a.url("histogram", "")).await.json();
    let shown: Vec<&str> = h["hours"]
        .as_array()
        .expect("hours")
        .iter()
        .filter_map(|b| b["count"].as_str())
        .filter(|c| *c != "0")
        .collect();
    assert!(
        shown.iter().all(|c| *c == a.expected("1 = 1", true)),
        "the one hour with contacts holds all of them: {shown:?}"
    );
}

/// Issue 6: before/after never shows a difference or percentage for a cell under 10.
#[tokio::test]
async fn before_and_after_never_put_a_number_on_a_small_cell() {
    let a = arrange().await;
    let today = jiff::Zoned::now().date();
    let d = |days: i64| today.checked_add(days.days()).expect("date").to_string();
    let query = format!(
        "from={}&to={}&before_from={}&before_to={}",
        d(-2),
        d(1),
        d(-20),
        d(-17)
    );
    let reply = a.get(&a.url("cells", &query)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let fc: serde_json::Value = reply.json();
    assert_eq!(fc["compare"], true);
    assert_all_counts_suppressed(&fc);
    let by_cell: HashMap<String, &serde_json::Value> = fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| (f["id"].as_str().expect("id").to_owned(), &f["properties"]))
        .collect();
    for f in by_cell.values() {
        if f["count"] == "<10" || f["before_count"] == "<10" {
            assert!(
                f.get("change_percent").is_none() && f.get("change_difference").is_none(),
                "{f}"
            );
        }
    }
    let small = by_cell[&cell_of(SPOTS[0])];
    let small_now = a.expected_at(SPOTS[0], true);
    assert_eq!(
        (&small["before_count"], &small["count"]),
        (&"0".into(), &small_now.clone().into())
    );
    assert_eq!(
        small["change"],
        if small_now == "0" { "same" } else { "up" },
        "from the shown values only"
    );
    let big = by_cell[&cell_of(SPOTS[4])];
    let big_now: i64 = a.expected_at(SPOTS[4], true).parse().expect("a number");
    assert_eq!(
        big["change_difference"], big_now,
        "from the shown 0 and {big_now}"
    );

    let s: serde_json::Value = a.get(&a.url("summary", &query)).await.json();
    assert_all_counts_suppressed(&s);
    assert_eq!(s["change"]["children"]["direction"], "up");
    assert_eq!(
        s["change"]["contacts"]["difference"],
        serde_json::Value::Null,
        "<10 contacts"
    );
}

#[tokio::test]
async fn csv_opens_in_dutch_excel_with_rd_coordinates() {
    let a = arrange().await;
    let reply = a.get(&a.url("export.csv", "hours=0-24")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "0-24 is equal ends");
    let reply = a.get(&a.url("export.csv", "res=9")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let disposition = reply.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"hotspots-WK900001-r9"),
        "{disposition}"
    );
    assert!(reply.body.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM");
    let text = reply.text();
    let lines: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .split_terminator("\r\n")
        .collect();
    let header: Vec<&str> = lines[0].split(';').collect();
    assert_eq!(
        &header[..6],
        [
            "wijkcode",
            "wijknaam",
            "h3_cel",
            "resolutie",
            "rd_x",
            "rd_y"
        ]
    );
    assert!(lines.len() > 10);
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split(';').collect();
        assert_eq!(fields.len(), header.len(), "{line}");
        assert_eq!(fields[col("wijkcode")], "WK900001");
        let x: f64 = fields[col("rd_x")].replace(',', ".").parse().expect("rd_x");
        let y: f64 = fields[col("rd_y")].replace(',', ".").parse().expect("rd_y");
        assert!((88_000.0..95_000.0).contains(&x), "{x}");
        assert!((435_000.0..440_000.0).contains(&y), "{y}");
        assert!(fields[col("rd_x")].contains(','), "decimal comma");
        let count = fields[col("aantal")];
        assert!(
            count
                .parse::<avondronde_shared::hotspot::SuppressedCount>()
                .is_ok(),
            "{count}"
        );
    }
    let geo = a.get(&a.url("export.geojson", "")).await;
    assert_eq!(geo.status, StatusCode::OK);
    assert!(
        geo.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .contains(".geojson")
    );
    let _: geojson::FeatureCollection = geo.text().parse().expect("QGIS-readable GeoJSON");
}

#[tokio::test]
async fn the_map_page_is_for_coordinators_and_serves_its_own_map_library() {
    let a = arrange().await;
    let page = a.get("/kaart").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Hotspotkaart") && html.contains("/static/vendor/leaflet.js"));
    assert!(html.contains(&a.seed.wijk.to_string()));
    let js = a.get("/static/vendor/leaflet.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.text().contains("Leaflet"));

    let (user, password) = a.seed.login(Role::Meldpunt);
    let meldpunt = a.app.login(user, password).await;
    let page = a.app.send(get("/kaart", Auth::Cookie(&meldpunt))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = a.app.send(get("/kaart", Auth::None)).await;
    assert!(page.status.is_redirection());
    assert_eq!(page.headers[header::LOCATION], "/login");
}

#[tokio::test]
async fn the_wijk_list_has_outlines_and_places() {
    let a = arrange().await;
    let w: serde_json::Value = a.get("/api/v1/hotspot/wijken").await.json();
    let list = w.as_array().expect("list");
    assert_eq!(list.len(), 1, "only the own gemeente's wijken");
    assert_eq!(list[0]["id"], a.seed.wijk.to_string());
    assert_eq!(list[0]["geometry"]["type"], "MultiPolygon");
    assert!(list[0]["cells_r10"].as_u64().expect("n") > list[0]["cells_r9"].as_u64().expect("n"));
    let _ = Timestamp::now();
}

#[tokio::test]
async fn every_export_is_written_to_the_audit_log() {
    let a = arrange().await;
    for file in ["export.csv", "export.geojson"] {
        let reply = a.get(&a.url(file, "res=9")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let details = a
        .app
        .texts("SELECT detail FROM audit_log WHERE action = 'export' ORDER BY seq");
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(details[0].starts_with("hotspot csv"), "{details:?}");
    assert!(details[1].starts_with("hotspot geojson"), "{details:?}");
}

/// Issue 9 and the attack review: every statistical answer (cells, totals, histogram,
/// weekly trend) is recorded like the exports, with the filter it answered, so that an
/// auditor can see a run of overlapping queries for what it is.
#[tokio::test]
async fn every_statistical_answer_is_written_to_the_audit_log_with_its_filter() {
    let a = arrange().await;
    for what in ["cells", "summary", "histogram", "trend"] {
        let before = a.app.scalar("SELECT COUNT(*) FROM audit_log");
        let reply = a
            .get(&a.url(what, "res=9&hours=20-24&bands=6-9,10-11"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.text());
        assert_eq!(
            a.app.scalar("SELECT COUNT(*) FROM audit_log"),
            before + 1,
            "{what}"
        );
        let detail = a
            .app
            .texts("SELECT detail FROM audit_log ORDER BY seq DESC LIMIT 1")
            .remove(0);
        assert!(
            detail.starts_with(&format!("hotspot {what} wijk="))
                && detail.ends_with("filter: res=9 hours=20-24 bands=6-9,10-11"),
            "{detail}"
        );
    }
}

/// Issue 9: a coordinator sees the wijken assigned to them and nothing else; without an
/// assignment, nothing at all (not every wijk of the gemeente).
#[tokio::test]
async fn a_coordinator_sees_only_assigned_wijken_and_nothing_without_one() {
    let a = arrange().await;
    let (user, _) = a.seed.login(Role::Coordinator);
    let user = user.to_owned();
    let assign = |codes: Vec<String>| {
        a.app.direct().transaction(|tx| {
            avondronde_server::hotspot::scope::assign_wijken(
                tx,
                &user,
                &codes,
                &avondronde_server::audit::Actor::cli(),
                1,
            )
        })
    };
    assign(vec![]).expect("take every wijk away");
    let list: serde_json::Value = a.get("/api/v1/hotspot/wijken").await.json();
    assert_eq!(
        list.as_array().expect("list").len(),
        0,
        "nothing, not everything"
    );
    for what in [
        "cells",
        "summary",
        "histogram",
        "trend",
        "export.csv",
        "export.geojson",
    ] {
        let reply = a.get(&a.url(what, "")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{what}");
    }
    assert!(
        assign(vec!["WK999999".into()]).is_err(),
        "a wijk of no gemeente cannot be assigned"
    );
    assert_eq!(assign(vec!["WK900001".into()]).expect("assign"), 1);
    let reply = a.get(&a.url("cells", "")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        a.app
            .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'wijk_assignment'")
            >= 2,
        "assignments are audited"
    );
}
