//! Which points share one Pareto frontier.
//!
//! InferenceMAX draws one frontier ("roof") per model × workload × *hardware key*: the
//! accelerator, `_trt` when the engine is single-node TensorRT-LLM, and `_<method>` (`_mtp`)
//! when the deployment decodes speculatively. Everything else is pooled: precisions, TP/EP
//! sizes, topologies, and the engines that share the plain key (vLLM and SGLang on one
//! accelerator; Dynamo's TensorRT-LLM and SGLang deployments on GB200). So a point another
//! precision or TP of the same hardware key beats is off the roof. That is the default
//! here; finer groupings stay available. `docs/analysis.md` has a worked example.

use std::fmt;

/// How points are pooled into frontiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    /// InferenceMAX's hardware key (`h200`, `b200_trt`, `gb200_mtp`).
    #[default]
    HardwareKey,
    /// The accelerator alone: every engine and method pooled (a buyer's "best this chip does").
    Hardware,
    /// Accelerator × engine × speculative method × aggregated or disaggregated.
    Engine,
    /// The hardware key × precision (InferenceX's later `hwKey__precision` fronts).
    Precision,
    /// One frontier per deployed config (precision × topology × engine × ...).
    Config,
}

/// What a point's group is derived from.
#[derive(Debug, Clone, Copy)]
pub struct Deployment<'a> {
    pub accelerator: &'a str,
    pub engine: &'a str,
    pub precision: &'a str,
    /// `none` (or empty) when not speculative.
    pub spec_decoding: &'a str,
    pub disagg: bool,
    /// The config's natural key (for [`Grouping::Config`]).
    pub config_key: &'a str,
}

/// Engines InferenceMAX keys apart from the accelerator's plain key: single-node TensorRT-LLM
/// under its names (Dynamo's TensorRT-LLM deployments are pooled under the plain key).
const TRT: &[&str] = &["trt", "trtllm", "tensorrt-llm"];

/// InferenceMAX's hardware key of a deployment.
pub fn hardware_key(accelerator: &str, engine: &str, spec_decoding: &str) -> String {
    let mut k = accelerator.to_string();
    if TRT.contains(&engine) {
        k.push_str("_trt");
    }
    if !spec_decoding.is_empty() && spec_decoding != "none" {
        k.push('_');
        k.push_str(spec_decoding);
    }
    k
}

impl Grouping {
    pub const ALL: [Grouping; 5] = [
        Grouping::HardwareKey,
        Grouping::Hardware,
        Grouping::Engine,
        Grouping::Precision,
        Grouping::Config,
    ];

    /// The group a deployment's points belong to.
    pub fn key(self, d: &Deployment) -> String {
        match self {
            Grouping::HardwareKey => hardware_key(d.accelerator, d.engine, d.spec_decoding),
            Grouping::Hardware => d.accelerator.to_string(),
            Grouping::Engine => {
                let mut k = format!("{} {}", d.accelerator, d.engine);
                if !d.spec_decoding.is_empty() && d.spec_decoding != "none" {
                    k.push(' ');
                    k.push_str(d.spec_decoding);
                }
                if d.disagg {
                    k.push_str(" disagg");
                }
                k
            }
            Grouping::Precision => format!(
                "{} {}",
                hardware_key(d.accelerator, d.engine, d.spec_decoding),
                d.precision
            ),
            Grouping::Config => d.config_key.to_string(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::HardwareKey => "hwkey",
            Grouping::Hardware => "hardware",
            Grouping::Engine => "engine",
            Grouping::Precision => "precision",
            Grouping::Config => "config",
        }
    }
}

impl fmt::Display for Grouping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Grouping {
    type Err = String;
    fn from_str(s: &str) -> Result<Grouping, String> {
        Grouping::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| format!("'{s}': expected hwkey, hardware, engine, precision or config"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d<'a>(hw: &'a str, engine: &'a str, prec: &'a str, spec: &'a str) -> Deployment<'a> {
        Deployment {
            accelerator: hw,
            engine,
            precision: prec,
            spec_decoding: spec,
            disagg: engine.starts_with("dynamo"),
            config_key: "k",
        }
    }

    #[test]
    fn inferencemax_hardware_keys() {
        // The keys of InferenceMAX v1's published files, from its deployments.
        let k = |hw, e, s| hardware_key(hw, e, s);
        assert_eq!(k("h200", "vllm", "none"), "h200");
        assert_eq!(k("h200", "sglang", "none"), "h200");
        assert_eq!(k("b200", "trt", "none"), "b200_trt");
        assert_eq!(k("gb200", "dynamo-trt", "none"), "gb200");
        assert_eq!(k("gb200", "dynamo-sglang", "none"), "gb200");
        assert_eq!(k("gb200", "dynamo-trt", "mtp"), "gb200_mtp");
        assert_eq!(k("mi355x", "sglang", ""), "mi355x");
    }

    #[test]
    fn groupings_pool_what_they_say() {
        let fp8 = d("gb200", "dynamo-sglang", "fp8", "none");
        let fp4 = d("gb200", "dynamo-trt", "fp4", "none");
        let mtp = d("gb200", "dynamo-trt", "fp4", "mtp");
        let g = |g: Grouping, x: &Deployment| g.key(x);
        use Grouping::*;
        assert_eq!(g(HardwareKey, &fp8), g(HardwareKey, &fp4));
        assert_ne!(g(HardwareKey, &fp4), g(HardwareKey, &mtp));
        assert_eq!(g(Hardware, &fp4), g(Hardware, &mtp));
        assert_ne!(g(Engine, &fp8), g(Engine, &fp4));
        assert_eq!(g(Engine, &mtp), "gb200 dynamo-trt mtp disagg");
        assert_ne!(g(Precision, &fp8), g(Precision, &fp4));
        assert_eq!(g(Precision, &fp4), "gb200 fp4");
        for x in Grouping::ALL {
            assert_eq!(x.as_str().parse::<Grouping>(), Ok(x));
        }
        assert!("tp"
            .parse::<Grouping>()
            .unwrap_err()
            .contains("expected hwkey"));
    }
}
