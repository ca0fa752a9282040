//! The stores a test runs against: a fresh SQLite file, and a fresh schema on the real
//! PostgreSQL server named by `SERVEBENCH_TEST_POSTGRES_URL` (`scripts/test.sh` starts one).
//! Under the test command (`SERVEBENCH_TEST_REQUIRE_SERVICES=1`) and in CI the server is
//! required; elsewhere a missing one is reported and skipped.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

pub const POSTGRES_ENV: &str = "SERVEBENCH_TEST_POSTGRES_URL";

pub struct TestStore {
    pub url: String,
    /// The PostgreSQL server and schema (dropped at the end), or the SQLite file's folder.
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// Set to 1 by `scripts/test.sh`: a test whose service is not set up fails instead of
/// skipping.
pub const REQUIRE_SERVICES_ENV: &str = "SERVEBENCH_TEST_REQUIRE_SERVICES";

/// Why a missing service fails the test, if it does: under the test command
/// (`SERVEBENCH_TEST_REQUIRE_SERVICES=1`) or in CI (`CI` set, not to `false` or `0`). A
/// developer's plain `cargo test` skips, with a note. (The same rule as
/// `servebench/tests/common/mod.rs`.)
pub fn services_required() -> Option<String> {
    [REQUIRE_SERVICES_ENV, "CI"].into_iter().find_map(|k| {
        let v = std::env::var(k).ok()?;
        (!v.is_empty() && v != "0" && v != "false").then(|| format!("{k}={v}"))
    })
}

/// The value of `var`, which names the service `name` a test needs. When it is unset or
/// empty: a panic naming it where services are required ([`services_required`]), else a note
/// and `None`.
pub fn require_service(name: &str, var: &str) -> Option<String> {
    if let Some(v) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
        return Some(v);
    }
    if let Some(why) = services_required() {
        panic!(
            "{name} is not set up: {var} not set, and with {why} a missing service fails the \
             test instead of skipping it. Run `bash scripts/test.sh`, which sets up {name} and \
             exports {var}; without {why}, a plain `cargo test` skips it"
        );
    }
    eprintln!(
        "{name} not set up ({var} not set; `bash scripts/test.sh` sets it up): skipped \
         ({REQUIRE_SERVICES_ENV}=1 makes this a failure)"
    );
    None
}

/// The PostgreSQL server's URL, if tests may use one ([`require_service`]).
pub fn postgres_url() -> Option<String> {
    require_service("PostgreSQL", POSTGRES_ENV)
}

fn admin(server: &str) -> postgres::Client {
    postgres::Client::connect(server, postgres::NoTls)
        .unwrap_or_else(|e| panic!("PostgreSQL at {server}: {e}"))
}

/// `name` on every available backend.
pub fn stores(name: &str) -> Vec<TestStore> {
    let mut out = vec![sqlite()];
    if let Some(server) = postgres_url() {
        out.push(postgres(&server, name));
    }
    out
}

pub fn sqlite() -> TestStore {
    let d = tempfile::tempdir().unwrap();
    TestStore {
        url: format!("sqlite:{}", d.path().join("s.db").display()),
        postgres: None,
        _dir: Some(d),
    }
}

/// A schema of its own on `server`, so tests (and reruns) never see each other's rows.
pub fn postgres(server: &str, name: &str) -> TestStore {
    static N: AtomicUsize = AtomicUsize::new(0);
    let schema = format!(
        "t_{}_{}_{}",
        name,
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    admin(server)
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if server.contains('?') { '&' } else { '?' };
    TestStore {
        url: format!("{server}{sep}options=-csearch_path%3D{schema}"),
        postgres: Some((server.to_string(), schema)),
        _dir: None,
    }
}

impl TestStore {
    /// Makes every later insert of a point at concurrency `conc` fail, as a crash would.
    pub fn fail_inserts_where_conc_is(&self, conc: u32) {
        match &self.postgres {
            Some((server, schema)) => admin(server)
                .batch_execute(&format!(
                    "CREATE FUNCTION {schema}.boom() RETURNS trigger LANGUAGE plpgsql AS
                       $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
                     CREATE TRIGGER boom BEFORE INSERT ON {schema}.points FOR EACH ROW
                       WHEN (NEW.conc = {conc}) EXECUTE FUNCTION {schema}.boom();"
                ))
                .unwrap(),
            None => {
                let path = self.url.strip_prefix("sqlite:").unwrap();
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(&format!(
                        "CREATE TRIGGER boom BEFORE INSERT ON points WHEN NEW.conc = {conc}
                         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
                    ))
                    .unwrap();
            }
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Some((server, schema)) = &self.postgres {
            if let Ok(mut c) = postgres::Client::connect(server, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
    }
}
