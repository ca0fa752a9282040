//! Importers: files in the formats results come in, turned into runs and points.
//!
//! - servebench sweep results (`OUT/points/**/*.json`: the job's InferenceX row and the
//!   `bench` result);
//! - the published InferenceMAX v1 dashboard files (`*_interactivity.json`), as a reference run;
//! - InferenceX's result artifacts (`agg_bmk.json`, `agg_<RF>.json`, `agg_eval_all.json`), as
//!   reference runs ([`inferencex`]);
//! - `vllm bench serve` and `servebench bench` result files, with the deployment given.

pub mod inferencex;

pub use inferencex::{
    hardware_of_runner, inferencex_agg, inferencex_agg_row, inferencex_by_content,
    inferencex_eval_agg, inferencex_eval_row, inferencex_file, InferenceX, RowKind, Skipped,
};

use crate::{
    Config, Deferred, Eval, EvalOutcome, FailedJob, JobStat, Metrics, Point, Run, Source,
    StoreError,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn bad(file: &Path, message: impl Into<String>) -> StoreError {
    StoreError::Import {
        file: file.display().to_string(),
        message: message.into(),
    }
}

/// The published InferenceMAX v1 dashboard dump in `dir`, as one reference run.
pub fn inferencemax_v1(dir: &Path) -> Result<(Run, Vec<Point>), StoreError> {
    let published =
        servebench_published::load_v1_dashboard(dir).map_err(|e| bad(dir, e.to_string()))?;
    if published.is_empty() {
        return Err(bad(dir, "no InferenceMAX v1 *_interactivity.json files"));
    }
    let date = servebench_published::snapshot_date(dir).unwrap_or_else(|| "unknown".into());
    let run = Run {
        key: format!("inferencemax-v1-{date}"),
        started_at: date,
        who: "SemiAnalysis InferenceMAX (published)".into(),
        recipes_commit: None,
        executor: "published".into(),
        source: Source::Reference,
    };
    let points = published
        .into_iter()
        .map(|p| Point {
            config: Config {
                hardware: p.accelerator.clone(),
                engine: p.engine.clone(),
                model: p.model.clone(),
                precision: p.precision.clone(),
                spec_decoding: p.spec_decoding.clone(),
                disagg: p.disagg,
                topology: format!("tp{}", p.tp),
            },
            isl: p.isl as u32,
            osl: p.osl as u32,
            conc: p.conc as u32,
            num_gpus: p.tp,
            // The published files give a GPU count per point, not its pools.
            deployment: None,
            metrics: Metrics {
                tput_per_gpu: Some(p.tput_per_gpu),
                median_intvty: Some(p.interactivity),
                median_e2el_ms: p.e2e_latency_s.map(|s| s * 1e3),
                ..Default::default()
            },
            provenance: json!({"file": p.file, "hw_key": p.hw_key}),
            result: serde_json::to_value(&p).unwrap_or(Value::Null),
        })
        .collect();
    Ok((run, points))
}

/// `tp8`, `tp8-pp2-ep8-dpa`: a single-node topology from its TP, [PP, DCP, PCP, EP] and DP
/// attention (sizes of 1 left out).
fn single_topology(tp: u64, sizes: [u64; 4], dp_attn: bool) -> String {
    let mut t = format!("tp{tp}");
    for (tag, v) in ["pp", "dcp", "pcp", "ep"].into_iter().zip(sizes) {
        if v != 1 {
            t.push_str(&format!("-{tag}{v}"));
        }
    }
    if dp_attn {
        t.push_str("-dpa");
    }
    t
}

/// One pool of a multi-node deployment (an InferenceX worker block): its workers, each of
/// `tp` GPUs (times PP and PCP), with its EP, DCP and DP-attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pool {
    workers: u64,
    tp: u64,
    pp: u64,
    dcp: u64,
    pcp: u64,
    ep: u64,
    dp_attn: bool,
}

impl Pool {
    /// `p3x4ep4dpa`, `d1x32pp2ep32dpa`, `2x8ep8dpa`: its role letter (`p` prefill, `d` decode;
    /// none for the one pool of an aggregated multi-node deployment), workers × TP, then its
    /// PP, DCP, PCP and EP sizes other than 1 (in [`single_topology`]'s order) and DP attention.
    fn label(&self, role: &str) -> String {
        let mut t = format!("{role}{}x{}", self.workers, self.tp);
        for (tag, v) in ["pp", "dcp", "pcp", "ep"]
            .into_iter()
            .zip([self.pp, self.dcp, self.pcp, self.ep])
        {
            if v != 1 {
                t.push_str(&format!("{tag}{v}"));
            }
        }
        if self.dp_attn {
            t.push_str("dpa");
        }
        t
    }

