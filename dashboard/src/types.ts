// The JSON API (docs/dashboard.md, "API").

interface ViewSummary {
  model: string;
  isl: number;
  osl: number;
  path: string;
  points: number;
  precisions: string[];
  sources: string[];
  hardware: string[];
  engines: string[];
}

interface RunInfo {
  key: string;
  started_at: string;
  who?: string | null;
  recipes_commit?: string | null;
  executor?: string | null;
  source: string;
}

interface HardwareInfo {
  /** The catalog's name of it; `id` (h200) is the key of index.json's `hardware` map. */
  name: string;
  id?: string;
  dollars_per_gpu_hour: { hyperscaler: number | null; neocloud: number | null; rental: number | null };
  all_in_kw_per_gpu: number | null;
  sources?: { id: string; ref: string; date: string }[];
}

interface IndexFile {
  views: ViewSummary[];
  runs: RunInfo[];
  /** A map keyed by catalog id (a list is accepted too); normalizeIndex makes it a list. */
  hardware: HardwareInfo[];
  generated_at?: string;
  /** Whether the server answers `?asof=` (a static export does not), and the day asked. */
  as_of?: { supported: boolean; date: string | null };
}

/** One pool of a deployment, as the store keeps it. */
interface PoolEntry {
  role: "server" | "prefill" | "decode" | "workers";
  workers: number;
  tp: number;
  pp: number;
  dcp: number;
  pcp: number;
  ep: number;
  dp_attn: boolean;
  gpus: number;
}

/** A config's deployment, structured (pools, router, KV transfer, MTP, recipe file). */
interface DeploymentEntry {
  pools: PoolEntry[];
  router: string | null;
  kv_transfer: string | null;
  draft_tokens: number | null;
  recipe_file: string | null;
}

interface ConfigEntry {
  id: number;
  key: string;
  label: string;
  hardware: string;
  engine: string;
  model: string;
  precision: string;
  spec_decoding: string;
  disagg: boolean;
  topology: string;
  /** Null where the source gave no pools (published v1 files, bench results with a label). */
  deployment?: DeploymentEntry | null;
}

interface ViewPoint {
  id: number | string;
  config: number;
  source: string;
  run: string;
  run_started_at: string;
  conc: number;
  num_gpus: number;
  tput_per_gpu: number | null;
  input_tput_per_gpu: number | null;
  output_tput_per_gpu: number | null;
  median_intvty: number | null;
  median_ttft_ms: number | null;
  median_tpot_ms: number | null;
  median_e2el_ms: number | null;
  p99_ttft_ms: number | null;
  p99_tpot_ms: number | null;
  p99_e2el_ms: number | null;
  completed: number | null;
  failed: number | null;
  measured_j_per_token: number | null;
  /** An agentic-coding point's own figures (absent on fixed-length points). */
  agentic?: {
    kv_offloading: string;
    kv_offload_backend: string | null;
    cpu_dram_gb: number | null;
    theoretical_hit_rate: number | null;
    server_hit_rate: number | null;
    server_gpu_hit_rate: number | null;
    server_cpu_hit_rate: number | null;
    e2e_norm_intvty_p50: number | null;
    e2e_norm_intvty_p90: number | null;
    qps_mean: number | null;
    gpu_kv_usage_pct: number | null;
    cpu_kv_usage_pct: number | null;
  };
  /** The y metrics the library computed per point beyond the stored ones (measured J per
   * total and per input token), by key; a key is missing where the point lacks it. */
  y: Record<string, number | null>;
  /** A simulated point: the error to expect of it (docs/sim.md, hold-out error) and what of its recipe the simulator left out; null if measured. */
  simulated: { basis: string; within_35: number; median_tput_error: number; median_interactivity_error: number; left_out?: string[]; uncalibrated?: string } | null;
  image: string | null;
}

/** An x or y metric as the Rust library defines it (figures' `metrics`). */
interface MetricInfo {
  key: string;
  label: string;
  group: string;
  unit: string;
  better: "higher" | "lower";
  /** The key of the frontier it is drawn with (`frontiers[x][frontier]`). */
  frontier: string;
  only?: string;
  tokens?: "total" | "input" | "output";
}

/** `figures/<slug>/<group>.json`: what the pages draw, computed by the Rust library. */
interface Figures {
  model: string;
  isl: number;
  osl: number;
  group: string;
  metrics: { x: MetricInfo[]; y: MetricInfo[]; tiers: string[] };
  /** The interactivities (tok/s/user) every series is read at. */
  targets: number[];
  thresholds: number[];
  series: SeriesFigures[];
  /** Keyed by a threshold as String(threshold). */
  /** Of the points each run measured itself (none carried over). */
  new_only: boolean;
  regressions: Record<string, RegressionFigure[]>;
  /** Per threshold: every run that moved a group's frontier against the run before, either way. */
  movements: Record<string, RegressionFigure[]>;
}

