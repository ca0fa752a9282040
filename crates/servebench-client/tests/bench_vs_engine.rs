//! `bench` over real loopback HTTP against the simulated engine in real time
//! (`servebench sim --gpu ...`), checked against the same engine simulated in virtual time on
//! exactly the request lengths the client sent.

mod engine_common;

use servebench_catalog::{Catalog, Precision};
use servebench_sim::perf::{Deployment, PerfModel};
use servebench_sim::scheduler::SchedulerLimits;
use servebench_sim::virtual_time::simulate_lengths;
use servebench_sim::{RealtimeEngine, SimConfig};
use std::sync::Arc;

fn perf() -> PerfModel {
    let c = Catalog::builtin().unwrap();
    let dep =
        Deployment::from_catalog(&c, "h200", "llama-3.3-70b", "vllm", Precision::Fp8, 8).unwrap();
    PerfModel::new(dep).unwrap()
}

#[test]
fn bench_against_the_realtime_engine_agrees_with_virtual_time() {
    // 4× faster than real time: steps of ~2 ms of wall time, long enough for a 2-core machine
    // to wake on time, short enough for a test of a few seconds.
    let scale = 4.0;
    let conc = 8;
    let engine = RealtimeEngine::start(perf(), scale).unwrap();
    let sim = servebench_sim::spawn(SimConfig {
        engine: Some(Arc::new(engine)),
        // The server counts prompts with the client's tokenizer, as a real engine would.
        counter: Some(Arc::new(
            servebench_tokenizer::Tokenizer::builtin("cl100k_base").unwrap(),
        )),
        ..Default::default()
    })
    .unwrap();
    let r = engine_common::bench_point(&sim.base_url(), 512, 64, conc, 8);
    let stats = sim.shutdown();
    assert_eq!(r.failed, 0);
    assert_eq!(
        r.tokens.server_input_tokens, r.tokens.client_input_tokens,
        "server and client count prompts alike"
    );
    assert_eq!(r.completed, 10 * conc as u64);
    assert_eq!(
        stats.completed,
        12 * conc as u64,
        "warmups and measured requests"
    );

    // The same requests in virtual time.
    let lens = engine_common::lengths(&r);
    let p = perf();
    let v = simulate_lengths(
        &p,
        SchedulerLimits::from_perf(&p),
        conc,
        &lens[..2 * conc],
        &lens,
    );
    let virt_tput = v.tput_per_gpu(8);
    let virt_intv = v.median_interactivity();
    // What the client measured, in simulated time.
    let real_tput = r.per_gpu.as_ref().unwrap().tput_per_gpu / scale;
    let real_intv = r.interactivity.median_intvty / scale;
    let mut tt = v.ttfts_ms();
    tt.sort_by(f64::total_cmp);
    eprintln!(
        "real: tput {real_tput:.1} intv {real_intv:.1} ttft {:.1} ms dur {:.3} s in {} out {}; virtual: tput {virt_tput:.1} intv {virt_intv:.1} ttft {:.1} ms dur {:.3} in {} out {}",
        r.ttft.median * scale,
        r.duration * scale,
        r.total_input_tokens,
        r.total_output_tokens,
        tt[tt.len() / 2],
        v.duration_s(),
        v.input_tokens(),
        v.output_tokens()
    );
    let err = |a: f64, b: f64| (a / b - 1.0).abs();
    assert!(
        err(real_tput, virt_tput) < 0.05,
        "throughput per GPU over HTTP {real_tput:.1} vs virtual time {virt_tput:.1}"
    );
    assert!(
        err(real_intv, virt_intv) < 0.05,
        "median interactivity over HTTP {real_intv:.1} vs virtual time {virt_intv:.1}"
    );
}
