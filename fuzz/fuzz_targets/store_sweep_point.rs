//! A stored sweep point (`servebench_store::import::sweep_point(root, root/points/k/x.json)`)
//! and the sweep directory around it (`sweep_dir`: its points and `run.json`). The input is
//! up to three files split at NUL bytes: the point, the server log it may name
//! (`server.log`), and `run.json`. No panic; a point imports the same alone and as part of
//! its directory; its keys and JSON can be computed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_fuzz::{remove, scratch, split_nul, write};
use servebench_store::import::{sweep_dir, sweep_point};
use servebench_store::{Run, Source};

fuzz_target!(|data: &[u8]| {
    let (point, rest) = split_nul(data);
    let (log, run_json) = match rest {
        Some(r) => {
            let (l, j) = split_nul(r);
            (Some(l), j)
        }
        None => (None, None),
    };
    let path = write("sweep/points/k/x.json", point);
    let root = scratch().join("sweep");
    match log {
        Some(l) => drop(write("sweep/server.log", l)),
        None => remove("sweep/server.log"),
    }
    match run_json {
        Some(j) => drop(write("sweep/run.json", j)),
        None => remove("sweep/run.json"),
    }
    let alone = sweep_point(&root, &path);
    let dir = sweep_dir(&root, "fuzz-run", "");
    match (&alone, &dir) {
        (Ok(p), Ok((run, points))) => {
            assert_eq!(points.len(), 1);
            assert_eq!(&points[0], p, "a point imports differently inside its directory");
            let _ = p.key(run);
            let _ = p.config.natural_key();
            let _ = serde_json::to_vec(p).expect("a point serialises");
            let _ = serde_json::to_vec(run).expect("a run serialises");
        }
        (Err(_), Err(_)) => {}
        // run.json can fail the directory alone.
        (Ok(_), Err(_)) if run_json.is_some() => {}
        _ => panic!("sweep_point and sweep_dir disagree: {alone:?} / {dir:?}"),
    }
    let reference = Run {
        key: "k".into(),
        started_at: "2025-01-01".into(),
        who: "fuzz".into(),
        recipes_commit: None,
        executor: "sweep".into(),
        source: Source::Own,
    };
    if let Ok(p) = alone {
        let _ = p.key(&reference);
    }
});
