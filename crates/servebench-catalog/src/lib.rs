//! The catalog: accelerators and models as versioned data files, every figure with its source.
//!
//! Built-in files live in the repository's `catalog/` directory (`sources.yaml`,
//! `accelerators/*.yaml`, `models/*.yaml`, `engines/*.yaml`) and are embedded in the binary. Users add or
//! replace entries with a directory of the same layout ([`Catalog::load_dir`]): an entry with a
//! built-in's id replaces it. Each figure is `{value: N, source: KEY}` with KEY defined in a
//! `sources.yaml` (the source's reference and effective date); unknown keys, missing figures,
//! unknown sources and non-positive values are errors that name the file, line and field.

mod model;

pub use model::{
    Attention, AttentionGroup, Checkpoint, CompressedLayers, ExpertLoad, Ffn, Indexer,
    LinearAttention, Model, Precision, SlidingWindow, SparseAttention,
};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// A number from a data file and the key of where it comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub value: f64,
    pub source: String,
}

impl serde::Serialize for Figure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Figure", 2)?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("source", &self.source)?;
        st.end()
    }
}

/// Accuracy thresholds of eval tasks (`kind: eval-thresholds`): a score below its task's
/// threshold fails the eval; a model's own (by catalog model id) overrides the default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalThresholds {
    #[serde(default, skip_serializing)]
    kind: String,
    /// Per task: `gsm8k`, `math500`, `gpqa-diamond`.
    #[serde(default)]
    pub default: BTreeMap<String, Figure>,
    /// Per catalog model id, per task.
    #[serde(default)]
    pub models: BTreeMap<String, BTreeMap<String, Figure>>,
}

/// The tasks `servebench eval` runs.
pub const EVAL_TASKS: [&str; 3] = ["gsm8k", "math500", "gpqa-diamond"];

impl EvalThresholds {
    fn figures(&self) -> Vec<(&'static str, &Figure)> {
        self.default
            .values()
            .chain(self.models.values().flat_map(|t| t.values()))
            .map(|f| ("threshold", f))
            .collect()
    }

    /// Known tasks and models, thresholds in [0, 1]: (field, message) otherwise.
    fn check(&self, models: &[&String]) -> Result<(), (String, String)> {
        let tasks = self
            .default
            .iter()
            .map(|(t, f)| (format!("default.{t}"), t, f))
            .chain(self.models.iter().flat_map(|(m, by)| {
                by.iter()
                    .map(move |(t, f)| (format!("models.{m}.{t}"), t, f))
            }));
        for (field, task, f) in tasks {
            if !EVAL_TASKS.contains(&task.as_str()) {
                return Err((
                    field,
                    format!("unknown task '{task}'; expected one of {EVAL_TASKS:?}"),
                ));
            }
            if !(0.0..=1.0).contains(&f.value) {
                return Err((
                    field,
                    format!("expected a score in [0, 1], got {}", f.value),
                ));
            }
        }
        for m in self.models.keys() {
            if !models.contains(&m) {
                return Err((
                    format!("models.{m}"),
                    format!("not a catalog model id (known: {:?})", models),
                ));
            }
        }
        Ok(())
    }
}

/// A reference (document, repository path, URL) and the date its figures are valid from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(rename = "ref")]
    pub reference: String,
    pub date: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseTflops {
    pub bf16: Figure,
    pub fp8: Figure,
    /// Absent where the accelerator has no FP4 tensor cores.
    pub fp4: Option<Figure>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleUp {
    /// The link: `NVLink 5.0`, `Infinity Fabric`, `PCIe Gen5`.
    #[serde(default)]
    pub interconnect: Option<Choice<String>>,
    /// GPUs in one NVLink / Infinity Fabric domain.
    pub domain_gpus: Figure,
    /// Per-GPU unidirectional bandwidth, GB/s.
    pub gb_per_s_per_gpu: Figure,
}

/// The network between nodes, per GPU (absent for a rack-scale domain such as NVL72, or where
/// no source states it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleOut {
    /// NIC bandwidth per GPU, Gbit/s.
    pub gbit_per_s_per_gpu: Figure,
    /// NIC and protocol: `ConnectX-7 400GbE, RoCEv2`.
    pub nic: Choice<String>,
}

/// The link between a GPU and its host CPU: where KV cache offloaded to CPU memory travels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostLink {
    /// `PCIe Gen5 x16`, `NVLink-C2C`.
    pub interconnect: Choice<String>,
    /// Per direction, GB/s.
    pub gb_per_s: Figure,
}

/// $/GPU-hour in the three cost tiers InferenceMAX publishes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostTiers {
    pub owned_hyperscaler: Figure,
    pub owned_neocloud: Figure,
    pub rental_3y: Figure,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    pub kind: String,
    pub id: String,
    pub name: String,
    pub vendor: String,
    /// The architecture family (`hopper`, `blackwell`, `cdna3`, ...): an accelerator without
    /// fitted knobs borrows those of its family (`Catalog::engine_on`, `docs/sim.md`).
    pub family: Choice<String>,
    pub hbm_gb: Figure,
    pub hbm_tb_per_s: Figure,
    pub dense_tflops: DenseTflops,
    pub tdp_w: Figure,
    /// Board power with nothing running, W (the floor of the simulated power).
    pub idle_w: Figure,
    pub scale_up: ScaleUp,
    #[serde(default)]
    pub scale_out: Option<ScaleOut>,
    /// Absent where no source states it: such an accelerator cannot offload KV cache.
    #[serde(default)]
    pub host_link: Option<HostLink>,
    /// All-in provisioned power per GPU (GPU, host, network, facility), kW.
    pub all_in_kw_per_gpu: Figure,
    pub dollars_per_gpu_hour: CostTiers,
}

impl Accelerator {
    /// Dense tensor FLOP/s for a precision; `None` when the accelerator lacks it.
    pub fn flops(&self, p: Precision) -> Option<f64> {
        let t = &self.dense_tflops;
        let f = match p {
            Precision::Bf16 => Some(&t.bf16),
            Precision::Fp8 => Some(&t.fp8),
            Precision::Fp4 => t.fp4.as_ref(),
        };
        f.map(|f| f.value * 1e12)
    }

