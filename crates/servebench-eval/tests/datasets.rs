//! Dataset files in the public layouts, the prompts built from them, and bad files refused
//! with their place.

use servebench_eval::Task;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn gpqa_options_are_shuffled_the_same_way_for_a_seed() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..20 {
        text.push_str(&format!(
            "{{\"Question\": \"Q{i}?\", \"Correct Answer\": \"right{i}\", \"Incorrect Answer 1\": \"w1\", \"Incorrect Answer 2\": \"w2\", \"Incorrect Answer 3\": \"w3\"}}\n"
        ));
    }
    let p = write(d.path(), "gpqa.jsonl", &text);
    let a = Task::GpqaDiamond.load(&p, 0).unwrap();
    let b = Task::GpqaDiamond.load(&p, 0).unwrap();
    let c = Task::GpqaDiamond.load(&p, 1).unwrap();
    assert_eq!(a, b, "the same seed, the same order");
    assert_ne!(a, c, "another seed, another order");
    for (i, doc) in a.iter().enumerate() {
        // The target letter points at the correct answer, wherever it landed.
        let k = (doc.target.as_bytes()[0] - b'A') as usize;
        assert_eq!(doc.choices.as_ref().unwrap()[k], format!("right{i}"));
    }
    // The correct answer is not always in one place.
    let letters: std::collections::BTreeSet<&str> = a.iter().map(|d| d.target.as_str()).collect();
    assert!(letters.len() >= 3, "{letters:?}");
    let prompt = &Task::GpqaDiamond.messages(&a[0], &[])[0].content;
    assert!(prompt.starts_with("Q0?\n\n(A) "), "{prompt}");
    assert!(prompt
        .ends_with("Express your final answer as the corresponding option 'A', 'B', 'C', or 'D'."));
}

#[test]
fn gsm8k_few_shot_turns_come_before_the_question() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "g.jsonl",
        "{\"question\": \"One?\", \"answer\": \"1\\n#### 1\"}\n{\"question\": \"Two?\", \"answer\": \"so #### 2,000\"}\n",
    );
    let docs = Task::Gsm8k.load(&p, 0).unwrap();
    assert_eq!(docs[1].target, "2000");
    let m = Task::Gsm8k.messages(&docs[1], &docs[..1]);
    let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(
        m[0].content,
        "Question: One?\nEnd your response with the answer on the last line, formatted as: #### [number]\nAnswer:"
    );
    assert_eq!(m[1].content, "1\n#### 1");
    assert!(m[2].content.starts_with("Question: Two?"));
}

#[test]
fn bad_lines_name_the_file_line_and_field() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        (
            Task::Gsm8k,
            "{\"question\": \"q\", \"answer\": \"4\"}\n",
            "field \"answer\": expected a GSM8K answer ending in '#### <number>'",
        ),
        (
            Task::Gsm8k,
            "{\"answer\": \"#### 4\"}\n",
            "field \"question\": expected a string",
        ),
        (
            Task::Math500,
            "{\"problem\": \"p\"}\n",
            "field \"answer\": expected a string",
        ),
        (
            Task::GpqaDiamond,
            "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": \"A\"}\n",
            "field \"choices\": expected 4 strings",
        ),
        (
            Task::GpqaDiamond,
            "{\"question\": \"q\", \"choices\": [\"a\", \"b\", \"c\", \"d\"], \"answer\": \"E\"}\n",
            "field \"answer\": expected A, B, C or D (or 0-3)",
        ),
        (Task::Math500, "not json\n", "expected ident"),
    ];
    for (task, body, want) in cases {
        let p = write(d.path(), "bad.jsonl", &format!("\n{body}"));
        let e = task.load(&p, 0).unwrap_err().to_string();
        assert!(
            e.contains("bad.jsonl:2: ") && e.contains(want),
            "{task}: {e}"
        );
    }
    let p = write(d.path(), "empty.jsonl", "\n");
    assert!(Task::Gsm8k
        .load(&p, 0)
        .unwrap_err()
        .to_string()
        .ends_with("empty.jsonl: no questions"));
}
