//! Sweeps in virtual time: every point of the plan simulated by the engine model directly (no
//! server, no HTTP, no waiting), InferenceX's workload per point. The whole InferenceMAX v1
//! catalog takes seconds; what it measures is the simulator's, labelled as such by the caller.

use crate::engine::{sim_gpu, sim_model, simulated_engine};
use crate::local::{named, point_name, write_atomic, FailedPoint, StoredPoint, SweepSummary};
use crate::plan::{Job, Topology, Workload};
use servebench_catalog::{Catalog, DeploymentKind, ExpectedError, KnobsOrigin, Precision};
use servebench_client::metrics::{aggregate, Context};
use servebench_client::record::Failure;
use servebench_client::record::RequestRecord;
use servebench_client::runner::PointRun;
use servebench_core::failure::FailureKind;
use servebench_core::result::{BenchResult, LengthStats, Provenance, RequestRate, RunConfig};
use servebench_core::stats::CountDistribution;
use servebench_core::stats::Summary;
use servebench_sim::disagg::{simulate_disagg, Disagg, KvLink, Pool};
use servebench_sim::perf::{Deployment, PerfModel, SpecDecode};
use servebench_sim::scheduler::SimOutcome;
use servebench_sim::virtual_time::{simulate, VirtualPoint, VirtualResult};
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
    /// The simulated accelerator, and the recipe's engine (framework).
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
    /// What the simulator ran: its engine model, where its knobs came from, the error to
    /// expect, the simulated energy, and what of the recipe it left out.
    pub info: SimulatorInfo,
}

/// What the simulator runs for a job: one engine (single node), or pools of workers behind a
/// router (multi-node: disaggregated prefill and decode, or aggregated workers).
enum Deploy {
    Single(PerfModel),
    Pools {
        prefill: (PerfModel, usize),
        decode: Option<Box<(PerfModel, usize)>>,
        link: KvLink,
    },
}

impl Deploy {
    /// The engine the simulator's account describes (the single one, or the prefill pool's).
    fn lead(&self) -> &PerfModel {
        match self {
            Deploy::Single(p)
            | Deploy::Pools {
                prefill: (p, _), ..
            } => p,
        }
    }

    /// (prefill GPUs, decode GPUs); a single node's are all "prefill".
    fn gpus(&self) -> (u32, u32) {
        match self {
            Deploy::Single(p) => (p.gpus(), 0),
            Deploy::Pools {
                prefill, decode, ..
            } => (pool_gpus(prefill), decode.as_deref().map_or(0, pool_gpus)),
        }
    }

    /// Every worker's model (the single one, or one per pool).
    fn workers(&self) -> impl Iterator<Item = &PerfModel> {
        let (first, second) = match self {
            Deploy::Single(p) => (p, None),
            Deploy::Pools {
                prefill, decode, ..
            } => (&prefill.0, decode.as_deref().map(|d| &d.0)),
        };
        std::iter::once(first).chain(second)
    }

    /// Whether any worker speculates.
    fn speculates(&self) -> bool {
        self.workers().any(|p| p.dep.spec.is_some())
    }

    fn simulate(&self, vp: &VirtualPoint) -> VirtualResult {
        match self {
            Deploy::Single(p) => simulate(p, vp),
            Deploy::Pools {
                prefill,
                decode,
                link,
            } => {
                fn pool((p, n): &(PerfModel, usize)) -> Pool<'_> {
                    Pool {
                        perf: p,
                        workers: *n,
                    }
                }
                let prefill = pool(prefill);
                let d = Disagg {
                    prefill,
                    // No decode pool: aggregated workers.
                    decode: decode.as_deref().map_or(
                        Pool {
                            workers: 0,
                            ..prefill
                        },
                        pool,
                    ),
                    link: *link,
                };
                simulate_disagg(&d, vp)
            }
        }
    }
}

