//! The accounts, sessions, set-up and rules store modules on both backends (issue 13): the
//! same scenario (create gemeenten, wijken, a place and users; TOTP set, enable and use a
//! step twice; recovery and reset codes; web sessions from insert to delete; norms and area
//! rules) runs on the embedded SQLite and on a throwaway PostgreSQL cluster
//! (tests/common/pg.rs), and every answer must be the same. Then the attacker's test on
//! PostgreSQL: a transaction of gemeente B cannot see or change A's users, codes, sessions
//! or rules through these functions, while a username of A still counts as taken.
//!
//! Ids are drawn once and given to both runs, so the two outcomes compare as they are.

#[path = "common/pg.rs"]
mod pg;

use avondronde_server::db::DbError;
use avondronde_server::store::postgres::{APP_ROLE, PgAdmin};
use avondronde_server::store::{
    Direct, RouteKind, Scope, Store, Tx, accounts, config, rules, sessions, setup,
};
use avondronde_shared::contact::AgeBand;
use avondronde_shared::norms::{AreaEffect, AreaRule, DailyWindow, NormBand, NormSet};
use avondronde_shared::{AreaRuleId, GemeenteId, PlaceId, Role, UserId, WijkId};
use geo::{LineString, MultiPolygon, Polygon};
use jiff::civil::{Time, date};
use pg::PgCluster;

/// The ids both runs use.
#[derive(Clone, Copy)]
struct Ids {
    a: GemeenteId,
    b: GemeenteId,
    wijk_a: WijkId,
    wijk_a2: WijkId,
    wijk_b: WijkId,
    place_a: PlaceId,
    admin_a: UserId,
    mp_a: UserId,
    field_a: UserId,
    bob_b: UserId,
    bea_b: UserId,
    mp_b: UserId,
    rule_1: AreaRuleId,
    rule_2: AreaRuleId,
}

impl Ids {
    fn new() -> Ids {
        // A is made first, so its (time-ordered) id sorts before B's; its CBS code sorts
        // after B's: the gemeente list must follow the codes on both backends.
        Ids {
            a: GemeenteId::new(),
            b: GemeenteId::new(),
            wijk_a: WijkId::new(),
            wijk_a2: WijkId::new(),
            wijk_b: WijkId::new(),
            place_a: PlaceId::new(),
            admin_a: UserId::new(),
            mp_a: UserId::new(),
            field_a: UserId::new(),
            bob_b: UserId::new(),
            bea_b: UserId::new(),
            mp_b: UserId::new(),
            rule_1: AreaRuleId::new(),
            rule_2: AreaRuleId::new(),
        }
    }
}

/// A non-ASCII username: its route key is its UTF-8 bytes.
const FIELD_NAME: &str = "Änne";

fn square(x: f64, y: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![
            (x, y),
            (x + 0.01, y),
            (x + 0.01, y + 0.01),
            (x, y + 0.01),
            (x, y),
        ]),
        vec![],
    )])
}

fn rule(id: AreaRuleId, gemeente: GemeenteId, name: &str) -> AreaRule {
    AreaRule {
        id,
        gemeente,
        name: name.into(),
        area: square(4.4, 51.9),
        window: DailyWindow {
            start: Time::constant(20, 0, 0, 0),
            end: Time::constant(6, 0, 0, 0),
        },
        valid_from: date(2026, 1, 1),
        valid_until: date(2026, 3, 1),
        bands: vec![AgeBand::Under6, AgeBand::Age6To9],
        effect: AreaEffect::PresenceBanned,
    }
}

fn user<'a>(id: UserId, g: GemeenteId, name: &'a str, role: Role) -> accounts::NewUser<'a> {
    accounts::NewUser {
        id,
        gemeente: g,
        username: name,
        role,
        password_hash: (role != Role::Straatcoach).then_some("$argon2id$v=19$fake-phc"),
        created_at: 1_000,
    }
}

