// Immutable string-keyed HAMT (CHAMP layout). Pure: imports nothing.
//
// A node is `{ dataMap, nodeMap, content }`. For a trie level, each 5-bit hash
// fragment owns one bit in at most one of the two bitmaps: `dataMap` for an
// entry stored inline, `nodeMap` for a sub-node. `content` holds the inline
// entries as `key, value` pairs in bit order, then the sub-nodes in *reverse*
// bit order (so a sub-node is found with one popcount from the end).
// Once the 32-bit hash is used up (below shift 30) keys with equal hashes share
// a collision node: both bitmaps 0, `content` is plain `key, value` pairs.
// The only other node with both bitmaps 0 is the empty root.
//
// Invariants (canonical form, kept by `delete`): a sub-node holds at least two
// entries in its subtree; a sub-node that would hold one is inlined into its
// parent. Hence the shape depends only on the key set, apart from the order
// inside collision nodes. Nodes are never mutated after they are returned.

const BITS = 5;
const MASK = 31;
/** Deepest shift that still takes a fragment from the hash; deeper nodes are collision nodes. */
const MAX_SHIFT = 30;
const NOT_FOUND: unique symbol = Symbol('not found');

class Node {
  constructor(
    readonly dataMap: number,
    readonly nodeMap: number,
    readonly content: unknown[],
  ) {}
}

const EMPTY_NODE = new Node(0, 0, []);

/**
 * 32-bit string hash used by {@link PersistentMap}: FNV-1a over every char of
 * the key, in two interleaved lanes (even and odd positions, so the two
 * multiply chains run in parallel), seeded with the length, then a murmur3
 * finaliser (every input bit reaches every output bit, which the trie needs:
 * it takes 5 bits per level from the low end).
 *
 * Every char counts: keys that share long runs (Kubernetes names
 * `k8s_app_web-000123-7d9f8c6b5d-xk2pq_production_0`, long compose names,
 * common prefixes or suffixes) spread like random ids. Each FNV-1a step is a
 * bijection of the lane, so two keys of one length that differ in a single
 * char never collide. (An earlier version read only 16 chars of a long key;
 * 10,000 such names then fell into a handful of collision nodes.)
 * @internal Exported for tests; not part of the package API.
 */
