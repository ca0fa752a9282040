//! `OUT/run.json`: who ran a sweep, when, where, with which recipes (and the git commit they
//! were at), so the store can say what each run was. Written once when the sweep starts; a
//! resumed sweep keeps the first one.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// UTC, `YYYYMMDD-HHMMSS` like a bench result's `date`.
    pub started_at: String,
    pub who: String,
    pub host: String,
    /// local, slurm, ...
    pub executor: String,
    /// sim or real.
    pub engines: String,
    pub recipe_files: Vec<String>,
    /// The commit the recipe files are at, where they are in a git repository.
    pub recipes_commit: Option<String>,
    /// Whether a recipe file differs from that commit.
    pub recipes_dirty: bool,
    pub servebench_version: String,
    pub command: Vec<String>,
}

pub const FILE: &str = "run.json";

impl RunInfo {
    /// What this process is about to run.
    pub fn now(executor: &str, engines: &str, recipe_files: &[PathBuf]) -> RunInfo {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let (recipes_commit, recipes_dirty) = git_state(recipe_files);
        RunInfo {
            started_at: servebench_client::metrics::utc_stamp(unix),
            who: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_default(),
            host: servebench_core::sys::hostname(),
            executor: executor.into(),
            engines: engines.into(),
            recipe_files: recipe_files
                .iter()
                .map(|p| {
                    std::path::absolute(p)
                        .unwrap_or(p.clone())
                        .display()
                        .to_string()
                })
                .collect(),
            recipes_commit,
            recipes_dirty,
            servebench_version: env!("CARGO_PKG_VERSION").into(),
            command: std::env::args().collect(),
        }
    }

    /// Writes `OUT/run.json` unless there is one (a resumed sweep); returns what is there.
    pub fn record(self, out: &Path) -> std::io::Result<RunInfo> {
        let path = out.join(FILE);
        if let Some(existing) = RunInfo::read(out)? {
            return Ok(existing);
        }
        std::fs::create_dir_all(out)?;
        let tmp = out.join(format!(".{FILE}.{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(self)
    }

    /// `OUT/run.json`, if the sweep wrote one.
    pub fn read(out: &Path) -> std::io::Result<Option<RunInfo>> {
        let path = out.join(FILE);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The HEAD commit of the repository holding the first recipe file, and whether any recipe
/// file has changes against it; (None, false) outside git.
pub fn git_state(files: &[PathBuf]) -> (Option<String>, bool) {
    let Some(first) = files.first() else {
        return (None, false);
    };
    let dir = std::path::absolute(first)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty()) else {
        return (None, false);
    };
    let abs: Vec<String> = files
        .iter()
        .filter_map(|f| std::path::absolute(f).ok())
        .map(|f| f.display().to_string())
        .collect();
    let mut args = vec!["status", "--porcelain", "--"];
    args.extend(abs.iter().map(String::as_str));
    let dirty = git(&args).is_some_and(|s| !s.is_empty());
    (Some(commit), dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_dirtiness_of_the_recipes() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().join("master.yaml");
        std::fs::write(&r, "a: 1\n").unwrap();
        assert_eq!(
            git_state(std::slice::from_ref(&r)),
            (None, false),
            "outside git"
        );
        let git = |args: &[&str]| {
            let o = Command::new("git")
                .arg("-C")
                .arg(d.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        git(&["add", "master.yaml"]);
        git(&["commit", "-q", "-m", "recipes"]);
        let head = git(&["rev-parse", "HEAD"]);
        assert_eq!(
            git_state(std::slice::from_ref(&r)),
            (Some(head.clone()), false)
        );
        std::fs::write(&r, "a: 2\n").unwrap();
        assert_eq!(git_state(std::slice::from_ref(&r)), (Some(head), true));

        // Recorded once: a resumed sweep keeps the first record.
        let out = d.path().join("out");
        let first = RunInfo::now("local", "sim", std::slice::from_ref(&r))
            .record(&out)
            .unwrap();
        let mut later = RunInfo::now("local", "sim", &[r]);
        later.started_at = "29991231-000000".into();
        assert_eq!(later.record(&out).unwrap(), first);
        assert_eq!(RunInfo::read(&out).unwrap(), Some(first));
    }
}
