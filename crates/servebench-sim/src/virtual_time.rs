//! A whole benchmark point simulated in virtual time, without HTTP: InferenceX's workload (input
//! and output lengths uniform in [floor(r·L), L], closed loop of C clients, warmups first) run
//! through the scheduler and the step-time model. Thousands of points take seconds.

use crate::perf::PerfModel;
use crate::scheduler::{Engine, SchedulerLimits, SchedulerStats, SimOutcome, SimRequest};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use servebench_core::stats::CountDistribution;

#[derive(Debug, Clone)]
pub struct VirtualPoint {
    pub concurrency: usize,
    pub requests: usize,
    pub warmups: usize,
    pub isl: u64,
    pub osl: u64,
    pub range_ratio: f64,
    pub seed: u64,
    /// Keep every inter-token gap (for ITL percentiles); costs 4 bytes per token.
    pub record_gaps: bool,
    /// Keep the measured requests' inter-token gaps as one histogram ([`VirtualResult::itl_us`])
    /// instead of per request: the same ITL percentiles for a fraction of the work.
    pub itl_histogram: bool,
}

impl VirtualPoint {
    /// InferenceX's defaults for concurrency `c`: 10 × C requests after 2 × C warmups, ratio 0.8.
    pub fn inferencex(c: usize, isl: u64, osl: u64) -> VirtualPoint {
        VirtualPoint {
            concurrency: c,
            requests: 10 * c,
            warmups: 2 * c,
            isl,
            osl,
            range_ratio: 0.8,
            seed: 0,
            record_gaps: false,
            itl_histogram: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct VirtualResult {
    /// Measured requests, in submission order.
    pub outcomes: Vec<SimOutcome>,
    pub start_s: f64,
    pub end_s: f64,
    pub stats: SchedulerStats,
    /// Energy one GPU drew over the measured window (J): simulated board power while stepping,
    /// idle power in between.
    pub energy_per_gpu_j: f64,
    /// The measured requests' inter-token gaps (µs), with [`VirtualPoint::itl_histogram`].
    pub itl_us: Option<CountDistribution>,
}

impl VirtualResult {
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// Average simulated board power of one GPU over the window, W.
    pub fn avg_power_per_gpu_w(&self) -> f64 {
        self.energy_per_gpu_j / self.duration_s()
    }

    /// Joules per output token, all GPUs of the deployment together.
    pub fn joules_per_output_token(&self, gpus: u32) -> f64 {
        self.energy_per_gpu_j * gpus as f64 / self.output_tokens().max(1) as f64
    }

    /// Requests served (not refused).
    pub fn served(&self) -> impl Iterator<Item = &SimOutcome> {
        self.outcomes.iter().filter(|o| !o.rejected)
    }

    pub fn output_tokens(&self) -> u64 {
        self.served().map(|o| o.output_tokens).sum()
    }

    pub fn input_tokens(&self) -> u64 {
        self.served().map(|o| o.prompt_tokens).sum()
    }

    /// Output tokens per second over the window.
    pub fn output_throughput(&self) -> f64 {
        self.output_tokens() as f64 / self.duration_s()
    }

    /// (Input + output) tokens per second per GPU, InferenceX's `tput_per_gpu`.
    pub fn tput_per_gpu(&self, gpus: u32) -> f64 {
        (self.input_tokens() + self.output_tokens()) as f64 / self.duration_s() / gpus as f64
    }

    /// TPOT of each request with more than one output token, ms.
    pub fn tpots_ms(&self) -> Vec<f64> {
        self.served()
            .filter(|o| o.output_tokens > 1)
            .map(|o| (o.last_token_s - o.first_token_s) * 1e3 / (o.output_tokens - 1) as f64)
            .collect()
    }

    pub fn ttfts_ms(&self) -> Vec<f64> {
        self.served()
            .map(|o| (o.first_token_s - o.arrival_s) * 1e3)
            .collect()
    }

    /// Interactivity at the median TPOT, tok/s/user.
    pub fn median_interactivity(&self) -> f64 {
        let mut t = self.tpots_ms();
        t.sort_by(|a, b| a.total_cmp(b));
        let n = t.len();
        if n == 0 {
            return 0.0;
        }
        let med = if n % 2 == 1 {
            t[n / 2]
        } else {
            (t[n / 2 - 1] + t[n / 2]) / 2.0
        };
        1000.0 / med
    }
}

pub(crate) fn lengths(p: &VirtualPoint) -> Vec<(u64, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let lo = |l: u64| ((l as f64 * p.range_ratio).floor() as u64).clamp(1, l.max(1));
    let n = p.requests + p.warmups;
    let ins: Vec<u64> = (0..n)
        .map(|_| rng.random_range(lo(p.isl)..=p.isl.max(1)))
        .collect();
    let outs: Vec<u64> = (0..n)
        .map(|_| rng.random_range(lo(p.osl)..=p.osl.max(1)))
        .collect();
    ins.into_iter().zip(outs).collect()
}

/// Run `reqs` through `engine` as a closed loop of `c` clients starting now; returns the ids.
fn closed_loop(engine: &mut Engine<'_>, c: usize, reqs: &[(u64, u64)]) -> Vec<usize> {
    let mut ids = Vec::with_capacity(reqs.len());
    let mut next = 0;
    let submit = |engine: &mut Engine<'_>, next: &mut usize, ids: &mut Vec<usize>| {
        let (i, o) = reqs[*next];
        ids.push(engine.submit(SimRequest {
            arrival_s: engine.now_s,
            prompt_tokens: i,
            output_tokens: o,
            prefix: None,
        }));
        *next += 1;
    };
    while next < reqs.len().min(c) {
        submit(engine, &mut next, &mut ids);
    }
    while engine.has_work() {
        // Nothing arrives from outside between finishes: decode runs may go in one go.
        if engine.fast_decode(f64::INFINITY) > 0 {
            continue;
        }
        let done = engine.step();
        for _ in done {
            if next < reqs.len() {
                submit(engine, &mut next, &mut ids);
            }
        }
    }
    ids
}

/// Simulate one benchmark point. A pipelined worker holds a batch per stage: it runs as that
/// many engines behind one router.
pub fn simulate(perf: &PerfModel, p: &VirtualPoint) -> VirtualResult {
    if perf.pipelines() > 1 {
        let one = crate::disagg::Pool { perf, workers: 1 };
        return crate::disagg::simulate_disagg(
            &crate::disagg::Disagg {
                prefill: one,
                decode: crate::disagg::Pool { workers: 0, ..one },
                link: crate::disagg::KvLink {
                    bytes_per_s: f64::INFINITY,
                    latency_s: 0.0,
                },
            },
            p,
        );
    }
    simulate_with(perf, SchedulerLimits::from_perf(perf), p)
}

/// [`simulate`] with explicit scheduler limits (tests shrink the KV cache with it).
pub fn simulate_with(perf: &PerfModel, limits: SchedulerLimits, p: &VirtualPoint) -> VirtualResult {
    let reqs = lengths(p);
    let (measured, warm) = reqs.split_at(p.requests);
    let gaps = Gaps {
        per_request: p.record_gaps,
        histogram: p.itl_histogram,
    };
    run(perf, limits, p.concurrency, warm, measured, gaps)
}

/// A closed loop of `concurrency` clients over given (input, output) lengths: `warmups` first,
/// then the measured `requests` (to replay exactly what a real client sent).
pub fn simulate_lengths(
    perf: &PerfModel,
    limits: SchedulerLimits,
    concurrency: usize,
    warmups: &[(u64, u64)],
    requests: &[(u64, u64)],
) -> VirtualResult {
    run(
        perf,
        limits,
        concurrency,
        warmups,
        requests,
        Gaps::default(),
    )
}

/// Which inter-token gaps a run keeps: each request's, and one histogram of the measured ones.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gaps {
    pub per_request: bool,
    pub histogram: bool,
}

impl Gaps {
    /// An engine keeping these gaps.
    pub(crate) fn engine<'a>(self, perf: &'a PerfModel, limits: SchedulerLimits) -> Engine<'a> {
        let mut e = Engine::new(perf, limits, self.per_request);
        if self.histogram {
            e.keep_itl_histogram();
        }
        e
    }
}

