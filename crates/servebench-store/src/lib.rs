//! The results store: runs, configs and points, in an SQLite file by default or a PostgreSQL
//! database for fleets (same schema, migrations and queries: [`db`]).
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
//! per batch: a crash leaves no half batch) and safe with concurrent writers (SQLite: WAL and
//! a busy timeout; PostgreSQL: `ON CONFLICT DO NOTHING` on the natural keys).

pub mod agentic;
mod curve_columns;
pub mod db;
pub mod import;

use agentic::AGENTIC_COLUMNS;
pub use agentic::{is_agentic, workload_flags, workload_label, AgenticPoint, AGENTIC_WORKLOAD};
use db::{ddl, Db, DbError, Dialect, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {store}: {}", db::describe(source.as_ref()))]
    Db { store: String, source: DbError },
    #[error(
        "unsupported store '{0}': expected sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB"
    )]
    Url(String),
    #[error("{file}: {message}")]
    Import { file: String, message: String },
    #[error("{0}")]
    Retract(String),
    #[error("{0}")]
    Changelog(String),
    #[error("no store at {0}: nothing has been ingested there (check the path; `servebench ingest --store {0} DIR` creates it)")]
    Missing(String),
    #[error("store {store} has schema version {found}, this servebench reads version {expected}: {hint}")]
    Schema {
        store: String,
        found: i64,
        expected: usize,
        hint: &'static str,
    },
}

/// Whose points a run holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Measured by the user.
    Own,
    /// Published by someone else (InferenceMAX), for reference.
    Reference,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Own => "own",
            Source::Reference => "reference",
        }
    }
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Source, String> {
        match s {
            "own" => Ok(Source::Own),
            "reference" => Ok(Source::Reference),
            x => Err(format!("'{x}': expected own or reference")),
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

/// What a pool of a deployment does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A single-node server: whole requests.
    Server,
    /// Prefill workers of a disaggregated deployment.
    Prefill,
    /// Decode workers of a disaggregated deployment.
    Decode,
    /// The workers of an aggregated multi-node deployment (each serves whole requests).
    Workers,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Prefill => "prefill",
            Role::Decode => "decode",
            Role::Workers => "workers",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Ok(match s {
            "server" => Role::Server,
            "prefill" => Role::Prefill,
            "decode" => Role::Decode,
            "workers" => Role::Workers,
            _ => return Err(format!("unknown pool role '{s}'")),
        })
    }
}

/// One pool of a deployment: `workers` identical workers, each of `tp` × `pp` × `pcp` GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pool {
    pub role: Role,
    pub workers: u32,
    pub tp: u32,
    pub pp: u32,
    pub dcp: u32,
    pub pcp: u32,
    pub ep: u32,
    pub dp_attn: bool,
    /// The pool's GPUs (InferenceX's own count where its row gives one).
    pub gpus: u32,
}

/// What a config deployed, structured: its pools (one for a single node; prefill and decode,
/// or aggregated workers, for a multi-node one), the router in front, how the KV cache moves
/// between pools, the MTP draft length and the recipe file it came from. The config's
/// `topology` label names the same thing as its natural key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Topology {
    pub pools: Vec<Pool>,
    /// `dynamo-router 0.5.1`, `sglang-router 0.3.2`: name and version.
    #[serde(default)]
    pub router: Option<String>,
    /// `nixl`, `mooncake`: the KV-cache transfer between pools.
    #[serde(default)]
    pub kv_transfer: Option<String>,
    /// Speculative (MTP) draft tokens per step, where the recipe states them.
    #[serde(default)]
    pub draft_tokens: Option<u32>,
    /// The engine recipe file the deployment was launched from (InferenceX's `CONFIG_FILE`).
    #[serde(default)]
    pub recipe_file: Option<String>,
}

impl Topology {
    /// GPUs of the pools of `role`.
    pub fn gpus(&self, role: Role) -> u32 {
        self.pools
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.gpus)
            .sum()
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
    /// Energy per output token measured from power samples (J), where the result has them.
    pub measured_j_per_token: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub config: Config,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    pub num_gpus: u32,
    pub metrics: Metrics,
    /// Its config's deployment, structured, where the source says (stored once per config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Topology>,
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
    /// Not stored: another point of the same batch has its identity (two images or recipes of
    /// one deployment in one run); the first is kept.
    pub collided: usize,
}

/// Inserts a point's row of a side table (`point_id` and `columns`) once, the point named by
/// its key.
fn insert_beside(
    db: &mut Db,
    table: &str,
    columns: &str,
    point_key: String,
    values: impl IntoIterator<Item = Value>,
) -> Result<(), DbError> {
    let mut args = vec![Value::from(point_key)];
    args.extend(values);
    let marks: Vec<String> = (2..=args.len()).map(|i| format!("${i}")).collect();
    db.execute(
        &format!(
            "INSERT INTO {table} (point_id, {columns})
             SELECT id, {} FROM points WHERE point_key = $1
             ON CONFLICT (point_id) DO NOTHING",
            marks.join(", ")
        ),
        &args,
    )?;
    Ok(())
}