    /// Its GPUs, as InferenceX counts them: workers × TP × PP × PCP (DCP reuses the TP GPUs);
    /// None on overflow.
    fn gpus(&self) -> Option<u64> {
        self.workers
            .checked_mul(self.tp)?
            .checked_mul(self.pp)?
            .checked_mul(self.pcp)
    }

    /// The GPUs its workers are started on: vLLM writes a data-parallel expert-parallel worker
    /// as `tp: 1, ep: 8` (eight GPUs), as servebench's launchers start it and InferenceX's
    /// multi-node launchers count it in their result names.
    fn deployed_gpus(&self) -> Option<u64> {
        self.workers
            .checked_mul(self.tp.max(self.ep))?
            .checked_mul(self.pp)?
            .checked_mul(self.pcp)
    }

    /// As the store keeps it, with `gpus` (its own count where none is given; sizes beyond
    /// u32 saturate: the row's GPU total is range-checked where it matters).
    fn stored(&self, role: crate::Role, gpus: Option<u64>) -> crate::Pool {
        let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        crate::Pool {
            role,
            workers: n(self.workers),
            tp: n(self.tp),
            pp: n(self.pp),
            dcp: n(self.dcp),
            pcp: n(self.pcp),
            ep: n(self.ep),
            dp_attn: self.dp_attn,
            gpus: n(gpus.or_else(|| self.gpus()).unwrap_or(u64::MAX)),
        }
    }
}

/// A sweep job's pool (`prefill`, `decode` worker blocks) or single-node server.
fn job_pool(w: &Value, workers: u64) -> Pool {
    let n = |k: &str| w[k].as_u64().unwrap_or(1);
    Pool {
        workers,
        tp: n("tp"),
        pp: n("pp"),
        dcp: n("dcp-size"),
        pcp: n("pcp-size"),
        ep: n("ep"),
        dp_attn: w["dp-attn"].as_bool().unwrap_or(false),
    }
}

/// The `KEY=VALUE` additional settings of a multi-node job's pools.
fn settings(job: &Value) -> impl Iterator<Item = &str> {
    ["prefill", "decode"]
        .into_iter()
        .filter_map(|r| job[r]["additional-settings"].as_array())
        .flatten()
        .filter_map(Value::as_str)
}

/// The engine recipe file a multi-node job was launched from (`CONFIG_FILE=`, with its
/// `:zip_override_x[i]` variant selector where it has one).
fn recipe_file(job: &Value) -> Option<String> {
    settings(job)
        .find_map(|s| s.strip_prefix("CONFIG_FILE="))
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
}

/// The MTP draft length a job states: `DECODE_MTP_SIZE=N`, else an `mtpN` word of its recipe
/// file's name (`ctx1_gen4_tep8_batch32_eplb0_mtp3.yaml`).
fn draft_tokens(job: &Value) -> Option<u32> {
    if let Some(n) = settings(job).find_map(|s| s.strip_prefix("DECODE_MTP_SIZE=")) {
        return n.trim().parse().ok();
    }
    let file = recipe_file(job)?;
    let name = file.rsplit('/').next()?;
    name.split(['_', '-', '.'])
        .filter_map(|w| w.strip_prefix("mtp"))
        .find_map(|n| n.parse().ok())
}

/// What a sweep job (its InferenceX row) deployed, structured ([`crate::Topology`]).
pub fn job_topology(job: &Value) -> crate::Topology {
    use crate::Role;
    let pools = if job.get("prefill").is_some() {
        let workers = |r: &str| job[r]["num-worker"].as_u64().unwrap_or(1);
        let prefill = job_pool(&job["prefill"], workers("prefill"));
        match workers("decode") {
            0 => vec![prefill.stored(Role::Workers, prefill.deployed_gpus())],
            n => {
                let decode = job_pool(&job["decode"], n);
                vec![
                    prefill.stored(Role::Prefill, prefill.deployed_gpus()),
                    decode.stored(Role::Decode, decode.deployed_gpus()),
                ]
            }
        }
    } else {
        vec![job_pool(job, 1).stored(Role::Server, None)]
    };
    let router = job.get("router").and_then(|r| {
        let name = r["name"].as_str()?;
        Some(match r["version"].as_str() {
            Some(v) => format!("{name} {v}"),
            None => name.to_string(),
        })
    });
    crate::Topology {
        pools,
        router,
        kv_transfer: job["kv-p2p-transfer"].as_str().map(str::to_string),
        draft_tokens: draft_tokens(job),
        recipe_file: recipe_file(job),
    }
}

