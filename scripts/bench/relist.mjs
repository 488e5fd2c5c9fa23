#!/usr/bin/env node
// Benchmark: the cost of a Docker relist against the full list, both measured in the same run on a fake
// Docker engine (a real HTTP server on a unix socket: spec/fakes/docker-fakes.ts) holding N containers.
//
//   node scripts/bench/relist.mjs
//
// Build first (`npx tsc -p tsconfig.json && npx tsc -p tsconfig.spec.json`): the script imports the BUILT
// library (dist/) and the built fake (build/spec/fakes/). Prints the engine requests of each variant and,
// as a ratio of medians (interleaved rounds after warm-up), the wall time of a relist of an unchanged
// picture (`snapshot(previous)`: the list call, no inspection) and of a relist after 1% of the containers
// changed, against a full list (`snapshot()`: the list call and N inspections). Goal for the unchanged
// relist ≤ 0.1 (PASS/MISS; a MISS is a finding, exit code 0).
//
// Environment: WW_BENCH_CONTAINERS (10000), WW_BENCH_ROUNDS (7), WW_BENCH_WARMUP (2).
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { dockerAdapter, Portfolio } = await import(join(ROOT, 'dist', 'index.js'));
const { fakeDocker } = await import(join(ROOT, 'build', 'spec', 'fakes', 'docker-fakes.js'));

const N = Number(process.env.WW_BENCH_CONTAINERS ?? 10_000);
const ROUNDS = Number(process.env.WW_BENCH_ROUNDS ?? 7);
const WARMUP = Number(process.env.WW_BENCH_WARMUP ?? 2);
const GOAL = 0.1;
const id = (i) => `${String(i).padStart(8, '0')}${'ab'.repeat(28)}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const fake = await fakeDocker();
try {
  for (let i = 0; i < N; i++) fake.containers.set(id(i), { id: id(i), name: `c${i}`, pid: 1000 + i });
  // a fresh adapter per sample; fullRelistEvery never comes into play (each adapter relists once)
  const sample = async (variant, previous) => {
    const adapter = dockerAdapter({ host: fake.url });
    try {
      if (variant !== 'full') await firstValueFrom(adapter.snapshot()); // the first list of a session is full
      const inspections = fake.inspectsSeen;
      const lists = fake.listQueries.length;
      const t0 = performance.now();
      await firstValueFrom(variant === 'full' ? adapter.snapshot() : adapter.snapshot(previous));
      return { ms: performance.now() - t0, inspections: fake.inspectsSeen - inspections, lists: fake.listQueries.length - lists };
    } finally {
      adapter.dispose();
    }
  };
  const base = dockerAdapter({ host: fake.url });
  const unchanged = Portfolio.of(await firstValueFrom(base.snapshot()));
  base.dispose();
  // 1% changed since `unchanged`: renamed (the list shows it), so each costs one inspection
  const changed = Portfolio.of([...unchanged.containers].map((c, i) => (i % 100 === 0 ? { ...c, name: `${c.name}-old` } : c)));
  const variants = [
    ['full', undefined],
    ['relist, unchanged', unchanged],
    ['relist, 1% changed', changed],
  ];
  const times = new Map(variants.map(([v]) => [v, []]));
  const requests = new Map();
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const [v, previous] = variants[(round + k) % variants.length];
      const s = await sample(v, previous);
      requests.set(v, `${s.lists} list, ${s.inspections} inspections`);
      if (round >= WARMUP) times.get(v).push(s.ms);
    }
  }
  const full = median(times.get('full'));
  console.log(`Docker relist on a fake engine with ${N} containers (${ROUNDS} rounds after ${WARMUP} warm-up, medians)`);
  for (const [v] of variants) {
    const m = median(times.get(v));
    const ratio = m / full;
    const verdict = v === 'relist, unchanged' ? ` goal ≤ ${GOAL}: ${ratio <= GOAL ? 'PASS' : 'MISS'}` : '';
    console.log(`  ${v.padEnd(20)} ${m.toFixed(1).padStart(8)} ms  ratio ${ratio.toFixed(3)}  (${requests.get(v)})${verdict}`);
  }
} finally {
  await fake.close();
}
