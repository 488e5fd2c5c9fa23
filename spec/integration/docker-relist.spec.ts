/**
 * Relists on real engines (Docker 26.1, Podman 4.3): the adapter talks to the engine through a
 * counting proxy on a unix socket of its own, so the spec sees every list call and inspection.
 * A relist of an unchanged picture inspects nothing; a changed one inspects what changed; both end
 * equal to the engine's truth. A restart that kept the id is the one change the list cannot show:
 * the full relist (every 10th) repairs it.
 */
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import type { EngineAdapter } from '../../lib/core/engine.js';
import { DOCKER_FULL_RELIST_EVERY, dockerAdapter } from '../../lib/engines/docker/docker-source.js';
import { watchDocker } from '../../lib/engines/docker/watch-docker.js';
import { type Container } from '../../lib/model/container.js';
import { Portfolio } from '../../lib/model/portfolio.js';
import { type EngineName, labImage, useEngine } from '../helpers/engines.js';
import { DockerLab, type Seen, eventually, seen } from '../engines/docker/docker-lab.js';
import { FAST_RETRY, Watchers, byId, matchesTruth } from '../helpers/picture.js';
import { socketProxy } from '../fakes/socket-proxy.js';

const ENGINES: readonly EngineName[] = ['docker26', 'podman'];
const INSPECT = /^GET \/(v[\d.]+\/)?containers\/[0-9a-f]{64}\/json /;
const LIST = /^GET \/(v[\d.]+\/)?containers\/json\?/;

/**
 * The relists since list number `from` (and the inspection count then) against `alive` containers: relists of an
 * unchanged picture cost no inspection, but every DOCKER_FULL_RELIST_EVERY-th relist is a full one, and under load
 * more relists than awaited may pass (and a late event's inspection may land in between). So: some relist cost
 * nothing, and all of them together far less than inspecting every container each time. Fails when relists inspect
 * as a rule.
 */
function expectCheapRelists(proxy: { readonly marks: readonly number[]; readonly inspections: number }, from: number, inspectionsThen: number, alive: number): void {
  const marks = [inspectionsThen, ...proxy.marks.slice(from), proxy.inspections];
  const costs = marks.slice(1).map((m, i) => m - (marks[i] as number));
  const relists = costs.length - 1;
  const total = costs.reduce((a, b) => a + b, 0);
  expect(relists, 'relists counted').to.be.greaterThan(0);
  expect(costs.slice(1).some((c) => c === 0), `a relist that cost nothing (${costs.join(', ')})`).to.equal(true);
  const fullOnes = Math.floor(relists / DOCKER_FULL_RELIST_EVERY) + 1;
  expect(total, `inspections of ${relists} relists of ${alive} (${costs.join(', ')})`).to.be.at.most(fullOnes * alive + 2);
  expect(total, 'fewer than inspecting everything every time').to.be.lessThan(relists * alive);
}

/** A proxy to the engine (spec/fakes/socket-proxy.ts) that counts the list calls and inspections going through it. */
async function countingProxy(target: string): Promise<{ url: string; lists: number; inspections: number; readonly marks: readonly number[]; close(): Promise<void> }> {
  const counts = { lists: 0, inspections: 0 };
  // the inspection count when each list call went through (marks[k]: before list k+1)
  const marks: number[] = [];
  // each connection's unfinished last line
  const partials = new WeakMap<Socket, string>();
  const proxy = await socketProxy(target, {
    onClientData: (chunk, client) => {
      const lines = ((partials.get(client) ?? '') + chunk.toString('latin1')).split('\n');
      partials.set(client, lines.pop() ?? '');
      for (const line of lines) {
        if (INSPECT.test(line)) counts.inspections += 1;
        else if (LIST.test(line)) {
          marks.push(counts.inspections);
          counts.lists += 1;
        }
      }
    },
  });
  return {
    url: proxy.url,
    get lists() {
      return counts.lists;
    },
    get inspections() {
      return counts.inspections;
    },
    marks,
    close: () => proxy.close(),
  };
}

