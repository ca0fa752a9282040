//! InferenceX's result artifacts, imported as reference points and evals.
//!
//! - **Benchmark rows** (`agg_bmk.json`, an array; `agg_<RESULT_FILENAME>.json`, one row):
//!   single-node and multi-node fixed-sequence-length points (InferenceX:
//!   utils/process_result.py). Each becomes a [`Point`]; the whole row is kept as its result.
//! - **Eval rows** (`agg_eval_all.json`, an array; InferenceX: utils/collect_eval_results.py).
//!   Each becomes an [`Eval`].
//! - **Agentic rows** (AgentX, `scenario_type: agentic-coding`; InferenceX:
//!   utils/agentic/aggregation/process_agentic_result.py): points at the agentic-coding workload
//!   ([`crate::AGENTIC_WORKLOAD`]), their KV offload part of the topology, their cache-hit
//!   rates and E2E-normalised interactivity kept beside them ([`crate::AgenticPoint`]).
//!
//! The mapping follows InferenceX-app's ingest (packages/db/src/etl/benchmark-mapper.ts,
//! normalizers.ts, eval-mapper.ts): runner labels to hardware keys, framework aliases, FP4
//! precisions, spec-decoding names, and failed runs skipped.

use super::{bad, engine_version, f, pools_topology, single_topology, Pool};
use crate::{Config, Eval, EvalOutcome, Metrics, Point, StoreError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The most GPUs one stored deployment may claim.
const MAX_GPUS: u32 = 1 << 20;

/// What an InferenceX row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A fixed-sequence-length benchmark row, single- or multi-node.
    FixedSeq,
    /// An AgentX agentic-coding row (`scenario_type` starting with `agentic`).
    Agentic,
    /// An accuracy eval row (`task` with `em_strict`, `em_flexible` or `score`).
    Eval,
}

impl RowKind {
    pub fn of(row: &Value) -> RowKind {
        let has = |k: &str| row.get(k).is_some();
        if has("task") && (has("em_strict") || has("em_flexible") || has("score")) {
            RowKind::Eval
        } else if row
            .get("scenario_type")
            .and_then(Value::as_str)
            .is_some_and(|s| s.to_ascii_lowercase().starts_with("agentic"))
        {
            RowKind::Agentic
        } else {
            RowKind::FixedSeq
        }
    }

    fn rows(self) -> &'static str {
        match self {
            RowKind::FixedSeq => "fixed-seq benchmark rows",
            RowKind::Agentic => "agentic rows",
            RowKind::Eval => "eval rows",
        }
    }
}

/// A row InferenceX's ingest skips as a failed run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its index in the file (0 for a file of one row).
    pub row: usize,
    pub reason: String,
}

/// What an InferenceX result file holds: points (benchmark rows) or evals (eval rows), and the
/// failed runs skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferenceX {
    pub points: Vec<Point>,
    pub evals: Vec<Eval>,
    pub skipped: Vec<Skipped>,
}

/// Why InferenceX's ingest skips `row` as a failed run, if it does: a numeric
/// `num_requests_successful` of 0 beside a numeric `num_requests_total`, or
/// `benchmark_outcome.status` "failed".
pub fn failed_run(row: &Value) -> Option<String> {
    let num = |k: &str| row.get(k).and_then(Value::as_f64);
    if let (Some(ok), Some(_)) = (num("num_requests_successful"), num("num_requests_total")) {
        if ok == 0.0 {
            return Some(format!(
                "num_requests_successful 0 of num_requests_total {}",
                row["num_requests_total"]
            ));
        }
    }
    let status = row
        .get("benchmark_outcome")
        .and_then(|o| o.get("status"))
        .and_then(Value::as_str);
    (status == Some("failed")).then(|| "benchmark_outcome.status \"failed\"".to_string())
}

/// InferenceX's hardware key of a runner label or name (its ingest's newer rule): lower-cased,
/// everything up to the last `:` dropped, the part before the first `-`, and a runner's `_<n>`
/// index dropped. `cluster:b300-nv` → b300, `mi355x-disagg` → mi355x, `b200-multinode-slurm` →
/// b200, `mi355x-amds_03` → mi355x, `GB200` → gb200.
pub fn hardware_of_runner(label: &str) -> String {
    let lower = label.trim().to_ascii_lowercase();
    let h = lower.rsplit(':').next().unwrap_or_default();
    let h = h.split('-').next().unwrap_or_default();
    let h = match h.rsplit_once('_') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => base,
        _ => h,
    };
    h.to_string()
}

