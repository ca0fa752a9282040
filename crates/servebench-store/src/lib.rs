//! The results store: runs, configs and points, in an SQLite file (PostgreSQL for fleets is
//! the next step of the store issue).
//!
//! - A **run** is one sweep or import (when, who, the recipes' commit, the executor) and says
//!   whether its points are the user's own or a published **reference** (kept apart, never
//!   blended).
//! - A **config** is what was deployed, by its natural key as InferenceX groups results:
//!   hardware, engine, model, precision, speculative decoding, disaggregation and topology.
//! - A **point** is a config at one workload (ISL/OSL) and concurrency in one run, with its
//!   metrics, its provenance and the full result.
//!
//! Ingest is idempotent (a point's id is a hash of its run, config, workload and
//! concurrency: ingesting the same result again stores nothing new), atomic (one transaction
//! per batch: a crash leaves no half batch) and safe with concurrent writers (WAL, busy
//! timeout).

pub mod import;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("unsupported store '{0}': expected sqlite:PATH")]
    Url(String),
    #[error("{file}: {message}")]
    Import { file: String, message: String },
}

/// Whose points a run holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Measured by the user.
    Own,
    /// Published by someone else (InferenceMAX), for reference.
    Reference,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Own => "own",
            Source::Reference => "reference",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Stable identity (a sweep directory's id, a published snapshot's name).
    pub key: String,
    /// RFC 3339 or a date.
    pub started_at: String,
    pub who: String,
    pub recipes_commit: Option<String>,
    pub executor: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    pub hardware: String,
    pub engine: String,
    pub model: String,
    pub precision: String,
    pub spec_decoding: String,
    pub disagg: bool,
    /// `tp8`, `tp8-ep8-dpa`, `p1x4ep4dpa-d2x8ep8`, ...
    pub topology: String,
}

impl Config {
    pub fn natural_key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.hardware,
            self.engine,
            self.model,
            self.precision,
            self.spec_decoding,
            if self.disagg { "disagg" } else { "agg" },
            self.topology
        )
    }
}

/// The metrics of a point (what was measured or published).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub tput_per_gpu: Option<f64>,
    pub input_tput_per_gpu: Option<f64>,
    pub output_tput_per_gpu: Option<f64>,
    pub median_intvty: Option<f64>,
    pub median_ttft_ms: Option<f64>,
    pub median_tpot_ms: Option<f64>,
    pub median_e2el_ms: Option<f64>,
    pub p99_ttft_ms: Option<f64>,
    pub p99_tpot_ms: Option<f64>,
    pub p99_e2el_ms: Option<f64>,
    pub completed: Option<u64>,
    pub failed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub config: Config,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    pub num_gpus: u32,
    pub metrics: Metrics,
    /// Image, engine version, server command, tokenizer, dataset, seed, client, host, ...
    pub provenance: serde_json::Value,
    /// The whole result as it came.
    pub result: serde_json::Value,
}

impl Point {
    /// The point's identity within `run`.
    pub fn key(&self, run: &Run) -> String {
        let id = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            run.key,
            self.config.natural_key(),
            self.isl,
            self.osl,
            self.conc
        );
        hex::encode(Sha256::digest(id.as_bytes()))
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ingested {
    pub inserted: usize,
    /// Already stored (the same run, config, workload and concurrency).
    pub duplicates: usize,
}

const MIGRATIONS: &[&str] = &[
    // 1: runs, configs, points.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        run_key TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        who TEXT NOT NULL,
        recipes_commit TEXT,
        executor TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('own', 'reference'))
     );
     CREATE TABLE configs (
        id INTEGER PRIMARY KEY,
        natural_key TEXT NOT NULL UNIQUE,
        hardware TEXT NOT NULL,
        engine TEXT NOT NULL,
        model TEXT NOT NULL,
        precision TEXT NOT NULL,
        spec_decoding TEXT NOT NULL,
        disagg INTEGER NOT NULL,
        topology TEXT NOT NULL
     );
     CREATE TABLE points (
        id INTEGER PRIMARY KEY,
        point_key TEXT NOT NULL UNIQUE,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        config_id INTEGER NOT NULL REFERENCES configs(id),
        isl INTEGER NOT NULL,
        osl INTEGER NOT NULL,
        conc INTEGER NOT NULL,
        num_gpus INTEGER NOT NULL,
        tput_per_gpu REAL,
        input_tput_per_gpu REAL,
        output_tput_per_gpu REAL,
        median_intvty REAL,
        median_ttft_ms REAL,
        median_tpot_ms REAL,
        median_e2el_ms REAL,
        p99_ttft_ms REAL,
        p99_tpot_ms REAL,
        p99_e2el_ms REAL,
        completed INTEGER,
        failed INTEGER,
        provenance TEXT NOT NULL,
        result TEXT NOT NULL
     );
     CREATE INDEX points_by_config ON points(config_id, isl, osl);
     CREATE INDEX points_by_run ON points(run_id);",
    // 2: dashboard views select by model and workload.
    "CREATE INDEX configs_by_model ON configs(model, precision);",
];

