//! `bench` over real loopback HTTP through a router to prefill and decode workers (each a
//! simulated engine in real time, as `servebench sim --role router|prefill|decode` serves them),
//! checked against the same disaggregated deployment simulated in virtual time on exactly the
//! request lengths the client sent.

mod engine_common;

use servebench_catalog::{Catalog, Precision};
use servebench_sim::disagg::{simulate_disagg_lengths, Disagg, KvLink, Pool};
use servebench_sim::perf::{Deployment, PerfModel};
use servebench_sim::{RealtimeEngine, Router, SimConfig, SimHandle};
use std::sync::Arc;
use std::time::Duration;

fn perf(tp: u32) -> PerfModel {
    let c = Catalog::builtin().unwrap();
    let dep =
        Deployment::from_catalog(&c, "h200", "llama-3.3-70b", "vllm", Precision::Fp8, tp).unwrap();
    PerfModel::new(dep).unwrap()
}

fn tokenizer() -> Arc<servebench_tokenizer::Tokenizer> {
    Arc::new(servebench_tokenizer::Tokenizer::builtin("cl100k_base").unwrap())
}

fn serve(engine: Arc<dyn servebench_sim::Engine>) -> SimHandle {
    servebench_sim::spawn(SimConfig {
        engine: Some(engine),
        counter: Some(tokenizer()),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn bench_through_a_router_agrees_with_virtual_time() {
    let scale = 4.0;
    let conc = 16;
    // Two prefill workers of TP2 and one decode worker of TP4: 8 GPUs, the KV cache crossing
    // NVLink inside the node.
    let link = KvLink::between(&perf(4).dep, 8).unwrap();
    let prefill: Vec<SimHandle> = (0..2)
        .map(|_| serve(Arc::new(RealtimeEngine::start(perf(2), scale).unwrap())))
        .collect();
    let decode = serve(Arc::new(
        RealtimeEngine::start_decode(perf(4), scale, link).unwrap(),
    ));
    let url = |h: &SimHandle| h.base_url().parse().unwrap();
    let router = Router::new(
        &prefill.iter().map(url).collect::<Vec<_>>(),
        &[url(&decode)],
        Duration::from_secs(60),
    )
    .unwrap();
    let front = serve(Arc::new(router));
    let r = engine_common::bench_point(&front.base_url(), 2048, 64, conc, 8);
    let total = 12 * conc as u64;
    let front_stats = front.shutdown();
    let decode_stats = decode.shutdown();
    let prefill_done: u64 = prefill.into_iter().map(|h| h.shutdown().completed).sum();
    assert_eq!(r.failed, 0);
    assert_eq!(r.completed, 10 * conc as u64);
    // Every request went through the router, a prefill worker and the decode worker.
    assert_eq!(front_stats.completed, total);
    assert_eq!(prefill_done, total);
    assert_eq!(decode_stats.completed, total);
    assert_eq!(
        r.tokens.server_input_tokens, r.tokens.client_input_tokens,
        "the router counts prompts as the client does"
    );

    // The same requests in virtual time.
    let lens = engine_common::lengths(&r);
    let (p, d) = (perf(2), perf(4));
    let dis = Disagg {
        prefill: Pool {
            perf: &p,
            workers: 2,
        },
        decode: Pool {
            perf: &d,
            workers: 1,
        },
        link,
    };
    let v = simulate_disagg_lengths(&dis, conc, &lens[..2 * conc], &lens);
    let virt_tput = v.tput_per_gpu(8);
    let virt_intv = v.median_interactivity();
    let mut tt = v.ttfts_ms();
    tt.sort_by(f64::total_cmp);
    let virt_ttft = tt[tt.len() / 2];
    let real_tput = r.per_gpu.as_ref().unwrap().tput_per_gpu / scale;
    let real_intv = r.interactivity.median_intvty / scale;
    let real_ttft = r.ttft.median * scale;
    eprintln!(
        "through the router: tput {real_tput:.1} intv {real_intv:.1} ttft {real_ttft:.1} ms; virtual: tput {virt_tput:.1} intv {virt_intv:.1} ttft {virt_ttft:.1} ms"
    );
    let err = |a: f64, b: f64| (a / b - 1.0).abs();
    assert!(
        err(real_tput, virt_tput) < 0.05,
        "throughput per GPU through the router {real_tput:.1} vs virtual time {virt_tput:.1}"
    );
    assert!(
        err(real_intv, virt_intv) < 0.05,
        "median interactivity through the router {real_intv:.1} vs virtual time {virt_intv:.1}"
    );
    // The first token: a prefill worker's queue and step, then the cache's transfer. In real
    // time the median can land one prefill batch later than in virtual time when scheduling
    // jitter reorders arrivals (a step is ~8 % of it here), and it crosses three HTTP hops
    // virtual time does not cost: over 15 runs on a 2-core machine it was 0-9.2 % above virtual
    // time, bimodally (4 runs over 5 %). Throughput and interactivity keep the 5 % bound.
    assert!(
        err(real_ttft, virt_ttft) < 0.12,
        "median TTFT through the router {real_ttft:.1} ms vs virtual time {virt_ttft:.1} ms"
    );
}