    pub fn hbm_bytes(&self) -> f64 {
        self.hbm_gb.value * 1e9
    }

    pub fn hbm_bytes_per_s(&self) -> f64 {
        self.hbm_tb_per_s.value * 1e12
    }

    fn figures(&self) -> Vec<(&'static str, &Figure)> {
        let mut v = vec![
            ("hbm_gb", &self.hbm_gb),
            ("hbm_tb_per_s", &self.hbm_tb_per_s),
            ("dense_tflops.bf16", &self.dense_tflops.bf16),
            ("dense_tflops.fp8", &self.dense_tflops.fp8),
            ("tdp_w", &self.tdp_w),
            ("idle_w", &self.idle_w),
            ("scale_up.domain_gpus", &self.scale_up.domain_gpus),
            ("scale_up.gb_per_s_per_gpu", &self.scale_up.gb_per_s_per_gpu),
            ("all_in_kw_per_gpu", &self.all_in_kw_per_gpu),
            (
                "dollars_per_gpu_hour.owned_hyperscaler",
                &self.dollars_per_gpu_hour.owned_hyperscaler,
            ),
            (
                "dollars_per_gpu_hour.owned_neocloud",
                &self.dollars_per_gpu_hour.owned_neocloud,
            ),
            (
                "dollars_per_gpu_hour.rental_3y",
                &self.dollars_per_gpu_hour.rental_3y,
            ),
        ];
        if let Some(f) = &self.dense_tflops.fp4 {
            v.push(("dense_tflops.fp4", f));
        }
        if let Some(o) = &self.scale_out {
            v.push(("scale_out.gbit_per_s_per_gpu", &o.gbit_per_s_per_gpu));
        }
        if let Some(h) = &self.host_link {
            v.push(("host_link.gb_per_s", &h.gb_per_s));
        }
        v
    }
}

/// A setting that is not a number, from a data file, and the key of where it comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice<T> {
    pub value: T,
    pub source: String,
}

/// When the scheduler lets a request into the KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvAdmission {
    /// As soon as its prompt fits; a running sequence that later finds no free block is
    /// preempted and recomputed (vLLM, SGLang's retraction).
    Optimistic,
    /// Only when its prompt and all its output tokens fit, so nothing is ever preempted
    /// (TensorRT-LLM's default capacity scheduler policy).
    GuaranteedNoEvict,
}

/// A serving engine: scheduler defaults and the simulator's efficiency knobs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    pub kind: String,
    pub id: String,
    pub name: String,
    /// Most sequences running at once.
    pub max_num_seqs: Figure,
    /// Token budget of one step (chunked prefill).
    pub max_num_batched_tokens: Figure,
    /// Fraction of HBM for weights, activations and the KV cache.
    pub gpu_memory_utilization: Figure,
    /// The highest fraction recipes set where the weights leave too little room at the default
    /// (InferenceX's TP4 DeepSeek-R1 FP8 on B200: 0.95).
    #[serde(default)]
    pub max_gpu_memory_utilization: Option<Figure>,
    /// KV-cache page size in tokens.
    pub kv_block_tokens: Figure,
    /// When requests are let into the KV cache.
    pub kv_admission: Choice<KvAdmission>,
    /// Fraction of dense peak FLOP/s the engine reaches.
    pub compute_efficiency: Figure,
    /// Fraction of HBM bandwidth the engine reaches.
    pub memory_efficiency: Figure,
    /// Fixed cost of every step (scheduling, launches, sampling), µs.
    pub step_overhead_us: Figure,
    /// Latency of one all-reduce, µs.
    pub allreduce_latency_us: Figure,
    /// Fraction of the scale-up link bandwidth collectives reach.
    pub link_efficiency: Figure,
    /// Fixed cost of one expert-parallel all-to-all (dispatch or combine), µs.
    pub alltoall_latency_us: Figure,
    /// Fixed cost of sending one request's KV cache from a prefill to a decode worker
    /// (handshake, descriptors, completion), µs; the bytes take their time on the link.
    pub kv_transfer_latency_us: Figure,
}

impl Engine {
    fn figures(&self) -> Vec<(&'static str, &Figure)> {
        let max_util = self.max_gpu_memory_utilization.as_ref();
        let mut v = vec![
            ("max_num_seqs", &self.max_num_seqs),
            ("max_num_batched_tokens", &self.max_num_batched_tokens),
            ("gpu_memory_utilization", &self.gpu_memory_utilization),
            ("kv_block_tokens", &self.kv_block_tokens),
            ("compute_efficiency", &self.compute_efficiency),
            ("memory_efficiency", &self.memory_efficiency),
            ("step_overhead_us", &self.step_overhead_us),
            ("allreduce_latency_us", &self.allreduce_latency_us),
            ("link_efficiency", &self.link_efficiency),
            ("alltoall_latency_us", &self.alltoall_latency_us),
            ("kv_transfer_latency_us", &self.kv_transfer_latency_us),
        ];
        v.extend(max_util.map(|f| ("max_gpu_memory_utilization", f)));
        v
    }

    /// The fraction of HBM the engine may use for `weight_bytes` of weights per GPU: its
    /// default, or where that leaves no room for a KV cache, the highest recipes set.
    pub fn memory_utilization(&self, hbm_bytes: f64, weight_bytes: f64) -> f64 {
        let default = self.gpu_memory_utilization.value;
        match &self.max_gpu_memory_utilization {
            Some(max) if weight_bytes >= hbm_bytes * default => max.value.max(default),
            _ => default,
        }
    }

    /// The efficiencies are fractions: checked beside the generic figure checks.
    fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, f) in [
            ("gpu_memory_utilization", &self.gpu_memory_utilization),
            ("compute_efficiency", &self.compute_efficiency),
            ("memory_efficiency", &self.memory_efficiency),
            ("link_efficiency", &self.link_efficiency),
        ]
        .into_iter()
        .chain(
            self.max_gpu_memory_utilization
                .as_ref()
                .map(|f| ("max_gpu_memory_utilization", f)),
        ) {
            if !(f.value > 0.0 && f.value <= 1.0) {
                return Err((
                    field,
                    format!("expected a fraction in (0, 1], got {}", f.value),
                ));
            }
        }
        Ok(())
    }
}

