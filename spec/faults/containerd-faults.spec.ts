/**
 * The fault corpus, containerd part: a watcher against a fake containerd (a real grpc-js server on a unix
 * socket, spec/fakes/grpc-fakes.ts) whose event stream ends, fails, carries an event that does not
 * decode, gets a truncated gRPC frame or garbage (through a real HTTP/2 proxy that corrupts its DATA on
 * cue, spec/fakes/grpc-proxy.ts), goes silent behind a stalled proxy, whose lists stall, or which
 * restarts on a new socket file, while containers change. Same endings as the Docker part (the harness
 * of spec/helpers/faults.ts): process alive, a typed error in `status$`, the picture equal to the fake's
 * truth after recovery, exact differences, nothing left open.
 * (containerd's list has no per-container call: its records and tasks come in two lists per namespace.)
 */
import { expect } from 'chai';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { EngineErrorCode } from '../../lib/errors.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { Status } from '../../lib/gen/containerd/types/task/task.js';
import { type ContainerdOptions } from '../../lib/engines/containerd/containerd-source.js';
import { watchContainerd } from '../../lib/engines/containerd/watch-containerd.js';
import { FakeContainerd } from '../fakes/grpc-fakes.js';
import { TRUNCATED_FRAME } from '../fakes/grpc-proxy.js';
import { type BadFrame, type GrpcFaultEngine, badFrames, grpcStreamFaults } from '../helpers/grpc-faults.js';
import { type Watched, faultHarness, idPids, sawError, settled as settledAs, shown } from '../helpers/faults.js';
import { eventually } from '../helpers/observe.js';
import { FAST_RETRY } from '../helpers/picture.js';

/** The fake's alive tasks of namespace `default` as `id:pid`, sorted. */
function truthOf(fake: FakeContainerd): string[] {
  const out: string[] = [];
  for (const [id, { task }] of fake.state.get('default') ?? new Map()) {
    if (task !== undefined && task.pid > 0 && (task.status === Status.RUNNING || task.status === Status.PAUSED)) out.push(`${id}:${task.pid}`);
  }
  return out.sort();
}

const SUBSCRIBE = '/containerd.services.events.v1.Events/Subscribe';

