//! Running an eval: every question asked (concurrently, with retries), every answer scored and
//! recorded, and the score with its standard error.

use crate::client::{self, CallError, Endpoint};
use crate::task::{Doc, Message, Task};
use crate::EvalError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use servebench_core::endpoint::BaseUrl;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub base_url: BaseUrl,
    /// How the server's certificate is checked (https).
    pub tls: servebench_http::TlsOptions,
    pub model: String,
    pub task: Task,
    /// The questions (JSONL in the task's dataset layout).
    pub data: PathBuf,
    /// Few-shot examples' file (e.g. GSM8K's train split); without it, the first examples of
    /// `data` serve and are not scored.
    pub fewshot_data: Option<PathBuf>,
    /// Few-shot examples per question (default: the task's).
    pub num_fewshot: Option<usize>,
    /// Score only the first N questions (after any few-shot ones taken from `data`).
    pub limit: Option<usize>,
    /// Questions in flight.
    pub concurrency: usize,
    /// Attempts after the first for a failed call (transport errors, timeouts, 408, 429, 5xx).
    pub retries: u32,
    pub request_timeout: Duration,
    pub max_tokens: u32,
    pub temperature: f64,
    /// Orders GPQA's options.
    pub seed: u64,
    pub api_key: Option<String>,
    /// Members added to every request body.
    pub extra_body: Option<Value>,
    /// The score below which the eval fails, and where that number comes from.
    pub threshold: Option<Threshold>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub value: f64,
    /// `--threshold`, or the catalog source of the task's (and model's) threshold.
    pub source: String,
}

impl Threshold {
    /// `explicit` (given with `flag`), else the catalog's for `task` and `model` (by any of the
    /// model's names), if it has one.
    pub fn resolve(
        explicit: Option<f64>,
        flag: &str,
        task: Task,
        model: &str,
        catalog: &servebench_catalog::Catalog,
    ) -> Option<Threshold> {
        match explicit {
            Some(value) => Some(Threshold {
                value,
                source: flag.into(),
            }),
            None => catalog
                .eval_threshold(&task.to_string(), model)
                .map(|f| Threshold {
                    value: f.value,
                    source: format!("catalog: {}", f.source),
                }),
        }
    }
}

/// The outcome of an eval (`eval --out`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    pub schema_version: u32,
    pub task: Task,
    pub model: String,
    pub base_url: String,
    pub data: String,
    pub data_sha256: String,
    pub fewshot_source: Option<String>,
    pub num_fewshot: usize,
    /// Questions scored.
    pub n: usize,
    /// Questions whose every attempt failed (scored as wrong).
    pub n_failed: usize,
    /// Fraction answered correctly by the task's rule, and its standard error
    /// (sqrt(p(1 − p)/(n − 1))).
    pub score: f64,
    pub stderr: f64,
    pub score_name: String,
    /// GSM8K's flexible rule (the last number), beside the strict one.
    pub flexible_score: Option<f64>,
    pub flexible_stderr: Option<f64>,
    /// Answers from which the rule extracted nothing.
    pub n_unextracted: usize,
    /// Answers cut at `max_tokens` (`finish_reason: length`).
    pub n_truncated: usize,
    pub threshold: Option<Threshold>,
    /// `score ≥ threshold` and no question failed; `None` without a threshold.
    pub passed: Option<bool>,
    pub concurrency: usize,
    pub max_tokens: u32,
    pub temperature: f64,
    pub seed: u64,
    /// Calls made, retries included.
    pub calls: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub started_unix: f64,
    pub duration_s: f64,
    pub servebench_version: String,
}

/// One question, as asked and answered (`eval --samples-out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleRecord {
    pub index: usize,
    pub id: String,
    pub line: usize,
    pub target: String,
    pub messages: Vec<Message>,
    pub response: Option<String>,
    pub reasoning: Option<String>,
    pub extracted: Option<String>,
    pub correct: bool,
    pub flexible: Option<String>,
    pub flexible_correct: Option<bool>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub attempts: u32,
    pub latency_ms: f64,
    /// The last error, when every attempt failed.
    pub error: Option<String>,
}

