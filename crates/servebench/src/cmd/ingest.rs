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
    /// of *_interactivity.json), InferenceX results (agg_bmk.json, agg_*.json, agg_eval_all.json;
    /// both stored as a reference), and vllm bench serve / servebench bench result files (with
    /// --hardware and the other deployment flags).
    #[arg(required_unless_present = "synthetic")]
    paths: Vec<PathBuf>,
    /// Benchmark the store: ingest N generated points (batches of 10,000) and report the rate.
    #[arg(long, value_name = "N")]
    synthetic: Option<usize>,
    /// With --synthetic: how many dashboard views (models at 1k/1k) the points spread over, each
    /// with 400 configs (10 accelerators × 4 engines × 2 precisions × 5 parallelisms) over 10
    /// nightly runs.
    #[arg(long, value_name = "V", default_value_t = 30, requires = "synthetic")]
    synthetic_views: usize,
    /// The run's key for a sweep directory or a result file (default: its absolute path). Give
    /// InferenceX's agg_bmk.json and agg_eval_all.json of one run the same key to see its
    /// evals beside its points.
    #[arg(long)]
    run: Option<String>,
    /// The run's start date (e.g. 2026-12-04) for result files that do not carry one
    /// (InferenceX's aggregates; bench results without a `date`), so history orders it.
    #[arg(long, value_name = "DATE")]
    started_at: Option<String>,
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
    /// Keep this perf-changelog.yaml's entries with the runs stored (those the store does not
    /// hold yet, each with the configs it touches). A sweep's results directory that holds
    /// perf-changelog.yaml (`sweep --changelog` leaves a copy there) records its own.
    #[arg(long, value_name = "FILE")]
    changelog: Option<PathBuf>,
}

impl IngestArgs {
    /// A sweep's results directory `dir` stored as run `run` (its own changelog with it).
    pub fn sweep(store: &str, dir: PathBuf, run: &str, who: &str) -> IngestArgs {
        IngestArgs {
            store: store.to_string(),
            paths: vec![dir],
            synthetic: None,
            synthetic_views: 30,
            run: Some(run.to_string()),
            started_at: None,
            who: who.to_string(),
            hardware: None,
            engine: "vllm".into(),
            precision: "unknown".into(),
            tp: 1,
            isl: 1024,
            osl: 1024,
            changelog: None,
        }
    }
}