/// Switches a store file to WAL. SQLite answers "database is locked" at once, without
/// waiting, while another connection holds the file (concurrent first opens of a new store
/// migrating it), so this retries for as long as a busy statement would wait.
fn set_wal(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + SQLITE_BUSY_WAIT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

/// How long a statement waits for another writer of a SQLite store.
const SQLITE_BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The schema, one migration a step, in [`ddl`]'s notation. Integers are BIGINT and reals
/// double precision in both dialects.
const MIGRATIONS: &[&str] = &[
    // 1: runs, configs, points.
    "CREATE TABLE runs (
        id {id},
        run_key {text} NOT NULL UNIQUE,
        started_at {text} NOT NULL,
        who {text} NOT NULL,
        recipes_commit {text},
        executor {text} NOT NULL,
        source {text} NOT NULL CHECK (source IN ('own', 'reference'))
     );
     CREATE TABLE configs (
        id {id},
        natural_key {text} NOT NULL UNIQUE,
        hardware {text} NOT NULL,
        engine {text} NOT NULL,
        model {text} NOT NULL,
        precision {text} NOT NULL,
        spec_decoding {text} NOT NULL,
        disagg BIGINT NOT NULL,
        topology {text} NOT NULL
     );
     CREATE TABLE points (
        id {id},
        point_key {text} NOT NULL UNIQUE,
        run_id BIGINT NOT NULL REFERENCES runs(id),
        config_id BIGINT NOT NULL REFERENCES configs(id),
        isl BIGINT NOT NULL,
        osl BIGINT NOT NULL,
        conc BIGINT NOT NULL,
        num_gpus BIGINT NOT NULL,
        tput_per_gpu {real},
        input_tput_per_gpu {real},
        output_tput_per_gpu {real},
        median_intvty {real},
        median_ttft_ms {real},
        median_tpot_ms {real},
        median_e2el_ms {real},
        p99_ttft_ms {real},
        p99_tpot_ms {real},
        p99_e2el_ms {real},
        completed BIGINT,
        failed BIGINT,
        provenance {text} NOT NULL,
        result {text} NOT NULL
     );
     CREATE INDEX points_by_config ON points(config_id, isl, osl);
     CREATE INDEX points_by_run ON points(run_id);",
    // 2: dashboard views select by model and workload.
    "CREATE INDEX configs_by_model ON configs(model, precision);",
    // 3: energy per output token measured from power samples, where a result has them.
    "ALTER TABLE points ADD COLUMN measured_j_per_token {real};",
    // 4: a view reads its points from the index alone (SQLite otherwise fetches each wide row
    // from wherever its run put it: half a dashboard view's time at a million points).
    "DROP INDEX points_by_config;
     CREATE INDEX points_view ON points(config_id, isl, osl, run_id, conc, num_gpus,
        tput_per_gpu, input_tput_per_gpu, output_tput_per_gpu, median_intvty, median_ttft_ms,
        median_tpot_ms, median_e2el_ms, p99_ttft_ms, p99_tpot_ms, p99_e2el_ms, completed,
        failed, measured_j_per_token);",
    // 5: the image beside the metrics (dashboard tooltips), in the view index with the id (so
    // PostgreSQL answers views from the index alone too).
    "ALTER TABLE points ADD COLUMN image {text};
     UPDATE points SET image = {json_image};
     DROP INDEX points_view;
     CREATE INDEX points_view ON points(config_id, isl, osl, run_id, conc, num_gpus,
        tput_per_gpu, input_tput_per_gpu, output_tput_per_gpu, median_intvty, median_ttft_ms,
        median_tpot_ms, median_e2el_ms, p99_ttft_ms, p99_tpot_ms, p99_e2el_ms, completed,
        failed, measured_j_per_token, image, id);",
    // 6: every curve (a config in a run at a workload) and its point count, kept by ingest, so
    // listing what the store holds never scans the points.
    "CREATE TABLE curves (
        config_id BIGINT NOT NULL REFERENCES configs(id),
        run_id BIGINT NOT NULL REFERENCES runs(id),
        isl BIGINT NOT NULL,
        osl BIGINT NOT NULL,
        points BIGINT NOT NULL,
        PRIMARY KEY (config_id, run_id, isl, osl)
     );
     INSERT INTO curves (config_id, run_id, isl, osl, points)
        SELECT config_id, run_id, isl, osl, COUNT(*) FROM points
        GROUP BY config_id, run_id, isl, osl;",
    // 7: measured GPU power over a point's window (a result's `power`), apart from the
    // modelled all-in figures; the view keeps only J per output token (valid windows).
    "CREATE TABLE point_power (
        point_id BIGINT PRIMARY KEY REFERENCES points(id),
        source {text} NOT NULL,
        valid BIGINT NOT NULL,
        invalid_reasons {text} NOT NULL,
        window_s {real} NOT NULL,
        sample_hz {real} NOT NULL,
        max_gap_s {real} NOT NULL,
        expected_gpus {text} NOT NULL,
        avg_power_per_gpu_w {real} NOT NULL,
        avg_total_power_w {real} NOT NULL,
        total_energy_j {real} NOT NULL,
        counter_energy_j {real},
        joules_per_request {real},
        joules_per_input_token {real},
        joules_per_output_token {real},
        joules_per_total_token {real},
        tokens_per_s_per_kw {real},
        output_tokens_per_s_per_kw {real}
     );",
    // 8: accuracy evals run at a deployment's concurrency (beside its throughput point, when
    // there is one: the same run, config, workload and concurrency).
    "CREATE TABLE evals (
        id {id},
        run_id BIGINT NOT NULL REFERENCES runs(id),
        config_id BIGINT NOT NULL REFERENCES configs(id),
        isl BIGINT NOT NULL,
        osl BIGINT NOT NULL,
        conc BIGINT NOT NULL,
        task {text} NOT NULL,
        score {real} NOT NULL,
        stderr {real} NOT NULL,
        n BIGINT NOT NULL,
        n_failed BIGINT NOT NULL,
        threshold {real},
        passed BIGINT,
        data_sha256 {text} NOT NULL,
        result {text} NOT NULL,
        UNIQUE (run_id, config_id, isl, osl, conc, task)
     );
     CREATE INDEX evals_by_config ON evals(config_id, isl, osl);",
    // 9: the error to expect of a point the simulator produced (its provenance's
    // `simulator.expected_error`, JSON), in the view index so views can mark it.
    "ALTER TABLE points ADD COLUMN simulated {text};
     UPDATE points SET simulated = {json_simulated};
     DROP INDEX points_view;
     CREATE INDEX points_view ON points(config_id, isl, osl, run_id, conc, num_gpus,
        tput_per_gpu, input_tput_per_gpu, output_tput_per_gpu, median_intvty, median_ttft_ms,
        median_tpot_ms, median_e2el_ms, p99_ttft_ms, p99_tpot_ms, p99_e2el_ms, completed,
        failed, measured_j_per_token, image, simulated, id);",
    // 10: each config's deployment, structured: its pools, router, KV transfer, MTP draft
    // length and recipe file (the topology label stays its natural key).
    "CREATE TABLE config_pools (
        config_id BIGINT NOT NULL REFERENCES configs(id),
        role {text} NOT NULL CHECK (role IN ('server', 'prefill', 'decode', 'workers')),
        workers BIGINT NOT NULL,
        tp BIGINT NOT NULL,
        pp BIGINT NOT NULL,
        dcp BIGINT NOT NULL,
        pcp BIGINT NOT NULL,
        ep BIGINT NOT NULL,
        dp_attn BIGINT NOT NULL,
        gpus BIGINT NOT NULL,
        PRIMARY KEY (config_id, role)
     );
     ALTER TABLE configs ADD COLUMN router {text};
     ALTER TABLE configs ADD COLUMN kv_transfer {text};
     ALTER TABLE configs ADD COLUMN draft_tokens BIGINT;
     ALTER TABLE configs ADD COLUMN recipe_file {text};
     ALTER TABLE configs ADD COLUMN described BIGINT NOT NULL DEFAULT 0;",
    // 11: an agentic-coding point's own figures (it is stored at the workload (0, 0)): KV
    // offload, the trace, theoretical and server cache-hit rates, E2E-normalised interactivity.
    "CREATE TABLE point_agentic (
        point_id BIGINT PRIMARY KEY REFERENCES points(id),
        kv_offloading {text} NOT NULL,
        kv_offload_backend {text},
        cpu_dram_gb {real},
        duration_s {real},
        trace {text},
        theoretical_hit_rate {real},
        server_hit_rate {real},
        server_gpu_hit_rate {real},
        server_cpu_hit_rate {real},
        e2e_norm_intvty_p50 {real},
        e2e_norm_intvty_p90 {real},
        qps_mean {real}
     );",
    // 12: the server's KV-cache usage over an agentic point (its highest sample, %).
    "ALTER TABLE point_agentic ADD COLUMN gpu_kv_usage_pct {real};
     ALTER TABLE point_agentic ADD COLUMN cpu_kv_usage_pct {real};",
    // 13: job reliability: each run's jobs per accelerator (succeeded of total, InferenceX's
    // run_stats), and the jobs that failed, with why (a failed job has no point to keep).
    "CREATE TABLE job_stats (
        run_id BIGINT NOT NULL REFERENCES runs(id),
        hardware {text} NOT NULL,
        succeeded BIGINT NOT NULL,
        total BIGINT NOT NULL,
        PRIMARY KEY (run_id, hardware)
     );
     CREATE TABLE failed_jobs (
        id {id},
        run_id BIGINT NOT NULL REFERENCES runs(id),
        config_id BIGINT NOT NULL REFERENCES configs(id),
        isl BIGINT NOT NULL,
        osl BIGINT NOT NULL,
        conc BIGINT NOT NULL,
        attempts BIGINT NOT NULL,
        reason {text} NOT NULL,
        UNIQUE (run_id, config_id, isl, osl, conc)
     );",
    // 14: a counter every write transaction raises, so readers (the dashboard's cache) know
    // in one row whether anything changed since they last looked.
    "CREATE TABLE store_generation (n BIGINT NOT NULL);
     INSERT INTO store_generation VALUES (0);",
    // 15: each curve's points in one value (`curve_columns`), kept by ingest: a view reads a
    // few thousand curves, not a hundred thousand index rows. Apart from `curves`, whose scans
    // (what the store holds) stay small. Filled from the points by `migrate` (the encoding is
    // the library's).
    "CREATE TABLE curve_columns (
        config_id BIGINT NOT NULL REFERENCES configs(id),
        run_id BIGINT NOT NULL REFERENCES runs(id),
        isl BIGINT NOT NULL,
        osl BIGINT NOT NULL,
        columns {blob} NOT NULL,
        PRIMARY KEY (config_id, run_id, isl, osl)
     );",
    // 16: continuous runs. What a point was planned from (its master-config key and recipe
    // fingerprint, InferenceX's rule: what changed between runs), the run a reused point was
    // measured in; runs and points an operator marked invalid, and why (hidden from views,
    // frontiers and history, never deleted; exactly one of run_id and point_id).
    "ALTER TABLE points ADD COLUMN recipe_key {text};
     ALTER TABLE points ADD COLUMN fingerprint {text};
     ALTER TABLE points ADD COLUMN reused_from BIGINT REFERENCES runs(id);
     UPDATE points SET recipe_key = {json_recipe_key}, fingerprint = {json_fingerprint};
     CREATE TABLE retractions (
        id {id},
        run_id BIGINT REFERENCES runs(id),
        point_id BIGINT REFERENCES points(id),
        reason {text} NOT NULL,
        who {text} NOT NULL,
        at {text} NOT NULL,
        CHECK ((run_id IS NULL) <> (point_id IS NULL))
     );",
    // 17: the changelog (InferenceX's perf-changelog.yaml) kept per run and config: each entry
    // once, by its digest, with the run it was first recorded with and the configs of that run
    // it touches (its patterns matched against the points' recipe keys when recorded), so a
    // movement between two runs is explained by the entries recorded in between.
    "CREATE TABLE changelog (
        id {id},
        digest {text} NOT NULL UNIQUE,
        entry {text} NOT NULL,
        run_id BIGINT NOT NULL REFERENCES runs(id)
     );
     CREATE TABLE changelog_configs (
        entry_id BIGINT NOT NULL REFERENCES changelog(id),
        config_id BIGINT NOT NULL REFERENCES configs(id),
        PRIMARY KEY (entry_id, config_id)
     );",
    // 18: the points a run's budget left for a later night, which the next night's plan runs
    // first.
    "CREATE TABLE deferred_points (
        run_id BIGINT NOT NULL REFERENCES runs(id),
        recipe_key {text} NOT NULL,
        fingerprint {text},
        isl BIGINT NOT NULL,
        osl BIGINT NOT NULL,
        conc BIGINT NOT NULL,
        reason {text} NOT NULL,
        PRIMARY KEY (run_id, recipe_key, isl, osl, conc)
     );",
];

/// The migration that adds [`curve_columns`]: a store from before it has them filled in.
const CURVE_COLUMNS_MIGRATION: usize = 15;

/// A point as the planner compares it with what it would run now ([`Store::measured`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredPoint {
    /// Its row id.
    pub id: i64,
    /// The master-config key it was planned from (none for published imports).
    pub recipe_key: Option<String>,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    pub fingerprint: Option<String>,
    pub image: Option<String>,
    /// Carried over from an earlier run (`reused_from`), not measured in this one.
    pub reused: bool,
}

/// What an operator marks invalid ([`Store::retract`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retract {
    /// A run, by its key: every point of it.
    Run(String),
    /// One point, by its row id (as the dashboard's point pages and reports name it).
    Point(i64),
}

/// A run or point marked invalid, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retraction {
    /// The run's key: the retracted run's, or the retracted point's run.
    pub run: String,
    /// The point's row id, for a point retracted alone.
    pub point: Option<i64>,
    pub reason: String,
    pub who: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

/// A changelog entry as the store keeps it ([`Store::record_changelog`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangelogRecord {
    /// The entry's identity (the SHA-256 of its content).
    pub digest: String,
    /// The entry as written: InferenceX's fields (`config-keys`, `description`, `pr-link`, …).
    pub entry: serde_json::Value,
    /// The run it was first recorded with, and when that run started.
    pub run: String,
    pub run_started_at: String,
    /// The configs of that run it touches (their keys), in key order.
    pub configs: Vec<String>,
}

/// A run's jobs on one accelerator: how many succeeded of how many ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStat {
    pub hardware: String,
    pub succeeded: u64,
    pub total: u64,
}

/// A job that measured no point: its deployment, workload and concurrency, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedJob {
    pub config: Config,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    pub attempts: u32,
    pub reason: String,
}

/// A point a run's budget left for a later night (`sweep --budget-*`), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// The master-config key it was planned from.
    pub recipe_key: String,
    pub fingerprint: Option<String>,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    pub reason: String,
}

/// A stored [`JobStat`] with its run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobStatRecord {
    pub run: String,
    pub started_at: String,
    pub source: String,
    #[serde(flatten)]
    pub stat: JobStat,
}

/// A stored [`FailedJob`] with its run and config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedJobRecord {
    pub run: String,
    pub started_at: String,
    pub config_key: String,
    pub hardware: String,
    pub model: String,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    pub attempts: u32,
    pub reason: String,
}

/// An accuracy eval run against a deployment at a concurrency (servebench-eval's result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    pub config: Config,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    #[serde(flatten)]
    pub outcome: EvalOutcome,
    pub data_sha256: String,
    /// The whole result as it came.
    pub result: serde_json::Value,
}

/// A stored eval as views and points show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalRecord {
    /// The config's natural key.
    pub config_key: String,
    pub run: String,
    pub conc: u32,
    /// The throughput point measured at the same run, config, workload and concurrency.
    pub point_id: Option<i64>,
    #[serde(flatten)]
    pub outcome: EvalOutcome,
}

