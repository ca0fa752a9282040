//! The `slurm` executor: one `sbatch` job array per sweep, one array task per job that still
//! has points to measure. Each task runs this same sweep, with the same recipe files and
//! filters, restricted to its job (`--job-index`) on the local executor of its node, and
//! stores its points in the shared results directory. The orchestrator polls the array's task
//! states (`squeue`), collects the tasks' logs, and records every task that ended without its
//! points (cancelled, timed out, node failure) as failed, with its state and log tail.
//!
//! A multi-node job's task holds the nodes its workers fill ([`crate::cluster::nodes_wanted`],
//! at most `max_nodes`): jobs are submitted as one array per node count. The task starts each
//! worker as a step on its node and the router on its first node ([`crate::cluster`]).

use crate::local::{named, point_name, FailedPoint, SweepSummary};
use crate::plan::Job;
use servebench_core::shell::quote as shell_quote;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Slurm's default `MaxArraySize` is 1001: arrays carry at most this many tasks.
pub const MAX_ARRAY_TASKS: usize = 1000;

#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// Results directory, on a filesystem every node sees.
    pub out: PathBuf,
    /// The command that runs the sweep on a node, without `--job-index`:
    /// `[servebench, sweep, <the same files and filters>, --executor, local, --out, OUT]`.
    pub task_command: Vec<String>,
    pub partition: Option<String>,
    /// Extra `#SBATCH` options (`--gres=gpu:8`, `--time=4:00:00`, `--account=x`).
    pub sbatch_args: Vec<String>,
    /// pyxis/enroot: run each task in its job's image (`srun --container-image`).
    pub container: bool,
    /// Extra `--container-mounts` (the results directory and the servebench binary are
    /// always mounted).
    pub container_mounts: Vec<String>,
    /// How often task states are polled.
    pub poll: Duration,
    pub progress: bool,
    /// At most this many nodes per multi-node job: its workers are packed onto them,
    /// oversubscribed (a small or test cluster).
    pub max_nodes: Option<u32>,
    /// Which engines the tasks run: a real-engine multi-node job takes the nodes its launch
    /// recipe lays out, found in `recipes`.
    pub engines: crate::engine::Engines,
    pub recipes: crate::cluster::LaunchRecipes,
    /// The job indices in the order to submit them (priority); empty: plan order.
    pub order: Vec<usize>,
    /// Once spent (wall time since submission; GPU-hours of the running tasks, as polled), the
    /// tasks still pending are cancelled and their points deferred to a later night.
    pub budget: crate::budget::Budget,
}

/// Nodes the task of `job` asks for; why it cannot run, where its recipe says so.
fn task_nodes(job: &Job, o: &SlurmOptions) -> Result<u32, String> {
    match job.topology {
        crate::plan::Topology::Multi { .. } => {
            let n = crate::cluster::nodes_needed(job, o.engines, &o.recipes)?;
            let max = o.max_nodes.unwrap_or(u32::MAX);
            let simulated = o.engines == crate::engine::Engines::Sim || job.framework == "sim";
            if n > max && !simulated {
                // Simulated workers pack onto fewer nodes; real ones need theirs.
                return Err(format!(
                    "{}: its deployment takes {n} nodes, more than --slurm-max-nodes {max}",
                    job.config_key
                ));
            }
            Ok(n.min(max).max(1))
        }
        crate::plan::Topology::Single { .. } => Ok(1),
    }
}