export function hashKey(key: string): number {
  const n = key.length;
  let a = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  let b = 0x050c5d1f;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    a = Math.imul(a ^ key.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ key.charCodeAt(i + 1), 0x01000193);
  }
  if (i < n) a = Math.imul(a ^ key.charCodeAt(i), 0x01000193);
  let h = a ^ Math.imul(b ^ (b >>> 15), 0x2c1b3c6d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function lookup(root: Node, key: string): unknown {
  const hash = hashKey(key);
  let node = root;
  let shift = 0;
  for (;;) {
    const bit = 1 << ((hash >>> shift) & MASK);
    const { dataMap, nodeMap, content } = node;
    if ((dataMap & bit) !== 0) {
      const i = popcount(dataMap & (bit - 1)) << 1;
      return content[i] === key ? content[i + 1] : NOT_FOUND;
    }
    if ((nodeMap & bit) !== 0) {
      node = content[content.length - 1 - popcount(nodeMap & (bit - 1))] as Node;
      shift += BITS;
      continue;
    }
    if ((dataMap | nodeMap) === 0) {
      // Collision node (or the empty root): `bit` was meaningless here.
      for (let i = 0; i < content.length; i += 2) if (content[i] === key) return content[i + 1];
    }
    return NOT_FOUND;
  }
}

// --- array copies (always a fresh array; never mutate one that was published) ---

function copyWith(content: readonly unknown[], index: number, item: unknown): unknown[] {
  const out = content.slice();
  out[index] = item;
  return out;
}

function insertPair(content: readonly unknown[], i: number, key: string, value: unknown): unknown[] {
  const len = content.length;
  const out = new Array<unknown>(len + 2);
  for (let a = 0; a < i; a++) out[a] = content[a];
  out[i] = key;
  out[i + 1] = value;
  for (let a = i; a < len; a++) out[a + 2] = content[a];
  return out;
}

function removePair(content: readonly unknown[], i: number): unknown[] {
  const len = content.length;
  const out = new Array<unknown>(len - 2);
  for (let a = 0; a < i; a++) out[a] = content[a];
  for (let a = i + 2; a < len; a++) out[a - 2] = content[a];
  return out;
}

/** Replaces the pair at `i` by `node`, which lands at `j` of the result (the node area). */
function pairToNode(content: readonly unknown[], i: number, j: number, node: Node): unknown[] {
  const len = content.length;
  const out = new Array<unknown>(len - 1);
  let src = 0;
  let dst = 0;
  while (dst < i) out[dst++] = content[src++];
  src += 2;
  while (dst < j) out[dst++] = content[src++];
  out[dst++] = node;
  while (src < len) out[dst++] = content[src++];
  return out;
}

/** Replaces the node at `j` by the pair `key, value`, which lands at `i` of the result. */
function nodeToPair(content: readonly unknown[], i: number, j: number, key: unknown, value: unknown): unknown[] {
  const len = content.length;
  const out = new Array<unknown>(len + 1);
  let src = 0;
  let dst = 0;
  while (dst < i) out[dst++] = content[src++];
  out[dst++] = key;
  out[dst++] = value;
  while (src < j) out[dst++] = content[src++];
  src++;
  while (src < len) out[dst++] = content[src++];
  return out;
}

// --- updates ---

/** Set by `setIn` when it adds a key (rather than replacing a value). */
let added = false;

function merge(k1: string, v1: unknown, h1: number, k2: string, v2: unknown, h2: number, shift: number): Node {
  if (shift > MAX_SHIFT) {
    const content = new Array<unknown>(4);
    content[0] = k1;
    content[1] = v1;
    content[2] = k2;
    content[3] = v2;
    return new Node(0, 0, content);
  }
  const f1 = (h1 >>> shift) & MASK;
  const f2 = (h2 >>> shift) & MASK;
  if (f1 === f2) {
    const content = new Array<unknown>(1);
    content[0] = merge(k1, v1, h1, k2, v2, h2, shift + BITS);
    return new Node(0, 1 << f1, content);
  }
  const content = new Array<unknown>(4);
  const first = f1 < f2 ? 0 : 2;
  content[first] = k1;
  content[first + 1] = v1;
  content[2 - first] = k2;
  content[3 - first] = v2;
  return new Node((1 << f1) | (1 << f2), 0, content);
}

function setIn(node: Node, key: string, value: unknown, hash: number, shift: number): Node {
  const { dataMap, nodeMap, content } = node;
  if (shift > MAX_SHIFT) {
    for (let i = 0; i < content.length; i += 2) {
      if (content[i] === key) return content[i + 1] === value ? node : new Node(0, 0, copyWith(content, i + 1, value));
    }
    added = true;
    return new Node(0, 0, insertPair(content, content.length, key, value));
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  if ((dataMap & bit) !== 0) {
    const i = popcount(dataMap & (bit - 1)) << 1;
    const k = content[i] as string;
    const v = content[i + 1];
    if (k === key) return v === value ? node : new Node(dataMap, nodeMap, copyWith(content, i + 1, value));
    added = true;
    const child = merge(k, v, hashKey(k), key, value, hash, shift + BITS);
    const j = content.length - 2 - popcount(nodeMap & (bit - 1));
    return new Node(dataMap ^ bit, nodeMap | bit, pairToNode(content, i, j, child));
  }
  if ((nodeMap & bit) !== 0) {
    const j = content.length - 1 - popcount(nodeMap & (bit - 1));
    const child = content[j] as Node;
    const next = setIn(child, key, value, hash, shift + BITS);
    return next === child ? node : new Node(dataMap, nodeMap, copyWith(content, j, next));
  }
  added = true;
  return new Node(dataMap | bit, nodeMap, insertPair(content, popcount(dataMap & (bit - 1)) << 1, key, value));
}

function deleteIn(node: Node, key: string, hash: number, shift: number): Node {
  const { dataMap, nodeMap, content } = node;
  if (shift > MAX_SHIFT) {
    for (let i = 0; i < content.length; i += 2) {
      // May leave a single pair: the parent then inlines it.
      if (content[i] === key) return new Node(0, 0, removePair(content, i));
    }
    return node;
  }
  const bit = 1 << ((hash >>> shift) & MASK);
  if ((dataMap & bit) !== 0) {
    const i = popcount(dataMap & (bit - 1)) << 1;
    if (content[i] !== key) return node;
    if (content.length === 2) return EMPTY_NODE;
    return new Node(dataMap ^ bit, nodeMap, removePair(content, i));
  }
  if ((nodeMap & bit) !== 0) {
    const j = content.length - 1 - popcount(nodeMap & (bit - 1));
    const child = content[j] as Node;
    const next = deleteIn(child, key, hash, shift + BITS);
    if (next === child) return node;
    const nextContent = next.content;
    if (next.nodeMap === 0 && nextContent.length === 2) {
      // One entry left below: inline it here. If it would then be this node's
      // only entry, hand the small node up as is (the parent inlines it too),
      // except at the root, which must be a proper bitmap node.
      if (content.length === 1 && shift > 0) return next;
      const i = popcount(dataMap & (bit - 1)) << 1;
      return new Node(dataMap | bit, nodeMap ^ bit, nodeToPair(content, i, j, nextContent[0], nextContent[1]));
    }
    return new Node(dataMap, nodeMap, copyWith(content, j, next));
  }
  return node;
}

// --- iteration (depth first, explicit stack; deterministic for a given shape) ---

const KEYS = 0;
const VALUES = 1;
const ENTRIES = 2;
type Mode = typeof KEYS | typeof VALUES | typeof ENTRIES;

function* walk(root: Node, mode: Mode): Generator<unknown, undefined, undefined> {
  const stack: Node[] = [root];
  let node: Node | undefined;
  while ((node = stack.pop()) !== undefined) {
    const { nodeMap, content } = node;
    const dataEnd = content.length - popcount(nodeMap);
    for (let i = 0; i < dataEnd; i += 2) {
      yield mode === KEYS ? content[i] : mode === VALUES ? content[i + 1] : [content[i], content[i + 1]];
    }
    for (let j = dataEnd; j < content.length; j++) stack.push(content[j] as Node);
  }
  return undefined;
}

// --- the map ---

// Hand-off from `make` to the constructor, which keeps the public constructor
// argument-free (`new PersistentMap()` is an empty map) and the fields readonly.
let pendingRoot: Node = EMPTY_NODE;
let pendingSize = 0;

/**
 * Immutable string-keyed map with structural sharing (a hash array mapped trie):
 * `set`/`delete` return a new map in O(log32 n), sharing everything untouched.
 *
 * @internal
 */
export class PersistentMap<V> {
  static empty<V>(): PersistentMap<V> {
    return EMPTY_MAP as PersistentMap<unknown> as PersistentMap<V>;
  }

  /** Builds a map from entries in O(n log n); later duplicates win. */
  static from<V>(entries: Iterable<readonly [string, V]>): PersistentMap<V> {
    let root = EMPTY_NODE;
    let size = 0;
    for (const [key, value] of entries) {
      added = false;
      root = setIn(root, key, value, hashKey(key), 0);
      if (added) size++;
    }
    return make<V>(root, size);
  }

  readonly size: number;
  readonly #root: Node;

  constructor() {
    this.#root = pendingRoot;
    this.size = pendingSize;
    pendingRoot = EMPTY_NODE;
    pendingSize = 0;
    Object.freeze(this);
  }

  get(key: string): V | undefined {
    const found = lookup(this.#root, key);
    return found === NOT_FOUND ? undefined : (found as V);
  }

  has(key: string): boolean {
    return lookup(this.#root, key) !== NOT_FOUND;
  }

  /** Returns `this` when the key already maps to the identical value. */
  set(key: string, value: V): PersistentMap<V> {
    added = false;
    const root = setIn(this.#root, key, value, hashKey(key), 0);
    return root === this.#root ? this : make<V>(root, added ? this.size + 1 : this.size);
  }

  /** Returns `this` when the key is absent. */
  delete(key: string): PersistentMap<V> {
    const root = deleteIn(this.#root, key, hashKey(key), 0);
    if (root === this.#root) return this;
    return this.size === 1 ? PersistentMap.empty<V>() : make<V>(root, this.size - 1);
  }

  /**
   * @internal Diagnostic of the trie's shape, for specs and benchmarks: the
   * deepest level holding an entry (the root is level 0) and the most entries
   * in one collision node (0 when there is none). O(n).
   */
  static shapeOf(map: PersistentMap<unknown>): { readonly depth: number; readonly largestCollision: number } {
    let depth = 0;
    let largestCollision = 0;
    const stack: [Node, number][] = [[map.#root, 0]];
    let top: [Node, number] | undefined;
    while ((top = stack.pop()) !== undefined) {
      const [node, level] = top;
      const { dataMap, nodeMap, content } = node;
      if ((dataMap | nodeMap) === 0 && level > 0) largestCollision = Math.max(largestCollision, content.length / 2);
      const dataEnd = content.length - popcount(nodeMap);
      if (dataEnd > 0) depth = Math.max(depth, level);
      for (let j = dataEnd; j < content.length; j++) stack.push([content[j] as Node, level + 1]);
    }
    return { depth, largestCollision };
  }

  keys(): IterableIterator<string> {
    return walk(this.#root, KEYS) as IterableIterator<string>;
  }

  values(): IterableIterator<V> {
    return walk(this.#root, VALUES) as IterableIterator<V>;
  }

  entries(): IterableIterator<[string, V]> {
    return walk(this.#root, ENTRIES) as IterableIterator<[string, V]>;
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return walk(this.#root, ENTRIES) as IterableIterator<[string, V]>;
  }
}

function make<V>(root: Node, size: number): PersistentMap<V> {
  if (size === 0) return PersistentMap.empty<V>();
  pendingRoot = root;
  pendingSize = size;
  return new PersistentMap<V>();
}

const EMPTY_MAP = new PersistentMap<never>();
