//! `servebench plan`: recipe files → the jobs of a sweep, as JSON rows (InferenceX's field
//! names), a table, or counts.

use anyhow::Context;
use servebench_sweep::plan::{plan, Evals, Job, PlanOptions, Topology, Workload};
use servebench_sweep::priority::Score;
use servebench_sweep::recipe::Runners;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Output: json (InferenceX's matrix rows), table, or count (totals per bucket).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Totals per bucket instead of the jobs (same as --format count).
    #[arg(long)]
    count: bool,
    /// --format commands: the engines whose commands to show: real (the recipes' own; default)
    /// or sim (the simulated engine standing in for them).
    #[arg(long, value_enum, default_value = "real")]
    engines: EnginesArg,
    /// --format commands, real engines, multi-node rows: where their launch recipes are read
    /// from (as for `sweep`).
    #[command(flatten)]
    launch: LaunchRecipeArgs,
    #[command(flatten)]
    since: SinceArgs,
    #[command(flatten)]
    priority: PriorityArgs,
}

/// InferenceX's CI priority (`docs/nightly.md`), shared by `plan` and `sweep`.
#[derive(clap::Args, Debug, Clone)]
pub struct PriorityArgs {
    /// InferenceX's CI priority policy (ci-priority.yaml): jobs run highest score first, ties
    /// in plan order (`plan` lists them so, each row with its `priority`); with --reuse, jobs
    /// with a point the reused run's budget deferred run before all others.
    #[arg(long, value_name = "FILE")]
    pub priority: Option<PathBuf>,
    /// --priority: the event that started the run (push, schedule, …; the policy's `event`
    /// adjustment).
    #[arg(long, default_value = "", requires = "priority")]
    pub event: String,
    /// --priority: a label of the run (repeatable; ci-checklist-complete, ci-patchwork, …).
    #[arg(long = "label", value_name = "LABEL", requires = "priority")]
    pub labels: Vec<String>,
}

impl PriorityArgs {
    /// The flags that give the same priority again.
    pub fn to_args(&self) -> Vec<String> {
        let Some(f) = &self.priority else {
            return Vec::new();
        };
        let mut a = vec!["--priority".to_string(), f.display().to_string()];
        if !self.event.is_empty() {
            a.extend(["--event".into(), self.event.clone()]);
        }
        for l in &self.labels {
            a.extend(["--label".into(), l.clone()]);
        }
        a
    }

    /// Each job's score under --priority; `None` without one.
    pub fn scores(
        &self,
        jobs: &[Job],
    ) -> anyhow::Result<Option<Vec<servebench_sweep::priority::Score>>> {
        use servebench_sweep::priority;
        let Some(file) = &self.priority else {
            return Ok(None);
        };
        let policy = priority::load(file)?;
        let ctx = priority::Context {
            event: self.event.clone(),
            labels: self.labels.iter().cloned().collect(),
        };
        Ok(Some(jobs.iter().map(|j| policy.score(j, &ctx)).collect()))
    }
}

/// What changed since a run of the store (`docs/nightly.md`).
#[derive(clap::Args, Debug, Clone)]
pub struct SinceArgs {
    /// Only what must run since this run of the store (`latest`: its latest own run not
    /// retracted): points whose recipe fingerprint (image, flags, parallelism, workload)
    /// differs from the run's, or that it did not measure. Each job says why.
    #[arg(long, value_name = "RUN|latest", requires = "store")]
    pub changed_since: Option<String>,
    /// --changed-since: the store holding the run.
    #[arg(long, env = "SERVEBENCH_STORE")]
    pub store: Option<String>,
    /// --changed-since: perf-changelog.yaml (InferenceX's format), checked against the
    /// recipes' keys; each job to run lists the entries that touch its config key and that the
    /// store did not keep with the run or one before it.
    #[arg(long, value_name = "FILE", requires = "changed_since")]
    pub changelog: Option<PathBuf>,
}