fn hash(n: u8) -> Vec<u8> {
    vec![n; 32]
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

fn username(name: &str) -> Scope {
    Scope::Route(RouteKind::Username, name.as_bytes().to_vec())
}

/// The server's store with a runtime to drive it. The tests are synchronous, because the
/// PostgreSQL client (and the admin commands' connection) block, as on the server's
/// blocking pool; only the store's own calls run on the runtime.
struct Env {
    rt: tokio::runtime::Runtime,
    store: Store,
}

impl Env {
    fn new(store: Store) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        Env { rt, store }
    }

    /// Runs `f` in a write transaction of `scope`.
    fn try_write<T: Send + 'static>(
        &self,
        scope: impl Into<Scope>,
        f: impl FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        self.rt.block_on(self.store.write(scope, f))
    }

    /// Runs `f` in a write transaction of `scope`, which must succeed.
    fn write<T: Send + 'static>(
        &self,
        scope: impl Into<Scope>,
        f: impl FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    ) -> T {
        self.try_write(scope, f).expect("store write")
    }

    /// Runs `f` as a read of `scope`, which must succeed.
    fn read<T: Send + 'static>(
        &self,
        scope: impl Into<Scope>,
        f: impl FnOnce(&Tx) -> Result<T, DbError> + Send + 'static,
    ) -> T {
        self.rt
            .block_on(self.store.read(scope, f))
            .expect("store read")
    }
}

/// Everything the store functions answered, in order.
#[derive(Debug, PartialEq)]
struct Outcome {
    setup: Vec<String>,
    names: Vec<String>,
    users: Vec<accounts::UserListRow>,
    totp: Vec<String>,
    codes: Vec<bool>,
    resets: Vec<Option<(UserId, GemeenteId)>>,
    sessions: Vec<String>,
    rules: Vec<String>,
}

