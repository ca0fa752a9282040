//! `servebench dashboard` and `servebench export-site`: the web dashboard over the store,
//! served or written as a static site.

use servebench_catalog::Catalog;
use servebench_dashboard::{api::Api, server, site};
use servebench_store::Store;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct DashboardArgs {
    /// The store: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, default_value = "sqlite:servebench.db", env = "SERVEBENCH_STORE")]
    store: String,
    /// Address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
}

#[derive(clap::Args, Debug)]
pub struct ExportSiteArgs {
    #[arg(long, default_value = "sqlite:servebench.db", env = "SERVEBENCH_STORE")]
    store: String,
    /// Directory to write the site into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Leave out the points' detail pages (one file per point).
    #[arg(long)]
    no_details: bool,
}

fn api(store: &str) -> anyhow::Result<Api> {
    Ok(Api {
        store: Store::open(store)?,
        catalog: Catalog::builtin()?,
    })
}

pub fn run(a: DashboardArgs) -> anyhow::Result<ExitCode> {
    let api = api(&a.store)?;
    let listener = std::net::TcpListener::bind(&a.bind)
        .map_err(|e| anyhow::anyhow!("--bind {}: {e}", a.bind))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "servebench dashboard: listening on {addr}, reachable beyond this machine (read-only)"
        );
    }
    eprintln!("servebench dashboard: http://{addr}/");
    std::io::stderr().flush()?;
    server::serve(listener, api)?;
    Ok(ExitCode::SUCCESS)
}

pub fn export_site(a: ExportSiteArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let mut api = api(&a.store)?;
    let n = site::export(&mut api, &a.out, !a.no_details)?;
    eprintln!(
        "servebench export-site: {} views, {} point details, {} files in {} ({:.1} s); serve it with any file server, e.g. python3 -m http.server -d {}",
        n.views,
        n.points,
        n.files,
        a.out.display(),
        t0.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
