//! The router of a disaggregated deployment (`servebench sim --role router`): the OpenAI front
//! end in front of prefill and decode workers, each a `servebench sim --role prefill|decode`
//! server (or a real engine speaking the same protocol).
//!
//! As Dynamo's frontend does, the router counts the prompt with its tokenizer and sends the
//! workers token ids, so every worker sees the length the client sent. For each request it
//! 1. asks the least-loaded prefill worker for the prompt's cache (`max_tokens` 1, not streamed,
//!    `kv_transfer_params: {"do_remote_decode": true}`, vLLM's P/D protocol);
//! 2. hands the answer's `kv_transfer_params` to the least-loaded decode worker with the whole
//!    request, streamed;
//! 3. relays each token the decode worker streams as it arrives.
//!
//! Without decode workers the deployment is aggregated: each request goes whole, streamed, to
//! the least-loaded worker. "Least-loaded" is the fewest requests the router has in flight
//! there, as the virtual-time router ([`crate::disagg`]) counts running and waiting requests.
//! A worker that fails a request ends the client's response early (an engine failure); its
//! count of failures is in `GET /sim/stats`.

use crate::engine::{ChunkPlan, ChunkSchedule, Engine, GenRequest};
use serde_json::{json, Value};
use servebench_core::endpoint::BaseUrl;
use servebench_http::Client;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::mpsc as chunks;

/// One worker behind the router.
struct Upstream {
    client: Client,
    in_flight: AtomicUsize,
    sent: AtomicU64,
    failed: AtomicU64,
}

impl Upstream {
    fn state(&self) -> Value {
        json!({
            "url": self.client.base().to_string(),
            "in_flight": self.in_flight.load(Relaxed),
            "sent": self.sent.load(Relaxed),
            "failed": self.failed.load(Relaxed),
        })
    }
}

/// A request on a worker, counted while it is there.
struct OnWorker<'a>(&'a Upstream);

impl<'a> OnWorker<'a> {
    fn enter(u: &'a Upstream) -> OnWorker<'a> {
        u.in_flight.fetch_add(1, Relaxed);
        u.sent.fetch_add(1, Relaxed);
        OnWorker(u)
    }
}

impl Drop for OnWorker<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

/// Why the router could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("a router needs at least one prefill (or aggregated) worker")]
    NoWorkers,
    #[error(transparent)]
    Http(#[from] servebench_http::HttpError),
}

/// The router, as the timing source of the sim front end: a response's chunks are the tokens
/// the decode worker streams, due when they reach the router.
pub struct Router(Arc<Pools>);

struct Pools {
    prefill: Vec<Upstream>,
    decode: Vec<Upstream>,
}

impl Router {
    /// A router over these workers; `timeout` bounds one request on one worker.
    pub fn new(
        prefill: &[BaseUrl],
        decode: &[BaseUrl],
        timeout: Duration,
    ) -> Result<Router, RouterError> {
        if prefill.is_empty() {
            return Err(RouterError::NoWorkers);
        }
        let pool = |urls: &[BaseUrl]| -> Result<Vec<Upstream>, RouterError> {
            urls.iter()
                .map(|u| {
                    Ok(Upstream {
                        client: Client::local(u.clone(), timeout)?,
                        in_flight: AtomicUsize::new(0),
                        sent: AtomicU64::new(0),
                        failed: AtomicU64::new(0),
                    })
                })
                .collect()
        };
        Ok(Router(Arc::new(Pools {
            prefill: pool(prefill)?,
            decode: pool(decode)?,
        })))
    }
}

impl Pools {
    /// The worker with the fewest requests in flight (the first on ties).
    fn least_loaded(pool: &[Upstream]) -> &Upstream {
        pool.iter()
            .min_by_key(|u| u.in_flight.load(Relaxed))
            .expect("a pool has workers")
    }