/// The simulator's deployment of a job with a fixed workload, at concurrency `conc`.
fn deploy(job: &Job, conc: u32, catalog: &Catalog) -> Result<Deploy, String> {
    let spec = acceptance(job, conc, catalog)?;
    match &job.topology {
        Topology::Single {
            tp,
            pp,
            ep,
            dp_attn,
            ..
        } => {
            let shape = Shape::of(*tp, *ep, *pp, *dp_attn, &[]);
            Ok(Deploy::Single(with_spec(
                worker_perf(job, catalog, shape)?,
                spec,
            )?))
        }
        Topology::Multi { prefill, decode } => {
            let shape = |w: &crate::recipe::Worker| {
                let settings = w.additional_settings.as_deref().unwrap_or_default();
                Shape::of(w.tp, w.ep, w.pp, w.dp_attn, settings)
            };
            let mut p = (
                worker_perf(job, catalog, shape(prefill))?,
                prefill.num_worker.max(1) as usize,
            );
            let d = match decode.num_worker {
                // Aggregated workers decode too.
                0 => {
                    p.0 = with_spec(p.0, spec)?;
                    None
                }
                n => {
                    let w = with_spec(worker_perf(job, catalog, shape(decode))?, spec)?;
                    Some(Box::new((w, n as usize)))
                }
            };
            let gpus = pool_gpus(&p) + d.as_deref().map_or(0, pool_gpus);
            let link =
                KvLink::between(&p.0.dep, gpus).map_err(|e| format!("{}: {e}", job.config_key))?;
            Ok(Deploy::Pools {
                prefill: p,
                decode: d,
                link,
            })
        }
    }
}

/// A recipe's worker as the step model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    /// GPUs of one pipeline stage: vLLM writes a data-parallel expert-parallel worker as
    /// `tp: 1, ep: 8` (DEP8, eight GPUs), SGLang and TensorRT-LLM as `tp: 8, ep: 8`.
    pub(crate) gpus: u32,
    pub(crate) ep: u32,
    pub(crate) pp: u32,
    pub(crate) dp_attn: bool,
    /// Expert-parallel load balancing: an `eplb<slots>` recipe name with slots > 0.
    pub(crate) eplb: bool,
}

impl Shape {
    pub(crate) fn of(tp: u32, ep: u32, pp: u32, dp_attn: bool, settings: &[String]) -> Shape {
        let eplb = settings
            .iter()
            .filter_map(|s| s.strip_prefix("CONFIG_FILE="))
            .filter_map(|f| name_number(f, "eplb"))
            .any(|slots| slots > 0);
        Shape {
            gpus: tp.max(ep).max(1),
            ep: ep.max(1),
            pp: pp.max(1),
            dp_attn,
            eplb,
        }
    }
}

/// The number after `key` in a recipe file name's `_`/`-`/`/`-separated words (`eplb256`,
/// `mtp3`).
fn name_number(name: &str, key: &str) -> Option<u32> {
    name.split(['_', '-', '/', '.'])
        .filter_map(|w| w.strip_prefix(key))
        .find_map(|n| n.parse().ok())
}

/// GPUs of a pool: workers × the GPUs of one worker.
fn pool_gpus((perf, workers): &(PerfModel, usize)) -> u32 {
    *workers as u32 * perf.gpus()
}

