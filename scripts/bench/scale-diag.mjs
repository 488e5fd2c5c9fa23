#!/usr/bin/env node
// Diagnostic for scale.mjs's sync ratio: every round of the watcher's initial sync and of the raw client,
// one line each: wall and CPU µs per container of this process, the engine process's CPU µs per container,
// GC time, scavenges and other GCs in the round, the round's order. Not a benchmark with a verdict: for
// finding out where a ratio that moves with the size comes from. A forced gc precedes every round.
//   node --expose-gc scripts/bench/scale-diag.mjs
//   WW_DIAG_SIZES=1000,10000,30000  WW_DIAG_ROUNDS=6,3,2 (per size)  WW_DIAG_WARM=1 (warm-up rounds at the first size)
//   WW_DIAG_BATCH=30000   a round syncs round(BATCH / n) times in a row (default: once)
//   WW_DIAG_PREWARM=256   after the gc, an untimed sync of the same client against a second engine of that size
//   WW_DIAG_SETTLE=200    ms to wait after the gc     WW_DIAG_SOCKETS=4   the raw client's keep-alive sockets
// With --trace-deopt, `grep -c 'weak objects'` between round lines counts the optimized functions the
// forced gc threw away.
import { engineProcess, rawSync } from './scale-clients.mjs';
import { dirname, join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { watchDocker } from '../../build/lib/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.WW_DIAG_SIZES ?? '1000,10000,30000').split(',').map(Number);
const ROUNDS = (process.env.WW_DIAG_ROUNDS ?? '6,3,2').split(',').map(Number);
const WARM = Number(process.env.WW_DIAG_WARM ?? 1);
const WHO = (process.env.WW_DIAG_WHO ?? 'watcher,raw').split(',');
const RAW_SOCKETS = Number(process.env.WW_DIAG_SOCKETS ?? 4);
const IN_FLIGHT = 64;
const gc = globalThis.gc;
const fullGc = () => {
  gc();
  gc();
};
const now = () => performance.now();

let gcMs = 0;
let minor = 0;
let major = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    if (e.detail?.kind === 1) minor++;
    else major++;
  }
}).observe({ entryTypes: ['gc'] });
const SETTLE = Number(process.env.WW_DIAG_SETTLE ?? 0);
const settle = () => new Promise((res) => setTimeout(res, SETTLE));

const { ask, stop: stopEngine } = await engineProcess(join(HERE, 'scale-engine.mjs'));
const BATCH = Number(process.env.WW_DIAG_BATCH ?? 0);
const PREWARM = Number(process.env.WW_DIAG_PREWARM ?? 0);
const warmUrl = PREWARM > 0 ? (await ask({ op: 'fillExtra', n: PREWARM }, 'filledExtra')).url : undefined;
const engineCpu = async () => (await ask({ op: 'cpu' })).us;

async function watcherSync(url) {
  const ww = watchDocker({ host: url });
  try {
    await ww.ready;
    return ww.portfolio.total;
  } finally {
    await ww.close();
  }
}

console.log(['n', 'round', 'who', 'wall µs/c', 'cpu µs/c', 'engine cpu µs/c', 'idle µs/c', 'gc ms', 'scavenges', 'other gcs', 'heap MB after'].join('\t'));
for (const [si, n] of SIZES.entries()) {
  const { url } = await ask({ op: 'fill', n }, 'filled');
  const socketPath = url.slice('unix://'.length);
  const variants = [
    ['watcher', (u = url) => watcherSync(u)],
    ['raw', (u = url) => rawSync(u.slice('unix://'.length), RAW_SOCKETS, IN_FLIGHT)],
  ].filter(([name]) => WHO.includes(name));
  const rounds = ROUNDS[si] ?? 1;
  const warm = si === 0 ? WARM : 0;
  for (let r = 0; r < rounds + warm; r++) {
    for (let v = 0; v < variants.length; v++) {
      const [name, run] = variants[(v + r) % variants.length];
      fullGc();
      await settle();
      if (warmUrl !== undefined) await run(warmUrl);
      const e0 = await engineCpu();
      await new Promise((res) => setImmediate(res));
      gcMs = 0;
      minor = 0;
      major = 0;
      const elu0 = performance.eventLoopUtilization();
      const c0 = process.cpuUsage();
      const t0 = now();
      const k = Math.max(1, Math.round(BATCH / n));
      let total = 0;
      for (let j = 0; j < k; j++) total += await run();
      total /= k;
      const ms = now() - t0;
      const c = process.cpuUsage(c0);
      const elu = performance.eventLoopUtilization(elu0);
      const e1 = await engineCpu();
      await new Promise((res) => setImmediate(res)); // let the gc observer report
      if (total !== n) throw new Error(`${name}: ${total} != ${n}`);
      const nk = n * k;
      console.log([n, r < warm ? `warm${r}` : r - warm, name, ((ms * 1000) / nk).toFixed(0), ((c.user + c.system) / nk).toFixed(0), ((e1 - e0) / nk).toFixed(0), ((elu.idle * 1000) / nk).toFixed(0), gcMs.toFixed(1), minor, major, (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)].join('\t'));
    }
  }
}
stopEngine();
