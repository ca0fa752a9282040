//! `servebench simulate`: benchmark points of the simulated engine in virtual time (no HTTP).

use anyhow::Context;
use servebench_catalog::{Catalog, Precision};
use servebench_sim::perf::{Deployment, PerfModel};
use servebench_sim::virtual_time::{simulate, VirtualPoint};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Accelerator id from the catalog (h100, h200, b200, b300, gb200, gb300, mi300x, mi325x, mi355x).
    #[arg(long)]
    gpu: String,
    /// Model id from the catalog (llama-3.3-70b, deepseek-r1-0528, gpt-oss-120b).
    #[arg(long)]
    model: String,
    #[arg(long, value_parser = parse_precision)]
    precision: Precision,
    /// Serving engine whose scheduler defaults and efficiency knobs apply (vllm, sglang, trt).
    #[arg(long, default_value = "vllm")]
    engine: String,
    /// Tensor-parallel GPUs.
    #[arg(long, default_value_t = 8)]
    tp: u32,
    /// Data-parallel attention (each GPU caches only its own sequences).
    #[arg(long)]
    dp_attention: bool,
    /// Speculative decoding / MTP as DRAFT_TOKENS:ACCEPTANCE_LENGTH, e.g. 3:2.4.
    #[arg(long)]
    spec_decode: Option<servebench_sim::perf::SpecDecode>,
    /// Concurrency values (one point each).
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256")]
    concurrency: Vec<usize>,
    #[arg(long, default_value_t = 1024)]
    isl: u64,
    #[arg(long, default_value_t = 1024)]
    osl: u64,
    /// Measured requests per point (default 10 × concurrency, as InferenceX).
    #[arg(long)]
    num_prompts: Option<usize>,
    /// A directory of extra catalog files (sources.yaml, accelerators/, models/, engines/).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_precision(s: &str) -> Result<Precision, String> {
    s.parse()
}

pub fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut catalog = Catalog::builtin()?;
    if let Some(dir) = &a.catalog {
        catalog
            .load_dir(dir)
            .with_context(|| format!("loading the catalog in {}", dir.display()))?;
    }
    let mut dep =
        Deployment::from_catalog(&catalog, &a.gpu, &a.model, &a.engine, a.precision, a.tp)?;
    dep.dp_attention = a.dp_attention;
    dep.spec = a.spec_decode;
    let perf = PerfModel::new(dep)?;
    if !a.json {
        println!(
            "{} {} {} on {} × {} ({}), ISL {} OSL {}",
            a.model,
            a.precision,
            a.engine,
            a.tp,
            a.gpu,
            if a.dp_attention {
                "DP attention"
            } else {
                "TP attention"
            },
            a.isl,
            a.osl
        );
        println!(
            "{:>6} {:>12} {:>14} {:>12} {:>12} {:>12}",
            "conc", "tok/s/gpu", "tok/s/user", "TTFT ms", "E2EL s", "sim ms"
        );
    }
    for &c in &a.concurrency {
        let mut p = VirtualPoint::inferencex(c, a.isl, a.osl);
        if let Some(n) = a.num_prompts {
            p.requests = n;
        }
        let t0 = Instant::now();
        let r = simulate(&perf, &p);
        let sim_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut ttft = r.ttfts_ms();
        ttft.sort_by(|x, y| x.total_cmp(y));
        let median_ttft = ttft.get(ttft.len() / 2).copied().unwrap_or(0.0);
        let served = r.served().count();
        let e2el: f64 = r
            .served()
            .map(|o| o.last_token_s - o.arrival_s)
            .sum::<f64>()
            / served.max(1) as f64;
        let (tput, intv) = (r.tput_per_gpu(a.tp), r.median_interactivity());
        if a.json {
            println!(
                "{}",
                serde_json::json!({
                    "gpu": a.gpu, "model": a.model, "precision": a.precision.to_string(),
                    "engine": a.engine, "tp": a.tp, "conc": c, "isl": a.isl, "osl": a.osl,
                    "tput_per_gpu": tput, "median_intvty": intv, "median_ttft_ms": median_ttft,
                    "mean_e2el_s": e2el, "requests": r.outcomes.len(), "refused": r.outcomes.len() - served, "steps": r.stats.steps,
                    "preemptions": r.stats.preemptions, "simulation_ms": sim_ms,
                })
            );
        } else {
            println!(
                "{c:>6} {tput:>12.1} {intv:>14.1} {median_ttft:>12.1} {e2el:>12.2} {sim_ms:>12.1}"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
