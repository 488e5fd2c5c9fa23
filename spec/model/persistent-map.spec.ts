import { expect } from 'chai';
import fc from 'fast-check';
import { PersistentMap, hashKey } from '../../lib/model/persistent-map.js';

// --- fixtures ---

const SPECIAL_KEYS = Object.freeze(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '', ' ', '0', 'length', '\u0000', '\ud83d\udc33']);

/** Container-id-like keys: 64 lowercase hex chars. */
const hexId = (n: number): string => {
  let s = '';
  let x = (n + 1) >>> 0;
  while (s.length < 64) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
    s += (x & 0xffff).toString(16).padStart(4, '0');
  }
  return s.slice(0, 64);
};

/**
 * Three keys with one 32-bit hash, found once by a search over `w0`…`w12000000`
 * (a 3-way birthday collision; `hashKey` reads every char, so there is no
 * cheaper way). A fixture, checked below: if the hash changes, search again.
 */
const TRIPLE = Object.freeze(['w783405', 'w4555895', 'w10126700']);

/** Two short keys whose full 32-bit hashes are equal (found by the birthday bound). */
function birthdayCollision(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const key = `k${i}`;
    const other = seen.get(hashKey(key));
    if (other !== undefined) return [other, key];
    seen.set(hashKey(key), key);
  }
}

const COLLIDING = TRIPLE;
const BIRTHDAY = Object.freeze(birthdayCollision());

/** Checks a map against a native Map model, including keys that must be absent. */
function expectSameAs<V>(map: PersistentMap<V>, model: ReadonlyMap<string, V>, absent: readonly string[] = []): void {
  expect(map.size).to.equal(model.size);
  for (const [k, v] of model) {
    expect(map.has(k), `has(${JSON.stringify(k)})`).to.equal(true);
    expect(map.get(k), `get(${JSON.stringify(k)})`).to.equal(v);
  }
  for (const k of absent) {
    if (!model.has(k)) {
      expect(map.has(k), `has(${JSON.stringify(k)})`).to.equal(false);
      expect(map.get(k)).to.equal(undefined);
    }
  }
  const entries = [...map];
  expect(entries).to.have.length(model.size);
  expect(new Map(entries)).to.deep.equal(new Map(model));
  expect([...map.keys()]).to.deep.equal(entries.map(([k]) => k));
  expect([...map.values()]).to.deep.equal(entries.map(([, v]) => v));
  expect([...map.entries()]).to.deep.equal(entries);
}

// --- specs ---