/// The scenario, through the backend's own set-up connection (`direct`, as the admin
/// commands use it) and the server's store. `assign` gives a user a wijk (the hotspot
/// module's table, written here with the backend's own SQL).
fn scenario(ids: Ids, direct: &mut Direct, env: &Env, assign: impl Fn(UserId, WijkId)) -> Outcome {
    let mut setup_log = Vec::new();
    // Gemeente A by the admin commands' connection: created, then found by its code.
    let found = direct
        .transaction(move |tx| {
            setup::insert_gemeente(tx, ids.a, "Alfa", "GM0002", &NormSet::rotterdam())?;
            Ok(())
        })
        .and_then(|()| {
            direct.transaction(move |tx| {
                let g = setup::gemeente_by_code(tx, "GM0002")?;
                let none = setup::gemeente_by_code(tx, "GM0404")?;
                // After the look-up the transaction is A's: its rows can be written.
                setup::insert_wijk(
                    tx,
                    ids.wijk_a,
                    ids.a,
                    "WK000201",
                    "Centrum",
                    &square(4.4, 51.9),
                )?;
                setup::insert_wijk(
                    tx,
                    ids.wijk_a2,
                    ids.a,
                    "WK000202",
                    "Noord",
                    &square(4.5, 52.0),
                )?;
                setup::insert_place(tx, ids.place_a, ids.wijk_a, "Plein", 51.905, 4.405)?;
                let of = setup::gemeente_of_wijk(tx, ids.wijk_a)?;
                let mut stored = Vec::new();
                for u in [
                    user(ids.admin_a, ids.a, "beheer", Role::Admin),
                    user(ids.mp_a, ids.a, "mp", Role::Meldpunt),
                    user(ids.field_a, ids.a, FIELD_NAME, Role::Straatcoach),
                ] {
                    stored.push(accounts::insert_user(tx, &u)?);
                }
                Ok(format!("{g:?} {none:?} {of:?} {stored:?}"))
            })
        })
        .expect("set up gemeente A");
    setup_log.push(found);
    assert_eq!(
        setup_log[0],
        format!("Some({:?}) None {:?} [true, true, true]", ids.a, ids.a)
    );

    // Gemeente B by the server's own role, from a transaction with no gemeente: creating
    // it makes the transaction B's. A username of A is refused without spoiling the rest.
    let b = env.write(Scope::System, move |tx| {
        setup::insert_gemeente(tx, ids.b, "Beta", "GM0001", &NormSet::rotterdam())?;
        setup::insert_wijk(
            tx,
            ids.wijk_b,
            ids.b,
            "WK000101",
            "Haven",
            &square(4.6, 51.8),
        )?;
        let bob = accounts::insert_user(tx, &user(ids.bob_b, ids.b, "bob", Role::Coordinator))?;
        let mp = accounts::insert_user(tx, &user(ids.mp_b, ids.b, "mp", Role::Admin))?;
        let bea = accounts::insert_user(tx, &user(ids.bea_b, ids.b, "bea", Role::Boa))?;
        let bob_again = accounts::insert_user(tx, &user(ids.bob_b, ids.b, "bob2", Role::Boa))?;
        Ok(format!(
            "bob {bob}, mp again {mp}, bea {bea}, bob's id again {bob_again}"
        ))
    });
    setup_log.push(b);
    let list = env.read(Scope::System, setup::gemeenten);
    setup_log.push(format!("{list:?} (B {:?}, A {:?})", ids.b, ids.a));
    setup_log.push(format!(
        "{:?}",
        env.rt.block_on(env.store.gemeenten()).expect("gemeenten")
    ));
    // Wijk codes over all gemeenten, asked from A: B's code is B's.
    let codes = env.write(ids.a, move |tx| {
        let own = setup::wijk_by_code(tx, "WK000201")?;
        let other = setup::wijk_by_code(tx, "WK000101")?;
        let none = setup::wijk_by_code(tx, "WK999999")?;
        setup::update_wijk(tx, ids.wijk_a, "Centrum-Noord", &square(4.41, 51.91))?;
        let after = setup::wijk_by_code(tx, "WK000201")?;
        Ok(format!("{own:?} {other:?} {none:?} {after:?}"))
    });
    setup_log.push(codes);
    assign(ids.admin_a, ids.wijk_a2);
    assign(ids.admin_a, ids.wijk_a);
    assign(ids.mp_a, ids.wijk_a2);

    // Look-ups by name run in the scope of the name's route, as the login form's do.
    let mut names = Vec::new();
    for name in ["mp", FIELD_NAME, "bob", "MP", " mp", "niemand", "änne"] {
        let n = name.to_owned();
        let answer = env.read(username(name), move |tx| {
            Ok(format!(
                "{n}: {:?} / {:?} / {:?} / taken {}",
                accounts::user_by_name(tx, &n)?,
                accounts::login_by_name(tx, &n)?,
                accounts::user_id_by_name(tx, &n)?,
                accounts::username_taken(tx, &n)?,
            ))
        });
        names.push(answer);
    }
    // Taken in any gemeente, asked from A: B's names too; exact bytes only.
    names.push(env.write(ids.a, |tx| {
        Ok(format!(
            "{:?}",
            ["bob", "bea", "mp", "beheer", "Bob", "bob ", "nieuw"]
                .map(|n| accounts::username_taken(tx, n))
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?
        ))
    }));

    let users = env.write(ids.a, move |tx| accounts::users_of_gemeente(tx, ids.a));

    // TOTP: pending, enabled, a step used twice, cleared, set enabled at once.
    let totp = env.write(ids.a, move |tx| {
        let u = ids.admin_a;
        let mut log = vec![format!("{:?}", accounts::totp(tx, u)?)];
        accounts::set_pending_totp_secret(tx, u, "SECRETONE")?;
        accounts::set_pending_totp_secret(tx, u, "SECRETTWO")?;
        log.push(format!("{:?}", accounts::totp(tx, u)?));
        accounts::enable_totp(tx, u)?;
        accounts::set_pending_totp_secret(tx, u, "SECRETTHREE")?;
        log.push(format!("{:?}", accounts::totp(tx, u)?));
        for step in [100, 100, 99, 101] {
            log.push(format!(
                "step {step}: {}",
                accounts::use_totp_step(tx, u, step)?
            ));
        }
        log.push(format!("{:?}", accounts::totp(tx, u)?));
        accounts::clear_totp(tx, u)?;
        log.push(format!("{:?}", accounts::totp(tx, u)?));
        accounts::set_enabled_totp_secret(tx, u, "SECRETFOUR")?;
        log.push(format!("{:?}", accounts::totp(tx, u)?));
        log.push(format!("step 5: {}", accounts::use_totp_step(tx, u, 5)?));
        log.push(format!("{:?}", accounts::totp(tx, UserId::new())?));
        Ok(log)
    });
    let mut totp = totp;
    totp.push(env.read(username("beheer"), |tx| {
        Ok(format!("{:?}", accounts::login_by_name(tx, "beheer")?))
    }));

    // Recovery codes: each works once; deleted ones not at all.
    let codes = env.write(ids.a, move |tx| {
        let u = ids.admin_a;
        accounts::insert_recovery_code(tx, u, &hash(1))?;
        accounts::insert_recovery_code(tx, u, &hash(2))?;
        accounts::insert_recovery_code(tx, ids.mp_a, &hash(3))?;
        let mut log = vec![
            accounts::use_recovery_code(tx, u, &hash(1), 2_000)?,
            accounts::use_recovery_code(tx, u, &hash(1), 2_001)?,
            accounts::use_recovery_code(tx, u, &hash(9), 2_002)?,
            // Another user's code is not this user's.
            accounts::use_recovery_code(tx, u, &hash(3), 2_003)?,
        ];
        accounts::delete_recovery_codes(tx, u)?;
        log.push(accounts::use_recovery_code(tx, u, &hash(2), 2_004)?);
        log.push(accounts::use_recovery_code(tx, ids.mp_a, &hash(3), 2_005)?);
        Ok(log)
    });

    // Reset codes, redeemed in the scope of the username, as the reset form does.
    env.write(ids.a, move |tx| {
        accounts::insert_reset_code(tx, &hash(10), ids.mp_a, 1_000, 2_000)?;
        accounts::insert_reset_code(tx, &hash(11), ids.field_a, 1_000, 2_000)
    });
    let resets = env.write(username("mp"), move |tx| {
        let mut log = vec![
            accounts::reset_code_user(tx, &hash(10), "mp", 1_500)?,
            accounts::reset_code_user(tx, &hash(10), "beheer", 1_500)?,
            accounts::reset_code_user(tx, &hash(11), "mp", 1_500)?,
            accounts::reset_code_user(tx, &hash(10), "mp", 2_000)?,
        ];
        accounts::set_password_hash(tx, ids.mp_a, "$argon2id$v=19$new-phc")?;
        accounts::use_reset_codes(tx, ids.mp_a, 1_600)?;
        log.push(accounts::reset_code_user(tx, &hash(10), "mp", 1_700)?);
        Ok(log)
    });
    let resets = {
        let mut r = resets;
        // A disabled user's code does not count.
        env.write(ids.a, move |tx| {
            accounts::disable_user(tx, ids.field_a, 1_650)
        });
        env.write(ids.a, move |tx| {
            accounts::disable_user(tx, ids.field_a, 9_999)
        });
        r.push(env.read(username(FIELD_NAME), |tx| {
            accounts::reset_code_user(tx, &hash(11), FIELD_NAME, 1_700)
        }));
        r
    };

    // Web sessions, from insert to delete.
    env.write(ids.a, move |tx| {
        for (h, u, pending) in [
            (1, ids.mp_a, true),
            (2, ids.admin_a, false),
            (3, ids.mp_a, false),
            (4, ids.field_a, false),
        ] {
            sessions::insert(
                tx,
                &sessions::NewSession {
                    token_hash: &hash(h),
                    user: u,
                    now: 1_000,
                    expires_at: 5_000,
                    mfa_pending: pending,
                },
            )?;
        }
        Ok(())
    });
    let mut log = Vec::new();
    let one = Scope::Route(RouteKind::WebSession, hash(1));
    log.push(env.read(one.clone(), |tx| {
        Ok(format!(
            "{:?} {:?}",
            sessions::live_session(tx, &hash(1), 1_500)?,
            sessions::live_session(tx, &hash(1), 5_000)?
        ))
    }));
    log.push(env.write(one.clone(), |tx| {
        sessions::touch(tx, &hash(1), 1_600)?;
        let first = sessions::count_wrong_code(tx, &hash(1))?;
        let second = sessions::count_wrong_code(tx, &hash(1))?;
        // The second factor done: the session goes on under a new token's hash.
        sessions::finish_mfa(tx, &hash(1), &hash(12), 9_000, 1_700)?;
        Ok(format!(
            "{first} {second} {:?} {:?} old {:?}",
            sessions::live_session(tx, &hash(12), 6_000)?,
            sessions::expiry(tx, &hash(12))?,
            sessions::live_session(tx, &hash(1), 6_000)?
        ))
    }));
    log.push(
        env.try_write(ids.a, |tx| sessions::count_wrong_code(tx, &hash(99)))
            .map_err(|_| "no such session")
            .map(|n| n.to_string())
            .unwrap_or_else(|e| e.to_owned()),
    );
    log.push(env.write(ids.a, move |tx| {
        Ok(format!(
            "disabled {:?}; ended {:?}; idle {:?}; all {:?}; expiry {:?}",
            sessions::live_session(tx, &hash(4), 1_500)?,
            sorted(sessions::ended(tx, ids.a, 6_000, 1_650)?),
            sorted(sessions::ended(tx, ids.a, 1_500, 1_650)?),
            sorted(sessions::all(tx, ids.a)?),
            sessions::expiry(tx, &hash(99))?,
        ))
    }));
    log.push(env.write(ids.a, move |tx| {
        sessions::delete(tx, &hash(2))?;
        let gone = sorted(sessions::delete_of_user_returning(tx, ids.mp_a)?);
        let rest = sorted(sessions::all(tx, ids.a)?);
        sessions::delete_of_user(tx, ids.field_a)?;
        Ok(format!("{gone:?} {rest:?} {:?}", sessions::all(tx, ids.a)?))
    }));
    let unknown = env.try_write(ids.a, |tx| {
        sessions::insert(
            tx,
            &sessions::NewSession {
                token_hash: &hash(50),
                user: UserId::new(),
                now: 1,
                expires_at: 2,
                mfa_pending: false,
            },
        )
    });
    log.push(format!(
        "session of an unknown user stored: {}",
        unknown.is_ok()
    ));

    // Norms and area rules.
    let rules_log = env.write(ids.a, move |tx| {
        let norms = NormSet::rotterdam().with(NormBand::Under6, Some(Time::constant(19, 30, 0, 0)));
        let mut log = vec![
            format!("norms {}", rules::set_norms(tx, ids.a, &norms)?),
            format!(
                "norms elsewhere {}",
                rules::set_norms(tx, GemeenteId::new(), &norms)?
            ),
        ];
        rules::insert_area_rule(tx, &rule(ids.rule_1, ids.a, "Bevel Centrum"))?;
        rules::insert_area_rule(tx, &rule(ids.rule_2, ids.a, "Bevel Noord"))?;
        // A correction in place: only in the rule's own gemeente.
        let corrected = rules::update_area_rule(tx, &rule(ids.rule_2, ids.a, "Bevel Noord-Oost"))?;
        let elsewhere = rules::update_area_rule(tx, &rule(ids.rule_2, ids.b, "Bevel elders"))?;
        log.push(format!("updated {corrected} elsewhere {elsewhere}"));
        let mut found = config::area_rules(tx, ids.a)?;
        found.sort_by_key(|r| r.id);
        log.push(format!("{found:?}"));
        log.push(format!(
            "{}",
            rules::delete_area_rule(tx, ids.rule_1, ids.b)?
        ));
        log.push(format!(
            "{}",
            rules::delete_area_rule(tx, ids.rule_1, ids.a)?
        ));
        log.push(format!(
            "{}",
            rules::delete_area_rule(tx, ids.rule_1, ids.a)?
        ));
        log.push(format!("{}", rules::delete_area_rules_of(tx, ids.a)?));
        log.push(format!("{:?}", config::area_rules(tx, ids.a)?));
        Ok(log)
    });

    Outcome {
        setup: setup_log,
        names,
        users,
        totp,
        codes,
        resets,
        sessions: log,
        rules: rules_log,
    }
}

