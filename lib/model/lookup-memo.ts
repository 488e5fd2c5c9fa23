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
 * Why it exists, measured with `node scripts/bench/portfolio-lookup.mjs`
 * (node 20.20 on a shared 2-core machine under a load of 5-10, so take ±50 %;
 * best of 5 rounds; random 64-hex ids like Docker's, compose-style names; an
 * index holds ids and names, ~2n keys), after `hashKey` began to read every
 * char of a key. Ratios are trie time / Map time, per lookup:
 *
 * | containers | keys asked         | by id | by name | missing | Map build, in trie lookups |
 * | ---------- | ------------------ | ----- | ------- | ------- | -------------------------- |
 * | 1,000      | same strings again | 4.69x | 5.87x   | 13.2x   | 0.12 ms ≈ 0.5k-1.4k        |
 * | 1,000      | fresh strings      | 0.72x | 1.31x   | 1.17x   |                            |
 * | 10,000     | same strings again | 2.30x | 2.76x   | 3.57x   | 11 ms ≈ 24k-127k           |
 * | 10,000     | fresh strings      | 0.80x | 1.73x   | 0.78x   |                            |
 * | 30,000     | same strings again | 9.50x | 2.40x   | 3.03x   | 21 ms ≈ 27k-139k           |
 * | 30,000     | fresh strings      | 1.19x | 1.12x   | 0.49x   |                            |
 *
 * A caller that asks for the same keys again and again (names from its own
 * configuration, a view re-rendering) gets lookups 2.3-13x faster from the
 * Map (12-120 ns against 85-580 ns): V8 caches a string's hash in the string,
 * while the trie hashes the key on every lookup. A string never hashed before
 * (an id just parsed from an event or a log) now costs about the same either
 * way (0.5-1.7x: both hash every char; before the trie read only 16 chars and
 * was 0.4-1.0x of the Map). Building the Map costs as much as the trie
 * lookups in the last column: hence a threshold of {@link MEMO_AFTER_SIZES}
 * × the index size (≈ 4n lookups: 4k, 40k, 120k), about where the lookups so
 * far have cost one build. An earlier threshold of size/8 lookups built the
 * Map long before it could repay (at 30k containers, a 24 ms pause inside one
 * lookup after 7.5k of them). The memo still pays with the full hash (more so
 * for keys asked again); it stays.
 */
export class LookupMemo<V> {
  /** Lookups answered by the index so far (counts only until the Map exists). */
  #lookups = 0;
  /** The Map copy of the index, once built. */
  #map: Map<string, V> | undefined;

  /** A memo of one immutable index (build the Map after `after` lookups; default: {@link MEMO_AFTER_SIZES} × its size; `Infinity`: never). */
  static of<V>(index: PersistentMap<V>, after = MEMO_AFTER_SIZES * index.size): LookupMemo<V> {
    return new LookupMemo((key) => index.get(key), () => new Map(index.entries()), after);
  }

  constructor(
    /** The answer from the immutable indexes, without the Map. */
    private readonly lookup: (key: string) => V | undefined,
    /** Makes the Map: every key `lookup` answers, with the same answer. */
    private readonly build: () => Map<string, V>,
    /** Lookups after which the Map is built. */
    private readonly after: number,
  ) {}

  /** The value at `key`, from the Map once built, else from the indexes. */
  get(key: string): V | undefined {
    const map = this.#map;
    if (map !== undefined) return map.get(key);
    if (++this.#lookups > this.after) return (this.#map = this.build()).get(key);
    return this.lookup(key);
  }

  /** True once the Map has been built. */
  get built(): boolean {
    return this.#map !== undefined;
  }
}
