//! The flags that name a simulated deployment, shared by `sim` (real time) and `simulate`
//! (virtual time).

use anyhow::Context;
use servebench_catalog::{Catalog, Precision};
use servebench_sim::perf::{Deployment, PerfModel, SpecDecode};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct DeploymentArgs {
    /// Accelerator id from the catalog (h100, h200, b200, b300, gb200, gb300, mi300x, mi325x,
    /// mi355x, rtx6000pro, or one of your own catalog files). One without fitted knobs borrows
    /// its family's (docs/sim.md).
    #[arg(long)]
    pub gpu: Option<String>,
    /// Weight and KV precision (bf16, fp8, fp4).
    #[arg(long, value_parser = parse_precision)]
    pub precision: Option<Precision>,
    /// Serving engine whose scheduler defaults and efficiency knobs apply (vllm, sglang, trt).
    #[arg(long, default_value = "vllm")]
    pub engine: String,
    /// GPUs of one pipeline stage (the tensor-parallel group).
    #[arg(long, default_value_t = 8)]
    pub tp: u32,
    /// Expert-parallel GPUs among them (MoE models; 1: experts split tensor-parallel).
    #[arg(long, default_value_t = 1)]
    pub ep: u32,
    /// Pipeline stages, each of `--tp` GPUs.
    #[arg(long, default_value_t = 1)]
    pub pp: u32,
    /// Data-parallel attention (each GPU caches only its own sequences).
    #[arg(long)]
    pub dp_attention: bool,
    /// Expert-parallel load balancing (redundant experts placed by load).
    #[arg(long)]
    pub eplb: bool,
    /// Speculative decoding / MTP as DRAFT_TOKENS:ACCEPTANCE_LENGTH, e.g. 3:2.4.
    #[arg(long, value_name = "DRAFT:ACCEPT")]
    pub spec_decode: Option<SpecDecode>,
    /// KV cache offloaded to this much CPU memory, GB for the whole server (InferenceX's
    /// `kv-offloading: dram` with `total-cpu-dram-gb`): cached prefix blocks are kept there too
    /// and come back over the accelerator's host link (catalog `host_link`).
    #[arg(long, value_name = "GB", default_value_t = 0.0, value_parser = non_negative)]
    pub kv_offload_gb: f64,
    /// The engine this many times as efficient as its profile (compute and memory efficiency
    /// scaled): a what-if, such as a new engine release (a `sim` recipe's image bump).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = super::sim::positive)]
    pub efficiency_scale: f64,
    /// A directory of extra catalog files (sources.yaml, accelerators/, models/, engines/).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("expected a number of GB, 0 or more, got '{s}'")),
    }
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    s.parse()
}

impl DeploymentArgs {
    /// The built-in catalog plus `--catalog`.
    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        let mut catalog = Catalog::builtin()?;
        if let Some(dir) = &self.catalog {
            catalog
                .load_dir(dir)
                .with_context(|| format!("loading the catalog in {}", dir.display()))?;
        }
        Ok(catalog)
    }

    /// The step-time model of `model` on this deployment (`--gpu` and `--precision` required).
    pub fn perf(&self, catalog: &Catalog, model: &str) -> anyhow::Result<PerfModel> {
        let gpu = self.gpu.as_deref().context("--gpu is required")?;
        let precision = self
            .precision
            .context("--precision is required with --gpu")?;
        // Any of the model's names: its id, Hugging Face ids (a checkpoint's own weight
        // format), InferenceX's prefixes.
        let id = catalog.simulated_model(model)?.id.as_str();
        let mut dep = Deployment::from_catalog(catalog, gpu, id, &self.engine, precision, self.tp)?;
        dep.model = dep.model.with_checkpoint(model);
        dep.ep = self.ep;
        dep.pp = self.pp;
        dep.dp_attention = self.dp_attention;
        dep.eplb = self.eplb;
        dep.spec = self.spec_decode;
        dep.kv_offload_gb = self.kv_offload_gb;
        dep.scale_efficiency(self.efficiency_scale)?;
        Ok(PerfModel::new(dep)?)
    }

    /// One line: what runs on what.
    pub fn describe(&self, model: &str) -> String {
        format!(
            "{model} {} {} on {} × {}, ep {}{} ({})",
            self.precision.map(|p| p.to_string()).unwrap_or_default(),
            self.engine,
            self.tp * self.pp,
            self.gpu.as_deref().unwrap_or("?"),
            self.ep,
            if self.pp > 1 {
                format!(", {} pipeline stages", self.pp)
            } else {
                String::new()
            },
            if self.dp_attention {
                "DP attention"
            } else {
                "TP attention"
            },
        )
    }
}
