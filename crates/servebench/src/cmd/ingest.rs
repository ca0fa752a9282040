//! `servebench ingest`: results into the store.

use anyhow::Context;
use servebench_store::{import, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// The store: sqlite:PATH (created if missing) or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, default_value = "sqlite:servebench.db", env = "SERVEBENCH_STORE")]
    store: String,
    /// Sweep results directories (with points/), InferenceMAX v1 dashboard dumps (directories
    /// of *_interactivity.json, stored as a reference), InferenceX aggregated results
    /// (agg_*.json, agg_bmk.json), and vllm bench serve / servebench bench result files (with
    /// --hardware and the other deployment flags).
    #[arg(required_unless_present = "synthetic")]
    paths: Vec<PathBuf>,
    /// Benchmark the store: ingest N generated points (batches of 10,000) and report the rate.
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    /// The run's key for a sweep directory (default: its absolute path).
    #[arg(long)]
    run: Option<String>,
    /// Who ran it.
    #[arg(long, default_value = "")]
    who: String,
    /// bench result files: the accelerator they ran on.
    #[arg(long)]
    hardware: Option<String>,
    /// bench result files: the engine (vllm, sglang, trt, ...).
    #[arg(long, default_value = "vllm")]
    engine: String,
    /// bench result files: the precision.
    #[arg(long, default_value = "unknown")]
    precision: String,
    /// bench result files: tensor-parallel GPUs (the GPU count of the deployment).
    #[arg(long, default_value_t = 1)]
    tp: u32,
    /// bench result files: input and output lengths of the workload.
    #[arg(long, default_value_t = 1024)]
    isl: u32,
    #[arg(long, default_value_t = 1024)]
    osl: u32,
}

/// N generated points over 100 configs × 3 workloads, in a run of their own.
fn synthetic(store: &mut Store, n: usize) -> anyhow::Result<()> {
    use servebench_store::{Config, Metrics, Point, Run, Source};
    let run = Run {
        key: format!("synthetic-{n}-{}", std::process::id()),
        started_at: "2026-11-28".into(),
        who: "servebench ingest --synthetic".into(),
        recipes_commit: None,
        executor: "synthetic".into(),
        source: Source::Own,
    };
    let t0 = std::time::Instant::now();
    let mut done = 0;
    while done < n {
        let batch: Vec<Point> = (done..(done + 10_000).min(n))
            .map(|i| Point {
                config: Config {
                    hardware: format!("gpu{}", i % 10),
                    engine: "vllm".into(),
                    model: format!("model{}", i / 10 % 10),
                    precision: "fp8".into(),
                    spec_decoding: "none".into(),
                    disagg: false,
                    topology: "tp8".into(),
                },
                isl: [1024, 1024, 8192][i / 100 % 3],
                osl: [1024, 8192, 1024][i / 100 % 3],
                conc: (i / 300 + 1) as u32,
                num_gpus: 8,
                metrics: Metrics {
                    tput_per_gpu: Some(1000.0 + i as f64),
                    median_intvty: Some(50.0),
                    ..Default::default()
                },
                provenance: serde_json::json!({"synthetic": i}),
                result: serde_json::json!({}),
            })
            .collect();
        store.ingest(&run, &batch)?;
        done += batch.len();
    }
    let s = t0.elapsed().as_secs_f64();
    eprintln!(
        "servebench ingest: {n} generated points in {:.2} s: {:.0} points/s; {} points stored in all",
        s,
        n as f64 / s,
        store.count_points(None)?
    );
    Ok(())
}

/// What one path holds, read and checked before the store is touched.
struct Loaded {
    path: PathBuf,
    run: servebench_store::Run,
    points: Vec<servebench_store::Point>,
    evals: Vec<servebench_store::Eval>,
}