/// What an eval found: its task, score and standard error, questions (and failed ones), and
/// the threshold and verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOutcome {
    pub task: String,
    pub score: f64,
    pub stderr: f64,
    pub n: u64,
    pub n_failed: u64,
    pub threshold: Option<f64>,
    pub passed: Option<bool>,
}

/// EvalRecord's columns, over `evals e`, `configs c`, `runs r` and the point `p` (LEFT JOIN).
const EVAL_SELECT: &str = "SELECT c.natural_key, r.run_key, e.conc, p.id, e.task, e.score,
        e.stderr, e.n, e.n_failed, e.threshold, e.passed
     FROM evals e JOIN configs c ON e.config_id = c.id JOIN runs r ON e.run_id = r.id
     LEFT JOIN points p ON p.run_id = e.run_id AND p.config_id = e.config_id
        AND p.isl = e.isl AND p.osl = e.osl AND p.conc = e.conc";

fn eval_of(r: &[Value]) -> EvalRecord {
    EvalRecord {
        config_key: r[0].text(),
        run: r[1].text(),
        conc: r[2].int() as u32,
        point_id: r[3].opt_int(),
        outcome: EvalOutcome {
            task: r[4].text(),
            score: r[5].opt_real().unwrap_or_default(),
            stderr: r[6].opt_real().unwrap_or_default(),
            n: r[7].int() as u64,
            n_failed: r[8].int() as u64,
            threshold: r[9].opt_real(),
            passed: r[10].opt_int().map(|v| v != 0),
        },
    }
}

/// Measured GPU power over a point's benchmark window, as `bench --power` wrote it in the
/// result (`servebench_core::power::MeasuredPower`, these fields of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointPower {
    pub source: String,
    pub valid: bool,
    /// `[{code, detail}]` when invalid.
    pub invalid_reasons: serde_json::Value,
    pub window_s: f64,
    pub sample_hz: f64,
    pub max_gap_s: f64,
    pub expected_gpus: Vec<u32>,
    pub avg_power_per_gpu_w: f64,
    pub avg_total_power_w: f64,
    pub total_energy_j: f64,
    pub counter_energy_j: Option<f64>,
    pub joules_per_request: Option<f64>,
    pub joules_per_input_token: Option<f64>,
    pub joules_per_output_token: Option<f64>,
    pub joules_per_total_token: Option<f64>,
    pub tokens_per_s_per_kw: Option<f64>,
    pub output_tokens_per_s_per_kw: Option<f64>,
}

const POWER_COLUMNS: &str = "source, valid, invalid_reasons, window_s, sample_hz, max_gap_s, \
     expected_gpus, avg_power_per_gpu_w, avg_total_power_w, total_energy_j, counter_energy_j, \
     joules_per_request, joules_per_input_token, joules_per_output_token, \
     joules_per_total_token, tokens_per_s_per_kw, output_tokens_per_s_per_kw";

impl PointPower {
    /// The `power` of a stored result (a bench result, or a sweep's point file holding one),
    /// if it has one.
    fn of(result: &serde_json::Value) -> Option<PointPower> {
        let power = result
            .get("power")
            .or_else(|| result.get("result")?.get("power"))?;
        serde_json::from_value(power.clone()).ok()
    }

    fn values(&self) -> [Value; 17] {
        [
            (&self.source).into(),
            self.valid.into(),
            self.invalid_reasons.to_string().into(),
            self.window_s.into(),
            self.sample_hz.into(),
            self.max_gap_s.into(),
            serde_json::to_string(&self.expected_gpus)
                .expect("a list of numbers")
                .into(),
            self.avg_power_per_gpu_w.into(),
            self.avg_total_power_w.into(),
            self.total_energy_j.into(),
            self.counter_energy_j.into(),
            self.joules_per_request.into(),
            self.joules_per_input_token.into(),
            self.joules_per_output_token.into(),
            self.joules_per_total_token.into(),
            self.tokens_per_s_per_kw.into(),
            self.output_tokens_per_s_per_kw.into(),
        ]
    }

    /// From a `point_power` row (POWER_COLUMNS).
    fn from_row(r: &[Value]) -> PointPower {
        PointPower {
            source: r[0].text(),
            valid: r[1].int() != 0,
            invalid_reasons: serde_json::from_str(&r[2].text()).unwrap_or_default(),
            window_s: r[3].opt_real().unwrap_or_default(),
            sample_hz: r[4].opt_real().unwrap_or_default(),
            max_gap_s: r[5].opt_real().unwrap_or_default(),
            expected_gpus: serde_json::from_str(&r[6].text()).unwrap_or_default(),
            avg_power_per_gpu_w: r[7].opt_real().unwrap_or_default(),
            avg_total_power_w: r[8].opt_real().unwrap_or_default(),
            total_energy_j: r[9].opt_real().unwrap_or_default(),
            counter_energy_j: r[10].opt_real(),
            joules_per_request: r[11].opt_real(),
            joules_per_input_token: r[12].opt_real(),
            joules_per_output_token: r[13].opt_real(),
            joules_per_total_token: r[14].opt_real(),
            tokens_per_s_per_kw: r[15].opt_real(),
            output_tokens_per_s_per_kw: r[16].opt_real(),
        }
    }
}

/// The metric columns of `points`, in [`Metrics`]' order.
const METRIC_COLUMNS: &str = "tput_per_gpu, input_tput_per_gpu, output_tput_per_gpu, \
     median_intvty, median_ttft_ms, median_tpot_ms, median_e2el_ms, p99_ttft_ms, p99_tpot_ms, \
     p99_e2el_ms, completed, failed, measured_j_per_token";

impl Metrics {
    fn values(&self) -> [Value; 13] {
        [
            self.tput_per_gpu.into(),
            self.input_tput_per_gpu.into(),
            self.output_tput_per_gpu.into(),
            self.median_intvty.into(),
            self.median_ttft_ms.into(),
            self.median_tpot_ms.into(),
            self.median_e2el_ms.into(),
            self.p99_ttft_ms.into(),
            self.p99_tpot_ms.into(),
            self.p99_e2el_ms.into(),
            self.completed.into(),
            self.failed.into(),
            self.measured_j_per_token.into(),
        ]
    }

    /// From the [`METRIC_COLUMNS`] of a row, from column `at` on.
    fn from_row_ref(r: &db::RowRef, at: usize) -> Result<Metrics, db::DbError> {
        Metrics::from_columns(|i| r.opt_real(at + i), |i| r.opt_int(at + i))
    }

    fn from_row(r: &[Value]) -> Metrics {
        let real = |i: usize| Ok::<_, std::convert::Infallible>(r[i].opt_real());
        let count = |i: usize| Ok(r[i].opt_int());
        match Metrics::from_columns(real, count) {
            Ok(m) => m,
            Err(e) => match e {},
        }
    }

    /// The metrics from the [`METRIC_COLUMNS`] in order, each read by `real` (or `count`,
    /// for the request counts) at its index.
    fn from_columns<E>(
        real: impl Fn(usize) -> Result<Option<f64>, E>,
        count: impl Fn(usize) -> Result<Option<i64>, E>,
    ) -> Result<Metrics, E> {
        let count = |i: usize| Ok(count(i)?.map(|v| v as u64));
        Ok(Metrics {
            tput_per_gpu: real(0)?,
            input_tput_per_gpu: real(1)?,
            output_tput_per_gpu: real(2)?,
            median_intvty: real(3)?,
            median_ttft_ms: real(4)?,
            median_tpot_ms: real(5)?,
            median_e2el_ms: real(6)?,
            p99_ttft_ms: real(7)?,
            p99_tpot_ms: real(8)?,
            p99_e2el_ms: real(9)?,
            completed: count(10)?,
            failed: count(11)?,
            measured_j_per_token: real(12)?,
        })
    }
}

/// A point of a dashboard view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewPoint {
    /// The point's row id (stable while it is stored).
    pub id: i64,
    pub image: Option<Arc<str>>,
    /// A simulated point: the error to expect of it (`simulator.expected_error` of its
    /// provenance: basis, share within ±35%, median errors); `None` for a measured one.
    pub simulated: Option<Arc<serde_json::Value>>,
    /// Shared by the points of one config (and the names by those of one run): a view's
    /// series copy their points, a hundred thousand of them.
    pub config: Arc<Config>,
    /// The config's natural key.
    pub config_key: Arc<str>,
    pub run: Arc<str>,
    pub run_started_at: Arc<str>,
    pub isl: u32,
    pub osl: u32,
    pub conc: u32,
    pub num_gpus: u32,
    pub metrics: Metrics,
    /// An agentic-coding point's own figures (cache hits, E2E-normalised interactivity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agentic: Option<Box<AgenticPoint>>,
}

/// One view's points with their configs, runs and images apart ([`Store::view_table`]).
#[derive(Debug, Clone, Default)]
pub struct ViewTable {
    /// By config row id: its natural key and the config.
    pub configs: HashMap<i64, (String, Config)>,
    /// By run row id: its key and start.
    pub runs: HashMap<i64, (String, String)>,
    /// The points' distinct images ([`ViewRow::image`] indexes this).
    pub images: Vec<String>,
    /// As the store gave them.
    rows: Vec<ViewRow>,
    /// `rows` by config key, run date, run and concurrency.
    order: Vec<u32>,
}

impl ViewTable {
    /// The points by config key, run date, run and concurrency.
    pub fn points(&self) -> impl Iterator<Item = &ViewRow> {
        self.order.iter().map(|&i| &self.rows[i as usize])
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Each config's place in natural-key order, by row id: points are put in order by these
    /// integers (sorting 100,000 points by their strings took a sixth of a view's time).
    fn config_ranks(&self) -> HashMap<i64, usize> {
        ranks(self.configs.iter().map(|(&id, (k, _))| (id, (k, k))))
    }

    /// Each run's place in (date, key) order, by row id.
    fn run_ranks(&self) -> HashMap<i64, usize> {
        ranks(self.runs.iter().map(|(&id, (k, at))| (id, (at, k))))
    }
}

/// Each id's place in the order of its key.
fn ranks<K: Ord>(keys: impl Iterator<Item = (i64, K)>) -> HashMap<i64, usize> {
    let mut keys: Vec<(i64, K)> = keys.collect();
    keys.sort_by(|a, b| a.1.cmp(&b.1));
    keys.into_iter()
        .enumerate()
        .map(|(i, (id, _))| (id, i))
        .collect()
}

/// A point of a [`ViewTable`]: a [`ViewPoint`] whose config, run and image are indices.
#[derive(Debug, Clone)]
pub struct ViewRow {
    pub id: i64,
    pub config_id: i64,
    pub run_id: i64,
    pub conc: u32,
    pub num_gpus: u32,
    /// Index into [`ViewTable::images`].
    pub image: Option<u32>,
    pub simulated: Option<serde_json::Value>,
    pub metrics: Metrics,
    pub agentic: Option<Box<AgenticPoint>>,
}

/// What a run deployed of one config: its points' images and recipe fingerprints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunBuild {
    pub config_key: String,
    /// Sorted, distinct.
    pub images: Vec<String>,
    /// Sorted, distinct.
    pub recipe_fingerprints: Vec<String>,
}