/// InferenceX's engine name and disaggregation of a row (its ingest's rules): `sglang-disagg`
/// is `mori-sglang`, `trtllm` is `trt`, `dynamo-trtllm` is `dynamo-trt`; `mori-*` is always
/// disaggregated; otherwise an explicit `disagg` decides. Without one, a multi-node row is
/// disaggregated when it has a decode pool, and a single-node `dynamo-*` row (legacy) is.
fn engine_and_disagg(
    framework: &str,
    disagg: Option<bool>,
    multinode_decode: Option<bool>,
) -> (String, bool) {
    let fw = framework.trim().to_ascii_lowercase();
    let engine = match fw.as_str() {
        "sglang-disagg" => "mori-sglang",
        "trtllm" => "trt",
        "dynamo-trtllm" => "dynamo-trt",
        e => e,
    }
    .to_string();
    let disagg = engine.starts_with("mori-")
        || disagg.unwrap_or_else(|| multinode_decode.unwrap_or(engine.starts_with("dynamo-")));
    (engine, disagg)
}

/// `nvfp4` and `mxfp4` are `fp4`; lower case.
fn precision_key(p: &str) -> String {
    match p.trim().to_ascii_lowercase().as_str() {
        "nvfp4" | "mxfp4" => "fp4".into(),
        p => p.into(),
    }
}

/// A row's value for a message: JSON, at most 40 characters of it.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn text(row: &Value, k: &str) -> Result<String, String> {
    row.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{k}: expected a string"))
}

/// A count: a non-negative integer (also as a float without a fraction or a decimal string,
/// as InferenceX's files sometimes write them); None when absent or null.
fn count(row: &Value, k: &str) -> Result<Option<u32>, String> {
    let v = match row.get(k) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|x| x.fract() == 0.0 && (0.0..1.8e19).contains(x))
                .map(|x| x as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.and_then(|n| u32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            format!(
                "{k}: expected a non-negative integer up to {}, got {}",
                u32::MAX,
                shown(v)
            )
        })
}

fn need(row: &Value, k: &str) -> Result<u32, String> {
    count(row, k)?.ok_or_else(|| format!("{k}: expected a non-negative integer"))
}

/// A flag: true/false, "true"/"false" (InferenceX writes DP attention as strings), 1/0;
/// None when absent, null or empty.
fn flag(row: &Value, k: &str) -> Result<Option<bool>, String> {
    match row.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") || s.trim() == "1" => {
            Ok(Some(true))
        }
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") || s.trim() == "0" => {
            Ok(Some(false))
        }
        Some(Value::Number(n)) if n.as_f64() == Some(1.0) => Ok(Some(true)),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(Some(false)),
        Some(v) => Err(format!("{k}: expected true or false, got {}", shown(v))),
    }
}

/// A multi-node row's pool (`prefill` or `decode`): `<role>_num_workers`, `<role>_tp`, and
/// `_pp`, `_dcp_size`, `_pcp_size`, `_ep` (1 when absent), `_dp_attention`.
fn pool(row: &Value, role: &str) -> Result<Pool, String> {
    let k = |n: &str| format!("{role}_{n}");
    let size = |n: &str| Ok::<u64, String>(count(row, &k(n))?.unwrap_or(1).into());
    Ok(Pool {
        workers: need(row, &k("num_workers"))?.into(),
        tp: need(row, &k("tp"))?.into(),
        pp: size("pp")?,
        dcp: size("dcp_size")?,
        pcp: size("pcp_size")?,
        ep: size("ep")?,
        dp_attn: flag(row, &k("dp_attention"))?.unwrap_or(false),
    })
}

/// GPUs within [1, MAX_GPUS].
fn gpus_in_range(gpus: Option<u64>) -> Result<u32, String> {
    // (Found by fuzzing: products of untrusted degrees overflowed.)
    let g = gpus.filter(|&g| g <= u64::from(MAX_GPUS)).ok_or_else(|| {
        format!("tp × pp × pcp_size (or the pools' GPU counts): more than {MAX_GPUS} GPUs")
    })?;
    if g == 0 {
        return Err("the deployment has no GPUs (tp, or the pools' GPU counts, is 0)".into());
    }
    Ok(g as u32)
}

