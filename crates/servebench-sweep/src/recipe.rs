//! The recipe model: InferenceX master configs (`configs/*-master.yaml`), every key typed.
//!
//! One type per level of the file, unknown keys refused by serde. A search-space entry has one
//! type for every shape (single-node, multi-node, agentic); which keys a shape allows is checked
//! in [`crate::validate`], where the error can say what the shape expects.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A master config file: config key → recipe, in file order.
pub type MasterConfig = IndexMap<String, Recipe>;

/// One recipe (a top-level entry of a master config).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Recipe {
    /// Container image of the engine.
    pub image: String,
    /// Model (Hugging Face id or alias).
    pub model: String,
    /// Canonical model code (`dsr1`, `gptoss`, ...).
    pub model_prefix: String,
    pub precision: String,
    /// Engine: `vllm`, `sglang`, `trt`, `atom`, `dynamo-*`, ..., or `sim` (ours).
    pub framework: String,
    /// A label of the runner config (a pool, or an exact `cluster:<name>` fleet).
    pub runner: String,
    pub multinode: bool,
    #[serde(default)]
    pub disagg: bool,
    #[serde(default)]
    pub router: Option<Component>,
    #[serde(default)]
    pub kv_p2p_transfer: Option<String>,
    pub scenarios: Scenarios,
    /// servebench: extra engine command-line arguments.
    #[serde(default)]
    pub engine_args: Vec<String>,
    /// servebench: extra environment of the engine process.
    #[serde(default)]
    pub env: IndexMap<String, String>,
    /// servebench: how long the engine may take to become healthy, seconds.
    #[serde(default)]
    pub health_timeout: Option<u64>,
    /// servebench, `framework: llamacpp` only: llama-server's slots, context and threads.
    #[serde(default)]
    pub llamacpp: Option<LlamaCpp>,
}

/// How llama.cpp's `llama-server` runs a recipe (`model` is the GGUF file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LlamaCpp {
    /// Parallel slots: sequences decoded together (`-np`).
    pub slots: u32,
    /// Total KV context shared by the slots (`-c`); default slots × the workload's length.
    #[serde(default)]
    pub ctx_size: Option<u32>,
    /// CPU threads (`-t`); default llama.cpp's.
    #[serde(default)]
    pub threads: Option<u32>,
}

/// A runtime component and its own version (a release or commit, not an image).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub name: String,
    pub version: String,
}

/// A KV-offload backend; its version is optional.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OffloadBackend {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scenarios {
    #[serde(default)]
    pub fixed_seq_len: Vec<SeqLen>,
    #[serde(default)]
    pub agentic_coding: Vec<Agentic>,
}

/// A fixed-sequence-length workload and the deployments to sweep on it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SeqLen {
    pub isl: u32,
    pub osl: u32,
    pub search_space: Vec<SearchSpace>,
}

/// An agentic-coding (trace replay) workload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Agentic {
    #[serde(default)]
    pub dram_utilization: Option<f64>,
    pub search_space: Vec<SearchSpace>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpecDecoding {
    Mtp,
    DraftModel,
    #[default]
    None,
}

impl SpecDecoding {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecDecoding::Mtp => "mtp",
            SpecDecoding::DraftModel => "draft_model",
            SpecDecoding::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvOffloading {
    None,
    Dram,
}

impl KvOffloading {
    pub fn as_str(self) -> &'static str {
        match self {
            KvOffloading::None => "none",
            KvOffloading::Dram => "dram",
        }
    }
}

/// One search-space entry, any shape: single-node (`tp`, ...), multi-node (`prefill` and
/// `decode` worker pools) or agentic (either, plus `kv-offloading`).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SearchSpace {
    pub tp: Option<u32>,
    pub pp: Option<u32>,
    pub dcp_size: Option<u32>,
    pub pcp_size: Option<u32>,
    pub ep: Option<u32>,
    pub dp_attn: Option<bool>,
    pub spec_decoding: Option<SpecDecoding>,
    pub router: Option<Component>,
    pub kv_p2p_transfer: Option<String>,
    pub prefill: Option<Worker>,
    pub decode: Option<Worker>,
    pub kv_offloading: Option<KvOffloading>,
    pub kv_offload_backend: Option<OffloadBackend>,
    pub conc_start: Option<u32>,
    pub conc_end: Option<u32>,
    pub conc_list: Option<Vec<u32>>,
}

/// A prefill or decode worker pool of a multi-node deployment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Worker {
    pub num_worker: u32,
    pub tp: u32,
    #[serde(default = "one")]
    pub pp: u32,
    #[serde(default = "one")]
    pub dcp_size: u32,
    #[serde(default = "one")]
    pub pcp_size: u32,
    pub ep: u32,
    pub dp_attn: bool,
    #[serde(default)]
    pub hardware: Option<String>,
    /// `KEY=VALUE` strings exported into the job's environment.
    #[serde(default)]
    pub additional_settings: Option<Vec<String>>,
}

fn one() -> u32 {
    1
}

impl Worker {
    /// GPUs of one replica as InferenceX's matrix generator counts them (`tp × pp × pcp`).
    pub fn gpus_per_replica(&self) -> u32 {
        self.tp
            .saturating_mul(self.pp)
            .saturating_mul(self.pcp_size)
    }

    /// GPUs one replica is started on: vLLM writes a data-parallel expert-parallel worker as
    /// `tp: 1, ep: 8` (eight GPUs), SGLang and TensorRT-LLM as `tp: 8, ep: 8`. InferenceX's
    /// multi-node launchers count the GPUs they start (srt-slurm's and llm-d's result names).
    pub fn deployed_gpus(&self) -> u32 {
        self.tp
            .max(self.ep)
            .saturating_mul(self.pp)
            .saturating_mul(self.pcp_size)
    }
}

/// The runner config (`configs/runners.yaml`).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Runners {
    /// Label → concrete runner names.
    pub labels: IndexMap<String, Vec<String>>,
    #[serde(default)]
    pub hardware: IndexMap<String, RunnerHardware>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunnerHardware {
    #[serde(deserialize_with = "yaml11_int")]
    pub available_cpu_dram_mib: u64,
    pub gpus_per_node: u32,
}

/// An integer, also written YAML 1.1 style with digit-group underscores (`2_063_837`), as
/// InferenceX's files are (PyYAML reads them as integers; YAML 1.2 as strings).
fn yaml11_int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrText {
        Int(u64),
        Text(String),
    }
    match IntOrText::deserialize(d)? {
        IntOrText::Int(n) => Ok(n),
        IntOrText::Text(t) => {
            let digits: String = t.chars().filter(|c| *c != '_').collect();
            if t.starts_with('_') || t.ends_with('_') || digits.is_empty() {
                return Err(serde::de::Error::custom(format!(
                    "expected an integer, got '{t}'"
                )));
            }
            digits
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("expected an integer, got '{t}'")))
        }
    }
}
