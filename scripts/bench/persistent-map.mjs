#!/usr/bin/env node
// Micro-benchmark: PersistentMap vs a native Map measured in the same run.
// Build first (`npx tsc -p tsconfig.spec.json`), then `node scripts/bench/persistent-map.mjs`.
// Prints ns/op (best of several rounds) and the ratio PersistentMap / Map.
// Baseline caveat: Map.set/delete mutate in place, PersistentMap returns a new version.
import { PersistentMap } from '../../build/lib/model/persistent-map.js';
import { rng, hexId, copyOf, measure } from './micro.mjs';

const SIZES = [200, 10_000];
const OPS_PER_ROUND = 300_000;
const ROUNDS = 5;

let sink = 0;





function benchSize(n, kind) {
  const next = rng(n * 7919 + kind.length);
  const keys = Array.from({ length: n }, (_, i) => (kind === 'id' ? hexId(next) : `proj-web-${i}`));
  const lookups = keys.map(copyOf);
  // Shuffle lookup order so the access pattern is not the insertion order.
  for (let i = lookups.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [lookups[i], lookups[j]] = [lookups[j], lookups[i]];
  }
  const entries = keys.map((k, i) => [k, i]);
  const pm = PersistentMap.from(entries);
  const nm = new Map(entries);

  const rows = [];
  rows.push([
    'get',
    measure(() => pm, (m) => { for (const k of lookups) sink += m.get(k); return lookups.length; }),
    measure(() => nm, (m) => { for (const k of lookups) sink += m.get(k); return lookups.length; }),
  ]);
  rows.push([
    'set (replace)',
    measure(() => pm, (m) => { for (const k of lookups) sink += m.set(k, -1).size; return lookups.length; }),
    measure(() => nm, (m) => { for (const k of lookups) sink += m.set(k, -1).size; return lookups.length; }),
  ]);
  rows.push([
    'delete',
    measure(() => pm, (m) => { for (const k of lookups) sink += m.delete(k).size; return lookups.length; }),
    // Map.delete mutates: delete every key from a fresh clone (the clone is not timed).
    measure(() => new Map(nm), (m) => { for (const k of lookups) sink += m.delete(k) ? 1 : 0; return lookups.length; }),
  ]);
  return rows;
}

console.log(`node ${process.version}; best of ${ROUNDS} rounds of ~${OPS_PER_ROUND} ops`);
if (!process.argv.includes('--keys-only')) console.log(['size', 'keys', 'op', 'PersistentMap ns/op', 'Map ns/op', 'ratio'].join('\t'));
for (const n of process.argv.includes('--keys-only') ? [] : SIZES) {
  for (const kind of ['id', 'name']) {
    for (const [op, p, m] of benchSize(n, kind)) {
      console.log([n, kind === 'id' ? '64-hex id' : 'short name', op, p.toFixed(1), m.toFixed(1), `${(p / m).toFixed(2)}x`].join('\t'));
    }
  }
}

// --- adversarial key sets: keys sharing long runs, against random 64-hex ids and against a native Map ---
// A hash that reads only some chars puts keys differing elsewhere into one collision node, and the map
// turns quadratic (build) and linear (update). Each set is measured at 1k/10k/30k keys; ratios are
// against random hex ids of the same count (PersistentMap) and against a native Map (same keys).
const KEY_SIZES = [1_000, 10_000, 30_000];
const pad = (i, w) => String(i).padStart(w, '0');
const LONG = 'averyveryverylongcomposeprojectname_and_a_service';
const KEY_SETS = {
  'hex id': (n, next) => Array.from({ length: n }, () => hexId(next)),
  'k8s name': (n) => Array.from({ length: n }, (_, i) => `k8s_app_web-${pad(i, 6)}-7d9f8c6b5d-xk2pq_production_0`),
  'compose name': (n) => Array.from({ length: n }, (_, i) => `averylongcomposeprojectname-backend-worker-${i + 1}`),
  'shared prefix': (n) => Array.from({ length: n }, (_, i) => `${'p'.repeat(48)}${i}`),
  'shared suffix': (n) => Array.from({ length: n }, (_, i) => `${i}${'s'.repeat(48)}`),
  'one char differs': (n) =>
    Array.from({ length: n }, (_, i) => {
      const at = i % LONG.length;
      return LONG.slice(0, at) + String.fromCharCode(0x100 + Math.floor(i / LONG.length)) + LONG.slice(at + 1);
    }),
};

/** Best ms over a few rounds for `build()`. */
function bestMs(build, rounds = 5) {
  let best = Infinity;
  for (let r = 0; r < rounds + 1; r++) {
    const t0 = process.hrtime.bigint();
    sink += build();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r >= 1 && ms < best) best = ms;
  }
  return best;
}

if (!process.argv.includes('--keys-only')) console.log('');
console.log('key sets: build = PersistentMap.from (ms), update = set(existing key, new value) (ns/op)');
console.log(['keys', 'set', 'build ms', 'vs hex', 'vs Map', 'update ns', 'vs hex', 'vs Map', 'max depth', 'max collision'].join('\t'));
for (const n of KEY_SIZES) {
  const baseline = {};
  for (const [name, make] of Object.entries(KEY_SETS)) {
    const next = rng(n * 31 + name.length);
    const keys = make(n, next);
    if (new Set(keys).size !== n) throw new Error(`key set ${name} has duplicates`);
    const entries = keys.map((k, i) => [k, i]);
    const order = keys.map(copyOf);
    for (let i = order.length - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const buildPm = bestMs(() => PersistentMap.from(entries).size);
    const buildMap = bestMs(() => new Map(entries).size);
    const pm = PersistentMap.from(entries);
    const nm = new Map(entries);
    const updPm = measure(() => pm, (m) => { for (const k of order) sink += m.set(k, -1).size; return order.length; }, 3 * n);
    const updMap = measure(() => nm, (m) => { for (const k of order) sink += m.set(k, -1).size; return order.length; }, 3 * n);
    if (name === 'hex id') Object.assign(baseline, { buildPm, updPm });
    const shape = typeof PersistentMap.shapeOf === 'function' ? PersistentMap.shapeOf(pm) : undefined;
    console.log(
      [
        n,
        name,
        buildPm.toFixed(1),
        `${(buildPm / baseline.buildPm).toFixed(2)}x`,
        `${(buildPm / buildMap).toFixed(2)}x`,
        updPm.toFixed(0),
        `${(updPm / baseline.updPm).toFixed(2)}x`,
        `${(updPm / updMap).toFixed(2)}x`,
        shape?.depth ?? '?',
        shape?.largestCollision ?? '?',
      ].join('\t'),
    );
  }
}
if (sink === 0.5) console.log(sink); // keep results observable