/// A multi-node deployment's topology: `p{workers}x{tp}…-d{workers}x{tp}…` when
/// disaggregated; the prefill pool alone, without a role letter, when there is no decode pool
/// (aggregated: the prefill workers also decode).
fn pools_topology(prefill: &Pool, decode: Option<&Pool>) -> String {
    match decode {
        Some(d) => format!("{}-{}", prefill.label("p"), d.label("d")),
        None => prefill.label(""),
    }
}

/// `tp8`, `tp8-ep8-dpa`, `p1x4ep4dpa-d2x8ep8`, `2x8ep8dpa`: the topology part of a config's
/// natural key.
/// A multi-node row stating its decode workers' MTP depth (`DECODE_MTP_SIZE=N`) has `-mtpN`,
/// one pinning the acceptance length (`SYNTHETIC_ACCEPTANCE_LENGTH=AL`) `-salAL`, and one
/// launched from an engine recipe file the file's name after `@`: rows of one pool shape from
/// different files (batch sizes, EPLB slots, MTP), MTP depths or pinned acceptance are
/// different deployments (`p1x8ep8dpa-d1x8ep8dpa@ctx1_gen1_dep8_batch8_eplb0_mtp3`,
/// `p1x8-d2x8-mtp2`, `p1x8ep8dpa-d4x8-sal2.49@disagg-gb200-low-latency-mtp2`).
pub fn topology(job: &Value) -> String {
    let pool = |w: &Value| job_pool(w, w["num-worker"].as_u64().unwrap_or(1));
    if job.get("prefill").is_some() {
        let decode = pool(&job["decode"]);
        let mut t = pools_topology(
            &pool(&job["prefill"]),
            (decode.workers != 0).then_some(&decode),
        );
        // The decode workers' MTP depth where the row states it, and an acceptance length the
        // benchmark pins (InferenceX's synthetic acceptance): each a deployment of its own.
        for (key, tag) in [
            ("DECODE_MTP_SIZE=", "mtp"),
            ("SYNTHETIC_ACCEPTANCE_LENGTH=", "sal"),
        ] {
            if let Some(n) = settings(job).find_map(|s| s.strip_prefix(key)) {
                t.push_str(&format!("-{tag}{}", n.trim()));
            }
        }
        if let Some(f) = recipe_file(job) {
            // The file's name, with a `:zip_override_x[i]` variant selector where it has one.
            let name = f.rsplit('/').next().unwrap_or(&f);
            t.push('@');
            t.push_str(&name.replacen(".yaml", "", 1));
        }
        return t;
    }
    let n = |k: &str| job[k].as_u64().unwrap_or(1);
    let mut t = single_topology(
        n("tp"),
        [n("pp"), n("dcp-size"), n("pcp-size"), n("ep")],
        job["dp-attn"].as_bool().unwrap_or(false),
    );
    // llama.cpp's parallel slots are part of what was deployed.
    if let Some(slots) = job["slots"].as_u64() {
        t.push_str(&format!("-np{slots}"));
    }
    t
}

fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// The topology part of an agentic row's KV offload (`-kvdram-hicache`; nothing without
/// offload): rows with and without offloading are different deployments.
pub(crate) fn kv_offload_suffix(mode: Option<&str>, backend: Option<&str>) -> String {
    match (mode, backend) {
        (Some("dram"), Some(b)) if !b.trim().is_empty() => format!("-kvdram-{}", b.trim()),
        (Some("dram"), _) => "-kvdram".into(),
        _ => String::new(),
    }
}