/// A model at one workload, as the store holds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ViewSummary {
    pub model: String,
    pub isl: u32,
    pub osl: u32,
    pub points: u64,
    /// Sorted, distinct.
    pub precisions: Vec<String>,
    pub sources: Vec<String>,
    pub hardware: Vec<String>,
    pub engines: Vec<String>,
}

/// One stored point in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointRecord {
    pub id: i64,
    /// Its identity: the SHA-256 of run, config, workload and concurrency.
    pub key: String,
    pub run: Run,
    #[serde(flatten)]
    pub point: Point,
    /// Measured GPU power over its window, where it was measured.
    pub power: Option<PointPower>,
    /// An agentic-coding point's own figures.
    pub agentic: Option<AgenticPoint>,
    /// Accuracy evals run at the same run, config, workload and concurrency.
    pub evals: Vec<EvalRecord>,
}

/// Points in one multi-row INSERT; a batch's remainder goes in power-of-two pieces so a
/// PostgreSQL session prepares at most a dozen shapes.
const ROWS_PER_INSERT: usize = 256;
const POINT_COLUMNS: usize = 27;

fn insert_points_sql(rows: usize) -> String {
    let mut sql = format!(
        "INSERT INTO points (point_key, run_id, config_id, isl, osl, conc, num_gpus, \
         {METRIC_COLUMNS}, image, simulated, provenance, result, recipe_key, fingerprint, \
         reused_from) VALUES "
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..POINT_COLUMNS {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * POINT_COLUMNS + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (point_key) DO NOTHING");
    sql
}

/// An open store.
pub struct Store {
    db: Db,
    /// What was opened, without a password: for messages.
    name: String,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Created if missing and migrated to the current schema (ingest, migrate, quickstart).
    ReadWrite,
    /// Never created, changed or migrated (report, dashboard, export-site): a missing store or
    /// an older schema is an error.
    ReadOnly,
}

/// `sqlite:PATH` (or a bare path) → the path; `None` for PostgreSQL.
fn sqlite_path(url: &str) -> Result<Option<&Path>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(None);
    }
    let path = match url.split_once(':') {
        Some(("sqlite", p)) => p,
        Some((scheme, _)) if scheme.contains('/') || scheme.len() == 1 => url,
        Some(_) => return Err(StoreError::Url(servebench_core::redact::url(url))),
        None => url,
    };
    Ok(Some(Path::new(path)))
}