for (const engine of ENGINES) {
  describe(`Docker relist on ${engine}`, function () {
    this.timeout(180_000);
    let endpoint: string;
    let lab: DockerLab;
    let proxy: Awaited<ReturnType<typeof countingProxy>>;
    const adapters: EngineAdapter[] = [];
    const watchers = new Watchers();

    before(function () {
      endpoint = useEngine(this, engine);
    });
    beforeEach(async () => {
      lab = new DockerLab(endpoint, labImage(engine), engine);
      proxy = await countingProxy(endpoint.replace(/^unix:\/\//, ''));
    });
    afterEach(async () => {
      await watchers.close();
      for (const a of adapters.splice(0)) a.dispose();
      await proxy?.close();
      await lab?.cleanup();
      lab?.close();
    });

    const mineOnly = () => [`whalewatcher.test=${lab.run_id}`];
    /** The engine's truth about this lab's containers. */
    const truth = async (): Promise<Seen[]> => {
      const mine = new Set(await lab.mine());
      return (await lab.truth()).filter((t) => mine.has(t.id));
    };
    const view = (cs: readonly Container[]) => byId(cs.map(seen));

    it('a relist inspects only what its list shows changed, and ends equal to the truth; a restart that kept the id waits for the full relist', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await lab.run(lab.name(`r${i}`)));
      const adapter = dockerAdapter({ host: proxy.url, labels: mineOnly() });
      adapters.push(adapter);
      const first = await firstValueFrom(adapter.snapshot());
      expect(view(first)).to.deep.equal(await truth());
      expect(proxy.inspections).to.equal(12);

      // 1st relist, nothing changed: the list call alone
      let previous = Portfolio.of(first);
      let { lists, inspections } = proxy;
      const same = await firstValueFrom(adapter.snapshot(previous));
      expect([proxy.lists - lists, proxy.inspections - inspections]).to.deep.equal([1, 0]);
      expect(view(same)).to.deep.equal(await truth());

      // 2nd: paused, renamed, killed, new: three inspections (the killed one is simply absent)
      await lab.pause(ids[0]!);
      await lab.rename(ids[1]!, lab.name('renamed'));
      await lab.kill(ids[2]!);
      ids.push(await lab.run(lab.name('new')));
      ({ lists, inspections } = proxy);
      const changed = await firstValueFrom(adapter.snapshot(previous));
      expect([proxy.lists - lists, proxy.inspections - inspections]).to.deep.equal([1, 3]);
      expect(view(changed)).to.deep.equal(await truth());
      previous = Portfolio.of(changed);

      // 3rd: a restart keeps id, name and state: the cheap relist cannot see it (documented) ...
      const pidBefore = await lab.pid(ids[3]!);
      await lab.restart(ids[3]!);
      const pidAfter = await eventually(async () => {
        const pid = await lab.pid(ids[3]!);
        return pid !== pidBefore && pid > 0 ? pid : 0;
      }, 'the restart');
      ({ inspections } = proxy);
      const blind = await firstValueFrom(adapter.snapshot(previous));
      expect(proxy.inspections - inspections).to.equal(0);
      expect(blind.find((c) => c.id === ids[3])?.pid).to.equal(pidBefore);
      // ... until the full one, every 10th relist
      let relists = 3;
      let last = blind;
      while (relists < DOCKER_FULL_RELIST_EVERY) {
        ({ inspections } = proxy);
        last = await firstValueFrom(adapter.snapshot(previous));
        relists += 1;
        expect(proxy.inspections - inspections, `relist ${relists}`).to.equal(relists === DOCKER_FULL_RELIST_EVERY ? ids.length - 1 : 0);
      }
      expect(last.find((c) => c.id === ids[3])?.pid).to.equal(pidAfter);
      expect(view(last)).to.deep.equal(await truth());
    });

    it('watchDocker relists every resyncInterval without inspecting, and stays equal to the truth through churn', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push(await lab.run(lab.name(`w${i}`)));
      const ww = watchers.add(watchDocker({ host: proxy.url, labels: mineOnly(), resyncInterval: 100, retry: FAST_RETRY }));
      await ww.ready;
      await matchesTruth(ww, { truth, seen }, 'after the first sync');
      const { lists, inspections } = proxy;
      await eventually(() => proxy.lists >= lists + 3, 'three periodic relists');
      // (under load more may pass, and every 10th relist is a full one: see DOCKER_FULL_RELIST_EVERY)
      expectCheapRelists(proxy, lists, inspections, ww.portfolio.total);
      // churn the events tell: each start costs its own inspection, the relists none
      await lab.kill(ids[0]!);
      await lab.pause(ids[1]!);
      await lab.restart(ids[2]!);
      ids.push(await lab.run(lab.name('late')));
      await matchesTruth(ww, { truth, seen }, 'after the churn');
      const afterChurn = proxy.inspections;
      const lists2 = proxy.lists;
      await eventually(() => proxy.lists >= lists2 + 3, 'three more relists');
      expectCheapRelists(proxy, lists2, afterChurn, ww.portfolio.total);
      await matchesTruth(ww, { truth, seen }, 'after the relists');
      expect(ww.status.state).to.equal('live');
    });
  });
}
