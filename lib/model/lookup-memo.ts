import type { PersistentMap } from './persistent-map.js';

/**
 * @internal Lookups a portfolio version answers from its tries, as a multiple of its keys, before
 * the memo builds its Map: the point where the lookups so far have cost about
 * what building the Map costs (see {@link LookupMemo} for the figures). Past
 * it, a portfolio asked that often is likely to be asked more, and the Map
 * repays its build; before it, a portfolio that changes never pays for a Map.
 */
export const MEMO_AFTER_SIZES = 2;

/**
 * @internal A native `Map` copy of one immutable portfolio version's lookups,
 * built only once the version has been asked often enough to repay it; until
 * then every lookup goes to the version's tries. Answers are the same either
 * way (the Map is a copy of indexes that never change). One memo per
 * version; it is the only mutable thing a `Portfolio` holds, and it holds
 * nothing but speed.
 *
 * Why it exists, measured with `node scripts/bench/portfolio-lookup.mjs`
 * (node 20.20 on a shared 2-core machine under a load of 7-9, so take ±50 %;
 * best of 5 rounds; random 64-hex ids like Docker's, compose-style names, a
 * third of the containers unnamed, the rest in 50 projects). A portfolio
 * finds a container by id in two tries (the id's project, then the project's
 * containers) and by name in three (the name's id first): the price of an
 * event writing one index of n containers instead of several (see
 * `Portfolio`). Ratios are trie time / Map time, per lookup:
 *
 * | containers | keys asked         | by id  | by name | missing | Map build, in trie lookups |
 * | ---------- | ------------------ | ------ | ------- | ------- | -------------------------- |
 * | 1,000      | same strings again | 12.1x  | 19.4x   | 13.9x   | 0.18 ms ≈ 0.3k-0.6k        |
 * | 1,000      | fresh strings      | 2.09x  | 13.5x   | 1.72x   |                            |
 * | 10,000     | same strings again | 8.08x  | 25.7x   | 6.53x   | 20 ms ≈ 15k-44k            |
 * | 10,000     | fresh strings      | 2.37x  | 8.78x   | 1.02x   |                            |
 * | 30,000     | same strings again | 7.96x  | 15.5x   | 8.82x   | 56 ms ≈ 16k-84k            |
 * | 30,000     | fresh strings      | 1.27x  | 6.30x   | 2.00x   |                            |
 *
 * From the tries a lookup costs 0.3-3.4 µs here; from the Map 25-990 ns (V8
 * caches a string's hash in the string, while a trie hashes the key on every
 * probe). Building the Map costs as much as the trie lookups in the last
 * column: hence a threshold of {@link MEMO_AFTER_SIZES} × the keys (ids and
 * names, ≈ 4n lookups: 4k, 40k, 120k), about where the lookups so far have
 * cost one build. An earlier threshold of size/8 lookups built the Map long
 * before it could repay (at 30k containers, a 24 ms pause inside one lookup
 * after 7.5k of them).
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