impl Store {
    /// Opens `sqlite:PATH` (or a bare path) or `postgres://…`, creating and migrating the
    /// schema as needed.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_as(url, Access::ReadWrite)
    }

    /// Opens a store to read: nothing is created or migrated.
    pub fn open_read_only(url: &str) -> Result<Store, StoreError> {
        Store::open_as(url, Access::ReadOnly)
    }

    pub fn open_as(url: &str, access: Access) -> Result<Store, StoreError> {
        let mut s = match sqlite_path(url)? {
            Some(path) => Store::connect_sqlite(path, access)?,
            None => Store::connect_postgres(url, access)?,
        };
        match access {
            Access::ReadWrite => s.migrate()?,
            Access::ReadOnly => s.check_schema()?,
        }
        Ok(s)
    }

    pub fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        let mut s = Store::connect_sqlite(path, Access::ReadWrite)?;
        s.migrate()?;
        Ok(s)
    }

    fn connect_sqlite(path: &Path, access: Access) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        let name = format!("sqlite:{}", path.display());
        let err = |e: rusqlite::Error| StoreError::Db {
            store: name.clone(),
            source: e.into(),
        };
        let conn = match access {
            Access::ReadWrite => {
                let conn = rusqlite::Connection::open(path).map_err(err)?;
                set_wal(&conn).map_err(err)?;
                conn.pragma_update(None, "synchronous", "NORMAL")
                    .map_err(err)?;
                conn
            }
            Access::ReadOnly => {
                if !path.is_file() {
                    return Err(StoreError::Missing(name));
                }
                rusqlite::Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(err)?
            }
        };
        conn.busy_timeout(SQLITE_BUSY_WAIT).map_err(err)?;
        Ok(Store {
            db: Db::Sqlite(conn),
            name,
        })
    }

    fn connect_postgres(url: &str, access: Access) -> Result<Store, StoreError> {
        let name = servebench_core::redact::url(url);
        let err = |e: postgres::Error| StoreError::Db {
            store: name.clone(),
            source: e.into(),
        };
        let mut client = postgres::Client::connect(url, postgres::NoTls).map_err(err)?;
        if access == Access::ReadOnly {
            client
                .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                .map_err(err)?;
        }
        Ok(Store {
            db: Db::Postgres {
                client: Box::new(client),
                statements: Default::default(),
            },
            name,
        })
    }

    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        Store::open_as(url, Access::ReadWrite)
    }

    /// A reader's check: the schema is the one this build reads (a reader never migrates).
    fn check_schema(&mut self) -> Result<(), StoreError> {
        let exists = match self.db.dialect() {
            Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            Dialect::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_version' AND table_schema = current_schema()",
        };
        let has_table = self
            .db
            .query_one(exists, &[])
            .map_err(self.err())?
            .is_some_and(|r| r[0].int() > 0);
        let found = if has_table {
            self.db
                .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
                .map_err(self.err())?
                .map_or(0, |r| r[0].int())
        } else {
            0
        };
        let expected = MIGRATIONS.len();
        if found == expected as i64 {
            return Ok(());
        }
        Err(StoreError::Schema {
            store: self.name.clone(),
            found,
            expected,
            hint: if found == 0 {
                "it is not a servebench store, or nothing was ingested (run `servebench ingest`)"
            } else if found < expected as i64 {
                "run `servebench migrate --store …` (or `servebench ingest`) first"
            } else {
                "it was written by a newer servebench; upgrade this one"
            },
        })
    }

    /// The store's schema version (the migrations applied).
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .db
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
            .map_err(self.err())?
            .map_or(0, |r| r[0].int()))
    }

    /// The store's dialect.
    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    fn err(&self) -> impl Fn(DbError) -> StoreError + '_ {
        |source| StoreError::Db {
            store: self.name.clone(),
            source,
        }
    }

    /// Runs `f` in one write transaction that also raises the store's generation (the last
    /// statement before COMMIT, so concurrent writers of PostgreSQL wait on its row only then).
    fn write<T>(&mut self, f: impl FnOnce(&mut Db) -> Result<T, DbError>) -> Result<T, DbError> {
        self.db.transaction(|db| {
            let v = f(db)?;
            db.batch("UPDATE store_generation SET n = n + 1")?;
            Ok(v)
        })
    }

    /// A number that changes whenever a write to the store commits (any process, either
    /// dialect): what was read from the store at one generation is current while it lasts.
    pub fn generation(&mut self) -> Result<i64, StoreError> {
        self.db
            .query_one("SELECT n FROM store_generation", &[])
            .map_err(self.err())?
            .map(|r| r[0].int())
            .ok_or_else(|| StoreError::Db {
                store: self.name.clone(),
                source: "the store_generation table has no row".into(),
            })
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let dialect = self.db.dialect();
        let r = self.write(|db| {
            if dialect == Dialect::Postgres {
                // Concurrent first opens would race on CREATE TABLE; one migrates at a time.
                db.query("SELECT pg_advisory_xact_lock(7207601)", &[])?;
            }
            db.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
            let v = db
                .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
                .map_or(0, |r| r[0].int());
            for (i, m) in MIGRATIONS.iter().enumerate().skip(v as usize) {
                db.batch(&ddl(m, dialect))?;
                db.execute(
                    "INSERT INTO schema_version VALUES ($1)",
                    &[Value::Int(i as i64 + 1)],
                )?;
            }
            if (v as usize) < CURVE_COLUMNS_MIGRATION {
                let curves = db.query("SELECT config_id, run_id, isl, osl FROM curves", &[])?;
                for c in curves {
                    store_curve(db, [c[0].int(), c[1].int(), c[2].int(), c[3].int()])?;
                }
            }
            Ok(())
        });
        r.map_err(self.err())
    }

    /// Stores `points` of `run` in one transaction; points already stored are counted, not
    /// changed.
    pub fn ingest(&mut self, run: &Run, points: &[Point]) -> Result<Ingested, StoreError> {
        let r = self.write(|db| {
            let run_id = run_id(db, run)?;
            let mut config_ids: std::collections::HashMap<String, i64> = Default::default();
            let mut rows: Vec<Value> = Vec::with_capacity(points.len() * POINT_COLUMNS);
            for p in points {
                let c = &p.config;
                let nk = c.natural_key();
                let config_id = match config_ids.get(&nk) {
                    Some(&id) => id,
                    None => {
                        let id = config_id(db, c)?;
                        if let Some(t) = &p.deployment {
                            describe_config(db, id, t)?;
                        }
                        config_ids.insert(nk, id);
                        id
                    }
                };
                rows.extend([
                    p.key(run).into(),
                    Value::Int(run_id),
                    Value::Int(config_id),
                    p.isl.into(),
                    p.osl.into(),
                    p.conc.into(),
                    p.num_gpus.into(),
                ]);
                rows.extend(p.metrics.values());
                let simulated = &p.provenance["simulator"]["expected_error"];
                rows.extend([
                    p.provenance["image"].as_str().into(),
                    simulated
                        .is_object()
                        .then(|| simulated.to_string())
                        .as_deref()
                        .into(),
                    p.provenance.to_string().into(),
                    p.result.to_string().into(),
                    p.provenance["recipe_key"].as_str().into(),
                    p.provenance["recipe_fingerprint"].as_str().into(),
                    reused_from(db, &p.provenance)?.into(),
                ]);
            }
            let mut curves: std::collections::BTreeSet<(i64, u32, u32)> = Default::default();
            for (p, row) in points.iter().zip(rows.chunks(POINT_COLUMNS)) {
                curves.insert((row[2].int(), p.isl, p.osl));
            }
            let mut inserted = 0;
            let mut rest = &rows[..];
            while !rest.is_empty() {
                let n = (rest.len() / POINT_COLUMNS).min(ROWS_PER_INSERT);
                let n = if n == ROWS_PER_INSERT {
                    n
                } else {
                    1 << n.ilog2()
                };
                let (chunk, tail) = rest.split_at(n * POINT_COLUMNS);
                inserted += db.execute(&insert_points_sql(n), chunk)? as usize;
                rest = tail;
            }
            // Measured power and an agentic point's own figures go beside the points they
            // belong to (new ones only).
            for p in points {
                if let Some(pw) = PointPower::of(&p.result) {
                    insert_beside(db, "point_power", POWER_COLUMNS, p.key(run), pw.values())?;
                }
                if let Some(a) = AgenticPoint::of(&p.result) {
                    insert_beside(db, "point_agentic", AGENTIC_COLUMNS, p.key(run), a.values())?;
                }
            }
            for (config_id, isl, osl) in curves {
                store_curve(db, [config_id, run_id, isl.into(), osl.into()])?;
            }
            let mut seen = std::collections::HashSet::new();
            let collided = points.iter().filter(|p| !seen.insert(p.key(run))).count();
            Ok(Ingested {
                inserted,
                duplicates: points.len() - inserted - collided,
                collided,
            })
        });
        r.map_err(self.err())
    }

    /// Stores evals of `run` (idempotent: an eval of the same run, config, workload,
    /// concurrency and task is stored once).
    pub fn ingest_evals(&mut self, run: &Run, evals: &[Eval]) -> Result<Ingested, StoreError> {
        let r = self.write(|db| {
            let run_id = run_id(db, run)?;
            let mut inserted = 0;
            for e in evals {
                let config_id = config_id(db, &e.config)?;
                let o = &e.outcome;
                inserted += db.execute(
                    "INSERT INTO evals (run_id, config_id, isl, osl, conc, task, score, stderr, n,
                        n_failed, threshold, passed, data_sha256, result)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                     ON CONFLICT (run_id, config_id, isl, osl, conc, task) DO NOTHING",
                    &[
                        Value::Int(run_id),
                        Value::Int(config_id),
                        e.isl.into(),
                        e.osl.into(),
                        e.conc.into(),
                        (&o.task).into(),
                        o.score.into(),
                        o.stderr.into(),
                        o.n.into(),
                        o.n_failed.into(),
                        o.threshold.into(),
                        o.passed.map(i64::from).into(),
                        (&e.data_sha256).into(),
                        e.result.to_string().into(),
                    ],
                )? as usize;
            }
            Ok(Ingested {
                inserted,
                duplicates: evals.len() - inserted,
                collided: 0,
            })
        });
        r.map_err(self.err())
    }

    /// Stores a run's job counts per accelerator (replacing what an earlier ingest of the run
    /// said) and its failed jobs (each once).
    pub fn ingest_jobs(
        &mut self,
        run: &Run,
        stats: &[JobStat],
        failed: &[FailedJob],
    ) -> Result<usize, StoreError> {
        let r = self.write(|db| {
            let run_id = run_id(db, run)?;
            for st in stats {
                db.execute(
                    "INSERT INTO job_stats (run_id, hardware, succeeded, total)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (run_id, hardware)
                     DO UPDATE SET succeeded = excluded.succeeded, total = excluded.total",
                    &[
                        Value::Int(run_id),
                        (&st.hardware).into(),
                        st.succeeded.into(),
                        st.total.into(),
                    ],
                )?;
            }
            let mut inserted = 0;
            for f in failed {
                let config_id = config_id(db, &f.config)?;
                inserted += db.execute(
                    "INSERT INTO failed_jobs (run_id, config_id, isl, osl, conc, attempts, reason)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (run_id, config_id, isl, osl, conc) DO NOTHING",
                    &[
                        Value::Int(run_id),
                        Value::Int(config_id),
                        f.isl.into(),
                        f.osl.into(),
                        f.conc.into(),
                        f.attempts.into(),
                        (&f.reason).into(),
                    ],
                )? as usize;
            }
            Ok(inserted)
        });
        r.map_err(self.err())
    }

    /// Keeps the points `run`'s budget left for a later night; how many were new.
    pub fn ingest_deferred(
        &mut self,
        run: &Run,
        deferred: &[Deferred],
    ) -> Result<usize, StoreError> {
        let r = self.write(|db| {
            let run_id = run_id(db, run)?;
            let mut inserted = 0;
            for d in deferred {
                inserted += db.execute(
                    "INSERT INTO deferred_points
                        (run_id, recipe_key, fingerprint, isl, osl, conc, reason)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (run_id, recipe_key, isl, osl, conc) DO NOTHING",
                    &[
                        Value::Int(run_id),
                        (&d.recipe_key).into(),
                        d.fingerprint.as_deref().into(),
                        d.isl.into(),
                        d.osl.into(),
                        d.conc.into(),
                        (&d.reason).into(),
                    ],
                )? as usize;
            }
            Ok(inserted)
        });
        r.map_err(self.err())
    }

    /// The row ids of the points carried over from an earlier run (`reused_from`).
    pub fn reused_points(&mut self) -> Result<HashSet<i64>, StoreError> {
        let rows = self
            .db
            .query("SELECT id FROM points WHERE reused_from IS NOT NULL", &[])
            .map_err(self.err())?;
        Ok(rows.iter().map(|r| r[0].int()).collect())
    }

    /// The points `run`'s budget left for a later night.
    pub fn deferred(&mut self, run: &str) -> Result<Vec<Deferred>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT d.recipe_key, d.fingerprint, d.isl, d.osl, d.conc, d.reason
                 FROM deferred_points d JOIN runs r ON r.id = d.run_id
                 WHERE r.run_key = $1 ORDER BY d.recipe_key, d.isl, d.osl, d.conc",
                &[run.into()],
            )
            .map_err(self.err())?;
        Ok(rows
            .iter()
            .map(|r| Deferred {
                recipe_key: r[0].text(),
                fingerprint: r[1].opt_text(),
                isl: r[2].int() as u32,
                osl: r[3].int() as u32,
                conc: r[4].int() as u32,
                reason: r[5].text(),
            })
            .collect())
    }

    /// Every run's job counts per accelerator, oldest run first.
    pub fn job_stats(&mut self) -> Result<Vec<JobStatRecord>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT r.run_key, r.started_at, r.source, j.hardware, j.succeeded, j.total
                 FROM job_stats j JOIN runs r ON j.run_id = r.id
                 ORDER BY r.started_at, r.run_key, j.hardware",
                &[],
            )
            .map_err(self.err())?;
        Ok(rows
            .iter()
            .map(|r| JobStatRecord {
                run: r[0].text(),
                started_at: r[1].text(),
                source: r[2].text(),
                stat: JobStat {
                    hardware: r[3].text(),
                    succeeded: r[4].int() as u64,
                    total: r[5].int() as u64,
                },
            })
            .collect())
    }

    /// Every failed job, oldest run first.
    pub fn failed_jobs(&mut self) -> Result<Vec<FailedJobRecord>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT r.run_key, r.started_at, c.natural_key, c.hardware, c.model, f.isl, f.osl,
                        f.conc, f.attempts, f.reason
                 FROM failed_jobs f JOIN runs r ON f.run_id = r.id
                 JOIN configs c ON f.config_id = c.id
                 ORDER BY r.started_at, r.run_key, c.natural_key, f.isl, f.osl, f.conc",
                &[],
            )
            .map_err(self.err())?;
        Ok(rows
            .iter()
            .map(|r| FailedJobRecord {
                run: r[0].text(),
                started_at: r[1].text(),
                config_key: r[2].text(),
                hardware: r[3].text(),
                model: r[4].text(),
                isl: r[5].int() as u32,
                osl: r[6].int() as u32,
                conc: r[7].int() as u32,
                attempts: r[8].int() as u32,
                reason: r[9].text(),
            })
            .collect())
    }

    /// The evals of a view (model, workload; runs of `source`), oldest run first.
    pub fn view_evals(
        &mut self,
        model: &str,
        isl: u32,
        osl: u32,
        source: Source,
    ) -> Result<Vec<EvalRecord>, StoreError> {
        let rows = self
            .db
            .query(
                &format!(
                    "{EVAL_SELECT}
                     WHERE c.model = $1 AND e.isl = $2 AND e.osl = $3 AND r.source = $4
                     ORDER BY r.started_at, r.run_key, c.natural_key, e.conc, e.task"
                ),
                &[model.into(), isl.into(), osl.into(), source.as_str().into()],
            )
            .map_err(self.err())?;
        Ok(rows.iter().map(|r| eval_of(r)).collect())
    }

    /// What one run deployed of a view, per config (by natural key): the distinct images and
    /// recipe fingerprints of its points, as their provenance records them (the dashboard's
    /// "what changed" between two runs).
    pub fn run_builds(
        &mut self,
        model: &str,
        isl: u32,
        osl: u32,
        run: &str,
    ) -> Result<Vec<RunBuild>, StoreError> {
        let sql = crate::db::ddl(
            "SELECT c.natural_key, p.image, {json_fingerprint}
             FROM points p JOIN configs c ON p.config_id = c.id JOIN runs r ON p.run_id = r.id
             WHERE r.run_key = $1 AND c.model = $2 AND p.isl = $3 AND p.osl = $4
             ORDER BY c.natural_key",
            self.dialect(),
        );
        let rows = self
            .db
            .query(&sql, &[run.into(), model.into(), isl.into(), osl.into()])
            .map_err(self.err())?;
        let mut out: Vec<RunBuild> = Vec::new();
        for r in &rows {
            let key = r[0].text();
            if out.last().is_none_or(|b| b.config_key != key) {
                out.push(RunBuild {
                    config_key: key,
                    images: Vec::new(),
                    recipe_fingerprints: Vec::new(),
                });
            }
            let b = out.last_mut().expect("pushed above");
            for (v, into) in [
                (r[1].opt_text(), &mut b.images),
                (r[2].opt_text(), &mut b.recipe_fingerprints),
            ] {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    if !into.contains(&v) {
                        into.push(v);
                    }
                }
            }
        }
        for b in &mut out {
            b.images.sort();
            b.recipe_fingerprints.sort();
        }
        Ok(out)
    }

    /// Number of stored points (of `source`, or all).
    pub fn count_points(&mut self, source: Option<Source>) -> Result<u64, StoreError> {
        let r = match source {
            None => self.db.query_one("SELECT COUNT(*) FROM points", &[]),
            Some(s) => self.db.query_one(
                "SELECT COUNT(*) FROM points p JOIN runs r ON p.run_id = r.id WHERE r.source = $1",
                &[s.as_str().into()],
            ),
        };
        Ok(r.map_err(self.err())?.map_or(0, |r| r[0].int()) as u64)
    }

    /// Every point of one dashboard view: a model at one workload (and precision, if given),
    /// from runs of `source`, with its config and run; by config, run date, run and
    /// concurrency.
    pub fn view(
        &mut self,
        model: &str,
        isl: u32,
        osl: u32,
        precision: Option<&str>,
        source: Source,
    ) -> Result<Vec<ViewPoint>, StoreError> {
        let t = self.view_table(model, isl, osl, precision, source)?;
        let configs: HashMap<i64, (Arc<str>, Arc<Config>)> = t
            .configs
            .iter()
            .map(|(&id, (k, c))| (id, (k.as_str().into(), Arc::new(c.clone()))))
            .collect();
        let runs: HashMap<i64, (Arc<str>, Arc<str>)> = t
            .runs
            .iter()
            .map(|(&id, (k, at))| (id, (k.as_str().into(), at.as_str().into())))
            .collect();
        let images: Vec<Arc<str>> = t.images.iter().map(|i| i.as_str().into()).collect();
        Ok(t.points()
            .map(|r| {
                let (config_key, config) = &configs[&r.config_id];
                let (run, run_started_at) = &runs[&r.run_id];
                ViewPoint {
                    id: r.id,
                    image: r.image.map(|i| images[i as usize].clone()),
                    simulated: r.simulated.clone().map(Arc::new),
                    config_key: config_key.clone(),
                    config: config.clone(),
                    run: run.clone(),
                    run_started_at: run_started_at.clone(),
                    isl,
                    osl,
                    conc: r.conc,
                    num_gpus: r.num_gpus,
                    metrics: r.metrics.clone(),
                    agentic: r.agentic.clone(),
                }
            })
            .collect())
    }

    /// [`Store::view`]'s points with their configs and runs apart (each once, not copied into
    /// every point): what a columnar reader needs, at a fraction of the cost.
    pub fn view_table(
        &mut self,
        model: &str,
        isl: u32,
        osl: u32,
        precision: Option<&str>,
        source: Source,
    ) -> Result<ViewTable, StoreError> {
        // Configs and runs are few: read them once, then the points by id alone (no text per
        // point but what the metrics need).
        let configs = self
            .db
            .query(
                "SELECT id, natural_key, hardware, engine, model, precision, spec_decoding, disagg,
                        topology
                 FROM configs WHERE model = $1 AND ($2 = '' OR precision = $2)",
                &[model.into(), precision.unwrap_or("").into()],
            )
            .map_err(self.err())?;
        let configs: HashMap<i64, (String, Config)> = configs
            .iter()
            .map(|r| (r[0].int(), (r[1].text(), config_of(&r[2..]))))
            .collect();
        let runs = self
            .db
            .query(
                "SELECT id, run_key, started_at FROM runs WHERE source = $1",
                &[source.as_str().into()],
            )
            .map_err(self.err())?;
        // Retracted runs and points are not part of any view.
        let hidden = self.hidden()?;
        let runs: HashMap<i64, (String, String)> = runs
            .iter()
            .map(|r| (r[0].int(), (r[1].text(), r[2].text())))
            .filter(|(id, _)| !hidden.runs.contains(id))
            .collect();
        let mut table = ViewTable {
            configs,
            runs,
            ..ViewTable::default()
        };
        if table.configs.is_empty() || table.runs.is_empty() {
            return Ok(table);
        }
        // Each curve's points in one value: a few thousand rows, not a hundred thousand.
        // Every curve the store lists, with its points (none is a damaged store: an error).
        let sql = "SELECT cu.config_id, cu.run_id, cc.columns FROM curves cu
             LEFT JOIN curve_columns cc ON cc.config_id = cu.config_id AND cc.run_id = cu.run_id
                                       AND cc.isl = cu.isl AND cc.osl = cu.osl
             WHERE cu.config_id IN (SELECT id FROM configs WHERE model = $1
                                      AND ($2 = '' OR precision = $2))
               AND cu.isl = $3 AND cu.osl = $4
               AND cu.run_id IN (SELECT id FROM runs WHERE source = $5)";
        let (config_rank, run_rank) = (table.config_ranks(), table.run_ranks());
        // Per curve: its place (config rank, run rank) and its rows.
        let mut curves: Vec<((usize, usize), std::ops::Range<u32>)> = Vec::new();
        let mut images: HashMap<String, u32> = HashMap::new();
        let mut image_of: Vec<u32> = Vec::new();
        let rows = &mut table.rows;
        let params = [
            model.into(),
            precision.unwrap_or("").into(),
            isl.into(),
            osl.into(),
            source.as_str().into(),
        ];
        self.db
            .query_refs(sql, &params, |r| {
                let (config_id, run_id) = (r.int(0)?, r.int(1)?);
                let (Some(&c), Some(&run)) = (config_rank.get(&config_id), run_rank.get(&run_id))
                else {
                    return Ok(());
                };
                let bytes = r.opt_bytes(2)?.ok_or_else(|| {
                    format!(
                        "the curve of config {config_id} and run {run_id} has no row in \
                         curve_columns (a damaged store)"
                    )
                })?;
                let start = rows.len() as u32;
                let (mut decoded, mut curve_images) = (Vec::new(), Vec::new());
                curve_columns::decode(bytes, &mut curve_images, |p| decoded.push(p)).map_err(
                    |e| format!("the curve of config {config_id} and run {run_id}: {e}"),
                )?;
                image_of.clear();
                for i in &curve_images {
                    let next = images.len() as u32;
                    image_of.push(*images.entry(i.to_string()).or_insert(next));
                }
                decoded.retain(|p| !hidden.points.contains(&p.id));
                rows.extend(decoded.into_iter().map(|p| ViewRow {
                    id: p.id,
                    config_id,
                    run_id,
                    conc: p.conc,
                    num_gpus: p.num_gpus,
                    image: p.image.map(|i| image_of[i]),
                    simulated: p.simulated.and_then(|t| serde_json::from_str(t).ok()),
                    metrics: p.metrics,
                    agentic: None,
                }));
                curves.push(((c, run), start..rows.len() as u32));
                Ok(())
            })
            .map_err(self.err())?;
        // Curves by config and run (one of each per workload); within, by concurrency.
        curves.sort_unstable_by_key(|c| c.0);
        table.order = curves.into_iter().flat_map(|c| c.1).collect();
        table.images = vec![String::new(); images.len()];
        for (image, k) in images {
            table.images[k as usize] = image;
        }
        if is_agentic(isl, osl) {
            let mut figures = self.agentic_figures(model)?;
            for p in &mut table.rows {
                p.agentic = figures.remove(&p.id).map(Box::new);
            }
        }
        Ok(table)
    }

    /// The agentic figures of `model`'s agentic-coding points, by point id.
    fn agentic_figures(
        &mut self,
        model: &str,
    ) -> Result<std::collections::HashMap<i64, AgenticPoint>, StoreError> {
        let (isl, osl) = AGENTIC_WORKLOAD;
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT point_id, {AGENTIC_COLUMNS} FROM point_agentic
                     WHERE point_id IN (SELECT id FROM points WHERE isl = $2 AND osl = $3
                        AND config_id IN (SELECT id FROM configs WHERE model = $1))"
                ),
                &[model.into(), isl.into(), osl.into()],
            )
            .map_err(self.err())?;
        Ok(rows
            .iter()
            .map(|r| (r[0].int(), AgenticPoint::from_row(&r[1..])))
            .collect())
    }

    /// What the store holds, per model and workload (and, within, per precision, source,
    /// hardware and engine), from the curve counts ingest keeps.
    pub fn views(&mut self) -> Result<Vec<ViewSummary>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT c.model, cu.isl, cu.osl, c.precision, r.source, c.hardware, c.engine,
                        CAST(SUM(cu.points) AS BIGINT)
                 FROM curves cu JOIN configs c ON cu.config_id = c.id JOIN runs r ON cu.run_id = r.id
                 WHERE r.id NOT IN (SELECT run_id FROM retractions WHERE run_id IS NOT NULL)
                 GROUP BY c.model, cu.isl, cu.osl, c.precision, r.source, c.hardware, c.engine",
                &[],
            )
            .map_err(self.err())?;
        // Points retracted one by one (of runs that are not), by view.
        let retracted = self
            .db
            .query(
                "SELECT c.model, p.isl, p.osl, COUNT(*)
                 FROM retractions x JOIN points p ON p.id = x.point_id
                 JOIN configs c ON p.config_id = c.id
                 WHERE p.run_id NOT IN (SELECT run_id FROM retractions WHERE run_id IS NOT NULL)
                 GROUP BY c.model, p.isl, p.osl",
                &[],
            )
            .map_err(self.err())?;
        let mut out: std::collections::BTreeMap<(String, u32, u32), ViewSummary> =
            Default::default();
        for r in rows {
            let (model, isl, osl) = (r[0].text(), r[1].int() as u32, r[2].int() as u32);
            let v = out
                .entry((model.clone(), isl, osl))
                .or_insert_with(|| ViewSummary {
                    model,
                    isl,
                    osl,
                    ..Default::default()
                });
            v.points += r[7].int() as u64;
            for (set, value) in [
                (&mut v.precisions, r[3].text()),
                (&mut v.sources, r[4].text()),
                (&mut v.hardware, r[5].text()),
                (&mut v.engines, r[6].text()),
            ] {
                if let Err(i) = set.binary_search(&value) {
                    set.insert(i, value);
                }
            }
        }
        for r in retracted {
            if let Some(v) = out.get_mut(&(r[0].text(), r[1].int() as u32, r[2].int() as u32)) {
                v.points = v.points.saturating_sub(r[3].int() as u64);
            }
        }
        Ok(out.into_values().collect())
    }

    /// One stored point in full, by its row id.
    pub fn point(&mut self, id: i64) -> Result<Option<PointRecord>, StoreError> {
        let sql = format!(
            "SELECT c.hardware, c.engine, c.model, c.precision, c.spec_decoding, c.disagg,
                    c.topology,
                    r.run_key, r.started_at, r.who, r.recipes_commit, r.executor, r.source,
                    p.point_key, p.isl, p.osl, p.conc, p.num_gpus, p.provenance, p.result,
                    {METRIC_COLUMNS}
             FROM points p JOIN configs c ON p.config_id = c.id JOIN runs r ON p.run_id = r.id
             WHERE p.id = $1"
        );
        let row = self
            .db
            .query_one(&sql, &[Value::Int(id)])
            .map_err(self.err())?;
        let power = self
            .db
            .query_one(
                &format!("SELECT {POWER_COLUMNS} FROM point_power WHERE point_id = $1"),
                &[Value::Int(id)],
            )
            .map_err(self.err())?;
        let agentic = self
            .db
            .query_one(
                &format!("SELECT {AGENTIC_COLUMNS} FROM point_agentic WHERE point_id = $1"),
                &[Value::Int(id)],
            )
            .map_err(self.err())?;
        let evals: Vec<EvalRecord> = self
            .db
            .query(
                &format!("{EVAL_SELECT} WHERE p.id = $1 ORDER BY e.task"),
                &[Value::Int(id)],
            )
            .map_err(self.err())?
            .iter()
            .map(|r| eval_of(r))
            .collect();
        let deployment = match self
            .db
            .query_one(
                "SELECT config_id FROM points WHERE id = $1",
                &[Value::Int(id)],
            )
            .map_err(self.err())?
        {
            Some(c) => {
                let c = c[0].int();
                topologies(&mut self.db, Some(&[c]))
                    .map_err(self.err())?
                    .remove(&c)
            }
            None => None,
        };
        Ok(row.map(|r| PointRecord {
            id,
            key: r[13].text(),
            run: run_of(&r[7..13]),
            power: power.map(|p| PointPower::from_row(&p)),
            agentic: agentic.map(|a| AgenticPoint::from_row(&a)),
            evals,
            point: Point {
                config: config_of(&r[..7]),
                isl: r[14].int() as u32,
                osl: r[15].int() as u32,
                conc: r[16].int() as u32,
                num_gpus: r[17].int() as u32,
                metrics: Metrics::from_row(&r[20..]),
                deployment,
                provenance: serde_json::from_str(&r[18].text()).unwrap_or_default(),
                result: serde_json::from_str(&r[19].text()).unwrap_or_default(),
            },
        }))
    }

    /// The deployments of `model`'s described configs, by natural key.
    pub fn topologies(
        &mut self,
        model: &str,
    ) -> Result<std::collections::HashMap<String, Topology>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT id, natural_key FROM configs WHERE model = $1 AND described = 1",
                &[model.into()],
            )
            .map_err(self.err())?;
        let ids: Vec<i64> = rows.iter().map(|r| r[0].int()).collect();
        let mut by_id = topologies(&mut self.db, Some(&ids)).map_err(self.err())?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r[1].text(), by_id.remove(&r[0].int())?)))
            .collect())
    }

    /// The run with `key`, if stored.
    pub fn run(&mut self, key: &str) -> Result<Option<Run>, StoreError> {
        let r = self.db.query_one(
            "SELECT run_key, started_at, who, recipes_commit, executor, source FROM runs
             WHERE run_key = $1",
            &[key.into()],
        );
        Ok(r.map_err(self.err())?.map(|r| run_of(&r)))
    }

    /// Marks a run or a point invalid: hidden from views, frontiers and history from now on,
    /// kept in the store with `reason`. The number of points it hides (a point or run
    /// already retracted is an error saying so).
    pub fn retract(
        &mut self,
        what: &Retract,
        reason: &str,
        who: &str,
        at: &str,
    ) -> Result<u64, StoreError> {
        let missing = |m: String| StoreError::Retract(m);
        if reason.trim().is_empty() {
            return Err(missing(
                "a retraction needs a reason (--reason): it is kept beside what it hides".into(),
            ));
        }
        let (column, id) = match what {
            Retract::Run(key) => {
                let r = self
                    .db
                    .query_one("SELECT id FROM runs WHERE run_key = $1", &[key.into()])
                    .map_err(self.err())?;
                let id = r.ok_or_else(|| missing(format!("no run '{key}' in the store")))?[0].int();
                ("run_id", id)
            }
            Retract::Point(id) => {
                let r = self
                    .db
                    .query_one("SELECT id FROM points WHERE id = $1", &[(*id).into()])
                    .map_err(self.err())?;
                r.ok_or_else(|| missing(format!("no point {id} in the store")))?;
                ("point_id", *id)
            }
        };
        let hidden = self.hidden()?;
        let already = match what {
            Retract::Run(_) => hidden.runs.contains(&id),
            Retract::Point(_) => hidden.points.contains(&id),
        };
        if already {
            return Err(missing(format!("{what} is already retracted")));
        }
        let count = match what {
            Retract::Run(_) => self
                .db
                .query_one(
                    "SELECT COUNT(*) FROM points WHERE run_id = $1",
                    &[id.into()],
                )
                .map_err(self.err())?
                .map_or(0, |r| r[0].int() as u64),
            Retract::Point(_) => 1,
        };
        let sql =
            format!("INSERT INTO retractions ({column}, reason, who, at) VALUES ($1, $2, $3, $4)");
        let values = [id.into(), reason.into(), who.into(), at.into()];
        self.write(|db| db.execute(&sql, &values).map(|_| ()))
            .map_err(self.err())?;
        Ok(count)
    }

    /// The points `run` measured (retracted ones left out; none of a retracted run), as the
    /// planner compares them (`servebench plan --changed-since`).
    pub fn measured(&mut self, run: &str) -> Result<Vec<MeasuredPoint>, StoreError> {
        let hidden = self.hidden()?;
        let rows = self
            .db
            .query(
                "SELECT p.id, p.run_id, p.recipe_key, p.isl, p.osl, p.conc, p.fingerprint, p.image,
                        p.reused_from
                 FROM points p JOIN runs r ON r.id = p.run_id
                 WHERE r.run_key = $1 ORDER BY p.id",
                &[run.into()],
            )
            .map_err(self.err())?;
        Ok(rows
            .into_iter()
            .filter(|r| !hidden.runs.contains(&r[1].int()) && !hidden.points.contains(&r[0].int()))
            .map(|r| MeasuredPoint {
                id: r[0].int(),
                recipe_key: r[2].opt_text(),
                isl: r[3].int() as u32,
                osl: r[4].int() as u32,
                conc: r[5].int() as u32,
                fingerprint: r[6].opt_text(),
                image: r[7].opt_text(),
                reused: r[8].opt_int().is_some(),
            })
            .collect())
    }

    /// The latest run of `source` that is not retracted (by start, then key).
    pub fn latest_run(&mut self, source: Source) -> Result<Option<Run>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT run_key, started_at, who, recipes_commit, executor, source FROM runs
                 WHERE source = $1
                   AND id NOT IN (SELECT run_id FROM retractions WHERE run_id IS NOT NULL)
                 ORDER BY started_at DESC, run_key DESC",
                &[source.as_str().into()],
            )
            .map_err(self.err())?;
        Ok(rows.first().map(|r| run_of(r)))
    }

    /// Every retraction, oldest first.
    pub fn retractions(&mut self) -> Result<Vec<Retraction>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT COALESCE(r.run_key, pr.run_key), x.point_id, x.reason, x.who, x.at
                 FROM retractions x
                 LEFT JOIN runs r ON r.id = x.run_id
                 LEFT JOIN points p ON p.id = x.point_id
                 LEFT JOIN runs pr ON pr.id = p.run_id
                 ORDER BY x.id",
                &[],
            )
            .map_err(self.err())?;
        Ok(rows
            .iter()
            .map(|r| Retraction {
                run: r[0].text(),
                point: r[1].opt_int(),
                reason: r[2].text(),
                who: r[3].text(),
                at: r[4].text(),
            })
            .collect())
    }

    /// Keeps the changelog's entries the store does not hold yet (by digest) as recorded with
    /// `run`, each with the configs stored under a recipe key it touches
    /// (`touches(i, key)` for `entries[i]`). How many were new. Entries already kept stay with
    /// the run that first recorded them.
    pub fn record_changelog(
        &mut self,
        run: &str,
        entries: &[(String, serde_json::Value)],
        touches: impl Fn(usize, &str) -> bool,
    ) -> Result<usize, StoreError> {
        let run_id = self
            .db
            .query_one("SELECT id FROM runs WHERE run_key = $1", &[run.into()])
            .map_err(self.err())?
            .ok_or_else(|| StoreError::Changelog(format!("no run '{run}' in the store")))?[0]
            .int();
        let known: HashSet<String> = self
            .db
            .query("SELECT digest FROM changelog", &[])
            .map_err(self.err())?
            .iter()
            .map(|r| r[0].text())
            .collect();
        // Every config a recipe key was stored as, so an entry touches a config this run
        // failed to measure too.
        let keyed: Vec<(i64, String)> = self
            .db
            .query(
                "SELECT DISTINCT config_id, recipe_key FROM points WHERE recipe_key IS NOT NULL",
                &[],
            )
            .map_err(self.err())?
            .iter()
            .map(|r| (r[0].int(), r[1].text()))
            .collect();
        let mut seen = HashSet::new();
        let new: Vec<(&String, &serde_json::Value, BTreeSet<i64>)> = entries
            .iter()
            .enumerate()
            .filter(|(_, (d, _))| !known.contains(d) && seen.insert(d.clone()))
            .map(|(i, (d, e))| {
                let configs = keyed
                    .iter()
                    .filter(|(_, k)| touches(i, k))
                    .map(|(c, _)| *c)
                    .collect();
                (d, e, configs)
            })
            .collect();
        if new.is_empty() {
            return Ok(0);
        }
        self.write(|db| {
            for (digest, entry, configs) in &new {
                let id = db.insert_or_get_id(
                    "changelog",
                    &["digest", "entry", "run_id"],
                    &[
                        digest.as_str().into(),
                        entry.to_string().into(),
                        run_id.into(),
                    ],
                )?;
                for c in configs {
                    db.execute(
                        "INSERT INTO changelog_configs (entry_id, config_id) VALUES ($1, $2)",
                        &[id.into(), (*c).into()],
                    )?;
                }
            }
            Ok(())
        })
        .map_err(self.err())?;
        Ok(new.len())
    }

    /// Every changelog entry kept, in the order recorded (by their runs' start, then as the
    /// file listed them). A stored entry that does not read as JSON is an error naming it.
    pub fn changelog(&mut self) -> Result<Vec<ChangelogRecord>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT c.id, c.digest, c.entry, r.run_key, r.started_at FROM changelog c
                 JOIN runs r ON r.id = c.run_id ORDER BY r.started_at, r.run_key, c.id",
                &[],
            )
            .map_err(self.err())?;
        let mut configs: HashMap<i64, Vec<String>> = HashMap::new();
        for r in self
            .db
            .query(
                "SELECT x.entry_id, g.natural_key FROM changelog_configs x
                 JOIN configs g ON g.id = x.config_id ORDER BY g.natural_key",
                &[],
            )
            .map_err(self.err())?
        {
            configs.entry(r[0].int()).or_default().push(r[1].text());
        }
        rows.iter()
            .map(|r| {
                let digest = r[1].text();
                let entry = serde_json::from_str(&r[2].text()).map_err(|e| {
                    StoreError::Changelog(format!(
                        "changelog entry {digest} does not read as JSON (a damaged store): {e}"
                    ))
                })?;
                Ok(ChangelogRecord {
                    digest,
                    entry,
                    run: r[3].text(),
                    run_started_at: r[4].text(),
                    configs: configs.remove(&r[0].int()).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The row ids of retracted runs and points.
    fn hidden(&mut self) -> Result<Hidden, StoreError> {
        let rows = self
            .db
            .query("SELECT run_id, point_id FROM retractions", &[])
            .map_err(self.err())?;
        let mut h = Hidden::default();
        for r in rows {
            if let Some(run) = r[0].opt_int() {
                h.runs.insert(run);
            }
            if let Some(p) = r[1].opt_int() {
                h.points.insert(p);
            }
        }
        Ok(h)
    }

    pub fn runs(&mut self) -> Result<Vec<Run>, StoreError> {
        let r = self.db.query(
            "SELECT run_key, started_at, who, recipes_commit, executor, source FROM runs
             ORDER BY started_at, run_key",
            &[],
        );
        Ok(r.map_err(self.err())?.iter().map(|r| run_of(r)).collect())
    }
}

/// Row ids an operator retracted ([`Store::retract`]).
#[derive(Debug, Default)]
struct Hidden {
    runs: std::collections::HashSet<i64>,
    points: std::collections::HashSet<i64>,
}

impl std::fmt::Display for Retract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retract::Run(k) => write!(f, "run '{k}'"),
            Retract::Point(id) => write!(f, "point {id}"),
        }
    }
}