/// One stored sweep point (`root/points/<key>/<name>.json`), its server log's tail read from
/// inside `root`.
pub fn sweep_point(root: &Path, path: &Path) -> Result<Point, StoreError> {
    let v = json_file(path)?;
    let job = &v["job"];
    let r = &v["result"];
    let u = |x: &Value, k: &str| -> Result<u32, StoreError> {
        x.get(k)
            .and_then(Value::as_u64)
            .map(|n| n as u32)
            .ok_or_else(|| bad(path, format!("{k}: expected a non-negative integer")))
    };
    if !r.is_object() {
        return Err(bad(path, "result: expected a servebench bench result"));
    }
    let (isl, osl) = job_workload(job, path)?;
    Ok(Point {
        config: job_config(job, path)?,
        isl,
        osl,
        conc: u(&v, "concurrency")?,
        num_gpus: r["num_gpus"].as_u64().unwrap_or(1) as u32,
        deployment: Some(job_topology(job)),
        metrics: Metrics {
            tput_per_gpu: f(r, "tput_per_gpu"),
            input_tput_per_gpu: f(r, "input_tput_per_gpu"),
            output_tput_per_gpu: f(r, "output_tput_per_gpu"),
            median_intvty: f(r, "median_intvty"),
            median_ttft_ms: f(r, "median_ttft_ms"),
            median_tpot_ms: f(r, "median_tpot_ms"),
            median_e2el_ms: f(r, "median_e2el_ms"),
            p99_ttft_ms: f(r, "p99_ttft_ms"),
            p99_tpot_ms: f(r, "p99_tpot_ms"),
            p99_e2el_ms: f(r, "p99_e2el_ms"),
            completed: r["completed"].as_u64(),
            failed: r["failed"].as_u64(),
            measured_j_per_token: f(&r["power"], "joules_per_output_token"),
        },
        provenance: json!({
            "image": job["image"],
            // What the image tag says of the engine's version (`vllm/vllm-openai:v0.10.2`);
            // a simulated engine is servebench's own.
            "engine_version": engine_version(job),
            "server_command": v["server_command"],
            "server_log_tail": server_log_tail(root, &v),
            // What the engine's own counters say happened during the point.
            "server_metrics_delta": v["server_metrics"]["delta"],
            "recipe_fingerprint": job["recipe-fingerprint"],
            // The master-config key the job was planned from (changelog entries name these).
            "recipe_key": v["config_key"],
            // A point carried over unchanged from an earlier run: that run and point.
            "reused_from": v["reused_from"],
            "tokenizer": r["tokenizer_id"],
            "tokenizer_sha256": r["provenance"]["tokenizer"]["sha256"],
            "dataset_sha256": r["provenance"]["dataset_sha256"],
            "seed": r["config"]["seed"],
            "client": r["provenance"]["servebench_version"],
            "host": r["provenance"]["host"],
            "date": r["date"],
            "file": path.display().to_string(),
            // A point simulated in virtual time: the simulator's knobs and expected error.
            "simulator": v["simulator"],
        }),
        result: v,
    })
}

/// How much of a server's log a point keeps: its last 64 KiB, from a line start.
pub const LOG_TAIL_BYTES: u64 = 64 << 10;

/// The tail of a sweep point's server log, read once at ingest and kept as data (the store
/// never holds a path that anything opens later). The point names its log relative to its
/// results directory `root`; an absolute path, a `..`, or a link that leaves `root` is refused
/// (read nothing), and secrets in the text are masked.
fn server_log_tail(root: &Path, v: &Value) -> Option<String> {
    let rel = Path::new(v["server_log"].as_str()?);
    let inside = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside || rel.as_os_str().is_empty() {
        return None;
    }
    let root = root.canonicalize().ok()?;
    let file = root.join(rel).canonicalize().ok()?;
    if !file.starts_with(&root) || !file.is_file() {
        return None;
    }
    servebench_core::redact::log_tail(&file, LOG_TAIL_BYTES).ok()
}

/// A sweep's JSON file, secrets masked.
fn json_file(path: &Path) -> Result<Value, StoreError> {
    serde_json::from_slice(
        &servebench_core::sys::read_limited(path, servebench_core::sys::limits::JSON)
            .map_err(|e| bad(path, e.to_string()))?,
    )
    .map(|mut v| {
        servebench_core::redact::json(&mut v);
        v
    })
    .map_err(|e| bad(path, format!("not JSON: {e}")))
}

/// The deployment a sweep job (its InferenceX row) describes.
fn job_config(job: &Value, path: &Path) -> Result<Config, StoreError> {
    let s = |k: &str| -> Result<String, StoreError> {
        job.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(path, format!("job.{k}: expected a string")))
    };
    Ok(Config {
        hardware: s("runner")?,
        engine: s("framework")?,
        model: s("model")?,
        precision: s("precision")?,
        spec_decoding: s("spec-decoding")?,
        disagg: job["disagg"].as_bool().unwrap_or(false),
        topology: topology(job)
            + &kv_offload_suffix(
                job["kv-offloading"].as_str(),
                job["kv-offload-backend"]["name"].as_str(),
            ),
    })
}

