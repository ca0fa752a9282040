//! The server's own `/metrics` over a replay's measured window: its prefix-cache counters at
//! the window's start and end, and its KV-cache usage gauges every second between (a thread of
//! its own, off the I/O threads). Behind a router, the workers' endpoints are scraped with it
//! and read as one server: counters summed over every series, gauges the most used series
//! (InferenceX's rules); a gauges-only endpoint (a decode worker) gives no counters.

use servebench_core::result::{GaugeSample, ServerWindow, UsageStat};
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
    /// Each endpoint with whether its counters count; `None` where none serves `/metrics` (a
    /// 404, a refused scrape).
    pub(crate) fn spawn(
        http: Vec<(servebench_http::Client, bool)>,
        every: Duration,
    ) -> Option<Watch> {
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

/// Every endpoint's samples, each series of endpoint `i > 0` labelled `sb_endpoint="i"` so that
/// no two endpoints' series merge, a gauges-only endpoint's counters (`*_total`) left out;
/// `None` when none answered.
fn scrape(http: &[(servebench_http::Client, bool)]) -> Option<Samples> {
    let mut all = Samples::new();
    let mut answered = false;
    for (i, (h, counters)) in http.iter().enumerate() {
        let Some(r) = h.get("/metrics").ok().filter(|r| r.status == 200) else {
            continue;
        };
        answered = true;
        for (k, v) in server_metrics::parse(&r.text()) {
            let counter = k.split('{').next().is_some_and(|f| f.ends_with("_total"));
            if *counters || !counter {
                all.insert(tagged(k, i), v);
            }
        }
    }
    answered.then_some(all)
}

fn tagged(series: String, endpoint: usize) -> String {
    if endpoint == 0 {
        return series;
    }
    match series.split_once('{') {
        Some((name, labels)) => format!("{name}{{sb_endpoint=\"{endpoint}\",{labels}"),
        None => format!("{series}{{sb_endpoint=\"{endpoint}\"}}"),
    }
}

fn watch(
    http: &[(servebench_http::Client, bool)],
    every: Duration,
    rx: &mpsc::Receiver<Edge>,
) -> Option<ServerWindow> {
    if !matches!(rx.recv(), Ok(Edge::Start)) {
        return None;
    }
    let start = std::time::Instant::now();
    let before = scrape(http)?;
    let mut usage = vec![(0.0, KvUsage::of(&before))];
    let after = loop {
        match rx.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {
                if let Some(s) = scrape(http) {
                    usage.push((start.elapsed().as_secs_f64(), KvUsage::of(&s)));
                }
            }
            Ok(Edge::End) | Err(RecvTimeoutError::Disconnected) => break scrape(http)?,
            Ok(Edge::Start) => {}
        }
    };
    usage.push((start.elapsed().as_secs_f64(), KvUsage::of(&after)));
    Some(window(&before, &after, &usage, every))
}

/// The window's figures from its end scrapes and its usage samples (seconds from the start,
/// gauges).
fn window(
    before: &Samples,
    after: &Samples,
    usage: &[(f64, KvUsage)],
    every: Duration,
) -> ServerWindow {
    let rates = ServerRates::of_samples(&server_metrics::delta(before, after));
    let gauge = |f: fn(&KvUsage) -> Option<f64>| {
        UsageStat::of(&usage.iter().filter_map(|(_, u)| f(u)).collect::<Vec<_>>())
    };
    ServerWindow {
        cache_hit_rate: rates.overall(),
        gpu_cache_hit_rate: rates.gpu(),
        cpu_cache_hit_rate: rates.cpu(),
        gpu_kv_usage: gauge(|u| u.gpu),
        cpu_kv_usage: gauge(|u| u.cpu),
        samples: usage.len() as u64,
        interval_s: every.as_secs_f64(),
        timeline: usage
            .iter()
            .map(|(t, u)| GaugeSample {
                t_s: *t,
                gpu_kv_usage: u.gpu,
                cpu_kv_usage: u.cpu,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_series_stay_apart_and_read_as_one_server() {
        // Two vLLM workers behind a router: hits summed, usage the fuller one's.
        let a = server_metrics::parse(
            "vllm:prefix_cache_hits_total{engine=\"0\"} 30\nvllm:prefix_cache_queries_total{engine=\"0\"} 100\nvllm:kv_cache_usage_perc{engine=\"0\"} 0.2\n",
        );
        let b = server_metrics::parse(
            "vllm:prefix_cache_hits_total{engine=\"0\"} 50\nvllm:prefix_cache_queries_total{engine=\"0\"} 100\nvllm:kv_cache_usage_perc{engine=\"0\"} 0.7\n",
        );
        let mut both = Samples::new();
        for (i, s) in [a, b].into_iter().enumerate() {
            both.extend(s.into_iter().map(|(k, v)| (tagged(k, i), v)));
        }
        assert_eq!(both.len(), 6);
        assert!(both.contains_key("vllm:kv_cache_usage_perc{sb_endpoint=\"1\",engine=\"0\"}"));
        let rates = ServerRates::of_samples(&both);
        assert_eq!(rates.gpu(), Some(0.4));
        assert_eq!(KvUsage::of(&both).gpu, Some(0.7));
        assert_eq!(tagged("up".into(), 2), "up{sb_endpoint=\"2\"}");
    }

    #[test]
    fn a_gauges_only_endpoint_adds_its_kv_use_not_its_counters() {
        // A prefill worker and a decode worker on loopback; the decode one's counters would say
        // every prompt token was cached (its KV came from the prefill side).
        let serve = |text: &'static str| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", l.local_addr().unwrap());
            std::thread::spawn(move || {
                for s in l.incoming() {
                    use std::io::{Read, Write};
                    let mut s = s.unwrap();
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                        text.len()
                    );
                }
            });
            servebench_http::Client::new(
                servebench_core::endpoint::BaseUrl::parse(&url).unwrap(),
                Default::default(),
            )
            .unwrap()
        };
        let prefill = serve("vllm:prefix_cache_hits_total 25\nvllm:prefix_cache_queries_total 100\nvllm:kv_cache_usage_perc 0.1\n");
        let decode = serve("vllm:prefix_cache_hits_total 100\nvllm:prefix_cache_queries_total 100\nvllm:kv_cache_usage_perc 0.6\n");
        let s = scrape(&[(prefill, true), (decode, false)]).unwrap();
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!(ServerRates::of_samples(&s).gpu(), Some(0.25));
        assert_eq!(KvUsage::of(&s).gpu, Some(0.6));
    }
}