/// A migrated cluster, its superuser URL and the application role's URL.
fn cluster() -> (PgCluster, String, String) {
    let cluster = PgCluster::start();
    let su = cluster.admin_url("postgres");
    let mut admin = PgAdmin::connect(&su).expect("admin");
    admin.ensure_roles(None).expect("roles");
    admin.migrate().expect("migrate");
    let app = cluster.url(APP_ROLE, "postgres");
    (cluster, su, app)
}

fn on_sqlite(ids: Ids, dir: &std::path::Path) -> Outcome {
    let path = dir.join("avondronde.db");
    let mut direct = Direct::open(&path).expect("sqlite direct");
    let store = Store::open(&path).expect("sqlite store");
    let assign = |u: UserId, w: WijkId| {
        rusqlite::Connection::open(&path)
            .expect("sqlite")
            .execute(
                "INSERT INTO user_wijk (user_id, wijk_id, assigned_at) VALUES (?1, ?2, 0)",
                rusqlite::params![u, w],
            )
            .expect("assign wijk");
    };
    scenario(ids, &mut direct, &Env::new(store), assign)
}

fn on_postgres(ids: Ids, su: &str, app: &str) -> Outcome {
    let mut direct = Direct::connect(su).expect("postgres direct");
    let store = Store::connect(app).expect("postgres store");
    let assign = |u: UserId, w: WijkId| {
        postgres::Client::connect(su, postgres::NoTls)
            .expect("superuser")
            .execute(
                "INSERT INTO user_wijk (gemeente_id, user_id, wijk_id, assigned_at)
                 SELECT gemeente_id, $1::text, $2::text, 0 FROM \"user\" WHERE id = $1::text",
                &[&u, &w],
            )
            .expect("assign wijk");
    };
    scenario(ids, &mut direct, &Env::new(store), assign)
}