/// A row's deployment: its topology label, GPUs, (multi-node) whether it has a decode pool,
/// and its pools as the store keeps them.
struct Shape {
    label: String,
    gpus: u32,
    decode_pool: Option<bool>,
    pools: Vec<crate::Pool>,
}

/// A row's topology, GPUs, and (multi-node) whether it has a decode pool.
///
/// Multi-node: the pools' topology; `num_prefill_gpu` + `num_decode_gpu` GPUs where the row
/// has them (InferenceX takes them from its orchestrator), else each pool's workers × TP × PP ×
/// PCP. A decode pool of no workers, no TP or no GPUs means an aggregated deployment (the
/// prefill workers also decode). Single node: TP × PP × PCP GPUs.
fn topology_of(row: &Value, multinode: bool) -> Result<Shape, String> {
    if !multinode {
        let tp = need(row, "tp")?;
        let size = |k: &str| Ok::<u32, String>(count(row, k)?.unwrap_or(1));
        let (pp, dcp, pcp, ep) = (
            size("pp")?,
            size("dcp_size")?,
            size("pcp_size")?,
            size("ep")?,
        );
        let t = single_topology(
            tp.into(),
            [pp, dcp, pcp, ep].map(u64::from),
            flag(row, "dp_attention")?.unwrap_or(false),
        );
        let gpus = gpus_in_range(Some(u64::from(tp) * u64::from(pp) * u64::from(pcp)))?;
        let server = Pool {
            workers: 1,
            tp: tp.into(),
            pp: pp.into(),
            dcp: dcp.into(),
            pcp: pcp.into(),
            ep: ep.into(),
            dp_attn: flag(row, "dp_attention")?.unwrap_or(false),
        };
        return Ok(Shape {
            label: t,
            gpus,
            decode_pool: None,
            pools: vec![server.stored(crate::Role::Server, Some(gpus.into()))],
        });
    }
    let (pn, dn) = (
        count(row, "num_prefill_gpu")?,
        count(row, "num_decode_gpu")?,
    );
    if let (Some(p), Some(d)) = (pn, dn) {
        gpus_in_range(Some(u64::from(p) + u64::from(d)))?;
    }
    let prefill = pool(row, "prefill")?;
    let aggregated = dn == Some(0)
        || count(row, "decode_num_workers")? == Some(0)
        || count(row, "decode_tp")? == Some(0);
    let decode = if aggregated {
        None
    } else {
        Some(pool(row, "decode")?)
    };
    let p = pn.map(u64::from).or_else(|| prefill.gpus());
    let d = match &decode {
        Some(pool) => dn.map(u64::from).or_else(|| pool.gpus()),
        None => Some(dn.unwrap_or(0).into()),
    };
    let gpus = gpus_in_range(p.zip(d).and_then(|(p, d)| p.checked_add(d)))?;
    let pools = match &decode {
        Some(dp) => vec![
            prefill.stored(crate::Role::Prefill, p),
            dp.stored(crate::Role::Decode, d),
        ],
        None => vec![prefill.stored(crate::Role::Workers, p)],
    };
    Ok(Shape {
        label: pools_topology(&prefill, decode.as_ref()),
        gpus,
        decode_pool: Some(decode.is_some()),
        pools,
    })
}

/// A row's router: `{name, version}` or a name.
fn router(row: &Value) -> Option<String> {
    match row.get("router")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Object(o) => {
            let name = o.get("name")?.as_str()?;
            Some(match o.get("version").and_then(Value::as_str) {
                Some(v) => format!("{name} {v}"),
                None => name.to_string(),
            })
        }
        _ => None,
    }
}

