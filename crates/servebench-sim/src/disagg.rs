//! Disaggregated serving in virtual time: a pool of prefill workers and a pool of decode
//! workers, each worker its own engine (scheduler and step model), a router placing each
//! request on the least-loaded worker of a pool, and the prompt's KV cache sent from the
//! prefill worker to the decode worker over a link.
//!
//! With no decode workers the pool is aggregated: each worker serves whole requests, and the
//! router only spreads them (InferenceX's multi-node aggregated recipes, `decode.num-worker: 0`).
//!
//! A request is prefilled on a prefill worker (which samples its first token), its cache is
//! transferred (`latency + bytes / bandwidth`, the bytes one GPU of the prefill worker holds for
//! it), and a decode worker produces the rest. The client sees the first token when the
//! transfer is done, as it streams from the decode worker. The workload is InferenceX's closed
//! loop ([`VirtualPoint`]); throughput per GPU counts the GPUs of both pools.

use crate::perf::{Deployment, PerfModel};
use crate::scheduler::{Engine, SchedulerLimits, SchedulerStats, SimOutcome, SimRequest};
use crate::virtual_time::{lengths, Gaps, VirtualPoint, VirtualResult};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Identical workers serving one role.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    pub perf: &'a PerfModel,
    pub workers: usize,
}

impl Pool<'_> {
    /// GPUs of the pool: workers × the GPUs of one worker.
    pub fn gpus(&self) -> u32 {
        self.workers as u32 * self.perf.gpus()
    }
}

/// The link KV caches cross from prefill to decode workers, per GPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KvLink {
    pub bytes_per_s: f64,
    pub latency_s: f64,
}

impl KvLink {
    /// The link KV caches cross between the `gpus` GPUs of a deployment of `dep`'s
    /// accelerator: the scale-up domain (NVLink, Infinity Fabric) where they all fit in one,
    /// else the scale-out NIC, per GPU; each transfer also pays the engine's fixed cost.
    pub fn between(dep: &Deployment, gpus: u32) -> Result<KvLink, NoScaleOut> {
        if f64::from(gpus) <= dep.accelerator.scale_up.domain_gpus.value {
            Ok(KvLink::scale_up(dep))
        } else {
            KvLink::scale_out(dep, gpus)
        }
    }

    /// Inside one scale-up domain.
    pub fn scale_up(dep: &Deployment) -> KvLink {
        KvLink {
            bytes_per_s: dep.accelerator.scale_up.gb_per_s_per_gpu.value * 1e9,
            latency_s: dep.engine.kv_transfer_latency_us.value * 1e-6,
        }
    }

    /// Between scale-up domains, over the NIC of each GPU (for a deployment of `gpus` GPUs).
    pub fn scale_out(dep: &Deployment, gpus: u32) -> Result<KvLink, NoScaleOut> {
        let a = &dep.accelerator;
        let out = a.scale_out.as_ref().ok_or_else(|| NoScaleOut {
            gpus,
            domain: a.scale_up.domain_gpus.value,
            accelerator: a.id.clone(),
        })?;
        Ok(KvLink {
            bytes_per_s: out.gbit_per_s_per_gpu.value * 1e9 / 8.0,
            latency_s: dep.engine.kv_transfer_latency_us.value * 1e-6,
        })
    }
}

/// A deployment spans scale-up domains of an accelerator whose scale-out link is unknown.
#[derive(Debug, thiserror::Error)]
#[error("{gpus} GPUs span {domain}-GPU {accelerator} domains and the catalog gives no scale-out bandwidth")]
pub struct NoScaleOut {
    gpus: u32,
    domain: f64,
    accelerator: String,
}

/// A disaggregated deployment.
#[derive(Debug, Clone, Copy)]
pub struct Disagg<'a> {
    pub prefill: Pool<'a>,
    pub decode: Pool<'a>,
    pub link: KvLink,
}