/// The speculative decoding a job's workers run: for `spec-decoding: mtp` (or another method),
/// the catalog's acceptance curve for the model read at the draft length the recipe gives
/// (`DECODE_MTP_SIZE=N`, an `mtpN` recipe file, or for a single node the launch script's,
/// [`crate::draft_tokens`]); where InferenceX pins the acceptance
/// (`SYNTHETIC_ACCEPTANCE_LENGTH=AL`), that, at the curve's draft length for it. `None` where
/// the recipe does not speculate, or gives no draft length and pins nothing.
pub(crate) fn acceptance(
    job: &Job,
    conc: u32,
    catalog: &Catalog,
) -> Result<Option<SpecDecode>, String> {
    if job.spec_decoding == crate::recipe::SpecDecoding::None {
        return Ok(None);
    }
    let settings: Vec<&str> = match &job.topology {
        Topology::Multi { prefill, decode } => [prefill, decode]
            .into_iter()
            .flat_map(|w| w.additional_settings.iter().flatten())
            .map(String::as_str)
            .collect(),
        Topology::Single { .. } => Vec::new(),
    };
    let setting = |key: &str| settings.iter().find_map(|s| s.strip_prefix(key));
    let bad = |why: String| format!("{}: {why}", job.config_key);
    let model = sim_model(&job.model, catalog)?;
    let method = job.spec_decoding.as_str();
    let curve = || {
        catalog
            .acceptance
            .get(&(model.clone(), method.to_string()))
            .ok_or_else(|| {
                bad(format!(
                    "the catalog has no {method} acceptance curve for {model}"
                ))
            })
    };
    if let Some(value) = setting("SYNTHETIC_ACCEPTANCE_LENGTH=") {
        let al: f64 = value.trim().parse().map_err(|_| {
            bad(format!(
                "SYNTHETIC_ACCEPTANCE_LENGTH={value}: expected a number"
            ))
        })?;
        let draft_tokens = curve()?.draft_tokens_for(al).ok_or_else(|| {
            bad(format!(
                "SYNTHETIC_ACCEPTANCE_LENGTH={value}: no draft length of {model}'s {method} curve has it"
            ))
        })?;
        return Ok(Some(SpecDecode {
            draft_tokens,
            acceptance_length: al,
        }));
    }
    let draft = match setting("DECODE_MTP_SIZE=") {
        Some(n) => Some(n.trim().parse::<u32>().map_err(|_| {
            bad(format!(
                "DECODE_MTP_SIZE={n}: expected a number of draft tokens"
            ))
        })?),
        None => match &job.topology {
            Topology::Single { dp_attn, .. } => {
                crate::draft_tokens::of(&job.config_key, *dp_attn, conc)
            }
            Topology::Multi { .. } => setting("CONFIG_FILE=").and_then(|f| name_number(f, "mtp")),
        },
    };
    let Some(draft_tokens) = draft.filter(|&d| d > 0) else {
        return Ok(None);
    };
    let Some(al) = curve()?.acceptance_length(draft_tokens) else {
        return Err(bad(format!(
            "{model}'s {method} curve has no acceptance length for {draft_tokens} draft tokens"
        )));
    };
    Ok(Some(SpecDecode {
        draft_tokens,
        acceptance_length: al,
    }))
}

/// The speculative decoding a single-node job's simulated server runs at every concurrency
/// of the job ([`acceptance`]): an error where it has none or it changes with concurrency.
pub(crate) fn speculation(job: &Job, catalog: &Catalog) -> Result<SpecDecode, String> {
    let mut all: Vec<Option<SpecDecode>> = job
        .conc
        .iter()
        .map(|&c| acceptance(job, c, catalog))
        .collect::<Result<_, _>>()?;
    all.dedup();
    match all[..] {
        [Some(sd)] => Ok(sd),
        _ => Err(format!(
            "{}: no single speculative setting over concurrencies {:?}",
            job.config_key, job.conc
        )),
    }
}

/// `perf` decoding with `spec`, where there is one.
fn with_spec(perf: PerfModel, spec: Option<SpecDecode>) -> Result<PerfModel, String> {
    let Some(spec) = spec else { return Ok(perf) };
    let mut dep = perf.dep;
    dep.spec = Some(spec);
    PerfModel::new(dep).map_err(|e| e.to_string())
}

/// One worker of a job: `shape`'s GPUs of the job's accelerator serving its model and
/// checkpoint.
fn worker_perf(job: &Job, catalog: &Catalog, shape: Shape) -> Result<PerfModel, String> {
    let gpu = sim_gpu(&job.runner, catalog)?;
    let model = sim_model(&job.model, catalog)
        .or_else(|e| sim_model(&job.model_prefix, catalog).map_err(|_| e))?;
    let own = SimRecipeArgs::of(job)?;
    let engine = simulated_engine(&job.framework)
        .or(own.engine)
        .unwrap_or("vllm");
    let precision: Precision = job.precision.parse()?;
    let mut dep = Deployment::from_catalog(catalog, &gpu, &model, engine, precision, shape.gpus)
        .map_err(|e| format!("{}: {e}", job.config_key))?;
    dep.scale_efficiency(own.efficiency_scale)
        .map_err(|e| format!("{}: {e}", job.config_key))?;
    dep.ep = shape.ep.min(shape.gpus);
    dep.pp = shape.pp;
    dep.dp_attention = shape.dp_attn;
    dep.eplb = shape.eplb;
    dep.model = dep.model.with_checkpoint(&job.model);
    if let Workload::Fixed { isl, osl } = job.workload {
        let context = dep.model.context.value;
        if f64::from(isl + osl) > context {
            return Err(format!(
                "{}: {isl} + {osl} tokens exceed {}'s context of {context}",
                job.config_key, dep.model.id
            ));
        }
    }
    PerfModel::new(dep).map_err(|e| format!("{}: {e}", job.config_key))
}