/// What a row says was deployed (its model from `model`, else from `prefix_key`), its GPUs
/// and its deployment, structured.
fn deployment(row: &Value, prefix_key: &str) -> Result<(Config, u32, crate::Topology), String> {
    let hw = text(row, "hw")?;
    let framework = text(row, "framework")?;
    let model = row
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
        .or_else(|| row.get(prefix_key).and_then(Value::as_str))
        .map(str::to_string)
        .ok_or_else(|| format!("model: expected a string (or {prefix_key})"))?;
    let precision = text(row, "precision")?;
    let hardware = hardware_of_runner(&hw);
    if hardware.is_empty() {
        return Err(format!("hw: {} names no hardware", shown(&row["hw"])));
    }
    let spec_decoding = match row.get("spec_decoding") {
        None | Some(Value::Null) => "none".to_string(),
        Some(Value::String(s)) if s.trim().is_empty() => "none".to_string(),
        Some(Value::String(s)) => s.trim().to_ascii_lowercase(),
        Some(v) => {
            return Err(format!(
                "spec_decoding: expected a string, got {}",
                shown(v)
            ))
        }
    };
    let multinode = flag(row, "is_multinode")?.unwrap_or(false);
    let shape = topology_of(row, multinode)?;
    let (engine, disagg) = engine_and_disagg(&framework, flag(row, "disagg")?, shape.decode_pool);
    let described = crate::Topology {
        pools: shape.pools,
        router: router(row),
        kv_transfer: row
            .get("kv_p2p_transfer")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string),
        draft_tokens: None,
        recipe_file: None,
    };
    Ok((
        Config {
            hardware,
            engine,
            model,
            precision: precision_key(&precision),
            spec_decoding,
            disagg,
            topology: shape.label,
        },
        shape.gpus,
        described,
    ))
}

/// Seconds (InferenceX's aggregated latencies) to milliseconds.
fn ms(v: &Value, k: &str) -> Option<f64> {
    f(v, k).map(|s| s * 1000.0)
}

/// One fixed-seq benchmark row as a point.
fn agg_row(row: &Value, file: &Path) -> Result<Point, String> {
    let (config, num_gpus, topology) = deployment(row, "infmax_model_prefix")?;
    let (isl, osl, conc) = (need(row, "isl")?, need(row, "osl")?, need(row, "conc")?);
    // InferenceX writes energy only for valid windows; with power_valid 0 its ingest deletes
    // every measured-power metric.
    let power_valid = flag(row, "power_valid")?.unwrap_or(false);
    let (successful, failed) = request_counts(row);
    let median_tpot_ms = ms(row, "median_tpot");
    let provenance = row_provenance(row, file, &config.engine);
    Ok(Point {
        config,
        isl,
        osl,
        conc,
        num_gpus,
        deployment: Some(topology),
        metrics: Metrics {
            tput_per_gpu: f(row, "tput_per_gpu"),
            input_tput_per_gpu: f(row, "input_tput_per_gpu"),
            output_tput_per_gpu: f(row, "output_tput_per_gpu"),
            median_intvty: f(row, "median_intvty")
                .or_else(|| median_tpot_ms.filter(|t| *t > 0.0).map(|t| 1000.0 / t)),
            median_ttft_ms: ms(row, "median_ttft"),
            median_tpot_ms,
            median_e2el_ms: ms(row, "median_e2el"),
            p99_ttft_ms: ms(row, "p99_ttft"),
            p99_tpot_ms: ms(row, "p99_tpot"),
            p99_e2el_ms: ms(row, "p99_e2el"),
            completed: successful.or_else(|| row.get("completed").and_then(Value::as_u64)),
            failed: failed.or_else(|| row.get("failed").and_then(Value::as_u64)),
            // servebench's figure is J per output token, as InferenceX's is.
            measured_j_per_token: power_valid
                .then(|| f(row, "joules_per_output_token"))
                .flatten(),
        },
        provenance,
        result: row.clone(),
    })
}

/// A row's successful requests and failed ones (total less successful), where it says.
fn request_counts(row: &Value) -> (Option<u64>, Option<u64>) {
    let successful = row.get("num_requests_successful").and_then(Value::as_u64);
    let total = row.get("num_requests_total").and_then(Value::as_u64);
    let failed = successful.zip(total).and_then(|(s, t)| t.checked_sub(s));
    (successful, failed)
}

/// What a row says of how it was run: image (artifact-encoded names have `#` for `/`) and
/// engine version, recipe, runner, router, model prefix, hardware, the agentic data set, and
/// the file it came from.
fn row_provenance(row: &Value, file: &Path, engine: &str) -> Value {
    let image = row
        .get("image")
        .and_then(Value::as_str)
        .map(|i| i.replace('#', "/"));
    let mut provenance = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            provenance.insert(k.into(), v);
        }
    };
    put("image", image.clone().into());
    put(
        "engine_version",
        engine_version(&serde_json::json!({"framework": engine, "image": image})),
    );
    for (k, from) in [
        ("recipe_fingerprint", "recipe_fingerprint"),
        ("runner", "hw"),
        ("router", "router"),
        ("kv_p2p_transfer", "kv_p2p_transfer"),
        ("model_prefix", "infmax_model_prefix"),
        ("framework", "framework"),
        ("prefill_hw", "prefill_hw"),
        ("decode_hw", "decode_hw"),
        ("dataset", "dataset"),
    ] {
        put(k, row.get(from).cloned().unwrap_or(Value::Null));
    }
    put("file", file.display().to_string().into());
    Value::Object(provenance)
}

