//! `servebench quickstart`: the main job on the embedded default. The InferenceMAX v1 catalog
//! (shipped recipes) simulated in virtual time, stored in SQLite, summarised (the cheapest
//! accelerator per million tokens per model and workload), then the dashboard on loopback.

use servebench_analysis::economics::CostTier;
use servebench_catalog::Catalog;
use servebench_dashboard::{api::Api, server};
use servebench_report::curves::{self, Query, RunPick};
use servebench_report::reports::{self, Prices};
use servebench_report::table::{Exporter, Text};
use servebench_store::{import, Config, Metrics, Point, Run, Source, Store};
use servebench_sweep::plan::{plan, Evals, PlanOptions};
use servebench_sweep::virtual_time;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct QuickstartArgs {
    /// Which shipped recipes to simulate: v1 (the InferenceMAX v1 catalog, the reproducible
    /// default: recipes/inferencemax-v1.yaml) or today (InferenceX's master configs at 843c6254,
    /// 2026-08-21: every single-node fixed-length job).
    #[arg(long, value_enum, default_value = "v1")]
    catalog: ShippedRecipes,
    /// Recipe files instead of the shipped ones.
    #[arg(long = "config-files", num_args = 1.., value_name = "FILE", conflicts_with = "catalog")]
    config_files: Vec<PathBuf>,
    /// The store the results go into (created if missing).
    #[arg(long, default_value = "sqlite:servebench.db", env = "SERVEBENCH_STORE")]
    store: String,
    /// Where the dashboard listens afterwards.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SERVEBENCH_BIND")]
    bind: String,
    /// Stop after the summary instead of serving the dashboard.
    #[arg(long)]
    no_serve: bool,
    /// Simulation threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Only config keys starting with these (llama70b, dsr1, gptoss).
    #[arg(long, value_delimiter = ',')]
    model_prefix: Vec<String>,
    /// Also the multi-node recipes of today's catalog (disaggregated prefill/decode and
    /// multi-worker deployments, simulated behind a router: docs/sim.md); they take about 35 s
    /// more on 2 cores. v1's (GB200 NVL72 with Dynamo) are always in.
    #[arg(long)]
    multi_node: bool,
    /// Only concurrencies up to this.
    #[arg(long)]
    max_conc: Option<u32>,
    /// Also store a published InferenceMAX v1 dashboard dump, as the reference shown beside.
    #[arg(long, value_name = "DIR")]
    published: Option<PathBuf>,
    /// Interactivities (tok/s/user) of the summary.
    #[arg(long, value_delimiter = ',', default_value = "30,100,200")]
    at: Vec<f64>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum ShippedRecipes {
    V1,
    Today,
}

pub fn run(a: QuickstartArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let recipes = if a.config_files.is_empty() {
        let shipped: &[(&str, &str)] = match a.catalog {
            ShippedRecipes::V1 => &[servebench_sweep::INFERENCEMAX_V1],
            ShippedRecipes::Today => &servebench_sweep::INFERENCEX_TODAY,
        };
        let texts: Vec<(PathBuf, String)> = shipped
            .iter()
            .map(|(name, text)| (name.into(), text.to_string()))
            .collect();
        servebench_sweep::load_recipe_texts(&texts)?
    } else {
        servebench_sweep::load_recipes(&a.config_files)?
    };
    let opts = PlanOptions {
        model_prefix: a.model_prefix.clone(),
        max_conc: a.max_conc,
        // v1's catalog includes its GB200 Dynamo deployments.
        multi_node: a.multi_node || a.catalog == ShippedRecipes::V1,
        agentic: false,
        evals: Evals::None,
        ..PlanOptions::default()
    };
    let jobs = plan(&recipes, &Default::default(), &opts)?;
    let catalog = Catalog::builtin()?;
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let total: usize = jobs.iter().map(|j| j.conc.len()).sum();
    let configs: std::collections::BTreeSet<&str> =
        jobs.iter().map(|j| j.config_key.as_str()).collect();
    eprintln!(
        "servebench quickstart: {} recipes, {total} points, simulated in virtual time on {threads} threads",
        configs.len()
    );
    let progress = indicatif::ProgressBar::new(total as u64);
    let measured = virtual_time::run(&jobs, &catalog, threads, &|n, _| {
        progress.set_position(n as u64)
    });
    progress.finish_and_clear();
    let simulated_s = t0.elapsed().as_secs_f64();

    // Into the store, as one run of our own.
    let started = servebench_client::metrics::utc_stamp(servebench_core::clock::unix_time_s());
    let run = Run {
        key: format!("quickstart-{started}"),
        started_at: started,
        who: std::env::var("USER").unwrap_or_default(),
        recipes_commit: None,
        executor: "virtual-time".into(),
        source: Source::Own,
    };
    let mut failed = Vec::new();
    let mut points = Vec::new();
    for m in measured {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                failed.push(e);
                continue;
            }
        };
        let job = &jobs[m.job];
        points.push(Point {
            config: Config {
                hardware: m.gpu.clone(),
                engine: m.engine.clone(),
                model: m.model.clone(),
                precision: job.precision.clone(),
                spec_decoding: job.spec_decoding.as_str().to_string(),
                disagg: job.disagg,
                topology: import::topology(&job.ix_row()),
            },
            isl: m.isl,
            osl: m.osl,
            conc: m.conc,
            num_gpus: m.num_gpus,
            deployment: Some(import::job_topology(&job.ix_row())),
            metrics: Metrics {
                tput_per_gpu: Some(m.tput_per_gpu),
                input_tput_per_gpu: Some(m.input_tput_per_gpu),
                output_tput_per_gpu: Some(m.output_tput_per_gpu),
                median_intvty: Some(m.median_intvty),
                median_ttft_ms: Some(m.median_ttft_ms),
                median_tpot_ms: Some(m.median_tpot_ms),
                median_e2el_ms: Some(m.median_e2el_ms),
                p99_ttft_ms: Some(m.p99_ttft_ms),
                p99_tpot_ms: Some(m.p99_tpot_ms),
                p99_e2el_ms: Some(m.p99_e2el_ms),
                completed: Some(m.completed),
                failed: Some(m.failed),
                // Simulated board power: the simulator's, not a measurement.
                measured_j_per_token: None,
            },
            provenance: serde_json::json!({
                "image": job.image, "engine_version": "simulated (servebench virtual time)",
                "recipe": job.config_key, "recipe_fingerprint": job.fingerprint,
                // As a virtual-time sweep's points keep it.
                "simulator": m.info,
                "client": env!("CARGO_PKG_VERSION"),
            }),
            result: serde_json::json!({"simulated": true, "framework": job.framework}),
        });
    }
    let mut store = Store::open(&a.store)?;
    let n = store.ingest(&run, &points)?;
    if let Some(dir) = &a.published {
        let (r, p) = import::inferencemax_v1(dir)?;
        store.ingest(&r, &p)?;
    }
    eprintln!(
        "servebench quickstart: {} points simulated in {simulated_s:.1} s, {} stored in {} (run {}){}{}",
        points.len(),
        n.inserted,
        servebench_core::redact::url(&a.store),
        run.key,
        if n.collided == 0 {
            String::new()
        } else {
            format!(
                "; {} not stored: the same deployment, workload and concurrency as another recipe's point (two images of one deployment)",
                n.collided
            )
        },
        if failed.is_empty() {
            String::new()
        } else {
            format!("; {} not simulated: {}", failed.len(), failed[0])
        }
    );

    // The summary: per model and workload, the cheapest accelerator at each target.
    let prices = Prices {
        catalog: &catalog,
        tier: CostTier::OwnedHyperscaler,
    };
    for v in store.views()? {
        if !v.sources.iter().any(|s| s == "own") {
            continue;
        }
        let q = Query {
            model: v.model.clone(),
            isl: v.isl,
            osl: v.osl,
            precision: None,
            sources: vec![Source::Own],
            runs: RunPick::Key(run.key.clone()),
            new_only: false,
        };
        let curves = curves::load(&mut store, &q)?;
        if curves.is_empty() {
            continue;
        }
        let mut t = reports::cheapest(&curves, &a.at, &prices);
        t.title = format!(
            "{} {} — {}",
            v.model,
            servebench_store::workload_label(v.isl, v.osl),
            t.title
        );
        t.notes.retain(|n| n == reports::UNCALIBRATED_NOTE);
        print!("{}", Text.render(&t));
    }
    println!("(owned-hyperscaler $/GPU-hour from the catalog; all figures simulated)");
    eprintln!(
        "servebench quickstart: done in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if a.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let listener = std::net::TcpListener::bind(&a.bind)
        .map_err(|e| anyhow::anyhow!("--bind {}: {e}", a.bind))?;
    println!(
        "dashboard: http://{}/ (Ctrl-C to stop)",
        listener.local_addr()?
    );
    std::io::stdout().flush()?;
    server::serve(listener, Api::new(store, catalog))?;
    Ok(ExitCode::SUCCESS)
}