/// The batch script of one array of `tasks` tasks of `nodes` nodes each; task N runs the job
/// on line N + 1 of `jobs_file` (`<job index> <image>`).
pub fn batch_script(o: &SlurmOptions, tasks: usize, nodes: u32, jobs_file: &Path) -> String {
    let out = o.out.display();
    let mut s = String::from("#!/bin/bash\n");
    s.push_str("#SBATCH --job-name=servebench-sweep\n");
    s.push_str(&format!("#SBATCH --output={out}/logs/slurm/%A_%a.out\n"));
    s.push_str(&format!("#SBATCH --array=0-{}\n", tasks.saturating_sub(1)));
    if nodes > 1 {
        s.push_str(&format!("#SBATCH --nodes={nodes}\n"));
    }
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    for a in &o.sbatch_args {
        s.push_str(&format!("#SBATCH {a}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s.push_str(&format!(
        "read -r JOB IMAGE < <(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {})\n",
        shell_quote(&jobs_file.display().to_string())
    ));
    let cmd: Vec<String> = o.task_command.iter().map(|a| shell_quote(a)).collect();
    // A multi-node task runs on its first node's host and starts each step in the image.
    if o.container && nodes == 1 {
        let exe = &o.task_command[0];
        let mut mounts = vec![format!("{out}:{out}"), format!("{exe}:{exe}")];
        mounts.extend(o.container_mounts.iter().cloned());
        s.push_str(&format!(
            "exec srun --container-image=\"$IMAGE\" --container-mounts={} {} --job-index \"$JOB\"\n",
            shell_quote(&mounts.join(",")),
            cmd.join(" ")
        ));
    } else {
        s.push_str(&format!("exec {} --job-index \"$JOB\"\n", cmd.join(" ")));
    }
    s
}

fn stored(out: &Path, job: &Job) -> bool {
    job.conc.iter().all(|&c| {
        let name = point_name(job, c);
        if !job.eval_only {
            return named(&out.join("points"), &name, "json").exists();
        }
        // An eval row is done when an eval of it is stored (`<name>.<task>.json`).
        let (dir, stem) = (
            out.join("evals")
                .join(name.parent().unwrap_or(Path::new(""))),
            name,
        );
        let stem = format!(
            "{}.",
            stem.file_name().unwrap_or_default().to_string_lossy()
        );
        std::fs::read_dir(dir).is_ok_and(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .any(|f| f.starts_with(&stem) && f.ends_with(".json") && !f.ends_with(".eval.json"))
        })
    })
}

