//! `servebench nightly`: one command a night (`docs/nightly.md`). What changed since the
//! store's latest run is measured and the rest carried over, the run is stored with its
//! changelog, every movement and regression of its frontiers is summarised in Markdown with
//! what changed, and the site is published.

use super::ingest::IngestArgs;
use super::sweep::SweepArgs;
use servebench_report::request::{Request, What};
use servebench_report::table::{markdown_text, Cell, Exporter, Markdown, Table};
use servebench_store::{Source, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct NightlyArgs {
    /// The sweep, as `servebench sweep` takes it (recipes, executor, …). Its results go to
    /// OUT/RUN; --store is required; without --reuse, the store's latest own run is reused.
    /// On GitHub Actions (`servebench export gha`): `--executor gha --gha-output FILE` plans
    /// the matrices of what changed; `--executor collected` finishes the night with the
    /// runners' results collected into OUT/RUN.
    #[command(flatten)]
    pub sweep: Box<SweepArgs>,
    #[command(flatten)]
    pub compare: Compare,
    /// The run's key (default: nightly-YYYY-MM-DD, today in UTC).
    #[arg(long)]
    run: Option<String>,
    /// Append the Markdown summary to this file too (on GitHub Actions: $GITHUB_STEP_SUMMARY);
    /// it is always printed on stdout.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Publish the dashboard as a static site into this directory once the run is stored.
    #[arg(long, value_name = "DIR")]
    site: Option<PathBuf>,
}

/// How a night's frontiers are compared with the runs before.
#[derive(clap::Args, Debug)]
pub struct Compare {
    /// Interactivities (tok/s/user) frontiers are compared at.
    #[arg(long, value_delimiter = ',', default_value = "20,50,100")]
    at: Vec<f64>,
    /// The smallest change of a frontier reported, as a fraction (and above its run-to-run
    /// noise).
    #[arg(long, default_value_t = 0.05)]
    threshold: f64,
    /// Which points share a frontier (as `report --group`).
    #[arg(long, default_value = "hwkey")]
    group: String,
}

pub fn run(mut a: NightlyArgs) -> anyhow::Result<ExitCode> {
    let store = a
        .sweep
        .store()
        .ok_or_else(|| anyhow::anyhow!("servebench nightly needs --store (or SERVEBENCH_STORE)"))?
        .to_string();
    let key = a.run.clone().unwrap_or_else(|| {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (y, m, d, ..) = servebench_core::clock::utc_civil(unix as i64);
        format!("nightly-{y:04}-{m:02}-{d:02}")
    });
    let previous = latest_run(&store)?;
    let out = a.sweep.out().join(&key);
    a.sweep.for_night(out.clone(), previous.clone());
    match &previous {
        Some(p) => eprintln!("servebench nightly: run '{key}': what changed since run '{p}'"),
        None => eprintln!("servebench nightly: run '{key}': the store has no run yet, all of it"),
    }
    let writes_only = a.sweep.writes_only();
    let swept = super::sweep::run(*a.sweep)?;
    if writes_only {
        // GitHub Actions' plan stage: the runners measure, `--executor collected` finishes.
        return Ok(swept);
    }
    // A night whose every point failed or was deferred is stored too: its failures and what
    // the next night owes.
    if !["points", "failed", "deferred"]
        .iter()
        .any(|d| out.join(d).is_dir())
    {
        anyhow::bail!(
            "servebench nightly: run '{key}' recorded nothing (see {}): nothing stored",
            out.display()
        );
    }
    super::ingest::run(IngestArgs::sweep(&store, out.clone(), &key, ""))?;
    let night = Night::read(&store, &key, &a.compare)?;
    let text = night.markdown(&key, previous.as_deref(), &out);
    print!("{text}");
    if let Some(f) = &a.summary {
        append(f, &text)?;
    }
    if let Some(dir) = &a.site {
        super::dashboard::export_site(super::dashboard::ExportSiteArgs::new(&store, dir))?;
    }
    let failed = swept != ExitCode::SUCCESS;
    Ok(if night.regressions.rows.is_empty() && !failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The store's latest own run that is not retracted; none in a store not yet created.
impl Compare {
    /// The flags that compare the same way again.
    pub fn to_args(&self) -> Vec<String> {
        let at: Vec<String> = self.at.iter().map(f64::to_string).collect();
        vec![
            "--at".into(),
            at.join(","),
            "--threshold".into(),
            self.threshold.to_string(),
            "--group".into(),
            self.group.clone(),
        ]
    }
}

fn latest_run(store: &str) -> anyhow::Result<Option<String>> {
    match Store::open_read_only(store) {
        Ok(mut s) => Ok(s.latest_run(Source::Own)?.map(|r| r.key)),
        Err(servebench_store::StoreError::Missing(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What one night did, read back from the store.
struct Night {
    /// Points of the run, how many were carried over, and how many its budget left for a
    /// later night.
    points: usize,
    reused: usize,
    deferred: usize,
    /// Changelog entries first kept with this run.
    entries: Vec<String>,
    /// The run's movements and regressions over every view it measured.
    movements: Table,
    regressions: Table,
}

impl Night {
    fn read(store: &str, key: &str, a: &Compare) -> anyhow::Result<Night> {
        let mut s = Store::open_read_only(store)?;
        let measured = s.measured(key)?;
        let entries = s
            .changelog()?
            .into_iter()
            .filter(|c| c.run == key)
            .map(|c| {
                let text = |k: &str| -> Vec<&str> {
                    c.entry[k]
                        .as_array()
                        .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
                        .unwrap_or_default()
                };
                let n = c.configs.len();
                format!(
                    "{} ({}: {n} config{})",
                    text("description").join(" / "),
                    text("config-keys").join(", "),
                    if n == 1 { "" } else { "s" }
                )
            })
            .collect();
        let catalog = servebench_catalog::Catalog::builtin()?;
        let mut night = Night {
            points: measured.len(),
            reused: measured.iter().filter(|p| p.reused).count(),
            deferred: s.deferred(key)?.len(),
            entries,
            movements: Table::default(),
            regressions: Table::default(),
        };
        for v in s.views()? {
            if !v.sources.iter().any(|x| x == "own") {
                continue;
            }
            let pairs = |what: &str| -> Vec<(String, String)> {
                let at: Vec<String> = a.at.iter().map(f64::to_string).collect();
                [
                    ("model", v.model.clone()),
                    ("isl", v.isl.to_string()),
                    ("osl", v.osl.to_string()),
                    ("at", at.join(",")),
                    ("threshold", a.threshold.to_string()),
                    ("group", a.group.clone()),
                    ("source", "own".into()),
                    ("run", what.into()),
                ]
                .map(|(k, v)| (k.to_string(), v))
                .to_vec()
            };
            let view = format!("{} {}/{}", v.model, v.isl, v.osl);
            let req =
                Request::from_pairs(What::History, &pairs("all")).map_err(anyhow::Error::msg)?;
            let (_, t) = req.run(&mut s, &catalog).map_err(anyhow::Error::msg)?;
            merge(&mut night.movements, &t, &view, |row| {
                text(&t, row, "run") == key && !text(&t, row, "moved").is_empty()
            });
            let req = Request::from_pairs(What::Regressions, &pairs("all"))
                .map_err(anyhow::Error::msg)?;
            let (_, t) = req.run(&mut s, &catalog).map_err(anyhow::Error::msg)?;
            merge(&mut night.regressions, &t, &view, |row| {
                text(&t, row, "after_run") == key
            });
        }
        night.movements.title = format!(
            "Movements: frontiers that moved over {:.1}% and their noise since the run before",
            a.threshold * 100.0
        );
        night.regressions.title = format!(
            "Regressions: drops over {:.1}% and their noise since the run before",
            a.threshold * 100.0
        );
        Ok(night)
    }

    fn markdown(&self, key: &str, previous: Option<&str>, out: &Path) -> String {
        let mut s = format!("## servebench nightly: {key}\n\n");
        let since = previous.map_or("no earlier run".to_string(), |p| format!("run `{p}`"));
        s.push_str(&format!(
            "- {} points: {} measured, {} unchanged since {since} and carried over\n",
            self.points,
            self.points - self.reused,
            self.reused
        ));
        if self.deferred > 0 {
            s.push_str(&format!(
                "- {} points deferred to the next night (the budget was spent): it runs them first\n",
                self.deferred
            ));
        }
        let failed = count_files(&out.join("failed"));
        if failed > 0 {
            s.push_str(&format!(
                "- **{failed} points failed** (see the run's failed/ files)\n"
            ));
        }
        if self.regressions.rows.is_empty() {
            s.push_str("- no regression\n");
        } else {
            s.push_str(&format!(
                "- **{} regressions**\n",
                self.regressions.rows.len()
            ));
        }
        for e in &self.entries {
            s.push_str(&format!("- changelog: {}\n", markdown_text(e)));
        }
        s.push('\n');
        s.push_str(&Markdown.render(&self.regressions));
        s.push('\n');
        s.push_str(&Markdown.render(&self.movements));
        s
    }
}

/// The text of `row`'s cell in column `key`.
fn text<'a>(t: &'a Table, row: &'a [Cell], key: &str) -> &'a str {
    match t.columns.iter().position(|c| c.key == key).map(|i| &row[i]) {
        Some(Cell::Text(s)) => s,
        _ => "",
    }
}

/// Rows of `t` that `keep` keeps into `all`, each led by the view it is of.
fn merge(all: &mut Table, t: &Table, view: &str, keep: impl Fn(&[Cell]) -> bool) {
    if all.columns.is_empty() {
        all.columns = std::iter::once(servebench_report::table::col("view", "view", 0))
            .chain(t.columns.iter().cloned())
            .collect();
    }
    for r in t.rows.iter().filter(|r| keep(r)) {
        all.rows.push(
            std::iter::once(view.into())
                .chain(r.iter().cloned())
                .collect(),
        );
    }
}

/// The points a sweep could not measure: its failed/ files, at any depth.
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    count_files(&p)
                } else {
                    usize::from(p.extension().is_some_and(|x| x == "json"))
                }
            })
            .sum()
    })
}

fn append(file: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| anyhow::anyhow!("--summary {}: {e}", file.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