/// A sweep's stored evals (`OUT/evals/**/<point>.<task>.json`).
pub fn sweep_evals(dir: &Path) -> Result<Vec<Eval>, StoreError> {
    let evals_dir = dir.join("evals");
    if !evals_dir.is_dir() {
        return Ok(Vec::new());
    }
    let files = json_files(&evals_dir).map_err(|e| bad(dir, e.to_string()))?;
    files
        .iter()
        .map(|path| {
            let v = json_file(path)?;
            let job = &v["job"];
            let r = &v["result"];
            let num = |x: &Value, k: &str| {
                x.get(k)
                    .and_then(Value::as_f64)
                    .ok_or_else(|| bad(path, format!("{k}: expected a number")))
            };
            Ok(Eval {
                config: job_config(job, path)?,
                isl: num(job, "isl")? as u32,
                osl: num(job, "osl")? as u32,
                conc: num(&v, "concurrency")? as u32,
                outcome: EvalOutcome {
                    task: r["task"]
                        .as_str()
                        .ok_or_else(|| bad(path, "result.task: expected a string"))?
                        .to_string(),
                    score: num(r, "score")?,
                    stderr: num(r, "stderr")?,
                    n: num(r, "n")? as u64,
                    n_failed: num(r, "n_failed")? as u64,
                    threshold: r["threshold"]["value"].as_f64(),
                    passed: r["passed"].as_bool(),
                },
                data_sha256: r["data_sha256"].as_str().unwrap_or_default().to_string(),
                result: r.clone(),
            })
        })
        .collect()
}

/// Renames each point's model to `canonical(model)` where it has one (a catalog id for a
/// Hugging Face id or alias), keeping the name as served in the provenance.
pub fn name_models(points: &mut [Point], canonical: impl Fn(&str) -> Option<String>) {
    for p in points {
        // InferenceX rows name their model by its prefix too (`dsr1`): where the catalog
        // knows the prefix but not the served name, the prefix decides.
        let prefix = p.provenance["model_prefix"].as_str();
        let id = canonical(&p.config.model).or_else(|| prefix.and_then(&canonical));
        if let Some(id) = id.filter(|id| *id != p.config.model) {
            if let Some(o) = p.provenance.as_object_mut() {
                o.insert("served_model".into(), json!(p.config.model));
            }
            p.config.model = id;
        }
    }
}

/// Evals under the catalog's model ids, as [`name_models`] names points (an InferenceX eval
/// row's `model_prefix` decides where the catalog lacks its served name).
pub fn name_evals(evals: &mut [Eval], canonical: impl Fn(&str) -> Option<String>) {
    for e in evals {
        let prefix = e.result["model_prefix"].as_str();
        if let Some(id) = canonical(&e.config.model).or_else(|| prefix.and_then(&canonical)) {
            e.config.model = id;
        }
    }
}

/// `framework image-tag` of a sweep job (`vllm v0.10.2`), or null without a tag.
fn engine_version(job: &Value) -> Value {
    let framework = job["framework"].as_str().unwrap_or("");
    if framework == "sim" {
        return json!(format!("sim (servebench {})", env!("CARGO_PKG_VERSION")));
    }
    let image = job["image"].as_str().unwrap_or("");
    // The tag follows the last ':' after the last '/' (a registry may have a port).
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => json!(format!("{framework} {tag}")),
        _ => Value::Null,
    }
}

/// Every `*.json` below `dir` (sorted), for the sweep importer.
pub fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            // A link may lead anywhere on the machine: results are what the directory holds.
            if e.file_type()?.is_symlink() {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A sweep job's workload: its ISL and OSL, or the agentic-coding one's.
fn job_workload(job: &Value, path: &Path) -> Result<(u32, u32), StoreError> {
    if job["scenario-type"].as_str() == Some("agentic-coding") {
        return Ok(crate::AGENTIC_WORKLOAD);
    }
    let u = |k: &str| -> Result<u32, StoreError> {
        job.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(path, format!("job.{k}: expected a non-negative integer")))
    };
    Ok((u("isl")?, u("osl")?))
}

/// The longest reason kept for a failed job (its log's tail stays in the results directory).
const MAX_REASON: usize = 2000;

