//! The simulator against published InferenceMAX v1 results (the dashboard data of 2025-10-25,
//! `shared/data/inferencemax-v1-dashboard-2025-10-25/`): every published point is simulated with
//! the same model, accelerator, engine, precision, TP, concurrency and sequence lengths, and the
//! two are compared point by point. Fitting the efficiency knobs to these comparisons is the
//! next step; this module is the measuring stick.

use crate::perf::{Deployment, PerfModel};
use crate::virtual_time::{simulate, VirtualPoint};
use serde::{Deserialize, Serialize};
use servebench_catalog::{Catalog, Precision};
use std::path::Path;

/// One published point, mapped onto catalog ids.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedPoint {
    pub file: String,
    pub model: String,
    pub isl: u64,
    pub osl: u64,
    pub hw_key: String,
    pub accelerator: String,
    pub engine: String,
    pub precision: String,
    pub tp: u32,
    pub conc: usize,
    /// Median interactivity, tok/s/user.
    pub interactivity: f64,
    /// Total tok/s per GPU.
    pub tput_per_gpu: f64,
}

/// A published point the simulator does not model yet, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub file: String,
    pub hw_key: String,
    pub reason: String,
}

#[derive(Deserialize)]
struct DashFile {
    data: Vec<DashPoint>,
}

#[derive(Deserialize)]
struct DashPoint {
    x: f64,
    conc: usize,
    tp: u32,
    #[serde(rename = "hwKey")]
    hw_key: String,
    precision: String,
    #[serde(rename = "tpPerGpu")]
    tp_per_gpu: Metric,
}

#[derive(Deserialize)]
struct Metric {
    y: f64,
}

/// `Llama_3_3_70B_Instruct_1K_8K_interactivity.json` → (model id, ISL, OSL).
fn parse_name(name: &str) -> Option<(&'static str, u64, u64)> {
    let model = if name.starts_with("Llama_3_3_70B") {
        "llama-3.3-70b"
    } else if name.starts_with("DeepSeek_R1_0528") {
        "deepseek-r1-0528"
    } else if name.starts_with("gpt-oss_120B") {
        "gpt-oss-120b"
    } else {
        return None;
    };
    let k = |s: &str| match s {
        "1K" => Some(1024),
        "8K" => Some(8192),
        _ => None,
    };
    let parts: Vec<&str> = name
        .trim_end_matches("_interactivity.json")
        .split('_')
        .collect();
    let n = parts.len();
    Some((model, k(parts[n - 2])?, k(parts[n - 1])?))
}

/// InferenceMAX v1's engine per hardware key (shared/reference/calibration.md §9.1).
fn engine_for(model: &str, hw_key: &str) -> Result<(String, String), String> {
    if let Some(gpu) = hw_key.strip_suffix("_trt") {
        return Ok((gpu.to_string(), "trt".into()));
    }
    if hw_key.starts_with("gb200") {
        return Err("disaggregated prefill/decode (Dynamo) is not modelled yet".into());
    }
    let engine = if model == "deepseek-r1-0528" {
        "sglang"
    } else {
        "vllm"
    };
    Ok((hw_key.to_string(), engine.into()))
}

/// Read the `*_interactivity.json` files of a v1 dashboard dump.
pub fn load_v1_dashboard(dir: &Path) -> std::io::Result<(Vec<PublishedPoint>, Vec<Skipped>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_interactivity.json"))
        .collect();
    names.sort();
    let (mut points, mut skipped) = (Vec::new(), Vec::new());
    for name in names {
        let Some((model, isl, osl)) = parse_name(&name) else {
            continue;
        };
        let text = std::fs::read_to_string(dir.join(&name))?;
        let f: DashFile = serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{name}: {e}"))
        })?;
        for p in f.data {
            match engine_for(model, &p.hw_key) {
                Ok((accelerator, engine)) => points.push(PublishedPoint {
                    file: name.clone(),
                    model: model.into(),
                    isl,
                    osl,
                    hw_key: p.hw_key,
                    accelerator,
                    engine,
                    precision: p.precision,
                    tp: p.tp,
                    conc: p.conc,
                    interactivity: p.x,
                    tput_per_gpu: p.tp_per_gpu.y,
                }),
                Err(reason) => skipped.push(Skipped {
                    file: name.clone(),
                    hw_key: p.hw_key,
                    reason,
                }),
            }
        }
    }
    Ok((points, skipped))
}

/// A published point beside its simulation.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    #[serde(flatten)]
    pub published: PublishedPoint,
    pub sim_tput_per_gpu: f64,
    pub sim_interactivity: f64,
    /// simulated / published − 1.
    pub tput_error: f64,
    pub interactivity_error: f64,
    /// Set when the deployment could not be simulated.
    pub error: Option<String>,
}

