//! Published InferenceMAX v1 dashboard files (`servebench_published::load_file`): an
//! `*_interactivity.json` file and, if the input has a NUL byte, its sibling `*_e2e.json` (the
//! bytes after it; a second NUL ends them and what follows is a file name for `parse_name`).
//! The first byte picks the model/ISL/OSL of the file name. No panic; deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_fuzz::{remove, split_nul, write};
use servebench_published::{deployment, load_file, parse_name};

const NAMES: [&str; 4] = [
    "Llama_3_3_70B_Instruct_1K_1K",
    "DeepSeek_R1_0528_8K_1K",
    "gpt-oss_120B_1K_8K",
    "Llama_3_3_70B_Instruct_8K_8K",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let stem = NAMES[usize::from(pick) % NAMES.len()];
    let (inter, rest) = split_nul(data);
    let (e2e, name) = match rest {
        Some(r) => {
            let (e, n) = split_nul(r);
            (Some(e), n)
        }
        None => (None, None),
    };
    let path = write(&format!("published/{stem}_interactivity.json"), inter);
    let e2e_name = format!("published/{stem}_e2e.json");
    match e2e {
        Some(e) => drop(write(&e2e_name, e)),
        None => remove(&e2e_name),
    }
    let a = load_file(&path);
    let b = load_file(&path);
    match (&a, &b) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x, y);
            for p in x {
                let _ = serde_json::to_vec(p).expect("a point serialises");
            }
        }
        (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
        _ => panic!("load_file is not deterministic"),
    }
    remove(&format!("published/{stem}_interactivity.json"));
    remove(&e2e_name);
    if let Some(n) = name.and_then(|n| std::str::from_utf8(n).ok()) {
        if let Some((model, isl, osl)) = parse_name(n) {
            assert!(isl == 1024 || isl == 8192);
            assert!(osl == 1024 || osl == 8192);
            let _ = deployment(model, n, "fp4");
        }
    }
});