/// A statistics block's value (`request_metrics.latency.ttft.p50`), seconds to milliseconds
/// where `scale` is 1000.
fn stat(row: &Value, path: &[&str], scale: f64) -> Option<f64> {
    path.iter()
        .try_fold(row, |v, k| v.get(k))
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite())
        .map(|x| x * scale)
}

/// One AgentX row as a point at the agentic-coding workload.
fn agentic_row(row: &Value, file: &Path) -> Result<Point, String> {
    if row.get("scenario_type").and_then(Value::as_str) != Some("agentic-coding") {
        return Err(format!(
            "scenario_type {}: expected \"agentic-coding\" (the one agentic scenario InferenceX runs)",
            shown(&row["scenario_type"])
        ));
    }
    if !row["request_metrics"].is_object() {
        return Err(format!(
            "request_metrics: expected an object (AgentX's request statistics), got {}",
            shown(&row["request_metrics"])
        ));
    }
    let (mut config, num_gpus, topology) = deployment(row, "infmax_model_prefix")?;
    config.topology.push_str(&super::kv_offload_suffix(
        row.get("kv_offloading").and_then(Value::as_str),
        row["kv_offload_backend"]["name"].as_str(),
    ));
    let conc = need(row, "conc")?;
    let lat = |m: &str, q: &str| stat(row, &["request_metrics", "latency", m, q], 1000.0);
    let per_gpu = |k: &str| stat(row, &["request_metrics", "throughput", "per_gpu", k], 1.0);
    let (successful, failed) = request_counts(row);
    let provenance = row_provenance(row, file, &config.engine);
    let (isl, osl) = crate::AGENTIC_WORKLOAD;
    Ok(Point {
        config,
        isl,
        osl,
        conc,
        num_gpus,
        deployment: Some(topology),
        metrics: Metrics {
            tput_per_gpu: per_gpu("total_tput_tps"),
            input_tput_per_gpu: per_gpu("input_tput_tps"),
            output_tput_per_gpu: per_gpu("output_tput_tps"),
            median_intvty: stat(row, &["request_metrics", "latency", "intvty", "p50"], 1.0),
            median_ttft_ms: lat("ttft", "p50"),
            median_tpot_ms: lat("tpot", "p50"),
            median_e2el_ms: lat("e2el", "p50"),
            p99_ttft_ms: lat("ttft", "p99"),
            p99_tpot_ms: lat("tpot", "p99"),
            p99_e2el_ms: lat("e2el", "p99"),
            completed: successful,
            failed,
            measured_j_per_token: f(row, "joules_per_output_token"),
        },
        provenance,
        result: row.clone(),
    })
}

/// One benchmark row: None for a failed run (skipped, as InferenceX's ingest skips it).
fn bmk_row(row: &Value, file: &Path) -> Result<Option<Point>, String> {
    if !row.is_object() {
        return Err(format!(
            "expected an InferenceX row (a JSON object), got {}",
            shown(row)
        ));
    }
    match RowKind::of(row) {
        RowKind::Eval => Err(
            "an eval row (of agg_eval_all.json: task with em_strict, em_flexible or score), not a benchmark row"
                .into(),
        ),
        RowKind::Agentic => agentic_row(row, file).map(Some),
        RowKind::FixedSeq if failed_run(row).is_some() => Ok(None),
        RowKind::FixedSeq => agg_row(row, file).map(Some),
    }
}

/// One InferenceX benchmark row (`agg_<RF>.json`, or an element of `agg_bmk.json`) as a point;
/// `None` for a failed run, which InferenceX's ingest skips ([`failed_run`]). Eval rows are
/// refused.
pub fn inferencex_agg_row(row: &Value, file: &Path) -> Result<Option<Point>, StoreError> {
    bmk_row(row, file).map_err(|m| bad(file, m))
}