fn run(
    perf: &PerfModel,
    limits: SchedulerLimits,
    concurrency: usize,
    warmups: &[(u64, u64)],
    requests: &[(u64, u64)],
    gaps: Gaps,
) -> VirtualResult {
    let mut engine = gaps.engine(perf, limits);
    let c = concurrency.max(1);
    closed_loop(&mut engine, c, warmups);
    // The warmups are all done: only measured requests' gaps from here.
    engine.take_itl();
    let start_s = engine.now_s;
    let (busy0, energy0) = (engine.stats.busy_s, engine.stats.busy_energy_j);
    let ids = closed_loop(&mut engine, c, requests);
    let end_s = engine.now_s;
    let busy = engine.stats.busy_s - busy0;
    let energy_per_gpu_j = engine.stats.busy_energy_j - energy0
        + perf.idle_power_w() * (end_s - start_s - busy).max(0.0);
    let outcomes = ids.iter().map(|&i| engine.take_outcome(i)).collect();
    VirtualResult {
        outcomes,
        start_s,
        end_s,
        itl_us: engine.take_itl(),
        stats: engine.stats,
        energy_per_gpu_j,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::Deployment;
    use servebench_catalog::{Catalog, Precision};

    /// Decode runs in one go ([`Engine::fast_decode`]) change nothing: outcomes, every gap and
    /// every counter equal stepping one step at a time, on each attention kind, with no-evict
    /// admission (TensorRT-LLM) and with a KV cache small enough to preempt.
    #[test]
    fn fast_decode_runs_are_exactly_the_steps() {
        let cases = [
            ("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8, 64, None),
            (
                "b200",
                "deepseek-r1-0528",
                "sglang",
                Precision::Fp4,
                8,
                32,
                None,
            ),
            (
                "b200",
                "qwen3.5-397b-a17b",
                "sglang",
                Precision::Fp4,
                2,
                48,
                None,
            ),
            (
                "b300",
                "deepseek-v4-pro",
                "sglang",
                Precision::Fp4,
                8,
                16,
                None,
            ),
            ("mi355x", "minimax-m3", "vllm", Precision::Fp8, 4, 24, None),
            ("h200", "gpt-oss-120b", "trt", Precision::Fp4, 1, 128, None),
            (
                "h200",
                "llama-3.3-70b",
                "vllm",
                Precision::Fp8,
                8,
                64,
                Some(20_000),
            ),
        ];
        for (gpu, model, engine, p, tp, c, kv) in cases {
            let m = perf(gpu, model, engine, p, tp);
            let mut limits = SchedulerLimits::from_perf(&m);
            if let Some(kv) = kv {
                limits.kv_capacity_tokens = kv;
            }
            let slow_limits = SchedulerLimits {
                fast_decode: false,
                ..limits.clone()
            };
            let vp = VirtualPoint {
                record_gaps: true,
                ..VirtualPoint::inferencex(c, 2048, 256)
            };
            let (fast, slow) = (
                simulate_with(&m, limits, &vp),
                simulate_with(&m, slow_limits, &vp),
            );
            assert_eq!(fast.outcomes, slow.outcomes, "{model} on {gpu}");
            assert_eq!(fast.stats, slow.stats, "{model} on {gpu}");
            assert_eq!(fast.energy_per_gpu_j, slow.energy_per_gpu_j);
            if kv.is_some() {
                assert!(slow.stats.preemptions > 0, "the small cache preempts");
            }
        }
    }

    fn perf(accel: &str, model: &str, engine: &str, p: Precision, tp: u32) -> PerfModel {
        let c = Catalog::builtin().unwrap();
        PerfModel::new(Deployment::from_catalog(&c, accel, model, engine, p, tp).unwrap()).unwrap()
    }

    /// The measured requests' gaps kept as one histogram are exactly the per-request gaps
    /// gathered: on one engine (decode runs in one go, a small cache that preempts) and on a
    /// disaggregated deployment with aggregated and separate decode workers.
    #[test]
    fn an_itl_histogram_is_the_per_request_gaps_gathered() {
        let gathered = |r: &VirtualResult| {
            let mut d = CountDistribution::new();
            for o in &r.outcomes {
                d.extend(&o.gaps_us);
            }
            (d.len(), d.summary(1.0))
        };
        let kept = |r: &VirtualResult| {
            let d = r.itl_us.as_ref().expect("a histogram");
            assert!(r.outcomes.iter().all(|o| o.gaps_us.is_empty()));
            (d.len(), d.summary(1.0))
        };
        let each = VirtualPoint {
            record_gaps: true,
            ..VirtualPoint::inferencex(32, 2048, 256)
        };
        let hist = VirtualPoint {
            itl_histogram: true,
            ..VirtualPoint::inferencex(32, 2048, 256)
        };
        let m = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        for kv in [None, Some(20_000)] {
            let mut limits = SchedulerLimits::from_perf(&m);
            if let Some(kv) = kv {
                limits.kv_capacity_tokens = kv;
            }
            let (a, b) = (
                simulate_with(&m, limits.clone(), &each),
                simulate_with(&m, limits, &hist),
            );
            assert!(gathered(&a).0 > 0);
            assert_eq!(gathered(&a), kept(&b), "kv {kv:?}");
        }
        let p4 = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 4);
        let link = crate::disagg::KvLink {
            bytes_per_s: 50e9,
            latency_s: 0.001,
        };
        for decode_workers in [0, 2] {
            let d = crate::disagg::Disagg {
                prefill: crate::disagg::Pool {
                    perf: &p4,
                    workers: 2,
                },
                decode: crate::disagg::Pool {
                    perf: &p4,
                    workers: decode_workers,
                },
                link,
            };
            let (a, b) = (
                crate::disagg::simulate_disagg(&d, &each),
                crate::disagg::simulate_disagg(&d, &hist),
            );
            assert_eq!(gathered(&a), kept(&b), "{decode_workers} decode workers");
        }
    }

    #[test]
    fn aborted_requests_free_their_blocks_and_finished_ones_are_retired() {
        let m = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        let mut e = Engine::new(&m, SchedulerLimits::from_perf(&m), false);
        let req = |o| SimRequest {
            arrival_s: 0.0,
            prompt_tokens: 1000,
            output_tokens: o,
            prefix: None,
        };
        let (a, b, c) = (e.submit(req(2)), e.submit(req(1000)), e.submit(req(1000)));
        let mut emitted = Vec::new();
        e.step_emitting(|x| emitted.push(x));
        assert_eq!(
            emitted,
            vec![(a, 1), (b, 1), (c, 1)],
            "each prefill samples a token"
        );
        assert_eq!(e.load(), (3, 0));
        e.abort(b);
        assert!(e.outcome(b).aborted && e.outcome(b).done);
        assert_eq!(e.load(), (2, 0));
        let two = e.kv_blocks_used();
        assert_eq!(two, 2 * 1001u64.div_ceil(16), "a's and c's blocks only");
        let finished = e.step();
        assert_eq!(finished, vec![a]);
        // a and b are done: both retired; c (running) keeps its outcome.
        e.retire_finished();
        assert_eq!(e.outcome(c).output_tokens, 1000);
        assert_eq!(e.load(), (1, 0));
        e.abort(c);
        // Every block is free again.
        assert!(!e.has_work());
        assert_eq!(e.kv_blocks_used(), 0);
        e.retire_finished();
        let d = e.submit(req(3));
        assert_eq!(d, 3, "ids keep counting after retirement");
        while e.has_work() {
            e.step();
        }
        assert!(e.outcome(d).done && !e.outcome(d).aborted);
    }

    #[test]
    fn every_request_completes_exactly_and_in_fcfs_order() {
        let m = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        let mut p = VirtualPoint::inferencex(16, 1024, 128);
        p.record_gaps = true;
        let r = simulate(&m, &p);
        assert_eq!(r.outcomes.len(), 160);
        for o in &r.outcomes {
            assert!(o.first_token_s > o.arrival_s && o.last_token_s >= o.first_token_s);
            assert_eq!(o.gaps_us.len() as u64, o.output_tokens - 1);
            assert!(
                (102..=128).contains(&o.output_tokens),
                "floor(0.8 × 128) = 102"
            );
        }
        let order = &r.stats.admission_order;
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "admitted in arrival order"
        );
        assert!(r.stats.max_running <= 16);
        assert!(r.stats.max_blocks_used <= r.stats.blocks_total);
        assert_eq!(r.stats.preemptions, 0);
    }

    #[test]
    fn a_full_kv_cache_preempts_but_never_overflows_or_starves() {
        let m = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        let mut limits = SchedulerLimits::from_perf(&m);
        // Room for about 6 sequences of ~1.1k tokens while 32 want to run.
        limits.kv_capacity_tokens = 7_000;
        let p = VirtualPoint::inferencex(32, 1024, 256);
        let r = simulate_with(&m, limits, &p);
        assert_eq!(r.outcomes.len(), 320);
        assert!(
            r.outcomes.iter().all(|o| o.last_token_s > 0.0),
            "no request starved"
        );
        assert!(r.stats.max_blocks_used <= r.stats.blocks_total);
        assert!(r.stats.max_blocks_used * 16 <= 7_000);
        assert!(
            r.stats.preemptions > 0 || r.stats.max_running < 32,
            "the cache limited the batch"
        );
    }

    #[test]
    fn guaranteed_no_evict_admits_whole_requests_and_never_preempts() {
        let m = perf("h200", "llama-3.3-70b", "trt", Precision::Fp8, 8);
        let mut limits = SchedulerLimits::from_perf(&m);
        assert!(limits.no_evict, "TensorRT-LLM's default policy");
        limits.kv_capacity_tokens = 7_000;
        let p = VirtualPoint::inferencex(32, 1024, 256);
        let r = simulate_with(&m, limits.clone(), &p);
        assert!(r.outcomes.iter().all(|o| o.last_token_s > 0.0));
        assert_eq!(r.stats.preemptions, 0);
        // 7,000 tokens hold 5 whole requests of at most 1,024 + 256 tokens (in blocks of 32).
        let per_request = (1024u64 + 256 + 1).div_ceil(32);
        assert!(r.stats.max_running <= 7_000 / 32 / (per_request - 8));
        assert!(r.stats.max_blocks_used <= r.stats.blocks_total);
        // The same cache admitting optimistically preempts, and its requests decode slower.
        limits.no_evict = false;
        let o = simulate_with(&m, limits, &p);
        assert!(o.stats.preemptions > 0);
        assert!(r.median_interactivity() > o.median_interactivity());
    }

    #[test]
    fn speculative_decoding_emits_several_tokens_per_step() {
        let base = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        let mut dep = base.dep.clone();
        dep.spec = Some("3:2.5".parse().unwrap());
        let spec = PerfModel::new(dep).unwrap();
        let mut p = VirtualPoint::inferencex(1, 1024, 256);
        p.record_gaps = true;
        let (a, b) = (simulate(&base, &p), simulate(&spec, &p));
        let ratio = b.median_interactivity() / a.median_interactivity();
        // Memory-bound decode: verifying 4 tokens costs about as much as decoding 1, and 2.5
        // are accepted per step.
        assert!((2.0..2.5).contains(&ratio), "interactivity ×{ratio}");
        for o in &b.outcomes {
            // One gap per step (chunk), not per token: about output / 2.5 chunks.
            let chunks = o.gaps_us.len() as f64 + 1.0;
            let want = (o.output_tokens as f64 - 1.0) / 2.5 + 1.0;
            assert!(
                (chunks - want).abs() <= 1.5,
                "{chunks} chunks for {} tokens",
                o.output_tokens
            );
        }
        assert!("0:1".parse::<crate::perf::SpecDecode>().is_err());
        assert!("3:4.5".parse::<crate::perf::SpecDecode>().is_err());
    }

    #[test]
    fn requests_that_can_never_fit_are_refused_not_spun_on() {
        let m = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        let mut limits = SchedulerLimits::from_perf(&m);
        limits.kv_capacity_tokens = 640; // smaller than any prompt of [819, 1024] tokens
        let r = simulate_with(&m, limits, &VirtualPoint::inferencex(4, 1024, 16));
        assert_eq!(r.outcomes.len(), 40);
        assert!(r
            .outcomes
            .iter()
            .all(|o| o.rejected && o.last_token_s == 0.0));
    }

    #[test]
    fn more_concurrency_more_throughput_per_gpu_less_interactivity() {
        let m = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8);
        let mut last = (0.0, f64::INFINITY);
        for c in [1, 4, 16, 64, 256] {
            let r = simulate(&m, &VirtualPoint::inferencex(c, 1024, 1024));
            let (tput, intv) = (r.tput_per_gpu(8), r.median_interactivity());
            assert!(tput > last.0, "c={c}: {tput} tok/s/gpu after {}", last.0);
            assert!(intv < last.1, "c={c}: {intv} tok/s/user after {}", last.1);
            last = (tput, intv);
        }
    }

    #[test]
    fn bigger_tp_more_interactivity_at_low_concurrency() {
        let mut last = 0.0;
        for tp in [2, 4, 8] {
            let m = perf("h200", "llama-3.3-70b", "vllm", Precision::Fp8, tp);
            let i = simulate(&m, &VirtualPoint::inferencex(1, 1024, 256)).median_interactivity();
            assert!(i > last, "tp {tp}: {i} after {last}");
            last = i;
        }
    }
}
