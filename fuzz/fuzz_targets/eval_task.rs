//! Eval dataset files (`servebench_eval::Task::load`: GSM8K, MATH-500 and GPQA-Diamond JSONL
//! layouts); the first byte picks the task and the seed. For what loads: the prompts
//! (`messages`, with the first questions as few-shot examples) and scoring each question's
//! own solution or target. No panic; GPQA targets are option letters with four choices.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_eval::Task;
use servebench_fuzz::write;

const TASKS: [Task; 3] = [Task::Gsm8k, Task::Math500, Task::GpqaDiamond];

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else {
        return;
    };
    let task = TASKS[usize::from(ctl & 0x03) % 3];
    let path = write("eval/data.jsonl", body);
    let Ok(docs) = task.load(&path, u64::from(ctl >> 2)) else {
        return;
    };
    assert!(!docs.is_empty());
    let shots = &docs[..docs.len().min(task.default_fewshot()).min(2)];
    for d in &docs {
        if task == Task::GpqaDiamond {
            assert!(["A", "B", "C", "D"].contains(&d.target.as_str()), "{:?}", d.target);
            assert_eq!(d.choices.as_ref().map(Vec::len), Some(4));
        }
        let m = task.messages(d, shots);
        assert_eq!(m.len(), 2 * shots.len() + 1);
        let _ = task.score(d, d.solution.as_deref().unwrap_or(&d.target));
        let _ = task.score(d, &d.question);
    }
});
