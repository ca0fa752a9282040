//! Job reliability (`docs/dashboard.md`, "Reliability"): per accelerator, how many of the jobs
//! of the runs in a date range succeeded (InferenceX's run_stats success rate), run by run, and
//! the jobs that failed with why.

use crate::curves::{run_day, AsOf};
use serde::Serialize;
use servebench_store::{FailedJobRecord, JobStatRecord};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reliability {
    /// The range's first and last days (null: open).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Per accelerator over the range, by name.
    pub hardware: Vec<HardwareJobs>,
    /// Per run and accelerator in the range, oldest run first.
    pub runs: Vec<RunJobs>,
    /// The failed jobs of the range's runs, oldest run first.
    pub failed: Vec<FailedJobRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HardwareJobs {
    pub hardware: String,
    pub succeeded: u64,
    pub total: u64,
    /// succeeded ÷ total (null without jobs).
    pub rate: Option<f64>,
    /// Runs with jobs on it.
    pub runs: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunJobs {
    pub run: String,
    pub started_at: String,
    pub source: String,
    pub hardware: String,
    pub succeeded: u64,
    pub total: u64,
    pub rate: Option<f64>,
}

fn rate(succeeded: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| succeeded as f64 / total as f64)
}

/// Whether a run that started at `started_at` is in the range (a run whose start is not a
/// date is in an open range only).
fn in_range(started_at: &str, from: Option<&AsOf>, to: Option<&AsOf>) -> bool {
    if from.is_none() && to.is_none() {
        return true;
    }
    let Some(day) = run_day(started_at) else {
        return false;
    };
    from.is_none_or(|f| day.as_str() >= f.as_str()) && to.is_none_or(|t| day.as_str() <= t.as_str())
}

/// The reliability of the runs that started from `from` to `to` (days, both included).
pub fn reliability(
    stats: Vec<JobStatRecord>,
    failed: Vec<FailedJobRecord>,
    from: Option<&AsOf>,
    to: Option<&AsOf>,
) -> Reliability {
    let runs: Vec<RunJobs> = stats
        .into_iter()
        .filter(|s| in_range(&s.started_at, from, to))
        .map(|s| RunJobs {
            rate: rate(s.stat.succeeded, s.stat.total),
            run: s.run,
            started_at: s.started_at,
            source: s.source,
            hardware: s.stat.hardware,
            succeeded: s.stat.succeeded,
            total: s.stat.total,
        })
        .collect();
    let mut by_hw: BTreeMap<&str, (u64, u64, usize)> = BTreeMap::new();
    for r in &runs {
        let e = by_hw.entry(&r.hardware).or_default();
        e.0 += r.succeeded;
        e.1 += r.total;
        e.2 += 1;
    }
    let hardware = by_hw
        .into_iter()
        .map(|(hw, (succeeded, total, n))| HardwareJobs {
            hardware: hw.to_string(),
            succeeded,
            total,
            rate: rate(succeeded, total),
            runs: n,
        })
        .collect();
    Reliability {
        from: from.map(|d| d.as_str().to_string()),
        to: to.map(|d| d.as_str().to_string()),
        hardware,
        runs,
        failed: failed
            .into_iter()
            .filter(|f| in_range(&f.started_at, from, to))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servebench_store::JobStat;

    fn stat(run: &str, started: &str, hw: &str, ok: u64, total: u64) -> JobStatRecord {
        JobStatRecord {
            run: run.into(),
            started_at: started.into(),
            source: "own".into(),
            stat: JobStat {
                hardware: hw.into(),
                succeeded: ok,
                total,
            },
        }
    }

    #[test]
    fn success_rates_sum_the_runs_in_the_range() {
        let stats = vec![
            stat("n1", "20261126-020000", "h200", 9, 10),
            stat("n1", "20261126-020000", "b200", 10, 10),
            stat("n2", "2026-11-27T02:00:00Z", "h200", 6, 10),
            stat("n3", "2026-11-28", "h200", 10, 10),
            stat("x", "unknown", "h200", 0, 10),
        ];
        let all = reliability(stats.clone(), Vec::new(), None, None);
        // Open range: every run, the undated one included: h200 25 of 40.
        assert_eq!(all.hardware[1].hardware, "h200");
        assert_eq!((all.hardware[1].succeeded, all.hardware[1].total), (25, 40));
        assert_eq!(all.hardware[1].rate, Some(0.625));
        assert_eq!(all.hardware[1].runs, 4);
        let d = |s: &str| s.parse::<AsOf>().unwrap();
        let mid = reliability(stats.clone(), Vec::new(), Some(&d("2026-11-27")), None);
        // From the 27th: n2 and n3 (16 of 20); b200 ran only on the 26th.
        assert_eq!(mid.hardware.len(), 1);
        assert_eq!((mid.hardware[0].succeeded, mid.hardware[0].total), (16, 20));
        assert_eq!(mid.hardware[0].rate, Some(0.8));
        let first = reliability(stats, Vec::new(), None, Some(&d("2026-11-26")));
        assert_eq!(first.runs.len(), 2);
        assert_eq!(first.hardware[0].rate, Some(1.0));
        assert_eq!(first.hardware[1].rate, Some(0.9));
    }
}
