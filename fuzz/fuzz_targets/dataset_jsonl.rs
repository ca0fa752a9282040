//! JSONL request files (`servebench_dataset::Dataset::build` with `DatasetKind::Jsonl`, the
//! cl100k_base tokenizer). The first byte picks the API, the output-length override and the
//! numbers of prompts and warmups. No panic; every request can be read back; the dataset hash
//! recomputed from the stored requests equals the one built.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_dataset::DatasetKind;
use servebench_fuzz::dataset::check;

fuzz_target!(|data: &[u8]| check(DatasetKind::Jsonl, data));
