//! `servebench simulate`: benchmark points of the simulated engine in virtual time (no HTTP).

use super::deployment::DeploymentArgs;
use servebench_sim::virtual_time::{simulate, VirtualPoint};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    dep: DeploymentArgs,
    /// Model id from the catalog (llama-3.3-70b, deepseek-r1-0528, gpt-oss-120b, kimi-k2.6,
    /// deepseek-v4-pro, qwen3.5-397b-a17b, glm-5.1, minimax-m3: docs/catalog.md), or any of its
    /// names (Hugging Face ids, InferenceX prefixes).
    #[arg(long)]
    model: String,
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
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let catalog = a.dep.catalog()?;
    let perf = a.dep.perf(&catalog, &a.model)?;
    let gpus = perf.gpus();
    if !a.json {
        println!("{}, ISL {} OSL {}", a.dep.describe(&a.model), a.isl, a.osl);
        println!("  engine knobs: {}", perf.dep.knobs);
        if let Some(e) = catalog.expected_error(&perf.dep.knobs, &perf.dep.model.id) {
            println!("  expected error: {e}");
        }
        println!(
            "{:>6} {:>12} {:>14} {:>12} {:>12} {:>8} {:>10} {:>10}",
            "conc", "tok/s/gpu", "tok/s/user", "TTFT ms", "E2EL s", "W/gpu", "J/out tok", "sim ms"
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
        let (tput, intv) = (r.tput_per_gpu(gpus), r.median_interactivity());
        let (watts, j_out) = (r.avg_power_per_gpu_w(), r.joules_per_output_token(gpus));
        if a.json {
            println!(
                "{}",
                serde_json::json!({
                    "gpu": a.dep.gpu, "model": a.model, "precision": a.dep.precision.map(|p| p.to_string()),
                    "engine": a.dep.engine, "tp": gpus, "conc": c, "isl": a.isl, "osl": a.osl,
                    "tput_per_gpu": tput, "median_intvty": intv, "median_ttft_ms": median_ttft,
                    "mean_e2el_s": e2el, "requests": r.outcomes.len(), "refused": r.outcomes.len() - served, "steps": r.stats.steps,
                    "preemptions": r.stats.preemptions, "avg_power_per_gpu_w": watts,
                    "joules_per_output_token": j_out, "simulation_ms": sim_ms,
                })
            );
        } else {
            println!(
                "{c:>6} {tput:>12.1} {intv:>14.1} {median_ttft:>12.1} {e2el:>12.2} {watts:>8.0} {j_out:>10.3} {sim_ms:>10.1}"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
