import type { PersistentMap } from './persistent-map.js';

/**
 * @internal Lookups an index answers from its trie, as a multiple of its size, before
 * the memo builds its Map: the point where the lookups so far have cost about
 * what building the Map costs (see {@link LookupMemo} for the figures). Past
 * it, a portfolio asked that often is likely to be asked more, and the Map
 * repays its build; before it, a portfolio that changes never pays for a Map.
 */
export const MEMO_AFTER_SIZES = 2;

/**
 * @internal A native `Map` copy of one immutable index, built only once the
 * index has been asked often enough to repay it; until then every lookup goes
 * to the index. Answers are the same either way (the Map is a copy of an
 * index that never changes). One memo per index version; it is the only
 * mutable thing a `Portfolio` holds, and it holds nothing but speed.
 *
 * Why it exists, measured in one run of `node scripts/bench/portfolio-lookup.mjs`
 * (node 20.20 on a shared 2-core machine, best of 5 rounds; random 64-hex ids
 * like Docker's, compose-style names; an index holds ids and names, ~2n keys).
 * Ratios are trie time / Map time, per lookup:
 *
 * | containers | keys asked         | by id | by name | missing | Map build, in trie lookups |
 * | ---------- | ------------------ | ----- | ------- | ------- | -------------------------- |
 * | 1,000      | same strings again | 2.58x | 4.65x   | 2.68x   | 0.18 ms ≈ 1.9k-3.7k        |
 * | 1,000      | fresh strings      | 0.37x | 1.14x   | 0.37x   |                            |
 * | 10,000     | same strings again | 2.28x | 2.26x   | 2.34x   | 5.6 ms ≈ 27k-103k          |
 * | 10,000     | fresh strings      | 0.60x | 0.99x   | 0.50x   |                            |
 * | 30,000     | same strings again | 2.57x | 2.25x   | 1.26x   | 24 ms ≈ 71k-358k           |
 * | 30,000     | fresh strings      | 0.71x | 0.83x   | 0.54x   |                            |
 *
 * A caller that asks for the same keys again and again (names from its own
 * configuration, a view re-rendering) gets lookups 1.3-4.7x faster from the
 * Map (15-54 ns against 48-123 ns): V8 caches a string's hash in the string.
 * A string never hashed before (an id just parsed from an event or a log) is
 * cheaper in the trie, which reads 16 of its chars, than in the Map, which
 * hashes all 64. Building the Map costs as much as the trie lookups in the
 * last column: hence a threshold of {@link MEMO_AFTER_SIZES} × the index size
 * (≈ 4n lookups: 4k, 40k, 120k), about where the lookups so far have cost
 * one build. An earlier threshold of size/8 lookups built the Map long before
 * it could repay (at 30k containers, a 24 ms pause inside one lookup after
 * 7.5k of them).
 */
export class LookupMemo<V> {
  /** Lookups answered by the index so far (counts only until the Map exists). */
  #lookups = 0;
  /** The Map copy of the index, once built. */
  #map: Map<string, V> | undefined;
  /** Lookups after which the Map is built. */
  readonly #after: number;

  constructor(
    /** The index this memo answers for; immutable. */
    private readonly index: PersistentMap<V>,
    /** Build the Map after this many lookups (default: {@link MEMO_AFTER_SIZES} × the index size; `Infinity`: never). */
    after = MEMO_AFTER_SIZES * index.size,
  ) {
    this.#after = after;
  }

  /** The value at `key`, from the Map once built, else from the index. */
  get(key: string): V | undefined {
    const map = this.#map;
    if (map !== undefined) return map.get(key);
    if (++this.#lookups > this.#after) return (this.#map = new Map(this.index.entries())).get(key);
    return this.index.get(key);
  }

  /** True once the Map has been built. */
  get built(): boolean {
    return this.#map !== undefined;
  }
}
