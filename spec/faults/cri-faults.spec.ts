/**
 * The fault corpus, CRI part: a watcher against a fake CRI runtime (a real grpc-js server on a unix
 * socket, spec/fakes/grpc-fakes.ts) whose status calls or event stream misbehave. Same endings as the
 * Docker part: process alive, a typed error in `status$`, the picture equal to the fake's truth after
 * recovery, exact differences, nothing left open (root hook).
 */
import { expect } from 'chai';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { EngineErrorCode } from '../../lib/errors.js';
import type { WatcherStatus } from '../../lib/core/fold.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { ContainerState, PodSandboxState } from '../../lib/gen/cri/api.js';
import { watchCri } from '../../lib/engines/cri/watch-cri.js';
import { type FakeCri, fakeCri } from '../fakes/grpc-fakes.js';
import { type Recording, eventually, record } from '../helpers/observe.js';
import { type Change, FAST_RETRY, Watchers } from '../helpers/picture.js';

/** The fake's alive sandboxes and containers as `id:pid`, sorted. */
function truthOf(fake: FakeCri): string[] {
  const pid = (info: Record<string, string>) => (JSON.parse(info['info'] ?? '{}') as { pid?: number }).pid ?? 0;
  const out: string[] = [];
  for (const s of fake.sandboxes.values()) if (s.status.state === PodSandboxState.SANDBOX_READY) out.push(`${s.status.id}:${pid(s.info)}`);
  for (const c of fake.containers.values()) if (c.status.state === ContainerState.CONTAINER_RUNNING) out.push(`${c.status.id}:${pid(c.info)}`);
  return out.sort();
}

const pictureOf = (ww: Watcher) => ww.portfolio.containers.map((c) => `${c.id}:${c.pid}`).sort();
const shown = (changes: readonly Change[]) => changes.map((c) => `${c.type}:${c.id}`);

describe('fault corpus: CRI (fake runtime on a real unix socket)', function () {
  this.timeout(30_000);

  let fake: FakeCri;
  const watchers = new Watchers();
  const escaped: unknown[] = [];
  const onEscape = (reason: unknown) => escaped.push(reason);

  beforeEach(async () => {
    escaped.length = 0;
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtExceptionMonitor', onEscape);
    fake = await fakeCri();
  });
  afterEach(async () => {
    await watchers.close();
    await fake.close();
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtExceptionMonitor', onEscape);
    expect(escaped, 'unhandled rejections or exceptions').to.deep.equal([]);
  });

  function start(): { ww: Watcher; statuses: Recording<WatcherStatus>; changes: Change[] } {
    const ww = watchers.add(watchCri({ endpoint: fake.address, retry: FAST_RETRY }));
    return { ww, statuses: record(ww.status$), changes: watchers.changesOf(ww) };
  }

  async function settled(ww: Watcher, what: string): Promise<void> {
    await eventually(() => ww.status.state === 'live' && ww.status.incomplete === undefined && JSON.stringify(pictureOf(ww)) === JSON.stringify(truthOf(fake)), `${what}: live, complete and equal to the truth`);
  }

  function sawError(statuses: Recording<WatcherStatus>, code: EngineErrorCode, message: RegExp): void {
    const errors = statuses.values.flatMap((s) => (s.state === 'degraded' ? [s.error] : s.state === 'live' && s.incomplete ? [s.incomplete.error] : []));
    expect(
      errors.some((e) => e.code === code && message.test(e.message)),
      `status$ to say ${code} ${String(message)}; it said: ${errors.map((e) => `${e.code} ${e.message}`).join(' | ')}`,
    ).to.equal(true);
  }

  for (const target of ['c2', 'pod2'] as const) {
    it(`one ${target === 'c2' ? 'ContainerStatus' : 'PodSandboxStatus'} answering INTERNAL: the rest goes live, status says incomplete and why, retried and folded in`, async () => {
      fake.addPod('pod1', 100, { c1: 101 });
      fake.addPod('pod2', 200, { c2: 201 });
      fake.statusFaults.set(target, { code: grpcStatus.INTERNAL, details: 'runtime busy' });
      const { ww, statuses, changes } = start();
      await ww.ready;
      expect(ww.status.state === 'live' && ww.status.incomplete?.ids).to.deep.equal([target]);
      expect(pictureOf(ww)).to.deep.equal(truthOf(fake).filter((t) => !t.startsWith(`${target}:`)));
      await eventually(() => fake.calls.filter((c) => c.endsWith(`:${target}`)).length >= 3, 'two retries');
      fake.statusFaults.delete(target);
      await settled(ww, 'after the fault went away');
      sawError(statuses, 'engine', /runtime busy/);
      expect(shown(changes).slice(-1)).to.deep.equal([`started:${target}`]);
      expect(changes.filter((c) => c.type === 'started')).to.have.length(4);
      expect(changes.filter((c) => c.type !== 'started')).to.have.length(0);
    });
  }

  it('a status answering NOT_FOUND during the list is a container gone in between: no error, nothing missing', async () => {
    fake.addPod('pod1', 100, { c1: 101, c2: 102 });
    fake.statusFaults.set('c2', { code: grpcStatus.NOT_FOUND, details: 'an error occurred when try to find container "c2": not found' });
    const { ww, statuses } = start();
    await ww.ready;
    expect(ww.status).to.deep.equal({ state: 'live' });
    expect(pictureOf(ww)).to.deep.equal(['c1:101', 'pod1:100']);
    expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
  });

  it('an event stream the runtime ends: degraded with a typed error, reconnects, exact differences', async () => {
    fake.addPod('pod1', 100, { c1: 101 });
    fake.addPod('pod2', 200, { c2: 201 });
    const { ww, statuses, changes } = start();
    await ww.ready;
    await fake.waitForStreams(1);
    fake.stopContainer('c1', true);
    fake.addPod('pod3', 300, { c3: 301 });
    fake.endStreams();
    await settled(ww, 'after the reconnect');
    sawError(statuses, 'engine', /ended the stream/);
    await eventually(() => changes.length >= 7, 'the differences');
    expect(shown(changes).slice(4).sort()).to.deep.equal(['exited:c1', 'started:c3', 'started:pod3']);
  });
});
