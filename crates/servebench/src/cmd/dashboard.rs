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
    /// MiB of API answers kept while the store does not change (0: compute every answer).
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    cache_mb: usize,
}

/// Times each kind of API answer `n` times in this process, as the server answers it (built,
/// serialised; socket writes aside): computed afresh each time, and from the answers kept for
/// the store's generation.
fn bench(store: &str, n: usize) -> anyhow::Result<()> {
    let mut fresh = Api::with_cache(Store::open_read_only(store)?, Catalog::builtin()?, 0);
    let views = fresh.store.views()?;
    let big = views
        .iter()
        .max_by_key(|v| v.points)
        .ok_or_else(|| anyhow::anyhow!("the store is empty"))?;
    let slug = servebench_dashboard::api::view_slug(&big.model, big.isl, big.osl);
    let first = fresh
        .view(&slug, None)?
        .points
        .id
        .first()
        .copied()
        .unwrap_or(0);
    let points: u64 = views.iter().map(|v| v.points).sum();
    eprintln!(
        "servebench dashboard --bench: {points} points stored; largest view {slug} ({} points); {n} times each",
        big.points
    );
    let model: String = url::form_urlencoded::byte_serialize(big.model.as_bytes()).collect();
    let targets = [
        "api/v1/index.json".to_string(),
        format!("api/v1/views/{slug}.json"),
        format!("api/v1/views/{slug}.bin"),
        format!("api/v1/figures/{slug}/hwkey.json"),
        format!("api/v1/figures/{slug}/config.json"),
        format!("api/v1/points/{first}.json"),
        format!(
            "api/v1/report/at?model={model}&isl={}&osl={}",
            big.isl, big.osl
        ),
    ];
    let fresh = std::sync::Mutex::new(fresh);
    let kept = std::sync::Mutex::new(Api::new(Store::open_read_only(store)?, Catalog::builtin()?));
    eprintln!(
        "  {:<44} {:>24}  {:>24}",
        "", "computed: min / median", "kept: min / median"
    );
    for t in &targets {
        let (a, bytes) = time_answers(&fresh, t, n)?;
        // The first answer builds what is kept; the times after it are the cache's.
        time_answers(&kept, t, 1)?;
        let (b, _) = time_answers(&kept, t, n)?;
        eprintln!(
            "  {:<44} {:>10.1} / {:>7.1} ms  {:>10.2} / {:>7.2} ms  ({bytes} bytes)",
            t.trim_start_matches("api/v1/"),
            a[0],
            a[a.len() / 2],
            b[0],
            b[b.len() / 2]
        );
    }
    Ok(())
}

/// `n` answers to `target`: their times in ms, sorted, and the answer's size.
fn time_answers(
    api: &std::sync::Mutex<Api>,
    target: &str,
    n: usize,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let mut ms = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = std::time::Instant::now();
        let r = server::handle(api, target);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if r.status != 200 {
            anyhow::bail!(
                "{target}: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        bytes = r.body.len();
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms, bytes))
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

impl ExportSiteArgs {
    /// The whole site of `store` into `out`.
    pub fn new(store: &str, out: &std::path::Path) -> ExportSiteArgs {
        ExportSiteArgs {
            store: store.to_string(),
            out: out.to_path_buf(),
            no_details: false,
        }
    }
}

fn api(store: &str) -> anyhow::Result<Api> {
    Ok(Api::new(Store::open_read_only(store)?, Catalog::builtin()?))
}

pub fn run(a: DashboardArgs) -> anyhow::Result<ExitCode> {
    one_heap();
    if let Some(n) = a.bench {
        bench(&a.store, n.max(1))?;
        return Ok(ExitCode::SUCCESS);
    }
    let api = Api::with_cache(
        Store::open_read_only(&a.store)?,
        Catalog::builtin()?,
        a.cache_mb << 20,
    );
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

/// One malloc arena for every thread (glibc): an answer is built by whichever worker takes its
/// request, and from a per-thread arena each answer's tens of MB came from fresh pages (a
/// cold `figures/<slug>/hwkey.json` of 100,000 points over HTTP took 215–263 ms; with one
/// arena 140–193 ms). The workers are few and rarely allocate at once.
fn one_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the server's threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
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