pub fn run(a: IngestArgs) -> anyhow::Result<ExitCode> {
    // Models the catalog knows are stored under its ids, so a run of
    // `meta-llama/Llama-3.3-70B-Instruct` and the published `llama-3.3-70b` share a view.
    let catalog = servebench_catalog::Catalog::builtin()?;
    let canonical = |name: &str| catalog.find_model(name).map(|m| m.id.clone());
    // Every path is read first: a typo or an empty file stores nothing and creates no store.
    let mut loaded = Vec::with_capacity(a.paths.len());
    for path in &a.paths {
        let t0 = std::time::Instant::now();
        let (run, mut points) = load(&a, path)?;
        if points.is_empty() {
            anyhow::bail!("{}: holds no results to store", path.display());
        }
        import::name_models(&mut points, canonical);
        let mut evals = if path.join("evals").is_dir() {
            import::sweep_evals(path)?
        } else {
            Vec::new()
        };
        for e in &mut evals {
            if let Some(id) = canonical(&e.config.model) {
                e.config.model = id;
            }
        }
        eprintln!(
            "servebench ingest: {}: {} points read in {:.1} ms",
            path.display(),
            points.len(),
            t0.elapsed().as_secs_f64() * 1e3
        );
        loaded.push(Loaded {
            path: path.clone(),
            run,
            points,
            evals,
        });
    }
    let mut store = Store::open(&a.store)?;
    if let Some(n) = a.synthetic {
        synthetic(&mut store, n)?;
    }
    for l in &loaded {
        store_one(&mut store, l)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn store_one(store: &mut Store, l: &Loaded) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let n = store
        .ingest(&l.run, &l.points)
        .with_context(|| format!("ingesting {}", l.path.display()))?;
    let s = t0.elapsed().as_secs_f64();
    eprintln!(
        "servebench ingest: {}: run {} ({}): {} points stored, {} already stored, in {:.1} ms ({:.0} points/s)",
        l.path.display(),
        l.run.key,
        l.run.source.as_str(),
        n.inserted,
        n.duplicates,
        s * 1e3,
        l.points.len() as f64 / s
    );
    // Accuracy evals the sweep ran beside its points.
    if !l.evals.is_empty() {
        let n = store
            .ingest_evals(&l.run, &l.evals)
            .with_context(|| format!("ingesting the evals of {}", l.path.display()))?;
        eprintln!(
            "servebench ingest: {}: {} evals stored, {} already stored",
            l.path.display(),
            n.inserted,
            n.duplicates
        );
    }
    Ok(())
}

/// The run and points of one path: a sweep directory, a published dump, an InferenceX
/// aggregate or bench result files.
fn load(
    a: &IngestArgs,
    path: &std::path::Path,
) -> anyhow::Result<(servebench_store::Run, Vec<servebench_store::Point>)> {
    let run_key = || -> anyhow::Result<String> {
        Ok(match &a.run {
            Some(k) => k.clone(),
            None => std::path::absolute(path)?.display().to_string(),
        })
    };
    if path.join("points").is_dir() {
        return Ok(import::sweep_dir(path, &run_key()?, &a.who)?);
    }
    if path.is_dir() {
        return Ok(import::inferencemax_v1(path)?);
    }
    if !path.is_file() {
        anyhow::bail!(
            "{}: no such file or directory (expected a sweep results directory with points/, an InferenceMAX v1 dashboard dump, agg_*.json, or bench result files)",
            path.display()
        );
    }
    let points = if path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("agg_"))
    {
        import::inferencex_agg(path)?
    } else {
        let hardware = a.hardware.clone().with_context(|| {
            format!(
                "{}: a bench result does not say what it ran on: pass --hardware (and --engine, --precision, --tp, --isl, --osl)",
                path.display()
            )
        })?;
        let d = import::Deployment {
            hardware,
            engine: a.engine.clone(),
            precision: a.precision.clone(),
            topology: format!("tp{}", a.tp),
            num_gpus: a.tp,
            isl: a.isl,
            osl: a.osl,
        };
        import::bench_results(path, &d)?
    };
    let run = servebench_store::Run {
        key: run_key()?,
        started_at: points
            .iter()
            .filter_map(|p| p.provenance["date"].as_str())
            .min()
            .unwrap_or("unknown")
            .to_string(),
        who: a.who.clone(),
        recipes_commit: None,
        executor: "import".into(),
        source: servebench_store::Source::Own,
    };
    Ok((run, points))
}