/// The row id of the run a reused point was measured in (`provenance.reused_from.run`), where
/// the store holds that run.
fn reused_from(db: &mut Db, provenance: &serde_json::Value) -> Result<Option<i64>, DbError> {
    let Some(key) = provenance["reused_from"]["run"].as_str() else {
        return Ok(None);
    };
    Ok(db
        .query_one("SELECT id FROM runs WHERE run_key = $1", &[key.into()])?
        .map(|r| r[0].int()))
}

/// The id of `run`, inserted if new.
fn run_id(db: &mut Db, run: &Run) -> Result<i64, db::DbError> {
    db.insert_or_get_id(
        "runs",
        &[
            "run_key",
            "started_at",
            "who",
            "recipes_commit",
            "executor",
            "source",
        ],
        &[
            (&run.key).into(),
            (&run.started_at).into(),
            (&run.who).into(),
            run.recipes_commit.as_ref().into(),
            (&run.executor).into(),
            run.source.as_str().into(),
        ],
    )
}

/// The id of config `c`, inserted if new.
fn config_id(db: &mut Db, c: &Config) -> Result<i64, db::DbError> {
    db.insert_or_get_id(
        "configs",
        &[
            "natural_key",
            "hardware",
            "engine",
            "model",
            "precision",
            "spec_decoding",
            "disagg",
            "topology",
        ],
        &[
            (&c.natural_key()).into(),
            (&c.hardware).into(),
            (&c.engine).into(),
            (&c.model).into(),
            (&c.precision).into(),
            (&c.spec_decoding).into(),
            c.disagg.into(),
            (&c.topology).into(),
        ],
    )
}

