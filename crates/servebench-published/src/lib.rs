//! Published results, read as they were published: the InferenceMAX v1 dashboard's
//! `*_interactivity.json` files (`shared/data/inferencemax-v1-dashboard-2025-10-25/`; one
//! record per measured point: `x` = median tok/s/user, `tpPerGpu`, `tpPerMw`, `costh`, `costn`,
//! `costr`, `tp`, `conc`, `hwKey`, `precision`). The calibration compares the simulator with
//! them; the store keeps them as a reference beside the user's own runs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One published point, mapped onto catalog ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DashboardPoint {
    pub file: String,
    /// Catalog model id.
    pub model: String,
    pub isl: u64,
    pub osl: u64,
    /// The dashboard's hardware key (`h200`, `b200_trt`, `gb200_mtp`, ...).
    pub hw_key: String,
    /// Catalog accelerator id.
    pub accelerator: String,
    /// Engine as InferenceMAX v1 ran it (`vllm`, `sglang`, `trt`, `dynamo-sglang`, `dynamo-trt`).
    pub engine: String,
    /// Disaggregated prefill/decode (the GB200 Dynamo deployments).
    pub disagg: bool,
    pub spec_decoding: String,
    pub precision: String,
    /// GPUs of the deployment as stored (TP, or the total of a disaggregated one).
    pub tp: u32,
    pub conc: usize,
    /// Median interactivity, tok/s/user.
    pub interactivity: f64,
    /// Total tok/s per GPU.
    pub tput_per_gpu: f64,
    /// Median end-to-end latency, s, from the sibling `*_e2e.json` file where it has the point.
    pub e2e_latency_s: Option<f64>,
    pub tput_per_mw: Option<f64>,
    /// $/M tokens in the three cost tiers.
    pub cost_hyperscaler: Option<f64>,
    pub cost_neocloud: Option<f64>,
    pub cost_rental: Option<f64>,
    /// The published frontier ("roof") flag of each metric (`tpPerGpu`, `tpPerMw`, `costh`,
    /// `costn`, `costr`) against interactivity, and against end-to-end latency (from the
    /// `*_e2e.json` file, where it has the point).
    pub roof: BTreeMap<String, bool>,
    pub roof_e2e: BTreeMap<String, bool>,
}

#[derive(Deserialize)]
struct DashFile {
    #[serde(default)]
    metadata: serde_json::Value,
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
    #[serde(rename = "tpPerMw")]
    tp_per_mw: Option<Metric>,
    costh: Option<Metric>,
    costn: Option<Metric>,
    costr: Option<Metric>,
}

#[derive(Deserialize)]
struct Metric {
    y: f64,
    roof: Option<bool>,
}

impl DashPoint {
    /// Each metric's roof flag, where published.
    fn roofs(&self) -> BTreeMap<String, bool> {
        [
            ("tpPerGpu", Some(&self.tp_per_gpu)),
            ("tpPerMw", self.tp_per_mw.as_ref()),
            ("costh", self.costh.as_ref()),
            ("costn", self.costn.as_ref()),
            ("costr", self.costr.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, m)| Some((k.to_string(), m?.roof?)))
        .collect()
    }
}

/// A point's identity across a dump's two files: hwKey, precision, TP, concurrency and the
/// bits of its tok/s/GPU.
type PointKey = (String, String, u32, usize, u64);

/// `Llama_3_3_70B_Instruct_1K_8K_interactivity.json` → (model id, ISL, OSL).
pub fn parse_name(name: &str) -> Option<(&'static str, u64, u64)> {
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

/// InferenceMAX v1's deployment per hardware key (`shared/reference/calibration.md` §9.1):
/// (accelerator, engine, disaggregated, speculative decoding). DeepSeek-R1 on plain keys ran
/// on SGLang, Llama and gpt-oss on vLLM; `*_trt` is TensorRT-LLM; `gb200` is Dynamo
/// (TensorRT-LLM for FP4, SGLang for FP8), `gb200_mtp` Dynamo TensorRT-LLM with MTP.
pub fn deployment(
    model: &str,
    hw_key: &str,
    precision: &str,
) -> (String, String, bool, &'static str) {
    if let Some(gpu) = hw_key.strip_suffix("_trt") {
        return (gpu.into(), "trt".into(), false, "none");
    }
    if hw_key == "gb200_mtp" {
        return ("gb200".into(), "dynamo-trt".into(), true, "mtp");
    }
    if hw_key == "gb200" {
        let e = if precision == "fp4" {
            "dynamo-trt"
        } else {
            "dynamo-sglang"
        };
        return ("gb200".into(), e.into(), true, "none");
    }
    let engine = if model == "deepseek-r1-0528" {
        "sglang"
    } else {
        "vllm"
    };
    (hw_key.into(), engine.into(), false, "none")
}

/// The snapshot date of a dump (its files' metadata `timestamp`), if recorded.
pub fn snapshot_date(dir: &Path) -> Option<String> {
    let name = interactivity_files(dir).ok()?.into_iter().next()?;
    let f: DashFile = serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()?;
    let ts = f.metadata.get("timestamp")?.as_str()?;
    Some(ts.get(..10)?.to_string())
}

fn interactivity_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_interactivity.json") && parse_name(n).is_some())
        .collect();
    names.sort();
    Ok(names)
}

