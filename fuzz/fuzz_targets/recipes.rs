//! Recipe YAML (`servebench_sweep::load_recipes`, InferenceX master configs) and, for what
//! loads, the plan (`servebench_sweep::plan::plan`) and each job's row, GPU count and model
//! length. The input is up to three files split at NUL bytes: one or two recipe files (a key
//! defined in both is an error) and, if present, a runner config (`load_runners`). No panic,
//! and loading is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_fuzz::{remove, split_nul, write};
use servebench_sweep::plan::{plan, Evals, PlanOptions};
use servebench_sweep::recipe::Runners;
use servebench_sweep::{load_recipes, load_runners};

fuzz_target!(|data: &[u8]| {
    let (a, rest) = split_nul(data);
    let (b, runners_text) = match rest {
        Some(r) => {
            let (b, c) = split_nul(r);
            (Some(b), c)
        }
        None => (None, None),
    };
    let mut files = vec![write("recipes/a.yaml", a)];
    if let Some(b) = b {
        files.push(write("recipes/b.yaml", b));
    }
    let loaded = load_recipes(&files);
    let again = load_recipes(&files);
    match (&loaded, &again) {
        (Ok(x), Ok(y)) => assert_eq!(format!("{:?}", x.entries), format!("{:?}", y.entries)),
        (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
        _ => panic!("loading the same files twice gave different outcomes"),
    }
    let runners = match runners_text {
        Some(t) => {
            let p = write("recipes/runners.yaml", t);
            load_runners(&p).ok()
        }
        None => None,
    };
    remove("recipes/b.yaml");
    let Ok(recipes) = loaded else { return };
    let runners = runners.unwrap_or_else(Runners::default);
    for o in [
        PlanOptions::default(),
        PlanOptions {
            evals: Evals::All,
            step_size: 3,
            ..PlanOptions::default()
        },
    ] {
        if let Ok(jobs) = plan(&recipes, &runners, &o) {
            for j in &jobs {
                let _ = j.ix_row();
                let _ = j.gpus();
                let _ = j.max_model_len();
            }
        }
    }
});