/// Mean and standard error of 0/1 outcomes.
pub fn mean_stderr(hits: &[bool]) -> (f64, f64) {
    let n = hits.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let p = hits.iter().filter(|h| **h).count() as f64 / n as f64;
    let se = if n > 1 {
        (p * (1.0 - p) / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    (p, se)
}

/// Runs the eval; `progress(done, total)` is called as questions finish.
pub fn run(
    o: &EvalOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(EvalResult, Vec<SampleRecord>), EvalError> {
    let started = std::time::SystemTime::now();
    let t0 = Instant::now();
    let ep = Endpoint::new(
        &o.base_url,
        o.api_key.clone(),
        o.tls.clone(),
        o.request_timeout,
    )
    .map_err(EvalError::Usage)?;
    let bytes = servebench_core::sys::read_limited(&o.data, servebench_core::sys::limits::DATASET)
        .map_err(|e| EvalError::Data {
            at: o.data.display().to_string(),
            message: e.to_string(),
        })?;
    let mut docs = o.task.load(&o.data, o.seed)?;
    let k = o.num_fewshot.unwrap_or_else(|| o.task.default_fewshot());
    let (shots, fewshot_source) = match &o.fewshot_data {
        Some(p) => {
            let mut s = o.task.load(p, o.seed)?;
            if s.len() < k {
                return Err(EvalError::Usage(format!(
                    "{}: {} examples, {k} few-shot examples asked for",
                    p.display(),
                    s.len()
                )));
            }
            s.truncate(k);
            (s, Some(p.display().to_string()))
        }
        None if k == 0 => (Vec::new(), None),
        None => {
            if docs.len() <= k {
                return Err(EvalError::Usage(format!(
                    "{}: {} questions: not enough to take {k} few-shot examples from (pass --fewshot-data)",
                    o.data.display(),
                    docs.len()
                )));
            }
            let rest = docs.split_off(k);
            let s = std::mem::replace(&mut docs, rest);
            (
                s,
                Some(format!("{} (its first {k}, not scored)", o.data.display())),
            )
        }
    };
    if let Some(l) = o.limit {
        docs.truncate(l);
    }
    // A dead or misconfigured server is found before any question is asked, not scored 0%.
    ep.client()
        .models()
        .map_err(|e| EvalError::Server(e.to_string()))?;
    let total = docs.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let calls = AtomicUsize::new(0);
    let records: Mutex<Vec<Option<SampleRecord>>> = Mutex::new(vec![None; total]);
    std::thread::scope(|s| {
        for _ in 0..o.concurrency.clamp(1, total.max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let r = ask(o, &ep, i, &docs[i], &shots, &calls);
                records.lock().unwrap()[i] = Some(r);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            });
        }
    });
    let records: Vec<SampleRecord> = records
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every question asked"))
        .collect();
    let hits: Vec<bool> = records.iter().map(|r| r.correct).collect();
    let (score, stderr) = mean_stderr(&hits);
    let flexible: Option<Vec<bool>> = records.iter().map(|r| r.flexible_correct).collect();
    let flex = flexible.as_deref().map(mean_stderr);
    let n_failed = records.iter().filter(|r| r.error.is_some()).count();
    // No answer at all measures the server, not the model: no score.
    if total > 0 && n_failed == total {
        return Err(EvalError::AllFailed {
            n: total,
            first: records[0].error.clone().unwrap_or_default(),
        });
    }
    let passed = o
        .threshold
        .as_ref()
        .map(|t| n_failed == 0 && total > 0 && score >= t.value);
    let result = EvalResult {
        schema_version: 1,
        task: o.task,
        model: o.model.clone(),
        base_url: o.base_url.to_string(),
        data: o.data.display().to_string(),
        data_sha256: hex::encode(Sha256::digest(&bytes)),
        fewshot_source,
        num_fewshot: shots.len(),
        n: total,
        n_failed,
        score,
        stderr,
        score_name: o.task.score_name().into(),
        flexible_score: flex.map(|f| f.0),
        flexible_stderr: flex.map(|f| f.1),
        n_unextracted: records
            .iter()
            .filter(|r| r.error.is_none() && r.extracted.is_none())
            .count(),
        n_truncated: records
            .iter()
            .filter(|r| r.finish_reason.as_deref() == Some("length"))
            .count(),
        threshold: o.threshold.clone(),
        passed,
        concurrency: o.concurrency,
        max_tokens: o.max_tokens,
        temperature: o.temperature,
        seed: o.seed,
        calls: calls.load(Ordering::Relaxed),
        prompt_tokens: records.iter().filter_map(|r| r.prompt_tokens).sum(),
        completion_tokens: records.iter().filter_map(|r| r.completion_tokens).sum(),
        started_unix: started
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        duration_s: t0.elapsed().as_secs_f64(),
        servebench_version: env!("CARGO_PKG_VERSION").into(),
    };
    Ok((result, records))
}

/// Asks one question, retrying what is worth retrying (backing off 0.5 s, 1 s, 2 s … 8 s).
fn ask(
    o: &EvalOptions,
    ep: &Endpoint,
    index: usize,
    doc: &Doc,
    shots: &[Doc],
    calls: &AtomicUsize,
) -> SampleRecord {
    let messages = o.task.messages(doc, shots);
    let mut body = json!({
        "model": o.model,
        "messages": messages,
        "max_tokens": o.max_tokens,
        "temperature": o.temperature,
        "stream": false,
    });
    if let (Some(Value::Object(extra)), Some(b)) = (&o.extra_body, body.as_object_mut()) {
        for (k, v) in extra {
            b.insert(k.clone(), v.clone());
        }
    }
    let t0 = Instant::now();
    let mut attempts = 0;
    let mut last: Result<client::Reply, CallError>;
    loop {
        attempts += 1;
        calls.fetch_add(1, Ordering::Relaxed);
        last = client::chat(ep, &body);
        match &last {
            Err(e) if e.retryable() && attempts <= o.retries => {
                let backoff = Duration::from_millis(500 << (attempts - 1).min(4));
                // Waiting out an overloaded or restarting server: nothing to wait on but time.
                std::thread::sleep(backoff);
            }
            _ => break,
        }
    }
    let latency_ms = t0.elapsed().as_secs_f64() * 1e3;
    match last {
        Ok(reply) => {
            // A reasoning model that put everything in its reasoning still answered.
            let text = if reply.content.trim().is_empty() {
                reply.reasoning.clone().unwrap_or_default()
            } else {
                reply.content.clone()
            };
            let s = o.task.score(doc, &text);
            SampleRecord {
                index,
                id: doc.id.clone(),
                line: doc.line,
                target: doc.target.clone(),
                messages,
                response: Some(reply.content),
                reasoning: reply.reasoning,
                extracted: s.extracted,
                correct: s.correct,
                flexible: s.flexible,
                flexible_correct: s.flexible_correct,
                finish_reason: reply.finish_reason,
                prompt_tokens: reply.prompt_tokens,
                completion_tokens: reply.completion_tokens,
                attempts,
                latency_ms,
                error: None,
            }
        }
        Err(e) => SampleRecord {
            index,
            id: doc.id.clone(),
            line: doc.line,
            target: doc.target.clone(),
            messages,
            response: None,
            reasoning: None,
            extracted: None,
            correct: false,
            flexible: None,
            flexible_correct: (o.task == Task::Gsm8k).then_some(false),
            finish_reason: None,
            prompt_tokens: None,
            completion_tokens: None,
            attempts,
            latency_ms,
            error: Some(e.to_string()),
        },
    }
}
