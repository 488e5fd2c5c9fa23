/**
 * watchDocker across short disconnects and dead peers, against the real engines of the lab (Docker 20.10,
 * Docker 26.1, Podman 4.3), with a unix-socket proxy (spec/fakes/socket-proxy.ts) between the watcher and
 * the engine: the proxy cuts the watcher's connections and refuses new ones while containers are killed,
 * started and paused; once it forwards again, the reopened event stream replays the gap from the last event
 * the adapter delivered. A stalled proxy (accepts, forwards nothing, never closes) stands for a peer gone
 * without FIN: the watcher must notice it through its dead-peer check.
 */
import { expect } from 'chai';
import type { Watcher } from '../../lib/core/watcher.js';
import { INITIAL_STATE, type WatcherStatus, fold } from '../../lib/core/fold.js';
import { EngineError } from '../../lib/errors.js';
import { newContainer } from '../../lib/model/container.js';
import { watchDocker } from '../../lib/engines/docker/watch-docker.js';
import { type EngineName, labImage, useEngine } from '../helpers/engines.js';
import { DockerLab, eventually } from '../engines/docker/docker-lab.js';
import { FAST_RETRY, Watchers, changesAbout as about, matchesTruth } from '../helpers/picture.js';
import { type SocketProxy, socketProxy } from '../fakes/socket-proxy.js';

const ENGINES: readonly EngineName[] = ['docker20', 'docker26', 'podman'];
/** The kind of a change, without its PID. */
const kinds = (seq: readonly string[]) => seq.map((s) => s.replace(/:.*/, ''));

/**
 * True when the fold delivers an event that arrives while a reconnect's list is in flight as a real
 * (non-synthetic) change, with its details (relist8's change). Before it, such an exit is inferred from
 * the list: synthetic, its code asked from the engine afterwards.
 */
function foldDeliversEventsDuringLists(): boolean {
  const c = newContainer({ id: 'probe', name: 'probe', pid: 1 });
  let s = INITIAL_STATE;
  for (const input of [{ type: 'connecting' }, { type: 'listening' }, { type: 'snapshot', containers: [c], time: 0 }] as const) s = fold(s, input).state;
  s = fold(s, { type: 'disconnected', error: new EngineError('docker', 'engine', 'probe'), attempt: 1, retryIn: 0 }).state;
  s = fold(s, { type: 'connecting' }).state;
  s = fold(s, { type: 'listening' }).state;
  const during = fold(s, { type: 'event', event: { type: 'exited', id: 'probe', time: 1, exit: { code: 3 } } });
  const after = fold(during.state, { type: 'snapshot', containers: [], time: 2 });
  return [...during.changes, ...after.changes].some((x) => x.type === 'exited' && !x.synthetic && x.exit?.code === 3);
}

