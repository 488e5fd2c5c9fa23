/**
 * The kit's adapter: every container it lists or inspects carries the
 * engine's EngineInfo, asked once per event stream (while the stream opens),
 * shared by the list and the inspections of that stream, asked anew by the
 * next stream, and cancelled when the stream closes before the answer.
 */
import { expect } from 'chai';
import { NEVER, Observable, type Subscriber, concat, firstValueFrom, of, toArray } from 'rxjs';
import type { EngineFeed, EngineInfo } from '../../../lib/core/engine.js';
import { EngineError } from '../../../lib/errors.js';
import { type AdapterBase, adapterBase, adapterIdentity, defineAdapter } from '../../../lib/engines/common/define-adapter.js';
import type { RawFeed, StartHint } from '../../../lib/engines/common/start-hint.js';
import { type Container, newContainer } from '../../../lib/model/container.js';

const TERMS = { engine: 'kit', name: 'the kit engine', nobody: 'no kit engine', api: 'a kit API', socket: 'a kit socket', setting: 'set nothing', access: 'ask', upgrade: 'upgrade' };

/** A kit adapter over scripted parts: `info` answers when `answer()` is called; counts asks and cancels. */
function kitAdapter() {
  const base: AdapterBase = adapterBase(
    {},
    { terms: TERMS, endpoint: 'memory://kit', concurrency: 4, resyncInterval: 0, toError: (err) => new EngineError('kit', 'engine', String(err)), isNotFound: () => false },
  );
  let asks = 0;
  let cancels = 0;
  const waiting: Subscriber<EngineInfo>[] = [];
  let version = 0;
  const adapter = defineAdapter(
    { ...base, dispose: () => undefined },
    {
      rawEvents: (): Observable<RawFeed<StartHint>> => concat(of<RawFeed<StartHint>[]>({ type: 'listening' }, { type: 'inspect', id: 'b', time: 1 }), NEVER),
      list: () => of([newContainer({ id: 'a', name: 'web', pid: 1 })]),
      inspect: (_client: unknown, hint: StartHint) => of(newContainer({ id: hint.id, name: hint.id, pid: 2 })),
      info: () =>
        new Observable<EngineInfo>((subscriber) => {
          asks += 1;
          waiting.push(subscriber);
          return () => {
            // torn down while still waiting for the answer: cancelled
            const i = waiting.indexOf(subscriber);
            if (i >= 0) {
              waiting.splice(i, 1);
              cancels += 1;
            }
          };
        }),
    },
  );
  const answer = (): EngineInfo => {
    version += 1;
    const info: EngineInfo = Object.freeze({ id: 'kit-1', type: 'docker.com', version: `v${version}`, api: 'memory://kit' });
    for (const s of waiting.splice(0)) {
      s.next(info);
      s.complete();
    }
    return info;
  };
  return {
    adapter,
    answer,
    get asks() {
      return asks;
    },
    get cancels() {
      return cancels;
    },
  };
}

describe('defineAdapter: every container carries its engine', () => {
  it('the list and the inspected starts of one event stream wait for one ask and carry the same frozen EngineInfo', async () => {
    const kit = kitAdapter();
    const feed: EngineFeed[] = [];
    const sub = kit.adapter.events().subscribe((f) => feed.push(f));
    expect(kit.asks).to.equal(1); // asked as the stream opens
    let listed: readonly Container[] | undefined;
    const list = kit.adapter.snapshot().subscribe((l) => (listed = l));
    expect(listed).to.equal(undefined); // waits for the identity
    expect(feed.map((f) => f.type)).to.deep.equal(['listening']); // the start waits too, in order
    const info = kit.answer();
    expect(listed?.map((c) => [c.id, c.engine])).to.deep.equal([['a', info]]);
    expect(listed?.[0]?.engine).to.equal(info);
    const started = feed.find((f) => f.type === 'started');
    expect(started?.type === 'started' && started.container.engine).to.equal(info);
    expect(Object.isFrozen(listed?.[0])).to.equal(true);
    // later lists of the same stream: no new ask
    const again = await firstValueFrom(kit.adapter.snapshot());
    expect(again[0]?.engine).to.equal(info);
    expect(kit.asks).to.equal(1);
    expect(await firstValueFrom(adapterIdentity(kit.adapter)!)).to.equal(info);
    list.unsubscribe();
    sub.unsubscribe();
  });

  it('the next event stream asks again (an engine restarted may be another version); a stream closed before the answer cancels the ask', async () => {
    const kit = kitAdapter();
    const first = kit.adapter.events().subscribe();
    first.unsubscribe();
    expect([kit.asks, kit.cancels]).to.deep.equal([1, 1]);
    const second = kit.adapter.events().subscribe();
    expect(kit.asks).to.equal(2);
    const info = kit.answer();
    expect(info.version).to.equal('v1');
    const listed = await firstValueFrom(kit.adapter.snapshot().pipe(toArray()));
    expect(listed[0]?.[0]?.engine).to.equal(info);
    second.unsubscribe();
    const third = kit.adapter.events().subscribe();
    expect(kit.asks).to.equal(3);
    const next = kit.answer();
    expect(next.version).to.equal('v2');
    expect((await firstValueFrom(kit.adapter.snapshot()))[0]?.engine).to.equal(next);
    third.unsubscribe();
  });
});
