//! `servebench migrate`: brings a store's schema up to this build's (readers never migrate).

use servebench_store::Store;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The store: sqlite:PATH (created if missing) or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, default_value = "sqlite:servebench.db", env = "SERVEBENCH_STORE")]
    store: String,
}

pub fn run(a: MigrateArgs) -> anyhow::Result<ExitCode> {
    let mut store = Store::open(&a.store)?;
    eprintln!(
        "servebench migrate: {} is at schema version {}",
        servebench_core::redact::url(&a.store),
        store.schema_version()?
    );
    Ok(ExitCode::SUCCESS)
}