/// Stores config `id`'s deployment, unless it is stored already (the first source to say
/// wins; the natural key is the same deployment).
fn describe_config(db: &mut Db, id: i64, t: &Topology) -> Result<(), db::DbError> {
    let changed = db.execute(
        "UPDATE configs SET router = $2, kv_transfer = $3, draft_tokens = $4, recipe_file = $5,
            described = 1
         WHERE id = $1 AND described = 0",
        &[
            Value::Int(id),
            t.router.as_ref().into(),
            t.kv_transfer.as_ref().into(),
            t.draft_tokens.into(),
            t.recipe_file.as_ref().into(),
        ],
    )?;
    if changed == 0 {
        return Ok(());
    }
    for p in &t.pools {
        db.execute(
            "INSERT INTO config_pools (config_id, role, workers, tp, pp, dcp, pcp, ep, dp_attn,
                gpus) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (config_id, role) DO NOTHING",
            &[
                Value::Int(id),
                p.role.as_str().into(),
                p.workers.into(),
                p.tp.into(),
                p.pp.into(),
                p.dcp.into(),
                p.pcp.into(),
                p.ep.into(),
                p.dp_attn.into(),
                p.gpus.into(),
            ],
        )?;
    }
    Ok(())
}

/// The stored deployments of configs (by id): `ids` only, or every described config.
/// Keeps a curve's point count and [`curve_columns`] as its points now stand (`curve`: config
/// id, run id, ISL, OSL).
fn store_curve(db: &mut Db, curve: [i64; 4]) -> Result<(), DbError> {
    let key = curve.map(Value::Int);
    let mut points = Vec::new();
    db.query_refs(
        &format!(
            "SELECT id, conc, num_gpus, image, simulated, {METRIC_COLUMNS} FROM points
             WHERE config_id = $1 AND run_id = $2 AND isl = $3 AND osl = $4"
        ),
        &key,
        |r| {
            points.push(curve_columns::CurvePoint {
                id: r.int(0)?,
                conc: r.int(1)? as u32,
                num_gpus: r.int(2)? as u32,
                image: r.opt_str(3)?.map(Into::into),
                simulated: r.opt_str(4)?.map(Into::into),
                metrics: Metrics::from_row_ref(r, 5)?,
            });
            Ok(())
        },
    )?;
    let mut values = key.to_vec();
    values.push(Value::Int(points.len() as i64));
    db.execute(
        "INSERT INTO curves (config_id, run_id, isl, osl, points) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (config_id, run_id, isl, osl) DO UPDATE SET points = excluded.points",
        &values,
    )?;
    values[4] = Value::Blob(curve_columns::encode(&mut points));
    db.execute(
        "INSERT INTO curve_columns (config_id, run_id, isl, osl, columns)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (config_id, run_id, isl, osl) DO UPDATE SET columns = excluded.columns",
        &values,
    )?;
    Ok(())
}

