//! `servebench eval`: an accuracy eval against an OpenAI-compatible server (servebench-eval).

use anyhow::Context as _;
use servebench_core::endpoint::BaseUrl;
use servebench_eval::{EvalOptions, EvalResult, Task, Threshold};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The server, http[s]://HOST:PORT[/PREFIX].
    #[arg(long)]
    base_url: String,
    /// Model name sent in requests (default: the first model the server lists).
    #[arg(long)]
    model: Option<String>,
    /// gsm8k, math500 or gpqa-diamond.
    #[arg(long)]
    task: Task,
    /// The questions: JSONL in the dataset's own layout (GSM8K {"question", "answer"};
    /// MATH-500 {"problem", "answer"}; GPQA {"Question", "Correct Answer", "Incorrect Answer
    /// 1".."3"} or {"question", "choices", "answer"}).
    #[arg(long)]
    data: PathBuf,
    /// Few-shot examples (e.g. GSM8K's train split); default: the first questions of --data,
    /// then not scored.
    #[arg(long)]
    fewshot_data: Option<PathBuf>,
    /// Few-shot examples per question (default: GSM8K 5, the others 0).
    #[arg(long)]
    num_fewshot: Option<usize>,
    /// Only the first N questions.
    #[arg(long)]
    limit: Option<usize>,
    /// Questions in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Attempts after the first for a call that failed in a way worth retrying.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// Seconds a question may take.
    #[arg(long, default_value_t = 1800.0)]
    request_timeout: f64,
    #[arg(long, default_value_t = 4096)]
    max_tokens: u32,
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Orders GPQA's options.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Environment variable holding the API key (sent as a Bearer token, never printed).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// A JSON object whose members are added to every request body.
    #[arg(long)]
    extra_body: Option<String>,
    /// The score below which the eval fails (default: the catalog's for the task and model).
    #[arg(long, value_parser = super::sim::fraction)]
    threshold: Option<f64>,
    /// Write the result JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write one JSON line per question here (prompt, response, extracted answer, verdict).
    #[arg(long)]
    samples_out: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    tls: super::TlsArgs,
}

pub fn run(a: EvalArgs) -> anyhow::Result<ExitCode> {
    // Every flag is checked before the server is asked anything.
    let base_url = BaseUrl::parse(&a.base_url).map_err(|e| anyhow::anyhow!("--base-url {e}"))?;
    anyhow::ensure!(
        servebench_core::redact::is_env_var_name(&a.api_key_env),
        "--api-key-env: expected the NAME of an environment variable that holds the key (e.g. OPENAI_API_KEY), not the key itself"
    );
    anyhow::ensure!(
        a.concurrency >= 1,
        "--concurrency 0: expected at least 1 question in flight"
    );
    let extra_body = a
        .extra_body
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()
        .context("--extra-body: expected a JSON object")?;
    anyhow::ensure!(
        extra_body.as_ref().is_none_or(|v| v.is_object()),
        "--extra-body: expected a JSON object"
    );
    anyhow::ensure!(
        a.request_timeout > 0.0 && a.request_timeout.is_finite(),
        "--request-timeout {}: expected a positive number of seconds",
        a.request_timeout
    );
    anyhow::ensure!(
        a.data.is_file(),
        "--data {}: {}",
        a.data.display(),
        if a.data.exists() {
            "not a regular file"
        } else {
            "no such file"
        }
    );
    let api_key = std::env::var(&a.api_key_env).ok().filter(|k| !k.is_empty());
    let model = match &a.model {
        Some(m) => m.clone(),
        None => first_model(&base_url, api_key.clone(), a.tls.options())?,
    };
    let catalog = servebench_catalog::Catalog::builtin()?;
    let threshold = Threshold::resolve(a.threshold, "--threshold", a.task, &model, &catalog);
    let o = EvalOptions {
        base_url,
        tls: a.tls.options(),
        model,
        task: a.task,
        data: a.data.clone(),
        fewshot_data: a.fewshot_data.clone(),
        num_fewshot: a.num_fewshot,
        limit: a.limit,
        concurrency: a.concurrency,
        retries: a.retries,
        request_timeout: Duration::from_secs_f64(a.request_timeout),
        max_tokens: a.max_tokens,
        temperature: a.temperature,
        seed: a.seed,
        api_key,
        extra_body,
        threshold,
    };
    let quiet = a.no_progress;
    let progress = move |done: usize, total: usize| {
        if !quiet && (done == total || done.is_multiple_of(10)) {
            eprint!("\rservebench eval: {done}/{total} questions");
            if done == total {
                eprintln!();
            }
        }
    };
    let (result, samples) = servebench_eval::run(&o, &progress)?;
    if let Some(p) = &a.samples_out {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        );
        for s in &samples {
            serde_json::to_writer(&mut w, s)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    if let Some(p) = &a.out {
        std::fs::write(p, serde_json::to_string_pretty(&result)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    print!("{}", summary(&result));
    Ok(match result.passed {
        Some(false) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// The first model the server lists at `/v1/models` (asked with the API key).
fn first_model(
    base_url: &BaseUrl,
    api_key: Option<String>,
    tls: servebench_http::TlsOptions,
) -> anyhow::Result<String> {
    let http = servebench_http::Client::new(
        base_url.clone(),
        servebench_http::Options {
            api_key,
            tls,
            ..Default::default()
        },
    )?;
    http.models()?
        .into_iter()
        .next()
        .map(|m| m.id)
        .ok_or_else(|| anyhow::anyhow!("--model not given and {base_url} lists no model"))
}

/// What `eval` prints.
pub fn summary(r: &EvalResult) -> String {
    let mut s = format!(
        "{} on {}: {} questions ({}-shot)\n  {:<32}{:.4} ± {:.4}\n",
        r.task, r.model, r.n, r.num_fewshot, r.score_name, r.score, r.stderr
    );
    if let (Some(f), Some(e)) = (r.flexible_score, r.flexible_stderr) {
        s.push_str(&format!(
            "  {:<32}{f:.4} ± {e:.4}\n",
            "exact_match,flexible-extract"
        ));
    }
    s.push_str(&format!(
        "  no answer found {}, cut at max-tokens {}, failed {}; {} calls in {:.1} s\n",
        r.n_unextracted, r.n_truncated, r.n_failed, r.calls, r.duration_s
    ));
    match (&r.threshold, r.passed) {
        (Some(t), Some(p)) => s.push_str(&format!(
            "  threshold {} ({}): {}\n",
            t.value,
            t.source,
            if p { "PASS" } else { "FAIL" }
        )),
        _ => s.push_str("  no threshold for this task and model (--threshold sets one)\n"),
    }
    s
}
