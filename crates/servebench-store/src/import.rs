//! Importers: files in the formats results come in, turned into runs and points.
//!
//! - servebench sweep results (`OUT/points/**/*.json`: the job's InferenceX row and the
//!   `bench` result);
//! - the published InferenceMAX v1 dashboard files (`*_interactivity.json`), as a reference run.

use crate::{Config, Metrics, Point, Run, Source, StoreError};
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
            metrics: Metrics {
                tput_per_gpu: Some(p.tput_per_gpu),
                median_intvty: Some(p.interactivity),
                ..Default::default()
            },
            provenance: json!({"file": p.file, "hw_key": p.hw_key}),
            result: serde_json::to_value(&p).unwrap_or(Value::Null),
        })
        .collect();
    Ok((run, points))
}

/// `tp8`, `tp8-ep8-dpa`, `p1x4ep4dpa-d2x8ep8`: the topology part of a config's natural key.
fn topology(job: &Value) -> String {
    let worker = |w: &Value, role: &str| {
        let mut t = format!("{role}{}x{}", w["num-worker"], w["tp"]);
        if w["ep"].as_u64().unwrap_or(1) != 1 {
            t.push_str(&format!("ep{}", w["ep"]));
        }
        if w["dp-attn"].as_bool().unwrap_or(false) {
            t.push_str("dpa");
        }
        t
    };
    if job.get("prefill").is_some() {
        return format!(
            "{}-{}",
            worker(&job["prefill"], "p"),
            worker(&job["decode"], "d")
        );
    }
    let mut t = format!("tp{}", job["tp"]);
    for (k, tag) in [
        ("pp", "pp"),
        ("dcp-size", "dcp"),
        ("pcp-size", "pcp"),
        ("ep", "ep"),
    ] {
        if let Some(v) = job[k].as_u64().filter(|&v| v != 1) {
            t.push_str(&format!("-{tag}{v}"));
        }
    }
    if job["dp-attn"].as_bool().unwrap_or(false) {
        t.push_str("-dpa");
    }
    t
}

fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// One stored sweep point (`OUT/points/<key>/<name>.json`).
pub fn sweep_point(path: &Path) -> Result<Point, StoreError> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(path).map_err(|e| bad(path, e.to_string()))?)
            .map_err(|e| bad(path, format!("not JSON: {e}")))?;
    let job = &v["job"];
    let r = &v["result"];
    let s = |x: &Value, k: &str| -> Result<String, StoreError> {
        x.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(path, format!("job.{k}: expected a string")))
    };
    let u = |x: &Value, k: &str| -> Result<u32, StoreError> {
        x.get(k)
            .and_then(Value::as_u64)
            .map(|n| n as u32)
            .ok_or_else(|| bad(path, format!("{k}: expected a non-negative integer")))
    };
    if !r.is_object() {
        return Err(bad(path, "result: expected a servebench bench result"));
    }
    Ok(Point {
        config: Config {
            hardware: s(job, "runner")?,
            engine: s(job, "framework")?,
            model: s(job, "model")?,
            precision: s(job, "precision")?,
            spec_decoding: s(job, "spec-decoding")?,
            disagg: job["disagg"].as_bool().unwrap_or(false),
            topology: topology(job),
        },
        isl: u(job, "isl")?,
        osl: u(job, "osl")?,
        conc: u(&v, "concurrency")?,
        num_gpus: r["num_gpus"].as_u64().unwrap_or(1) as u32,
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
        },
        provenance: json!({
            "image": job["image"],
            "server_command": v["server_command"],
            "recipe_fingerprint": job["recipe-fingerprint"],
            "tokenizer": r["tokenizer_id"],
            "seed": r["config"]["seed"],
            "client": r["provenance"]["servebench_version"],
            "host": r["provenance"]["host"],
            "date": r["date"],
            "file": path.display().to_string(),
        }),
        result: v,
    })
}

/// Every `*.json` below `dir` (sorted), for the sweep importer.
pub fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
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

/// A sweep's results directory (`OUT`, with `points/`) as one of the user's runs: its key is
/// `run_key`, its date the earliest result's.
pub fn sweep_dir(dir: &Path, run_key: &str, who: &str) -> Result<(Run, Vec<Point>), StoreError> {
    let points_dir = dir.join("points");
    let files = if points_dir.is_dir() {
        json_files(&points_dir).map_err(|e| bad(dir, e.to_string()))?
    } else {
        Vec::new()
    };
    if files.is_empty() {
        return Err(bad(
            dir,
            "no points/ with results (a servebench sweep --out directory)",
        ));
    }
    let points: Vec<Point> = files
        .iter()
        .map(|p| sweep_point(p))
        .collect::<Result<_, _>>()?;
    let started_at = points
        .iter()
        .filter_map(|p| p.provenance["date"].as_str())
        .min()
        .unwrap_or("unknown")
        .to_string();
    let run = Run {
        key: run_key.to_string(),
        started_at,
        who: who.to_string(),
        recipes_commit: None,
        executor: "sweep".into(),
        source: Source::Own,
    };
    Ok((run, points))
}
