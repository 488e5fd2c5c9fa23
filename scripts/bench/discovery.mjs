#!/usr/bin/env node
// Benchmark: discovery of every private engine of a lab by the /proc scan alone, one containerd in a mount
// namespace of its own included (reachable only through /proc/PID/root), against a baseline measured in the
// same run: probing the same sockets when they are known already (no scan).
//
//   node scripts/bench/discovery.mjs        (as root; build dist/ and build/ first: `npx tsc -p tsconfig.json
//                                            && npx tsc -p tsconfig.spec.json`, or `npm run bench -- discovery`)
//
// It opens an engine lab with Docker 20.10, Docker 26, Podman 4.3 and containerd 1.7 (scripts/engines/lab.mjs,
// a fresh /tmp/ww-bench-disc.*), starts the namespaced containerd (spec/helpers/namespaced-containerd.ts, built
// into build/), and ALWAYS stops both. Prints, over WW_BENCH_ROUNDS (7) interleaved rounds after a warm-up:
//   - the scan's median time, goal < 1,000 ms (PASS/MISS), with every lab engine found in every round;
//   - the ratio of medians scan / known sockets (the cost of looking, over the cost of asking).
// Other labs running on the same host are found by the scan too (it reads every process): their count is
// printed, and they are part of the scan's time, as on any real host.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ROOT, createLab } from '../engines/lab.mjs';

const ENGINES = ['docker20', 'docker26', 'podman', 'containerd17'];
const ROUNDS = Number(process.env.WW_BENCH_ROUNDS ?? 7);
const GOAL_MS = 1_000;
const log = (msg) => console.log(`[discovery] ${msg}`);
const warn = (msg) => console.error(`[discovery] ${msg}`);

if (process.getuid?.() !== 0) {
  warn('needs root: it starts private engines');
  process.exit(1);
}
for (const f of ['dist/index.js', 'build/spec/helpers/namespaced-containerd.js']) {
  if (!existsSync(join(ROOT, f))) {
    warn(`${f} is missing: build first (npx tsc -p tsconfig.json && npx tsc -p tsconfig.spec.json)`);
    process.exit(1);
  }
}
const { discoverEngines } = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
const { startNamespacedContainerd } = await import(pathToFileURL(join(ROOT, 'build', 'spec', 'helpers', 'namespaced-containerd.js')).href);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let failed = false;
const lab = createLab({ engines: ENGINES, prefix: '/tmp/ww-bench-disc.', log, warn, output: 'stderr' });
let ns;
try {
  await lab.open();
  const missing = lab.results.filter((r) => !r.ok);
  if (missing.length > 0) throw new Error(`engines did not start: ${missing.map((r) => r.name).join(', ')}`);
  ns = await startNamespacedContainerd();
  // the sockets every scan must find: the lab's, and the namespaced one through /proc/PID/root
  const ours = new Set([...ENGINES.map((e) => `unix://${String(lab.endpoint(e)).replace(/^unix:\/\//, '')}`), `unix://${ns.reachable}`]);
  const known = [...ours].map((e) => e.slice('unix://'.length));
  const scan = () => discoverEngines({ env: {}, wellKnown: [], timeout: 2_000 });
  const direct = () => discoverEngines({ env: {}, wellKnown: known, scan: false, timeout: 2_000 });

  await scan(); // warm-up: page cache, first connections
  await direct();
  const times = { scan: [], direct: [] };
  let others = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, fn] of round % 2 === 0 ? [['scan', scan], ['direct', direct]] : [['direct', direct], ['scan', scan]]) {
      const t0 = performance.now();
      const found = await fn();
      times[name].push(performance.now() - t0);
      const mine = new Set(found.engines.map((e) => e.endpoint).filter((e) => ours.has(e)));
      if (mine.size !== ours.size) {
        failed = true;
        warn(`${name} round ${round + 1}: found ${mine.size} of the ${ours.size} sockets (${[...ours].filter((e) => !mine.has(e)).join(', ')} missing)`);
      }
      if (name === 'scan') others = Math.max(others, found.engines.filter((e) => !ours.has(e.endpoint)).length);
    }
  }
  const scanMs = median(times.scan);
  const directMs = median(times.direct);
  log(`lab: ${ENGINES.join(', ')} + containerd 1.7 in a mount namespace of its own (pid ${ns.pid}); ${others} engine(s) of other labs on this host found too`);
  log(`scan of /proc (all ${ours.size} lab sockets found every round): median ${scanMs.toFixed(0)} ms over ${ROUNDS} rounds (${times.scan.map((t) => t.toFixed(0)).join(', ')})`);
  log(`probing the same sockets, known beforehand: median ${directMs.toFixed(0)} ms (${times.direct.map((t) => t.toFixed(0)).join(', ')})`);
  log(`scan / known sockets: ${(scanMs / directMs).toFixed(2)}`);
  log(`scan under ${GOAL_MS} ms: ${scanMs < GOAL_MS ? 'PASS' : 'MISS'} (${scanMs.toFixed(0)} ms)`);
} catch (err) {
  failed = true;
  warn(`FAILED: ${err?.stack ?? err}`);
} finally {
  await ns?.stop();
  if (!lab.stop()) failed = true;
}
process.exit(failed ? 1 : 0);