/// The source of knobs an accelerator borrows by the family rule (`docs/sim.md`).
pub const BORROWED_SOURCE: &str = "servebench-family-rule";

/// Fitted efficiency knobs of one engine on one accelerator (replacing the engine's defaults).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Knobs {
    pub compute_efficiency: Figure,
    pub memory_efficiency: Figure,
    pub step_overhead_us: Figure,
    /// Fitted only where the published points include tensor parallelism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allreduce_latency_us: Option<Figure>,
    /// Fitted only where the published points include tensor parallelism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_efficiency: Option<Figure>,
    /// Fitted only where the published points include expert-parallel all-to-all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alltoall_latency_us: Option<Figure>,
    /// The kinds of deployment the published points it was fitted to ran (absent: single
    /// node without speculation, what InferenceMAX v1's single-node points are).
    #[serde(default = "DeploymentKind::single_node_only")]
    pub kinds: Vec<DeploymentKind>,
}

/// What kind of deployment a point ran, as far as the simulator's calibration goes: one engine
/// or disaggregated pools, with or without speculative decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
pub enum DeploymentKind {
    #[serde(rename = "single-node")]
    SingleNode,
    #[serde(rename = "single-node+mtp")]
    SingleNodeSpeculative,
    #[serde(rename = "disaggregated")]
    Disaggregated,
    #[serde(rename = "disaggregated+mtp")]
    DisaggregatedSpeculative,
}

impl DeploymentKind {
    pub fn of(disaggregated: bool, speculative: bool) -> DeploymentKind {
        match (disaggregated, speculative) {
            (false, false) => DeploymentKind::SingleNode,
            (false, true) => DeploymentKind::SingleNodeSpeculative,
            (true, false) => DeploymentKind::Disaggregated,
            (true, true) => DeploymentKind::DisaggregatedSpeculative,
        }
    }

    fn single_node_only() -> Vec<DeploymentKind> {
        vec![DeploymentKind::SingleNode]
    }
}

impl std::fmt::Display for DeploymentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeploymentKind::SingleNode => "single-node",
            DeploymentKind::SingleNodeSpeculative => "single-node+mtp",
            DeploymentKind::Disaggregated => "disaggregated",
            DeploymentKind::DisaggregatedSpeculative => "disaggregated+mtp",
        })
    }
}

impl Knobs {
    /// The knobs of `e` (its defaults).
    pub fn of(e: &Engine) -> Knobs {
        Knobs {
            compute_efficiency: e.compute_efficiency.clone(),
            memory_efficiency: e.memory_efficiency.clone(),
            step_overhead_us: e.step_overhead_us.clone(),
            allreduce_latency_us: Some(e.allreduce_latency_us.clone()),
            link_efficiency: Some(e.link_efficiency.clone()),
            alltoall_latency_us: Some(e.alltoall_latency_us.clone()),
            kinds: Vec::new(),
        }
    }

    /// Replaces `e`'s defaults with these knobs.
    pub fn apply(&self, e: &mut Engine) {
        e.compute_efficiency = self.compute_efficiency.clone();
        e.memory_efficiency = self.memory_efficiency.clone();
        e.step_overhead_us = self.step_overhead_us.clone();
        if let Some(l) = &self.allreduce_latency_us {
            e.allreduce_latency_us = l.clone();
        }
        if let Some(l) = &self.link_efficiency {
            e.link_efficiency = l.clone();
        }
        if let Some(l) = &self.alltoall_latency_us {
            e.alltoall_latency_us = l.clone();
        }
    }

    /// Each knob's median over `all` (a knob only some have: over those).
    pub fn median<'a>(all: impl Iterator<Item = &'a Knobs> + Clone) -> Knobs {
        fn med(mut v: Vec<f64>) -> Option<Figure> {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let m = match n {
                0 => return None,
                _ if n % 2 == 1 => v[n / 2],
                _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            };
            Some(Figure {
                value: m,
                source: BORROWED_SOURCE.into(),
            })
        }
        let pick = |f: fn(&Knobs) -> Option<&Figure>| {
            med(all.clone().filter_map(f).map(|x| x.value).collect())
        };
        Knobs {
            compute_efficiency: pick(|k| Some(&k.compute_efficiency)).expect("at least one"),
            memory_efficiency: pick(|k| Some(&k.memory_efficiency)).expect("at least one"),
            step_overhead_us: pick(|k| Some(&k.step_overhead_us)).expect("at least one"),
            allreduce_latency_us: pick(|k| k.allreduce_latency_us.as_ref()),
            link_efficiency: pick(|k| k.link_efficiency.as_ref()),
            alltoall_latency_us: pick(|k| k.alltoall_latency_us.as_ref()),
            // Borrowed knobs calibrate nothing of their own.
            kinds: Vec::new(),
        }
    }

    pub fn figures(&self) -> Vec<(&'static str, &Figure)> {
        let mut v = vec![
            ("compute_efficiency", &self.compute_efficiency),
            ("memory_efficiency", &self.memory_efficiency),
            ("step_overhead_us", &self.step_overhead_us),
        ];
        if let Some(l) = &self.allreduce_latency_us {
            v.push(("allreduce_latency_us", l));
        }
        if let Some(l) = &self.link_efficiency {
            v.push(("link_efficiency", l));
        }
        if let Some(l) = &self.alltoall_latency_us {
            v.push(("alltoall_latency_us", l));
        }
        v
    }
}

/// Where an engine's knobs on an accelerator come from ([`Catalog::engine_knobs`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KnobsOrigin {
    /// Fitted to published points of the combination (of `model`, or pooled over models),
    /// which ran deployments of `kinds`.
    Fitted {
        model: Option<String>,
        kinds: Vec<DeploymentKind>,
    },
    /// An accelerator without a fit: the median of the fits the family rule picked.
    Borrowed {
        rule: &'static str,
        /// `accelerator precision` of each fit the median is over.
        from: Vec<String>,
    },
    /// Nothing fitted to borrow from: the engine's uncalibrated defaults.
    Defaults,
}