/// InferenceX's accuracy floor for `task` of a model prefix: the model's own, else the task's
/// default, else `validate_scores.py`'s `--min-score` default (InferenceX:
/// utils/evals/thresholds.yaml and validate_scores.py at 843c6254, 2026-08-21). They are
/// InferenceX's own verdict rule for its rows, kept with the importer that reproduces it.
fn ix_threshold(prefix: &str, task: &str) -> f64 {
    const GSM8K_BY_MODEL: &[(&str, f64)] = &[
        ("dsr1", 0.91),
        ("dsv4", 0.91),
        ("glm5", 0.94),
        ("glm5.1", 0.93),
        ("gptoss", 0.91),
        ("kimik2.5", 0.90),
        ("minimaxm2.5", 0.92),
        ("qwen3.5", 0.94),
    ];
    const DEFAULT: &[(&str, f64)] = &[
        ("gsm8k", 0.90),
        ("gpqa_diamond_cot_n_shot", 0.30),
        ("swebench_lite", 0.50),
    ];
    const MIN_SCORE: f64 = 0.85;
    let find =
        |table: &[(&str, f64)], key: &str| table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    (task == "gsm8k")
        .then(|| find(GSM8K_BY_MODEL, prefix))
        .flatten()
        .or_else(|| find(DEFAULT, task))
        .unwrap_or(MIN_SCORE)
}

/// One eval row as an eval.
fn eval_row(row: &Value) -> Result<Eval, String> {
    if !row.is_object() {
        return Err(format!(
            "expected an InferenceX eval row (a JSON object), got {}",
            shown(row)
        ));
    }
    if RowKind::of(row) != RowKind::Eval {
        return Err("not an eval row: expected task with em_strict, em_flexible or score".into());
    }
    let (config, _, _) = deployment(row, "model_prefix")?;
    let (isl, osl, conc) = (need(row, "isl")?, need(row, "osl")?, need(row, "conc")?);
    let task = text(row, "task")?;
    // The score InferenceX reports (strict exact match, else accuracy), else the strict, else
    // the flexible exact match; with its standard error (0 where the row has none).
    let (score, stderr) = [
        ("score", "score_se"),
        ("em_strict", "em_strict_se"),
        ("em_flexible", "em_flexible_se"),
    ]
    .into_iter()
    .find_map(|(k, se)| f(row, k).map(|s| (s, f(row, se).unwrap_or(0.0))))
    .ok_or("score, em_strict, em_flexible: none is a number")?;
    for (k, v) in [("score", score), ("stderr", stderr)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("{k} {v}: expected a fraction in [0, 1]"));
        }
    }
    let prefix = row
        .get("model_prefix")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let threshold = ix_threshold(&prefix, &task);
    // InferenceX's gate checks every exact-match score the row has, not only the headline one.
    let passed = [Some(score), f(row, "em_strict"), f(row, "em_flexible")]
        .into_iter()
        .flatten()
        .all(|s| s >= threshold);
    Ok(Eval {
        config,
        isl,
        osl,
        conc,
        outcome: EvalOutcome {
            task,
            score,
            stderr,
            n: count(row, "n_eff")?.unwrap_or(0).into(),
            n_failed: 0,
            threshold: Some(threshold),
            passed: Some(passed),
        },
        // The store's digest is of the eval's data (servebench eval hashes its question file);
        // an InferenceX row does not carry its data set's bytes, so this is the SHA-256 of the
        // row's canonical JSON (serde_json's compact form, keys sorted), which identifies the
        // imported result.
        data_sha256: hex::encode(Sha256::digest(
            serde_json::to_vec(row).expect("a JSON value serialises"),
        )),
        result: row.clone(),
    })
}

/// One InferenceX eval row (an element of `agg_eval_all.json`) as an eval: its config from
/// `hw`, `framework`, `model` (else `model_prefix`), `precision`, `spec_decoding` and the
/// topology; score, standard error and questions (`n_eff`); InferenceX's threshold and verdict.
pub fn inferencex_eval_row(row: &Value, file: &Path) -> Result<Eval, StoreError> {
    eval_row(row).map_err(|m| bad(file, m))
}

fn read_json(file: &Path) -> Result<Value, StoreError> {
    serde_json::from_slice(
        &servebench_core::sys::read_limited(file, servebench_core::sys::limits::JSON)
            .map_err(|e| bad(file, e.to_string()))?,
    )
    .map_err(|e| bad(file, format!("not JSON: {e}")))
}