for (const engine of ENGINES) {
  describe(`watchDocker on ${engine} across disconnects`, function () {
    this.timeout(120_000);
    let endpoint: string;
    let lab: DockerLab;
    let proxy: SocketProxy;
    const watchers = new Watchers();

    before(function () {
      endpoint = useEngine(this, engine);
    });
    beforeEach(async function () {
      lab = new DockerLab(endpoint, labImage(engine), engine);
      proxy = await socketProxy(endpoint);
    });
    afterEach(async () => {
      await watchers.close();
      await proxy?.close();
      await lab?.cleanup();
      lab?.close();
    });

    function watchIt(options: { deadPeerTimeout?: number; requestTimeout?: number } = {}): Watcher {
      return watchers.add(watchDocker({ host: proxy.url, retry: FAST_RETRY, ...options }));
    }

    /** Cuts the watcher off (its connections cut, new ones refused) until it says so. */
    async function disconnect(ww: Watcher): Promise<void> {
      proxy.mode('refuse');
      proxy.cut();
      await eventually(() => ww.status.state === 'degraded', 'the watcher to notice the cut');
    }

    it('a short disconnect: the gap\'s exits come once each with their exit codes, nothing is doubled, the picture equals the truth', async () => {
      const keep = await lab.run(lab.name('keep'));
      const victims = await Promise.all([0, 1, 2].map((i) => lab.run(lab.name(`victim${i}`))));
      const ww = watchIt();
      await ww.ready;
      const all = watchers.changesOf(ww);
      const replayed = all.length;
      // live events before the cut, so that the adapter has delivered something the engine will replay
      await lab.pause(keep);
      await eventually(() => ww.portfolio.container(keep)?.paused === true, 'the pause');
      await lab.unpause(keep);
      await eventually(() => ww.portfolio.container(keep)?.paused === false, 'the unpause');

      await disconnect(ww);
      for (const id of victims) await lab.kill(id);
      const newcomer = await lab.run(lab.name('newcomer'));
      await lab.pause(keep);
      proxy.mode('forward');
      await eventually(() => ww.status.state === 'live', 'the watcher live again');
      await matchesTruth(ww, lab, 'after the gap');

      // the lifecycle batch of the reconnect waits (at most exitDetailsTimeout) for the details of inferred exits
      await eventually(() => victims.every((id) => about(all, id).length > 0) && about(all, newcomer).length > 0, 'the reconnect\'s changes');
      const changes = all.slice(replayed);
      expect(kinds(about(changes, keep)), 'keep').to.deep.equal(['paused', 'unpaused', 'paused']);
      for (const id of victims) {
        expect(kinds(about(changes, id)), id.slice(0, 12)).to.deep.equal(['exited']);
        expect(changes.find((c) => c.id === id && c.type === 'exited')?.exit?.code, `exit code of ${id.slice(0, 12)}`).to.equal(137);
      }
      expect(kinds(about(changes, newcomer))).to.deep.equal(['started']);
      // and it follows the engine live again, once
      const after = await lab.run(lab.name('after'));
      await eventually(() => about(all, after).length === 1, 'the start after the reconnect');
      await lab.kill(after);
      await eventually(() => about(all, after).length === 2, 'the exit after the reconnect');
      expect(about(all, after, false).map((s) => s.replace(/:.*/, ''))).to.deep.equal(['started', 'exited']);
      await matchesTruth(ww, lab, 'at the end');
    });

    it('(with relist8) the gap\'s exits are real events, with the codes of their die events, not exits inferred from the list', async function () {
      if (!foldDeliversEventsDuringLists()) {
        console.log('SKIP: the fold still infers the exits seen during a reconnect\'s list (relist8 not merged): gap exits are synthetic until then');
        this.skip();
      }
      const marker = await lab.run(lab.name('marker'));
      const victims = await Promise.all([0, 1].map((i) => lab.run(lab.name(`real${i}`))));
      // no asking after the fact: a code can only come from a replayed die
      const ww = watchers.add(watchDocker({ host: proxy.url, retry: FAST_RETRY, exitDetailsTimeout: 0 }));
      await ww.ready;
      const all = watchers.changesOf(ww);
      const replayed = all.length;
      await lab.pause(marker);
      await eventually(() => ww.portfolio.container(marker)?.paused === true, 'the pause');
      await disconnect(ww);
      for (const id of victims) await lab.kill(id);
      proxy.mode('forward');
      await eventually(() => ww.status.state === 'live', 'the watcher live again');
      await matchesTruth(ww, lab, 'after the gap');
      await eventually(() => victims.every((id) => about(all, id).length > 0), 'the exits');
      const changes = all.slice(replayed);
      for (const id of victims) {
        expect(about(changes, id, false).filter((s) => s.startsWith('exited')), id.slice(0, 12)).to.have.length(1);
        expect(about(changes, id, true), id.slice(0, 12)).to.deep.equal([]);
        expect(changes.find((c) => c.id === id && c.type === 'exited')?.exit?.code).to.equal(137);
      }
    });

    it('a stalled connection (a peer gone without FIN) is noticed by the dead-peer check: degraded with an unreachable error, then live again', async () => {
      const keep = await lab.run(lab.name('keep'));
      const ww = watchIt({ deadPeerTimeout: 400, requestTimeout: 2_000 });
      await ww.ready;
      const degraded: WatcherStatus[] = [];
      const sub = ww.status$.subscribe((s) => {
        if (s.state === 'degraded') degraded.push(s);
      });
      try {
        proxy.mode('stall');
        await eventually(() => degraded.length > 0, 'the watcher to notice the dead peer');
        const first = degraded[0] as Extract<WatcherStatus, { state: 'degraded' }>;
        expect(first.error.code, first.error.message).to.equal('unreachable');
        expect(first.error.message).to.match(/^the connection to the Docker engine at unix:\/\/\S+ went dead while checking that the silent event stream is still connected \(no answer to a liveness check within 400 ms\)/);
        // the last good picture stays
        expect(ww.portfolio.container(keep)).to.not.equal(undefined);
        // a container exits while the peer is dead; once the proxy forwards again, the watcher catches up
        await lab.kill(keep);
        proxy.mode('forward');
        proxy.cut(); // the stalled connections are dead for good
        await eventually(() => ww.status.state === 'live', 'the watcher live again', 60_000);
        await matchesTruth(ww, lab, 'after the dead peer');
      } finally {
        sub.unsubscribe();
      }
    });
  });
}