interface SeriesFigures {
  key: string;
  label: string;
  source: string;
  /** null: each config's latest run pooled. */
  run: string | null;
  run_started_at: string;
  hardware: string;
  engines: string[];
  precisions: string[];
  points: (number | string)[];
  /** x → frontier basis (MetricInfo.frontier) → frontier point ids, best x first. */
  frontiers: Record<string, Record<string, (number | string)[]>>;
  /** metric → value at each target (null outside the measured range). */
  at: Record<string, (number | null)[]>;
}

interface RegressionFigure {
  source: string;
  key: string;
  label: string;
  before_run: string;
  after_run: string;
  interactivity: number;
  before: number;
  after: number;
  change: number;
  noise: number;
  /** What changed between the two runs (images, changelog entries, configs), in a line. */
  why: string;
  explained: boolean;
}

/** An accuracy eval run on a deployment at a concurrency (`sweep --eval-task`). */
interface EvalRecord {
  config_key: string;
  run: string;
  conc: number;
  /** The throughput point measured beside it, if any. */
  point_id: number | null;
  task: string;
  score: number;
  stderr: number;
  n: number;
  n_failed: number;
  threshold: number | null;
  passed: boolean | null;
}

interface ViewFile {
  model: string;
  isl: number;
  osl: number;
  configs: ConfigEntry[];
  /** The runs of its points, each with its id in paths (`builds/<slug>/<id>.json`). */
  runs: { id: string; key: string; started_at: string }[];
  points: ViewPoint[];
  evals: EvalRecord[];
}

/** `builds/<slug>/<run id>.json`: what one run deployed of a view, per config. */
interface BuildsFile {
  run: string;
  builds: { config_key: string; images: string[]; recipe_fingerprints: string[] }[];
}

/** A view as the page reads it: `views/<slug>.bin`'s columns (data.ts's viewBin; NaN is a
 * null number, -1 a null image, source 0 own and 1 reference; viewOf makes them rows). */
interface ViewDoc {
  model: string;
  isl: number;
  osl: number;
  configs: ConfigEntry[];
  runs: { id: string; key: string; started_at: string }[];
  images: string[];
  points: {
    n: number;
    id: ArrayLike<number>;
    config: ArrayLike<number>;
    source: ArrayLike<number>;
    run: ArrayLike<number>;
    conc: ArrayLike<number>;
    num_gpus: ArrayLike<number>;
    completed: ArrayLike<number>;
    failed: ArrayLike<number>;
    image: ArrayLike<number>;
    metrics: Record<string, ArrayLike<number>>;
    y: Record<string, ArrayLike<number>>;
    simulated: Record<string, NonNullable<ViewPoint["simulated"]>>;
    agentic: Record<string, NonNullable<ViewPoint["agentic"]>>;
  };
  evals: EvalRecord[];
}

interface PointFile {
  id: number | string;
  config: unknown;
  run: unknown;
  metrics: unknown;
  provenance: unknown;
  result: unknown;
  server_log: unknown;
  /** Measured GPU power over the point's window (`bench`/`sweep --power`), or null. */
  power: unknown;
  /** Accuracy evals run beside the point. */
  evals: EvalRecord[];
  /** Its config's pools, router, KV transfer, MTP and recipe file, where stored. */
  deployment?: DeploymentEntry | null;
  /** Each latency's percentiles 0..100 and their histogram (the library's), where the result kept them. */
  latency?: Record<string, { percentiles: number[]; histogram: { edges: number[]; shares: number[] } | null }> | null;
  /** The server's KV-cache gauges over the window, where a replay scraped them. */
  server_timeline?: { t_s: number; gpu_kv_usage: number | null; cpu_kv_usage: number | null }[] | null;
  /** The unit of each metric. */
  units?: Record<string, string>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** `reliability.json?from=&to=`: job success per accelerator over a date range (the library's). */
interface ReliabilityFile {
  from: string | null;
  to: string | null;
  hardware: { hardware: string; succeeded: number; total: number; rate: number | null; runs: number }[];
  runs: { run: string; started_at: string; source: string; hardware: string; succeeded: number; total: number; rate: number | null }[];
  failed: { run: string; started_at: string; config_key: string; hardware: string; model: string; isl: number; osl: number; conc: number; attempts: number; reason: string }[];
}
