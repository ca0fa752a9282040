//! `servebench sweep`: plan the recipe files and run the jobs through an executor.

use super::plan::{LaunchRecipeArgs, Selection};
use anyhow::Context;
use servebench_sweep::engine::Engines;
use servebench_sweep::local::{self, SweepOptions};
use servebench_sweep::{export, slurm};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    select: Selection,
    /// Where jobs run: local (this machine); slurm (a job array; every node must see the
    /// results directory and the recipe files); gha (writes GitHub Actions matrices and a
    /// workflow into OUT/gha); k8s (writes Job manifests into OUT/k8s); virtual-time (every
    /// point simulated by the engine model in virtual time, on all cores, into the same
    /// results directory as a local sweep); collected (nothing runs: the results directory
    /// holds points measured elsewhere, GitHub runners' artifacts).
    #[arg(long, value_enum, default_value = "local")]
    executor: Executor,
    /// Which engines serve the jobs: sim (the simulated engine standing in for each recipe's
    /// framework, GPU, model and parallelism) or real (the recipes' own vLLM, SGLang,
    /// TensorRT-LLM). Default: sim for the local executor, real for the others.
    #[arg(long, value_enum)]
    engines: Option<EnginesArg>,
    /// gha: append each matrix to this file as `mNNN=<json>` (GitHub's step outputs,
    /// $GITHUB_OUTPUT) instead of writing the matrices and a workflow; with --gha-matrices.
    #[arg(long, value_name = "FILE", requires = "gha_matrices")]
    gha_output: Option<PathBuf>,
    /// --gha-output: how many matrix outputs the workflow reads (`servebench export gha`
    /// sized it); unused ones are written empty.
    #[arg(long, value_name = "K", requires = "gha_output")]
    gha_matrices: Option<usize>,
    /// gha, k8s: the servebench command on the runner or in the image.
    #[arg(long, default_value = "servebench")]
    task_exe: String,
    /// k8s: the PersistentVolumeClaim that holds the results.
    #[arg(long, default_value = "servebench-results")]
    k8s_pvc: String,
    /// k8s: where the results volume is mounted in the pod.
    #[arg(long, default_value = "/results")]
    k8s_results_dir: String,
    /// slurm: the partition.
    #[arg(long)]
    partition: Option<String>,
    /// slurm: an extra #SBATCH option, e.g. --sbatch-arg=--gres=gpu:8 (repeatable).
    #[arg(long = "sbatch-arg", value_name = "OPTION", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// slurm: run each task in its recipe's image with pyxis/enroot (srun --container-image).
    #[arg(long)]
    container: bool,
    /// slurm, with --container: an extra SRC:DST mount (repeatable).
    #[arg(long = "container-mount", value_name = "SRC:DST")]
    container_mounts: Vec<String>,
    /// slurm: at most N nodes per multi-node job; its workers are packed onto them,
    /// oversubscribed (a small or test cluster). Default: the nodes its workers fill (4 GPUs
    /// per node on GB200/GB300, 8 elsewhere).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    slurm_max_nodes: Option<u32>,
    #[command(flatten)]
    launch: LaunchRecipeArgs,
    /// slurm: seconds between polls of the task states.
    #[arg(long, default_value_t = 2.0)]
    poll_interval: f64,
    /// Run only this job of the plan (what each cluster task does).
    #[arg(long, hide = true)]
    job_index: Option<usize>,
    /// With --job-index: only these of its concurrencies (a GitHub runner's share of a job
    /// whose other concurrencies were carried over).
    #[arg(long, hide = true, requires = "job_index", value_delimiter = ',')]
    job_conc: Vec<u32>,
    /// Run only what changed since this run of the store (`latest`: its latest own run not
    /// retracted; as `plan --changed-since`), and complete the results with the run's
    /// unchanged points, each marked with the run and point it was measured as
    /// (`reused_from`). Local and virtual-time executors.
    #[arg(long, value_name = "RUN|latest", requires = "store")]
    reuse: Option<String>,
    /// --reuse: the store holding the run.
    #[arg(long, env = "SERVEBENCH_STORE")]
    store: Option<String>,
    /// perf-changelog.yaml (InferenceX's format): checked against the recipes and copied into
    /// the results directory, so `ingest` keeps its entries with the run; with --reuse each job
    /// to run lists the entries new since the run reused (as `plan --changelog`).
    #[arg(long, value_name = "FILE")]
    changelog: Option<PathBuf>,
    #[command(flatten)]
    priority: super::plan::PriorityArgs,
    /// Start no point once this many hours have passed (virtual-time: of simulated time, the
    /// points one after another; slurm: since submission, the pending tasks then cancelled);
    /// the points left are deferred to a later night (OUT/deferred/, kept by ingest; `--reuse`
    /// runs them first). Local, virtual-time and slurm executors.
    #[arg(long, value_name = "HOURS", value_parser = super::sim::positive)]
    budget_hours: Option<f64>,
    /// Start no point once this many GPU-hours are spent (each point's time × its deployment's
    /// GPUs; slurm: the running tasks' GPUs as polled); the points left are deferred as with
    /// --budget-hours.
    #[arg(long, value_name = "GPU_HOURS", value_parser = super::sim::positive)]
    budget_gpu_hours: Option<f64>,
    /// Results directory: points/ (one JSON per measured point), failed/, logs/. Rerunning the
    /// same command skips every point already stored there.
    #[arg(long, default_value = "sweep-results")]
    out: PathBuf,
    /// Attempts after the first for a failed point.
    #[arg(long, default_value_t = 0)]
    retries: u32,
    /// Stop at the first failed point.
    #[arg(long)]
    fail_fast: bool,
    /// Run the lowest-concurrency point first and stop if it fails.
    #[arg(long)]
    canary: bool,
    /// Tokenizer of the prompts (and of simulated servers).
    #[arg(long, default_value = "cl100k_base")]
    tokenizer: String,
    /// Seconds a server may take to become healthy (a recipe's health-timeout wins).
    #[arg(long, default_value_t = 1800)]
    health_timeout: u64,
    /// No progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Simulated engines run this many times faster than the modelled GPUs would, so every
    /// measured time is that many times shorter (a quick look at a recipe, not a result to
    /// compare with real hardware). A `sim` recipe's own `--time-scale` wins.
    #[arg(long, value_parser = super::sim::positive)]
    sim_time_scale: Option<f64>,
    /// Measure GPU board power over every point's window: nvml, nvidia-smi, amd-smi, or sim
    /// (each job's simulated engine). Stored with the point, apart from the modelled figures.
    #[arg(long, value_name = "SOURCE")]
    power: Option<String>,
    /// Power samples per second.
    #[arg(long, default_value_t = 10.0, value_parser = super::sim::positive)]
    power_hz: f64,
    /// Longest time allowed between two samples of one GPU across a window, seconds (default:
    /// 0.5; 3 for amd-smi, whose every reading starts a process).
    #[arg(long, value_parser = super::sim::positive)]
    power_max_gap: Option<f64>,
    /// Run this accuracy eval (gsm8k, math500, gpqa-diamond) at the points the plan marks
    /// (`run-eval`: the highest and median concurrency ≥ 16 of each 8k/1k group; `--all-evals`
    /// marks every 8k/1k row), against the same server; needs --eval-data.
    #[arg(long, requires = "eval_data")]
    eval_task: Option<servebench_eval::Task>,
    /// The eval's questions (JSONL in the dataset's own layout; see `servebench eval`).
    #[arg(long, requires = "eval_task")]
    eval_data: Option<PathBuf>,
    /// The eval's few-shot examples (default: the first questions of --eval-data).
    #[arg(long)]
    eval_fewshot_data: Option<PathBuf>,
    #[arg(long)]
    eval_num_fewshot: Option<usize>,
    /// Only the first N questions.
    #[arg(long)]
    eval_limit: Option<usize>,
    /// Questions in flight.
    #[arg(long, default_value_t = 64)]
    eval_concurrency: usize,
    #[arg(long, default_value_t = 4096)]
    eval_max_tokens: u32,
    /// The score below which an eval fails (default: the catalog's for the task and model).
    #[arg(long, value_parser = super::sim::fraction)]
    eval_threshold: Option<f64>,
    /// Agentic-coding rows: replay this trace file (default: sessions generated from
    /// --agentic-profile; InferenceX's corpora cannot be downloaded at run time).
    #[arg(long, value_name = "FILE")]
    agentic_trace: Option<PathBuf>,
    /// The trace file's format: weka (InferenceX's corpus), mooncake, sessions.
    #[arg(long, default_value = "weka")]
    agentic_trace_format: servebench_dataset::trace::Format,
    /// Agentic-coding rows without a trace file: a profile of data/agentic-sessions.yaml
    /// (claude-code-042026, agentx-062126) and how many sessions to draw from it (InferenceX
    /// loads the 393 traces of its corpus).
    #[arg(long, default_value = "agentx-062126")]
    agentic_profile: String,
    #[arg(long, default_value_t = 393)]
    agentic_sessions: u64,
    /// Agentic-coding rows: replay for this many seconds instead of the row's duration
    /// (InferenceX: 3600; its agentx-fast preset 1200).
    #[arg(long, value_name = "SECONDS", value_parser = super::sim::positive)]
    agentic_duration: Option<f64>,
    /// Agentic-coding rows: one-token warmups per lane (InferenceX: 10).
    #[arg(long, default_value_t = 10)]
    agentic_warmups_per_lane: usize,
    /// Agentic-coding rows: the longest pause replayed between turns, seconds (InferenceX: 300).
    #[arg(long, default_value_t = 300.0, value_parser = super::sim::positive)]
    agentic_pause_cap: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum EnginesArg {
    Sim,
    Real,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Executor {
    Local,
    Slurm,
    Gha,
    K8s,
    /// Every point simulated in virtual time by the engine model (no server, no waiting).
    VirtualTime,
    /// The points were measured elsewhere (GitHub Actions runners) and collected into the
    /// results directory: nothing runs; with --reuse, the unchanged points are added.
    Collected,
}

/// The agentic-coding replay settings, as a task passes them on.
fn agentic_args(a: &SweepArgs, absolute: bool) -> anyhow::Result<Vec<String>> {
    let mut v: Vec<String> = [
        "--agentic-profile",
        &a.agentic_profile,
        "--agentic-sessions",
        &a.agentic_sessions.to_string(),
        "--agentic-warmups-per-lane",
        &a.agentic_warmups_per_lane.to_string(),
        "--agentic-pause-cap",
        &a.agentic_pause_cap.to_string(),
    ]
    .map(String::from)
    .to_vec();
    if let Some(t) = &a.agentic_trace {
        let t = if absolute {
            std::path::absolute(t)?
        } else {
            t.clone()
        };
        v.extend([
            "--agentic-trace".into(),
            t.display().to_string(),
            "--agentic-trace-format".into(),
            a.agentic_trace_format.as_str().into(),
        ]);
    }
    if let Some(d) = a.agentic_duration {
        v.extend(["--agentic-duration".into(), d.to_string()]);
    }
    Ok(v)
}

/// What one job of a cluster sweep runs (without `--job-index`): this sweep, on the local
/// executor, into `out`.
fn task_command(
    a: &SweepArgs,
    exe: &str,
    absolute: bool,
    out: &str,
) -> anyhow::Result<Vec<String>> {
    let mut task = vec![exe.to_string(), "sweep".to_string()];
    task.extend(a.select.to_args(absolute)?);
    let (health, retries) = (a.health_timeout.to_string(), a.retries.to_string());
    let engines = match engines_of(a) {
        Engines::Sim => "sim",
        Engines::Recipe => "real",
    };
    task.extend(
        [
            "--engines",
            engines,
            "--executor",
            "local",
            "--out",
            out,
            "--no-progress",
            "--tokenizer",
            &a.tokenizer,
            "--health-timeout",
            &health,
            "--retries",
            &retries,
        ]
        .map(String::from),
    );
    if let Some(x) = a.sim_time_scale {
        task.extend(["--sim-time-scale".to_string(), x.to_string()]);
    }
    task.extend(agentic_args(a, absolute)?);
    let dirs = a.launch.srt_recipes.iter().map(|d| ("--srt-recipes", d));
    for (flag, d) in dirs.chain(a.launch.inferencex.iter().map(|d| ("--inferencex", d))) {
        let d = if absolute {
            std::path::absolute(d)?
        } else {
            d.clone()
        };
        task.extend([flag.to_string(), d.display().to_string()]);
    }
    if a.container {
        // A multi-node task starts each step in its image.
        task.push("--container".to_string());
        for m in &a.container_mounts {
            task.extend(["--container-mount".to_string(), m.clone()]);
        }
    }
    if let (Some(t), Some(d)) = (&a.eval_task, &a.eval_data) {
        let path = |p: &PathBuf| -> anyhow::Result<String> {
            Ok(if absolute {
                std::path::absolute(p)?.display().to_string()
            } else {
                p.display().to_string()
            })
        };
        task.extend([
            "--eval-task".to_string(),
            t.to_string(),
            "--eval-data".to_string(),
            path(d)?,
            "--eval-concurrency".to_string(),
            a.eval_concurrency.to_string(),
            "--eval-max-tokens".to_string(),
            a.eval_max_tokens.to_string(),
        ]);
        if let Some(f) = &a.eval_fewshot_data {
            task.extend(["--eval-fewshot-data".to_string(), path(f)?]);
        }
        for (flag, v) in [
            (
                "--eval-num-fewshot",
                a.eval_num_fewshot.map(|n| n.to_string()),
            ),
            ("--eval-limit", a.eval_limit.map(|n| n.to_string())),
            ("--eval-threshold", a.eval_threshold.map(|n| n.to_string())),
        ] {
            if let Some(v) = v {
                task.extend([flag.to_string(), v]);
            }
        }
    }
    if let Some(p) = &a.power {
        task.extend([
            "--power".to_string(),
            p.clone(),
            "--power-hz".to_string(),
            a.power_hz.to_string(),
        ]);
        if let Some(g) = a.power_max_gap {
            task.extend(["--power-max-gap".to_string(), g.to_string()]);
        }
    }
    Ok(task)
}

/// `--executor collected`: what the results directory holds of the plan (measured elsewhere,
/// or carried over), and what it lacks.
fn collected(
    jobs: &[servebench_sweep::plan::Job],
    out: &std::path::Path,
) -> servebench_sweep::local::SweepSummary {
    use servebench_sweep::local::point_name;
    let file = |dir: &str, j: &servebench_sweep::plan::Job, c: u32| {
        let mut f = out.join(dir).join(point_name(j, c)).into_os_string();
        f.push(".json");
        PathBuf::from(f).is_file()
    };
    let mut s = servebench_sweep::local::SweepSummary::default();
    for j in jobs.iter().filter(|j| !j.eval_only) {
        for &c in &j.conc {
            s.points += 1;
            if file("points", j, c) {
                s.measured += 1;
            } else if file("failed", j, c) {
                s.failed += 1;
            } else if !file("deferred", j, c) {
                s.not_run += 1;
            }
        }
    }
    s
}

/// `--executor gha --gha-output FILE`: the matrices of the jobs with a point to measure (each
/// with its index in the plan, which its runner plans again), in run order, appended to FILE
/// as GitHub step outputs; all `--gha-matrices` outputs written, unused ones empty.
fn gha_outputs(
    a: &SweepArgs,
    jobs: &[servebench_sweep::plan::Job],
    order: &[usize],
) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let k = a.gha_matrices.unwrap_or(1);
    let todo: Vec<(usize, &servebench_sweep::plan::Job)> = order
        .iter()
        .map(|&i| (i, &jobs[i]))
        .filter(|(_, j)| !j.conc.is_empty())
        .collect();
    let matrices = servebench_sweep::gha::matrices(&todo);
    anyhow::ensure!(
        matrices.len() <= k,
        "{} jobs to run need {} matrices of {}; the workflow reads {k}: write it again with \
         `servebench export gha` (the recipes grew)",
        todo.len(),
        matrices.len(),
        servebench_sweep::gha::GHA_MAX_MATRIX
    );
    let file = a.gha_output.as_deref().unwrap_or(std::path::Path::new("-"));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .with_context(|| format!("--gha-output {}", file.display()))?;
    for m in 0..k {
        let json = matrices.get(m).map_or(String::new(), |v| v.to_string());
        writeln!(f, "{}={json}", servebench_sweep::gha::matrix_output(m))?;
    }
    eprintln!(
        "servebench sweep: {} jobs to run in {} matrices (of {k}) written to {}",
        todo.len(),
        matrices.len(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `, N deferred to a later night (the budget is spent)` where the budget left points.
fn deferred_note(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {n} deferred to a later night (the budget is spent)")
    }
}

/// `--executor virtual-time`: the plan simulated by the engine model, written as a local
/// sweep's results.
fn virtual_time(
    a: &SweepArgs,
    jobs: &[servebench_sweep::plan::Job],
    budget: servebench_sweep::budget::Budget,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.engines != Some(EnginesArg::Real),
        "--executor virtual-time simulates every point: it cannot run --engines real"
    );
    anyhow::ensure!(
        a.eval_task.is_none() && a.power.is_none(),
        "--executor virtual-time runs no server: --eval-task and --power need one (the simulated energy is in each point's result)"
    );
    let catalog = servebench_catalog::Catalog::builtin()?;
    servebench_sweep::run_info::RunInfo::now("virtual-time", "sim", &a.select.config_files)
        .record(&a.out)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t0 = std::time::Instant::now();
    let bar = (!a.no_progress).then(|| indicatif::ProgressBar::new(0));
    let (s, reasons) = servebench_sweep::virtual_time::sweep(
        jobs,
        &catalog,
        &a.out,
        threads,
        budget,
        &|n, total| {
            if let Some(b) = &bar {
                b.set_length(total as u64);
                b.set_position(n as u64);
            }
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "servebench sweep: {} points: {} simulated in virtual time in {:.1} s, {} already stored, {} failed{}; results in {}",
        s.points,
        s.measured,
        t0.elapsed().as_secs_f64(),
        s.skipped,
        s.failed,
        deferred_note(s.deferred),
        a.out.display()
    );
    for r in reasons {
        eprintln!("  not simulated: {r}");
    }
    Ok(if s.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--container` inside a task: the mounts each step of a multi-node deployment gets (the
/// results directory and this binary, as the task's own container has, and the user's).
fn step_container(a: &SweepArgs) -> anyhow::Result<Option<Vec<String>>> {
    if !a.container {
        return Ok(None);
    }
    let out = std::path::absolute(&a.out)?.display().to_string();
    let exe = std::env::current_exe()?.display().to_string();
    let mut mounts = vec![format!("{out}:{out}"), format!("{exe}:{exe}")];
    mounts.extend(a.container_mounts.iter().cloned());
    Ok(Some(mounts))
}

/// `--reuse`: the run's unchanged points written into the results directory; the jobs left to
/// run, each with whether the run's budget deferred a point of it. Cluster executors get the
/// whole plan in plan order (their tasks find their job by index); for GitHub Actions, whose
/// runners share no directory, each job keeps only the concurrencies to measure (none: in no
/// matrix).
fn reuse(
    a: &SweepArgs,
    run: &str,
    recipes: &servebench_sweep::Recipes,
    jobs: Vec<servebench_sweep::plan::Job>,
) -> anyhow::Result<(Vec<servebench_sweep::plan::Job>, Vec<bool>)> {
    anyhow::ensure!(
        a.executor != Executor::K8s && a.job_index.is_none(),
        "--reuse runs on the local, virtual-time, slurm, gha and collected executors (Kubernetes \
         pods re-plan each job whole)"
    );
    let since = super::plan::SinceArgs {
        changed_since: Some(run.to_string()),
        store: a.store.clone(),
        changelog: a.changelog.clone(),
    };
    let Some(since) = since.changes(recipes, &jobs)? else {
        anyhow::bail!("--reuse needs --store");
    };
    let store = a.store.as_deref().unwrap_or_default();
    let mut store = servebench_store::Store::open_read_only(store)?;
    let reused = since.reuse_into(&jobs, &mut store, &a.out)?;
    eprintln!(
        "servebench sweep: {reused} unchanged points reused from run '{}' into {}",
        since.run(),
        a.out.display()
    );
    let (to_run, why) = since.to_run(jobs.clone());
    // A cluster task plans the whole matrix again and finds its job by index: it gets them all,
    // and skips the points already in the results directory, the reused ones with them. A
    // GitHub runner shares no directory: its matrices hold only the jobs with a point to run.
    Ok(match a.executor {
        Executor::Slurm | Executor::Collected => {
            let resumed = (0..jobs.len()).map(|i| since.resumed(i)).collect();
            (jobs, resumed)
        }
        Executor::Gha => {
            let resumed = (0..jobs.len()).map(|i| since.resumed(i)).collect();
            let jobs = jobs
                .into_iter()
                .enumerate()
                .map(|(i, mut j)| {
                    j.conc.retain(|&c| since.measures(i, c));
                    j
                })
                .collect();
            (jobs, resumed)
        }
        _ => (to_run, why.iter().map(|w| w["resumed"] == true).collect()),
    })
}

/// The order jobs run in (`plan::run_order` under `--priority`). Job indices.
fn run_order(
    a: &SweepArgs,
    jobs: &[servebench_sweep::plan::Job],
    resumed: &[bool],
) -> anyhow::Result<Vec<usize>> {
    let scores = a.priority.scores(jobs)?;
    let resumed = |i: usize| resumed.get(i).copied().unwrap_or(false);
    Ok(super::plan::run_order(
        jobs.len(),
        resumed,
        scores.as_deref(),
    ))
}

fn budget_of(a: &SweepArgs) -> anyhow::Result<servebench_sweep::budget::Budget> {
    let b = servebench_sweep::budget::Budget {
        hours: a.budget_hours,
        gpu_hours: a.budget_gpu_hours,
    };
    anyhow::ensure!(
        !b.is_set()
            || matches!(
                a.executor,
                Executor::Local | Executor::VirtualTime | Executor::Slurm
            ),
        "--budget-hours and --budget-gpu-hours run on the local, virtual-time and slurm executors"
    );
    Ok(b)
}

impl SweepArgs {
    /// `servebench nightly`'s sweep: into `out`, reusing `reuse` (a run of the store).
    pub fn for_night(&mut self, out: PathBuf, reuse: Option<String>) {
        self.out = out;
        if self.reuse.is_none() {
            self.reuse = reuse;
        }
    }

    pub fn store(&self) -> Option<&str> {
        self.store.as_deref()
    }

    /// The recipes and the plan of their jobs.
    pub fn plan(
        &self,
    ) -> anyhow::Result<(servebench_sweep::Recipes, Vec<servebench_sweep::plan::Job>)> {
        self.select.plan()
    }

    /// Whether the executor only writes what another system runs (GitHub Actions matrices,
    /// Kubernetes manifests): nothing is measured here.
    pub fn writes_only(&self) -> bool {
        matches!(self.executor, Executor::Gha | Executor::K8s)
    }

    /// `servebench export gha`: the sweep as its GitHub Actions stages see it, and the flags
    /// each stage needs (the recipe selection, changelog and priority, files as the
    /// repository's checkout names them; never the store).
    pub fn for_gha(&mut self) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        self.executor = Executor::Gha;
        let mut stage = self.select.to_args(false)?;
        if let Some(f) = &self.changelog {
            stage.extend(["--changelog".into(), f.display().to_string()]);
        }
        stage.extend(self.priority.to_args());
        let task = task_command(self, &self.task_exe, false, "results")?;
        Ok((stage, task))
    }

    /// The files whose change should start a night: the recipes, runner config, changelog and
    /// priority policy.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut v = self.select.config_files.clone();
        v.extend(self.select.runner_config.clone());
        v.extend(self.changelog.clone());
        v.extend(self.priority.priority.clone());
        v
    }

    pub fn out(&self) -> &std::path::Path {
        &self.out
    }
}

/// `--changelog`: checked against the recipes' keys, then copied into the results directory
/// as it was read.
fn keep_changelog(
    file: &std::path::Path,
    recipes: &servebench_sweep::Recipes,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let keys: Vec<String> = recipes.entries.iter().map(|e| e.0.clone()).collect();
    servebench_sweep::changelog::load(file, Some(&keys))?;
    std::fs::create_dir_all(out)?;
    let copy = out.join(super::ingest::CHANGELOG_IN_RESULTS);
    std::fs::copy(file, &copy)
        .with_context(|| format!("copying {} to {}", file.display(), copy.display()))?;
    Ok(())
}

fn engines_of(a: &SweepArgs) -> Engines {
    match (a.engines, a.executor) {
        (Some(EnginesArg::Sim), _) | (None, Executor::Local) => Engines::Sim,
        _ => Engines::Recipe,
    }
}

pub fn run(a: SweepArgs) -> anyhow::Result<ExitCode> {
    if let Some(p) = a.power.as_deref().filter(|p| *p != "sim") {
        p.parse::<servebench_power::Source>()
            .map_err(|e| anyhow::anyhow!("--power {e}"))?;
    }
    let (recipes, mut jobs) = a.select.plan()?;
    if let Some(i) = a.job_index {
        anyhow::ensure!(
            i < jobs.len(),
            "--job-index {i}: the plan has {} jobs",
            jobs.len()
        );
        jobs = vec![jobs.swap_remove(i)];
        if !a.job_conc.is_empty() {
            let job = &mut jobs[0];
            if let Some(c) = a.job_conc.iter().find(|c| !job.conc.contains(c)) {
                anyhow::bail!(
                    "--job-conc {c}: job {i} ({}) runs concurrencies {:?}",
                    job.config_key,
                    job.conc
                );
            }
            job.conc.retain(|c| a.job_conc.contains(c));
        }
    }
    let budget = budget_of(&a)?;
    let mut resumed = Vec::new();
    if let Some(run) = &a.reuse {
        (jobs, resumed) = reuse(&a, run, &recipes, jobs)?;
    }
    // A cluster task's job index is the plan's: only the submitter orders, and for a cluster
    // it keeps the plan's indices.
    let order = match a.job_index {
        Some(_) => (0..jobs.len()).collect(),
        None => run_order(&a, &jobs, &resumed)?,
    };
    let by_index = matches!(
        a.executor,
        Executor::Slurm | Executor::Gha | Executor::Collected
    );
    if !by_index {
        jobs = super::plan::reordered(jobs, &order);
    }
    if let (Some(f), None) = (&a.changelog, a.job_index) {
        keep_changelog(f, &recipes, &a.out)?;
    }
    let opts = SweepOptions {
        engines: engines_of(&a),
        out: a.out.clone(),
        retries: a.retries,
        fail_fast: a.fail_fast,
        canary: a.canary,
        servebench: std::env::current_exe()?,
        tokenizer: a.tokenizer.clone(),
        health_timeout: Duration::from_secs(a.health_timeout),
        prompts_per_conc: 10,
        warmups_per_conc: 2,
        progress: !a.no_progress,
        sim_time_scale: a.sim_time_scale,
        power: a.power.as_ref().map(|source| servebench_power::PowerSpec {
            source: source.clone(),
            hz: a.power_hz,
            max_gap_s: a.power_max_gap,
            gpus: Vec::new(),
        }),
        eval: match (&a.eval_task, &a.eval_data) {
            (Some(task), Some(data)) => Some(servebench_sweep::local::EvalSpec {
                task: *task,
                data: data.clone(),
                fewshot_data: a.eval_fewshot_data.clone(),
                num_fewshot: a.eval_num_fewshot,
                limit: a.eval_limit,
                concurrency: a.eval_concurrency.max(1),
                max_tokens: a.eval_max_tokens,
                threshold: a.eval_threshold,
            }),
            _ => None,
        },
        recipes: a.launch.recipes()?,
        step_container: step_container(&a)?,
        agentic: local::AgenticSpec {
            trace: a.agentic_trace.clone().map(|p| (p, a.agentic_trace_format)),
            profile: a.agentic_profile.clone(),
            sessions: a.agentic_sessions,
            duration: a.agentic_duration.map(Duration::from_secs_f64),
            warmups_per_lane: a.agentic_warmups_per_lane,
            pause_cap: Duration::from_secs_f64(a.agentic_pause_cap),
            seed: 42,
        },
        budget,
    };
    if a.job_index.is_none()
        && matches!(
            a.executor,
            Executor::Local | Executor::Slurm | Executor::Collected
        )
    {
        // Who, when, where and which recipes at which commit: what the store keeps per run.
        let engines = match opts.engines {
            Engines::Sim => "sim",
            Engines::Recipe => "real",
        };
        let executor = format!("{:?}", a.executor).to_lowercase();
        servebench_sweep::run_info::RunInfo::now(&executor, engines, &a.select.config_files)
            .record(&a.out)?;
    }
    let s = match a.executor {
        Executor::Local => local::run(&recipes, &jobs, &opts)?,
        Executor::VirtualTime => return virtual_time(&a, &jobs, budget),
        Executor::Slurm => {
            let out = std::path::absolute(&a.out)?;
            let exe = opts.servebench.display().to_string();
            let task = task_command(&a, &exe, true, &out.display().to_string())?;
            let so = slurm::SlurmOptions {
                out,
                task_command: task,
                partition: a.partition.clone(),
                sbatch_args: a.sbatch_args.clone(),
                container: a.container,
                container_mounts: a.container_mounts.clone(),
                poll: Duration::from_secs_f64(a.poll_interval.max(0.05)),
                progress: !a.no_progress,
                max_nodes: a.slurm_max_nodes,
                engines: opts.engines,
                recipes: opts.recipes.clone(),
                order: order.clone(),
                budget,
            };
            slurm::run(&jobs, &so)?
        }
        Executor::Collected => collected(&jobs, &a.out),
        Executor::Gha if a.gha_output.is_some() => return gha_outputs(&a, &jobs, &order),
        Executor::Gha | Executor::K8s => {
            let gha = a.executor == Executor::Gha;
            let out_in_task = if gha {
                "results".to_string()
            } else {
                a.k8s_results_dir.clone()
            };
            let task = task_command(&a, &a.task_exe, false, &out_in_task)?;
            let (files, skipped) = if gha {
                // In run order, each with its index in the plan; a job with nothing to
                // measure (all its points reused) is in no matrix.
                let todo: Vec<(usize, &servebench_sweep::plan::Job)> = order
                    .iter()
                    .map(|&i| (i, &jobs[i]))
                    .filter(|(_, j)| !j.conc.is_empty())
                    .collect();
                (
                    export::write_gha(&todo, &task, &a.out.join("gha"))?,
                    Vec::new(),
                )
            } else {
                export::write_k8s(
                    &jobs,
                    &task,
                    &a.k8s_results_dir,
                    &a.k8s_pvc,
                    &a.out.join("k8s"),
                )?
            };
            for s in &skipped {
                eprintln!("servebench sweep: not written (needs a multi-pod launcher): {s}");
            }
            eprintln!(
                "servebench sweep: {} jobs written as {} files in {}",
                jobs.len() - skipped.len(),
                files.len(),
                a.out.join(if gha { "gha" } else { "k8s" }).display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    eprintln!(
        "servebench sweep: {} points: {} measured, {} already stored, {} failed, {} not run{}; results in {}",
        s.points,
        s.measured,
        s.skipped,
        s.failed,
        s.not_run,
        deferred_note(s.deferred),
        a.out.display()
    );
    let mut s = s;
    if let Some(t) = &a.eval_task {
        if a.executor == Executor::Slurm {
            // The tasks ran the evals: the results directory says what they did.
            let (stored, failed, below) = servebench_sweep::local::eval_counts(&a.out, &jobs, *t);
            s.evals_failed = failed;
            eprintln!(
                "servebench sweep: {t} evals: {stored} stored by the cluster's tasks, {failed} could not run, {below} below threshold"
            );
        } else {
            eprintln!(
                "servebench sweep: {t} evals: {} run, {} already stored, {} could not run, {} below threshold",
                s.evals, s.evals_skipped, s.evals_failed, s.evals_below_threshold
            );
        }
    }
    Ok(if s.failed > 0 || s.not_run > 0 || s.evals_failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