#[test]
fn accounts_sessions_setup_and_rules_answer_the_same_on_sqlite_and_postgresql() {
    let ids = Ids::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = on_sqlite(ids, dir.path());
    let (_cluster, su, app) = cluster();
    let postgres = on_postgres(ids, &su, &app);
    assert_eq!(sqlite, postgres);

    // The outcome says what it should, so that two equally wrong arms fail too.
    let o = &sqlite;
    assert_eq!(
        o.setup[1],
        "bob true, mp again false, bea true, bob's id again false"
    );
    assert_eq!(
        o.setup[2],
        format!("[{:?}, {:?}] (B {:?}, A {:?})", ids.b, ids.a, ids.b, ids.a)
    );
    assert!(o.setup[4].starts_with(&format!(
        "Some(({:?}, {:?})) Some(({:?}, {:?})) None",
        ids.wijk_a, ids.a, ids.wijk_b, ids.b
    )));
    assert!(o.names[0].starts_with("mp: Some(UserRow"), "{}", o.names[0]);
    assert!(
        o.names[1].starts_with("Änne: Some(UserRow"),
        "{}",
        o.names[1]
    );
    assert!(o.names[3].starts_with("MP: None / None / None / taken false"));
    assert!(o.names[4].starts_with(" mp: None / None / None / taken false"));
    assert!(o.names[6].starts_with("änne: None / None / None / taken false"));
    assert_eq!(o.names[7], "[true, true, true, true, false, false, false]");
    let list: Vec<(&str, Vec<String>)> = o
        .users
        .iter()
        .map(|u| (u.username.as_str(), u.wijken.clone()))
        .collect();
    assert_eq!(
        list,
        vec![
            ("beheer", vec!["WK000201".into(), "WK000202".into()]),
            ("mp", vec!["WK000202".into()]),
            (FIELD_NAME, vec![]),
        ]
    );
    assert_eq!(
        &o.totp[3..7],
        [
            "step 100: true",
            "step 100: false",
            "step 99: false",
            "step 101: true"
        ]
    );
    assert!(o.totp[1].contains("SECRETONE") && !o.totp[1].contains("SECRETTWO"));
    assert_eq!(o.codes, vec![true, false, false, false, false, true]);
    assert_eq!(
        o.resets,
        vec![Some((ids.mp_a, ids.a)), None, None, None, None, None]
    );
    assert_eq!(o.sessions[2], "no such session");
    assert!(
        o.sessions[1].starts_with("1 2 Some(SessionRow") && o.sessions[1].ends_with("old None"),
        "{}",
        o.sessions[1]
    );
    assert!(o.sessions[5].ends_with("stored: false"));
    assert_eq!(&o.rules[..2], ["norms 1", "norms elsewhere 0"]);
    assert_eq!(o.rules[2], "updated 1 elsewhere 0");
    assert!(o.rules[3].contains("Bevel Noord-Oost"), "{}", o.rules[3]);
    assert_eq!(&o.rules[4..], ["0", "1", "0", "1", "[]"]);
}