impl Disagg<'_> {
    /// Seconds to move the cache of a `prompt`-token sequence to a decode worker.
    pub fn transfer_s(&self, prompt: u64) -> f64 {
        self.link.latency_s + self.prefill.perf.seq_kv_bytes(prompt as f64) / self.link.bytes_per_s
    }
}

/// Where one client request is.
#[derive(Debug, Clone, Default)]
struct Trip {
    isl: u64,
    osl: u64,
    arrival_s: f64,
    admitted_s: f64,
    first_token_s: f64,
    prefill: (usize, usize),
    decode: Option<(usize, usize)>,
    rejected: bool,
}

/// Seconds as a totally ordered heap key (times are never negative).
fn key(t: f64) -> u64 {
    t.max(0.0).to_bits()
}

struct Run<'a> {
    d: &'a Disagg<'a>,
    prefill: Vec<Engine<'a>>,
    decode: Vec<Engine<'a>>,
    trips: Vec<Trip>,
    /// (prefill worker, engine id) → trip, per worker.
    by_prefill: Vec<std::collections::HashMap<usize, usize>>,
    by_decode: Vec<std::collections::HashMap<usize, usize>>,
    /// Transfers in flight: (done at, trip).
    transfers: BinaryHeap<Reverse<(u64, usize)>>,
}

