//! servebench: continuous, honest LLM serving benchmarks. This binary only parses flags and
//! calls the libraries; each subcommand lives in `cmd/`.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

#[derive(Parser)]
#[command(
    name = "servebench",
    version,
    about = "Continuous, honest LLM serving benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Drive an OpenAI-compatible streaming server and measure TTFT, TPOT, ITL, E2EL and throughput.
    Bench(Box<cmd::bench::BenchArgs>),
    /// Serve a simulated OpenAI-compatible inference engine on a loopback port.
    Sim(cmd::sim::SimArgs),
    /// Measure the load generator itself: ingest ceiling, accuracy against the server's record, memory.
    Selfbench(cmd::selfbench::SelfbenchArgs),
    /// Simulate benchmark points of the modelled engine in virtual time (no HTTP).
    Simulate(cmd::simulate::SimulateArgs),
    /// Compare the simulated engine with published InferenceMAX results, point by point.
    Calibrate(cmd::calibrate::CalibrateArgs),
    /// Expand recipe files (InferenceX master configs) into the jobs of a sweep.
    Plan(Box<cmd::plan::PlanArgs>),
    /// Plan recipe files and run every job through an executor, storing each point.
    Sweep(Box<cmd::sweep::SweepArgs>),
    /// One command a night: what changed since the store's latest run measured, the rest
    /// carried over, stored with its changelog; movements and regressions summarised (exit 1 on
    /// a regression or a failed point); the site published.
    Nightly(Box<cmd::nightly::NightlyArgs>),
    /// Store results (sweep directories, published InferenceMAX data) in the results database.
    Ingest(cmd::ingest::IngestArgs),
    /// Bring a store's schema up to this servebench's (report and the dashboard only read).
    Migrate(cmd::migrate::MigrateArgs),
    /// Mark a run or a point invalid (reason kept): hidden from views, frontiers and history,
    /// never deleted.
    Retract(cmd::retract::RetractArgs),
    /// Reports from the store: frontiers, cost and power at target interactivities,
    /// comparisons, history, regressions, accuracy; text, CSV, JSON and SVG/PNG charts.
    Report(cmd::report::ReportArgs),
    /// The main job: the InferenceMAX v1 catalog simulated in virtual time, stored, summarised,
    /// and the dashboard served.
    Quickstart(cmd::quickstart::QuickstartArgs),
    /// Serve the web dashboard over the store (read-only, loopback by default).
    Dashboard(cmd::dashboard::DashboardArgs),
    /// Write the dashboard as a static site that works from any file server.
    ExportSite(cmd::dashboard::ExportSiteArgs),
    /// Write the nightly pipeline for another system: `export gha`, a scheduled GitHub Actions
    /// workflow.
    Export(cmd::export::ExportArgs),
    /// Run an accuracy eval (GSM8K, MATH-500, GPQA-Diamond) against an OpenAI-compatible server.
    Eval(cmd::eval::EvalArgs),
    /// Multi-turn session traces: generate synthetic coding-agent sessions, read a trace's statistics.
    Trace(cmd::trace::TraceArgs),
}

/// Settings of every argument: help never shows an environment variable's value
/// (`SERVEBENCH_STORE` may hold a password), and `--isl -5` is a value to refuse with its
/// reason, not an unknown flag.
fn every_arg(c: clap::Command) -> clap::Command {
    c.mut_args(|a| {
        let takes_values = a.get_action().takes_values();
        a.hide_env_values(true).allow_negative_numbers(takes_values)
    })
    .mut_subcommands(every_arg)
}

fn main() -> ExitCode {
    let matches = every_arg(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let outcome = match cli.command {
        Command::Bench(a) => cmd::bench::run(*a),
        Command::Sim(a) => cmd::sim::run(a),
        Command::Selfbench(a) => cmd::selfbench::run(a),
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Calibrate(a) => cmd::calibrate::run(a),
        Command::Plan(a) => cmd::plan::run(*a),
        Command::Sweep(a) => cmd::sweep::run(*a),
        Command::Nightly(a) => cmd::nightly::run(*a),
        Command::Ingest(a) => cmd::ingest::run(a),
        Command::Migrate(a) => cmd::migrate::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Retract(a) => cmd::retract::run(a),
        Command::Quickstart(a) => cmd::quickstart::run(a),
        Command::Dashboard(a) => cmd::dashboard::run(a),
        Command::ExportSite(a) => cmd::dashboard::export_site(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Trace(a) => cmd::trace::run(a),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
