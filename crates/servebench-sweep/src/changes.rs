//! What changed since a run: each planned job's points against what the run measured, by
//! InferenceX's rule (`docs/nightly.md`). A point is unchanged when the run measured the same
//! recipe fingerprint (image, engine, flags, parallelism, workload: the whole row but its
//! concurrency and name) at the same concurrency; its config key measured at another
//! fingerprint is a change, with the fields that differ; anything else is new.

use crate::plan::{Job, Workload};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// One point a run measured, as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The master-config key it was planned from (none for published imports).
    pub recipe_key: Option<String>,
    /// ISL and OSL; `None` for an agentic-coding point.
    pub workload: Option<(u32, u32)>,
    pub fingerprint: Option<String>,
    pub image: Option<String>,
    pub conc: u32,
    /// Its row id in the store.
    pub point: i64,
}

/// How one planned point stands against the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Its config key never ran this workload in the run.
    New,
    /// The same deployment ran, not at this concurrency.
    NewConcurrency,
    /// The config key ran this workload with another fingerprint: the earlier one, and
    /// the point whose job row says what it was (for [`diff_rows`]).
    Changed {
        was_fingerprint: String,
        was_image: Option<String>,
        was_point: i64,
    },
    /// Measured as planned: the point can be reused.
    Unchanged { point: i64 },
}

impl Change {
    /// Whether the point has to be measured again.
    pub fn to_run(&self) -> bool {
        !matches!(self, Change::Unchanged { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Change::New => "new",
            Change::NewConcurrency => "new concurrency",
            Change::Changed { .. } => "changed",
            Change::Unchanged { .. } => "unchanged",
        }
    }
}

/// A planned point and how it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct PointChange {
    /// Index into the jobs given to [`changes`].
    pub job: usize,
    pub conc: u32,
    pub change: Change,
}

/// The workload a job's points are stored at: ISL and OSL, `None` for agentic coding.
pub fn workload_key(job: &Job) -> Option<(u32, u32)> {
    match job.workload {
        Workload::Fixed { isl, osl } => Some((isl, osl)),
        Workload::Agentic { .. } => None,
    }
}

/// A config key at a workload: what a job's earlier points are found by.
type JobKey<'a> = (&'a str, Option<(u32, u32)>);

/// Every planned point (each job at each of its concurrencies) against what `measured` holds.
pub fn changes(jobs: &[Job], measured: &[Measured]) -> Vec<PointChange> {
    let mut by_fingerprint: HashMap<(&str, u32), i64> = HashMap::new();
    let mut by_key: HashMap<JobKey, Vec<&Measured>> = HashMap::new();
    for m in measured {
        if let Some(f) = &m.fingerprint {
            by_fingerprint.insert((f.as_str(), m.conc), m.point);
        }
        if let Some(k) = &m.recipe_key {
            by_key.entry((k.as_str(), m.workload)).or_default().push(m);
        }
    }
    let mut out = Vec::new();
    for (i, j) in jobs.iter().enumerate() {
        let before = by_key
            .get(&(j.config_key.as_str(), workload_key(j)))
            .map_or(&[][..], Vec::as_slice);
        for &conc in &j.conc {
            let change = match by_fingerprint.get(&(j.fingerprint.as_str(), conc)) {
                Some(&point) => Change::Unchanged { point },
                None => stand(j, before),
            };
            out.push(PointChange {
                job: i,
                conc,
                change,
            });
        }
    }
    out
}

/// A point the run did not measure as planned: what its config key's earlier points say.
fn stand(job: &Job, before: &[&Measured]) -> Change {
    if before
        .iter()
        .any(|m| m.fingerprint.as_deref() == Some(job.fingerprint.as_str()))
    {
        return Change::NewConcurrency;
    }
    match before.iter().find(|m| m.fingerprint.is_some()) {
        Some(m) => Change::Changed {
            was_fingerprint: m.fingerprint.clone().unwrap_or_default(),
            was_image: m.image.clone(),
            was_point: m.point,
        },
        None => Change::New,
    }
}

/// A field of a job's row that differs between two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// The row's key path (`image`, `decode.tp`).
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// The fields two InferenceX rows of one config key differ in, but those that name a point
/// rather than a deployment (concurrency, experiment name, fingerprint, eval marks).
pub fn diff_rows(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_into("", before, after, &mut out);
    out
}

const NOT_DEPLOYMENT: [&str; 6] = [
    "conc",
    "exp-name",
    "recipe-fingerprint",
    "run-eval",
    "eval-conc",
    "eval-only",
];