/// N generated points over `views` views (models at 1k/1k), each of 400 configs, in 10 nightly
/// runs: a store shaped like a nightly fleet's, for the store's and the dashboard's benchmarks.
fn synthetic(store: &mut Store, n: usize, views: usize) -> anyhow::Result<()> {
    use servebench_store::{Point, Run, Source};
    const RUNS: usize = 10;
    const CONFIGS: usize = 400;
    let views = views.max(1);
    let t0 = std::time::Instant::now();
    let per_run = n.div_ceil(RUNS);
    for night in 0..RUNS {
        let run = Run {
            key: format!("synthetic-{n}-{}-night{night}", std::process::id()),
            started_at: format!("2026-11-{:02}", 19 + night),
            who: "servebench ingest --synthetic".into(),
            recipes_commit: None,
            executor: "synthetic".into(),
            source: Source::Own,
        };
        let count = per_run.min(n - (per_run * night).min(n));
        // Curve by curve (a view's config at every concurrency), as a sweep's results come:
        // batches of whole curves, each kept once.
        let curves = views * CONFIGS;
        let mut order = (0..curves).flat_map(|k| (k..count).step_by(curves));
        loop {
            let batch: Vec<Point> = order
                .by_ref()
                .take(10_000)
                .map(|i| synthetic_point(night, i, views, CONFIGS))
                .collect();
            if batch.is_empty() {
                break;
            }
            store.ingest(&run, &batch)?;
        }
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

/// The `i`-th generated point of a night: its view, config and concurrency from `i`, and
/// metrics on a plausible curve (throughput up and interactivity down with concurrency).
fn synthetic_point(
    night: usize,
    i: usize,
    views: usize,
    configs: usize,
) -> servebench_store::Point {
    use servebench_store::{Config, Metrics, Point};
    let (view, rest) = (i % views, i / views);
    let (c, m) = (rest % configs, rest / configs);
    let conc = (m as u32 + 1) * 4;
    let tp = [1u32, 2, 4, 8, 8][c / 80 % 5];
    let speed = 1.0 + (c % 10) as f64 * 0.3 + (c / 10 % 4) as f64 * 0.1;
    let tput = 500.0 * speed * (conc as f64).powf(0.6) * (1.0 + 0.01 * night as f64);
    let intvty = 250.0 * speed.sqrt() / (conc as f64).powf(0.4);
    Point {
        config: Config {
            hardware: format!("gpu{}", c % 10),
            engine: ["vllm", "sglang", "trt", "atom"][c / 10 % 4].into(),
            model: format!("model{view}"),
            precision: ["fp8", "fp4"][c / 40 % 2].into(),
            spec_decoding: "none".into(),
            disagg: false,
            topology: if c / 80 % 5 == 4 {
                "tp8-ep8".into()
            } else {
                format!("tp{tp}")
            },
        },
        isl: 1024,
        osl: 1024,
        conc,
        num_gpus: tp,
        deployment: None,
        metrics: Metrics {
            tput_per_gpu: Some(tput),
            input_tput_per_gpu: Some(tput * 0.5),
            output_tput_per_gpu: Some(tput * 0.5),
            median_intvty: Some(intvty),
            median_ttft_ms: Some(20.0 + conc as f64),
            median_tpot_ms: Some(1000.0 / intvty),
            median_e2el_ms: Some(20.0 + conc as f64 + 1023.0 * 1000.0 / intvty),
            p99_ttft_ms: Some(40.0 + 2.0 * conc as f64),
            p99_tpot_ms: Some(1300.0 / intvty),
            p99_e2el_ms: Some(1.3 * (20.0 + conc as f64 + 1023.0 * 1000.0 / intvty)),
            completed: Some(conc as u64 * 10),
            failed: Some(0),
            measured_j_per_token: Some(0.2 + 0.1 / speed),
        },
        provenance: serde_json::json!({"synthetic": i, "image": format!("vllm/vllm-openai:v0.{night}")}),
        result: serde_json::json!({}),
    }
}

/// What one path holds, read and checked before the store is touched.
struct Loaded {
    path: PathBuf,
    run: servebench_store::Run,
    points: Vec<servebench_store::Point>,
    evals: Vec<servebench_store::Eval>,
    /// Rows left out as failed runs (InferenceX's rule), with why.
    skipped: Vec<import::Skipped>,
    /// The run's jobs per accelerator (a sweep's, or InferenceX's run_stats.json), and those
    /// that failed.
    jobs: Vec<servebench_store::JobStat>,
    failed: Vec<servebench_store::FailedJob>,
    /// Why configs changed: --changelog, else the results directory's own.
    changelog: Option<servebench_sweep::changelog::Changelog>,
    /// Points the sweep's budget left for a later night.
    deferred: Vec<servebench_store::Deferred>,
}

/// The name a sweep gives its copy of the changelog in its results directory.
pub const CHANGELOG_IN_RESULTS: &str = "perf-changelog.yaml";

pub fn run(a: IngestArgs) -> anyhow::Result<ExitCode> {
    // Models the catalog knows are stored under its ids, so a run of
    // `meta-llama/Llama-3.3-70B-Instruct` and the published `llama-3.3-70b` share a view.
    let catalog = servebench_catalog::Catalog::builtin()?;
    let canonical = |name: &str| catalog.model_id(name).map(str::to_owned);
    // Every path is read first: a typo or an empty file stores nothing and creates no store.
    let mut loaded = Vec::with_capacity(a.paths.len());
    for path in &a.paths {
        let t0 = std::time::Instant::now();
        let mut l = load(&a, path)?;
        if !l.skipped.is_empty() {
            let rows: Vec<String> = l
                .skipped
                .iter()
                .take(10)
                .map(|s| format!("row {} ({})", s.row, s.reason))
                .collect();
            eprintln!(
                "servebench ingest: {}: {} failed runs skipped, as InferenceX's ingest skips them: {}{}",
                path.display(),
                l.skipped.len(),
                rows.join(", "),
                if l.skipped.len() > rows.len() { ", ..." } else { "" }
            );
        }
        if l.points.is_empty() && l.evals.is_empty() && l.jobs.is_empty() && l.deferred.is_empty() {
            if l.skipped.is_empty() {
                anyhow::bail!("{}: holds no results to store", path.display());
            }
            anyhow::bail!(
                "{}: holds no results to store: all its {} rows are failed runs",
                path.display(),
                l.skipped.len()
            );
        }
        import::name_models(&mut l.points, canonical);
        for f in &mut l.failed {
            if let Some(id) = canonical(&f.config.model) {
                f.config.model = id;
            }
        }
        if path.join("evals").is_dir() {
            l.evals.extend(import::sweep_evals(path)?);
        }
        import::name_evals(&mut l.evals, canonical);
        eprintln!(
            "servebench ingest: {}: {} points{} read in {:.1} ms",
            path.display(),
            l.points.len(),
            if l.evals.is_empty() {
                String::new()
            } else {
                format!(" and {} evals", l.evals.len())
            },
            t0.elapsed().as_secs_f64() * 1e3
        );
        loaded.push(l);
    }
    let mut store = Store::open(&a.store)?;
    if let Some(n) = a.synthetic {
        synthetic(&mut store, n, a.synthetic_views)?;
    }
    for l in &loaded {
        store_one(&mut store, l)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn store_one(store: &mut Store, l: &Loaded) -> anyhow::Result<()> {
    // A file of evals alone (InferenceX's agg_eval_all.json) has no points to store.
    if !l.points.is_empty() {
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
        if n.collided > 0 {
            eprintln!(
                "servebench ingest: {}: {} points not stored: each has the deployment, workload and concurrency of another point of this run (two images or recipes of one deployment); the first read is kept — ingest the other as a run of its own to compare them",
                l.path.display(),
                n.collided
            );
        }
    }
    if let Some(c) = &l.changelog {
        let entries: Vec<(String, serde_json::Value)> = c
            .entries
            .iter()
            .map(|e| Ok((e.digest(), serde_json::to_value(e)?)))
            .collect::<serde_json::Result<_>>()?;
        let n = store.record_changelog(&l.run.key, &entries, |i, key| c.entries[i].touches(key))?;
        eprintln!(
            "servebench ingest: run {}: {n} new changelog entries kept, of {}",
            l.run.key,
            entries.len()
        );
    }
    if !l.deferred.is_empty() {
        let n = store.ingest_deferred(&l.run, &l.deferred)?;
        eprintln!(
            "servebench ingest: run {}: {n} points left for a later night (the budget was spent)",
            l.run.key
        );
    }
    // Jobs: how many succeeded per accelerator, and the failed ones with why.
    if !l.jobs.is_empty() || !l.failed.is_empty() {
        let n = store
            .ingest_jobs(&l.run, &l.jobs, &l.failed)
            .with_context(|| format!("ingesting the jobs of {}", l.path.display()))?;
        let (ok, total) = l
            .jobs
            .iter()
            .fold((0, 0), |(a, b), j| (a + j.succeeded, b + j.total));
        eprintln!(
            "servebench ingest: {}: run {}: {ok} of {total} jobs succeeded; {n} failed jobs stored",
            l.path.display(),
            l.run.key,
        );
    }
    // Accuracy evals: those a sweep ran beside its points, or InferenceX's.
    if !l.evals.is_empty() {
        let n = store
            .ingest_evals(&l.run, &l.evals)
            .with_context(|| format!("ingesting the evals of {}", l.path.display()))?;
        eprintln!(
            "servebench ingest: {}: run {} ({}): {} evals stored, {} already stored",
            l.path.display(),
            l.run.key,
            l.run.source.as_str(),
            n.inserted,
            n.duplicates
        );
    }
    Ok(())
}

/// What one path holds: a sweep directory, a published dump, an InferenceX result file
/// (benchmark or eval rows, by name or by content) or bench result files.
fn load(a: &IngestArgs, path: &std::path::Path) -> anyhow::Result<Loaded> {
    let run_key = || -> anyhow::Result<String> {
        Ok(match &a.run {
            Some(k) => k.clone(),
            None => std::path::absolute(path)?.display().to_string(),
        })
    };
    let changelog = match &a.changelog {
        Some(f) => Some(servebench_sweep::changelog::load(f, None)?),
        None => None,
    };
    let loaded = |run, points, evals, skipped| Loaded {
        path: path.to_path_buf(),
        run,
        points,
        evals,
        skipped,
        jobs: Vec::new(),
        failed: Vec::new(),
        changelog: changelog.clone(),
        deferred: Vec::new(),
    };
    if ["points", "failed", "deferred"]
        .iter()
        .any(|d| path.join(d).is_dir())
    {
        let (run, points) = import::sweep_dir(path, &run_key()?, &a.who)?;
        let (jobs, failed) = import::sweep_jobs(path, &points)?;
        let own = path.join(CHANGELOG_IN_RESULTS);
        let changelog = match &changelog {
            None if own.is_file() => Some(servebench_sweep::changelog::load(&own, None)?),
            c => c.clone(),
        };
        return Ok(Loaded {
            jobs,
            failed,
            changelog,
            deferred: import::sweep_deferred(path)?,
            ..loaded(run, points, Vec::new(), Vec::new())
        });
    }
    // InferenceX's published results: a reference, kept apart from the user's own.
    let inferencex_run = || -> anyhow::Result<servebench_store::Run> {
        Ok(servebench_store::Run {
            key: run_key()?,
            started_at: a.started_at.clone().unwrap_or_else(|| "unknown".into()),
            who: a.who.clone(),
            recipes_commit: None,
            executor: "inferencex".into(),
            source: servebench_store::Source::Reference,
        })
    };
    if path.file_name().is_some_and(|n| n == "run_stats.json") {
        // InferenceX's run-stats artifact: the run's jobs per accelerator.
        return Ok(Loaded {
            jobs: import::inferencex_run_stats(path)?,
            ..loaded(inferencex_run()?, Vec::new(), Vec::new(), Vec::new())
        });
    }
    if path.is_dir() {
        let (run, points) = import::inferencemax_v1(path)?;
        return Ok(loaded(run, points, Vec::new(), Vec::new()));
    }
    if !path.is_file() {
        anyhow::bail!(
            "{}: no such file or directory (expected a sweep results directory with points/, an InferenceMAX v1 dashboard dump, an InferenceX agg_*.json, or bench result files)",
            path.display()
        );
    }
    let by_name = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("agg_"));
    let ix = if by_name {
        Some(import::inferencex_file(path)?)
    } else {
        import::inferencex_by_content(path)?
    };
    if let Some(ix) = ix {
        return Ok(loaded(inferencex_run()?, ix.points, ix.evals, ix.skipped));
    }
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
    let points = import::bench_results(path, &d)?;
    let run = servebench_store::Run {
        key: run_key()?,
        started_at: match &a.started_at {
            Some(d) => d.clone(),
            None => points
                .iter()
                .filter_map(|p| p.provenance["date"].as_str())
                .min()
                .unwrap_or("unknown")
                .to_string(),
        },
        who: a.who.clone(),
        recipes_commit: None,
        executor: "import".into(),
        source: servebench_store::Source::Own,
    };
    Ok(loaded(run, points, Vec::new(), Vec::new()))
}