fn topologies(
    db: &mut Db,
    ids: Option<&[i64]>,
) -> Result<std::collections::HashMap<i64, Topology>, db::DbError> {
    let only = |col: &str| match ids {
        Some(ids) if !ids.is_empty() => format!(
            " AND {col} IN ({})",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(_) => " AND 1 = 0".to_string(),
        None => String::new(),
    };
    let mut out: std::collections::HashMap<i64, Topology> = Default::default();
    let configs = db.query(
        &format!(
            "SELECT id, router, kv_transfer, draft_tokens, recipe_file FROM configs
             WHERE described = 1{}",
            only("id")
        ),
        &[],
    )?;
    for r in configs {
        out.insert(
            r[0].int(),
            Topology {
                pools: Vec::new(),
                router: r[1].opt_text(),
                kv_transfer: r[2].opt_text(),
                draft_tokens: r[3].opt_int().map(|v| v as u32),
                recipe_file: r[4].opt_text(),
            },
        );
    }
    let pools = db.query(
        &format!(
            "SELECT config_id, role, workers, tp, pp, dcp, pcp, ep, dp_attn, gpus
             FROM config_pools WHERE 1 = 1{} ORDER BY config_id, role",
            only("config_id")
        ),
        &[],
    )?;
    for r in pools {
        let Some(t) = out.get_mut(&r[0].int()) else {
            continue;
        };
        let Ok(role) = r[1].text().parse() else {
            continue;
        };
        let n = |i: usize| r[i].int() as u32;
        t.pools.push(Pool {
            role,
            workers: n(2),
            tp: n(3),
            pp: n(4),
            dcp: n(5),
            pcp: n(6),
            ep: n(7),
            dp_attn: r[8].int() != 0,
            gpus: n(9),
        });
    }
    // Prefill before decode, as they are read.
    for t in out.values_mut() {
        t.pools.sort_by_key(|p| p.role as u8);
    }
    Ok(out)
}

fn run_of(r: &[Value]) -> Run {
    Run {
        key: r[0].text(),
        started_at: r[1].text(),
        who: r[2].text(),
        recipes_commit: r[3].opt_text(),
        executor: r[4].text(),
        source: r[5].text().parse().unwrap_or(Source::Own),
    }
}

fn config_of(r: &[Value]) -> Config {
    Config {
        hardware: r[0].text(),
        engine: r[1].text(),
        model: r[2].text(),
        precision: r[3].text(),
        spec_decoding: r[4].text(),
        disagg: r[5].int() != 0,
        topology: r[6].text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_passwords() {
        for url in [
            "postgres://bench:s3cret@127.0.0.1:1/bench",
            "postgres://127.0.0.1:1/bench?user=bench&password=s3cret",
        ] {
            let e = Store::open(url)
                .err()
                .expect("nothing listens on port 1")
                .to_string();
            assert!(e.contains("127.0.0.1:1") && !e.contains("s3cret"), "{e}");
        }
        let e = Store::open("mysql://u:s3cret@x").err().unwrap();
        assert!(matches!(e, StoreError::Url(_)) && !e.to_string().contains("s3cret"));
    }

    #[test]
    fn multi_row_inserts_number_their_parameters() {
        let s = insert_points_sql(2);
        assert!(
            s.contains("($1, $2,")
                && s.contains("$27), ($28,")
                && s.ends_with("$54) ON CONFLICT (point_key) DO NOTHING")
        );
    }
}