/// One of a sweep's `failed/` records (a job that measured no point, after its attempts).
pub fn failed_job(path: &Path) -> Result<FailedJob, StoreError> {
    let v = json_file(path)?;
    let job = &v["job"];
    let (isl, osl) = job_workload(job, path)?;
    let conc = v["concurrency"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad(path, "concurrency: expected a non-negative integer"))?;
    Ok(FailedJob {
        config: job_config(job, path)?,
        isl,
        osl,
        conc,
        attempts: v["attempts"]
            .as_u64()
            .map_or(1, |n| n.min(u32::MAX as u64) as u32),
        reason: kept_reason(&v["reason"]),
    })
}

/// A recorded reason as the store keeps it: redacted (it can quote a URL or a header) and at
/// most [`MAX_REASON`] bytes.
fn kept_reason(v: &Value) -> String {
    let reason = match v {
        Value::String(s) => s.clone(),
        Value::Null => "no reason recorded".to_string(),
        other => other.to_string(),
    };
    let mut reason = servebench_core::redact::text(&reason).into_owned();
    if reason.len() > MAX_REASON {
        let cut = (0..=MAX_REASON)
            .rev()
            .find(|&i| reason.is_char_boundary(i))
            .unwrap_or(0);
        reason.truncate(cut);
        reason.push('…');
    }
    reason
}

/// A sweep's `deferred/` records: the points its budget left for a later night.
pub fn sweep_deferred(dir: &Path) -> Result<Vec<Deferred>, StoreError> {
    let deferred_dir = dir.join("deferred");
    if !deferred_dir.is_dir() {
        return Ok(Vec::new());
    }
    let files = json_files(&deferred_dir).map_err(|e| bad(&deferred_dir, e.to_string()))?;
    files
        .iter()
        .map(|path| {
            let v = json_file(path)?;
            let (isl, osl) = job_workload(&v["job"], path)?;
            Ok(Deferred {
                recipe_key: v["config_key"]
                    .as_str()
                    .ok_or_else(|| bad(path, "config_key: expected the job's config key"))?
                    .to_string(),
                fingerprint: v["job"]["recipe-fingerprint"].as_str().map(str::to_string),
                isl,
                osl,
                conc: v["concurrency"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad(path, "concurrency: expected a non-negative integer"))?,
                reason: kept_reason(&v["reason"]),
            })
        })
        .collect()
}

/// A sweep's jobs: per accelerator, its measured points (each a job that succeeded) and its
/// `failed/` records; and those failed jobs.
pub fn sweep_jobs(
    dir: &Path,
    points: &[Point],
) -> Result<(Vec<JobStat>, Vec<FailedJob>), StoreError> {
    let failed_dir = dir.join("failed");
    let files = if failed_dir.is_dir() {
        json_files(&failed_dir).map_err(|e| bad(&failed_dir, e.to_string()))?
    } else {
        Vec::new()
    };
    let failed: Vec<FailedJob> = files
        .iter()
        .map(|p| failed_job(p))
        .collect::<Result<_, _>>()?;
    let mut by_hw: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for p in points {
        let e = by_hw.entry(&p.config.hardware).or_default();
        e.0 += 1;
        e.1 += 1;
    }
    for f in &failed {
        by_hw.entry(&f.config.hardware).or_default().1 += 1;
    }
    let stats = by_hw
        .into_iter()
        .map(|(hw, (succeeded, total))| JobStat {
            hardware: hw.to_string(),
            succeeded,
            total,
        })
        .collect();
    Ok((stats, failed))
}

/// InferenceX's `run_stats.json` (its run-stats artifact: `{<runner label>: {n_success,
/// total}}`, jobs of all attempts): the run's jobs per accelerator, labels read as hardware the
/// way its runner names are (`b200-nv_0` is `b200`), labels of one accelerator summed.
pub fn inferencex_run_stats(path: &Path) -> Result<Vec<JobStat>, StoreError> {
    let v = json_file(path)?;
    let Value::Object(labels) = v else {
        return Err(bad(
            path,
            "expected an object of runner labels, each {n_success, total}",
        ));
    };
    let mut by_hw: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for (label, c) in &labels {
        let n = |k: &str| {
            c[k].as_u64().ok_or_else(|| {
                bad(
                    path,
                    format!("{label}.{k}: expected a non-negative integer"),
                )
            })
        };
        let (ok, total) = (n("n_success")?, n("total")?);
        if ok > total {
            return Err(bad(
                path,
                format!("{label}: n_success {ok} is more than total {total}"),
            ));
        }
        let hw = hardware_of_runner(label);
        if hw.is_empty() {
            return Err(bad(
                path,
                format!("{label:?}: no accelerator in the runner label"),
            ));
        }
        let e = by_hw.entry(hw).or_default();
        e.0 += ok;
        e.1 += total;
    }
    Ok(by_hw
        .into_iter()
        .map(|(hardware, (succeeded, total))| JobStat {
            hardware,
            succeeded,
            total,
        })
        .collect())
}

