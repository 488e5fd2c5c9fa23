/**
 * The fault corpus, containerd part: a watcher against a fake containerd (a real grpc-js server on a unix
 * socket, spec/fakes/grpc-fakes.ts) whose event stream ends, fails or carries an event that does not
 * decode, while containers change. Same endings as the Docker part: process alive, a typed error in
 * `status$`, the picture equal to the fake's truth after recovery, exact differences, nothing left open.
 * (containerd's list has no per-container call: its records and tasks come in two lists per namespace.)
 */
import { expect } from 'chai';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { EngineErrorCode } from '../../lib/errors.js';
import type { WatcherStatus } from '../../lib/core/fold.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { Status } from '../../lib/gen/containerd/types/task/task.js';
import { watchContainerd } from '../../lib/engines/containerd/watch-containerd.js';
import { FakeContainerd } from '../fakes/grpc-fakes.js';
import { type Recording, eventually, record } from '../helpers/observe.js';
import { type Change, FAST_RETRY, Watchers } from '../helpers/picture.js';

/** The fake's alive tasks of namespace `default` as `id:pid`, sorted. */
function truthOf(fake: FakeContainerd): string[] {
  const out: string[] = [];
  for (const [id, { task }] of fake.state.get('default') ?? new Map()) {
    if (task !== undefined && task.pid > 0 && (task.status === Status.RUNNING || task.status === Status.PAUSED)) out.push(`${id}:${task.pid}`);
  }
  return out.sort();
}

const pictureOf = (ww: Watcher) => ww.portfolio.containers.map((c) => `${c.id}:${c.pid}`).sort();
const shown = (changes: readonly Change[]) => changes.map((c) => `${c.type}:${c.id}`);

describe('fault corpus: containerd (fake engine on a real unix socket)', function () {
  this.timeout(30_000);

  let fake: FakeContainerd;
  const watchers = new Watchers();
  const escaped: unknown[] = [];
  const onEscape = (reason: unknown) => escaped.push(reason);

  beforeEach(async () => {
    escaped.length = 0;
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtExceptionMonitor', onEscape);
    fake = await FakeContainerd.start();
  });
  afterEach(async () => {
    await watchers.close();
    await fake.close();
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtExceptionMonitor', onEscape);
    expect(escaped, 'unhandled rejections or exceptions').to.deep.equal([]);
  });

  function sawError(statuses: Recording<WatcherStatus>, code: EngineErrorCode, message: RegExp): void {
    const errors = statuses.values.flatMap((s) => (s.state === 'degraded' ? [s.error] : []));
    expect(
      errors.some((e) => e.code === code && message.test(e.message)),
      `status$ to say ${code} ${String(message)}; it said: ${errors.map((e) => `${e.code} ${e.message}`).join(' | ')}`,
    ).to.equal(true);
  }

  const cases: { name: string; act: (fake: FakeContainerd) => void; code: EngineErrorCode; message: RegExp }[] = [
    { name: 'the stream ends (status OK)', act: (f) => f.endStreams(), code: 'engine', message: /ended the stream/ },
    { name: 'the stream fails UNAVAILABLE (engine stopping)', act: (f) => f.failStreams(grpcStatus.UNAVAILABLE, 'containerd is shutting down'), code: 'unreachable', message: /gRPC UNAVAILABLE: containerd is shutting down/ },
    {
      name: 'an event whose payload is garbage protobuf',
      act: (f) => f.write({ timestamp: undefined, namespace: 'default', topic: '/tasks/exit', event: { typeUrl: 'containerd.events.TaskExit', value: Buffer.from([0x0a, 0x7f, 0x61]) } }),
      code: 'decode',
      message: /./,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: degraded with a typed error, reconnects, and the differences missed meanwhile are exact`, async () => {
      fake.add('default', 'c1', { pid: 101 });
      fake.add('default', 'c2', { pid: 102 });
      const ww = watchers.add(watchContainerd({ address: fake.address, retry: FAST_RETRY }));
      const statuses = record(ww.status$);
      const changes = watchers.changesOf(ww);
      await ww.ready;
      await eventually(() => fake.subscribers.size > 0, 'the event stream');
      // while the stream breaks: c1 exits, c2 restarts with a new PID, c3 starts
      fake.remove('default', 'c1');
      fake.add('default', 'c2', { pid: 202 });
      fake.add('default', 'c3', { pid: 103 });
      c.act(fake);
      await eventually(() => ww.status.state === 'live' && JSON.stringify(pictureOf(ww)) === JSON.stringify(truthOf(fake)) && changes.length >= 6, 'live and equal to the truth after the reconnect');
      sawError(statuses, c.code, c.message);
      expect(shown(changes).slice(2).sort()).to.deep.equal(['exited:c1', 'exited:c2', 'started:c2', 'started:c3']);
      expect(changes.find((x) => x.type === 'started' && x.id === 'c2' && x.pid === 202)).to.not.equal(undefined);
    });
  }
});
