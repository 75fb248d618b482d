//! Issue 4, kill safety: a child process saves a contact and is killed with SIGKILL, at
//! once or while it is sending. On reopening, every contact it reported as saved is in
//! the store, and the server ends up with each exactly once.
//!
//! The child is this test binary again, started with `AVONDRONDE_KILL_CHILD` set, running
//! only [`child_saves_a_contact_then_syncs_until_killed`]; in a normal run that function
//! returns at once.

mod app_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use app_support::{counts, enrolled, open};
use avondronde_app::store::lock;
use avondronde_shared::ContactId;
use avondronde_tests::TestServer;

const CHILD_ENV: &str = "AVONDRONDE_KILL_CHILD";

#[test]
fn child_saves_a_contact_then_syncs_until_killed() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return; // not the child
    };
    let lat: f64 = std::env::var("KILL_LAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(51.91);
    let lon: f64 = std::env::var("KILL_LON")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4.44);
    let ctx = open(std::path::Path::new(&dir));
    let form = common_case_at(lat, lon);
    let saved = ctx.save_contact(&form).expect("save in child");
    println!("SAVED {}", saved.contact);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _ = runtime.block_on(ctx.sync.engine().sync_once());
    println!("SYNCED");
    std::thread::sleep(Duration::from_secs(60));
}

fn common_case_at(lat: f64, lon: f64) -> avondronde_app::state::RecordForm {
    use avondronde_app::platform::webview::GpsFix;
    use avondronde_shared::AgeBand;
    use avondronde_shared::contact::{Action, Behaviour};
    let mut f = avondronde_app::state::RecordForm::new();
    for _ in 0..3 {
        f.add_child(AgeBand::Age10To11);
    }
    f.toggle_behaviour(Behaviour::HangingAround);
    f.toggle_action(Action::Spoken);
    f.set_fix(Ok(GpsFix {
        lat,
        lon,
        accuracy_m: 8.0,
        taken_at: jiff::Timestamp::now(),
    }));
    f
}

#[tokio::test]
async fn a_contact_saved_before_sigkill_is_kept_and_sent_exactly_once() {
    let server = TestServer::start();
    let seed = server.seed();
    let device = enrolled(&server, &seed).await;
    // The round goes to the server first, so every contact can be accepted.
    device
        .ctx
        .sync
        .engine()
        .sync_once()
        .await
        .expect("round sent");
    let dir = device.dir.path().to_owned();
    drop(device.ctx);

    let exe = std::env::current_exe().expect("test binary");
    let mut saved = Vec::new();
    // Killed right after the commit, and after a few moments (mid-push or after it).
    for delay_ms in [0u64, 2, 5, 20, 60] {
        let mut child = Command::new(&exe)
            .args([
                "child_saves_a_contact_then_syncs_until_killed",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &dir)
            .env("KILL_LAT", seed.inside.0.to_string())
            .env("KILL_LON", seed.inside.1.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let id = loop {
            let line = lines
                .next()
                .expect("the child reports before it is killed")
                .expect("read");
            // libtest prints the test's name on the same line, before the marker.
            if let Some((_, id)) = line.split_once("SAVED ") {
                break id.trim().parse::<ContactId>().expect("contact id");
            }
        };
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the child was killed, it did not finish");
        saved.push(id);
    }

    let ctx = open(&dir);
    for id in &saved {
        assert!(
            lock(&ctx.store).contact(*id).expect("read").is_some(),
            "contact {id} survived SIGKILL"
        );
    }
    ctx.sync
        .engine()
        .sync_once()
        .await
        .expect("pass after reopening");
    let (pending, _, refused) = counts(&ctx);
    assert_eq!((pending, refused), (0, 0));
    for id in &saved {
        let n = server.scalar(&format!("SELECT COUNT(*) FROM contact WHERE id = '{id}'"));
        assert_eq!(n, 1, "contact {id} is on the server exactly once");
    }
    assert_eq!(
        server.scalar("SELECT COUNT(*) FROM contact"),
        saved.len() as i64
    );
}
