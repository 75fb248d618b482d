//! A throwaway PostgreSQL cluster for tests (recipe: /work/shared/TESTING.md): `initdb`
//! into a temporary directory, started on a free loopback port with its socket in that
//! directory, stopped (and removed) when dropped. PostgreSQL refuses to run as root, so as
//! root the binaries run as the `postgres` user through `runuser`.
//!
//! Missing binaries fail the test with what to do; they never skip it.
//!
//! Use from a test file with `#[path = "common/pg.rs"] mod pg;`.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running cluster; stopped when dropped.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The superuser `initdb` makes.
pub const SUPERUSER: &str = "avondronde";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest /usr/lib/postgresql/*/bin with initdb in it, or the directory of `initdb` on
/// PATH.
fn find_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|b| b.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(b) = found.pop() {
        return b;
    }
    if let Ok(o) = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        && o.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if let Some(d) = p.parent() {
            return d.to_path_buf();
        }
    }
    panic!(
        "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: run \
         `scripts/setup --test` (it installs Debian's `postgresql` package)"
    );
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

impl PgCluster {
    /// Creates and starts a cluster, fast and not crash-safe (no fsync, asynchronous
    /// commit): for tests that never crash it. Panics with the tool's output if that fails.
    pub fn start() -> PgCluster {
        PgCluster::start_with("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    }

    /// A cluster with PostgreSQL's durable defaults (a commit is on disk before it is
    /// acknowledged), for the tests that crash it.
    pub fn start_durable() -> PgCluster {
        PgCluster::start_with("")
    }

    fn start_with(settings: &str) -> PgCluster {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("avondronde-pg-")
            .tempdir()
            .expect("temporary directory");
        let root = is_root();
        if root {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()));
        }
        let data = dir.path().join("data");
        let mut initdb = server_cmd(root, &bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-N",
            "--no-instructions",
        ]);
        run(&mut initdb);
        // A port can be taken between choosing and binding it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let mut ctl = server_cmd(root, &bin.join("pg_ctl"));
            ctl.arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.path().join("log"))
                .arg("-w")
                .arg("-o")
                .arg(format!(
                    "-k {} -c listen_addresses=127.0.0.1 -p {port} {settings}",
                    dir.path().display()
                ))
                .arg("start");
            let out = ctl.output().expect("run pg_ctl");
            if out.status.success() {
                return PgCluster { dir, bin, port };
            }
        }
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        panic!("the PostgreSQL cluster did not start:\n{log}");
    }

    /// Stops the cluster at once, as a crash would (`pg_ctl stop -m immediate`): every
    /// connection is cut mid-transaction.
    pub fn stop_immediately(&self) {
        run(server_cmd(is_root(), &self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]));
    }

    /// Starts the cluster again on its port, after [`PgCluster::stop_immediately`]
    /// (PostgreSQL recovers from its write-ahead log).
    pub fn start_again(&self) {
        run(server_cmd(is_root(), &self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-w")
            .arg("-o")
            .arg(format!(
                "-k {} -c listen_addresses=127.0.0.1 -p {}",
                self.dir.path().display(),
                self.port
            ))
            .arg("start"));
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `user` on database `db`.
    pub fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// The superuser's URL on database `db`.
    pub fn admin_url(&self, db: &str) -> String {
        self.url(SUPERUSER, db)
    }

    /// A client binary of this installation (pg_dump, psql).
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// Creates database `name` (as the superuser).
    pub fn create_database(&self, name: &str) {
        let mut c = postgres::Client::connect(&self.admin_url("postgres"), postgres::NoTls)
            .expect("connect as the superuser");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let mut ctl = server_cmd(is_root(), &self.bin.join("pg_ctl"));
        ctl.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"]);
        let _ = ctl.output();
    }
}

fn server_cmd(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