/// What a `sim` recipe's own engine arguments tell the engine model (the simulated server takes
/// them on its command line): its engine profile and efficiency scale.
struct SimRecipeArgs<'a> {
    engine: Option<&'a str>,
    efficiency_scale: f64,
}

impl<'a> SimRecipeArgs<'a> {
    fn of(job: &'a Job) -> Result<SimRecipeArgs<'a>, String> {
        let mut own = SimRecipeArgs {
            engine: None,
            efficiency_scale: 1.0,
        };
        if job.framework != "sim" {
            return Ok(own);
        }
        let mut args = job.engine_args.iter();
        while let Some(a) = args.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (a.as_str(), None),
            };
            if !matches!(flag, "--engine" | "--efficiency-scale") {
                continue;
            }
            let value = inline
                .or_else(|| args.next().map(String::as_str))
                .ok_or_else(|| format!("{}: engine-args: {flag} needs a value", job.config_key))?;
            if flag == "--engine" {
                own.engine = Some(value);
            } else {
                own.efficiency_scale = value
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| {
                        format!(
                            "{}: engine-args: --efficiency-scale {value}: expected a number above 0",
                            job.config_key
                        )
                    })?;
            }
        }
        Ok(own)
    }
}

/// A job's point at `conc` with `requests_per_conc` × `conc` measured requests (the
/// calibration's shorter runs): (total tok/s per GPU over every GPU, median tok/s/user).
pub fn simulate_job(
    job: &Job,
    conc: u32,
    catalog: &Catalog,
    requests_per_conc: usize,
) -> Result<(f64, f64), String> {
    let (deploy, mut vp) = fixed_point(job, conc, catalog)?;
    vp.requests = (requests_per_conc * conc as usize).max(1);
    vp.warmups = vp.warmups.min(vp.requests);
    let r = deploy.simulate(&vp);
    let (p, d) = deploy.gpus();
    Ok((r.tput_per_gpu(p + d), r.median_interactivity()))
}

/// A fixed-workload job's deployment at `conc`, and InferenceX's workload for the point.
fn fixed_point(job: &Job, conc: u32, catalog: &Catalog) -> Result<(Deploy, VirtualPoint), String> {
    let Workload::Fixed { isl, osl } = job.workload else {
        return Err(format!(
            "{}: agentic jobs are not simulated",
            job.config_key
        ));
    };
    let vp = VirtualPoint::inferencex(conc as usize, isl as u64, osl as u64);
    Ok((deploy(job, conc, catalog)?, vp))
}