/// Every point of one `*_interactivity.json` file.
pub fn load_file(path: &Path) -> std::io::Result<Vec<DashboardPoint>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (model, isl, osl) = parse_name(&name).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{name}: not an InferenceMAX v1 <model>_<ISL>_<OSL>_interactivity.json file"),
        )
    })?;
    let f: DashFile = serde_json::from_slice(&servebench_core::sys::read_limited(
        path,
        servebench_core::sys::limits::JSON,
    )?)
    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{name}: {e}")))?;
    // The e2e file holds the same points with x = median end-to-end latency (s).
    let e2e: std::collections::HashMap<PointKey, (f64, BTreeMap<String, bool>)> =
        match std::fs::read(path.with_file_name(name.replace("_interactivity.json", "_e2e.json"))) {
            Ok(bytes) => serde_json::from_slice::<DashFile>(&bytes)
                .map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", name.replace("_interactivity", "_e2e")),
                    )
                })?
                .data
                .into_iter()
                .map(|p| {
                    let roofs = p.roofs();
                    (
                        (
                            p.hw_key,
                            p.precision,
                            p.tp,
                            p.conc,
                            p.tp_per_gpu.y.to_bits(),
                        ),
                        (p.x, roofs),
                    )
                })
                .collect(),
            Err(_) => Default::default(),
        };
    Ok(f.data
        .into_iter()
        .map(|p| {
            let (e2e_latency_s, roof_e2e) = e2e
                .get(&(
                    p.hw_key.clone(),
                    p.precision.clone(),
                    p.tp,
                    p.conc,
                    p.tp_per_gpu.y.to_bits(),
                ))
                .map_or((None, BTreeMap::new()), |(x, r)| (Some(*x), r.clone()));
            let roof = p.roofs();
            let (accelerator, engine, disagg, spec) = deployment(model, &p.hw_key, &p.precision);
            DashboardPoint {
                file: name.clone(),
                model: model.into(),
                isl,
                osl,
                hw_key: p.hw_key,
                accelerator,
                engine,
                disagg,
                spec_decoding: spec.into(),
                precision: p.precision,
                tp: p.tp,
                conc: p.conc,
                interactivity: p.x,
                tput_per_gpu: p.tp_per_gpu.y,
                e2e_latency_s,
                tput_per_mw: p.tp_per_mw.map(|m| m.y),
                cost_hyperscaler: p.costh.map(|m| m.y),
                cost_neocloud: p.costn.map(|m| m.y),
                cost_rental: p.costr.map(|m| m.y),
                roof,
                roof_e2e,
            }
        })
        .collect())
}

/// Every point of a v1 dashboard dump (its `*_interactivity.json` files).
pub fn load_v1_dashboard(dir: &Path) -> std::io::Result<Vec<DashboardPoint>> {
    let mut out = Vec::new();
    for name in interactivity_files(dir)? {
        out.extend(load_file(&dir.join(name))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_hardware_keys() {
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
        assert_eq!(parse_name("other.json"), None);
        let d = |m, h, p| deployment(m, h, p);
        assert_eq!(
            d("llama-3.3-70b", "h200_trt", "fp8"),
            ("h200".into(), "trt".into(), false, "none")
        );
        assert_eq!(
            d("deepseek-r1-0528", "mi355x", "fp4"),
            ("mi355x".into(), "sglang".into(), false, "none")
        );
        assert_eq!(
            d("gpt-oss-120b", "b200", "fp4"),
            ("b200".into(), "vllm".into(), false, "none")
        );
        assert_eq!(
            d("deepseek-r1-0528", "gb200_mtp", "fp4"),
            ("gb200".into(), "dynamo-trt".into(), true, "mtp")
        );
        assert_eq!(
            d("deepseek-r1-0528", "gb200", "fp8"),
            ("gb200".into(), "dynamo-sglang".into(), true, "none")
        );
    }

    #[test]
    fn a_dump_is_read_with_every_metric() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Llama_3_3_70B_Instruct_1K_1K_interactivity.json"),
            r#"{"metadata":{"timestamp":"2025-10-25T01:00:12"},"data":[
              {"x":125.9,"y":120.5,"conc":4,"tp":8,"hwKey":"h200","precision":"fp8","tpPerGpu":{"y":120.5,"roof":false},
               "tpPerMw":{"y":69653.2},"costh":{"y":3.25},"costn":{"y":4.011},"costr":{"y":3.689}},
              {"x":10.0,"y":10.0,"conc":4,"tp":72,"hwKey":"gb200","precision":"fp8","tpPerGpu":{"y":10.0,"roof":false}}]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not data").unwrap();
        let p = load_v1_dashboard(dir.path()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].isl, p[0].osl, p[0].conc, p[0].tp), (1024, 1024, 4, 8));
        assert_eq!((p[0].interactivity, p[0].tput_per_gpu), (125.9, 120.5));
        assert_eq!(p[0].cost_neocloud, Some(4.011));
        assert!(p[1].disagg && p[1].tput_per_mw.is_none());
        assert!(!p[0].roof["tpPerGpu"]);
        assert_eq!(p[0].roof.len(), 1, "only tpPerGpu carries a flag here");
        assert_eq!(snapshot_date(dir.path()).as_deref(), Some("2025-10-25"));
    }
}
