#!/usr/bin/env node
// Micro-benchmark: Portfolio.container(nameOrId) answered by the persistent trie alone versus by a
// native Map memo of the same keys, measured in the same run, on portfolios of 1k/10k/30k containers
// with random 64-hex ids (like Docker's) and compose-style names. Also the one-off cost of building
// the memo, in trie lookups (the break-even). Build first (`npm run build:spec`), then
// `node scripts/bench/portfolio-lookup.mjs`. Prints ns/op (best of several rounds) and ratios.
import { newContainer } from '../../build/lib/model/container.js';
import { MEMO_AFTER_SIZES } from '../../build/lib/model/lookup-memo.js';
import { Portfolio } from '../../build/lib/model/portfolio.js';
import { rng, hexId, copyOf, measure } from './micro.mjs';

const SIZES = [1_000, 10_000, 30_000];
const OPS_PER_ROUND = 300_000;
const ROUNDS = 5;
let sink = 0;

// The Portfolio itself, 2/3 of the containers in 50 compose projects (a third unnamed). Its lookups before
// the memo: a new version (one change) answers from its tries (a version gets its memo only after
// MEMO_AFTER_SIZES × its keys lookups; one pass of n keys stays below that). After: a version asked past
// its threshold once, answering from its Map.
console.log(`node ${process.version}; best of ${ROUNDS} rounds of ~${OPS_PER_ROUND} lookups`);
console.log(['containers', 'keys', 'trie ns/op', 'memo Map ns/op', 'trie/memo', 'memo build µs', 'build = n trie lookups'].join('\t'));
for (const n of SIZES) {
  const next = rng(n);
  const containers = Array.from({ length: n }, (_, i) => newContainer({ id: hexId(next), name: `proj${i % 50}-svc${i}-1`, pid: i + 1, project: i % 3 === 0 ? '' : `proj${i % 50}` }));
  const p = Portfolio.of(containers);
  let serial = 0;
  const fresh = () => p.withContainer(newContainer({ id: `bench-${serial++}`, name: `bench-${serial}`, pid: 1 }));
  const memoised = fresh();
  // past its threshold (ids and names: 2n keys)
  for (let i = 0; i <= MEMO_AFTER_SIZES * 2 * (n + 1); i++) sink += memoised.container(containers[i % n].id) === undefined ? 0 : 1;
  // the build, timed as the lookup that makes it (one lookup more than the threshold on a fresh version)
  const buildUs =
    measure(
      () => {
        const q = fresh();
        for (let i = 0; i < MEMO_AFTER_SIZES * 2 * (n + 1); i++) sink += q.container(containers[i % n].id) === undefined ? 0 : 1;
        return q;
      },
      (q) => {
        sink += q.container(containers[0].id) === undefined ? 0 : 1;
        return 1;
      },
      20,
      3,
    ) / 1000;
  for (const [kind, temperature] of ['id', 'name', 'miss'].flatMap((k) => [[k, 'fresh'], [k, 'warm']])) {
    const keys =
      kind === 'id' ? containers.map((c) => c.id) : kind === 'name' ? containers.map((c) => c.name) : containers.map((c) => `${c.id.slice(0, 63)}g`);
    // fresh: new string copies per pass (made outside the timed part), so V8 has no cached hash for them,
    // like an id just parsed from an event; warm: the same copies every pass (a key a caller keeps asking for)
    const warmKeys = keys.map(copyOf);
    const keysOf = temperature === 'fresh' ? () => keys.map(copyOf) : () => warmKeys;
    const viaTrie = measure(
      () => ({ q: fresh(), ks: keysOf() }),
      ({ q, ks }) => {
        for (const k of ks) sink += q.container(k) === undefined ? 0 : 1;
        return ks.length;
      },
    );
    const viaMemo = measure(keysOf, (ks) => {
      for (const k of ks) sink += memoised.container(k) === undefined ? 0 : 1;
      return ks.length;
    });
    console.log([n, `${kind} (${temperature})`, viaTrie.toFixed(1), viaMemo.toFixed(1), `${(viaTrie / viaMemo).toFixed(2)}x`, buildUs.toFixed(0), Math.round((buildUs * 1000) / viaTrie)].join('\t'));
  }
}
if (sink === 0.5) console.log(sink);