/// The least-loaded engine (running + waiting; the lowest index on ties).
fn least_loaded(engines: &[Engine<'_>]) -> usize {
    (0..engines.len())
        .min_by_key(|&i| {
            let (r, w) = engines[i].load();
            (r + w, i)
        })
        .expect("a pool has workers")
}

impl<'a> Run<'a> {
    fn new(d: &'a Disagg<'a>, gaps: Gaps, fast_decode: bool) -> Run<'a> {
        let engines = |p: &Pool<'a>| -> Vec<Engine<'a>> {
            // A pipelined worker holds one batch per stage: an engine each.
            (0..p.workers.max(1) * p.perf.pipelines())
                .map(|_| {
                    let limits = SchedulerLimits {
                        fast_decode,
                        ..SchedulerLimits::from_perf(p.perf)
                    };
                    gaps.engine(p.perf, limits)
                })
                .collect()
        };
        let prefill = engines(&d.prefill);
        let decode = if d.aggregated() {
            Vec::new()
        } else {
            engines(&d.decode)
        };
        Run {
            by_prefill: vec![Default::default(); prefill.len()],
            by_decode: vec![Default::default(); decode.len()],
            prefill,
            decode,
            d,
            trips: Vec::new(),
            transfers: BinaryHeap::new(),
        }
    }

    /// The latest clock of any worker.
    fn now(&self) -> f64 {
        self.prefill
            .iter()
            .chain(&self.decode)
            .map(|e| e.now_s)
            .fold(0.0, f64::max)
    }

    /// A client sends request (isl, osl) at `t`: to the least-loaded prefill worker.
    fn send(&mut self, t: f64, (isl, osl): (u64, u64)) -> usize {
        let w = least_loaded(&self.prefill);
        let e = &mut self.prefill[w];
        e.idle_until(t);
        // Aggregated workers produce every token; prefill workers only the first.
        let output_tokens = if self.d.aggregated() { osl } else { 1 };
        let id = e.submit(SimRequest {
            arrival_s: t,
            prompt_tokens: isl,
            output_tokens,
            prefix: None,
        });
        let k = self.trips.len();
        self.trips.push(Trip {
            isl,
            osl,
            arrival_s: t,
            prefill: (w, id),
            ..Default::default()
        });
        self.by_prefill[w].insert(id, k);
        k
    }

    /// The cache of trip `k` reached the decode pool at `t`: the first token is out; the rest
    /// is decoded on the least-loaded decode worker. Returns whether the trip is done.
    fn arrive(&mut self, t: f64, k: usize) -> bool {
        let trip = &mut self.trips[k];
        trip.first_token_s = t;
        if trip.osl <= 1 {
            return true;
        }
        let (isl, osl) = (trip.isl, trip.osl);
        let w = least_loaded(&self.decode);
        let e = &mut self.decode[w];
        e.idle_until(t);
        let id = e.submit_prefilled(SimRequest {
            arrival_s: t,
            prompt_tokens: isl + 1,
            output_tokens: osl - 1,
            prefix: None,
        });
        self.trips[k].decode = Some((w, id));
        self.by_decode[w].insert(id, k);
        false
    }

    /// The earliest thing to happen: a transfer finishing (`Ok`) or a worker's next step
    /// (`Err((is_decode, worker))`), transfers first on ties.
    fn next(&self) -> Option<Result<(), (bool, usize)>> {
        let step = self
            .prefill
            .iter()
            .map(|e| (false, e))
            .enumerate()
            .chain(self.decode.iter().map(|e| (true, e)).enumerate())
            .filter(|(_, (_, e))| e.has_work())
            .min_by(|a, b| a.1 .1.now_s.total_cmp(&b.1 .1.now_s))
            .map(|(i, (dec, e))| (e.now_s, dec, i));
        let transfer = self
            .transfers
            .peek()
            .map(|Reverse((t, _))| f64::from_bits(*t));
        match (transfer, step) {
            (Some(t), Some((s, _, _))) if t <= s => Some(Ok(())),
            (Some(_), None) => Some(Ok(())),
            (_, Some((_, dec, i))) => Some(Err((dec, i))),
            (None, None) => None,
        }
    }

    fn engine(&mut self, (decode, w): (bool, usize)) -> &mut Engine<'a> {
        if decode {
            &mut self.decode[w]
        } else {
            &mut self.prefill[w]
        }
    }

    /// The earliest time something could reach worker `me` from outside: the next transfer, or
    /// the next step of any other worker (whose results are the only other events).
    fn horizon(&self, me: (bool, usize)) -> f64 {
        let others = (self.prefill.iter().map(|e| (false, e)).enumerate())
            .chain(self.decode.iter().map(|e| (true, e)).enumerate())
            .filter(|&(i, (dec, e))| (dec, i) != me && e.has_work())
            .map(|(_, (_, e))| e.now_s);
        let transfer = self
            .transfers
            .peek()
            .map(|Reverse((t, _))| f64::from_bits(*t));
        others.chain(transfer).fold(f64::INFINITY, f64::min)
    }

    /// Serve `reqs` as a closed loop of `c` clients, from the workers' current clocks; returns
    /// the trips in submission order.
    fn closed_loop(&mut self, c: usize, reqs: &[(u64, u64)]) -> Vec<usize> {
        let t0 = self.now();
        let mut ids: Vec<usize> = reqs.iter().take(c).map(|&r| self.send(t0, r)).collect();
        let mut next = ids.len();
        while let Some(what) = self.next() {
            if let Err(worker) = what {
                // Decode runs of this worker that end before anything could reach it.
                let until = self.horizon(worker);
                if self.engine(worker).fast_decode(until) > 0 {
                    continue;
                }
            }
            let done: Vec<(usize, f64)> = match what {
                Ok(()) => {
                    let Reverse((t, k)) = self.transfers.pop().expect("peeked");
                    let t = f64::from_bits(t);
                    if self.arrive(t, k) {
                        vec![(k, t)]
                    } else {
                        Vec::new()
                    }
                }
                Err((false, w)) => self.step_prefill(w),
                Err((true, w)) => {
                    let e = &mut self.decode[w];
                    let finished = e.step();
                    let t = e.now_s;
                    finished
                        .into_iter()
                        .map(|id| (self.by_decode[w][&id], t))
                        .collect()
                }
            };
            for (_, t) in done {
                if next < reqs.len() {
                    ids.push(self.send(t, reqs[next]));
                    next += 1;
                }
            }
        }
        ids
    }

    /// One step of prefill worker `w`: finished prefills start their transfers; refused ones
    /// are done at once.
    fn step_prefill(&mut self, w: usize) -> Vec<(usize, f64)> {
        let e = &mut self.prefill[w];
        let finished = e.step();
        let t = e.now_s;
        let mut done = Vec::new();
        for id in finished {
            let k = self.by_prefill[w][&id];
            let o = self.prefill[w].outcome(id);
            self.trips[k].admitted_s = o.admitted_s;
            if o.rejected || self.d.aggregated() {
                self.trips[k].rejected = o.rejected;
                self.trips[k].first_token_s = o.first_token_s;
                done.push((k, t));
                continue;
            }
            let at = t + self.d.transfer_s(self.trips[k].isl);
            self.transfers.push(Reverse((key(at), k)));
        }
        done
    }

    /// What the client saw of trip `k` (its outcomes moved out of the workers: they hold every
    /// token's gap).
    fn outcome(&mut self, k: usize) -> SimOutcome {
        let trip = &self.trips[k];
        let (pw, pid) = trip.prefill;
        if self.d.aggregated() {
            return self.prefill[pw].take_outcome(pid);
        }
        let pre = self.prefill[pw].outcome(pid);
        let dec = trip.decode.map(|(w, id)| self.decode[w].take_outcome(id));
        SimOutcome {
            arrival_s: trip.arrival_s,
            admitted_s: trip.admitted_s,
            first_token_s: trip.first_token_s,
            last_token_s: dec.as_ref().map_or(trip.first_token_s, |d| d.last_token_s),
            output_tokens: if trip.rejected { 0 } else { trip.osl },
            prompt_tokens: trip.isl,
            preemptions: pre.preemptions + dec.as_ref().map_or(0, |d| d.preemptions),
            cached_tokens: pre.cached_tokens,
            rejected: trip.rejected || dec.as_ref().is_some_and(|d| d.rejected),
            aborted: false,
            done: true,
            gaps_us: dec.map(|d| d.gaps_us).unwrap_or_default(),
        }
    }

    /// Energy of every GPU of both pools so far (J): simulated board power while a worker
    /// steps, idle power while it waits, up to `until`.
    fn energy_j(&self, until: f64) -> f64 {
        let pool = |engines: &[Engine<'_>], p: &Pool<'_>| -> f64 {
            engines
                .iter()
                .map(|e| {
                    let idle = (until - e.stats.busy_s).max(0.0);
                    (e.stats.busy_energy_j + p.perf.idle_power_w() * idle)
                        * f64::from(p.perf.engine_gpus())
                })
                .sum()
        };
        pool(&self.prefill, &self.d.prefill) + pool(&self.decode, &self.d.decode)
    }
}

