//! Chaos on PostgreSQL (issue 13): a phone pushes a stream of contacts to the real
//! `avondronde-server serve --database-url …` while the server is SIGKILLed mid-stream and
//! restarted, and later PostgreSQL itself is stopped at once (`pg_ctl stop -m immediate`,
//! every connection cut mid-transaction) and started again. The phone does what the app
//! does: it sends each batch until it gets an answer. Afterwards every receipted contact is
//! stored, and each exactly once.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use avondronde_server::store::Direct;
use avondronde_server::store::postgres::PgAdmin;
use avondronde_shared::sync::{Outcome, Payload, PushRequest, PushResponse};
use common::{contact, push_request, round};
use pg::PgCluster;

const BATCHES: usize = 30;
const PER_BATCH: usize = 100;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn serve(app_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_avondronde-server"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("AVONDRONDE_DATABASE_URL", app_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server")
}

fn wait_healthy(rt: &tokio::runtime::Runtime, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = reqwest::Client::new();
    while Instant::now() < deadline {
        let up = rt.block_on(async {
            client
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        });
        if up {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not come up");
}

/// Sends `req` until the server answers it (as the app does), returning the answer.
async fn push_until_answered(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    req: &PushRequest,
) -> PushResponse {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no answer for two minutes");
        let sent = client
            .post(format!("{base}/api/v1/sync/push"))
            .bearer_auth(token)
            .json(req)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        if let Ok(res) = sent
            && res.status().is_success()
            && let Ok(answer) = res.json::<PushResponse>().await
        {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn receipted_contacts_survive_a_killed_server_and_a_crashed_database_stored_once() {
    // Durable, as in production: a commit is on disk before the phone hears of it.
    let cluster = PgCluster::start_durable();
    let mut admin = PgAdmin::connect(&cluster.admin_url("postgres")).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    let seed = Direct::connect(&cluster.admin_url("postgres"))
        .expect("direct")
        .transaction(|tx| Ok(common::seed(tx, false)))
        .expect("seed");
    let app_url = cluster.url("avondronde_app", "postgres");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut server = serve(&app_url, port);
    wait_healthy(&rt, &base);

    let enrolled: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/enrol"))
            .json(&serde_json::json!({ "code": seed.enrolment_code, "label": "chaos" }))
            .send()
            .await
            .expect("enrol")
            .json()
            .await
            .expect("json")
    });
    let token = enrolled["token"].as_str().expect("token").to_owned();

    // A round, then 3,000 contacts in batches of 100.
    let rd = round(seed.wijk, common::minutes_ago(600));
    let mut batches = vec![push_request(
        common::minutes_ago(0),
        &[Payload::Round(rd.clone())],
    )];
    for b in 0..BATCHES {
        let payloads: Vec<Payload> = (0..PER_BATCH)
            .map(|i| {
                let minutes = 590 - i64::try_from(b * PER_BATCH + i).expect("small") / 6;
                Payload::Contact(contact(rd.id, common::minutes_ago(minutes), seed.inside))
            })
            .collect();
        batches.push(push_request(common::minutes_ago(0), &payloads));
    }

    let done = Arc::new(AtomicUsize::new(0));
    let phone = {
        let (done, base, token) = (done.clone(), base.clone(), token.clone());
        rt.spawn(async move {
            let client = reqwest::Client::new();
            let mut receipted = Vec::new();
            for req in &batches {
                let answer = push_until_answered(&client, &base, &token, req).await;
                for r in answer.receipts {
                    match r.outcome {
                        Outcome::Accepted(_) | Outcome::Duplicate(_) => receipted.push(r.id),
                        other => panic!("unexpected outcome {other:?}"),
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
            receipted
        })
    };

    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while done.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "the phone got stuck before batch {n}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    // The server dies mid-stream (SIGKILL: no shutdown, no flush) and comes back.
    wait_for(8);
    server.kill().expect("SIGKILL");
    let _ = server.wait();
    server = serve(&app_url, port);
    wait_healthy(&rt, &base);
    // PostgreSQL crashes mid-stream, with the server's connections open, and comes back.
    wait_for(18);
    cluster.stop_immediately();
    std::thread::sleep(Duration::from_millis(500));
    cluster.start_again();

    let receipted = rt.block_on(phone).expect("the phone finished");
    server.kill().expect("stop");
    let _ = server.wait();

    let mut c = postgres::Client::connect(&cluster.admin_url("postgres"), postgres::NoTls)
        .expect("connect");
    let stored: HashSet<String> = c
        .query("SELECT id FROM contact", &[])
        .expect("contacts")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rows: i64 = c
        .query_one("SELECT count(*) FROM contact", &[])
        .expect("count")
        .get(0);
    let ledger: i64 = c
        .query_one("SELECT count(*) FROM item WHERE kind = 'contact'", &[])
        .expect("ledger")
        .get(0);
    let receipted: HashSet<String> = receipted.into_iter().collect();
    assert_eq!(
        receipted.len(),
        BATCHES * PER_BATCH + 1,
        "every item receipted once asked"
    );
    let lost = receipted
        .iter()
        .filter(|id| !stored.contains(*id) && **id != rd.id.to_string())
        .count();
    assert_eq!(lost, 0, "receipted contacts missing after the crashes");
    assert_eq!(
        rows,
        i64::try_from(BATCHES * PER_BATCH).expect("small"),
        "stored once each"
    );
    assert_eq!(stored.len(), BATCHES * PER_BATCH);
    assert_eq!(ledger, rows, "one ledger entry per contact");
}
