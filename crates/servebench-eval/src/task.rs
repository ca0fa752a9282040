//! The tasks: their dataset files (as the user supplies them, in the public datasets' own
//! JSONL layouts), their prompts, and how an answer is scored.

use crate::extract;
use crate::EvalError;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    #[serde(rename = "gsm8k")]
    Gsm8k,
    #[serde(rename = "math500")]
    Math500,
    #[serde(rename = "gpqa-diamond")]
    GpqaDiamond,
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Task, String> {
        match s {
            "gsm8k" => Ok(Task::Gsm8k),
            "math500" => Ok(Task::Math500),
            "gpqa-diamond" => Ok(Task::GpqaDiamond),
            _ => Err(format!(
                "unknown task '{s}': expected gsm8k, math500 or gpqa-diamond"
            )),
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Gsm8k => "gsm8k",
            Task::Math500 => "math500",
            Task::GpqaDiamond => "gpqa-diamond",
        })
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Doc {
    /// The dataset's id for it, else `line N`.
    pub id: String,
    /// Its line in the file.
    pub line: usize,
    pub question: String,
    /// The reference answer as scored: a number (GSM8K), a LaTeX answer (MATH), a letter (GPQA).
    pub target: String,
    /// A worked answer, for few-shot examples (GSM8K's `answer`, MATH's `solution`).
    pub solution: Option<String>,
    /// GPQA's four options, in the order shown.
    pub choices: Option<Vec<String>>,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// What a response scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// The answer extracted by the task's rule (GSM8K: the strict `#### n` rule).
    pub extracted: Option<String>,
    pub correct: bool,
    /// GSM8K's flexible rule (the last number anywhere), where it applies.
    pub flexible: Option<String>,
    pub flexible_correct: Option<bool>,
}

impl Task {
    /// InferenceX's few-shot counts: GSM8K 5-shot; MATH-500 and GPQA-Diamond zero-shot.
    pub fn default_fewshot(self) -> usize {
        match self {
            Task::Gsm8k => 5,
            Task::Math500 | Task::GpqaDiamond => 0,
        }
    }

