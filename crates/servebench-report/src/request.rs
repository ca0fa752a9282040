//! One report request, parsed from the CLI's flags or a URL's query pairs alike, and run.

use crate::curves::{self, Query, RunPick, Selector};
use crate::reports::{self, Prices, XMetric, YMetric};
use crate::table::Table;
use servebench_analysis::economics::CostTier;
use servebench_analysis::grouping::Grouping;
use servebench_catalog::Catalog;
use servebench_store::{Source, Store};

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    At,
    Frontier,
    Compare,
    History,
    Regressions,
    Accuracy,
}

impl std::str::FromStr for What {
    type Err = String;
    fn from_str(s: &str) -> Result<What, String> {
        Ok(match s {
            "at" => What::At,
            "frontier" => What::Frontier,
            "compare" => What::Compare,
            "history" => What::History,
            "regressions" => What::Regressions,
            "accuracy" => What::Accuracy,
            x => {
                return Err(format!(
                    "'{x}': expected at, frontier, compare, history, regressions or accuracy"
                ))
            }
        })
    }
}

/// `hyperscaler`, `neocloud`, `rental`, or a $/GPU-hour.
pub fn parse_tier(s: &str) -> Result<CostTier, String> {
    Ok(match s {
        "hyperscaler" => CostTier::OwnedHyperscaler,
        "neocloud" => CostTier::OwnedNeocloud,
        "rental" => CostTier::Rental3y,
        x => CostTier::Custom(x.parse().ok().filter(|d: &f64| *d > 0.0).ok_or_else(|| {
            format!("'{x}': expected hyperscaler, neocloud, rental or a $/GPU-hour")
        })?),
    })
}

/// `own`, `reference` or `both`.
pub fn parse_sources(s: &str) -> Result<Vec<Source>, String> {
    match s {
        "both" => Ok(vec![Source::Own, Source::Reference]),
        s => Ok(vec![s.parse()?]),
    }
}

/// Comma-separated interactivities.
pub fn parse_targets(s: &str) -> Result<Vec<f64>, String> {
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| {
                    format!("'{t}': expected positive tok/s/user values, comma-separated")
                })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct Request {
    pub what: What,
    pub query: Query,
    pub at: Vec<f64>,
    pub tier: CostTier,
    pub x: XMetric,
    pub y: YMetric,
    pub a: Option<Selector>,
    pub b: Option<Selector>,
    pub threshold: f64,
    /// Which points share a frontier (`docs/analysis.md`).
    pub group: Grouping,
}