/// A file's rows: an array's elements, or the one row an object is (its row 0).
fn rows_of(v: &Value) -> Option<Vec<&Value>> {
    match v {
        Value::Array(a) => Some(a.iter().collect()),
        Value::Object(_) => Some(vec![v]),
        _ => None,
    }
}

/// The one kind of row a file holds: benchmark rows (fixed-seq and agentic, as `agg_bmk.json`
/// gathers them) or eval rows; a file mixing evals with points is refused whole, and
/// `agg_eval_all.json` holds eval rows only.
fn file_kind(rows: &[&Value], named_eval: bool) -> Result<RowKind, String> {
    let kinds: Vec<RowKind> = rows.iter().map(|r| RowKind::of(r)).collect();
    if named_eval {
        if let Some(i) = kinds.iter().position(|k| *k != RowKind::Eval) {
            return Err(format!(
                "row {i}: not an eval row (agg_eval_all.json's rows have task with em_strict, em_flexible or score)"
            ));
        }
        return Ok(RowKind::Eval);
    }
    let present: Vec<(RowKind, usize, usize)> =
        [RowKind::FixedSeq, RowKind::Agentic, RowKind::Eval]
            .into_iter()
            .filter_map(|k| {
                let first = kinds.iter().position(|x| *x == k)?;
                Some((k, kinds.iter().filter(|x| **x == k).count(), first))
            })
            .collect();
    let points = |k: &RowKind| matches!(k, RowKind::FixedSeq | RowKind::Agentic);
    match present.as_slice() {
        [] => Ok(RowKind::FixedSeq),
        [(k, _, _)] => Ok(*k),
        p if p.iter().all(|(k, _, _)| points(k)) => Ok(RowKind::FixedSeq),
        _ => {
            let parts: Vec<String> = present
                .iter()
                .map(|(k, n, first)| format!("{n} {} (the first is row {first})", k.rows()))
                .collect();
            Err(format!(
                "mixes kinds of rows: {}; nothing is imported from it. Split it by kind (eval rows apart)",
                parts.join(", ")
            ))
        }
    }
}

fn points_of(rows: &[&Value], file: &Path) -> Result<InferenceX, StoreError> {
    let mut out = InferenceX::default();
    for (i, r) in rows.iter().enumerate() {
        match bmk_row(r, file) {
            Ok(Some(p)) => out.points.push(p),
            Ok(None) => out.skipped.push(Skipped {
                row: i,
                reason: failed_run(r).unwrap_or_default(),
            }),
            Err(m) => return Err(bad(file, format!("row {i}: {m}"))),
        }
    }
    Ok(out)
}

fn evals_of(rows: &[&Value], file: &Path) -> Result<Vec<Eval>, StoreError> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| eval_row(r).map_err(|m| bad(file, format!("row {i}: {m}"))))
        .collect()
}

fn value_of(v: &Value, file: &Path) -> Result<InferenceX, StoreError> {
    let rows =
        rows_of(v).ok_or_else(|| bad(file, "expected an InferenceX row or an array of them"))?;
    let named_eval = file.file_name().is_some_and(|n| n == "agg_eval_all.json");
    match file_kind(&rows, named_eval).map_err(|m| bad(file, m))? {
        RowKind::Eval => Ok(InferenceX {
            evals: evals_of(&rows, file)?,
            ..Default::default()
        }),
        _ => points_of(&rows, file),
    }
}

/// An InferenceX aggregated benchmark file: one row (`agg_<RF>.json`) or an array
/// (`agg_bmk.json`), as points; failed runs are left out ([`inferencex_file`] lists them).
pub fn inferencex_agg(file: &Path) -> Result<Vec<Point>, StoreError> {
    let v = read_json(file)?;
    let rows =
        rows_of(&v).ok_or_else(|| bad(file, "expected an aggregated row or an array of them"))?;
    file_kind(&rows, false).map_err(|m| bad(file, m))?;
    Ok(points_of(&rows, file)?.points)
}

/// InferenceX's `agg_eval_all.json` (an array of eval rows) as evals.
pub fn inferencex_eval_agg(file: &Path) -> Result<Vec<Eval>, StoreError> {
    let v = read_json(file)?;
    let rows = rows_of(&v).ok_or_else(|| bad(file, "expected an eval row or an array of them"))?;
    file_kind(&rows, true).map_err(|m| bad(file, m))?;
    evals_of(&rows, file)
}