/// Simulate one benchmark point on a disaggregated deployment. Throughput per GPU and energy
/// count the GPUs of both pools ([`Disagg::gpus`]).
pub fn simulate_disagg(d: &Disagg<'_>, p: &VirtualPoint) -> VirtualResult {
    simulate_disagg_with(d, p, true)
}

/// [`simulate_disagg`], with decode runs in one go or step by step (the reference).
fn simulate_disagg_with(d: &Disagg<'_>, p: &VirtualPoint, fast_decode: bool) -> VirtualResult {
    let reqs = lengths(p);
    let (measured, warm) = reqs.split_at(p.requests);
    let gaps = Gaps {
        per_request: p.record_gaps,
        histogram: p.itl_histogram,
    };
    let run = Run::new(d, gaps, fast_decode);
    measure(d, run, p.concurrency, warm, measured)
}

/// A closed loop of `concurrency` clients over given (input, output) lengths on a
/// disaggregated deployment: `warmups` first, then the measured `requests` (to replay exactly
/// what a real client sent through a router).
pub fn simulate_disagg_lengths(
    d: &Disagg<'_>,
    concurrency: usize,
    warmups: &[(u64, u64)],
    requests: &[(u64, u64)],
) -> VirtualResult {
    let run = Run::new(d, Gaps::default(), true);
    measure(d, run, concurrency, warmups, requests)
}

