//! A PostgreSQL server for tests: started on loopback in a fresh data directory and stopped
//! when dropped. `SOVA_TEST_POSTGRES_URL` (set by `.ci/run`, which starts one server for
//! the whole run) is used instead when present; each test then works in a database of its
//! own.
//!
//! PostgreSQL refuses to run as root: as root the server runs as the `postgres` user, in a
//! data directory that user owns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where Debian puts PostgreSQL 15's binaries.
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running server (or the shared one) and a database created for one test.
pub(crate) struct TestPostgres {
    /// The connection URL of the test's database.
    pub(crate) url: String,
    own: Option<(PathBuf, bool)>,
}

fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("SOVA_PG_BIN").map_or_else(|| PathBuf::from(BIN), PathBuf::from);
    dir.join(name)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `cmd args` as the `postgres` user when we are root.
fn run_as(as_postgres: bool, program: &Path, args: &[&str]) -> std::process::Output {
    let out = if as_postgres {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args)
            .output()
    } else {
        Command::new(program).args(args).output()
    };
    out.unwrap_or_else(|e| panic!("could not run {}: {e}", program.display()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl TestPostgres {
    /// A database of its own on the shared server, or on a server started now.
    pub(crate) fn start(name: &str) -> TestPostgres {
        if let Ok(base) = std::env::var("SOVA_TEST_POSTGRES_URL")
            && !base.trim().is_empty()
        {
            let db = format!("{name}_{}", std::process::id());
            let admin = postgres::Client::connect(&base, postgres::NoTls);
            let mut admin = admin.unwrap_or_else(|e| panic!("SOVA_TEST_POSTGRES_URL: {e}"));
            // One statement each: DROP/CREATE DATABASE cannot run in a transaction block.
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
                .expect("drop an old test database");
            admin
                .batch_execute(&format!("CREATE DATABASE {db}"))
                .expect("create the test database");
            let (head, _) = base.rsplit_once('/').expect("a URL with a database");
            return TestPostgres {
                url: format!("{head}/{db}"),
                own: None,
            };
        }
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "sova-pg-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("data directory");
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "could not give {} to the postgres user", dir.display());
        }
        let data = dir.join("data");
        let data_s = data.to_string_lossy().into_owned();
        let init = run_as(
            root,
            &bin("initdb"),
            &[
                "-D",
                &data_s,
                "--auth=trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(
            init.status.success(),
            "initdb failed (install PostgreSQL 15: apt-get install postgresql): {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = free_port();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} -c fsync=on -c max_connections=200",
            dir.display()
        );
        let log = dir.join("log").to_string_lossy().into_owned();
        let started = run_as(
            root,
            &bin("pg_ctl"),
            &[
                "-D", &data_s, "-o", &opts, "-l", &log, "-w", "-t", "60", "start",
            ],
        );
        assert!(
            started.status.success(),
            "PostgreSQL did not start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let deadline = Instant::now() + Duration::from_secs(30);
        while postgres::Client::connect(&url, postgres::NoTls).is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL never accepted connections"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TestPostgres {
            url,
            own: Some((dir, root)),
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some((dir, root)) = &self.own {
            let data = dir.join("data").to_string_lossy().into_owned();
            let _ = run_as(
                *root,
                &bin("pg_ctl"),
                &["-D", &data, "-m", "immediate", "stop"],
            );
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
