//! `servebench sweep`: plan the recipe files and run the jobs through an executor.

use super::plan::Selection;
use servebench_sweep::local::{self, SweepOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    select: Selection,
    /// Where jobs run: local (this machine).
    #[arg(long, value_enum, default_value = "local")]
    executor: Executor,
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Executor {
    Local,
}

pub fn run(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let Executor::Local = a.executor;
    let (recipes, jobs) = a.select.plan()?;
    let opts = SweepOptions {
        out: a.out.clone(),
        retries: a.retries,
        fail_fast: a.fail_fast,
        canary: a.canary,
        servebench: std::env::current_exe()?,
        tokenizer: a.tokenizer,
        health_timeout: Duration::from_secs(a.health_timeout),
        prompts_per_conc: 10,
        warmups_per_conc: 2,
        progress: !a.no_progress,
    };
    let s = local::run(&recipes, &jobs, &opts)?;
    eprintln!(
        "servebench sweep: {} points: {} measured, {} already stored, {} failed, {} not run; results in {}",
        s.points,
        s.measured,
        s.skipped,
        s.failed,
        s.not_run,
        a.out.display()
    );
    Ok(if s.failed > 0 || s.not_run > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
