// The analysis definitions of docs/analysis.md, ported from crates/servebench-analysis
// (pareto.rs, interp.rs, economics.rs, history.rs) operation for operation, so that the
// browser's figures equal the Rust library's.

type Better = "higher" | "lower";
type XY = [number, number];

/** Rust's f64::total_cmp for the values JSON can carry (no NaN): -0 sorts before +0. */
function totalCmp(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b && a === 0) {
    const na = Object.is(a, -0), nb = Object.is(b, -0);
    return na === nb ? 0 : na ? -1 : 1;
  }
  return 0;
}

/**
 * Indices of `points` on the Pareto frontier for (x, y) with directions dx, dy, sorted by x
 * from best to worst. Exact duplicates keep their first occurrence; non-finite values never
 * enter (pareto::frontier).
 */
function frontier(points: readonly XY[], dx: Better, dy: Better): number[] {
  const key = (v: number, d: Better): number => (d === "higher" ? -v : v);
  const idx: number[] = [];
  for (let i = 0; i < points.length; i++) {
    if (Number.isFinite(points[i][0]) && Number.isFinite(points[i][1])) idx.push(i);
  }
  idx.sort((a, b) =>
    totalCmp(key(points[a][0], dx), key(points[b][0], dx)) ||
    totalCmp(key(points[a][1], dy), key(points[b][1], dy)) ||
    a - b);
  const out: number[] = [];
  let best: number | null = null;
  for (const i of idx) {
    const y = points[i][1];
    if (best !== null && (dy === "higher" ? best >= y : best <= y)) continue;
    best = y;
    out.push(i);
  }
  return out;
}

