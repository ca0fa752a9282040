//! Sweeps in virtual time: every point of the plan simulated by the engine model directly (no
//! server, no HTTP, no waiting), InferenceX's workload per point. The whole InferenceMAX v1
//! catalog takes seconds; what it measures is the simulator's, labelled as such by the caller.

use crate::engine::{sim_gpu, sim_model, simulated_engine};
use crate::plan::{Job, Topology, Workload};
use servebench_catalog::{Catalog, Precision};
use servebench_core::stats::Summary;
use servebench_sim::perf::{Deployment, PerfModel};
use servebench_sim::virtual_time::{simulate, VirtualPoint};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One simulated point: the medians and p99s a bench result would give.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Index of the job in the plan.
    pub job: usize,
    pub conc: u32,
    /// The catalog's model id (what published results use).
    pub model: String,
    /// The simulated accelerator and engine.
    pub gpu: String,
    pub engine: String,
    pub num_gpus: u32,
    pub isl: u32,
    pub osl: u32,
    pub tput_per_gpu: f64,
    pub input_tput_per_gpu: f64,
    pub output_tput_per_gpu: f64,
    pub median_intvty: f64,
    pub median_ttft_ms: f64,
    pub median_tpot_ms: f64,
    pub median_e2el_ms: f64,
    pub p99_ttft_ms: f64,
    pub p99_tpot_ms: f64,
    pub p99_e2el_ms: f64,
    pub completed: u64,
    /// Requests the KV cache could never hold.
    pub failed: u64,
    /// Simulated board energy per output token, J (all GPUs).
    pub joules_per_output_token: f64,
}

/// The simulator's deployment of a single-node job with a fixed workload.
fn perf(job: &Job, catalog: &Catalog) -> Result<(PerfModel, String, String, u32), String> {
    let Topology::Single { tp, dp_attn, .. } = job.topology else {
        return Err(format!(
            "{}: multi-node (prefill/decode) deployments are not simulated",
            job.config_key
        ));
    };
    let gpu = sim_gpu(&job.runner, catalog)?;
    let model = sim_model(&job.model, catalog)
        .or_else(|e| sim_model(&job.model_prefix, catalog).map_err(|_| e))?;
    let engine = simulated_engine(&job.framework).unwrap_or("vllm");
    let precision: Precision = job.precision.parse()?;
    let mut dep = Deployment::from_catalog(catalog, &gpu, &model, engine, precision, tp)
        .map_err(|e| format!("{}: {e}", job.config_key))?;
    dep.dp_attention = dp_attn;
    let perf = PerfModel::new(dep).map_err(|e| format!("{}: {e}", job.config_key))?;
    Ok((perf, gpu, model, tp))
}

fn measure(job: &Job, j: usize, conc: u32, catalog: &Catalog) -> Result<Measurement, String> {
    let Workload::Fixed { isl, osl } = job.workload else {
        return Err(format!(
            "{}: agentic jobs are not simulated",
            job.config_key
        ));
    };
    let (perf, gpu, model, gpus) = perf(job, catalog)?;
    let r = simulate(
        &perf,
        &VirtualPoint::inferencex(conc as usize, isl as u64, osl as u64),
    );
    let served: Vec<_> = r.served().collect();
    let e2el: Vec<f64> = served
        .iter()
        .map(|o| (o.last_token_s - o.arrival_s) * 1e3)
        .collect();
    let (ttft, tpot, e2el) = (
        Summary::of(&mut r.ttfts_ms()),
        Summary::of(&mut r.tpots_ms()),
        Summary::of_slice(&e2el),
    );
    let d = r.duration_s() * gpus as f64;
    Ok(Measurement {
        job: j,
        conc,
        model,
        gpu,
        engine: simulated_engine(&job.framework).unwrap_or("vllm").into(),
        num_gpus: gpus,
        isl,
        osl,
        tput_per_gpu: r.tput_per_gpu(gpus),
        input_tput_per_gpu: r.input_tokens() as f64 / d,
        output_tput_per_gpu: r.output_tokens() as f64 / d,
        median_intvty: r.median_interactivity(),
        median_ttft_ms: ttft.median,
        median_tpot_ms: tpot.median,
        median_e2el_ms: e2el.median,
        p99_ttft_ms: ttft.p99,
        p99_tpot_ms: tpot.p99,
        p99_e2el_ms: e2el.p99,
        completed: served.len() as u64,
        failed: (r.outcomes.len() - served.len()) as u64,
        joules_per_output_token: r.joules_per_output_token(gpus),
    })
}

/// Every (job, concurrency) of the plan simulated, on `threads` threads; `done(n, total)` after
/// each point. Results in plan order.
pub fn run(
    jobs: &[Job],
    catalog: &Catalog,
    threads: usize,
    done: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Result<Measurement, String>> {
    let tasks: Vec<(usize, u32)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(j, job)| job.conc.iter().map(move |&c| (j, c)))
        .collect();
    let out: Mutex<Vec<Option<Result<Measurement, String>>>> = Mutex::new(vec![None; tasks.len()]);
    let (next, finished) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(j, c)) = tasks.get(i) else { break };
                let m = measure(&jobs[j], j, c, catalog);
                out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(m);
                done(finished.fetch_add(1, Ordering::Relaxed) + 1, tasks.len());
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|m| m.unwrap_or_else(|| Err("not run".into())))
        .collect()
}
