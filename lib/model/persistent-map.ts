// Placeholder API; implementation to come (HAMT). See the contract in the doc comments.
/**
 * Immutable string-keyed map with structural sharing (a hash array mapped trie):
 * `set`/`delete` return a new map in O(log32 n), sharing everything untouched.
 */
export declare class PersistentMap<V> {
  static empty<V>(): PersistentMap<V>;
  /** Builds a map from entries in O(n log n); later duplicates win. */
  static from<V>(entries: Iterable<readonly [string, V]>): PersistentMap<V>;
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  /** Returns `this` when the key already maps to the identical value. */
  set(key: string, value: V): PersistentMap<V>;
  /** Returns `this` when the key is absent. */
  delete(key: string): PersistentMap<V>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[string, V]>;
  [Symbol.iterator](): IterableIterator<[string, V]>;
}