describe('fault corpus: containerd (fake engine on a real unix socket)', function () {
  this.timeout(30_000);

  const h = faultHarness(FakeContainerd.start, (fake) => fake.close());

  /** A watcher over the fake (or `address`, a proxy in front of it) with fast retries. */
  function start(options: Partial<ContainerdOptions> & { readonly syncTimeout?: number } = {}): Watched {
    return h.watch(watchContainerd({ address: h.fake.address, retry: FAST_RETRY, ...options }));
  }
  const settled = (ww: Watcher, what: string) => settledAs(ww, idPids, () => truthOf(h.fake), what);

  /** c1 and c2 alive, a watcher live on them with its event stream open. */
  async function live(options: Partial<ContainerdOptions> & { readonly syncTimeout?: number } = {}): Promise<Watched> {
    h.fake.add('default', 'c1', { pid: 101 });
    h.fake.add('default', 'c2', { pid: 102 });
    const watched = start(options);
    await watched.ww.ready;
    await eventually(() => h.fake.subscribers.size > 0, 'the event stream');
    return watched;
  }

  /** While the watcher cannot see it: c1 exits, c2 restarts with a new PID, c3 starts. */
  function changeBehindItsBack(): void {
    h.fake.remove('default', 'c1');
    h.fake.add('default', 'c2', { pid: 202 });
    h.fake.add('default', 'c3', { pid: 103 });
  }

  /** After recovery: equal to the truth, and exactly the differences of {@link changeBehindItsBack} after the two first starts. */
  async function recovered({ ww, changes }: Watched, what: string): Promise<void> {
    await settled(ww, what);
    await eventually(() => changes.length >= 6, 'the differences');
    expect(shown(changes).slice(0, 2).sort()).to.deep.equal(['started:c1', 'started:c2']);
    expect(shown(changes).slice(2).sort()).to.deep.equal(['exited:c1', 'exited:c2', 'started:c2', 'started:c3']);
    expect(changes.find((x) => x.type === 'started' && x.id === 'c2' && x.pid === 202)).to.not.equal(undefined);
    expect(changes).to.have.length(6);
  }

  describe('the event stream misbehaves', () => {
    const cases: { name: string; act: (fake: FakeContainerd) => void; code: EngineErrorCode; message: RegExp }[] = [
      { name: 'the stream ends (status OK)', act: (f) => f.endStreams(), code: 'engine', message: /ended the stream/ },
      { name: 'the stream fails UNAVAILABLE (engine stopping)', act: (f) => f.failStreams(grpcStatus.UNAVAILABLE, 'containerd is shutting down'), code: 'unreachable', message: /gRPC UNAVAILABLE: containerd is shutting down/ },
      {
        name: 'an event whose payload is garbage protobuf',
        act: (f) => f.write({ timestamp: undefined, namespace: 'default', topic: '/tasks/exit', event: { typeUrl: 'containerd.events.TaskExit', value: Buffer.from([0x0a, 0x7f, 0x61]) } }),
        code: 'decode',
        message: /\/tasks\/exit event has an undecodable TaskExit payload: premature EOF/,
      },
    ];
    for (const c of cases) {
      it(`${c.name}: degraded with a typed error, reconnects, and the differences missed meanwhile are exact`, async () => {
        const watched = await live();
        changeBehindItsBack();
        c.act(h.fake);
        await recovered(watched, 'after the reconnect');
        sawError(watched.statuses, c.code, c.message);
      });
    }
  });

  const engine: GrpcFaultEngine = {
    events: SUBSCRIBE,
    watching: 'the event stream',
    address: () => h.fake.address,
    live: (address) => live({ address, deadPeerTimeout: 600 }),
    changeBehindItsBack,
    recovered,
    probes: () => h.fake.publishes,
    harness: h,
    streamsOpened: () => h.fake.calls.filter((c) => c.startsWith('Subscribe')).length,
  };
  // the rest of the frame never comes: only the heartbeat probe, which cannot come back through it, tells
  const stays: BadFrame = { name: 'a truncated frame, then nothing (the stream stays open)', bytes: TRUNCATED_FRAME, after: 'stay', code: 'unreachable', message: /went dead while checking that the silent event stream is still connected/ };
  grpcStreamFaults(engine, badFrames(engine, [stays]));

  describe('the list stalls', () => {
    it('Containers.List and Tasks.List never answer: the sync timeout says so, the watcher retries, and goes live once containerd answers', async () => {
      h.fake.add('default', 'c1', { pid: 101 });
      const release = h.fake.stallLists();
      const { ww, statuses, changes } = start({ syncTimeout: 300 });
      await eventually(() => ww.status.state === 'degraded', 'the sync timeout');
      sawError(statuses, 'engine', /did not list its containers within 300 ms/);
      await eventually(() => h.fake.calls.filter((c) => c === 'Tasks.List default').length >= 2, 'a retry');
      h.fake.add('default', 'c2', { pid: 102 });
      release();
      await settled(ww, 'after the lists answered');
      expect(shown(changes).sort()).to.deep.equal(['started:c1', 'started:c2']);
      expect(h.fake.cancelled.filter((m) => m === 'Tasks.List').length, 'the stalled lists cancelled').to.be.greaterThan(0);
    });

    it('with a requestTimeout below the sync timeout: each list call times out on its own, typed, and the watcher recovers the same way', async () => {
      h.fake.add('default', 'c1', { pid: 101 });
      const release = h.fake.stallLists();
      const { ww, statuses, changes } = start({ requestTimeout: 200, syncTimeout: 5_000 });
      await eventually(() => ww.status.state === 'degraded', 'the request timeout');
      sawError(statuses, 'engine', /did not answer within 200 ms .*listing (containers|tasks) in namespace default/);
      release();
      await settled(ww, 'after the lists answered');
      expect(shown(changes)).to.deep.equal(['started:c1']);
    });
  });

  describe('the engine restarts', () => {
    it('socket deleted and recreated while containers changed: reconnects, exact differences', async () => {
      const watched = await live();
      await h.fake.restart(changeBehindItsBack);
      await recovered(watched, 'after the restart');
      expect(watched.statuses.values.some((s) => s.state === 'degraded')).to.equal(true);
    });
  });
});