    /// Serves one request on the workers, sending its tokens to `out` as they arrive; stops
    /// early when `cancel` is set (the client went away) or a worker fails.
    fn serve(&self, req: GenRequest, out: chunks::UnboundedSender<ChunkPlan>, cancel: &AtomicBool) {
        let prompt = worker_prompt(&req);
        let mut body = WorkerRequest {
            prompt: &prompt,
            max_tokens: req.output_tokens,
            ignore_eos: true,
            stream: true,
            kv_transfer_params: None,
        };
        if !self.decode.is_empty() {
            let Some(params) = self.prefill(&body) else {
                return;
            };
            body.kv_transfer_params = Some(params);
        }
        let pool = if self.decode.is_empty() {
            &self.prefill
        } else {
            &self.decode
        };
        let w = OnWorker::enter(Self::least_loaded(pool));
        let bytes = serde_json::to_vec(&body).expect("serializes");
        let mut received = 0u32;
        let r = w.0.client.post_json_lines(
            "/v1/completions",
            &bytes,
            |status| status == 200,
            |line| {
                if cancel.load(Relaxed) {
                    return false;
                }
                match event_tokens(line) {
                    Event::Tokens(0) => true,
                    Event::Tokens(n) => {
                        received += n;
                        let c = ChunkPlan {
                            due: Instant::now(),
                            tokens: n,
                        };
                        out.send(c).is_ok()
                    }
                    Event::Done | Event::Failed => false,
                }
            },
        );
        if (r.is_err() || received < req.output_tokens) && !cancel.load(Relaxed) {
            w.0.failed.fetch_add(1, Relaxed);
        }
    }

    /// The prompt of `body` prefilled on the least-loaded prefill worker: the
    /// `kv_transfer_params` of its answer, `None` if it failed.
    fn prefill(&self, body: &WorkerRequest<'_>) -> Option<Value> {
        let p = WorkerRequest {
            max_tokens: 1,
            stream: false,
            kv_transfer_params: Some(json!({"do_remote_decode": true})),
            ..*body
        };
        let w = OnWorker::enter(Self::least_loaded(&self.prefill));
        let bytes = serde_json::to_vec(&p).expect("serializes");
        let params =
            w.0.client
                .post_json("/v1/completions", &bytes)
                .ok()
                .filter(|r| r.status == 200)
                .and_then(|r| r.json().ok())
                .map(|mut v| v["kv_transfer_params"].take())
                .filter(Value::is_object);
        if params.is_none() {
            w.0.failed.fetch_add(1, Relaxed);
        }
        params
    }
}

/// Tokens per block of the prompt ids the router forwards ([`worker_prompt`]): a divisor of
/// every engine's KV block size, so that a worker's blocks are whole runs of them.
const ROUTER_BLOCK_TOKENS: u32 = 16;

/// The prompt a worker gets, as token ids with the client prompt's prefix identity: each full
/// block of [`ROUTER_BLOCK_TOKENS`] is ids drawn from that block's chained hash (two prompts
/// share their first k blocks' ids exactly when they share their first k blocks of tokens),
/// the rest 0. The workers count the ids and cache prefixes on them; they never read text.
fn worker_prompt(req: &GenRequest) -> Vec<u32> {
    let mut ids = Vec::with_capacity(req.prompt_tokens as usize);
    for &h in req.prefix.as_deref().unwrap_or_default() {
        // Token ids below 2^16: valid in any vocabulary size a worker might check.
        ids.extend((0..ROUTER_BLOCK_TOKENS).map(|k| (h.rotate_left(4 * k) & 0xffff) as u32));
    }
    ids.resize(req.prompt_tokens as usize, 0);
    ids
}

/// A request to a worker: the prompt as token ids ([`worker_prompt`]).
#[derive(serde::Serialize)]
struct WorkerRequest<'a> {
    prompt: &'a [u32],
    max_tokens: u32,
    ignore_eos: bool,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    kv_transfer_params: Option<Value>,
}

/// What one line of a worker's event stream says.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    /// Output tokens (0 for lines that carry none: blank lines, the role or usage chunk).
    Tokens(u32),
    Done,
    /// An error event or a line that is not an event of a completion.
    Failed,
}

/// The tokens of a completions chunk: the sim's output words each start with a space
/// ([`crate::openai::WORDS`]).
fn event_tokens(line: &[u8]) -> Event {
    let line = line.trim_ascii();
    let Some(data) = line.strip_prefix(b"data:") else {
        return Event::Tokens(0);
    };
    let data = data.trim_ascii();
    if data == b"[DONE]" {
        return Event::Done;
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return Event::Failed;
    };
    if v.get("error").is_some() {
        return Event::Failed;
    }
    let text = v["choices"][0]["text"].as_str().unwrap_or("");
    Event::Tokens(text.bytes().filter(|&b| b == b' ').count() as u32)
}

