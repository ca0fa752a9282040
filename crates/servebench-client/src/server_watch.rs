//! The server's own `/metrics` over a replay's measured window: its prefix-cache counters at
//! the window's start and end, and its KV-cache usage gauges every second between (a thread of
//! its own, off the I/O threads).

use servebench_core::result::{ServerWindow, UsageStat};
use servebench_core::server_metrics::{self, KvUsage, Samples, ServerRates};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// The window's edges, as the replay reaches them.
pub(crate) enum Edge {
    Start,
    End,
}

pub(crate) struct Watch {
    tx: mpsc::Sender<Edge>,
    thread: std::thread::JoinHandle<Option<ServerWindow>>,
}

impl Watch {
    /// `None` where the server serves no `/metrics` (a 404, a refused scrape).
    pub(crate) fn spawn(http: servebench_http::Client, every: Duration) -> Option<Watch> {
        scrape(&http)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sb-server-metrics".into())
            .spawn(move || watch(&http, every, &rx))
            .expect("spawn the /metrics watcher");
        Some(Watch { tx, thread })
    }

    pub(crate) fn edge(&self, e: Edge) {
        let _ = self.tx.send(e);
    }

    /// What the window showed; `None` if the window never started or a scrape at its ends
    /// failed.
    pub(crate) fn finish(self) -> Option<ServerWindow> {
        drop(self.tx);
        self.thread.join().ok().flatten()
    }
}

fn scrape(http: &servebench_http::Client) -> Option<Samples> {
    let r = http.get("/metrics").ok()?;
    (r.status == 200).then(|| server_metrics::parse(&r.text()))
}

fn watch(
    http: &servebench_http::Client,
    every: Duration,
    rx: &mpsc::Receiver<Edge>,
) -> Option<ServerWindow> {
    if !matches!(rx.recv(), Ok(Edge::Start)) {
        return None;
    }
    let before = scrape(http)?;
    let mut usage = vec![KvUsage::of(&before)];
    let after = loop {
        match rx.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {
                if let Some(s) = scrape(http) {
                    usage.push(KvUsage::of(&s));
                }
            }
            Ok(Edge::End) | Err(RecvTimeoutError::Disconnected) => break scrape(http)?,
            Ok(Edge::Start) => {}
        }
    };
    usage.push(KvUsage::of(&after));
    Some(window(&before, &after, &usage, every))
}

/// The window's figures from its end scrapes and its usage samples.
fn window(before: &Samples, after: &Samples, usage: &[KvUsage], every: Duration) -> ServerWindow {
    let rates = ServerRates::of_samples(&server_metrics::delta(before, after));
    let gauge = |f: fn(&KvUsage) -> Option<f64>| {
        UsageStat::of(&usage.iter().filter_map(f).collect::<Vec<_>>())
    };
    ServerWindow {
        cache_hit_rate: rates.overall(),
        gpu_cache_hit_rate: rates.gpu(),
        cpu_cache_hit_rate: rates.cpu(),
        gpu_kv_usage: gauge(|u| u.gpu),
        cpu_kv_usage: gauge(|u| u.cpu),
        samples: usage.len() as u64,
        interval_s: every.as_secs_f64(),
    }
}