fn diff_into(prefix: &str, before: &Value, after: &Value, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if prefix.is_empty() && NOT_DEPLOYMENT.contains(&k.as_str()) {
                    continue;
                }
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                let none = Value::Null;
                diff_into(
                    &path,
                    b.get(k).unwrap_or(&none),
                    a.get(k).unwrap_or(&none),
                    out,
                );
            }
        }
        (b, a) if b != a => out.push(FieldChange {
            field: prefix.to_string(),
            before: b.clone(),
            after: a.clone(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{plan, Evals, PlanOptions};
    use crate::recipe::Runners;

    /// One Llama-3.3-70B recipe on the simulated engine.
    fn recipe(key: &str, runner: &str, image: &str, concs: &str) -> String {
        format!(
            "{key}:
  image: {image}
  model: meta-llama/Llama-3.3-70B-Instruct
  model-prefix: llama70b
  precision: fp8
  framework: sim
  runner: {runner}
  multinode: false
  scenarios:
    fixed-seq-len:
      - isl: 1024
        osl: 1024
        search-space:
          - {{tp: 8, conc-list: [{concs}]}}
"
        )
    }

    fn planned(text: &str) -> Vec<Job> {
        let recipes = crate::load_recipe_texts(&[("m.yaml".into(), text.to_string())]).unwrap();
        let opts = PlanOptions {
            evals: Evals::None,
            ..PlanOptions::default()
        };
        plan(&recipes, &Runners::default(), &opts).unwrap()
    }

    /// What a run that measured `jobs` as planned holds (point ids from 100).
    fn measured_as(jobs: &[Job]) -> Vec<Measured> {
        let mut id = 100;
        let mut out = Vec::new();
        for j in jobs {
            for &conc in &j.conc {
                out.push(Measured {
                    recipe_key: Some(j.config_key.clone()),
                    workload: workload_key(j),
                    fingerprint: Some(j.fingerprint.clone()),
                    image: Some(j.image.clone()),
                    conc,
                    point: id,
                });
                id += 1;
            }
        }
        out
    }

    #[test]
    fn an_image_bump_changes_its_config_only() {
        let night1 = planned(
            &(recipe("llama-fp8-h200-sim", "h200", "servebench/sim:0.1", "4, 8")
                + &recipe("llama-fp8-b200-sim", "b200", "servebench/sim:0.1", "4")),
        );
        let before = measured_as(&night1);
        // Night 1 against itself: every point reusable, each its own.
        let same = changes(&night1, &before);
        assert_eq!(same.len(), 3);
        assert!(same.iter().all(|c| !c.change.to_run()));
        assert_eq!(
            same.iter()
                .map(|c| match c.change {
                    Change::Unchanged { point } => point,
                    _ => 0,
                })
                .collect::<Vec<_>>(),
            {
                let mut ids: Vec<i64> = before.iter().map(|m| m.point).collect();
                ids.sort();
                ids
            }
        );

        // Night 2: h200's image bumped, a concurrency added to b200, a recipe added.
        let text = recipe("llama-fp8-h200-sim", "h200", "servebench/sim:0.2", "4, 8")
            + &recipe("llama-fp8-b200-sim", "b200", "servebench/sim:0.1", "4, 16")
            + &recipe("llama-fp8-h100-sim", "h100", "servebench/sim:0.1", "4");
        let night2 = planned(&text);
        let c = changes(&night2, &before);
        let got: Vec<(&str, u32, &str)> = c
            .iter()
            .map(|p| (night2[p.job].config_key.as_str(), p.conc, p.change.name()))
            .collect();
        assert_eq!(
            got,
            [
                ("llama-fp8-h200-sim", 4, "changed"),
                ("llama-fp8-h200-sim", 8, "changed"),
                ("llama-fp8-b200-sim", 4, "unchanged"),
                ("llama-fp8-b200-sim", 16, "new concurrency"),
                ("llama-fp8-h100-sim", 4, "new"),
            ]
        );
        let Change::Changed {
            was_image,
            was_fingerprint,
            ..
        } = &c[0].change
        else {
            unreachable!()
        };
        assert_eq!(was_image.as_deref(), Some("servebench/sim:0.1"));
        assert_eq!(was_fingerprint, &night1[0].fingerprint);
        // What differs between the two rows: the image alone.
        assert_eq!(
            diff_rows(&night1[0].ix_row(), &night2[0].ix_row()),
            [FieldChange {
                field: "image".into(),
                before: "servebench/sim:0.1".into(),
                after: "servebench/sim:0.2".into(),
            }]
        );
    }
}