impl Engine for Router {
    fn name(&self) -> &'static str {
        "router"
    }

    /// The front end hashes each prompt's blocks, which the workers' prompts carry on.
    fn prefix_block_tokens(&self) -> Option<u32> {
        Some(ROUTER_BLOCK_TOKENS)
    }

    fn schedule(&self, req: &GenRequest, _arrival: Instant) -> Box<dyn ChunkSchedule> {
        let (tx, rx) = chunks::unbounded_channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let (pools, req_copy, stop) = (self.0.clone(), req.clone(), cancel.clone());
        // Blocking HTTP to the workers, off the front end's runtime threads.
        let work = move || pools.serve(req_copy, tx, &stop);
        match tokio::runtime::Handle::try_current() {
            Ok(h) => drop(h.spawn_blocking(work)),
            Err(_) => drop(std::thread::spawn(work)),
        }
        Box::new(Relay {
            rx,
            output: req.output_tokens,
            cancel,
        })
    }

    fn state(&self) -> Option<Value> {
        let pool = |p: &[Upstream]| p.iter().map(Upstream::state).collect::<Vec<_>>();
        Some(json!({"prefill": pool(&self.0.prefill), "decode": pool(&self.0.decode)}))
    }
}

/// A response's tokens as the worker streams them to the router.
struct Relay {
    rx: chunks::UnboundedReceiver<ChunkPlan>,
    output: u32,
    cancel: Arc<AtomicBool>,
}

impl ChunkSchedule for Relay {
    fn fault_token(&self) -> u32 {
        self.output / 2
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<ChunkPlan>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // The client went away (or a fault ended the response): stop the worker's stream.
        self.cancel.store(true, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_prompts_share_exactly_the_blocks_the_clients_prompts_share() {
        use crate::prefix_cache::prompt_block_hashes;
        let req = |tokens: &[u32]| GenRequest {
            seq: 0,
            api: servebench_core::Api::Completions,
            stream: true,
            prompt_tokens: tokens.len() as u32,
            output_tokens: 1,
            handoff: crate::engine::Handoff::None,
            prefix: Some(prompt_block_hashes(tokens, 16).into()),
        };
        // 40 tokens: two full blocks and 8 more; the second prompt differs from token 20 on.
        let a: Vec<u32> = (0..40).collect();
        let mut b = a.clone();
        b[20] = 999;
        let (wa, wb) = (worker_prompt(&req(&a)), worker_prompt(&req(&b)));
        assert_eq!((wa.len(), wb.len()), (40, 40));
        assert_eq!(wa[..16], wb[..16], "the first block is shared");
        assert_ne!(wa[16..32], wb[16..32], "the second is not");
        assert!(
            wa[32..].iter().all(|&t| t == 0),
            "a partial block is never cached"
        );
        // And the workers' own block hashes over these ids agree block by block.
        let (ha, hb) = (prompt_block_hashes(&wa, 16), prompt_block_hashes(&wb, 16));
        assert_eq!(ha[0], hb[0]);
        assert_ne!(ha[1], hb[1]);
    }

    #[test]
    fn events_count_the_words_of_a_chunk() {
        let chunk = br#"data: {"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":" the of and","finish_reason":null}]}"#;
        assert_eq!(event_tokens(chunk), Event::Tokens(3));
        assert_eq!(event_tokens(b"data: [DONE]\n"), Event::Done);
        assert_eq!(event_tokens(b"\n"), Event::Tokens(0));
        assert_eq!(
            event_tokens(b"data: {\"error\":{\"message\":\"x\"}}"),
            Event::Failed
        );
        assert_eq!(event_tokens(b"data: {not json"), Event::Failed);
        // The usage chunk carries no choices.
        assert_eq!(
            event_tokens(br#"data: {"choices":[],"usage":{"prompt_tokens":3}}"#),
            Event::Tokens(0)
        );
    }
}
