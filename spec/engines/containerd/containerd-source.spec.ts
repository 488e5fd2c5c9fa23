import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { firstValueFrom } from 'rxjs';
import type { EngineAdapter, EngineFeed } from '../../../lib/core/engine.js';
import type { Watcher } from '../../../lib/core/watcher.js';
import { EngineError, isEngineError } from '../../../lib/errors.js';
import { PROJECT_LABEL } from '../../../lib/model/container.js';
import { Status } from '../../../lib/gen/containerd/types/task/task.js';
import { CONTAINERD_EVENT_FILTERS, NERDCTL_NAME_LABEL } from '../../../lib/engines/containerd/containerd-normalize.js';
import { DEFAULT_CONTAINERD_ADDRESS, containerdAdapter, resolveContainerdAddress } from '../../../lib/engines/containerd/containerd-source.js';
import { watchContainerd } from '../../../lib/engines/containerd/watch-containerd.js';
import {
  FakeContainerd,
  type FakeSocket,
  noSocket,
  notGrpcServer,
  truncatedFrameServer,
  truncatedMessageServer,
  unimplementedGrpcServer,
} from '../../fakes/grpc-fakes.js';
import { eventually, record } from './containerd-lab.js';
import { CONTAINERD17_EXITS } from './containerd17-captured.js';
import { Envelope } from '../../../lib/gen/containerd/services/events/v1/events.js';
import { TaskExit } from '../../../lib/gen/containerd/events/task.js';

const FAST_RETRY = { initialDelay: 20, maxDelay: 100, jitter: 0 } as const;

/** What a feed says, compactly: `listening`, `started:<id>:<pid>:<name>`, `exited:<id>` … */
function show(f: EngineFeed): string {
  switch (f.type) {
    case 'listening':
      return 'listening';
    case 'started':
      return `started:${f.container.id}:${f.container.pid}`;
    case 'renamed':
      return `renamed:${f.id}:${f.name}`;
    default:
      return `${f.type}:${f.id}`;
  }
}

