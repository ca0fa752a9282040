//! `servebench retract`: marks a run or a point invalid, with the reason kept; it leaves every
//! view, frontier and history, and stays in the store.

use servebench_store::{Retract, Store};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["run", "point"])))]
pub struct RetractArgs {
    /// The store: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, default_value = "sqlite:servebench.db", env = "SERVEBENCH_STORE")]
    store: String,
    /// A run, by its key (as `report` and the dashboard name it).
    #[arg(long)]
    run: Option<String>,
    /// One point, by its row id (the dashboard's point page, `points/<id>`).
    #[arg(long)]
    point: Option<i64>,
    /// Why (kept beside what it hides, shown with the retractions).
    #[arg(long)]
    reason: String,
    /// Who retracts it (default: $USER).
    #[arg(long)]
    who: Option<String>,
}

pub fn run(a: RetractArgs) -> anyhow::Result<ExitCode> {
    let mut store = Store::open(&a.store)?;
    let what = match (&a.run, a.point) {
        (Some(r), _) => Retract::Run(r.clone()),
        (None, Some(p)) => Retract::Point(p),
        (None, None) => anyhow::bail!("name what to retract: --run KEY or --point ID"),
    };
    let who = a
        .who
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let at = servebench_dashboard::api::now_utc();
    let hidden = store.retract(&what, &a.reason, &who, &at)?;
    eprintln!(
        "servebench retract: {what} retracted ({hidden} point{} hidden from views, frontiers \
         and history; kept in {})",
        if hidden == 1 { "" } else { "s" },
        servebench_core::redact::url(&a.store)
    );
    Ok(ExitCode::SUCCESS)
}
