// node --test dashboard/test: the dashboard's live-input formula (src/live.ts), compiled from
// its TypeScript source, against the golden vectors the Rust library wrote
// (live-golden.json, by crates/servebench-analysis/tests/live_golden.rs). Exact equality:
// the same IEEE operations in the same order give the same bits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
const source = readFileSync(join(here, "..", "src", "live.ts"), "utf8");
const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2020 } }).outputText;
const live = {};
vm.runInNewContext(`${js}\nthis.f = { liveDollarsPerMillion, liveTokensPerMw, liveJoulesPerToken };`, live);
const golden = JSON.parse(readFileSync(join(here, "live-golden.json"), "utf8"));

for (const [name, fn] of [
  ["dollars_per_million", live.f.liveDollarsPerMillion],
  ["tokens_per_mw", live.f.liveTokensPerMw],
  ["joules_per_token", live.f.liveJoulesPerToken],
]) {
  test(`${name}: every golden vector, bit for bit`, () => {
    const vectors = golden[name];
    assert.ok(vectors.length >= 70, `${vectors.length} vectors`);
    for (const [a, b, want] of vectors) {
      assert.ok(Object.is(fn(a, b), want), `${name}(${a}, ${b}) = ${fn(a, b)}, Rust gives ${want}`);
    }
  });
}

test("hand-computed values", () => {
  assert.ok(Math.abs(live.f.liveDollarsPerMillion(2, 1000) - 2 / 3.6) < 1e-12);
  assert.equal(live.f.liveTokensPerMw(1000, 2), 500000);
  assert.equal(live.f.liveJoulesPerToken(2, 1000), 2);
});
