/**
 * The richer picture on the real Docker 20.10, Docker 26.1 and Podman 4.3
 * engines: exit details on `exited` (a chosen code, a kill, an OOM kill),
 * image and times, health checks, renames as lifecycle events, and watchers
 * that take only the containers with given labels while others come and go.
 */
import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { normalizeDockerInspect } from '../../lib/engines/docker/docker-normalize.js';
import { watchDocker } from '../../lib/engines/docker/watch-docker.js';
import type { Container } from '../../lib/model/container.js';
import { matchesLabels, parseLabelSelectors } from '../../lib/engines/common/label-selector.js';
import { type EngineName, labImage, useEngine } from '../helpers/engines.js';
import { DockerLab, type Seen, eventually, seen } from '../engines/docker/docker-lab.js';
import { FAST_RETRY, type Truthful, Watchers, byId, matchesTruth, pictureOf } from '../helpers/picture.js';

const ENGINES: readonly EngineName[] = ['docker20', 'docker26', 'podman'];

/** A shell that exits with `code` once it gets SIGUSR1 (busybox sh runs the trap between its short sleeps). */
const EXIT_ON_USR1 = (code: number): string[] => ['sh', '-c', `trap "exit ${code}" USR1; while :; do sleep 0.1; done`];
/** A shell that allocates until the OOM killer ends it. */
const ALLOCATE = ['sh', '-c', 'x=0123456789abcdef; while :; do x=$x$x; done'];
/** The same once it got SIGUSR1 (so that the watcher holds it before it dies: a container dead before its start's inspection is never pictured). */
const ALLOCATE_ON_USR1 = ['sh', '-c', 'trap "go=1" USR1; while [ -z "$go" ]; do sleep 0.1; done; x=0123456789abcdef; while :; do x=$x$x; done'];
const SMALL_MEMORY = { Memory: 8 * 1024 * 1024, MemorySwap: 8 * 1024 * 1024 };

/** The engine's truth of the containers whose labels match `labels` (read by list + inspect, filtered here). */
class FilteredTruth implements Truthful<Seen> {
  private readonly selectors;
  constructor(
    private readonly lab: DockerLab,
    labels: readonly string[],
  ) {
    this.selectors = parseLabelSelectors(labels, 'docker');
  }
  seen(c: Container): Seen {
    return seen(c);
  }
  async truth(): Promise<Seen[]> {
    const out: Seen[] = [];
    for (const entry of await this.lab.docker.listContainers({ all: true })) {
      try {
        const c = normalizeDockerInspect(await this.lab.docker.getContainer(entry.Id).inspect());
        if (c !== null && matchesLabels(c.labels, this.selectors)) out.push(seen(c));
      } catch {
        // gone meanwhile
      }
    }
    return byId(out);
  }
}