impl KnobsOrigin {
    /// Why no published point calibrates a deployment of `kind` with these knobs, if none
    /// does: the knobs were fitted to other kinds, or borrowed.
    pub fn uncalibrated(&self, kind: DeploymentKind) -> Option<String> {
        match self {
            KnobsOrigin::Fitted { kinds, .. } if kinds.contains(&kind) => None,
            KnobsOrigin::Fitted { kinds, .. } => {
                let fitted: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
                Some(format!(
                    "{kind}: its knobs were fitted to {} points only",
                    fitted.join(" and ")
                ))
            }
            KnobsOrigin::Borrowed { .. } | KnobsOrigin::Defaults => Some(format!(
                "{kind}: no published point of this engine, accelerator and precision; knobs {self}"
            )),
        }
    }
}

impl std::fmt::Display for KnobsOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KnobsOrigin::Fitted { model: Some(m), .. } => write!(f, "fitted ({m})"),
            KnobsOrigin::Fitted { model: None, .. } => f.write_str("fitted"),
            KnobsOrigin::Borrowed { rule, from } => {
                write!(f, "borrowed ({rule}: median of {})", from.join(", "))
            }
            KnobsOrigin::Defaults => f.write_str("uncalibrated defaults"),
        }
    }
}

/// Knobs per accelerator, then per precision.
pub type KnobsByAccelerator = BTreeMap<String, BTreeMap<Precision, Knobs>>;

/// A calibration file: knobs per accelerator and precision for one engine, pooled over the
/// models it was fitted on, and per model where fitted separately (an engine's kernels are not
/// equally mature for every architecture).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub kind: String,
    pub engine: String,
    /// What the knobs were fitted against.
    pub against: String,
    /// Any model (models without their own fit, including your own).
    pub accelerators: KnobsByAccelerator,
    /// Per model id: these take precedence over `accelerators`.
    #[serde(default)]
    pub models: BTreeMap<String, KnobsByAccelerator>,
}

/// How far the simulator's figures are from published ones, as measured on the published
/// points (`servebench calibrate --hold-out`, `docs/sim.md`).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFigures {
    /// Points measured.
    pub points: Figure,
    /// Share with tok/s/GPU and tok/s/user both within ±35%.
    pub within_35: Figure,
    /// Median |simulated / published − 1| of tok/s/GPU, and of tok/s/user.
    pub median_tput_error: Figure,
    pub median_interactivity_error: Figure,
}

impl ErrorFigures {
    pub fn figures(&self) -> Vec<(&'static str, &Figure)> {
        vec![
            ("points", &self.points),
            ("within_35", &self.within_35),
            ("median_tput_error", &self.median_tput_error),
            (
                "median_interactivity_error",
                &self.median_interactivity_error,
            ),
        ]
    }
}

/// The simulator's error in sample and held out (`catalog/calibration/holdout.yaml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldoutErrors {
    pub kind: String,
    pub against: String,
    /// The models the shipped fits were made on.
    pub fitted_models: Vec<String>,
    pub in_sample: ErrorFigures,
    /// Each accelerator predicted from the others' fits by the family rule.
    pub leave_one_accelerator_out: Option<ErrorFigures>,
    /// Each model predicted from fits redone on the other models.
    pub leave_one_model_out: Option<ErrorFigures>,
}

impl HoldoutErrors {
    /// The file `servebench calibrate --hold-out --holdout-file` writes.
    pub fn yaml(&self) -> String {
        let mut s = format!(
            "# servebench catalog: the simulator's error against published points, in sample and held\n\
             # out (docs/sim.md), written by `servebench calibrate --hold-out accelerator|model\n\
             # --holdout-file`. Regenerate rather than edit by hand.\n\
             kind: holdout\nagainst: {}\nfitted_models: [{}]\n",
            self.against,
            self.fitted_models.join(", ")
        );
        for (name, f) in [
            ("in_sample", Some(&self.in_sample)),
            (
                "leave_one_accelerator_out",
                self.leave_one_accelerator_out.as_ref(),
            ),
            ("leave_one_model_out", self.leave_one_model_out.as_ref()),
        ] {
            let Some(f) = f else { continue };
            s.push_str(&format!("{name}:\n"));
            for (k, v) in f.figures() {
                s.push_str(&format!(
                    "  {k}: {{value: {}, source: {}}}\n",
                    (v.value * 1e4).round() / 1e4,
                    v.source
                ));
            }
        }
        s
    }
}

/// The error to expect of a simulated figure, and what it was measured as.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExpectedError {
    /// `in sample`, `leave one accelerator out` or `leave one model out`.
    pub basis: &'static str,
    pub against: String,
    pub points: f64,
    pub within_35: f64,
    pub median_tput_error: f64,
    pub median_interactivity_error: f64,
    /// Parts of the point's recipe the simulator left out (each makes its figures less like a
    /// real run's, beyond the hold-out error): e.g. `spec-decoding mtp: simulated without
    /// speculation`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// Set where no published point calibrates the point's kind of deployment (e.g. a
    /// disaggregated one on an accelerator whose knobs only single nodes fitted): why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncalibrated: Option<String>,
}

impl std::fmt::Display for ExpectedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0}% of points within ±35%, median |error| {:.0}% tok/s/GPU and {:.0}% tok/s/user ({}, {:.0} points of {})",
            100.0 * self.within_35,
            100.0 * self.median_tput_error,
            100.0 * self.median_interactivity_error,
            self.basis,
            self.points,
            self.against
        )
    }
}

/// (engine, accelerator, precision, model): whose fitted knobs; model `None` = any model.
pub type CalibrationKey = (String, String, Precision, Option<String>);

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: field {field}: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model {id} cannot be simulated: {file} states {} of its figures as not known ({})", unknown.len(), unknown.iter().map(|u| u.field.as_str()).collect::<Vec<_>>().join(", "))]
    Undescribed {
        id: String,
        file: String,
        unknown: Vec<UnknownFact>,
    },
    #[error("unknown {kind} '{id}' (the catalog has: {known})")]
    NotFound {
        kind: &'static str,
        id: String,
        known: String,
    },
}

