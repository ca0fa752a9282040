//! `servebench export gha`: the nightly pipeline as a scheduled GitHub Actions workflow
//! (`docs/nightly.md`), built as data by `servebench_sweep::gha`.

use super::nightly::NightlyArgs;
use anyhow::Context;
use servebench_sweep::gha::{self, NightlyWorkflow, StoreAt};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum ExportWhat {
    /// A scheduled GitHub Actions workflow of `servebench nightly`: plan what changed, fan the
    /// jobs out over runners (matrices of at most 256), collect their points, store, report
    /// movements and regressions (the run page's summary; the job fails on a regression) and
    /// publish the site to GitHub Pages.
    Gha(Box<GhaArgs>),
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(subcommand)]
    what: ExportWhat,
}

#[derive(clap::Args, Debug)]
pub struct GhaArgs {
    /// The night as `servebench nightly` runs it (recipes, changelog, priority, engines, …);
    /// its store is never written into the workflow (--store-secret, or an SQLite file).
    #[command(flatten)]
    nightly: NightlyArgs,
    /// The workflow file to write.
    #[arg(long, default_value = ".github/workflows/servebench-nightly.yml")]
    workflow: PathBuf,
    /// When it runs: a cron schedule, UTC.
    #[arg(long, default_value = "0 2 * * *")]
    cron: String,
    /// Pushes to this branch that touch the recipes, the changelog or the priority policy run
    /// it too.
    #[arg(long, default_value = "main")]
    branch: String,
    /// A shell line that puts servebench on a runner's PATH (repeatable, in order).
    #[arg(
        long = "install",
        value_name = "LINE",
        default_value = "cargo install --locked --path crates/servebench"
    )]
    install: Vec<String>,
    /// The store: the name of a repository secret holding a PostgreSQL URL (a fleet's
    /// database). Default: an SQLite file kept in the Actions cache from night to night and
    /// uploaded as an artifact.
    #[arg(long, value_name = "SECRET")]
    store_secret: Option<String>,
    /// Without --store-secret: the SQLite file's name.
    #[arg(long, default_value = "servebench.db", conflicts_with = "store_secret")]
    sqlite: String,
    /// Do not publish the site to GitHub Pages.
    #[arg(long)]
    no_pages: bool,
}

pub fn run(a: ExportArgs) -> anyhow::Result<ExitCode> {
    match a.what {
        ExportWhat::Gha(g) => gha(*g),
    }
}

fn gha(mut a: GhaArgs) -> anyhow::Result<ExitCode> {
    check_cron(&a.cron)?;
    if let Some(name) = &a.store_secret {
        anyhow::ensure!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "--store-secret {name}: expected a secret's name (letters, digits and _)"
        );
    }
    // How many matrices the whole plan fills: a night that changed everything fits.
    let (_, jobs) = a.nightly.sweep.plan()?;
    let matrices = jobs.len().div_ceil(gha::GHA_MAX_MATRIX).max(1);
    let watched = a.nightly.sweep.watched_files();
    let (stage, task) = a.nightly.sweep.for_gha()?;
    let run = "nightly-${{ github.run_id }}-${{ github.run_attempt }}".to_string();
    let exe = "servebench".to_string();
    let command = |executor: &str, out: &str, extra: &[String]| -> Vec<String> {
        let mut c = vec![exe.clone(), "nightly".into()];
        c.extend(stage.iter().cloned());
        c.extend(
            [
                "--executor",
                executor,
                "--no-progress",
                "--out",
                out,
                "--run",
                &run,
            ]
            .map(String::from),
        );
        c.extend(extra.iter().cloned());
        c
    };
    let pages = !a.no_pages;
    let mut collect_extra = a.nightly.compare.to_args();
    if pages {
        collect_extra.extend(["--site".into(), "site".into()]);
    }
    let w = NightlyWorkflow {
        cron: a.cron.clone(),
        branch: a.branch.clone(),
        paths: watched.iter().map(|p| p.display().to_string()).collect(),
        install: a.install.clone(),
        store: match &a.store_secret {
            Some(s) => StoreAt::Secret(s.clone()),
            None => StoreAt::SqliteCache(a.sqlite.clone()),
        },
        plan: command(
            "gha",
            "plan",
            &["--gha-matrices".into(), matrices.to_string()],
        ),
        task,
        collect: command("collected", "nights", &collect_extra),
        results: format!("nights/{run}"),
        matrices,
        pages,
    };
    let header = format!(
        "Written by `servebench export gha` ({} jobs in the plan: {matrices} matrices of at most \
         {}).\nEach night: plan what changed since the store's latest run, run it on the recipes' \
         runners,\ncollect, store, report movements and regressions, publish (docs/nightly.md).",
        jobs.len(),
        gha::GHA_MAX_MATRIX
    );
    let text = gha::to_yaml(&header, &gha::nightly_workflow(&w))?;
    if let Some(dir) = a.workflow.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&a.workflow, text)
        .with_context(|| format!("writing {}", a.workflow.display()))?;
    eprintln!(
        "servebench export gha: {} ({} jobs in the plan, {matrices} matrices; runs at '{}' and on \
         pushes to {} touching {})",
        a.workflow.display(),
        jobs.len(),
        a.cron,
        a.branch,
        w.paths.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Five fields of numbers, `*`, ranges, lists and steps (GitHub's schedule syntax).
fn check_cron(cron: &str) -> anyhow::Result<()> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let ok_field = |f: &str| {
        f.split(',').all(|part| {
            let (range, step) = part.split_once('/').unwrap_or((part, "1"));
            let num = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
            let range_ok = range == "*"
                || num(range)
                || range.split_once('-').is_some_and(|(a, b)| num(a) && num(b));
            range_ok && num(step)
        })
    };
    anyhow::ensure!(
        fields.len() == 5 && fields.iter().all(|f| ok_field(f)),
        "--cron '{cron}': expected five fields (minute hour day month weekday), e.g. '0 2 * * *'"
    );
    Ok(())
}
