//! Executors that write what another system runs: GitHub Actions workflow matrices (`gha`) and
//! Kubernetes Job manifests (`k8s`). Each job runs this same sweep restricted to itself
//! (`--job-index`) on the local executor of the runner or pod, exactly as a SLURM task does.

use crate::plan::Job;
use serde_json::{json, Value};
use servebench_core::shell::quote as shell_quote;
use std::path::{Path, PathBuf};

/// GitHub Actions accepts at most this many jobs in one matrix.
pub const GHA_MAX_MATRIX: usize = 256;

/// A job's unique artifact / object name: `<exp-name>_<fingerprint 12>_c<concurrencies>`,
/// in the characters every target accepts.
pub fn job_name(job: &Job) -> String {
    let conc: Vec<String> = job.conc.iter().map(u32::to_string).collect();
    let raw = format!(
        "{}_{}_c{}",
        job.exp_name,
        &job.fingerprint[..12],
        conc.join("-")
    );
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The matrices (each ≤ 256 entries: the InferenceX row plus `job-index` and
/// `artifact-name`) and a workflow that runs them; returns the files written.
pub fn write_gha(
    jobs: &[Job],
    task_command: &[String],
    dir: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    let entries: Vec<Value> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let mut row = j.ix_row();
            row["job-index"] = json!(i);
            // Unique even when two jobs share a name (the index is part of it).
            row["artifact-name"] = json!(format!("{}_{i}", job_name(j)));
            row
        })
        .collect();
    let chunks: Vec<&[Value]> = entries.chunks(GHA_MAX_MATRIX).collect();
    for (k, chunk) in chunks.iter().enumerate() {
        let p = dir.join(format!("matrix-{k:03}.json"));
        std::fs::write(
            &p,
            serde_json::to_string_pretty(&json!({ "include": chunk }))? + "\n",
        )?;
        files.push(p);
    }
    let cmd: Vec<String> = task_command.iter().map(|a| shell_quote(a)).collect();
    let mut w = String::from(
        "# Written by `servebench sweep --executor gha`: one job per matrix (each at most 256\n\
         # entries, GitHub's limit); every entry runs one job of the plan on its runner label.\n\
         name: servebench-sweep\non:\n  workflow_dispatch:\njobs:\n  setup:\n    runs-on: ubuntu-latest\n    outputs:\n",
    );
    for k in 0..chunks.len() {
        w.push_str(&format!(
            "      m{k:03}: ${{{{ steps.m.outputs.m{k:03} }}}}\n"
        ));
    }
    w.push_str("    steps:\n      - uses: actions/checkout@v4\n      - id: m\n        run: |\n");
    for k in 0..chunks.len() {
        w.push_str(&format!(
            "          echo \"m{k:03}=$(jq -c . {}/matrix-{k:03}.json)\" >> \"$GITHUB_OUTPUT\"\n",
            dir.display()
        ));
    }
    for k in 0..chunks.len() {
        w.push_str(&format!(
            "  run-{k:03}:\n    needs: setup\n    strategy:\n      fail-fast: false\n      matrix: ${{{{ fromJSON(needs.setup.outputs.m{k:03}) }}}}\n    runs-on: ${{{{ matrix.runner }}}}\n    steps:\n      - uses: actions/checkout@v4\n      - run: {} --job-index ${{{{ matrix.job-index }}}}\n      - if: always()\n        uses: actions/upload-artifact@v4\n        with:\n          name: ${{{{ matrix.artifact-name }}}}\n          path: results/\n",
            cmd.join(" ")
        ));
    }
    let p = dir.join("servebench-sweep.yml");
    std::fs::write(&p, w)?;
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
