#!/usr/bin/env node
// Micro-benchmark: what one frame of `whalewatcher watch` costs (renderView at 80x24, the table and a
// footer of 50 events) with 100, 1,000, 10,000 and 100,000 alive containers in 12 projects, and the
// first frame of a new portfolio (its containers sorted once) against the following ones. Prints ms per
// frame and the ratio to 100 containers (goal: 10,000 within 5x: a frame lays out only the rows it shows).
// Build first (`npm run build:spec`), then `node scripts/bench/live-view.mjs`.
import { renderView } from '../../build/lib/cli/live-view.js';
import { PROJECT_LABEL, newContainer } from '../../build/lib/model/container.js';
import { Portfolio } from '../../build/lib/model/portfolio.js';
import { hexId, rng } from './micro.mjs';

const SIZES = [100, 1_000, 10_000, 100_000];
const FRAMES = 200;
const random = rng(11);
const now = Date.now();

function portfolio(n) {
  const containers = [];
  for (let i = 0; i < n; i++) {
    containers.push(
      newContainer({ id: hexId(random), name: `svc-${i}`, pid: 1_000 + i, image: 'busybox:lab', startedAt: new Date(now - i * 1_000), labels: { [PROJECT_LABEL]: `p${i % 12}` } }),
    );
  }
  return Portfolio.of(containers);
}

function model(p) {
  const events = p.containers.slice(0, 50).map((container) => ({ engine: 'docker', event: { type: 'exited', container, time: new Date(now), synthetic: false, exit: { code: 3 } } }));
  return { engines: [{ label: 'docker', status: { state: 'live' }, statusSince: now, info: undefined, portfolio: p }], events };
}

let sink = 0;
// warm-up (JIT) on a model of its own, so that the 100-container baseline is not measured cold
const warm = model(portfolio(1_000));
for (let i = 0; i < 500; i++) sink += renderView(warm, { width: 80, height: 24, now: now + i }).length;
const results = [];
for (const n of SIZES) {
  const m = model(portfolio(n));
  let t = process.hrtime.bigint();
  sink += renderView(m, { width: 80, height: 24, now }).length; // first frame: sorts the portfolio once
  const first = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  for (let i = 0; i < FRAMES; i++) sink += renderView(m, { width: 80, height: 24, now: now + i }).length;
  results.push({ n, first, frame: Number(process.hrtime.bigint() - t) / 1e6 / FRAMES });
}
const base = results[0].frame;
for (const r of results) {
  console.log(`live view ${String(r.n).padStart(7)} containers: ${r.frame.toFixed(2)} ms a frame (first ${r.first.toFixed(1)} ms), ${(r.frame / base).toFixed(1)}x of 100`);
}
const ratio = results.find((r) => r.n === 10_000).frame / base;
console.log(`10,000 / 100 = ${ratio.toFixed(1)}x: ${ratio <= 5 ? 'OK' : 'MISS'} (goal within 5x)${sink < 0 ? '' : ''}`);