fn measure<'a>(
    d: &'a Disagg<'a>,
    mut run: Run<'a>,
    concurrency: usize,
    warm: &[(u64, u64)],
    measured: &[(u64, u64)],
) -> VirtualResult {
    let c = concurrency.max(1);
    run.closed_loop(c, warm);
    // The warmups are all done: only measured requests' gaps from here.
    for e in run.prefill.iter_mut().chain(run.decode.iter_mut()) {
        e.take_itl();
    }
    let start_s = run.now();
    let energy0 = run.energy_j(start_s);
    let trips = run.closed_loop(c, measured);
    let end_s = run.now();
    let gpus = (d.prefill.gpus() + d.decode.gpus()).max(1) as f64;
    let mut stats = SchedulerStats::default();
    for e in run.prefill.iter().chain(&run.decode) {
        stats.steps += e.stats.steps;
        stats.preemptions += e.stats.preemptions;
        stats.busy_s += e.stats.busy_s;
        stats.max_running = stats.max_running.max(e.stats.max_running);
    }
    let mut itl_us: Option<servebench_core::stats::CountDistribution> = None;
    for e in run.prefill.iter_mut().chain(run.decode.iter_mut()) {
        if let Some(h) = e.take_itl() {
            itl_us.get_or_insert_with(Default::default).merge(&h);
        }
    }
    VirtualResult {
        outcomes: trips.iter().map(|&k| run.outcome(k)).collect(),
        start_s,
        end_s,
        energy_per_gpu_j: (run.energy_j(end_s) - energy0) / gpus,
        stats,
        itl_us,
    }
}

