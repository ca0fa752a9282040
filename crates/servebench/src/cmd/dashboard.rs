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
    #[arg(long, default_value = "127.0.0.1:8080", env = "SERVEBENCH_BIND")]
    bind: String,
    /// Benchmark the API instead of serving: answer each kind of request N times (the
    /// largest view, its first point, a report) and print the times.
    #[arg(long, value_name = "N")]
    bench: Option<usize>,
}

/// Times each API answer `n` times in this process (answer built and serialised, as served).
fn bench(api: &mut Api, n: usize) -> anyhow::Result<()> {
    let views = api.store.views()?;
    let big = views
        .iter()
        .max_by_key(|v| v.points)
        .ok_or_else(|| anyhow::anyhow!("the store is empty"))?;
    let slug = servebench_dashboard::api::view_slug(&big.model, big.isl, big.osl);
    let first = api
        .view(&slug, None)?
        .points
        .id
        .first()
        .copied()
        .unwrap_or(0)
        .to_string();
    let pairs = vec![
        ("model".to_string(), big.model.clone()),
        ("isl".to_string(), big.isl.to_string()),
        ("osl".to_string(), big.osl.to_string()),
    ];
    let points: u64 = views.iter().map(|v| v.points).sum();
    eprintln!(
        "servebench dashboard --bench: {points} points stored; largest view {slug} ({} points); {n} times each",
        big.points
    );
    let mut time =
        |name: &str, f: &mut dyn FnMut(&mut Api) -> anyhow::Result<usize>| -> anyhow::Result<()> {
            let mut ms = Vec::with_capacity(n);
            let mut bytes = 0;
            for _ in 0..n {
                let t = std::time::Instant::now();
                bytes = f(api)?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            ms.sort_by(f64::total_cmp);
            eprintln!(
                "  {name:<28} min {:>7.1} ms  median {:>7.1} ms  max {:>7.1} ms  ({bytes} bytes)",
                ms[0],
                ms[ms.len() / 2],
                ms[ms.len() - 1]
            );
            Ok(())
        };
    time("index.json", &mut |a| Ok(a.index(None)?.to_string().len()))?;
    time(&format!("views/{slug}.json"), &mut |a| {
        Ok(serde_json::to_vec(&a.view(&slug, None)?)?.len())
    })?;
    for g in ["hwkey", "config"] {
        time(&format!("figures/{slug}/{g}.json"), &mut |a| {
            Ok(serde_json::to_vec(&a.figures(&slug, g, None)?)?.len())
        })?;
    }
    time(&format!("points/{first}.json"), &mut |a| {
        Ok(a.point(&first)?.to_string().len())
    })?;
    time("report/at", &mut |a| {
        Ok(a.report("at", &pairs)?.to_string().len())
    })?;
    Ok(())
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
        store: Store::open_read_only(store)?,
        catalog: Catalog::builtin()?,
    })
}

pub fn run(a: DashboardArgs) -> anyhow::Result<ExitCode> {
    let mut api = api(&a.store)?;
    if let Some(n) = a.bench {
        bench(&mut api, n.max(1))?;
        return Ok(ExitCode::SUCCESS);
    }
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
