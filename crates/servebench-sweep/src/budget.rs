//! A sweep's budget (`docs/nightly.md`): wall-clock hours and GPU-hours. Once either is spent
//! no further point starts; each one left is written as deferred (`OUT/deferred/`), the store
//! keeps it with the run, and the next night's plan runs it first.

use crate::local::{named, point_name, write_atomic};
use crate::plan::Job;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a sweep may spend; `None`: no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    pub hours: Option<f64>,
    pub gpu_hours: Option<f64>,
}

/// What a sweep has spent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spent {
    pub hours: f64,
    pub gpu_hours: f64,
}

impl Spent {
    /// `seconds` of a job's deployment on its GPUs, one after another.
    pub fn add(&mut self, job: &Job, seconds: f64) {
        self.hours += seconds / 3600.0;
        self.gpu_hours += seconds / 3600.0 * f64::from(job.gpus());
    }
}

impl Budget {
    pub fn is_set(&self) -> bool {
        self.hours.is_some() || self.gpu_hours.is_some()
    }

    /// Why no further point may start, once `spent` reached a limit.
    pub fn exhausted(&self, spent: &Spent) -> Option<String> {
        if let Some(h) = self.hours.filter(|h| spent.hours >= *h) {
            return Some(format!(
                "the budget of {h} hours is spent ({:.2} h)",
                spent.hours
            ));
        }
        let g = self.gpu_hours.filter(|g| spent.gpu_hours >= *g)?;
        Some(format!(
            "the budget of {g} GPU-hours is spent ({:.2} GPU-hours)",
            spent.gpu_hours
        ))
    }
}

/// A point left for a later night, and why (`OUT/deferred/<config-key>/<name>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeferredPoint {
    pub config_key: String,
    /// The job's InferenceX row (its `recipe-fingerprint` with it).
    pub job: serde_json::Value,
    pub concurrency: u32,
    pub reason: String,
}

/// Writes `job` at `conc` as deferred for `reason`.
pub fn defer(out: &Path, job: &Job, conc: u32, reason: &str) -> std::io::Result<()> {
    let p = DeferredPoint {
        config_key: job.config_key.clone(),
        job: job.ix_row(),
        concurrency: conc,
        reason: reason.to_string(),
    };
    write_atomic(
        &named(&out.join("deferred"), &point_name(job, conc), "json"),
        &p,
    )
}