function expectEngineError(err: unknown, code: EngineError['code'], message?: RegExp): void {
  expect(isEngineError(err), `an EngineError, not ${String(err)}`).to.equal(true);
  expect((err as EngineError).code, (err as EngineError).message).to.equal(code);
  expect((err as EngineError).engine).to.equal('containerd');
  if (message) expect((err as EngineError).message).to.match(message);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('containerdAdapter against fake endpoints', function () {
  this.timeout(30_000);

  const opened: (FakeSocket | FakeContainerd | EngineAdapter | Watcher)[] = [];
  function track<T extends FakeSocket | FakeContainerd | EngineAdapter | Watcher>(x: T): T {
    opened.push(x);
    return x;
  }
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));
  afterEach(async () => {
    for (const x of opened.splice(0).reverse()) {
      if ('dispose' in x) x.dispose();
      else await x.close();
    }
    expect(unhandled, 'unhandled rejections').to.deep.equal([]);
  });

  describe('errors', () => {
    const cases: { what: string; make: () => Promise<FakeSocket>; code: EngineError['code']; events?: EngineError['code']; message: RegExp }[] = [
      { what: 'no socket at all', make: noSocket, code: 'unreachable', message: /no containerd at unix:\/\/.*fake\.sock .*ENOENT.*is it running\? set CONTAINERD_ADDRESS or the address option/ },
      { what: '(a) a gRPC server that is not containerd (UNIMPLEMENTED)', make: unimplementedGrpcServer, code: 'protocol', message: /answers, but not like containerd's gRPC API while .* \(gRPC UNIMPLEMENTED.*\): check that the endpoint is a containerd socket$/ },
      { what: '(b1) truncated protobuf messages', make: truncatedMessageServer, code: 'decode', message: /sent data that could not be decoded while .* \(gRPC INTERNAL: Response message parsing error/ },
      { what: '(b2) truncated gRPC frames', make: truncatedFrameServer, code: 'decode', message: /sent data that could not be decoded/ },
      { what: '(c) a plain socket that is not gRPC', make: notGrpcServer, code: 'protocol', message: /answers, but not like containerd's gRPC API while .* \(gRPC UNAVAILABLE.*Protocol error/ },
    ];
    for (const { what, make, code, message } of cases) {
      it(`${what}: ${code} from events(), snapshot() and info()`, async () => {
        const fake = track(await make());
        const adapter = track(containerdAdapter({ address: fake.address, requestTimeout: 5_000 }));
        const ev = record(adapter.events());
        await ev.finished;
        expectEngineError(ev.error, code, message);
        expect(ev.values).to.deep.equal([]);
        expectEngineError(await rejection(firstValueFrom(adapter.snapshot())), code, message);
        expectEngineError(await rejection(adapter.info()), code, message);
        expect((ev.error as EngineError).endpoint).to.equal(fake.address);
      });

      it(`${what}: through watch(), degraded with ${code} and still retrying`, async () => {
        const fake = track(await make());
        const ww = track(watchContainerd({ address: fake.address, retry: FAST_RETRY, requestTimeout: 5_000 }));
        await eventually(() => ww.status.state === 'degraded' && ww.status.attempt >= 3, 'three failed attempts');
        const s = ww.status;
        if (s.state !== 'degraded') throw new Error('not degraded');
        expectEngineError(s.error, code, message);
        expect(ww.portfolio.total).to.equal(0);
        await ww.close();
        expect(ww.status.state).to.equal('stopped');
        expectEngineError(await rejection(ww.ready), 'closed');
      });
    }

    it('an unusable address is a config error at once', () => {
      expect(() => containerdAdapter({ address: 'ftp://x' })).to.throw(EngineError).with.property('code', 'config');
    });
  });

  describe('address', () => {
    it('takes the option, else CONTAINERD_ADDRESS, else the default socket; unix:// or a path', () => {
      expect(resolveContainerdAddress({ address: '/a.sock' }, { CONTAINERD_ADDRESS: '/b.sock' })).to.equal('/a.sock');
      expect(resolveContainerdAddress({}, { CONTAINERD_ADDRESS: '/b.sock' })).to.equal('/b.sock');
      expect(resolveContainerdAddress({}, { CONTAINERD_ADDRESS: '' })).to.equal(DEFAULT_CONTAINERD_ADDRESS);
      expect(resolveContainerdAddress({}, {})).to.equal('/run/containerd/containerd.sock');
      expect(track(containerdAdapter({ env: { CONTAINERD_ADDRESS: 'unix:///x/c.sock' } })).endpoint).to.equal('unix:///x/c.sock');
      const a = containerdAdapter({ address: '/x/c.sock' });
      expect(a.endpoint).to.equal('unix:///x/c.sock');
      expect(a.engine).to.equal('containerd');
      a.dispose();
      a.dispose(); // idempotent
    });
  });

  describe('on a scriptable fake containerd', () => {
    let fake: FakeContainerd;
    beforeEach(async () => {
      fake = track(await FakeContainerd.start());
    });

    it('says listening only once its probe came back, re-sending lost probes; probes never reach the feed', async () => {
      fake.loseProbes = 2;
      const adapter = track(containerdAdapter({ address: fake.address, probeInterval: 20 }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length > 0, 'listening');
      expect(ev.values.map(show)).to.deep.equal(['listening']);
      expect(fake.publishes).to.be.at.least(3);
      expect(fake.filters).to.deep.equal([[...CONTAINERD_EVENT_FILTERS]]);
      expect(fake.calls.filter((c) => c.startsWith('Publish'))).to.satisfy((l: string[]) => l.every((c) => c === 'Publish default'));
      // later probes (ours, re-sent before the first came back, and other watchers') are dropped
      const published = fake.publishes;
      fake.write({ namespace: 'default', topic: '/whalewatcher/hello', event: { typeUrl: 'whalewatcher.Probe', value: Buffer.from('someone else') } });
      fake.emit('default', { paused: { containerId: 'a' } });
      await eventually(() => ev.values.length > 1, 'the pause');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'paused:a']);
      expect(fake.publishes - published).to.be.at.most(1); // probing stopped once listening
      expect(ev.error).to.equal(undefined);
    });

    it('drops events that arrive before its probe came back (the list after listening covers them)', async () => {
      fake.echoProbes = false;
      const adapter = track(containerdAdapter({ address: fake.address, probeInterval: 20 }));
      const ev = record(adapter.events());
      await eventually(() => fake.subscribers.size === 1 && fake.publishes > 0, 'the subscription and a probe');
      fake.emit('default', { exit: { containerId: 'early', id: 'early', pid: 1 } });
      fake.echoProbes = true;
      await eventually(() => ev.values.length > 0, 'listening');
      fake.emit('default', { exit: { containerId: 'late', id: 'late', pid: 1 } });
      await eventually(() => ev.values.length > 1, 'the late exit');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'exited:late']);
    });

    it('carries the exit details of the captured containerd 1.7 task exits; the OOM note marks only the exit that follows it', async () => {
      const adapter = track(containerdAdapter({ address: fake.address }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length > 0, 'listening');
      // the real envelopes of cap-web (SIGKILL), cap-three (exit 3) and cap-oom (OOM kill), then cap-oom again, exiting plainly
      const envelopes = CONTAINERD17_EXITS.map((e) => Envelope.decode(Buffer.from(e.hex, 'hex')));
      for (const e of envelopes) fake.write(e);
      for (const e of envelopes.filter((x) => x.topic === '/tasks/exit' && x.event !== undefined && TaskExit.decode(x.event.value).containerId === 'cap-oom')) fake.write(e);
      await eventually(() => ev.values.filter((f) => f.type === 'exited').length >= 4, 'the four exits');
      const exits = ev.values.flatMap((f) => (f.type === 'exited' ? [`${f.id}:${f.exit?.code}:${f.exit?.oomKilled === true ? 'oom' : '-'}:${f.exit?.time?.toISOString()}`] : []));
      expect(exits).to.deep.equal([
        'ns2/cap-web:137:-:2026-12-02T01:46:37.045Z',
        'ns2/cap-three:3:-:2026-12-02T01:46:37.216Z',
        'ns2/cap-oom:137:oom:2026-12-02T01:46:37.272Z',
        'ns2/cap-oom:137:-:2026-12-02T01:46:37.272Z',
      ]);
      // the starts had no container records here: dropped; the OOM note is no feed item
      expect(ev.values.filter((f) => f.type !== 'exited').map(show)).to.deep.equal(['listening']);
    });

    it('keeps the engine order: an exit never overtakes the start whose lookup is slow', async () => {
      fake.add('ns2', 'a', { pid: 100, labels: { [NERDCTL_NAME_LABEL]: 'web', [PROJECT_LABEL]: 'shop' } });
      fake.add('default', 'b', { pid: 200 });
      const adapter = track(containerdAdapter({ address: fake.address }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length > 0, 'listening');
      const held = fake.hold('ns2', 'a');
      fake.emit('ns2', { start: { containerId: 'a', pid: 100 } });
      fake.emit('default', { paused: { containerId: 'b' } });
      fake.emit('ns2', { exit: { containerId: 'a', id: 'exec-1', pid: 101 } }); // an exec's exit: not the container's
      fake.emit('ns2', { exit: { containerId: 'a', id: 'a', pid: 100 } });
      fake.emit('default', { resumed: { containerId: 'b' } });
      await eventually(() => fake.calls.includes('Containers.Get ns2'), 'the lookup');
      await eventually(() => fake.calls.includes('Tasks.Get ns2'), 'the task lookup');
      expect(ev.values.map(show)).to.deep.equal(['listening']);
      held.release();
      await eventually(() => ev.values.length >= 5, 'all events');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'started:ns2/a:100', 'paused:b', 'exited:ns2/a', 'unpaused:b']);
      const started = ev.values[1] as Extract<EngineFeed, { type: 'started' }>;
      expect(started.container.name).to.equal('ns2/web');
      expect(started.container.project).to.equal('shop');
      expect(started.time).to.be.closeTo(Date.now(), 60_000);
    });

    it('drops starts whose container is gone, whose task stopped or is another incarnation; drops ignored namespaces', async () => {
      fake.add('default', 'stopped', { pid: 10, status: Status.STOPPED });
      fake.add('default', 'reborn', { pid: 12 });
      fake.add('default', 'paused', { pid: 13, status: Status.PAUSED });
      fake.add('moby', 'docker', { pid: 14 });
      fake.add('k8s.io', 'pod', { pid: 15 });
      const adapter = track(containerdAdapter({ address: fake.address }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length > 0, 'listening');
      fake.emit('default', { start: { containerId: 'gone', pid: 9 } });
      fake.emit('default', { start: { containerId: 'stopped', pid: 10 } });
      fake.emit('default', { start: { containerId: 'reborn', pid: 11 } });
      fake.emit('moby', { start: { containerId: 'docker', pid: 14 } });
      fake.emit('k8s.io', { start: { containerId: 'pod', pid: 15 } });
      fake.emit('moby', { exit: { containerId: 'docker', id: 'docker', pid: 14 } });
      fake.emit('default', { start: { containerId: 'paused', pid: 13 } });
      await eventually(() => ev.values.length > 1, 'the paused start');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'started:paused:13']);
      expect((ev.values[1] as Extract<EngineFeed, { type: 'started' }>).container.paused).to.equal(true);
      expect(fake.calls.filter((c) => / (moby|k8s\.io)$/.test(c))).to.deep.equal([]);
      expect(ev.error).to.equal(undefined);
    });

    it('unsubscribing cancels the stream and every lookup in flight', async () => {
      fake.add('default', 'slow', { pid: 5 });
      const adapter = track(containerdAdapter({ address: fake.address }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length > 0, 'listening');
      fake.hold('default', 'slow');
      fake.emit('default', { start: { containerId: 'slow', pid: 5 } });
      await eventually(() => fake.calls.includes('Containers.Get default'), 'the lookup');
      ev.subscription.unsubscribe();
      await eventually(() => fake.cancelled.includes('Containers.Get') && fake.cancelled.includes('Subscribe'), 'both calls cancelled');
      expect(fake.subscribers.size).to.equal(0);
      expect(ev.error).to.equal(undefined);
    });

    it('a stream the engine ends is an engine error; one that fails UNAVAILABLE is unreachable', async () => {
      const adapter = track(containerdAdapter({ address: fake.address }));
      const ended = record(adapter.events());
      await eventually(() => ended.values.length > 0, 'listening');
      fake.endStreams();
      await ended.finished;
      expectEngineError(ended.error, 'engine', /^containerd at unix:\/\/\S+ ended the stream while watching the event stream: /);

      const failed = record(adapter.events());
      await eventually(() => failed.values.length > 0, 'listening again');
      fake.failStreams(status.UNAVAILABLE, 'containerd is shutting down');
      await failed.finished;
      expectEngineError(failed.error, 'unreachable', /shutting down/);
    });

    it('a subscription whose probe never comes back fails after requestTimeout', async () => {
      fake.echoProbes = false;
      const adapter = track(containerdAdapter({ address: fake.address, requestTimeout: 300, probeInterval: 50 }));
      const ev = record(adapter.events());
      await ev.finished;
      expectEngineError(ev.error, 'engine', /did not answer within 300 ms while waiting for the subscription probe to come back/);
      expect(ev.values).to.deep.equal([]);
      await eventually(() => fake.subscribers.size === 0, 'the subscription cancelled');
    });

    it('lists alive tasks of every namespace but the ignored ones, joined with their containers', async () => {
      fake.add('default', 'run', { pid: 1, labels: { [NERDCTL_NAME_LABEL]: 'runner' } });
      fake.add('default', 'frozen', { pid: 2, status: Status.PAUSED });
      fake.add('default', 'created', { pid: 3, status: Status.CREATED });
      fake.add('default', 'notask', { pid: 0 });
      fake.add('ns2', 'run', { pid: 4, labels: { [PROJECT_LABEL]: 'shop' } });
      fake.add('moby', 'docker', { pid: 5 });
      fake.add('k8s.io', 'pod', { pid: 6 });
      const packed: string[] = [];
      const adapter = track(
        containerdAdapter({
          address: fake.address,
          packer: ({ namespace, container, task }) => {
            packed.push(`${namespace}/${container?.id}:${task.pid}`);
            return container?.image;
          },
        }),
      );
      const list = await firstValueFrom(adapter.snapshot());
      expect(list.map((c) => `${c.id}:${c.name}:${c.pid}:${c.paused}:${c.project}`).sort()).to.deep.equal([
        'frozen:frozen:2:true:',
        'ns2/run:ns2/run:4:false:shop',
        'run:runner:1:false:',
      ]);
      expect(list.every((c) => c.rucksack === 'docker.io/library/busybox:lab')).to.equal(true);
      expect(packed.sort()).to.deep.equal(['default/frozen:2', 'default/run:1', 'ns2/run:4']);
      expect(fake.calls.filter((c) => / (moby|k8s\.io)$/.test(c))).to.deep.equal([]);
      expect(fake.calls).to.include.members(['Namespaces.List -', 'Containers.List default', 'Tasks.List default', 'Containers.List ns2', 'Tasks.List ns2']);

      const all = await firstValueFrom(track(containerdAdapter({ address: fake.address, ignoreNamespaces: [] })).snapshot());
      expect(all.map((c) => c.id).sort()).to.deep.equal(['frozen', 'k8s.io/pod', 'moby/docker', 'ns2/run', 'run']);
      expect(fake.listFilters.every((f) => f.length === 0)).to.equal(true);

      // the namespaces allow-list: only those are listed at all
      const calls = fake.calls.length;
      const some = await firstValueFrom(track(containerdAdapter({ address: fake.address, namespaces: ['ns2', 'k8s.io'] })).snapshot());
      expect(some.map((c) => c.id).sort()).to.deep.equal(['k8s.io/pod', 'ns2/run']);
      expect(fake.calls.slice(calls).filter((c) => c.startsWith('Containers.List')).sort()).to.deep.equal(['Containers.List k8s.io', 'Containers.List ns2']);
    });

    it('keeps the start time of a /tasks/start it saw for later lists (same PID only), and forgets it with the exit', async () => {
      fake.add('ns2', 'seen', { pid: 100 });
      fake.add('default', 'listed', { pid: 200 });
      const adapter = track(containerdAdapter({ address: fake.address }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length > 0, 'listening');
      fake.emit('ns2', { start: { containerId: 'seen', pid: 100 } });
      await eventually(() => ev.values.length > 1, 'the start');
      const started = ev.values[1] as Extract<EngineFeed, { type: 'started' }>;
      expect(started.container.startedAt?.getTime()).to.equal(Math.floor(started.time));
      const startedAt = (list: readonly { id: string; startedAt?: Date }[]) => Object.fromEntries(list.map((c) => [c.id, c.startedAt?.getTime() ?? null]));
      expect(startedAt(await firstValueFrom(adapter.snapshot()))).to.deep.equal({ 'ns2/seen': Math.floor(started.time), listed: null });
      // another incarnation (a new PID) has a start time of its own, unknown here
      fake.add('ns2', 'seen', { pid: 101 });
      expect(startedAt(await firstValueFrom(adapter.snapshot()))).to.deep.equal({ 'ns2/seen': null, listed: null });
      fake.add('ns2', 'seen', { pid: 100 });
      fake.emit('ns2', { exit: { containerId: 'seen', id: 'seen', pid: 100 } });
      await eventually(() => ev.values.length > 2, 'the exit');
      expect(startedAt(await firstValueFrom(adapter.snapshot()))).to.deep.equal({ 'ns2/seen': null, listed: null });
    });

    it('pushes the labels option down as one Containers.List filter per namespace; what containerd cannot filter the kit does', async () => {
      fake.add('default', 'web', { pid: 1, labels: { [PROJECT_LABEL]: 'shop', tier: 'web' } });
      fake.add('default', 'db', { pid: 2, labels: { [PROJECT_LABEL]: 'shop' } });
      fake.add('ns2', 'other', { pid: 3, labels: { tier: 'web' } });
      const adapter = track(containerdAdapter({ address: fake.address, labels: [`${PROJECT_LABEL}=shop`, 'tier'] }));
      const list = await firstValueFrom(adapter.snapshot());
      // this fake does not filter: the same filter is applied to what comes back
      expect(list.map((c) => c.id)).to.deep.equal(['web']);
      expect(fake.listFilters).to.deep.equal([['labels."com.docker.compose.project"=="shop",labels."tier"'], ['labels."com.docker.compose.project"=="shop",labels."tier"']]);
    });

    it('info(): version and endpoint; no UUID from a containerd without introspection', async () => {
      const adapter = track(containerdAdapter({ address: fake.address, pid: 4242 }));
      expect(await adapter.info()).to.deep.equal({ id: '', type: 'containerd.io', version: '1.7.24-fake', api: fake.address, product: 'containerd', pid: 4242 });
    });

    it('after dispose() it refuses to start anything, with a closed error', async () => {
      const adapter = containerdAdapter({ address: fake.address });
      adapter.dispose();
      const ev = record(adapter.events());
      await ev.finished;
      expectEngineError(ev.error, 'closed');
      expectEngineError(await rejection(firstValueFrom(adapter.snapshot())), 'closed');
    });
  });
});