/// Any InferenceX result file: benchmark rows (points; failed runs skipped and listed) or,
/// in `agg_eval_all.json` or a file whose rows are all eval rows, evals.
pub fn inferencex_file(file: &Path) -> Result<InferenceX, StoreError> {
    value_of(&read_json(file)?, file)
}

/// Whether a file's JSON looks like InferenceX's rows: a row with `infmax_model_prefix`,
/// `model_prefix`, `scenario_type`, `hw` with `is_multinode`, or an eval row.
fn looks_like_inferencex(v: &Value) -> bool {
    rows_of(v).is_some_and(|rows| {
        rows.iter().any(|r| {
            let has = |k: &str| r.get(k).is_some();
            has("infmax_model_prefix")
                || has("model_prefix")
                || has("scenario_type")
                || (has("hw") && has("is_multinode"))
                || RowKind::of(r) == RowKind::Eval
        })
    })
}

/// A file of InferenceX rows whatever its name (an AgentX result, a renamed aggregate), read
/// as [`inferencex_file`] does; None when it is not JSON or does not look like InferenceX's.
pub fn inferencex_by_content(file: &Path) -> Result<Option<InferenceX>, StoreError> {
    let Ok(bytes) = servebench_core::sys::read_limited(file, servebench_core::sys::limits::JSON)
    else {
        return Ok(None);
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    if !looks_like_inferencex(&v) {
        return Ok(None);
    }
    value_of(&v, file).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_agg_row_claiming_too_many_gpus_is_refused() {
        // Found by fuzzing: these overflowed the GPU count.
        for extra in [
            json!({"tp": 65536, "pp": 65536}),
            json!({"is_multinode": true, "num_prefill_gpu": 4294967295u64, "num_decode_gpu": 1}),
        ] {
            let mut row =
                json!({"hw": "h200", "framework": "vllm", "model": "m", "precision": "fp8"});
            row.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let e = inferencex_agg_row(&row, Path::new("agg_bmk.json")).unwrap_err();
            assert!(e.to_string().contains("more than 1048576 GPUs"), "{e}");
        }
    }

    #[test]
    fn runner_labels_to_hardware_keys() {
        for (label, hw) in [
            ("cluster:b300-nv", "b300"),
            ("mi355x-disagg", "mi355x"),
            ("b200-multinode-slurm", "b200"),
            ("mi355x-amds_03", "mi355x"),
            ("h200-dgxc_1", "h200"),
            ("cluster:rtx6000pro-lat", "rtx6000pro"),
            ("GB200", "gb200"),
            ("h100_2", "h100"),
            ("h100", "h100"),
        ] {
            assert_eq!(hardware_of_runner(label), hw, "{label}");
        }
    }

    #[test]
    fn framework_aliases_and_disaggregation() {
        let e = |fw: &str, d: Option<bool>, m: Option<bool>| engine_and_disagg(fw, d, m);
        assert_eq!(e("sglang-disagg", None, None), ("mori-sglang".into(), true));
        assert_eq!(
            e("mori-sglang", Some(false), None),
            ("mori-sglang".into(), true)
        );
        assert_eq!(e("trtllm", None, None), ("trt".into(), false));
        assert_eq!(e("dynamo-trtllm", None, None), ("dynamo-trt".into(), true));
        assert_eq!(
            e("dynamo-sglang", Some(false), Some(false)),
            ("dynamo-sglang".into(), false)
        );
        assert_eq!(
            e("dynamo-vllm", None, Some(false)),
            ("dynamo-vllm".into(), false)
        );
        assert_eq!(e("vllm", None, Some(true)), ("vllm".into(), true));
        assert_eq!(e("SGLang", None, None), ("sglang".into(), false));
    }

    #[test]
    fn inferencex_thresholds() {
        assert_eq!(ix_threshold("dsr1", "gsm8k"), 0.91);
        assert_eq!(ix_threshold("qwen3.5", "gsm8k"), 0.94);
        assert_eq!(ix_threshold("kimik3", "gsm8k"), 0.90);
        assert_eq!(ix_threshold("dsr1", "gpqa_diamond_cot_n_shot"), 0.30);
        assert_eq!(ix_threshold("glm5.2", "swebench_lite"), 0.50);
        assert_eq!(ix_threshold("dsr1", "mmlu"), 0.85);
    }
}
