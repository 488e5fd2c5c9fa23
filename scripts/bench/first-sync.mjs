#!/usr/bin/env node
// Micro-benchmark: the fold's first synchronisation (connecting, listening, then the snapshot of n
// containers folded into the empty picture) against building the same portfolio once with
// Portfolio.of, measured in the same run at 1k/10k/30k containers (64-hex ids, compose-style names in
// 50 projects). The ratio is the price of the first sync over the one unavoidable build (goal: ~1x).
// Build first (`npm run build:spec`), then `node scripts/bench/first-sync.mjs`.
import { INITIAL_STATE, fold } from '../../build/lib/core/fold.js';
import { newContainer } from '../../build/lib/model/container.js';
import { Portfolio } from '../../build/lib/model/portfolio.js';
import { rng, hexId } from './micro.mjs';

const SIZES = [1_000, 10_000, 30_000];
const ROUNDS = 5;
let sink = 0;


/** Best ms over ROUNDS after one warm-up round. */
function bestMs(run) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = process.hrtime.bigint();
    sink += run();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r >= 1 && ms < best) best = ms;
  }
  return best;
}

console.log(`node ${process.version}; best of ${ROUNDS} rounds`);
console.log(['containers', 'first sync ms', 'Portfolio.of ms', 'ratio', 'changes'].join('\t'));
for (const n of SIZES) {
  const next = rng(n);
  const containers = Array.from({ length: n }, (_, i) => {
    const project = `proj${i % 50}`;
    return newContainer({ id: hexId(next), name: `${project}-svc${i}-1`, pid: i + 1, labels: { 'com.docker.compose.project': project } });
  });
  const listening = fold(fold(INITIAL_STATE, { type: 'connecting' }).state, { type: 'listening' }).state;
  let changes = 0;
  const sync = bestMs(() => {
    const step = fold(listening, { type: 'snapshot', containers, time: 0 });
    changes = step.changes.length;
    return step.state.portfolio.total;
  });
  const build = bestMs(() => Portfolio.of(containers).total);
  console.log([n, sync.toFixed(1), build.toFixed(1), `${(sync / build).toFixed(2)}x`, changes].join('\t'));
}
if (sink === 0.5) console.log(sink);
