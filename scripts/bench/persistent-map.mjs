#!/usr/bin/env node
// Micro-benchmark: PersistentMap vs a native Map measured in the same run.
// Build first (`npx tsc -p tsconfig.spec.json`), then `node scripts/bench/persistent-map.mjs`.
// Prints ns/op (best of several rounds) and the ratio PersistentMap / Map.
// Baseline caveat: Map.set/delete mutate in place, PersistentMap returns a new version.
import { PersistentMap } from '../../build/lib/model/persistent-map.js';

const SIZES = [200, 10_000];
const OPS_PER_ROUND = 300_000;
const ROUNDS = 5;

let sink = 0;

/** Deterministic pseudo-random generator (xorshift32). */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function hexId(next) {
  let s = '';
  while (s.length < 64) s += next().toString(16).padStart(8, '0');
  return s.slice(0, 64);
}

/** A flat copy that is a different string object with the same content (like an id parsed from an event). */
const copyOf = (s) => s.split('').join('');

/** Best ns/op over ROUNDS; `pass(keys)` runs one op per key and returns how many it ran. */
function measure(setup, pass) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS + 2; r++) {
    let ops = 0;
    let elapsed = 0n;
    while (ops < OPS_PER_ROUND) {
      const state = setup();
      const t0 = process.hrtime.bigint();
      ops += pass(state);
      elapsed += process.hrtime.bigint() - t0;
    }
    const ns = Number(elapsed) / ops;
    if (r >= 2 && ns < best) best = ns; // first two rounds are warm-up
  }
  return best;
}

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
console.log(['size', 'keys', 'op', 'PersistentMap ns/op', 'Map ns/op', 'ratio'].join('\t'));
for (const n of SIZES) {
  for (const kind of ['id', 'name']) {
    for (const [op, p, m] of benchSize(n, kind)) {
      console.log([n, kind === 'id' ? '64-hex id' : 'short name', op, p.toFixed(1), m.toFixed(1), `${(p / m).toFixed(2)}x`].join('\t'));
    }
  }
}
if (sink === 0.5) console.log(sink); // keep results observable
