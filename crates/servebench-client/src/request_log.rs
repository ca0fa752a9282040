//! `--requests-out`: one JSON line per request.
//!
//! A replay streams its measured requests' lines while it runs, so a finished request's
//! inter-token gaps leave memory once written and memory follows the sessions in flight, not
//! the trace's length. Each I/O thread writes its lines into a buffer of its own (a line costs
//! it a microsecond or two) and hands full buffers to a writer thread ([`LogWriter`]), which
//! alone makes system calls: the I/O threads never wait on the file or on another thread's
//! allocations. Warmup lines, and a fixed-dataset point's lines (written once the re-tokenizer
//! has counted the outputs they report), are written after the run.

use crate::record::RequestRecord;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use std::io::Write;
use std::sync::{mpsc, Arc, Mutex};

/// Where the lines go; shared by the points of one `bench` run.
pub type RequestLog = Arc<Mutex<dyn Write + Send>>;

/// A thread's buffer goes to the writer once it holds this much.
const HAND_OVER_BYTES: usize = 256 << 10;

/// One request's line. Times are milliseconds from the benchmark start (null: never happened).
#[derive(Serialize)]
struct Line<'a> {
    concurrency: Option<usize>,
    index: u32,
    warmup: bool,
    ok: bool,
    error_kind: Option<&'static str>,
    http_status: Option<u16>,
    error: Option<&'a str>,
    scheduled_ms: Option<f64>,
    queue_ms: f64,
    connect_ms: f64,
    send_ms: Option<f64>,
    first_byte_ms: Option<f64>,
    first_token_ms: Option<f64>,
    last_token_ms: Option<f64>,
    end_ms: Option<f64>,
    ttft_ms: Option<f64>,
    e2el_ms: Option<f64>,
    tpot_ms: Option<f64>,
    input_len: u32,
    max_tokens: u32,
    usage_prompt_tokens: Option<u32>,
    usage_completion_tokens: Option<u32>,
    server_prompt_ms: Option<f64>,
    server_predicted_ms: Option<f64>,
    server_cached_tokens: Option<u32>,
    session: Option<Session>,
    client_output_tokens: Option<u32>,
    output_tokens: u32,
    output_chunks: u32,
    resent: bool,
    itl_ms: Gaps<'a>,
}

#[derive(Serialize)]
struct Session {
    play: u32,
    agent: u32,
    turn: u32,
    lane: u32,
    blocks: u32,
    hit_blocks: u32,
}

/// Inter-token gaps, microseconds kept, milliseconds written.
struct Gaps<'a>(&'a [u32]);

impl Serialize for Gaps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &g in self.0 {
            seq.serialize_element(&(f64::from(g) / 1000.0))?;
        }
        seq.end()
    }
}

fn line(r: &RequestRecord, concurrency: Option<usize>, start_ns: u64) -> Line<'_> {
    let rel = |ns: u64| (ns != 0).then(|| (ns as f64 - start_ns as f64) / 1e6);
    let ms = |ns: Option<u64>| ns.map(|n| n as f64 / 1e6);
    let out = r.output_tokens();
    let tpot = match (r.ttft_ns(), r.e2el_ns()) {
        (Some(t), Some(e)) if out > 1 && r.ok() => Some((e - t) as f64 / 1e6 / (out - 1) as f64),
        _ => None,
    };
    let f = r.failure.as_ref();
    Line {
        concurrency,
        index: r.index,
        warmup: r.warmup,
        ok: r.ok(),
        error_kind: f.map(|f| f.kind.as_str()),
        http_status: f.map(|f| f.status).filter(|&s| s != 0),
        error: f.map(|f| f.message.as_ref()),
        scheduled_ms: rel(r.sched_ns),
        queue_ms: r.queue_ns as f64 / 1e6,
        connect_ms: r.connect_ns as f64 / 1e6,
        send_ms: rel(r.send_ns),
        first_byte_ms: rel(r.first_byte_ns),
        first_token_ms: rel(r.first_token_ns),
        last_token_ms: rel(r.last_token_ns),
        end_ms: rel(r.end_ns),
        ttft_ms: ms(r.ttft_ns()),
        e2el_ms: ms(r.e2el_ns()),
        tpot_ms: tpot,
        input_len: r.input_len,
        max_tokens: r.max_tokens,
        usage_prompt_tokens: r.usage_prompt,
        usage_completion_tokens: r.usage_completion,
        server_prompt_ms: r.server_prompt_us.map(|u| u as f64 / 1e3),
        server_predicted_ms: r.server_predicted_us.map(|u| u as f64 / 1e3),
        server_cached_tokens: r.server_cached_tokens,
        session: r.turn.map(|t| Session {
            play: t.play,
            agent: t.agent,
            turn: t.turn,
            lane: t.lane,
            blocks: t.blocks,
            hit_blocks: t.hit_blocks,
        }),
        client_output_tokens: r.client_output_tokens,
        output_tokens: out,
        output_chunks: r.content_chunks,
        resent: r.resent,
        itl_ms: Gaps(&r.gaps_us),
    }
}

/// Writes one request's line.
pub fn write_line(
    w: &mut dyn Write,
    r: &RequestRecord,
    concurrency: Option<usize>,
    start_ns: u64,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, &line(r, concurrency, start_ns))?;
    w.write_all(b"\n")
}

/// A thread writing a replay point's lines, in the buffers the I/O threads hand it.
pub(crate) struct LogWriter {
    log: RequestLog,
    tx: mpsc::Sender<Vec<u8>>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl LogWriter {
    pub(crate) fn spawn(log: RequestLog) -> Self {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let out = log.clone();
        let thread = std::thread::Builder::new()
            .name("sb-requests-out".into())
            .spawn(move || {
                for buf in rx {
                    out.lock().expect("requests-out lock").write_all(&buf)?;
                }
                Ok(())
            })
            .expect("spawn the requests-out writer");
        LogWriter { log, tx, thread }
    }

    /// A buffer for one I/O thread.
    pub(crate) fn buffer(&self, concurrency: Option<usize>) -> LogBuffer {
        LogBuffer {
            tx: self.tx.clone(),
            buf: Vec::with_capacity(HAND_OVER_BYTES + 4096),
            concurrency,
            error: None,
        }
    }

    /// Waits for every buffer handed over (every [`LogBuffer`] must be finished), then writes
    /// the warmups' lines and flushes.
    pub(crate) fn finish(
        self,
        warmups: &[RequestRecord],
        concurrency: Option<usize>,
        start_ns: u64,
    ) -> std::io::Result<()> {
        drop(self.tx);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the requests-out writer panicked")))?;
        let mut w = self.log.lock().expect("requests-out lock");
        for r in warmups {
            write_line(&mut *w, r, concurrency, start_ns)?;
        }
        w.flush()
    }
}

/// An I/O thread's lines on their way to the writer.
pub(crate) struct LogBuffer {
    tx: mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
    concurrency: Option<usize>,
    error: Option<String>,
}

impl LogBuffer {
    pub(crate) fn push(&mut self, r: &RequestRecord, start_ns: u64) {
        if let Err(e) = write_line(&mut self.buf, r, self.concurrency, start_ns) {
            self.error.get_or_insert(e.to_string());
        }
        if self.buf.len() >= HAND_OVER_BYTES {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(HAND_OVER_BYTES + 4096));
        // A writer that stopped on an error has dropped its receiver; `finish` reports it.
        let _ = self.tx.send(full);
    }

    /// Hands over what is left; an error serialising a line, if any.
    pub(crate) fn finish(mut self) -> Option<String> {
        if !self.buf.is_empty() {
            self.hand_over();
        }
        self.error
    }
}