/// Whether a sweep's results directory has failed-job records.
fn has_failed(dir: &Path) -> bool {
    json_files(&dir.join("failed")).is_ok_and(|f| !f.is_empty())
}

/// A sweep's results directory (`OUT`, with `points/`) as one of the user's runs: its key is
/// `run_key`, its date the earliest result's.
pub fn sweep_dir(dir: &Path, run_key: &str, who: &str) -> Result<(Run, Vec<Point>), StoreError> {
    let points_dir = dir.join("points");
    let files = if points_dir.is_dir() {
        json_files(&points_dir).map_err(|e| bad(dir, e.to_string()))?
    } else {
        Vec::new()
    };
    // A sweep whose every job failed, or whose budget deferred every point, still has a run to
    // record: its failed jobs, what it left for a later night.
    if files.is_empty() && !has_failed(dir) && !dir.join("deferred").is_dir() {
        return Err(bad(
            dir,
            "no points/ with results, no failed/ jobs and no deferred/ points (a servebench \
             sweep --out directory)",
        ));
    }
    let points: Vec<Point> = files
        .iter()
        .map(|p| sweep_point(dir, p))
        .collect::<Result<_, _>>()?;
    let started_at = points
        .iter()
        .filter_map(|p| p.provenance["date"].as_str())
        .min()
        .unwrap_or("unknown")
        .to_string();
    let mut run = Run {
        key: run_key.to_string(),
        started_at,
        who: who.to_string(),
        recipes_commit: None,
        executor: "sweep".into(),
        source: Source::Own,
    };
    // The sweep's own record (servebench-sweep's run_info), where it wrote one.
    let info_path = dir.join("run.json");
    if let Ok(bytes) =
        servebench_core::sys::read_limited(&info_path, servebench_core::sys::limits::JSON)
    {
        let info: Value = serde_json::from_slice(&bytes)
            .map_err(|e| bad(&info_path, format!("not JSON: {e}")))?;
        let text = |k: &str| {
            info[k]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        run.started_at = text("started_at").unwrap_or(run.started_at);
        if who.is_empty() {
            run.who = text("who").unwrap_or_default();
        }
        run.executor = text("executor").unwrap_or(run.executor);
        run.recipes_commit = text("recipes_commit").map(|c| {
            if info["recipes_dirty"].as_bool() == Some(true) {
                format!("{c}-dirty")
            } else {
                c
            }
        });
    }
    Ok((run, points))
}

/// What a `bench` result does not say about the deployment it measured.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub hardware: String,
    pub engine: String,
    pub precision: String,
    pub topology: String,
    pub num_gpus: u32,
    pub isl: u32,
    pub osl: u32,
}