/// Simulate every point (`requests_per_conc` × C measured requests; InferenceX uses 10).
pub fn compare(
    catalog: &Catalog,
    points: &[PublishedPoint],
    requests_per_conc: usize,
) -> Vec<Comparison> {
    points
        .iter()
        .map(|p| {
            let run = || -> Result<(f64, f64), String> {
                let precision: Precision = p.precision.parse()?;
                let perf = PerfModel::new(Deployment {
                    accelerator: catalog
                        .accelerator(&p.accelerator)
                        .map_err(|e| e.to_string())?
                        .clone(),
                    model: catalog.model(&p.model).map_err(|e| e.to_string())?.clone(),
                    engine: catalog
                        .engine(&p.engine)
                        .map_err(|e| e.to_string())?
                        .clone(),
                    precision,
                    tp: p.tp,
                    dp_attention: false,
                })
                .map_err(|e| e.to_string())?;
                let mut vp = VirtualPoint::inferencex(p.conc, p.isl, p.osl);
                vp.requests = (requests_per_conc * p.conc).max(1);
                vp.warmups = vp.warmups.min(vp.requests);
                let r = simulate(&perf, &vp);
                Ok((r.tput_per_gpu(p.tp), r.median_interactivity()))
            };
            match run() {
                Ok((t, i)) => Comparison {
                    published: p.clone(),
                    sim_tput_per_gpu: t,
                    sim_interactivity: i,
                    tput_error: t / p.tput_per_gpu - 1.0,
                    interactivity_error: i / p.interactivity - 1.0,
                    error: None,
                },
                Err(e) => Comparison {
                    published: p.clone(),
                    sim_tput_per_gpu: f64::NAN,
                    sim_interactivity: f64::NAN,
                    tput_error: f64::NAN,
                    interactivity_error: f64::NAN,
                    error: Some(e),
                },
            }
        })
        .collect()
}

/// Share of simulated points whose throughput and interactivity are both within `tol`.
pub fn share_within(c: &[Comparison], tol: f64) -> f64 {
    let ok = c.iter().filter(|x| x.error.is_none());
    let (n, good) = ok.fold((0usize, 0usize), |(n, g), x| {
        (
            n + 1,
            g + usize::from(x.tput_error.abs() <= tol && x.interactivity_error.abs() <= tol),
        )
    });
    if n == 0 {
        0.0
    } else {
        good as f64 / n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_hardware_keys_map_to_catalog_ids() {
        assert_eq!(
            parse_name("Llama_3_3_70B_Instruct_1K_8K_interactivity.json"),
            Some(("llama-3.3-70b", 1024, 8192))
        );
        assert_eq!(
            parse_name("DeepSeek_R1_0528_8K_1K_interactivity.json"),
            Some(("deepseek-r1-0528", 8192, 1024))
        );
        assert_eq!(
            parse_name("gpt-oss_120B_1K_1K_interactivity.json"),
            Some(("gpt-oss-120b", 1024, 1024))
        );
        assert_eq!(
            engine_for("llama-3.3-70b", "h200_trt").unwrap(),
            ("h200".into(), "trt".into())
        );
        assert_eq!(
            engine_for("deepseek-r1-0528", "mi355x").unwrap(),
            ("mi355x".into(), "sglang".into())
        );
        assert_eq!(
            engine_for("gpt-oss-120b", "b200").unwrap(),
            ("b200".into(), "vllm".into())
        );
        assert!(engine_for("deepseek-r1-0528", "gb200_mtp").is_err());
    }

    #[test]
    fn a_small_dump_is_read_and_compared() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Llama_3_3_70B_Instruct_1K_1K_interactivity.json"),
            r#"{"metadata":{},"data":[
              {"x":125.9,"y":120.5,"conc":4,"tp":8,"hwKey":"h200","precision":"fp8","tpPerGpu":{"y":120.5,"roof":false}},
              {"x":10.0,"y":10.0,"conc":4,"tp":8,"hwKey":"gb200","precision":"fp8","tpPerGpu":{"y":10.0,"roof":false}}]}"#,
        )
        .unwrap();
        let (points, skipped) = load_v1_dashboard(dir.path()).unwrap();
        assert_eq!((points.len(), skipped.len()), (1, 1));
        let c = compare(&Catalog::builtin().unwrap(), &points, 2);
        assert!(c[0].error.is_none());
        let want = c[0].sim_tput_per_gpu / 120.5 - 1.0;
        assert!((c[0].tput_error - want).abs() < 1e-12);
        assert!(c[0].sim_interactivity > 0.0);
    }
}