/// The attacker's test: a transaction scoped to gemeente B, calling every function of these
/// modules with A's ids, names and hashes, finds nothing of A and changes nothing of A; a
/// write that would hang a row on A's user or wijk fails. A's username still counts as
/// taken (usernames are unique over all gemeenten), and nothing else about it leaks.
#[test]
fn a_gemeente_b_transaction_cannot_see_or_change_gemeente_a_accounts_sessions_or_rules() {
    let ids = Ids::new();
    let (_cluster, su, app) = cluster();
    let mut direct = Direct::connect(&su).expect("direct");
    direct
        .transaction(move |tx| {
            setup::insert_gemeente(tx, ids.a, "Alfa", "GM0002", &NormSet::rotterdam())?;
            setup::insert_wijk(
                tx,
                ids.wijk_a,
                ids.a,
                "WK000201",
                "Centrum",
                &square(4.4, 51.9),
            )?;
            accounts::insert_user(tx, &user(ids.mp_a, ids.a, "mp", Role::Meldpunt))?;
            accounts::insert_user(tx, &user(ids.admin_a, ids.a, "beheer", Role::Admin))?;
            setup::insert_gemeente(tx, ids.b, "Beta", "GM0001", &NormSet::rotterdam())?;
            accounts::insert_user(tx, &user(ids.bob_b, ids.b, "bob", Role::Admin))?;
            Ok(())
        })
        .expect("two gemeenten");
    let env = Env::new(Store::connect(&app).expect("store"));
    env.write(ids.a, move |tx| {
        accounts::set_enabled_totp_secret(tx, ids.admin_a, "SECRETA")?;
        accounts::insert_recovery_code(tx, ids.admin_a, &hash(1))?;
        accounts::insert_reset_code(tx, &hash(2), ids.mp_a, 1_000, 9_000)?;
        rules::insert_area_rule(tx, &rule(ids.rule_1, ids.a, "Bevel"))?;
        sessions::insert(
            tx,
            &sessions::NewSession {
                token_hash: &hash(3),
                user: ids.mp_a,
                now: 1_000,
                expires_at: 9_000,
                mfa_pending: true,
            },
        )
    });

    // Reads and writes that find nothing of A.
    let seen = env.write(ids.b, move |tx| {
        Ok(vec![
            format!("{:?}", accounts::user_by_name(tx, "mp")?),
            format!("{:?}", accounts::login_by_name(tx, "mp")?),
            format!("{:?}", accounts::user_id_by_name(tx, "mp")?),
            format!("{:?}", accounts::users_of_gemeente(tx, ids.a)?),
            format!("{:?}", accounts::totp(tx, ids.admin_a)?),
            format!("{}", accounts::use_totp_step(tx, ids.admin_a, 7)?),
            format!(
                "{}",
                accounts::use_recovery_code(tx, ids.admin_a, &hash(1), 5)?
            ),
            format!(
                "{:?}",
                accounts::reset_code_user(tx, &hash(2), "mp", 2_000)?
            ),
            format!("{:?}", sessions::live_session(tx, &hash(3), 2_000)?),
            format!("{:?}", sessions::expiry(tx, &hash(3))?),
            format!("{:?}", sessions::ended(tx, ids.a, 99_000, 99_000)?),
            format!("{:?}", sessions::all(tx, ids.a)?),
            format!("{:?}", sessions::delete_of_user_returning(tx, ids.mp_a)?),
            format!("{}", rules::set_norms(tx, ids.a, &NormSet::rotterdam())?),
            format!("{:?}", config::area_rules(tx, ids.a)?),
            format!("{}", rules::delete_area_rule(tx, ids.rule_1, ids.a)?),
            format!("{}", rules::delete_area_rules_of(tx, ids.a)?),
            format!(
                "{}",
                rules::update_area_rule(tx, &rule(ids.rule_1, ids.a, "Overgenomen"))?
            ),
        ])
    });
    let nothing = [
        "None", "None", "None", "[]", "None", "false", "false", "None", "None", "None", "[]", "[]",
        "[]", "0", "[]", "0", "0", "0",
    ];
    assert_eq!(seen, nothing);
    // Blind writes to A's rows by id: no error, and (checked below) no effect.
    env.write(ids.b, move |tx| {
        accounts::disable_user(tx, ids.mp_a, 5)?;
        accounts::set_password_hash(tx, ids.mp_a, "overgenomen")?;
        accounts::clear_totp(tx, ids.admin_a)?;
        accounts::set_pending_totp_secret(tx, ids.mp_a, "B")?;
        accounts::enable_totp(tx, ids.mp_a)?;
        accounts::delete_recovery_codes(tx, ids.admin_a)?;
        accounts::use_reset_codes(tx, ids.mp_a, 5)?;
        sessions::touch(tx, &hash(3), 8_888)?;
        sessions::finish_mfa(tx, &hash(3), &hash(13), 99_999, 8_888)?;
        sessions::delete(tx, &hash(3))?;
        sessions::delete_of_user(tx, ids.mp_a)?;
        setup::update_wijk(tx, ids.wijk_a, "Overgenomen", &square(0.0, 0.0))?;
        Ok(())
    });
    // Writes that would hang a row on A's user, wijk or gemeente fail, one by one.
    let attempts: Vec<(&str, Result<(), DbError>)> = vec![
        (
            "recovery code for A's user",
            env.try_write(ids.b, move |tx| {
                accounts::insert_recovery_code(tx, ids.mp_a, &hash(9))
            }),
        ),
        (
            "reset code for A's user",
            env.try_write(ids.b, move |tx| {
                accounts::insert_reset_code(tx, &hash(9), ids.mp_a, 1, 99_999)
            }),
        ),
        (
            "session for A's user",
            env.try_write(ids.b, move |tx| {
                sessions::insert(
                    tx,
                    &sessions::NewSession {
                        token_hash: &hash(9),
                        user: ids.mp_a,
                        now: 1,
                        expires_at: 99_999,
                        mfa_pending: false,
                    },
                )
            }),
        ),
        (
            "place in A's wijk",
            env.try_write(ids.b, move |tx| {
                setup::insert_place(tx, PlaceId::new(), ids.wijk_a, "x", 0.0, 0.0)
            }),
        ),
        (
            "area rule of A",
            env.try_write(ids.b, move |tx| {
                rules::insert_area_rule(tx, &rule(AreaRuleId::new(), ids.a, "x"))
            }),
        ),
        (
            "user in A",
            env.try_write(ids.b, move |tx| {
                accounts::insert_user(tx, &user(UserId::new(), ids.a, "indringer", Role::Admin))
                    .map(|_| ())
            }),
        ),
        (
            "wijk in A",
            env.try_write(ids.b, move |tx| {
                setup::insert_wijk(tx, WijkId::new(), ids.a, "WK000299", "x", &square(0.0, 0.0))
            }),
        ),
        (
            "gemeente of A's wijk",
            env.try_write(ids.b, move |tx| {
                setup::gemeente_of_wijk(tx, ids.wijk_a).map(|_| ())
            }),
        ),
    ];
    for (what, result) in &attempts {
        assert!(result.is_err(), "{what} was allowed from gemeente B");
    }

    // Usernames are unique over all gemeenten: B sees that "mp" is taken, cannot take it,
    // and learns nothing else of A (no id, no gemeente, no role).
    let (taken, stored) = env.write(ids.b, move |tx| {
        Ok((
            accounts::username_taken(tx, "mp")?,
            accounts::insert_user(tx, &user(UserId::new(), ids.b, "mp", Role::Admin))?,
        ))
    });
    assert!(taken, "A's username must count as taken in B");
    assert!(!stored, "B must not take A's username");
    // A wijk code of A is A's, asked from B (for the upload's refusal): ids only.
    let code = env.write(ids.b, |tx| setup::wijk_by_code(tx, "WK000201"));
    assert_eq!(code, Some((ids.wijk_a, ids.a)));

    // And A's rows are as they were.
    let a = env.write(ids.a, move |tx| {
        Ok((
            accounts::login_by_name(tx, "mp")?,
            accounts::totp(tx, ids.admin_a)?,
            accounts::totp(tx, ids.mp_a)?,
            accounts::use_recovery_code(tx, ids.admin_a, &hash(1), 6)?,
            accounts::reset_code_user(tx, &hash(2), "mp", 2_000)?,
            sessions::live_session(tx, &hash(3), 2_000)?,
            sessions::all(tx, ids.a)?,
            config::area_rules(tx, ids.a)?.len(),
            setup::wijk_by_code(tx, "WK000201")?,
        ))
    });
    let (login, totp_admin, totp_mp, recovery, reset, session, all, rule_count, wijk) = a;
    let login = login.expect("mp is not disabled");
    assert_eq!(
        login.password_hash.as_deref(),
        Some("$argon2id$v=19$fake-phc")
    );
    let totp_admin = totp_admin.expect("admin");
    assert!(totp_admin.enabled && totp_admin.secret.as_deref() == Some("SECRETA"));
    let totp_mp = totp_mp.expect("mp");
    assert!(!totp_mp.enabled && totp_mp.secret.is_none());
    assert!(recovery, "A's recovery code is still unused");
    assert_eq!(reset, Some((ids.mp_a, ids.a)));
    let session = session.expect("A's session is still there");
    assert!(session.mfa_pending && session.last_seen == 1_000);
    assert_eq!(all, vec![hash(3)]);
    assert_eq!(rule_count, 1);
    assert_eq!(wijk, Some((ids.wijk_a, ids.a)));
    // No place, user or wijk was written into A from B.
    let mut su_client = postgres::Client::connect(&su, postgres::NoTls).expect("superuser");
    let counts: Vec<i64> = [
        "SELECT count(*) FROM place",
        "SELECT count(*) FROM \"user\" WHERE gemeente_id = $1",
        "SELECT count(*) FROM wijk WHERE gemeente_id = $1",
        "SELECT count(*) FROM recovery_code WHERE gemeente_id = $1",
        "SELECT count(*) FROM password_reset WHERE gemeente_id = $1",
        "SELECT count(*) FROM web_session WHERE gemeente_id = $1",
        "SELECT count(*) FROM area_rule WHERE gemeente_id = $1",
    ]
    .iter()
    .map(|sql| {
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = if sql.contains("$1") {
            vec![&ids.a]
        } else {
            vec![]
        };
        su_client
            .query_one(*sql, &params)
            .expect("count")
            .get::<_, i64>(0)
    })
    .collect();
    assert_eq!(counts, vec![0, 2, 1, 1, 1, 1, 1]);
    let wijk_name: String = su_client
        .query_one("SELECT name FROM wijk WHERE id = $1", &[&ids.wijk_a])
        .expect("wijk")
        .get(0);
    assert_eq!(wijk_name, "Centrum");
}
