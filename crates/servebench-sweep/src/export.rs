//! Executors that write what another system runs: GitHub Actions workflow matrices (`gha`) and
//! Kubernetes Job manifests (`k8s`). Each job runs this same sweep restricted to itself
//! (`--job-index`) on the local executor of the runner or pod, exactly as a SLURM task does.

use crate::plan::Job;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub use crate::gha::{job_name, GHA_MAX_MATRIX};

/// The matrices of `jobs` (each with its index in the plan; each matrix ≤ 256 entries: the
/// InferenceX row plus `job-index` and `artifact-name`) and a workflow that runs them
/// (`crate::gha`); returns the files written.
pub fn write_gha(
    jobs: &[(usize, &Job)],
    task_command: &[String],
    dir: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let matrices = crate::gha::matrices(jobs);
    for (k, m) in matrices.iter().enumerate() {
        let p = dir.join(format!("matrix-{k:03}.json"));
        std::fs::write(&p, serde_json::to_string_pretty(m)? + "\n")?;
        files.push(p);
    }
    let workflow =
        crate::gha::sweep_workflow(matrices.len(), task_command, &dir.display().to_string());
    let header = "Written by `servebench sweep --executor gha`: one job per matrix (each at most \
                  256\nentries, GitHub's limit); every entry runs one job of the plan on its \
                  runner label.";
    let text = crate::gha::to_yaml(header, &workflow).map_err(std::io::Error::other)?;
    let p = dir.join("servebench-sweep.yml");
    std::fs::write(&p, text)?;
    files.push(p);
    Ok(files)
}

/// A Kubernetes object name: lowercase alphanumerics and '-', at most 63 characters.
fn k8s_name(job: &Job, index: usize) -> String {
    let mut s: String = format!("sb-{index}-{}", job_name(job))
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(63);
    s.trim_end_matches('-').to_string()
}

/// One Job manifest per job: the recipe's image, the task command, its GPUs, and the results
/// volume (`pvc`) mounted at the results directory. Multi-node jobs need a multi-pod launcher
/// and are left out (named in the returned list of skipped jobs).
pub fn write_k8s(
    jobs: &[Job],
    task_command: &[String],
    results_dir: &str,
    pvc: &str,
    dir: &Path,
) -> std::io::Result<(Vec<PathBuf>, Vec<String>)> {
    std::fs::create_dir_all(dir)?;
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    for (i, j) in jobs.iter().enumerate() {
        if j.is_multinode() {
            skipped.push(format!("{} ({}): multi-node", j.config_key, job_name(j)));
            continue;
        }
        let name = k8s_name(j, i);
        let mut command: Vec<Value> = task_command.iter().map(|a| json!(a)).collect();
        command.extend([json!("--job-index"), json!(i.to_string())]);
        let manifest = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "labels": {
                    "app.kubernetes.io/name": "servebench-sweep",
                    "servebench/fingerprint": &j.fingerprint[..16],
                    "servebench/runner": j.runner.replace([':', '/'], "-"),
                },
            },
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{
                            "name": "servebench",
                            "image": j.image,
                            "command": command,
                            "resources": {"limits": {"nvidia.com/gpu": j.gpus()}},
                            "volumeMounts": [{"name": "results", "mountPath": results_dir}],
                        }],
                        "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": pvc}}],
                    },
                },
            },
        });
        let p = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &p,
            serde_norway::to_string(&manifest).map_err(std::io::Error::other)?,
        )?;
        files.push(p);
    }
    Ok((files, skipped))
}