impl Request {
    /// From `name=value` pairs (a URL's query), with the CLI's defaults; errors name the
    /// parameter.
    pub fn from_pairs(what: What, pairs: &[(String, String)]) -> Result<Request, String> {
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        let known = [
            "model",
            "isl",
            "osl",
            "precision",
            "at",
            "tier",
            "source",
            "run",
            "x",
            "y",
            "a",
            "b",
            "threshold",
            "group",
            "new_only",
        ];
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(format!(
                "unknown parameter '{k}': expected {}",
                known.join(", ")
            ));
        }
        fn err(k: &'static str) -> impl Fn(String) -> String {
            move |e| format!("{k}: {e}")
        }
        let num = |k: &str, d: u32| -> Result<u32, String> {
            get(k).map_or(Ok(d), |v| {
                v.parse()
                    .map_err(|_| format!("{k}: '{v}': expected a whole number"))
            })
        };
        let model = get("model").ok_or("model: required")?.to_string();
        let runs = match what {
            What::History | What::Regressions | What::Accuracy => RunPick::All,
            _ => get("run").unwrap_or("latest").parse().map_err(err("run"))?,
        };
        let selector = |k: &'static str| {
            get(k)
                .map(|v| v.parse::<Selector>().map_err(err(k)))
                .transpose()
        };
        Ok(Request {
            what,
            query: Query {
                model,
                isl: num("isl", 1024)?,
                osl: num("osl", 1024)?,
                precision: get("precision")
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
                sources: parse_sources(get("source").unwrap_or("own")).map_err(err("source"))?,
                runs,
                new_only: match get("new_only").unwrap_or("false") {
                    "true" => true,
                    "false" => false,
                    v => return Err(format!("new_only: '{v}': expected true or false")),
                },
            },
            at: parse_targets(get("at").unwrap_or("20,50,100")).map_err(err("at"))?,
            tier: parse_tier(get("tier").unwrap_or("hyperscaler")).map_err(err("tier"))?,
            x: get("x")
                .unwrap_or("interactivity")
                .parse()
                .map_err(err("x"))?,
            y: get("y").unwrap_or("tput").parse().map_err(err("y"))?,
            a: selector("a")?,
            b: selector("b")?,
            threshold: get("threshold").map_or(Ok(0.05), |v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|t| (0.0..1.0).contains(t))
                    .ok_or_else(|| format!("threshold: '{v}': expected a fraction, e.g. 0.05"))
            })?,
            group: get("group")
                .unwrap_or("hwkey")
                .parse()
                .map_err(err("group"))?,
        })
    }

    /// The view's curves and the report's table.
    pub fn run(
        &self,
        store: &mut Store,
        catalog: &Catalog,
    ) -> Result<(Vec<curves::Curve>, Table), String> {
        // A model the catalog knows is stored under its id: accept any of its names.
        let mut query = self.query.clone();
        if let Some(id) = catalog.model_id(&query.model) {
            query.model = id.to_owned();
        }
        let curves = curves::load(store, &query).map_err(|e| e.to_string())?;
        if curves.is_empty() && self.what != What::Accuracy {
            return Err(self.nothing_stored(store, &query));
        }
        let prices = Prices {
            catalog,
            tier: self.tier,
        };
        let series = self.series(&curves);
        let mut table = match self.what {
            What::At => reports::at_targets(&series, &self.at, &prices),
            What::Frontier => reports::frontiers(&series, self.x, self.y, &prices),
            What::Compare => {
                let (Some(a), Some(b)) = (&self.a, &self.b) else {
                    return Err("compare needs a and b".into());
                };
                reports::compare(&curves, a, b, &self.at, &prices)
                    .map_err(|e| format!("compare: {e}"))?
            }
            What::History => {
                let changelog = store.changelog().map_err(|e| e.to_string())?;
                reports::history_table(&series, &self.at, self.threshold, &changelog)
            }
            What::Accuracy => {
                let mut evals = Vec::new();
                for s in &query.sources {
                    evals.extend(
                        store
                            .view_evals(&query.model, query.isl, query.osl, *s)
                            .map_err(|e| e.to_string())?,
                    );
                }
                reports::accuracy(&evals, &curves, query.precision.as_deref())
            }
            What::Regressions => {
                let changelog = store.changelog().map_err(|e| e.to_string())?;
                reports::regression_table(&series, &self.at, self.threshold, &changelog)
            }
        };
        table.title = format!("{} — {}", self.view_name(), table.title);
        Ok((curves, table))
    }

    /// The curves pooled into the request's frontiers: each run apart unless each config's
    /// latest is asked for.
    pub fn series(&self, curves: &[curves::Curve]) -> Vec<curves::Series> {
        curves::series(curves, self.group, self.query.runs != RunPick::Latest)
    }

    /// Why a report has nothing to show, with the views the store does hold.
    fn nothing_stored(&self, store: &mut Store, query: &Query) -> String {
        let sources: Vec<&str> = query.sources.iter().map(|s| s.as_str()).collect();
        let mut msg = format!(
            "no points for {} (source {}{}) in the store",
            self.view_name(),
            sources.join("+"),
            match &query.runs {
                RunPick::Key(k) => format!(", run {k}"),
                _ => String::new(),
            }
        );
        match store.views() {
            Ok(views) if views.is_empty() => msg.push_str("; the store holds no points at all"),
            Ok(views) => {
                msg.push_str("; it holds:");
                for v in views {
                    msg.push_str(&format!(
                        "\n  --model {} {}  ({} points; precision {}; source {})",
                        v.model,
                        servebench_store::workload_flags(v.isl, v.osl),
                        v.points,
                        v.precisions.join(","),
                        v.sources.join(",")
                    ));
                }
            }
            Err(e) => msg.push_str(&format!("; listing what it holds failed: {e}")),
        }
        msg
    }

    pub fn view_name(&self) -> String {
        let q = &self.query;
        format!(
            "{} {}{}",
            q.model,
            servebench_store::workload_label(q.isl, q.osl),
            q.precision
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default()
        )
    }

    /// The view's frontiers (`x`, `y`) as a chart, the targets marked.
    pub fn chart(&self, curves: &[curves::Curve], catalog: &Catalog) -> servebench_chart::Chart {
        let prices = Prices {
            catalog,
            tier: self.tier,
        };
        reports::chart(
            &self.view_name(),
            &self.series(curves),
            self.x,
            self.y,
            &self.at,
            &prices,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parameters_and_their_errors() {
        let r = Request::from_pairs(
            What::Compare,
            &pairs(&[
                ("model", "m"),
                ("at", "30,60"),
                ("tier", "2.5"),
                ("a", "h200"),
                ("b", "b200"),
            ]),
        )
        .unwrap();
        assert_eq!(r.at, [30.0, 60.0]);
        assert_eq!(r.tier, CostTier::Custom(2.5));
        assert_eq!((r.query.isl, r.query.osl), (1024, 1024));
        let e = |p: &[(&str, &str)]| Request::from_pairs(What::At, &pairs(p)).unwrap_err();
        assert_eq!(e(&[]), "model: required");
        assert!(e(&[("model", "m"), ("tier", "free")]).starts_with("tier: 'free'"));
        assert!(e(&[("model", "m"), ("at", "50,x")]).starts_with("at: 'x'"));
        assert!(e(&[("model", "m"), ("isl", "1k")]).starts_with("isl: '1k'"));
        assert!(e(&[("model", "m"), ("colour", "red")]).starts_with("unknown parameter 'colour'"));
        assert!(e(&[("model", "m"), ("y", "speed")]).starts_with("y: 'speed'"));
    }
}
