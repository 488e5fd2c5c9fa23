import { expect } from 'chai';
import fc from 'fast-check';
import { LookupMemo, MEMO_AFTER_SIZES } from '../../lib/model/lookup-memo.js';
import { type Container, newContainer } from '../../lib/model/container.js';
import { PersistentMap } from '../../lib/model/persistent-map.js';
import { Portfolio } from '../../lib/model/portfolio.js';

/** Keys a Map or a trie could get wrong: prototype names, the empty string, near-duplicates. */
const SPECIAL = ['', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a', 'A', 'a ', 'aa'];
const hex = (i: number) => i.toString(16).padStart(8, '0').repeat(8); // 64 hex chars, like a Docker id

describe('LookupMemo', () => {
  it('answers from the index until `after` lookups, then builds its Map once', () => {
    const index = PersistentMap.from<number>([['a', 1], ['b', 2]]);
    const memo = LookupMemo.of(index, 3);
    const built: boolean[] = [];
    for (const k of ['a', 'b', 'x', 'a', 'b']) {
      memo.get(k);
      built.push(memo.built);
    }
    expect(built).to.deep.equal([false, false, false, true, true]);
  });

  it(`builds by default after ${MEMO_AFTER_SIZES} × the index size lookups, and never with Infinity`, () => {
    const index = PersistentMap.from<number>(Array.from({ length: 50 }, (_, i) => [`k${i}`, i] as const));
    const memo = LookupMemo.of(index);
    const never = LookupMemo.of(index, Infinity);
    for (let i = 0; i < MEMO_AFTER_SIZES * 50; i++) {
      memo.get(`k${i % 60}`);
      never.get(`k${i % 60}`);
    }
    expect(memo.built).to.equal(false);
    memo.get('k0');
    never.get('k0');
    expect(memo.built).to.equal(true);
    expect(never.built).to.equal(false);
  });

  it('gives the same answers with the Map built at once, never, or on the way, for any keys (fast-check)', () => {
    const key = fc.oneof(fc.constantFrom(...SPECIAL, hex(1), hex(2)), fc.string({ maxLength: 4 }), fc.integer({ min: 0, max: 20 }).map(hex));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.integer()), { maxLength: 60 }), fc.array(key, { maxLength: 200 }), fc.nat(100), (entries, queries, after) => {
        const index = PersistentMap.from(entries);
        const atOnce = LookupMemo.of(index, 0);
        const never = LookupMemo.of(index, Infinity);
        const onTheWay = LookupMemo.of(index, after);
        for (const q of [...queries, ...entries.map(([k]) => k), ...queries, 'the last one']) {
          const expected = index.get(q);
          expect(atOnce.get(q), q).to.equal(expected);
          expect(never.get(q), q).to.equal(expected);
          expect(onTheWay.get(q), q).to.equal(expected);
        }
        expect(atOnce.built).to.equal(true);
        expect(never.built).to.equal(false);
      }),
    );
  });
});

describe('Portfolio lookups with and without the memo (fast-check)', () => {
  type Op = { type: 'put'; id: number; name: number; project: number } | { type: 'remove'; id: number };
  // ids and names share one small pool, so names collide with each other and with ids
  const POOL = ['a', 'b', 'c', 'web', 'db', '__proto__', '', hex(7), hex(8)];
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ type: fc.constant('put' as const), id: fc.nat(POOL.length - 1), name: fc.nat(POOL.length - 1), project: fc.nat(2) }),
    fc.record({ type: fc.constant('remove' as const), id: fc.nat(POOL.length - 1) }),
  );

  it('answers every key the same before and after its memo is built, in every version', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let p = Portfolio.EMPTY;
        for (const o of ops) {
          const id = POOL[o.id] as string;
          p =
            o.type === 'remove'
              ? p.withoutContainer(id)
              : p.withContainer(newContainer({ id, name: POOL[o.name] as string, pid: 1, project: ['', 'p', 'q'][o.project] as string }));
          // the portfolio's own indexes, read past TypeScript's `private` for the comparison
          const { where, names } = p as unknown as { where: PersistentMap<string>; names: PersistentMap<string> };
          const byId = (id: string) => (where.get(id) === undefined ? undefined : p.project(where.get(id) as string)?.byId.get(id));
          const without = (k: string) => byId(k) ?? byId(names.get(k) ?? '\u0000none');
          const keys = [...POOL, 'missing', hex(9)];
          // enough rounds to take the portfolio past its threshold: the first answers come from the trie, the last from the Map
          const rounds = Math.ceil((MEMO_AFTER_SIZES * (where.size + names.size) + 1) / keys.length) + 1;
          for (let r = 0; r < rounds; r++) {
            for (const k of keys) expect(p.container(k), `${k} in round ${r}`).to.equal(without(k));
          }
          // and the answers are the documented ones: an id first, else a name
          for (const k of keys) {
            const byId = p.containers.find((c) => c.id === k);
            if (byId !== undefined) expect(p.container(k)).to.equal(byId);
            else if (p.container(k) !== undefined) expect(p.container(k)?.name).to.equal(k);
          }
        }
      }),
    );
  });
});