/// A `vllm bench serve` (or `servebench bench`) result file: one object or an array of them
/// (one per concurrency), with the deployment given by the caller.
pub fn bench_results(file: &Path, d: &Deployment) -> Result<Vec<Point>, StoreError> {
    let v: Value = serde_json::from_slice(
        &servebench_core::sys::read_limited(file, servebench_core::sys::limits::JSON)
            .map_err(|e| bad(file, e.to_string()))?,
    )
    .map_err(|e| bad(file, format!("not JSON: {e}")))?;
    let rows: Vec<Value> = match v {
        Value::Array(a) => a,
        o @ Value::Object(_) => vec![o],
        _ => return Err(bad(file, "expected a bench result or an array of them")),
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let total = f(&r, "total_token_throughput")
                .ok_or_else(|| bad(file, format!("result {i}: total_token_throughput missing")))?;
            let out = f(&r, "output_throughput").unwrap_or(0.0);
            let g = d.num_gpus.max(1) as f64;
            let conc = r["max_concurrency"].as_u64().unwrap_or(0) as u32;
            let intvty = f(&r, "median_tpot_ms")
                .filter(|t| *t > 0.0)
                .map(|t| 1000.0 / t);
            Ok(Point {
                config: Config {
                    hardware: d.hardware.clone(),
                    engine: d.engine.clone(),
                    model: r["model_id"].as_str().unwrap_or("unknown").to_string(),
                    precision: d.precision.clone(),
                    spec_decoding: "none".into(),
                    disagg: false,
                    topology: d.topology.clone(),
                },
                isl: d.isl,
                osl: d.osl,
                conc,
                num_gpus: d.num_gpus,
                // The deployment as given: a label, no structure.
                deployment: None,
                metrics: Metrics {
                    tput_per_gpu: Some(total / g),
                    input_tput_per_gpu: Some((total - out) / g),
                    output_tput_per_gpu: Some(out / g),
                    median_intvty: intvty,
                    median_ttft_ms: f(&r, "median_ttft_ms"),
                    median_tpot_ms: f(&r, "median_tpot_ms"),
                    median_e2el_ms: f(&r, "median_e2el_ms"),
                    p99_ttft_ms: f(&r, "p99_ttft_ms"),
                    p99_tpot_ms: f(&r, "p99_tpot_ms"),
                    p99_e2el_ms: f(&r, "p99_e2el_ms"),
                    completed: r["completed"].as_u64(),
                    failed: r["failed"].as_u64(),
                    measured_j_per_token: f(&r["power"], "joules_per_output_token"),
                },
                provenance: json!({
                    "backend": r["backend"],
                    "tokenizer": r["tokenizer_id"],
                    "date": r["date"],
                    "file": file.display().to_string(),
                }),
                result: r,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_cpp_slots_are_part_of_the_topology() {
        let row =
            json!({"tp": 1, "pp": 1, "dcp-size": 1, "pcp-size": 1, "ep": 1, "dp-attn": false});
        assert_eq!(topology(&row), "tp1");
        let mut with = row.clone();
        with["slots"] = json!(4);
        assert_eq!(topology(&with), "tp1-np4");
    }

    /// A sweep point's pools keep the GPUs their workers were started on: a vLLM DEP8 worker
    /// written `tp: 1, ep: 8` has eight (llm-d's `PREFILL_NODES × GPUS_PER_NODE` = 2 × 4 per
    /// worker), a TP8 worker eight, an SGLang `tp: 8, ep: 8` worker eight.
    #[test]
    fn sweep_pools_count_the_gpus_their_workers_run_on() {
        let w = |nw: u64, tp: u64, ep: u64| json!({"num-worker": nw, "tp": tp, "ep": ep, "dp-attn": ep > 1});
        let gpus = |p: Value, d: Value| -> Vec<u32> {
            let t = job_topology(&json!({"prefill": p, "decode": d}));
            t.pools.iter().map(|p| p.gpus).collect()
        };
        assert_eq!(gpus(w(3, 1, 8), w(1, 1, 8)), [24, 8]);
        assert_eq!(gpus(w(1, 1, 8), w(1, 8, 1)), [8, 8]);
        assert_eq!(gpus(w(2, 8, 8), w(0, 8, 1)), [16]);
    }

    #[test]
    fn pool_topologies_name_every_size_other_than_1() {
        let w = |nw: u64, tp: u64, pp: u64, dcp: u64, pcp: u64, ep: u64, dpa: bool| {
            json!({"num-worker": nw, "tp": tp, "pp": pp, "dcp-size": dcp, "pcp-size": pcp,
                   "ep": ep, "dp-attn": dpa})
        };
        let job = |p: Value, d: Value| json!({"prefill": p, "decode": d});
        assert_eq!(
            topology(&job(w(1, 4, 1, 1, 1, 4, true), w(2, 8, 1, 1, 1, 8, false))),
            "p1x4ep4dpa-d2x8ep8"
        );
        assert_eq!(
            topology(&job(w(1, 8, 2, 1, 2, 1, false), w(1, 8, 1, 4, 1, 8, true))),
            "p1x8pp2pcp2-d1x8dcp4ep8dpa"
        );
        // No decode workers: one aggregated pool.
        assert_eq!(
            topology(&job(w(2, 8, 1, 1, 1, 8, true), w(0, 8, 1, 1, 1, 1, false))),
            "2x8ep8dpa"
        );
    }

    #[test]
    fn engine_versions_from_image_tags() {
        let v = |framework: &str, image: &str| {
            engine_version(&json!({"framework": framework, "image": image}))
        };
        assert_eq!(v("vllm", "vllm/vllm-openai:v0.10.2"), "vllm v0.10.2");
        assert_eq!(
            v("sglang", "registry.local:5000/lmsys/sglang:v0.5.3-cu129"),
            "sglang v0.5.3-cu129"
        );
        assert_eq!(v("vllm", "registry.local:5000/vllm"), Value::Null);
    }
}