pub(crate) fn run_cmd(program: &str, args: &[&str]) -> std::io::Result<String> {
    let o = Command::new(program).args(args).output().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("running {program}: {e} (is SLURM installed, and SLURM_CONF set?)"),
        )
    })?;
    if !o.status.success() {
        return Err(std::io::Error::other(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Final state of every task of array `id`: (task index, state).
fn task_states(id: &str) -> std::io::Result<Vec<(usize, String)>> {
    let text = run_cmd("scontrol", &["show", "job", "-o", id])?;
    let mut v = Vec::new();
    for line in text.lines() {
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(k))
                .map(str::to_string)
        };
        if let (Some(t), Some(state)) = (field("ArrayTaskId="), field("JobState=")) {
            // A pending remainder reads like "3-7"; finished tasks have one index each.
            if let Ok(t) = t.parse() {
                v.push((t, state));
            }
        }
    }
    Ok(v)
}

/// Records every unstored point of `job` as failed for `reason`; how many.
fn fail_job(out: &Path, job: &Job, reason: &str) -> std::io::Result<usize> {
    let mut n = 0;
    for &c in &job.conc {
        let name = point_name(job, c);
        if named(&out.join("points"), &name, "json").exists() {
            continue;
        }
        let f = FailedPoint {
            config_key: job.config_key.clone(),
            job: job.ix_row(),
            concurrency: c,
            attempts: 0,
            reason: reason.to_string(),
            log_tail: String::new(),
            result: None,
        };
        crate::local::write_atomic(&named(&out.join("failed"), &name, "json"), &f)?;
        n += 1;
    }
    Ok(n)
}

/// Runs every job with unstored points as a task of a job array, and waits for them.
pub fn run(jobs: &[Job], o: &SlurmOptions) -> std::io::Result<SweepSummary> {
    let total: usize = jobs.iter().map(|j| j.conc.len()).sum();
    let order: Vec<usize> = if o.order.len() == jobs.len() {
        o.order.clone()
    } else {
        (0..jobs.len()).collect()
    };
    let pending: Vec<usize> = order
        .into_iter()
        .filter(|&i| !stored(&o.out, &jobs[i]))
        .collect();
    let already: usize = (0..jobs.len())
        .filter(|i| !pending.contains(i))
        .map(|i| jobs[i].conc.len())
        .sum();
    let point_file = |job: &Job, c: u32| named(&o.out.join("points"), &point_name(job, c), "json");
    // Points of pending jobs stored before (a job's tasks skip them too).
    let stored_at_start: std::collections::HashSet<(usize, u32)> = pending
        .iter()
        .flat_map(|&i| jobs[i].conc.iter().map(move |&c| (i, c)))
        .filter(|&(i, c)| point_file(&jobs[i], c).exists())
        .collect();
    let partial = stored_at_start.len();
    let mut summary = SweepSummary {
        points: total,
        skipped: already + partial,
        ..Default::default()
    };
    if pending.is_empty() {
        return Ok(summary);
    }
    let dir = o.out.join("slurm");
    std::fs::create_dir_all(&dir)?;
    std::fs::create_dir_all(o.out.join("logs/slurm"))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    // (array id, the job indices of its tasks)
    let mut arrays: Vec<(String, Vec<usize>)> = Vec::new();
    let mut by_nodes: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for &i in &pending {
        match task_nodes(&jobs[i], o) {
            Ok(n) => by_nodes.entry(n).or_default().push(i),
            // Refused before submission: each point of the job failed, with the reason.
            Err(reason) => summary.failed += fail_job(&o.out, &jobs[i], &reason)?,
        }
    }
    let groups = by_nodes
        .iter()
        .flat_map(|(&nodes, idx)| idx.chunks(MAX_ARRAY_TASKS).map(move |c| (nodes, c)));
    for (n, (nodes, chunk)) in groups.enumerate() {
        let jobs_file = dir.join(format!("sweep-{stamp}-{n}.jobs"));
        let lines: String = chunk
            .iter()
            .map(|&i| format!("{i} {}\n", jobs[i].image))
            .collect();
        std::fs::write(&jobs_file, lines)?;
        let script = dir.join(format!("sweep-{stamp}-{n}.sbatch"));
        std::fs::write(&script, batch_script(o, chunk.len(), nodes, &jobs_file))?;
        let id = run_cmd("sbatch", &["--parsable", &script.display().to_string()])?;
        let id = id.trim().split(';').next().unwrap_or("").to_string();
        arrays.push((id, chunk.to_vec()));
    }
    if arrays.is_empty() {
        return Ok(summary);
    }
    let ids: Vec<&str> = arrays.iter().map(|a| a.0.as_str()).collect();
    let bar = o
        .progress
        .then(|| crate::local::progress_bar("slurm", pending.len()));
    // The GPUs of each array's tasks, to count what running ones spend.
    let gpus: std::collections::HashMap<(&str, usize), u32> = arrays
        .iter()
        .flat_map(|(id, idx)| {
            idx.iter()
                .enumerate()
                .map(move |(t, &i)| ((id.as_str(), t), jobs[i].gpus()))
        })
        .collect();
    let (t0, mut last, mut spent) = (
        std::time::Instant::now(),
        std::time::Instant::now(),
        crate::budget::Spent::default(),
    );
    let mut cancelled: Option<String> = None;
    loop {
        let q = run_cmd("squeue", &["-h", "-r", "-j", &ids.join(","), "-o", "%i %T"])?;
        let (mut waiting, mut running) = (0, 0);
        let since = last.elapsed().as_secs_f64() / 3600.0;
        last = std::time::Instant::now();
        for line in q.lines() {
            let (task, state) = line.trim().split_once(' ').unwrap_or(("", line.trim()));
            match state {
                "PENDING" | "CONFIGURING" => waiting += 1,
                "" => {}
                _ => {
                    running += 1;
                    let key = task
                        .split_once('_')
                        .and_then(|(a, t)| Some((a, t.parse().ok()?)));
                    let n = key.and_then(|k| gpus.get(&k)).copied().unwrap_or(1);
                    spent.gpu_hours += since * f64::from(n);
                }
            }
        }
        spent.hours = t0.elapsed().as_secs_f64() / 3600.0;
        if let (None, Some(why), true) = (&cancelled, o.budget.exhausted(&spent), waiting > 0) {
            // What has not started waits for a later night; what runs finishes.
            let mut args = vec!["--state=PENDING"];
            args.extend(ids.iter().copied());
            run_cmd("scancel", &args)?;
            cancelled = Some(why);
        }
        if let Some(b) = &bar {
            let done = pending.len() - waiting - running;
            b.set_position(done as u64);
            b.set_message(format!("{running} running, {waiting} pending"));
        }
        if waiting + running == 0 {
            break;
        }
        // Polling an external scheduler: nothing to wait on but time.
        std::thread::sleep(o.poll);
    }
    if let Some(b) = bar {
        b.finish();
    }
    for (id, idx) in &arrays {
        let states = task_states(id).unwrap_or_default();
        for (t, &i) in idx.iter().enumerate() {
            let job = &jobs[i];
            let state = states
                .iter()
                .find(|s| s.0 == t)
                .map_or("UNKNOWN", |s| s.1.as_str());
            let log = o.out.join("logs/slurm").join(format!("{id}_{t}.out"));
            for &c in &job.conc {
                let name = point_name(job, c);
                let failed = named(&o.out.join("failed"), &name, "json");
                if point_file(job, c).exists() {
                    summary.measured += 1;
                } else if failed.exists() {
                    summary.failed += 1;
                } else if let (Some(why), true) = (
                    &cancelled,
                    // A pending remainder cancelled as a range has no state of its own here.
                    state.starts_with("CANCELLED") || state == "UNKNOWN",
                ) {
                    // Cancelled before it started, for the budget: a later night's.
                    crate::budget::defer(&o.out, job, c, why)?;
                    summary.deferred += 1;
                } else {
                    // The task never got to record anything: say what Slurm says.
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let f = FailedPoint {
                        config_key: job.config_key.clone(),
                        job: job.ix_row(),
                        concurrency: c,
                        attempts: 1,
                        reason: format!(
                            "slurm task {id}_{t} ended {state} without storing the point"
                        ),
                        log_tail: lines[lines.len().saturating_sub(40)..].join("\n"),
                        result: None,
                    };
                    if let Some(d) = failed.parent() {
                        std::fs::create_dir_all(d)?;
                    }
                    std::fs::write(&failed, serde_json::to_string_pretty(&f)? + "\n")?;
                    summary.failed += 1;
                }
            }
        }
    }
    // Points of submitted jobs stored before this run were counted as measured just now.
    let stored_before: usize = arrays
        .iter()
        .flat_map(|(_, idx)| idx.iter())
        .flat_map(|&i| jobs[i].conc.iter().map(move |&c| (i, c)))
        .filter(|&(i, c)| stored_at_start.contains(&(i, c)))
        .count();
    summary.measured -= stored_before;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_scripts_with_and_without_containers() {
        let mut o = SlurmOptions {
            out: "/shared/results".into(),
            task_command: vec![
                "/opt/servebench".into(),
                "sweep".into(),
                "--config-files".into(),
                "/shared/my recipes.yaml".into(),
            ],
            partition: Some("gpu".into()),
            sbatch_args: vec!["--gres=gpu:8".into(), "--time=04:00:00".into()],
            container: false,
            container_mounts: vec![],
            poll: Duration::from_secs(1),
            progress: false,
            max_nodes: None,
            engines: crate::engine::Engines::Recipe,
            recipes: Default::default(),
            order: Vec::new(),
            budget: Default::default(),
        };
        let jobs = Path::new("/shared/results/slurm/s.jobs");
        assert_eq!(
            batch_script(&o, 3, 1, jobs),
            "#!/bin/bash
#SBATCH --job-name=servebench-sweep
#SBATCH --output=/shared/results/logs/slurm/%A_%a.out
#SBATCH --array=0-2
#SBATCH --partition=gpu
#SBATCH --gres=gpu:8
#SBATCH --time=04:00:00
set -euo pipefail
read -r JOB IMAGE < <(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" /shared/results/slurm/s.jobs)
exec /opt/servebench sweep --config-files '/shared/my recipes.yaml' --job-index \"$JOB\"
"
        );
        o.container = true;
        o.container_mounts = vec!["/models:/models".into()];
        let s = batch_script(&o, 3, 1, jobs);
        assert!(s.ends_with(
            "exec srun --container-image=\"$IMAGE\" --container-mounts=/shared/results:/shared/results,/opt/servebench:/opt/servebench,/models:/models /opt/servebench sweep --config-files '/shared/my recipes.yaml' --job-index \"$JOB\"\n"
        ), "{s}");
        // A multi-node task holds its nodes and runs on the first one's host: its steps, not
        // the task, start in the image (one srun here would run the task once per node).
        let s = batch_script(&o, 2, 5, jobs);
        assert!(s.contains("#SBATCH --nodes=5\n"), "{s}");
        assert!(s.ends_with(
            "exec /opt/servebench sweep --config-files '/shared/my recipes.yaml' --job-index \"$JOB\"\n"
        ), "{s}");
    }
}