function sign(v: number): number {
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/** Steffen's monotone cubic through points (interp::Steffen); no value outside its range. */
class Steffen {
  private constructor(readonly x: number[], readonly y: number[], private readonly d: number[]) {}

  /** Through `points` (any order; equal x keep the first); null without points. */
  static make(points: readonly XY[]): Steffen | null {
    const p = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    p.sort((a, b) => totalCmp(a[0], b[0]));
    const q: XY[] = [];
    for (const v of p) if (q.length === 0 || q[q.length - 1][0] !== v[0]) q.push(v);
    if (q.length === 0) return null;
    const x = q.map((v) => v[0]), y = q.map((v) => v[1]);
    const n = x.length;
    const d = new Array<number>(n).fill(0);
    if (n >= 2) {
      const h: number[] = [], s: number[] = [];
      for (let i = 0; i < n - 1; i++) h.push(x[i + 1] - x[i]);
      for (let i = 0; i < n - 1; i++) s.push((y[i + 1] - y[i]) / h[i]);
      for (let i = 1; i < n - 1; i++) {
        const pi = (s[i - 1] * h[i] + s[i] * h[i - 1]) / (h[i - 1] + h[i]);
        d[i] = (sign(s[i - 1]) + sign(s[i])) *
          Math.min(Math.min(Math.abs(s[i - 1]), Math.abs(s[i])), 0.5 * Math.abs(pi));
      }
      const end = (s0: number, s1: number, h0: number, h1: number): number => {
        const pe = s0 * (1 + h0 / (h0 + h1)) - (s1 * h0) / (h0 + h1);
        if (pe * s0 <= 0) return 0;
        if (Math.abs(pe) > 2 * Math.abs(s0)) return 2 * s0;
        return pe;
      };
      if (n === 2) {
        d[0] = s[0];
        d[1] = s[0];
      } else {
        d[0] = end(s[0], s[1], h[0], h[1]);
        d[n - 1] = end(s[n - 2], s[n - 3], h[n - 2], h[n - 3]);
      }
    }
    return new Steffen(x, y, d);
  }

  /** The value at `t`, or null outside the measured range. */
  at(t: number): number | null {
    const { x, y, d } = this;
    const n = x.length;
    if (!(t >= x[0] && t <= x[n - 1])) return null;
    if (n === 1) return y[0];
    let k = 0; // partition point: how many x are <= t
    while (k < n && x[k] <= t) k++;
    const i = k === 0 ? 0 : k >= n ? n - 2 : k - 1;
    const h = x[i + 1] - x[i];
    const u = (t - x[i]) / h;
    const y0 = y[i], y1 = y[i + 1], d0 = d[i] * h, d1 = d[i + 1] * h;
    const u2 = u * u, u3 = u * u * u;
    return (2 * u3 - 3 * u2 + 1) * y0 + (u3 - 2 * u2 + u) * d0 + (-2 * u3 + 3 * u2) * y1 + (u3 - u2) * d1;
  }
}

/** $ per million tokens = $/GPU-hour ÷ (tok/s/GPU × 3600 / 10⁶). */
function dollarsPerMillion(dollarsPerGpuHour: number, tokSPerGpu: number): number {
  return dollarsPerGpuHour / ((tokSPerGpu * 3600) / 1e6);
}
/** Tokens/s per all-in provisioned MW = tok/s/GPU × 1000 ÷ all-in kW/GPU. */
function tokensPerMw(tokSPerGpu: number, kw: number): number {
  return (tokSPerGpu * 1000) / kw;
}
/** Modelled energy per token, J = all-in kW/GPU × 1000 ÷ tok/s/GPU. */
function joulesPerToken(kw: number, tokSPerGpu: number): number {
  return (kw * 1000) / tokSPerGpu;
}

/**
 * The (tok/s/user, tok/s/GPU) frontier of a point set, and metrics read along it at a target
 * interactivity (reports.rs `Along`): a metric has a value only where every frontier point has it.
 */
class Along {
  readonly points: ViewPoint[];
  constructor(points: readonly ViewPoint[]) {
    const all = points.filter((p) => p.median_intvty !== null && p.tput_per_gpu !== null);
    const f = frontier(all.map((p) => [p.median_intvty as number, p.tput_per_gpu as number]), "higher", "higher");
    this.points = f.map((i) => all[i]);
  }
  spline(m: (p: ViewPoint) => number | null): Steffen | null {
    const xy: XY[] = [];
    for (const p of this.points) {
      const v = m(p);
      if (p.median_intvty === null || v === null) return null;
      xy.push([p.median_intvty, v]);
    }
    return Steffen.make(xy);
  }
  at(m: (p: ViewPoint) => number | null, t: number): number | null {
    const s = this.spline(m);
    return s ? s.at(t) : null;
  }
}

/** Everything `servebench report at` reads at a target, for one set of points. */
interface AtTarget {
  tput: number | null;
  input: number | null;
  output: number | null;
  e2el: number | null;
  /** Measured J per output token from interpolated power ÷ interpolated output tok/s. */
  measuredJ: number | null;
}

function readAt(points: readonly ViewPoint[], t: number): AtTarget {
  const a = new Along(points);
  const output = a.at((p) => p.output_tput_per_gpu, t);
  const watts = a.at((p) => (p.measured_j_per_token === null || p.output_tput_per_gpu === null
    ? null : p.measured_j_per_token * p.output_tput_per_gpu), t);
  return {
    tput: a.at((p) => p.tput_per_gpu, t),
    input: a.at((p) => p.input_tput_per_gpu, t),
    output,
    e2el: a.at((p) => p.median_e2el_ms, t),
    measuredJ: watts !== null && output !== null ? watts / output : null,
  };
}

/** One run of a config (history.rs RunCurve). */
interface RunCurve {
  date: string;
  points: XY[];
}

/** The tok/s/GPU-vs-tok/s/user frontier's value at each target (interp::frontier_at). */
function frontierAt(points: readonly XY[], targets: readonly number[]): (number | null)[] {
  const f = frontier(points, "higher", "higher");
  const s = Steffen.make(f.map((i) => points[i]));
  return targets.map((t) => (s ? s.at(t) : null));
}

/** Each run's values at the targets, in date order (history::history). */
function historyOf(runs: readonly RunCurve[], targets: readonly number[]): { date: string; values: (number | null)[] }[] {
  const v = runs.slice().sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return v.map((r) => ({ date: r.date, values: frontierAt(r.points, targets) }));
}

interface Regression {
  interactivity: number;
  before: number;
  after: number;
  change: number;
  noise: number;
}

/** Drops of the latest run against the one before beyond `threshold` and the earlier runs' noise. */
function regressionsOf(runs: readonly RunCurve[], targets: readonly number[], threshold: number): Regression[] {
  const h = historyOf(runs, targets);
  if (h.length < 2) return [];
  const earlier = h.slice(0, h.length - 1), latest = h[h.length - 1];
  const out: Regression[] = [];
  targets.forEach((t, k) => {
    const after = latest.values[k], before = earlier[earlier.length - 1].values[k];
    if (after === null || before === null) return;
    const past = earlier.map((r) => r.values[k]).filter((v): v is number => v !== null);
    let noise = 0;
    if (past.length >= 2) {
      const mean = past.reduce((a, b) => a + b, 0) / past.length;
      const v = past.reduce((a, x) => a + (x - mean) * (x - mean), 0) / (past.length - 1);
      noise = Math.sqrt(v) / mean;
    }
    const change = after / before - 1;
    if (-change > threshold && -change > noise) out.push({ interactivity: t, before, after, change, noise });
  });
  return out;
}
