#!/usr/bin/env node
// Micro-benchmark: Portfolio.container(nameOrId) answered by the persistent trie alone versus by a
// native Map memo of the same keys, measured in the same run, on portfolios of 1k/10k/30k containers
// with random 64-hex ids (like Docker's) and compose-style names. Also the one-off cost of building
// the memo, in trie lookups (the break-even). Build first (`npm run build:spec`), then
// `node scripts/bench/portfolio-lookup.mjs`. Prints ns/op (best of several rounds) and ratios.
import { newContainer } from '../../build/lib/model/container.js';
import { PersistentMap } from '../../build/lib/model/persistent-map.js';
import { rng, hexId, copyOf, measure } from './micro.mjs';

const SIZES = [1_000, 10_000, 30_000];
const OPS_PER_ROUND = 300_000;
const ROUNDS = 5;
let sink = 0;



// The Portfolio's own index (ids and names in one PersistentMap, an id winning over an equal name) is
// private; rebuilding it here the same way keeps the bench independent of whether the class memoises.
function indexOf(containers) {
  let byKey = PersistentMap.empty();
  for (const c of containers) byKey = byKey.set(c.id, c);
  for (const c of containers) if (byKey.get(c.name) === undefined) byKey = byKey.set(c.name, c);
  return byKey;
}

console.log(`node ${process.version}; best of ${ROUNDS} rounds of ~${OPS_PER_ROUND} lookups`);
console.log(['containers', 'keys', 'trie ns/op', 'memo Map ns/op', 'trie/memo', 'memo build µs', 'build = n trie lookups'].join('\t'));
for (const n of SIZES) {
  const next = rng(n);
  const containers = Array.from({ length: n }, (_, i) => newContainer({ id: hexId(next), name: `proj${i % 50}-svc${i}-1`, pid: i + 1 }));
  const trie = indexOf(containers);
  const memo = new Map(trie.entries());
  const buildUs = measure(
    () => trie,
    (t) => {
      sink += new Map(t.entries()).size;
      return 1;
    },
    20,
  ) / 1000;
  for (const [kind, temperature] of ['id', 'name', 'miss'].flatMap((k) => [[k, 'fresh'], [k, 'warm']])) {
    const keys =
      kind === 'id' ? containers.map((c) => c.id) : kind === 'name' ? containers.map((c) => c.name) : containers.map((c) => `${c.id.slice(0, 63)}g`);
    // fresh: new string copies per pass (made outside the timed part), so V8 has no cached hash for them,
    // like an id just parsed from an event; warm: the same copies every pass (a key a caller keeps asking for)
    const warmKeys = keys.map(copyOf);
    const fresh = temperature === 'fresh' ? () => keys.map(copyOf) : () => warmKeys;
    const viaTrie = measure(fresh, (ks) => {
      for (const k of ks) sink += trie.get(k) === undefined ? 0 : 1;
      return ks.length;
    });
    const viaMemo = measure(fresh, (ks) => {
      for (const k of ks) sink += memo.get(k) === undefined ? 0 : 1;
      return ks.length;
    });
    console.log([n, `${kind} (${temperature})`, viaTrie.toFixed(1), viaMemo.toFixed(1), `${(viaTrie / viaMemo).toFixed(2)}x`, buildUs.toFixed(0), Math.round((buildUs * 1000) / viaTrie)].join('\t'));
  }
}
if (sink === 0.5) console.log(sink);
