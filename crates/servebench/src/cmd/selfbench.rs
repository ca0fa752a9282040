//! `servebench selfbench`: measure the load generator itself (see servebench-selfbench).

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SelfbenchArgs {
    /// Shorter runs (lower concurrency, fewer tokens) for a quick look.
    #[arg(long)]
    quick: bool,
    /// Run only these parts: ceiling, truth, engine, replay.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Directory for the records and results the runs write.
    #[arg(long, default_value = "target/selfbench")]
    work_dir: PathBuf,
    /// Write the report as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// CPU the test server is pinned to.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// CPU the client is pinned to.
    #[arg(long, default_value_t = 1)]
    client_cpu: usize,
    /// Over TLS: the test server terminates it with a self-signed certificate, the client
    /// verifies it.
    #[arg(long)]
    tls: bool,
}

pub fn run(a: SelfbenchArgs) -> anyhow::Result<ExitCode> {
    let opts = servebench_selfbench::Options {
        exe: std::env::current_exe().context("locating the servebench binary")?,
        work_dir: a.work_dir,
        quick: a.quick,
        only: a.only,
        server_cpu: a.server_cpu,
        client_cpu: a.client_cpu,
        tls: a.tls,
    };
    let report = servebench_selfbench::run(&opts)?;
    print!("{}", servebench_selfbench::render(&report, &opts));
    if let Some(p) = a.out {
        std::fs::write(&p, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