    /// The primary score's name.
    pub fn score_name(self) -> &'static str {
        match self {
            Task::Gsm8k => "exact_match,strict-match",
            Task::Math500 => "exact_match,boxed",
            Task::GpqaDiamond => "exact_match,option-letter",
        }
    }

    /// Reads a dataset file: GSM8K `{"question", "answer": "… #### 72"}` (openai/gsm8k);
    /// MATH-500 `{"problem", "answer"[, "solution", "unique_id"]}` (HuggingFaceH4/MATH-500);
    /// GPQA `{"Question", "Correct Answer", "Incorrect Answer 1".."3"}` (Idavidrein/gpqa),
    /// whose options are shuffled with `seed`, or `{"question", "choices": [4], "answer": "A"|0}`.
    pub fn load(self, path: &Path, seed: u64) -> Result<Vec<Doc>, EvalError> {
        let text =
            servebench_core::sys::read_limited_string(path, servebench_core::sys::limits::DATASET)
                .map_err(|e| EvalError::Data {
                    at: path.display().to_string(),
                    message: e.to_string(),
                })?;
        let mut docs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{}:{}", path.display(), i + 1);
            let bad = |message: String| EvalError::Data {
                at: at.clone(),
                message,
            };
            let v: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let field = |k: &str| -> Result<String, EvalError> {
                match v.get(k) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(Value::Number(n)) => Ok(n.to_string()),
                    _ => Err(bad(format!("field \"{k}\": expected a string"))),
                }
            };
            let id = ["id", "unique_id", "Record ID"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| format!("line {}", i + 1));
            let doc = match self {
                Task::Gsm8k => {
                    let answer = field("answer")?;
                    let target = answer
                        .rsplit_once("####")
                        .map(|(_, n)| extract::normalize_number(n.trim()))
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| {
                            bad("field \"answer\": expected a GSM8K answer ending in '#### <number>'"
                                .into())
                        })?;
                    Doc {
                        id,
                        line: i + 1,
                        question: field("question")?,
                        target,
                        solution: Some(answer),
                        choices: None,
                    }
                }
                Task::Math500 => Doc {
                    id,
                    line: i + 1,
                    question: field("problem")?,
                    target: field("answer")?,
                    solution: v
                        .get("solution")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    choices: None,
                },
                Task::GpqaDiamond => {
                    let (question, choices, target) = if v.get("Question").is_some() {
                        let mut options = vec![
                            (field("Correct Answer")?, true),
                            (field("Incorrect Answer 1")?, false),
                            (field("Incorrect Answer 2")?, false),
                            (field("Incorrect Answer 3")?, false),
                        ];
                        // The same order on every run with the same seed, different per question.
                        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
                            seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                        );
                        options.shuffle(&mut rng);
                        let k = options.iter().position(|o| o.1).expect("one correct");
                        (
                            field("Question")?,
                            options
                                .into_iter()
                                .map(|o| o.0.trim().to_string())
                                .collect(),
                            letter(k),
                        )
                    } else {
                        let choices: Vec<String> = v
                            .get("choices")
                            .and_then(Value::as_array)
                            .filter(|a| a.len() == 4)
                            .and_then(|a| a.iter().map(|c| c.as_str().map(str::to_string)).collect())
                            .ok_or_else(|| {
                                bad("field \"choices\": expected 4 strings (or GPQA's \"Question\", \"Correct Answer\" and \"Incorrect Answer 1\"..\"3\")".into())
                            })?;
                        let target = match v.get("answer") {
                            Some(Value::Number(n)) if n.as_u64().is_some_and(|k| k < 4) => {
                                letter(n.as_u64().unwrap() as usize)
                            }
                            Some(Value::String(s))
                                if ["A", "B", "C", "D"].contains(&s.as_str()) =>
                            {
                                s.clone()
                            }
                            _ => {
                                return Err(bad(
                                    "field \"answer\": expected A, B, C or D (or 0-3)".into()
                                ))
                            }
                        };
                        (field("question")?, choices, target)
                    };
                    Doc {
                        id,
                        line: i + 1,
                        question: question.trim().to_string(),
                        target,
                        solution: None,
                        choices: Some(choices),
                    }
                }
            };
            docs.push(doc);
        }
        if docs.is_empty() {
            return Err(EvalError::Data {
                at: path.display().to_string(),
                message: "no questions".into(),
            });
        }
        Ok(docs)
    }

    /// The user turn asking `doc`.
    fn ask(self, doc: &Doc) -> String {
        match self {
            // InferenceX's GSM8K prompt (lm-eval's, told how to end the answer).
            Task::Gsm8k => format!(
                "Question: {}\nEnd your response with the answer on the last line, formatted as: #### [number]\nAnswer:",
                doc.question
            ),
            Task::Math500 => format!(
                "Solve the following math problem. Reason step by step, and put your final answer within \\boxed{{}}.\n\n{}",
                doc.question
            ),
            // InferenceX's GPQA-Diamond prompt.
            Task::GpqaDiamond => {
                let c = doc.choices.as_deref().unwrap_or_default();
                let mut s = format!("{}\n\n", doc.question);
                for (k, o) in c.iter().enumerate() {
                    s.push_str(&format!("({}) {o}\n", letter(k)));
                }
                s.push_str("\nExpress your final answer as the corresponding option 'A', 'B', 'C', or 'D'.");
                s
            }
        }
    }

    /// The assistant turn of a few-shot example.
    fn answer(self, doc: &Doc) -> String {
        match self {
            Task::Gsm8k => doc
                .solution
                .clone()
                .unwrap_or_else(|| format!("#### {}", doc.target)),
            Task::Math500 => match &doc.solution {
                Some(s) if s.contains("\\boxed") => s.clone(),
                Some(s) => format!("{s}\n\nThe final answer is $\\boxed{{{}}}$.", doc.target),
                None => format!("The final answer is $\\boxed{{{}}}$.", doc.target),
            },
            Task::GpqaDiamond => format!("The answer is ({}).", doc.target),
        }
    }

    /// The conversation for `doc`: the few-shot examples as earlier turns, then the question.
    pub fn messages(self, doc: &Doc, shots: &[Doc]) -> Vec<Message> {
        let mut m = Vec::with_capacity(2 * shots.len() + 1);
        for s in shots {
            m.push(Message {
                role: "user".into(),
                content: self.ask(s),
            });
            m.push(Message {
                role: "assistant".into(),
                content: self.answer(s),
            });
        }
        m.push(Message {
            role: "user".into(),
            content: self.ask(doc),
        });
        m
    }

    /// Scores a response (reasoning in `<think>` blocks removed first).
    pub fn score(self, doc: &Doc, response: &str) -> Scored {
        let text = extract::strip_thinking(response);
        match self {
            Task::Gsm8k => {
                let strict = extract::gsm8k_strict(&text);
                let flexible = extract::gsm8k_flexible(&text);
                let ok = |a: &Option<String>| {
                    a.as_deref()
                        .is_some_and(|a| extract::same_number(a, &doc.target))
                };
                Scored {
                    correct: ok(&strict),
                    flexible_correct: Some(ok(&flexible)),
                    extracted: strict,
                    flexible,
                }
            }
            Task::Math500 => {
                let a = extract::last_boxed(&text);
                Scored {
                    correct: a
                        .as_deref()
                        .is_some_and(|a| extract::same_math(a, &doc.target)),
                    extracted: a,
                    flexible: None,
                    flexible_correct: None,
                }
            }
            Task::GpqaDiamond => {
                let a = extract::choice_letter(&text).map(String::from);
                Scored {
                    correct: a.as_deref() == Some(doc.target.as_str()),
                    extracted: a,
                    flexible: None,
                    flexible_correct: None,
                }
            }
        }
    }
}

fn letter(k: usize) -> String {
    ((b'A' + k as u8) as char).to_string()
}