/// Maps an SQLite error of the store at `path`.
fn sqlite_err(path: &str) -> impl Fn(rusqlite::Error) -> StoreError {
    let path = path.to_string();
    move |e| StoreError::Sqlite {
        path: path.clone(),
        source: e,
    }
}

/// A point of a dashboard view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewPoint {
    /// The config's natural key.
    pub config: String,
    pub hardware: String,
    pub engine: String,
    pub precision: String,
    pub run: String,
    pub conc: u32,
    pub num_gpus: u32,
    pub tput_per_gpu: Option<f64>,
    pub median_intvty: Option<f64>,
    pub median_e2el_ms: Option<f64>,
}

/// A stored point of a curve: (run key, concurrency, tok/s/GPU, tok/s/user).
pub type CurvePoint = (String, u32, Option<f64>, Option<f64>);

/// An open store.
pub struct Store {
    conn: Connection,
    path: String,
}

impl Store {
    /// Opens `sqlite:PATH` (or a bare path), creating and migrating it as needed.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let path = match url.split_once(':') {
            Some(("sqlite", p)) => p,
            Some((scheme, _)) if scheme.contains('/') || scheme.len() == 1 => url,
            Some(_) => return Err(StoreError::Url(url.to_string())),
            None => url,
        };
        Store::open_sqlite(Path::new(path))
    }

    pub fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        let p = path.display().to_string();
        let err = sqlite_err(&p);
        let conn = Connection::open(path).map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(60))
            .map_err(&err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&err)?;
        let mut s = Store { conn, path: p };
        s.migrate()?;
        Ok(s)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError {
        sqlite_err(&self.path)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let err = sqlite_err(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&err)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .map_err(&err)?;
        let v: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            tx.execute_batch(m).map_err(&err)?;
            tx.execute("INSERT INTO schema_version VALUES (?1)", [i as i64 + 1])
                .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }

    /// Stores `points` of `run` in one transaction; points already stored are counted, not
    /// changed.
    pub fn ingest(&mut self, run: &Run, points: &[Point]) -> Result<Ingested, StoreError> {
        let err = sqlite_err(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&err)?;
        tx.execute(
            "INSERT OR IGNORE INTO runs (run_key, started_at, who, recipes_commit, executor, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run.key,
                run.started_at,
                run.who,
                run.recipes_commit,
                run.executor,
                run.source.as_str()
            ],
        )
        .map_err(&err)?;
        let run_id: i64 = tx
            .query_row("SELECT id FROM runs WHERE run_key = ?1", [&run.key], |r| {
                r.get(0)
            })
            .map_err(&err)?;
        let mut out = Ingested::default();
        {
            let mut cfg_ins = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO configs (natural_key, hardware, engine, model, precision, spec_decoding, disagg, topology)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(&err)?;
            let mut cfg_id = tx
                .prepare_cached("SELECT id FROM configs WHERE natural_key = ?1")
                .map_err(&err)?;
            let mut pt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO points (point_key, run_id, config_id, isl, osl, conc, num_gpus,
                        tput_per_gpu, input_tput_per_gpu, output_tput_per_gpu, median_intvty,
                        median_ttft_ms, median_tpot_ms, median_e2el_ms, p99_ttft_ms, p99_tpot_ms,
                        p99_e2el_ms, completed, failed, provenance, result)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                        ?17, ?18, ?19, ?20, ?21)",
                )
                .map_err(&err)?;
            let mut known: std::collections::HashMap<String, i64> = Default::default();
            for p in points {
                let c = &p.config;
                let nk = c.natural_key();
                let config_id = match known.get(&nk) {
                    Some(&id) => id,
                    None => {
                        cfg_ins
                            .execute(params![
                                nk,
                                c.hardware,
                                c.engine,
                                c.model,
                                c.precision,
                                c.spec_decoding,
                                c.disagg,
                                c.topology
                            ])
                            .map_err(&err)?;
                        let id: i64 = cfg_id.query_row([&nk], |r| r.get(0)).map_err(&err)?;
                        known.insert(nk, id);
                        id
                    }
                };
                let m = &p.metrics;
                let n = pt
                    .execute(params![
                        p.key(run),
                        run_id,
                        config_id,
                        p.isl,
                        p.osl,
                        p.conc,
                        p.num_gpus,
                        m.tput_per_gpu,
                        m.input_tput_per_gpu,
                        m.output_tput_per_gpu,
                        m.median_intvty,
                        m.median_ttft_ms,
                        m.median_tpot_ms,
                        m.median_e2el_ms,
                        m.p99_ttft_ms,
                        m.p99_tpot_ms,
                        m.p99_e2el_ms,
                        m.completed,
                        m.failed,
                        p.provenance.to_string(),
                        p.result.to_string(),
                    ])
                    .map_err(&err)?;
                if n == 1 {
                    out.inserted += 1;
                } else {
                    out.duplicates += 1;
                }
            }
        }
        tx.commit().map_err(&err)?;
        Ok(out)
    }

    /// Number of stored points (of `source`, or all).
    pub fn count_points(&self, source: Option<Source>) -> Result<u64, StoreError> {
        let n: i64 = match source {
            None => self
                .conn
                .query_row("SELECT COUNT(*) FROM points", [], |r| r.get(0)),
            Some(s) => self.conn.query_row(
                "SELECT COUNT(*) FROM points p JOIN runs r ON p.run_id = r.id WHERE r.source = ?1",
                [s.as_str()],
                |r| r.get(0),
            ),
        }
        .map_err(self.err())?;
        Ok(n as u64)
    }

    /// The points of one config at one workload, from runs of `source`: (run key, conc,
    /// tok/s/GPU, tok/s/user), by run then concurrency.
    pub fn curve(
        &self,
        natural_key: &str,
        isl: u32,
        osl: u32,
        source: Source,
    ) -> Result<Vec<CurvePoint>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT r.run_key, p.conc, p.tput_per_gpu, p.median_intvty
                 FROM points p JOIN configs c ON p.config_id = c.id JOIN runs r ON p.run_id = r.id
                 WHERE c.natural_key = ?1 AND p.isl = ?2 AND p.osl = ?3 AND r.source = ?4
                 ORDER BY r.run_key, p.conc",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![natural_key, isl, osl, source.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Every point of one dashboard view: a model at one workload (and precision, if given),
    /// from runs of `source`, with its config.
    pub fn view(
        &self,
        model: &str,
        isl: u32,
        osl: u32,
        precision: Option<&str>,
        source: Source,
    ) -> Result<Vec<ViewPoint>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT c.natural_key, c.hardware, c.engine, c.precision, r.run_key, p.conc,
                        p.num_gpus, p.tput_per_gpu, p.median_intvty, p.median_e2el_ms
                 FROM configs c JOIN points p ON p.config_id = c.id JOIN runs r ON p.run_id = r.id
                 WHERE c.model = ?1 AND p.isl = ?2 AND p.osl = ?3 AND r.source = ?4
                   AND (?5 IS NULL OR c.precision = ?5)
                 ORDER BY c.natural_key, p.conc",
            )
            .map_err(self.err())?;
        let rows = st
            .query_map(params![model, isl, osl, source.as_str(), precision], |r| {
                Ok(ViewPoint {
                    config: r.get(0)?,
                    hardware: r.get(1)?,
                    engine: r.get(2)?,
                    precision: r.get(3)?,
                    run: r.get(4)?,
                    conc: r.get(5)?,
                    num_gpus: r.get(6)?,
                    tput_per_gpu: r.get(7)?,
                    median_intvty: r.get(8)?,
                    median_e2el_ms: r.get(9)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The run with `key`, if stored.
    pub fn run(&self, key: &str) -> Result<Option<Run>, StoreError> {
        self.conn
            .query_row(
                "SELECT run_key, started_at, who, recipes_commit, executor, source FROM runs WHERE run_key = ?1",
                [key],
                |r| {
                    let source: String = r.get(5)?;
                    Ok(Run {
                        key: r.get(0)?,
                        started_at: r.get(1)?,
                        who: r.get(2)?,
                        recipes_commit: r.get(3)?,
                        executor: r.get(4)?,
                        source: if source == "reference" {
                            Source::Reference
                        } else {
                            Source::Own
                        },
                    })
                },
            )
            .optional()
            .map_err(self.err())
    }
}