fn measure(job: &Job, j: usize, conc: u32, catalog: &Catalog) -> Result<Measurement, String> {
    let (deploy, vp) = fixed_point(job, conc, catalog)?;
    let r = deploy.simulate(&vp);
    let (isl, osl) = (vp.isl as u32, vp.osl as u32);
    let perf = deploy.lead();
    let (prefill_gpus, decode_gpus) = deploy.gpus();
    let gpus = prefill_gpus + decode_gpus;
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
    // InferenceX's per-GPU accounting: all GPUs for the total; with a decode pool, input over
    // the prefill GPUs and output over the decode GPUs.
    let per = |tokens: u64, gpus: u32| tokens as f64 / r.duration_s() / gpus.max(1) as f64;
    let (input_gpus, output_gpus) = match decode_gpus {
        0 => (gpus, gpus),
        d => (prefill_gpus, d),
    };
    Ok(Measurement {
        job: j,
        conc,
        model: perf.dep.model.id.clone(),
        gpu: perf.dep.accelerator.id.clone(),
        // The recipe's engine (ATOM stays ATOM, though vLLM's model simulates it).
        engine: job.framework.clone(),
        num_gpus: gpus,
        isl,
        osl,
        tput_per_gpu: r.tput_per_gpu(gpus),
        input_tput_per_gpu: per(r.input_tokens(), input_gpus),
        output_tput_per_gpu: per(r.output_tokens(), output_gpus),
        median_intvty: r.median_interactivity(),
        median_ttft_ms: ttft.median,
        median_tpot_ms: tpot.median,
        median_e2el_ms: e2el.median,
        p99_ttft_ms: ttft.p99,
        p99_tpot_ms: tpot.p99,
        p99_e2el_ms: e2el.p99,
        completed: served.len() as u64,
        failed: (r.outcomes.len() - served.len()) as u64,
        info: SimulatorInfo::of(job, &deploy, catalog, r.joules_per_output_token(gpus)),
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

/// What a point simulated in virtual time stores beside its result: the deployment the
/// simulator ran, where its knobs came from and the error to expect (`docs/sim.md`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimulatorInfo {
    pub gpu: String,
    pub model: String,
    pub engine: String,
    /// Simulated board energy per output token, J (all GPUs): the simulator's, not measured.
    pub simulated_joules_per_output_token: f64,
    pub knobs: KnobsOrigin,
    /// The error to expect, with what of the recipe the simulator left out (`left_out`).
    pub expected_error: Option<ExpectedError>,
}

impl SimulatorInfo {
    fn of(job: &Job, deploy: &Deploy, catalog: &Catalog, joules_per_output_token: f64) -> Self {
        let dep = &deploy.lead().dep;
        SimulatorInfo {
            gpu: dep.accelerator.id.clone(),
            model: dep.model.id.clone(),
            engine: dep.engine.id.clone(),
            simulated_joules_per_output_token: joules_per_output_token,
            knobs: dep.knobs.clone(),
            expected_error: catalog.expected_error(&dep.knobs, &dep.model.id).map(|e| {
                let disagg = matches!(
                    deploy,
                    Deploy::Pools {
                        decode: Some(_),
                        ..
                    }
                );
                let kind = DeploymentKind::of(disagg, deploy.speculates());
                ExpectedError {
                    left_out: left_out(job, deploy),
                    uncalibrated: dep.knobs.uncalibrated(kind),
                    ..e
                }
            }),
        }
    }
}

/// The parts of a job the simulator leaves out (they come with disaggregation, expert
/// parallelism and MTP in the simulator).
fn left_out(job: &Job, deploy: &Deploy) -> Vec<String> {
    let mut out = Vec::new();
    if job.spec_decoding != crate::recipe::SpecDecoding::None && !deploy.speculates() {
        out.push(format!(
            "spec-decoding {}: simulated without speculation (the recipe gives no draft length)",
            job.spec_decoding.as_str()
        ));
    }
    if let Deploy::Pools { .. } = deploy {
        out.push("multi-node: the KV transfer's fixed cost is servebench's estimate".into());
        // What the recipe chose that the simulator does not tell apart.
        if let Some(r) = &job.router {
            out.push(format!(
                "router {} {}: simulated as a least-loaded router (no KV-aware or cache-affinity placement)",
                r.name, r.version
            ));
        }
        if let Some(t) = &job.kv_p2p_transfer {
            out.push(format!(
                "kv-p2p-transfer {t}: simulated as the link's bandwidth plus the fixed cost, whatever the library"
            ));
        }
    }
    if let Some(p) = deploy.workers().find(|p| !p.routing_skew_known()) {
        out.push(format!(
            "ep {}: no source measured {}'s routing skew; experts loaded as the router's sampling alone would",
            p.dep.ep, p.dep.model.id
        ));
    }
    out
}

/// Nanoseconds on a clock that starts 1 s before the simulation (0 means "never" in a record).
fn ns(s: f64) -> u64 {
    ((s + 1.0) * 1e9).round() as u64
}

/// The point as `bench` against the real-time simulated engine would report it: every
/// simulated request turned into the client's record (send = arrival, first and last token,
/// each inter-token gap), aggregated by the client's own metrics. No HTTP, no tokenizer.
pub fn bench_result(
    job: &Job,
    conc: u32,
    catalog: &Catalog,
) -> Result<(BenchResult, SimulatorInfo), String> {
    let (deploy, mut vp) = fixed_point(job, conc, catalog)?;
    let (isl, osl) = (vp.isl as u32, vp.osl as u32);
    vp.itl_histogram = true;
    let mut r = deploy.simulate(&vp);
    let gpus = deploy.gpus().0 + deploy.gpus().1;
    let records: Vec<RequestRecord> = r
        .outcomes
        .iter_mut()
        .enumerate()
        .map(|(i, o)| record(i as u32, o))
        .collect();
    let run = PointRun {
        records,
        warmup_records: Vec::new(),
        start_ns: ns(r.start_s),
        end_ns: ns(r.end_s),
        start_unix: 0.0,
        end_unix: r.duration_s(),
        loop_lag_us: CountDistribution::new(),
        itl_us: r.itl_us.take(),
        thread_cpu: Vec::new(),
        process_cpu: 0.0,
        connections_opened: 0,
        retokenize_skipped: 0,
    };
    let lengths: Vec<u64> = r.outcomes.iter().map(|o| o.prompt_tokens).collect();
    let cx = Context {
        config: RunConfig {
            base_url: "virtual-time:".into(),
            api: "completions".into(),
            endpoint: "(none: simulated in virtual time)".into(),
            model: job.model.clone(),
            dataset: "random".into(),
            dataset_path: None,
            isl,
            osl,
            range_ratio: vp.range_ratio,
            concurrency: Some(vp.concurrency),
            num_prompts: vp.requests,
            warmups: vp.warmups,
            request_rate: "inf".into(),
            burstiness: 1.0,
            duration_s: None,
            seed: vp.seed,
            ignore_eos: true,
            num_gpus: Some(gpus),
            request_timeout_s: 0.0,
            idle_timeout_s: 0.0,
            client_threads: 0,
            max_failure_rate: 0.05,
            api_key_env: String::new(),
            api_key_present: false,
            extra_body: None,
            header_names: Vec::new(),
        },
        provenance: Provenance {
            servebench_version: env!("CARGO_PKG_VERSION").into(),
            host: servebench_core::sys::hostname(),
            os: servebench_core::sys::os_release(),
            tokenizer: Default::default(),
            dataset_sha256: String::new(),
            seed: vp.seed,
        },
        model_id: job.model.clone(),
        tokenizer_id: "none (token counts are the simulator's)".into(),
        backend: "servebench-sim (virtual time)".into(),
        request_rate: RequestRate::Infinite,
        goodput: None,
        num_gpus: Some(gpus),
        input_lengths: length_stats(&lengths),
        tokenize_probe: None,
        peak_rss_bytes: 0,
    };
    let info = SimulatorInfo::of(job, &deploy, catalog, r.joules_per_output_token(gpus));
    Ok((aggregate(&run, cx), info))
}

/// One simulated request as the client would have recorded it (its gaps moved into it).
fn record(index: u32, o: &mut SimOutcome) -> RequestRecord {
    let mut r = RequestRecord {
        index,
        sched_ns: ns(o.arrival_s),
        send_ns: ns(o.arrival_s),
        input_len: o.prompt_tokens as u32,
        max_tokens: o.output_tokens as u32,
        usage_prompt: Some(o.prompt_tokens as u32),
        ..Default::default()
    };
    if o.rejected {
        r.end_ns = r.send_ns;
        r.failure = Some(Failure {
            kind: FailureKind::HttpStatus,
            status: 400,
            message: "the simulated KV cache cannot hold this request".into(),
        });
        return r;
    }
    r.first_byte_ns = ns(o.first_token_s);
    r.first_token_ns = ns(o.first_token_s);
    r.last_token_ns = ns(o.last_token_s);
    r.end_ns = ns(o.last_token_s);
    r.usage_completion = Some(o.output_tokens as u32);
    r.content_chunks = o.output_tokens as u32;
    r.gaps_us = std::mem::take(&mut o.gaps_us);
    r
}

/// Realised input lengths (each drawn in [0.8·ISL, ISL], its own target).
fn length_stats(v: &[u64]) -> LengthStats {
    LengthStats {
        count: v.len() as u64,
        min: v.iter().copied().min().unwrap_or(0),
        max: v.iter().copied().max().unwrap_or(0),
        mean: v.iter().sum::<u64>() as f64 / v.len().max(1) as f64,
        mean_mismatch: 0.0,
        mismatched: 0,
    }
}

/// Simulates every point of the plan not already stored in `out` (`threads` at a time) and
/// writes it where a local sweep would (`OUT/points/<config-key>/<name>.json`, what could not
/// be simulated under `OUT/failed/`), so `ingest`, `report` and the dashboard take it alike.
/// `budget` is spent in simulated time, in plan order, as one machine would run the points one
/// after another: once spent, the points left are deferred (`OUT/deferred/`). Also returns the
/// first few distinct reasons points could not be simulated.
pub fn sweep(
    jobs: &[Job],
    catalog: &Catalog,
    out: &std::path::Path,
    threads: usize,
    budget: crate::budget::Budget,
    done: &(dyn Fn(usize, usize) + Sync),
) -> std::io::Result<(SweepSummary, Vec<String>)> {
    let path = |dir: &str, j: &Job, c: u32| named(&out.join(dir), &point_name(j, c), "json");
    let all: Vec<(&Job, u32)> = jobs
        .iter()
        .flat_map(|j| j.conc.iter().map(move |&c| (j, c)))
        .collect();
    let todo: Vec<(&Job, u32)> = all
        .iter()
        .copied()
        .filter(|(j, c)| !path("points", j, *c).exists())
        .collect();
    let mut summary = SweepSummary {
        points: all.len(),
        skipped: all.len() - todo.len(),
        ..Default::default()
    };
    let mut reasons: Vec<String> = Vec::new();
    let mut spent = crate::budget::Spent::default();
    let finished = AtomicUsize::new(0);
    // In chunks, simulated on every thread and written in plan order: memory stays that of a
    // chunk, and the budget is spent as the plan orders the points.
    for chunk in todo.chunks(threads.max(1) * 8) {
        let simulated = simulate_all(chunk, catalog, threads, &|| {
            done(finished.fetch_add(1, Ordering::Relaxed) + 1, todo.len())
        });
        for (&(job, conc), sim) in chunk.iter().zip(simulated) {
            if let Some(why) = budget.exhausted(&spent) {
                crate::budget::defer(out, job, conc, &why)?;
                summary.deferred += 1;
                continue;
            }
            match sim {
                Ok((result, info)) => {
                    spent.add(job, result.duration);
                    summary.measured += 1;
                    let _ = std::fs::remove_file(path("failed", job, conc));
                    write_atomic(
                        &path("points", job, conc),
                        &StoredPoint {
                            config_key: job.config_key.clone(),
                            job: job.ix_row(),
                            concurrency: conc,
                            server_command: "(none: simulated in virtual time)".into(),
                            server_log: None,
                            server_metrics: None,
                            simulator: serde_json::to_value(&info).ok(),
                            result,
                        },
                    )?;
                }
                Err(reason) => {
                    summary.failed += 1;
                    if reasons.len() < 3 && !reasons.contains(&reason) {
                        reasons.push(reason.clone());
                    }
                    write_atomic(
                        &path("failed", job, conc),
                        &FailedPoint {
                            config_key: job.config_key.clone(),
                            job: job.ix_row(),
                            concurrency: conc,
                            attempts: 1,
                            reason,
                            log_tail: String::new(),
                            result: None,
                        },
                    )?;
                }
            }
        }
    }
    Ok((summary, reasons))
}

/// A point simulated, or why it could not be.
type Simulated = Result<(BenchResult, SimulatorInfo), String>;

/// Each point simulated, on `threads` threads; `done()` after each.
fn simulate_all(
    points: &[(&Job, u32)],
    catalog: &Catalog,
    threads: usize,
    done: &(dyn Fn() + Sync),
) -> Vec<Simulated> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<Simulated>>> = Mutex::new(vec![None; points.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(job, conc)) = points.get(i) else {
                    break;
                };
                let r = bench_result(job, conc, catalog);
                out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                done();
            });
        }
    });
    out.into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not simulated".into())))
        .collect()
}