/// Where real-engine multi-node rows' launch recipes are read from (shared by `plan` and
/// `sweep`).
#[derive(clap::Args, Debug, Clone)]
pub struct LaunchRecipeArgs {
    /// Real engines, multi-node rows: a folder their srt-slurm recipes (`CONFIG_FILE=recipes/…`)
    /// are looked for in, such as your srt-slurm checkout (repeatable; searched in order, after
    /// InferenceX's own with --inferencex).
    #[arg(long = "srt-recipes", value_name = "DIR")]
    pub srt_recipes: Vec<PathBuf>,
    /// Real engines, multi-node rows: an InferenceX checkout. Rows its own scripts launch (AMD's
    /// disaggregated SGLang and ATOM) are launched from their files there, and its
    /// benchmarks/multi_node/srt-slurm-recipes is searched first for srt-slurm recipes.
    #[arg(long = "inferencex", value_name = "DIR")]
    pub inferencex: Option<PathBuf>,
}

impl LaunchRecipeArgs {
    pub fn recipes(&self) -> anyhow::Result<servebench_sweep::cluster::LaunchRecipes> {
        let inferencex = match &self.inferencex {
            Some(d) => {
                Some(servebench_sweep::cluster::check_inferencex(d).map_err(anyhow::Error::msg)?)
            }
            None => None,
        };
        Ok(servebench_sweep::cluster::LaunchRecipes {
            srt: self.srt_recipes.clone(),
            inferencex,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum EnginesArg {
    Sim,
    Real,
}

/// Which recipe files, and which of their jobs (shared by `plan` and `sweep`).
#[derive(clap::Args, Debug, Clone)]
pub struct Selection {
    /// Master config files (InferenceX `configs/*-master.yaml` or your own).
    #[arg(long = "config-files", num_args = 1.., required = true, value_name = "FILE")]
    pub(crate) config_files: Vec<PathBuf>,
    /// The runner config (labels and hardware; InferenceX `configs/runners.yaml`).
    #[arg(long = "runner-config", value_name = "FILE")]
    pub runner_config: Option<PathBuf>,
    /// Only config keys matching these globs (`*`, `?`).
    #[arg(long = "config-keys", num_args = 1.., value_name = "GLOB")]
    config_keys: Vec<String>,
    /// Only config keys starting with these.
    #[arg(long = "model-prefix", num_args = 1..)]
    model_prefix: Vec<String>,
    /// Only recipes of these precisions (fp4, fp8, ...).
    #[arg(long, num_args = 1..)]
    precision: Vec<String>,
    /// Only recipes of these frameworks (vllm, sglang, trt, dynamo-trt, sim, ...).
    #[arg(long, num_args = 1..)]
    framework: Vec<String>,
    /// Only recipes on these runner labels.
    #[arg(long = "runner-type", num_args = 1..)]
    runner_type: Vec<String>,
    /// Only these workloads: 1k1k, 8k1k or ISL_OSL.
    #[arg(long = "seq-lens", num_args = 1.., value_parser = parse_seq_len)]
    seq_lens: Vec<(u32, u32)>,
    /// Geometric step of concurrency ladders.
    #[arg(long = "step-size", default_value_t = 2)]
    step_size: u32,
    /// Drop concurrencies below this (a ladder restarts at it).
    #[arg(long = "min-conc")]
    min_conc: Option<u32>,
    /// Drop concurrencies above this (an entry with none left runs at it).
    #[arg(long = "max-conc")]
    max_conc: Option<u32>,
    /// Only these concurrencies (as InferenceX's test-config --conc).
    #[arg(long, num_args = 1..)]
    conc: Vec<u32>,
    /// Skip single-node entries with a larger TP.
    #[arg(long = "max-tp")]
    max_tp: Option<u32>,
    /// Clamp single-node EP to this.
    #[arg(long = "max-ep")]
    max_ep: Option<u32>,
    /// Only single-node recipes.
    #[arg(long = "single-node", conflicts_with = "multi_node")]
    single_node: bool,
    /// Only multi-node recipes.
    #[arg(long = "multi-node")]
    multi_node: bool,
    /// Only this scenario type: fixed-seq-len or agentic-coding.
    #[arg(long = "scenario-type", value_parser = ["fixed-seq-len", "agentic-coding"])]
    scenario_type: Option<String>,
    /// Do not mark eval rows.
    #[arg(long = "no-evals", conflicts_with_all = ["evals_only", "all_evals"])]
    no_evals: bool,
    /// Only the eval rows (agentic ones included), marked eval-only.
    #[arg(long = "evals-only")]
    evals_only: bool,
    /// Every 8k/1k row as an eval row (multi-node rows of one topology merged), eval rows only.
    #[arg(long = "all-evals")]
    all_evals: bool,
    /// One row per concrete runner of each recipe's label whose name contains this.
    #[arg(long = "runner-node-filter", value_name = "SUBSTRING")]
    runner_node_filter: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Json,
    Table,
    Count,
    /// Every process each job would start (node, name, command), without starting any: a
    /// dry run of a sweep.
    Commands,
}

fn parse_seq_len(s: &str) -> Result<(u32, u32), String> {
    match s {
        "1k1k" => Ok((1024, 1024)),
        "8k1k" => Ok((8192, 1024)),
        "1k8k" => Ok((1024, 8192)),
        _ => {
            let (i, o) = s
                .split_once('_')
                .ok_or_else(|| format!("'{s}': expected 1k1k, 8k1k, 1k8k or ISL_OSL"))?;
            let n = |x: &str| {
                x.parse::<u32>()
                    .map_err(|_| format!("'{s}': '{x}' is not a length"))
            };
            Ok((n(i)?, n(o)?))
        }
    }
}

/// The bucket of a job, as InferenceX's matrix groups them.
fn bucket(j: &Job) -> String {
    let nodes = if j.is_multinode() {
        "multi_node"
    } else {
        "single_node"
    };
    let workload = match j.workload {
        Workload::Fixed { isl, osl } => servebench_sweep::plan::seq_len_name(isl, osl),
        Workload::Agentic { .. } => "agentic".into(),
    };
    format!("{nodes}.{workload}")
}

impl Selection {
    /// The flags that select the same jobs again (for the tasks of a cluster sweep); file
    /// paths made absolute when `absolute` (a shared filesystem), else kept as given (a
    /// checkout of the same repository).
    pub fn to_args(&self, absolute: bool) -> anyhow::Result<Vec<String>> {
        let abs = |p: &PathBuf| -> anyhow::Result<String> {
            Ok(if absolute {
                std::path::absolute(p)?.display().to_string()
            } else {
                p.display().to_string()
            })
        };
        let mut a = vec!["--config-files".to_string()];
        for f in &self.config_files {
            a.push(abs(f)?);
        }
        if let Some(r) = &self.runner_config {
            a.extend(["--runner-config".into(), abs(r)?]);
        }
        let mut list = |flag: &str, v: &[String]| {
            if !v.is_empty() {
                a.push(flag.to_string());
                a.extend(v.iter().cloned());
            }
        };
        list("--config-keys", &self.config_keys);
        list("--model-prefix", &self.model_prefix);
        list("--precision", &self.precision);
        list("--framework", &self.framework);
        list("--runner-type", &self.runner_type);
        let concs: Vec<String> = self.conc.iter().map(u32::to_string).collect();
        list("--conc", &concs);
        let lens: Vec<String> = self
            .seq_lens
            .iter()
            .map(|(i, o)| format!("{i}_{o}"))
            .collect();
        list("--seq-lens", &lens);
        a.extend(["--step-size".into(), self.step_size.to_string()]);
        for (flag, v) in [
            ("--min-conc", self.min_conc),
            ("--max-conc", self.max_conc),
            ("--max-tp", self.max_tp),
            ("--max-ep", self.max_ep),
        ] {
            if let Some(v) = v {
                a.extend([flag.to_string(), v.to_string()]);
            }
        }
        if self.single_node {
            a.push("--single-node".into());
        }
        if self.multi_node {
            a.push("--multi-node".into());
        }
        if let Some(t) = &self.scenario_type {
            a.extend(["--scenario-type".into(), t.clone()]);
        }
        for (flag, on) in [
            ("--no-evals", self.no_evals),
            ("--evals-only", self.evals_only),
            ("--all-evals", self.all_evals),
        ] {
            if on {
                a.push(flag.into());
            }
        }
        if let Some(f) = &self.runner_node_filter {
            a.extend(["--runner-node-filter".into(), f.clone()]);
        }
        Ok(a)
    }

    /// Loads and checks the files, and plans; prints how long that took.
    pub fn plan(&self) -> anyhow::Result<(servebench_sweep::Recipes, Vec<Job>)> {
        let t0 = std::time::Instant::now();
        let a = self.clone();
        let recipes = servebench_sweep::load_recipes(&a.config_files)?;
        let runners = match &a.runner_config {
            Some(f) => servebench_sweep::load_runners(f)?,
            None => Runners::default(),
        };
        let opts = PlanOptions {
            step_size: a.step_size,
            model_prefix: a.model_prefix,
            precision: a.precision,
            framework: a.framework,
            runner_type: a.runner_type,
            seq_lens: a.seq_lens,
            min_conc: a.min_conc,
            max_conc: a.max_conc,
            conc: a.conc,
            max_tp: a.max_tp,
            max_ep: a.max_ep,
            single_node: !a.multi_node,
            multi_node: !a.single_node,
            fixed_seq_len: a.scenario_type.as_deref() != Some("agentic-coding"),
            agentic: a.scenario_type.as_deref() != Some("fixed-seq-len"),
            config_keys: a.config_keys,
            evals: if a.no_evals {
                Evals::None
            } else if a.all_evals {
                Evals::All
            } else if a.evals_only {
                Evals::Only
            } else {
                Evals::Default
            },
            runner_node_filter: a.runner_node_filter,
        };
        let jobs = plan(&recipes, &runners, &opts).context("planning")?;
        eprintln!(
            "servebench plan: {} recipes, {} jobs in {:.1} ms",
            recipes.entries.len(),
            jobs.len(),
            t0.elapsed().as_secs_f64() * 1e3
        );
        Ok((recipes, jobs))
    }
}

pub fn run(a: PlanArgs) -> anyhow::Result<ExitCode> {
    let (recipes, mut jobs) = a.select.plan()?;
    let mut why: Vec<serde_json::Value> = Vec::new();
    if let Some(since) = a.since.changes(&recipes, &jobs)? {
        (jobs, why) = since.to_run(jobs);
    }
    let mut scores = a.priority.scores(&jobs)?;
    if let Some(s) = scores.take() {
        // As they would run.
        let resumed = |i: usize| why.get(i).is_some_and(|w| w["resumed"] == true);
        let order = run_order(jobs.len(), resumed, Some(&s));
        jobs = reordered(jobs, &order);
        if !why.is_empty() {
            why = reordered(why, &order);
        }
        scores = Some(reordered(s, &order));
    }
    let format = if a.count { Format::Count } else { a.format };
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = jobs
                .iter()
                .enumerate()
                .map(|(i, j)| {
                    let mut row = j.ix_row();
                    if let Some(w) = why.get(i) {
                        row["servebench-change"] = w.clone();
                    }
                    if let Some(s) = &scores {
                        // InferenceX's field: the score as a string of 3 decimals.
                        row["priority"] = s[i].to_string().into();
                    }
                    row
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        Format::Table => {
            println!(
                "{:<44} {:<10} {:<14} {:<22} {:>9} {:<26} {:>5}",
                "config key", "precision", "runner", "workload", "gpus", "topology", "conc"
            );
            for (i, j) in jobs.iter().enumerate() {
                let gpus = j.gpus();
                let topo = match &j.topology {
                    Topology::Single {
                        tp, ep, dp_attn, ..
                    } => {
                        format!("tp{tp} ep{ep}{}", if *dp_attn { " dpa" } else { "" })
                    }
                    Topology::Multi { prefill, decode } => format!(
                        "p{}x{} d{}x{}",
                        prefill.num_worker, prefill.tp, decode.num_worker, decode.tp
                    ),
                };
                let workload = match &j.workload {
                    Workload::Fixed { isl, osl } => format!("{isl}/{osl}"),
                    Workload::Agentic { kv_offloading, .. } => {
                        format!("agentic kv-{}", kv_offloading.as_str())
                    }
                };
                let conc: Vec<String> = j.conc.iter().map(u32::to_string).collect();
                let change = why.get(i).map_or(String::new(), |w| {
                    format!("  {}", w["summary"].as_str().unwrap_or_default())
                });
                println!(
                    "{:<44} {:<10} {:<14} {:<22} {:>9} {:<26} {:>5}{}{change}",
                    j.config_key,
                    j.precision,
                    j.runner,
                    workload,
                    gpus,
                    topo,
                    conc.join(","),
                    if j.run_eval == Some(true) {
                        "  eval"
                    } else {
                        ""
                    }
                );
            }
        }
        Format::Commands => return commands(&a, &recipes, &jobs),
        Format::Count => {
            let mut by: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
            for j in &jobs {
                let e = by.entry(bucket(j)).or_default();
                e.0 += 1;
                e.1 += j.conc.len();
                e.2 += usize::from(j.run_eval == Some(true));
            }
            println!(
                "{:<28} {:>6} {:>14} {:>6}",
                "bucket", "jobs", "concurrencies", "evals"
            );
            for (k, (n, c, e)) in &by {
                println!("{k:<28} {n:>6} {c:>14} {e:>6}");
            }
            let (n, c, e) = by
                .values()
                .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
            println!("{:<28} {n:>6} {c:>14} {e:>6}", "total");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The order `n` jobs run in: those with a point a budget deferred first, then by priority
/// score, highest first; ties in plan order.
pub fn run_order(
    n: usize,
    resumed: impl Fn(usize) -> bool,
    scores: Option<&[Score]>,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (!resumed(i), std::cmp::Reverse(scores.map(|s| s[i]))));
    order
}

/// `v` in `order` (indices into it, each once).
pub fn reordered<T>(v: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = v.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

/// Each planned point against a stored run.
pub struct Since {
    run: String,
    points: Vec<servebench_sweep::changes::PointChange>,
    /// Per job index: the fields of its row that differ from the run's, where it changed.
    fields: BTreeMap<usize, Vec<servebench_sweep::changes::FieldChange>>,
    /// Per job index: the changelog entries that touch its config key.
    entries: BTreeMap<usize, Vec<servebench_sweep::changelog::ChangelogEntry>>,
    /// Job indices with a point the run's budget left for a later night: they run first.
    resumed: std::collections::BTreeSet<usize>,
}

impl SinceArgs {
    /// With --changed-since: how each planned point stands against the run.
    pub fn changes(
        &self,
        recipes: &servebench_sweep::Recipes,
        jobs: &[Job],
    ) -> anyhow::Result<Option<Since>> {
        use servebench_sweep::changes::{changes, diff_rows, workload_key, Change, Measured};
        let (Some(since), Some(store)) = (&self.changed_since, &self.store) else {
            return Ok(None);
        };
        let mut store = servebench_store::Store::open_read_only(store)?;
        let run = match since.as_str() {
            "latest" => {
                store
                    .latest_run(servebench_store::Source::Own)?
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "--changed-since latest: the store has no run of its own yet"
                        )
                    })?
                    .key
            }
            key => key.to_string(),
        };
        let measured: Vec<Measured> = store
            .measured(&run)?
            .into_iter()
            .map(|p| Measured {
                recipe_key: p.recipe_key,
                workload: (!servebench_store::is_agentic(p.isl, p.osl)).then_some((p.isl, p.osl)),
                fingerprint: p.fingerprint,
                image: p.image,
                conc: p.conc,
                point: p.id,
            })
            .collect();
        if measured.is_empty() {
            anyhow::bail!("--changed-since {since}: the store holds no point of run '{run}'");
        }
        let points = changes(jobs, &measured);
        // (config key, workload, concurrency) of each deferred point.
        type PointKey = (String, Option<(u32, u32)>, u32);
        let deferred: std::collections::HashSet<PointKey> = store
            .deferred(&run)?
            .into_iter()
            .map(|d| {
                let workload =
                    (!servebench_store::is_agentic(d.isl, d.osl)).then_some((d.isl, d.osl));
                (d.recipe_key, workload, d.conc)
            })
            .collect();
        let resumed = points
            .iter()
            .filter(|p| {
                let j = &jobs[p.job];
                let key = (j.config_key.clone(), workload_key(j), p.conc);
                p.change.to_run() && deferred.contains(&key)
            })
            .map(|p| p.job)
            .collect();
        let keys: Vec<String> = recipes.entries.iter().map(|e| e.0.clone()).collect();
        let mut changelog = match &self.changelog {
            Some(f) => servebench_sweep::changelog::load(f, Some(&keys))?,
            None => Default::default(),
        };
        // Entries kept with the run or one before it were there when it ran: not news.
        let since_start = store.run(&run)?.map(|r| r.started_at).unwrap_or_default();
        let seen: std::collections::HashSet<String> = store
            .changelog()?
            .into_iter()
            .filter(|c| (c.run_started_at.as_str(), c.run.as_str()) <= (&since_start, &run))
            .map(|c| c.digest)
            .collect();
        changelog.entries.retain(|e| !seen.contains(&e.digest()));
        let (mut fields, mut entries) = (BTreeMap::new(), BTreeMap::new());
        for p in &points {
            if let Change::Changed { was_point, .. } = &p.change {
                if let std::collections::btree_map::Entry::Vacant(e) = fields.entry(p.job) {
                    let before = store
                        .point(*was_point)?
                        .map(|r| r.point.result["job"].clone())
                        .unwrap_or_default();
                    e.insert(diff_rows(&before, &jobs[p.job].ix_row()));
                }
            }
            if p.change.to_run() {
                let touching: Vec<_> = changelog
                    .touching(&jobs[p.job].config_key)
                    .cloned()
                    .collect();
                entries.entry(p.job).or_insert(touching);
            }
        }
        Ok(Some(Since {
            run,
            points,
            fields,
            entries,
            resumed,
        }))
    }
}

impl Since {
    /// The run the points were compared with.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// Writes each unchanged point into `out/points/` as a sweep writes a point (its stored
    /// point file, as ingest kept it), marked `reused_from: {run, point}`; a point already
    /// there is left alone. How many were written.
    pub fn reuse_into(
        &self,
        jobs: &[Job],
        store: &mut servebench_store::Store,
        out: &std::path::Path,
    ) -> anyhow::Result<usize> {
        use servebench_sweep::changes::Change;
        let mut written = 0;
        for p in &self.points {
            let Change::Unchanged { point } = p.change else {
                continue;
            };
            let name = servebench_sweep::local::point_name(&jobs[p.job], p.conc);
            let mut file = out.join("points").join(name).into_os_string();
            file.push(".json");
            let file = PathBuf::from(file);
            if file.exists() {
                continue;
            }
            let stored = store
                .point(point)?
                .ok_or_else(|| anyhow::anyhow!("point {point} of run '{}' is gone", self.run))?;
            let mut v = stored.point.result;
            anyhow::ensure!(
                v.get("job").is_some() && v.get("result").is_some(),
                "point {point} of run '{}' was not stored from a sweep's point file: it cannot \
                 be reused",
                self.run
            );
            v["reused_from"] = serde_json::json!({"run": self.run, "point": point});
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&file, serde_json::to_vec_pretty(&v)?)?;
            written += 1;
        }
        Ok(written)
    }

    /// Whether job `i` of the plan has its point at `conc` to measure.
    pub fn measures(&self, i: usize, conc: u32) -> bool {
        self.points
            .iter()
            .any(|p| p.job == i && p.conc == conc && p.change.to_run())
    }

    /// Whether job `i` of the plan has a point the run's budget deferred (it runs first).
    pub fn resumed(&self, i: usize) -> bool {
        self.resumed.contains(&i)
    }

    /// The jobs with a point to run (each restricted to those points), and why each, as JSON;
    /// says what stands how on stderr.
    pub fn to_run(&self, jobs: Vec<Job>) -> (Vec<Job>, Vec<serde_json::Value>) {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &self.points {
            *counts.entry(p.change.name()).or_default() += 1;
        }
        let said: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        eprintln!(
            "servebench plan: since run '{}': {} points ({})",
            self.run,
            self.points.len(),
            said.join(", ")
        );
        let (mut out, mut why) = (Vec::new(), Vec::new());
        for (i, mut job) in jobs.into_iter().enumerate() {
            let mine: Vec<_> = self
                .points
                .iter()
                .filter(|p| p.job == i && p.change.to_run())
                .collect();
            if mine.is_empty() {
                continue;
            }
            job.conc = mine.iter().map(|p| p.conc).collect();
            let fields = self.fields.get(&i).cloned().unwrap_or_default();
            let entries = self.entries.get(&i).cloned().unwrap_or_default();
            let summary = match &mine[0].change {
                servebench_sweep::changes::Change::Changed { .. } if fields.is_empty() => {
                    "changed".to_string()
                }
                servebench_sweep::changes::Change::Changed { .. } => format!(
                    "changed: {}",
                    fields
                        .iter()
                        .map(|f| format!("{} {} → {}", f.field, f.before, f.after))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                c => c.name().to_string(),
            };
            let summary = if self.resumed(i) {
                format!("{summary}; deferred by run '{}': runs first", self.run)
            } else {
                summary
            };
            why.push(serde_json::json!({
                "since": self.run,
                "summary": summary,
                "resumed": self.resumed(i),
                "points": mine.iter().map(|p| serde_json::json!({"conc": p.conc, "change": p.change})).collect::<Vec<_>>(),
                "fields": fields,
                "changelog": entries,
            }));
            out.push(job);
        }
        (out, why)
    }
}

/// `--format commands`: each job's processes, or why it cannot run; exit 1 if any cannot.
fn commands(
    a: &PlanArgs,
    recipes: &servebench_sweep::Recipes,
    jobs: &[Job],
) -> anyhow::Result<ExitCode> {
    use servebench_sweep::engine::{Engines, Launch};
    let l = Launch {
        engines: match a.engines {
            EnginesArg::Sim => Engines::Sim,
            EnginesArg::Real => Engines::Recipe,
        },
        host: "node00".into(),
        port: 8000,
        servebench: "servebench".into(),
        tokenizer: "cl100k_base".into(),
        sim_time_scale: None,
        recipes: a.launch.recipes()?,
    };
    let mut refused = 0;
    for j in jobs {
        let recipe = recipes
            .get(&j.config_key)
            .expect("planned from these recipes");
        let conc: Vec<String> = j.conc.iter().map(u32::to_string).collect();
        println!(
            "# {} {} (concurrency {})",
            j.config_key,
            j.exp_name,
            conc.join(",")
        );
        match servebench_sweep::cluster::dry_run(j, recipe, &l) {
            Ok(processes) => {
                for p in processes {
                    let mpi = p
                        .mpi_ranks
                        .map_or(String::new(), |r| format!(" [MPI, {r} ranks a node]"));
                    let files = if p.files.is_empty() {
                        String::new()
                    } else {
                        format!(" [reads {}]", p.files.join(", "))
                    };
                    println!(
                        "{} {}{mpi}{files}: {}",
                        p.nodes.join(","),
                        p.name,
                        p.command
                    );
                }
            }
            Err(e) => {
                refused += 1;
                println!("# cannot run: {e}");
            }
        }
    }
    if refused > 0 {
        eprintln!(
            "servebench plan: {refused} of {} jobs cannot run (their reasons are above)",
            jobs.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
