// The one formula the browser applies itself (docs/analysis.md, "Live input"): what a price
// or an all-in power the user types makes of a throughput the Rust library computed (a
// point's, or a frontier's at a target). Everything else the pages show comes computed from
// the API. The same floating-point operations as crates/servebench-analysis/src/economics.rs,
// so the results are bit for bit the same: dashboard/test/live.test.mjs checks these functions
// against golden vectors that crates/servebench-analysis/tests/live_golden.rs writes from the
// Rust functions (dashboard/test/live-golden.json).

/** $ per million tokens = $/GPU-hour ÷ (tok/s/GPU × 3600 ÷ 10⁶). */
function liveDollarsPerMillion(dollarsPerGpuHour: number, tokSPerGpu: number): number {
  return dollarsPerGpuHour / ((tokSPerGpu * 3600) / 1e6);
}

/** Tokens/s per all-in provisioned MW = tok/s/GPU × 1000 ÷ all-in kW/GPU. */
function liveTokensPerMw(tokSPerGpu: number, kw: number): number {
  return (tokSPerGpu * 1000) / kw;
}

/** Modelled energy per token, J = all-in kW/GPU × 1000 ÷ tok/s/GPU. */
function liveJoulesPerToken(kw: number, tokSPerGpu: number): number {
  return (kw * 1000) / tokSPerGpu;
}