for (const engine of ENGINES) {
  describe(`watchDocker's richer picture on ${engine}`, function () {
    this.timeout(180_000);
    let endpoint: string;
    let lab: DockerLab;
    const watchers = new Watchers();
    const subscriptions: Subscription[] = [];

    before(function () {
      endpoint = useEngine(this, engine);
    });
    beforeEach(function () {
      lab = new DockerLab(endpoint, labImage(engine), engine);
    });
    afterEach(async () => {
      for (const s of subscriptions.splice(0)) s.unsubscribe();
      await watchers.close();
      await lab?.cleanup();
      lab?.close();
    });

    function watchIt(labels?: readonly string[]): Watcher {
      return watchers.add(watchDocker({ host: endpoint, retry: FAST_RETRY, ...(labels === undefined ? {} : { labels }) }));
    }

    /** Every lifecycle event of `ww` from now on. */
    function eventsOf(ww: Watcher): LifecycleEvent[] {
      const events: LifecycleEvent[] = [];
      subscriptions.push(ww.lifecycle$.subscribe((e) => events.push(e)));
      return events;
    }

    /** Creates and starts a container with `cmd` and extra create options; returns its id. */
    async function runWith(hint: string, cmd: readonly string[], extra: Record<string, unknown> = {}, hostConfig: Record<string, unknown> = {}): Promise<string> {
      const c = await lab.docker.createContainer({
        name: lab.name(hint),
        Image: lab.image,
        Cmd: [...cmd],
        Labels: { 'whalewatcher.test': lab.run_id },
        HostConfig: { NetworkMode: 'none', ...hostConfig },
        ...extra,
      } as never);
      await c.start();
      return c.id;
    }

    const exitOf = (events: readonly LifecycleEvent[], id: string): LifecycleEvent | undefined => events.find((e) => e.type === 'exited' && e.container.id === id);

    it('tells the exit code of a container that exits by itself, and 137 for one killed; image and times from the inspection', async () => {
      const ww = watchIt();
      await ww.ready;
      const events = eventsOf(ww);
      const self = await runWith('self', EXIT_ON_USR1(42));
      const killed = await runWith('killed', ['sleep', '100000']);
      await eventually(() => ww.portfolio.container(self) !== undefined && ww.portfolio.container(killed) !== undefined, 'both starts');

      const raw = await lab.docker.getContainer(self).inspect();
      const c = ww.portfolio.container(self)!;
      expect(c.image).to.equal(labImage(engine));
      expect(c.image).to.equal(raw.Config.Image);
      expect(c.createdAt?.getTime()).to.equal(new Date(raw.Created).getTime());
      expect(c.startedAt?.getTime()).to.equal(new Date(raw.State.StartedAt).getTime());
      expect(c.health).to.equal(undefined); // no health check

      await lab.docker.getContainer(self).kill({ signal: 'USR1' });
      await lab.kill(killed);
      await eventually(() => exitOf(events, self) !== undefined && exitOf(events, killed) !== undefined, 'both exits');

      const selfExit = exitOf(events, self)!;
      expect(selfExit.synthetic).to.equal(false);
      expect(selfExit.exit?.code).to.equal(42);
      expect(selfExit.exit?.oomKilled).to.equal(undefined);
      const finished = new Date((await lab.docker.getContainer(self).inspect()).State.FinishedAt).getTime();
      // the die event's time and the engine's FinishedAt are both the engine's clock, taken a moment apart
      expect(Math.abs(selfExit.exit!.time!.getTime() - finished)).to.be.below(5_000);
      expect(selfExit.container.image).to.equal(labImage(engine));
      expect(exitOf(events, killed)?.exit?.code).to.equal(137);
    });

    it('tells an OOM kill apart from a kill after an OOM-killed exec', async () => {
      const ww = watchIt();
      await ww.ready;
      const events = eventsOf(ww);
      const survivor = await runWith('oomexec', ['sleep', '100000'], {}, SMALL_MEMORY);
      await eventually(() => ww.portfolio.container(survivor) !== undefined, 'the survivor');
      expect(await lab.exec(survivor, ALLOCATE)).to.equal(137); // the exec is OOM-killed, the container lives on
      const hog = await runWith('oom', ALLOCATE_ON_USR1, {}, SMALL_MEMORY);
      await eventually(() => ww.portfolio.container(hog) !== undefined, 'the hog');
      await lab.docker.getContainer(hog).kill({ signal: 'USR1' });
      await eventually(() => exitOf(events, hog) !== undefined, 'the OOM kill');
      // measured: Podman 4.3 sends no oom event (and its inspection says OOMKilled false), so only the code tells
      expect(exitOf(events, hog)?.exit).to.include(engine === 'podman' ? { code: 137 } : { code: 137, oomKilled: true });
      if (engine === 'podman') expect(exitOf(events, hog)?.exit?.oomKilled).to.equal(undefined);

      expect(ww.portfolio.container(survivor)?.id).to.equal(survivor);
      await lab.kill(survivor);
      await eventually(() => exitOf(events, survivor) !== undefined, 'the kill');
      expect(exitOf(events, survivor)?.exit?.code).to.equal(137);
      expect(exitOf(events, survivor)?.exit?.oomKilled).to.equal(undefined);
    });

    it('follows a health check from starting to healthy, with health lifecycle events', async function () {
      const ww = watchIt();
      await ww.ready;
      const events = eventsOf(ww);
      // the check passes once the container got SIGUSR1: until then it is `starting` (failures in the start period do not count)
      const cmd = ['sh', '-c', 'trap "touch /tmp/ok" USR1; while :; do sleep 0.1; done'];
      const check = { Test: ['CMD-SHELL', 'test -e /tmp/ok'], Interval: 1e9, Timeout: 1e9, Retries: 3, StartPeriod: 600e9 };
      const id = await runWith('health', cmd, { Healthcheck: check });
      await eventually(() => ww.portfolio.container(id) !== undefined, 'the start');
      expect(events.find((e) => e.type === 'started' && e.container.id === id)?.container.health).to.equal('starting');
      if (engine === 'podman') await lab.healthcheck(id);
      expect(ww.portfolio.container(id)?.health).to.equal('starting');
      await lab.docker.getContainer(id).kill({ signal: 'USR1' });
      // no systemd here to run Podman's timers: run its check by hand (its event tells the status before the run)
      await eventually(async () => {
        if (engine === 'podman') await lab.healthcheck(id);
        return ww.portfolio.container(id)?.health === 'healthy';
      }, 'healthy', 30_000, 300);
      const health = events.filter((e) => e.type === 'health' && e.container.id === id);
      expect(health.map((e) => [e.container.health, e.synthetic])).to.deep.equal([['healthy', false]]);
      expect((await lab.docker.getContainer(id).inspect()).State.Health?.Status).to.equal('healthy');
    });

    for (const size of ['normal', 'oversized'] as const) {
      it(`tells a rename as a renamed lifecycle event with the previous name${size === 'oversized' ? ' (an event line over 1 MiB: a label of 1.2 MB once escaped, copied into it)' : ''}`, async () => {
        // no periodic relist: the rename must come from the event (a relist that saw it first would tell it, honestly, as synthetic)
        const ww = watchers.add(watchDocker({ host: endpoint, retry: FAST_RETRY, resyncInterval: 0 }));
        const states: string[] = [];
        subscriptions.push(ww.status$.subscribe((st) => states.push(st.state)));
        await ww.ready;
        const events = eventsOf(ww);
        const name = lab.name('ren');
        // oversized: the engine takes no request over 1 MiB, but its JSON escapes `<` as `\u003c`: a label of
        // 200,000 of them is a 200 kB request and an event line of 1.2 MB
        const id = await lab.run(name, size === 'oversized' ? { labels: { 'ww.big': '<'.repeat(200_000) } } : {});
        // (Podman takes seconds over a megabyte line: a generous bound)
        const bound = size === 'oversized' ? 60_000 : undefined;
        await eventually(() => ww.portfolio.container(id) !== undefined, 'the start', bound);
        await lab.rename(id, `${name}-new`);
        await eventually(() => events.some((e) => e.type === 'renamed' && e.container.id === id), 'the rename', bound);
        const renamed = events.find((e) => e.type === 'renamed')!;
        // a stream that was reopened meanwhile (a loaded engine slow on a megabyte line may miss the dead-peer
        // check's bound) relists in full: the list may then tell the rename first, as synthetic
        const reopened = states.lastIndexOf('live') > states.indexOf('live') && states.slice(states.indexOf('live')).some((st) => st !== 'live');
        expect([renamed.container.name, renamed.previousName, renamed.synthetic], `status: ${states.join(' → ')}`).to.deep.equal([`${name}-new`, name, reopened && renamed.synthetic]);
        expect(ww.portfolio.container(`${name}-new`)?.id).to.equal(id);
        expect(events.filter((e) => e.container.id === id).map((e) => e.type)).to.deep.equal(['started', 'renamed']);
      });
    }

    for (const selector of ['key=value', 'key only', 'two entries']) {
      it(`holds exactly the containers matching a label filter (${selector}) while others come and go`, async () => {
        const key = `ww.pick.${lab.run_id}`;
        const labels = selector === 'key=value' ? [`${key}=yes`] : selector === 'key only' ? [key] : [`${key}=yes`, `whalewatcher.test=${lab.run_id}`];
        const pick = { [key]: 'yes' };
        const other = selector === 'key only' ? {} : { [key]: 'no' };
        const truth = new FilteredTruth(lab, labels);
        const a = await lab.run(lab.name('a'), { labels: pick });
        const b = await lab.run(lab.name('b'), { labels: other });
        const c = await lab.run(lab.name('c'), { labels: pick });
        await lab.pause(c);

        const ww = watchIt(labels);
        await ww.ready;
        const events = eventsOf(ww);
        const seenNow = await truth.truth();
        expect(seenNow.map((s) => s.id).sort()).to.deep.equal([a, c].sort());
        expect(pictureOf(ww, truth)).to.deep.equal(seenNow);

        const d = await lab.run(lab.name('d'), { labels: pick });
        const e = await lab.run(lab.name('e'), { labels: other });
        await lab.pause(e);
        await lab.unpause(c);
        await lab.kill(a);
        await lab.kill(b);
        await lab.rename(e, lab.name('e-new'));
        const f = await lab.run(lab.name('f'), { labels: other });
        await eventually(() => ww.portfolio.container(d) !== undefined && ww.portfolio.container(a) === undefined && ww.portfolio.container(c)?.paused === false, 'the changes');
        const end = await matchesTruth(ww, truth, 'after the churn');
        expect(end.map((s) => s.id).sort()).to.deep.equal([c, d].sort());
        const mentioned = new Set(events.map((x) => x.container.id));
        for (const id of [b, e, f]) expect(mentioned.has(id), `${id} is not watched`).to.equal(false);
        expect(exitOf(events, a)?.exit?.code).to.equal(137);
      });
    }
  });
}