impl Disagg<'_> {
    /// (prefill GPUs, decode GPUs); an aggregated deployment's are all "prefill".
    pub fn gpus(&self) -> (u32, u32) {
        (self.prefill.gpus(), self.decode.gpus())
    }

    /// No decode workers: every worker serves whole requests.
    pub fn aggregated(&self) -> bool {
        self.decode.workers == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::StepBatch;
    use crate::virtual_time::simulate;
    use servebench_catalog::{Catalog, Precision};

    fn perf(tp: u32) -> PerfModel {
        let c = Catalog::builtin().unwrap();
        let d = Deployment::from_catalog(&c, "b200", "llama-3.3-70b", "vllm", Precision::Fp8, tp);
        PerfModel::new(d.unwrap()).unwrap()
    }

    fn point(c: usize, isl: u64, osl: u64) -> VirtualPoint {
        VirtualPoint {
            range_ratio: 1.0,
            ..VirtualPoint::inferencex(c, isl, osl)
        }
    }

    const LINK: KvLink = KvLink {
        bytes_per_s: 50e9,
        latency_s: 0.001,
    };

    /// One prefill worker and one decode worker.
    fn one_and_one<'a>(p: &'a PerfModel, d: &'a PerfModel) -> Disagg<'a> {
        Disagg {
            prefill: Pool {
                perf: p,
                workers: 1,
            },
            decode: Pool {
                perf: d,
                workers: 1,
            },
            link: LINK,
        }
    }

    /// One request at a time: its first token comes a prefill step plus a transfer after it
    /// was sent, then one decode step per token, each costed by the step model alone.
    #[test]
    fn one_request_is_a_prefill_a_transfer_and_its_decode_steps() {
        let (p, dm) = (perf(4), perf(4));
        let d = one_and_one(&p, &dm);
        let r = simulate_disagg(&d, &point(1, 2000, 5));
        assert_eq!(r.outcomes.len(), 10);
        let mut b = StepBatch::default();
        p.add_prefill(&mut b, 0, 2000);
        let prefill_s = p.step(&b).total_s;
        // 2000 tokens of Llama-70B's FP8 KV (160 KiB per token, 8 KV heads over 4 GPUs).
        let transfer_s = 0.001 + 2000.0 * 163_840.0 / 4.0 / 50e9;
        assert!((d.transfer_s(2000) - transfer_s).abs() < 1e-12);
        let decode_s: Vec<f64> = (0..4)
            .map(|i| {
                let mut b = StepBatch::default();
                dm.add_decode(&mut b, 2001 + i, 1);
                dm.step(&b).total_s
            })
            .collect();
        for o in &r.outcomes {
            let ttft = o.first_token_s - o.arrival_s;
            assert!((ttft - (prefill_s + transfer_s)).abs() < 1e-9, "{ttft}");
            let decode = o.last_token_s - o.first_token_s;
            assert!(
                (decode - decode_s.iter().sum::<f64>()).abs() < 1e-9,
                "{decode}"
            );
            assert_eq!((o.prompt_tokens, o.output_tokens), (2000, 5));
        }
        assert_eq!(d.gpus(), (4, 4));
    }

    /// Decode workers never run a prefill: at load, the time between tokens is shorter than on
    /// the same GPUs serving both (chunked prefills stall decodes there), and the router spreads
    /// requests over every worker.
    #[test]
    fn separate_pools_keep_prefills_out_of_decode_steps() {
        let (p, dm, agg) = (perf(2), perf(2), perf(4));
        let d = one_and_one(&p, &dm);
        let vp = point(32, 4096, 256);
        let dis = simulate_disagg(&d, &vp);
        let mono = simulate(&agg, &vp);
        assert_eq!(dis.outcomes.iter().filter(|o| !o.rejected).count(), 320);
        let p99 = |r: &VirtualResult| {
            let mut t = r.tpots_ms();
            t.sort_by(f64::total_cmp);
            t[t.len() * 99 / 100]
        };
        assert!(p99(&dis) < p99(&mono), "{} vs {}", p99(&dis), p99(&mono));
        // Two decode workers share the load evenly.
        let two = Disagg {
            decode: Pool {
                perf: &dm,
                workers: 2,
            },
            ..d
        };
        let r2 = simulate_disagg(&two, &vp);
        assert!(r2.median_interactivity() > dis.median_interactivity());
        assert_eq!(two.gpus(), (2, 4));
    }

    /// Decode runs in one go change nothing: every outcome, gap and counter is what stepping
    /// one step at a time gives, with transfers and other workers' steps interleaved.
    #[test]
    fn fast_decode_runs_are_exactly_the_steps() {
        let (p, dm) = (perf(2), perf(4));
        for (pw, dw, c) in [(1, 1, 8), (3, 2, 64), (2, 0, 32)] {
            let d = Disagg {
                prefill: Pool {
                    perf: &p,
                    workers: pw,
                },
                decode: Pool {
                    perf: &dm,
                    workers: dw,
                },
                link: LINK,
            };
            let vp = VirtualPoint {
                record_gaps: true,
                ..point(c, 3000, 300)
            };
            let (fast, slow) = (
                simulate_disagg(&d, &vp),
                simulate_disagg_with(&d, &vp, false),
            );
            assert_eq!(fast.outcomes, slow.outcomes, "{pw}p {dw}d c{c}");
            assert_eq!(fast.stats, slow.stats);
            assert_eq!(fast.energy_per_gpu_j, slow.energy_per_gpu_j);
        }
    }

    /// Without decode workers, one aggregated worker behind the router is the single engine
    /// itself; two split the clients between them.
    #[test]
    fn aggregated_workers_behind_the_router() {
        let agg = perf(4);
        let one = Disagg {
            prefill: Pool {
                perf: &agg,
                workers: 1,
            },
            decode: Pool {
                perf: &agg,
                workers: 0,
            },
            link: LINK,
        };
        let vp = point(16, 1024, 128);
        let (r, single) = (simulate_disagg(&one, &vp), simulate(&agg, &vp));
        assert_eq!(one.gpus(), (4, 0));
        assert!((r.duration_s() - single.duration_s()).abs() < 1e-9);
        assert_eq!(r.outcomes, single.outcomes);
        // Two workers of 8 clients each: the same as one worker at concurrency 8, per worker.
        let two = Disagg {
            prefill: Pool {
                perf: &agg,
                workers: 2,
            },
            ..one
        };
        let r2 = simulate_disagg(&two, &vp);
        let half = simulate(&agg, &point(8, 1024, 128));
        let rel = r2.median_interactivity() / half.median_interactivity();
        assert!((rel - 1.0).abs() < 0.05, "{rel}");
    }
}