/// Accelerators, models and the sources their figures cite.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub sources: BTreeMap<String, Source>,
    /// Accuracy thresholds of the eval tasks.
    pub eval_thresholds: EvalThresholds,
    pub accelerators: BTreeMap<String, Accelerator>,
    pub models: BTreeMap<String, Model>,
    /// Models whose files state some figures as not known: named, not simulated.
    pub model_cards: BTreeMap<String, ModelCard>,
    /// Speculative-decoding acceptance curves per (model id, method).
    pub acceptance: BTreeMap<(String, String), Acceptance>,
    pub engines: BTreeMap<String, Engine>,
    /// Fitted knobs per (engine, accelerator, precision).
    pub calibrations: BTreeMap<CalibrationKey, Knobs>,
    /// Which file each entry came from, for messages.
    pub origin: BTreeMap<String, String>,
    /// The simulator's measured error, in sample and held out.
    pub holdout: Option<HoldoutErrors>,
}

impl Catalog {
    /// The catalog shipped in the binary.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        let mut c = Catalog::default();
        let files: Vec<(String, String)> = FILES
            .iter()
            .map(|(p, t)| (format!("catalog/{p}"), t.to_string()))
            .collect();
        c.add_files(&files)?;
        Ok(c)
    }

    /// Add (or replace) entries from a directory laid out like `catalog/`.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), CatalogError> {
        let mut files = Vec::new();
        let mut read = |p: PathBuf| -> Result<(), CatalogError> {
            let text = std::fs::read_to_string(&p).map_err(|e| CatalogError::Io {
                path: p.clone(),
                source: e,
            })?;
            files.push((p.display().to_string(), text));
            Ok(())
        };
        let sources = dir.join("sources.yaml");
        if sources.exists() {
            read(sources)?;
        }
        for sub in [
            "accelerators",
            "models",
            "engines",
            "calibration",
            "evals",
            "speculative",
        ] {
            let d = dir.join(sub);
            if !d.is_dir() {
                continue;
            }
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&d)
                .map_err(|e| CatalogError::Io {
                    path: d.clone(),
                    source: e,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect();
            paths.sort();
            for p in paths {
                read(p)?;
            }
        }
        self.add_files(&files)
    }

    /// Parse files (sources first), then check every figure of what they added.
    fn add_files(&mut self, files: &[(String, String)]) -> Result<(), CatalogError> {
        for (file, text) in files.iter().filter(|(f, _)| f.ends_with("sources.yaml")) {
            let s: BTreeMap<String, Source> = parse(file, text)?;
            self.sources.extend(s);
        }
        for (file, text) in files.iter().filter(|(f, _)| !f.ends_with("sources.yaml")) {
            let kind = parse::<Kind>(file, text)?.kind;
            match kind.as_str() {
                "accelerator" => {
                    let a: Accelerator = parse(file, text)?;
                    self.origin
                        .insert(format!("accelerator:{}", a.id), file.clone());
                    self.accelerators.insert(a.id.clone(), a);
                }
                "model" if !unknown_facts(file, text)?.is_empty() => {
                    let mut card: ModelCard = parse(file, text)?;
                    card.unknown = unknown_facts(file, text)?;
                    check_cited(file, text, &self.sources)?;
                    self.models.remove(&card.id);
                    self.origin.remove(&format!("model:{}", card.id));
                    self.origin.insert(format!("card:{}", card.id), file.clone());
                    self.model_cards.insert(card.id.clone(), card);
                }
                "model" => {
                    let m: Model = parse(file, text)?;
                    self.model_cards.remove(&m.id);
                    self.origin.remove(&format!("card:{}", m.id));
                    m.validate()
                        .map_err(|(field, message)| CatalogError::Invalid {
                            file: file.clone(),
                            field: field.into(),
                            message,
                        })?;
                    self.origin.insert(format!("model:{}", m.id), file.clone());
                    self.models.insert(m.id.clone(), m);
                }
                "engine" => {
                    let e: Engine = parse(file, text)?;
                    e.validate()
                        .map_err(|(field, message)| CatalogError::Invalid {
                            file: file.clone(),
                            field: field.into(),
                            message,
                        })?;
                    self.origin.insert(format!("engine:{}", e.id), file.clone());
                    self.engines.insert(e.id.clone(), e);
                }
                "calibration" => {
                    let c: Calibration = parse(file, text)?;
                    // A file replaces every calibration (pooled and per model) of the engine ×
                    // accelerator × precision it covers that earlier files made.
                    let covers: Vec<(String, Precision)> = c
                        .accelerators
                        .iter()
                        .chain(c.models.values().flat_map(|m| m.iter()))
                        .flat_map(|(a, by_p)| by_p.keys().map(move |p| (a.clone(), *p)))
                        .collect();
                    self.calibrations.retain(|(e, a, p, _), _| {
                        !(e == &c.engine && covers.contains(&(a.clone(), *p)))
                    });
                    let per_model = c.models.into_iter().map(|(m, a)| (Some(m), a));
                    for (model, by_accel) in
                        std::iter::once((None, c.accelerators)).chain(per_model)
                    {
                        for (accel, by_precision) in by_accel {
                            for (p, k) in by_precision {
                                let key = format!(
                                    "calibration:{}@{}@{}@{}",
                                    c.engine,
                                    accel,
                                    p,
                                    model.as_deref().unwrap_or("")
                                );
                                self.origin.insert(key, file.clone());
                                self.calibrations
                                    .insert((c.engine.clone(), accel.clone(), p, model.clone()), k);
                            }
                        }
                    }
                }
                "holdout" => {
                    let h: HoldoutErrors = parse(file, text)?;
                    self.origin.insert("holdout:".into(), file.clone());
                    self.holdout = Some(h);
                }
                "acceptance" => {
                    let a: Acceptance = parse(file, text)?;
                    a.validate().map_err(|(field, message)| CatalogError::Invalid {
                        file: file.clone(),
                        field,
                        message,
                    })?;
                    if !self.sources.contains_key(&a.source) {
                        return Err(CatalogError::Invalid {
                            file: file.clone(),
                            field: "source".into(),
                            message: format!(
                                "source '{}' is not defined in any sources.yaml",
                                a.source
                            ),
                        });
                    }
                    if self.model_id(&a.model).is_none() {
                        return Err(CatalogError::Invalid {
                            file: file.clone(),
                            field: "model".into(),
                            message: format!("'{}' is no catalog model", a.model),
                        });
                    }
                    self.acceptance
                        .insert((a.model.clone(), a.method.clone()), a);
                }
                "eval-thresholds" => {
                    let t: EvalThresholds = parse(file, text)?;
                    self.origin.insert("eval-thresholds:".into(), file.clone());
                    self.eval_thresholds.default.extend(t.default);
                    for (m, by_task) in t.models {
                        self.eval_thresholds.models.entry(m).or_default().extend(by_task);
                    }
                }
                other => {
                    return Err(CatalogError::Invalid {
                        file: file.clone(),
                        field: "kind".into(),
                        message: format!(
                        "expected 'accelerator', 'model', 'engine', 'calibration', 'holdout', 'acceptance' or 'eval-thresholds', got '{other}'"
                    ),
                    })
                }
            }
        }
        for (key, file) in &self.origin {
            let figures: Vec<(&'static str, &Figure)> = match key.split_once(':') {
                Some(("eval-thresholds", _)) => {
                    let ids: Vec<&String> =
                        self.models.keys().chain(self.model_cards.keys()).collect();
                    self.eval_thresholds
                        .check(&ids)
                        .map_err(|(field, message)| CatalogError::Invalid {
                            file: file.clone(),
                            field,
                            message,
                        })?;
                    self.eval_thresholds.figures()
                }
                Some(("accelerator", id)) => self.accelerators[id].figures(),
                Some(("holdout", _)) => {
                    let h = self.holdout.as_ref().expect("added with its origin");
                    [
                        Some(&h.in_sample),
                        h.leave_one_accelerator_out.as_ref(),
                        h.leave_one_model_out.as_ref(),
                    ]
                    .into_iter()
                    .flatten()
                    .flat_map(ErrorFigures::figures)
                    .collect()
                }
                Some(("model", id)) => self.models[id].figures(),
                Some(("engine", id)) => self.engines[id].figures(),
                Some(("calibration", key)) => {
                    let parts: Vec<&str> = key.split('@').collect();
                    let [e, a, p, m] = parts[..] else {
                        unreachable!("engine@accelerator@precision@model, written above")
                    };
                    let p: Precision = p.parse().expect("written above");
                    let m = (!m.is_empty()).then(|| m.to_string());
                    self.calibrations[&(e.to_string(), a.to_string(), p, m)].figures()
                }
                _ => continue,
            };
            let mut sources: Vec<(&'static str, &str)> = figures
                .iter()
                .map(|(n, f)| (*n, f.source.as_str()))
                .collect();
            match key.split_once(':') {
                Some(("engine", id)) => {
                    sources.push(("kv_admission", &self.engines[id].kv_admission.source))
                }
                Some(("accelerator", id)) => {
                    let a = &self.accelerators[id];
                    sources.push(("family", &a.family.source));
                    if let Some(i) = &a.scale_up.interconnect {
                        sources.push(("scale_up.interconnect", &i.source));
                    }
                    if let Some(o) = &a.scale_out {
                        sources.push(("scale_out.nic", &o.nic.source));
                    }
                    if let Some(h) = &a.host_link {
                        sources.push(("host_link.interconnect", &h.interconnect.source));
                    }
                }
                _ => {}
            }
            for (field, source) in sources {
                if !self.sources.contains_key(source) {
                    return Err(CatalogError::Invalid {
                        file: file.clone(),
                        field: field.into(),
                        message: format!("source '{source}' is not defined in any sources.yaml"),
                    });
                }
            }
            for (field, f) in figures {
                if !(f.value.is_finite() && f.value >= 0.0) {
                    return Err(CatalogError::Invalid {
                        file: file.clone(),
                        field: field.into(),
                        message: format!("expected a non-negative number, got {}", f.value),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn accelerator(&self, id: &str) -> Result<&Accelerator, CatalogError> {
        self.accelerators
            .get(&id.to_ascii_lowercase())
            .ok_or_else(|| CatalogError::NotFound {
                kind: "accelerator",
                id: id.into(),
                known: self
                    .accelerators
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn engine(&self, id: &str) -> Result<&Engine, CatalogError> {
        self.engines
            .get(&id.to_ascii_lowercase())
            .ok_or_else(|| CatalogError::NotFound {
                kind: "engine",
                id: id.into(),
                known: self.engines.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// The engine as it runs `model` on `accelerator` at `precision` ([`Catalog::engine_knobs`]).
    pub fn engine_on(
        &self,
        engine: &str,
        model: Option<&str>,
        accelerator: &str,
        precision: Precision,
    ) -> Result<Engine, CatalogError> {
        Ok(self.engine_knobs(engine, model, accelerator, precision)?.0)
    }

    /// The engine as it runs `model` on `accelerator` at `precision`, and where its knobs come
    /// from. Fitted knobs replace the defaults when the catalog has a calibration for the
    /// combination (the model's own first, then the engine's pooled one). Without one, the
    /// accelerator borrows by the family rule (`docs/sim.md`): each knob is the median of the
    /// engine's pooled fits on other accelerators, taken from the first of these that has any:
    /// the same family at the same precision, the same family at any precision, the same
    /// vendor at the same precision, the same vendor at any precision, any accelerator at the
    /// same precision; for an engine fitted nowhere, the other engines' fits on this
    /// accelerator, then on any, at the same precision. Only where none has a fit do the
    /// engine's uncalibrated defaults apply.
    pub fn engine_knobs(
        &self,
        engine: &str,
        model: Option<&str>,
        accelerator: &str,
        precision: Precision,
    ) -> Result<(Engine, KnobsOrigin), CatalogError> {
        let mut e = self.engine(engine)?.clone();
        let accel = accelerator.to_ascii_lowercase();
        let key = |m: Option<&str>| (e.id.clone(), accel.clone(), precision, m.map(str::to_owned));
        if let Some((k, m)) = [model, None]
            .into_iter()
            .flat_map(|m| self.calibrations.get(&key(m)).map(|k| (k, m)))
            .next()
        {
            k.clone().apply(&mut e);
            let model = m.map(str::to_owned);
            let kinds = k.kinds.clone();
            return Ok((e, KnobsOrigin::Fitted { model, kinds }));
        }
        match self.borrowed_knobs(&e.id, &accel, precision) {
            Some((knobs, origin)) => {
                knobs.apply(&mut e);
                Ok((e, origin))
            }
            None => Ok((e, KnobsOrigin::Defaults)),
        }
    }

    /// The error to expect of the simulator on `model` with knobs of `origin`: held out by
    /// accelerator where the knobs were borrowed (or are defaults), by model where the model
    /// was not among those fitted (the worse of the two where both hold), else in sample.
    /// `None` without a hold-out file.
    pub fn expected_error(&self, origin: &KnobsOrigin, model: &str) -> Option<ExpectedError> {
        let h = self.holdout.as_ref()?;
        let borrowed = matches!(origin, KnobsOrigin::Borrowed { .. } | KnobsOrigin::Defaults);
        let unfitted_model = !h.fitted_models.iter().any(|m| m == model);
        // Where both hold, the worse of the two held-out sets (fewer points within ±35%).
        let held_out = [
            (
                borrowed,
                "leave one accelerator out",
                &h.leave_one_accelerator_out,
            ),
            (
                unfitted_model,
                "leave one model out",
                &h.leave_one_model_out,
            ),
        ]
        .into_iter()
        .filter(|(applies, _, _)| *applies)
        .map(|(_, basis, f)| f.as_ref().map(|f| (basis, f)))
        .collect::<Option<Vec<_>>>()?;
        let (basis, f) = held_out
            .into_iter()
            .min_by(|a, b| a.1.within_35.value.total_cmp(&b.1.within_35.value))
            .unwrap_or(("in sample", &h.in_sample));
        Some(ExpectedError {
            basis,
            against: h.against.clone(),
            points: f.points.value,
            within_35: f.within_35.value,
            median_tput_error: f.median_tput_error.value,
            median_interactivity_error: f.median_interactivity_error.value,
            left_out: Vec::new(),
            uncalibrated: None,
        })
    }

    /// The family rule of [`Catalog::engine_knobs`] for an accelerator without a fit.
    fn borrowed_knobs(
        &self,
        engine: &str,
        accelerator: &str,
        precision: Precision,
    ) -> Option<(Knobs, KnobsOrigin)> {
        let me = self.accelerators.get(accelerator);
        let same = |a: &str, f: fn(&Accelerator) -> &str| {
            let other = self.accelerators.get(a);
            me.zip(other).is_some_and(|(m, o)| f(m) == f(o))
        };
        fn family(a: &Accelerator) -> &str {
            &a.family.value
        }
        fn vendor(a: &Accelerator) -> &str {
            &a.vendor
        }
        // Over (engine, accelerator, precision) of each pooled fit.
        type Keep<'a> = &'a dyn Fn(&str, &str, Precision) -> bool;
        let mine = |e: &str, a: &str| e == engine && a != accelerator;
        let steps: [(&'static str, Keep); 7] = [
            ("same family, same precision", &|e, a, p| {
                mine(e, a) && same(a, family) && p == precision
            }),
            ("same family, any precision", &|e, a, _| {
                mine(e, a) && same(a, family)
            }),
            ("same vendor, same precision", &|e, a, p| {
                mine(e, a) && same(a, vendor) && p == precision
            }),
            ("same vendor, any precision", &|e, a, _| {
                mine(e, a) && same(a, vendor)
            }),
            ("any accelerator, same precision", &|e, a, p| {
                mine(e, a) && p == precision
            }),
            // An engine fitted nowhere: the other engines' fits, here first.
            (
                "other engines, same accelerator, same precision",
                &|e, a, p| e != engine && a == accelerator && p == precision,
            ),
            (
                "other engines, any accelerator, same precision",
                &|e, _, p| e != engine && p == precision,
            ),
        ];
        for (rule, keep) in steps {
            let fits: Vec<(String, &Knobs)> = self
                .calibrations
                .iter()
                // Fits of single-node points only: a disaggregated deployment's knobs
                // (GB200's) absorb what single nodes do not have.
                .filter(|((e, a, p, m), k)| {
                    m.is_none() && keep(e, a, *p) && k.kinds.contains(&DeploymentKind::SingleNode)
                })
                .map(|((e, a, p, _), k)| match e == engine {
                    true => (format!("{a} {p}"), k),
                    false => (format!("{e} {a} {p}"), k),
                })
                .collect();
            if !fits.is_empty() {
                let knobs = Knobs::median(fits.iter().map(|f| f.1));
                let from = fits.into_iter().map(|f| f.0).collect();
                return Some((knobs, KnobsOrigin::Borrowed { rule, from }));
            }
        }
        None
    }

    /// The model `name` names: its id, Hugging Face id or an alias (case-insensitive).
    pub fn find_model(&self, name: &str) -> Option<&Model> {
        self.models.values().find(|m| m.is_named(name))
    }

    /// The catalog id of the model `name` names, simulated or only described.
    pub fn model_id(&self, name: &str) -> Option<&str> {
        self.find_model(name).map(|m| m.id.as_str()).or_else(|| {
            self.model_cards
                .values()
                .find(|c| c.is_named(name))
                .map(|c| c.id.as_str())
        })
    }

    /// The model `name` names, or why it cannot be simulated.
    pub fn simulated_model(&self, name: &str) -> Result<&Model, CatalogError> {
        if let Some(m) = self.find_model(name) {
            return Ok(m);
        }
        match self.model_cards.values().find(|c| c.is_named(name)) {
            Some(c) => Err(CatalogError::Undescribed {
                id: c.id.clone(),
                file: self
                    .origin
                    .get(&format!("card:{}", c.id))
                    .cloned()
                    .unwrap_or_default(),
                unknown: c.unknown.clone(),
            }),
            None => self.model(name),
        }
    }

    /// The accuracy threshold of eval `task` for the model `name` names (its own, else the
    /// task's default), if there is one.
    pub fn eval_threshold(&self, task: &str, model: &str) -> Option<&Figure> {
        self.model_id(model)
            .and_then(|id| self.eval_thresholds.models.get(id))
            .and_then(|t| t.get(task))
            .or_else(|| self.eval_thresholds.default.get(task))
    }

    pub fn model(&self, id: &str) -> Result<&Model, CatalogError> {
        let id = id.to_ascii_lowercase();
        if let Some(m) = self.models.get(&id) {
            return Ok(m);
        }
        if self.model_cards.contains_key(&id) {
            return self.simulated_model(&id);
        }
        Err(CatalogError::NotFound {
            kind: "model",
            id,
            known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }
}

#[derive(Deserialize)]
struct Kind {
    kind: String,
}

/// A speculative-decoding acceptance curve (`kind: acceptance`): the mean acceptance length
/// (1 + accepted draft tokens per verification) per number of draft tokens, with thinking on
/// and, where measured, off.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    #[serde(skip_serializing)]
    kind: String,
    /// The catalog model id.
    pub model: String,
    /// `mtp`, `eagle3`, `dspark`.
    pub method: String,
    /// The key of where the whole curve comes from.
    pub source: String,
    pub thinking_on: BTreeMap<u32, f64>,
    #[serde(default)]
    pub thinking_off: BTreeMap<u32, f64>,
}

impl Acceptance {
    /// The draft length whose committed acceptance length is `al` (thinking on first, to two
    /// decimals as committed), if any.
    pub fn draft_tokens_for(&self, al: f64) -> Option<u32> {
        [&self.thinking_on, &self.thinking_off]
            .into_iter()
            .flat_map(|c| c.iter())
            .find(|(_, v)| (**v - al).abs() < 0.005)
            .map(|(k, _)| *k)
    }

    /// The mean acceptance length at `draft_tokens` draft tokens (the thinking-on curve where
    /// the source measured both), if the source measured that length.
    pub fn acceptance_length(&self, draft_tokens: u32) -> Option<f64> {
        self.thinking_on
            .get(&draft_tokens)
            .or_else(|| self.thinking_off.get(&draft_tokens))
            .copied()
    }

    /// Every acceptance length lies in [1, draft tokens + 1].
    fn validate(&self) -> Result<(), (String, String)> {
        for (mode, curve) in [
            ("thinking_on", &self.thinking_on),
            ("thinking_off", &self.thinking_off),
        ] {
            for (&k, &al) in curve {
                if k == 0 || !(1.0..=f64::from(k) + 1.0).contains(&al) {
                    return Err((
                        format!("{mode}.{k}"),
                        format!("expected an acceptance length in [1, {}], got {al}", k + 1),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A model whose file states some figures as not known (`{unknown: why}`): its names and what
/// is missing, so recipes naming it resolve and simulating it says why it cannot.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelCard {
    pub id: String,
    pub name: String,
    pub hf_id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(skip)]
    pub unknown: Vec<UnknownFact>,
}

impl ModelCard {
    pub fn is_named(&self, name: &str) -> bool {
        model::names_include(&self.id, &self.hf_id, &self.aliases, name)
    }
}

/// A figure a model file states as not known, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UnknownFact {
    /// Dotted path: `attention.query_heads`.
    pub field: String,
    pub why: String,
}

/// Every `{unknown: why}` in a data file, by dotted path.
fn unknown_facts(file: &str, text: &str) -> Result<Vec<UnknownFact>, CatalogError> {
    let doc: serde_norway::Value = parse(file, text)?;
    let mut out = Vec::new();
    walk(&doc, "", &mut |path, m| {
        if let Some(why) = m.get("unknown") {
            out.push(UnknownFact {
                field: path.to_string(),
                why: why.as_str().unwrap_or_default().to_string(),
            });
        }
    });
    Ok(out)
}

/// In a file that cannot be read into its type (it states unknowns), every `{value, source}`
/// still cites a defined source and holds a non-negative number, and every unknown says why.
fn check_cited(
    file: &str,
    text: &str,
    sources: &BTreeMap<String, Source>,
) -> Result<(), CatalogError> {
    let doc: serde_norway::Value = parse(file, text)?;
    let mut bad = None;
    walk(&doc, "", &mut |path, m| {
        let invalid = |message: String| CatalogError::Invalid {
            file: file.into(),
            field: path.into(),
            message,
        };
        if let Some(why) = m.get("unknown") {
            if why.as_str().is_none_or(|w| w.trim().is_empty()) || m.len() != 1 {
                bad.get_or_insert(invalid("expected {unknown: <why it is not known>}".into()));
            }
        } else if let (Some(v), Some(src)) = (m.get("value"), m.get("source")) {
            match (v.as_f64(), src.as_str()) {
                (Some(v), _) if !(v.is_finite() && v >= 0.0) => {
                    bad.get_or_insert(invalid(format!("expected a non-negative number, got {v}")));
                }
                (None, _) => {
                    bad.get_or_insert(invalid("expected a number".into()));
                }
                (_, Some(s)) if !sources.contains_key(s) => {
                    bad.get_or_insert(invalid(format!(
                        "source '{s}' is not defined in any sources.yaml"
                    )));
                }
                _ => {}
            }
        }
    });
    bad.map_or(Ok(()), Err)
}

/// Calls `f(path, mapping)` for every mapping in `v`, depth first.
fn walk(v: &serde_norway::Value, path: &str, f: &mut dyn FnMut(&str, &serde_norway::Mapping)) {
    match v {
        serde_norway::Value::Mapping(m) => {
            f(path, m);
            for (k, child) in m {
                let key = k.as_str().map_or_else(|| format!("{k:?}"), str::to_string);
                let p = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(child, &p, f);
            }
        }
        serde_norway::Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{path}[{i}]"), f);
            }
        }
        _ => {}
    }
}

/// Deserialize YAML, turning errors into `file:line:column: message`.
fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, CatalogError> {
    serde_norway::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let mut message = e.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        CatalogError::Parse {
            file: file.into(),
            line,
            column,
            message,
        }
    })
}