describe('PersistentMap', () => {
  describe('hashKey', () => {
    it('is a deterministic int32', () => {
      for (const key of [...SPECIAL_KEYS, hexId(1), 'x'.repeat(1000)]) {
        const h = hashKey(key);
        expect(h).to.equal(hashKey(key));
        expect(h).to.equal(h | 0);
      }
    });

    it('tells apart container ids and short names', () => {
      const keys = [...Array.from({ length: 10_000 }, (_, i) => hexId(i)), ...Array.from({ length: 10_000 }, (_, i) => `web-${i}`)];
      const hashes = new Set(keys.map(hashKey));
      expect(hashes.size).to.be.greaterThan(keys.length - 5);
    });

    it('provides the colliding fixtures', () => {
      expect(new Set(COLLIDING).size).to.equal(COLLIDING.length);
      expect(new Set(COLLIDING.map(hashKey)).size).to.equal(1);
      expect(BIRTHDAY[0]).to.not.equal(BIRTHDAY[1]);
      expect(hashKey(BIRTHDAY[0])).to.equal(hashKey(BIRTHDAY[1]));
    });
  });

  describe('basics', () => {
    it('empty() is empty and shared', () => {
      const e = PersistentMap.empty<number>();
      expect(e.size).to.equal(0);
      expect(e.get('a')).to.equal(undefined);
      expect(e.has('')).to.equal(false);
      expect([...e]).to.deep.equal([]);
      expect(PersistentMap.empty<string>()).to.equal(e);
      expect(new PersistentMap<number>().size).to.equal(0);
    });

    it('is frozen', () => {
      const m = PersistentMap.empty<number>().set('a', 1);
      expect(Object.isFrozen(m)).to.equal(true);
      expect(Object.isFrozen(PersistentMap.empty())).to.equal(true);
      expect(() => {
        (m as { size: number }).size = 5;
      }).to.throw(TypeError);
    });

    const cases: { name: string; build: () => PersistentMap<unknown>; expected: [string, unknown][]; absent: string[] }[] = [
      { name: 'one entry', build: () => PersistentMap.empty().set('a', 1), expected: [['a', 1]], absent: ['b', ''] },
      { name: 'replace a value', build: () => PersistentMap.empty().set('a', 1).set('a', 2), expected: [['a', 2]], absent: [] },
      { name: 'delete the only entry', build: () => PersistentMap.empty().set('a', 1).delete('a'), expected: [], absent: ['a'] },
      { name: 'undefined as a value', build: () => PersistentMap.empty().set('u', undefined), expected: [['u', undefined]], absent: ['v'] },
      {
        name: 'prototype-ish and odd keys',
        build: () => SPECIAL_KEYS.reduce((m, k, i) => m.set(k, i), PersistentMap.empty()),
        expected: SPECIAL_KEYS.map((k, i) => [k, i]),
        absent: ['__proto', 'Constructor'],
      },
      { name: 'prototype-ish keys are absent from an empty-ish map', build: () => PersistentMap.empty().set('x', 1), expected: [['x', 1]], absent: [...SPECIAL_KEYS] },
      {
        name: 'from(): later duplicates win',
        build: () => PersistentMap.from<unknown>([['a', 1], ['b', 2], ['a', 3]]),
        expected: [['a', 3], ['b', 2]],
        absent: ['c'],
      },
      { name: 'from(): empty', build: () => PersistentMap.from<unknown>([]), expected: [], absent: ['a'] },
      {
        name: 'colliding keys (a three-way collision node)',
        build: () => PersistentMap.from<unknown>(COLLIDING.map((k, i) => [k, i])),
        expected: COLLIDING.map((k, i) => [k, i]),
        absent: [`${COLLIDING[0]}!`],
      },
      {
        name: 'colliding keys minus some',
        build: () => PersistentMap.from<unknown>(COLLIDING.map((k, i) => [k, i])).delete(COLLIDING[1]!),
        expected: COLLIDING.flatMap((k, i): [string, unknown][] => (i === 1 ? [] : [[k, i]])),
        absent: [COLLIDING[1]!],
      },
      {
        name: 'colliding short keys (full hash)',
        build: () => PersistentMap.empty().set(BIRTHDAY[0], 'first').set('other', 0).set(BIRTHDAY[1], 'second'),
        expected: [[BIRTHDAY[0], 'first'], ['other', 0], [BIRTHDAY[1], 'second']],
        absent: ['k'],
      },
      {
        name: 'collision collapses when one of two is deleted',
        build: () => PersistentMap.empty().set(BIRTHDAY[0], 1).set(BIRTHDAY[1], 2).delete(BIRTHDAY[0]),
        expected: [[BIRTHDAY[1], 2]],
        absent: [BIRTHDAY[0]],
      },
      {
        name: '10,000 container ids',
        build: () => PersistentMap.from<unknown>(Array.from({ length: 10_000 }, (_, i) => [hexId(i), i])),
        expected: Array.from({ length: 10_000 }, (_, i) => [hexId(i), i]),
        absent: [hexId(-5), hexId(10_000)],
      },
    ];
    for (const { name, build, expected, absent } of cases) {
      it(name, () => expectSameAs(build(), new Map(expected), absent)).timeout(20_000);
    }
  });

  describe('identity for no-ops', () => {
    const value = { id: 'v' };
    const base = PersistentMap.from<unknown>([['a', value], ['b', 2], ['', 0], ['__proto__', null], [BIRTHDAY[0], 'b0'], ...COLLIDING.slice(0, 2).map((k, i): [string, unknown] => [k, i])]);
    const cases: { name: string; op: (m: PersistentMap<unknown>) => PersistentMap<unknown>; same: boolean }[] = [
      { name: 'set to the identical object', op: (m) => m.set('a', value), same: true },
      { name: 'set to an equal but different object', op: (m) => m.set('a', { id: 'v' }), same: false },
      { name: 'set the identical number', op: (m) => m.set('b', 2), same: true },
      { name: "set '' to its value", op: (m) => m.set('', 0), same: true },
      { name: "set '__proto__' to its value", op: (m) => m.set('__proto__', null), same: true },
      { name: 'set a colliding key to its value', op: (m) => m.set(COLLIDING[1]!, 1), same: true },
      { name: 'set a colliding key to another value', op: (m) => m.set(COLLIDING[1]!, 4), same: false },
      { name: 'delete an absent key', op: (m) => m.delete('zz'), same: true },
      { name: 'delete an absent key colliding with present ones', op: (m) => m.delete(COLLIDING[2]!), same: true },
      { name: 'delete an absent key whose slot holds another key', op: (m) => m.delete(BIRTHDAY[1]), same: true },
      { name: 'delete a present key', op: (m) => m.delete('b'), same: false },
    ];
    for (const { name, op, same } of cases) {
      it(`${name} ${same ? 'returns this' : 'returns a new map'}`, () => {
        if (same) expect(op(base)).to.equal(base);
        else expect(op(base)).to.not.equal(base);
      });
    }

    it('delete on the empty map returns it', () => {
      const e = PersistentMap.empty<number>();
      expect(e.delete('a')).to.equal(e);
      expect(e.delete('')).to.equal(e);
    });

    it('deleting the last entry gives the shared empty map', () => {
      expect(PersistentMap.empty<number>().set('a', 1).delete('a')).to.equal(PersistentMap.empty());
    });
  });

  describe('persistence', () => {
    it('leaves older versions unchanged', () => {
      const v0 = PersistentMap.from(Array.from({ length: 500 }, (_, i): [string, number] => [`k${i}`, i]));
      const v1 = v0.set('k1', -1).set('new', 1).delete('k2');
      const v2 = v1.delete('k3').set(COLLIDING[0]!, 0).set(COLLIDING[1]!, 1);
      const v3 = v2.delete(COLLIDING[0]!);
      expect(v0.get('k1')).to.equal(1);
      expect(v0.has('new')).to.equal(false);
      expect(v0.get('k2')).to.equal(2);
      expect(v0.size).to.equal(500);
      expect(v1.get('k3')).to.equal(3);
      expect(v1.has(COLLIDING[0]!)).to.equal(false);
      expect(v1.size).to.equal(500);
      expect(v2.get(COLLIDING[0]!)).to.equal(0);
      expect(v2.size).to.equal(501);
      expect(v3.get(COLLIDING[1]!)).to.equal(1);
      expect(v3.has(COLLIDING[0]!)).to.equal(false);
      expect(v3.size).to.equal(500);
    });
  });

  describe('iteration', () => {
    it('is the same for equal key sets built in different orders (no collisions)', () => {
      const keys = Array.from({ length: 300 }, (_, i) => (i % 2 ? hexId(i) : `svc-${i}`));
      const forward = PersistentMap.from(keys.map((k): [string, number] => [k, 1]));
      const backward = keys
        .slice()
        .reverse()
        .reduce((m, k) => m.set(k, 1).set(`tmp-${k}`, 2), PersistentMap.empty<number>());
      const cleaned = keys.reduce((m, k) => m.delete(`tmp-${k}`), backward);
      expect([...cleaned.keys()]).to.deep.equal([...forward.keys()]);
    });

    it('yields fresh entry tuples', () => {
      const m = PersistentMap.empty<number>().set('a', 1);
      const [first] = [...m];
      first![1] = 99;
      expect(m.get('a')).to.equal(1);
      expect([...m]).to.deep.equal([['a', 1]]);
    });
  });

  describe('keys sharing long runs (adversarial key sets)', function () {
    this.timeout(60_000);
    const pad = (i: number) => String(i).padStart(6, '0');
    const LONG = 'averyveryverylongcomposeprojectname_and_a_service';
    const SETS: Record<string, (n: number) => string[]> = {
      'random 64-hex ids': (n) => Array.from({ length: n }, (_, i) => hexId(i)),
      'Kubernetes-style names': (n) => Array.from({ length: n }, (_, i) => `k8s_app_web-${pad(i)}-7d9f8c6b5d-xk2pq_production_0`),
      'long compose-style names': (n) => Array.from({ length: n }, (_, i) => `averylongcomposeprojectname-backend-worker-${i + 1}`),
      'a shared 48-char prefix': (n) => Array.from({ length: n }, (_, i) => `${'p'.repeat(48)}${i}`),
      'a shared 48-char suffix': (n) => Array.from({ length: n }, (_, i) => `${i}${'s'.repeat(48)}`),
      'one char differing, anywhere': (n) =>
        Array.from({ length: n }, (_, i) => {
          const at = i % LONG.length;
          return LONG.slice(0, at) + String.fromCharCode(0x100 + Math.floor(i / LONG.length)) + LONG.slice(at + 1);
        }),
    };
    const N = 10_000;
    for (const [name, make] of Object.entries(SETS)) {
      it(`${N.toLocaleString('en')} keys with ${name}: the answers of a Map, no collision node, depth ≤ log32(n) + 3`, () => {
        const keys = make(N);
        expect(new Set(keys).size).to.equal(N);
        const map = PersistentMap.from(keys.map((k, i): [string, number] => [k, i]));
        expectSameAs(map, new Map(keys.map((k, i) => [k, i])), keys.map((k) => `${k}x`));
        const shape = PersistentMap.shapeOf(map);
        // random 32-bit hashes of 10k keys: a full collision has odds of ~1 %, a level past 6 far less
        expect(shape.largestCollision).to.be.at.most(2);
        expect(shape.depth).to.be.at.most(Math.ceil(Math.log(N) / Math.log(32)) + 3);
        expect(new Set(keys.map(hashKey)).size).to.be.at.least(N - 2);
      });
    }

    it('never collides on two keys of one length that differ in one char (fast-check)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }), fc.nat(), fc.integer({ min: 1, max: 0xfffe }), (base, at, delta) => {
          const i = at % base.length;
          const other = String.fromCharCode((base.charCodeAt(i) + delta) % 0xffff);
          fc.pre(other !== base[i]);
          const variant = base.slice(0, i) + other + base.slice(i + 1);
          expect(hashKey(variant)).to.not.equal(hashKey(base));
        }),
        { numRuns: 2000 },
      );
    });

    it('matches a native Map under set/delete of keys sharing a random long run (fast-check)', () => {
      const family = fc.record({
        run: fc.string({ minLength: 20, maxLength: 60 }),
        where: fc.constantFrom('prefix' as const, 'suffix' as const, 'middle' as const),
        n: fc.integer({ min: 1, max: 400 }),
      });
      fc.assert(
        fc.property(family, fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 600 }), ({ run, where, n }, ops) => {
          const key = (i: number) => (where === 'prefix' ? `${run}${i}` : where === 'suffix' ? `${i}${run}` : `${run.slice(0, 10)}${i}${run.slice(10)}`);
          let map = PersistentMap.from(Array.from({ length: n }, (_, i): [string, number] => [key(i), i]));
          const model = new Map(Array.from({ length: n }, (_, i) => [key(i), i]));
          for (const [del, x] of ops) {
            const k = key(x % (2 * n));
            if (del) {
              map = map.delete(k);
              model.delete(k);
            } else {
              map = map.set(k, x);
              model.set(k, x);
            }
          }
          expectSameAs(map, model, [key(2 * n), key(-1)]);
          expect(PersistentMap.shapeOf(map).largestCollision).to.be.at.most(2);
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('against a native Map (fast-check)', function () {
    // Hundreds of generated runs each: allow for a busy machine.
    this.timeout(60_000);
    type Op = { type: 'set'; key: string; value: number } | { type: 'delete'; key: string };
    const POOL = Object.freeze([...SPECIAL_KEYS, ...COLLIDING, ...BIRTHDAY, 'a', 'b', 'c', 'ab', 'ba', hexId(1), hexId(2), hexId(3)]);
    const opArb = (key: fc.Arbitrary<string>): fc.Arbitrary<Op> =>
      fc.oneof(
        fc.record({ type: fc.constant('set' as const), key, value: fc.integer({ min: 0, max: 3 }) }),
        fc.record({ type: fc.constant('delete' as const), key }),
      );

    /** Replays ops, checking every step and the no-op identities; returns all versions with their models. */
    function replay(ops: readonly Op[], absent: readonly string[]): [PersistentMap<number>, Map<string, number>][] {
      let map = PersistentMap.empty<number>();
      const model = new Map<string, number>();
      const versions: [PersistentMap<number>, Map<string, number>][] = [[map, new Map()]];
      for (const op of ops) {
        const prev = map;
        if (op.type === 'set') {
          const noop = model.has(op.key) && model.get(op.key) === op.value;
          map = map.set(op.key, op.value);
          model.set(op.key, op.value);
          expect(map === prev).to.equal(noop);
        } else {
          const noop = !model.has(op.key);
          map = map.delete(op.key);
          model.delete(op.key);
          expect(map === prev).to.equal(noop);
        }
        expect(map.size).to.equal(model.size);
        expect(map.get(op.key)).to.equal(model.get(op.key));
        expect(map.has(op.key)).to.equal(model.has(op.key));
        versions.push([map, new Map(model)]);
      }
      expectSameAs(map, model, absent);
      return versions;
    }

    it('matches on a small key pool with collisions', () => {
      fc.assert(
        fc.property(fc.array(opArb(fc.constantFrom(...POOL)), { maxLength: 200 }), (ops) => {
          replay(ops, POOL);
        }),
        { numRuns: 300 },
      );
    });

    it('matches on arbitrary strings', () => {
      const key = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(...POOL));
      fc.assert(
        fc.property(fc.array(opArb(key), { maxLength: 300 }), (ops) => {
          replay(ops, ops.map((op) => `${op.key}?`));
        }),
        { numRuns: 200 },
      );
    });

    it('keeps every older version intact', () => {
      fc.assert(
        fc.property(fc.array(opArb(fc.constantFrom(...POOL)), { maxLength: 120 }), (ops) => {
          const versions = replay(ops, POOL);
          for (const [map, model] of versions) expectSameAs(map, model, POOL);
        }),
        { numRuns: 100 },
      );
    });

    it('has a canonical shape: iteration order depends only on the key set', () => {
      const pool = POOL.filter((k) => !COLLIDING.includes(k) && !BIRTHDAY.includes(k));
      fc.assert(
        fc.property(fc.array(opArb(fc.constantFrom(...pool)), { maxLength: 200 }), (ops) => {
          const versions = replay(ops, pool);
          const [map, model] = versions.at(-1)!;
          const rebuilt = PersistentMap.from([...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
          expect([...map.keys()]).to.deep.equal([...rebuilt.keys()]);
        }),
        { numRuns: 200 },
      );
    });

    it('grows to thousands and shrinks back to empty in any order', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer(), (n, seed) => {
          const keys = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? hexId(i + seed) : `name-${i}`));
          const unique = [...new Set(keys)];
          let map = PersistentMap.from(keys.map((k): [string, string] => [k, k]));
          expect(map.size).to.equal(unique.length);
          // Deterministic shuffle from the seed.
          let x = seed >>> 0 || 1;
          for (let i = unique.length - 1; i > 0; i--) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            const j = (x >>> 0) % (i + 1);
            [unique[i], unique[j]] = [unique[j]!, unique[i]!];
          }
          for (const [i, k] of unique.entries()) {
            map = map.delete(k);
            expect(map.has(k)).to.equal(false);
            expect(map.size).to.equal(unique.length - i - 1);
          }
          expect(map).to.equal(PersistentMap.empty());
        }),
        { numRuns: 20 },
      );
    });
  });
});
