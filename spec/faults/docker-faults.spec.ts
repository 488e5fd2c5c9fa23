/**
 * The fault corpus, Docker/Podman part: a watcher against a fake Docker engine (a real HTTP server on a
 * unix socket, spec/fakes/docker-fakes.ts) that misbehaves in one way per case. Each case ends with the
 * process alive (no unhandled rejection or exception), `status$` having said what happened with a typed
 * error, the portfolio equal to the fake's truth after recovery, exactly the right `exited`/`started`
 * differences, and nothing left open after close (the root hook). Fast: small retry delays, the fake's
 * controls instead of waiting.
 */
import { expect } from 'chai';
import type { EngineErrorCode } from '../../lib/errors.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { watchDocker } from '../../lib/engines/docker/watch-docker.js';
import { type FakeContainer, type FakeDocker, dockerEvent, fakeDocker } from '../fakes/docker-fakes.js';
import { type Watched, faultHarness, sawError, settled as settledAs } from '../helpers/faults.js';
import { eventually } from '../helpers/observe.js';
import { type Change, FAST_RETRY } from '../helpers/picture.js';

const ID = (n: number | string) => `${String(n).padStart(4, '0')}${'fa17'.repeat(15)}`;
const MiB = 1 << 20;

/** The fake's alive containers as `id:pid:name`, sorted. */
function truthOf(fake: FakeDocker): string[] {
  return [...fake.containers.values()]
    .filter((c) => (c.running ?? c.pid > 0) || c.paused)
    .map((c) => `${c.id}:${c.pid}:${c.name}`)
    .sort();
}

function pictureOf(ww: Watcher): string[] {
  return ww.portfolio.containers.map((c) => `${c.id}:${c.pid}:${c.name}`).sort();
}

/** The changes, compactly: `started:<id4>:<pid>`, `exited:<id4>` … */
function shown(changes: readonly Change[]): string[] {
  return changes.map((c) => (c.type === 'started' ? `started:${c.id.slice(0, 4)}:${c.pid}` : `${c.type}:${c.id.slice(0, 4)}`));
}

function add(fake: FakeDocker, n: number, pid = 1000 + n, more: Partial<FakeContainer> = {}): void {
  fake.containers.set(ID(n), { id: ID(n), name: `c${n}`, pid, ...more });
}

describe('fault corpus: Docker and Podman (fake engines on real unix sockets)', function () {
  this.timeout(30_000);

  const h = faultHarness(fakeDocker, (fake) => fake.close());
  let fake: FakeDocker;
  beforeEach(() => {
    fake = h.fake;
  });

  /** A watcher over the fake with fast retries, its status history and its changes (from the first replay on). */
  function start(options: { readonly syncTimeout?: number; readonly requestTimeout?: number } = {}): Watched {
    return h.watch(watchDocker({ host: fake.url, retry: FAST_RETRY, eventReplayWindow: 0, ...options }));
  }

  const settled = (ww: Watcher, what: string) => settledAs(ww, pictureOf, () => truthOf(fake), what);

  describe('one bad container never hides the others', () => {
    const cases: { name: string; fault: { status: number; body: unknown } | { body: unknown }; code: EngineErrorCode; message: RegExp }[] = [
      { name: 'an inspection answering HTTP 500', fault: { status: 500, body: { message: 'container state is improper' } }, code: 'engine', message: /HTTP 500: container state is improper/ },
      { name: 'an inspection without State', fault: { body: { Id: ID(2), Name: '/c2' } }, code: 'decode', message: /no State object/ },
      { name: 'an inspection whose State is null', fault: { body: { Id: ID(2), Name: '/c2', State: null } }, code: 'decode', message: /no State object/ },
      { name: 'an inspection without State.Pid', fault: { body: { Id: ID(2), Name: '/c2', State: { Running: true } } }, code: 'decode', message: /State\.Pid/ },
      { name: 'an inspection whose State.Pid is a string', fault: { body: { Id: ID(2), Name: '/c2', State: { Running: true, Pid: '1002' } } }, code: 'decode', message: /State\.Pid/ },
      { name: 'an inspection whose Id is missing', fault: { body: { Name: '/c2', State: { Running: true, Pid: 1002 } } }, code: 'decode', message: /without a string Id/ },
    ];
    for (const c of cases) {
      it(`${c.name}: the rest goes live, status says incomplete and why, the container is retried and folded in`, async () => {
        for (const n of [1, 2, 3]) add(fake, n);
        fake.inspectFaults.set(ID(2), c.fault);
        const { ww, statuses, changes } = start();
        await ww.ready;
        const status = ww.status;
        expect(status.state).to.equal('live');
        if (status.state !== 'live' || status.incomplete === undefined) throw new Error(`expected an incomplete live status, got ${JSON.stringify(status)}`);
        expect(status.incomplete.ids).to.deep.equal([ID(2)]);
        expect(status.incomplete.error.code).to.equal(c.code);
        expect(pictureOf(ww)).to.deep.equal(truthOf(fake).filter((t) => !t.startsWith(ID(2))));
        // retried with backoff, still failing: stays out and still said
        await eventually(() => (fake.inspections.get(ID(2)) ?? 0) >= 3, 'two retries of the bad container');
        expect(ww.status.state === 'live' && ww.status.incomplete?.ids).to.deep.equal([ID(2)]);
        // the engine gets well: folded in at the next retry, status complete
        fake.inspectFaults.delete(ID(2));
        await settled(ww, 'after the fault went away');
        sawError(statuses, c.code, c.message);
        expect(shown(changes)).to.deep.equal([`started:${ID(1).slice(0, 4)}:1001`, `started:${ID(3).slice(0, 4)}:1003`, `started:${ID(2).slice(0, 4)}:1002`]);
        expect(fake.eventQueries, 'no reconnect').to.have.length(1);
        expect(fake.listQueries, 'no relist').to.have.length(1);
      });
    }

    it('a container of the gap that exits meanwhile is settled by its event (no resurrection by a late answer)', async () => {
      for (const n of [1, 2]) add(fake, n);
      fake.inspectFaults.set(ID(2), { status: 500, body: { message: 'boom' } });
      const { ww, changes } = start();
      await ww.ready;
      await fake.eventStreamOpened();
      fake.containers.delete(ID(2));
      fake.emit(dockerEvent('die', ID(2), { exitCode: '0' }));
      await eventually(() => ww.status.state === 'live' && ww.status.incomplete === undefined, 'the die to settle the gap');
      fake.inspectFaults.delete(ID(2));
      await settled(ww, 'after the exit');
      expect(shown(changes)).to.deep.equal([`started:${ID(1).slice(0, 4)}:1001`]);
    });

    it('a 404 during the list is a container gone in between: no error, nothing missing', async () => {
      for (const n of [1, 2, 3]) add(fake, n);
      fake.inspectFaults.set(ID(2), { status: 404, body: { message: `No such container: ${ID(2)}` } });
      const { ww, statuses, changes } = start();
      await ww.ready;
      expect(ww.status).to.deep.equal({ state: 'live' });
      expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
      expect(shown(changes)).to.deep.equal([`started:${ID(1).slice(0, 4)}:1001`, `started:${ID(3).slice(0, 4)}:1003`]);
    });

    it('a thousand containers, every tenth answering 500: the others go live at once, the bad ones follow', async () => {
      for (let n = 1; n <= 1000; n++) add(fake, n);
      for (let n = 10; n <= 1000; n += 10) fake.inspectFaults.set(ID(n), { status: 500, body: { message: 'busy' } });
      const { ww, changes } = start();
      await ww.ready;
      expect(ww.portfolio.total).to.equal(900);
      expect(ww.status.state === 'live' && ww.status.incomplete?.ids.length).to.equal(100);
      fake.inspectFaults.clear();
      await settled(ww, 'after the faults went away');
      expect(changes.filter((c) => c.type === 'started')).to.have.length(1000);
      expect(changes.filter((c) => c.type !== 'started')).to.have.length(0);
    });
  });

  describe('fields: huge, many, or named like Object.prototype', () => {
    it('keeps __proto__ and constructor labels as ordinary labels and pollutes no prototype', async () => {
      const labels = JSON.parse('{"__proto__": "p", "constructor": "c", "toString": "t", "hasOwnProperty": "h"}') as Record<string, string>;
      add(fake, 1, 1001, { labels });
      const { ww } = start();
      await ww.ready;
      const got = ww.portfolio.container(ID(1))?.labels;
      expect(got && Object.keys(got).sort()).to.deep.equal(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
      expect(got && Object.getOwnPropertyDescriptor(got, '__proto__')?.value).to.equal('p');
      expect(got?.['constructor']).to.equal('c');
      expect(Object.prototype.toString.call({})).to.equal('[object Object]');
      expect(typeof ({} as { constructor: unknown }).constructor).to.equal('function');
    });

    it('keeps 10,000 labels and a 1 MiB label value', async () => {
      const many: Record<string, string> = {};
      for (let i = 0; i < 10_000; i++) many[`label.${i}`] = `v${i}`;
      add(fake, 1, 1001, { labels: many });
      add(fake, 2, 1002, { labels: { big: 'x'.repeat(MiB) } });
      const { ww } = start();
      await ww.ready;
      expect(Object.keys(ww.portfolio.container(ID(1))?.labels ?? {})).to.have.length(10_000);
      expect(ww.portfolio.container(ID(2))?.labels['big']).to.have.length(MiB);
    });

    it('an event line over the 1 MiB limit (a start carrying a 1.5 MiB label) keeps the stream: the start is resolved by an inspection', async () => {
      add(fake, 1);
      const { ww, statuses, changes } = start();
      await ww.ready;
      await fake.eventStreamOpened();
      const big = 'y'.repeat(1.5 * MiB);
      add(fake, 2, 1002, { labels: { big } });
      fake.emit(dockerEvent('start', ID(2), { name: 'c2', big }));
      fake.emit(dockerEvent('pause', ID(1)));
      fake.containers.set(ID(1), { ...fake.containers.get(ID(1))!, paused: true });
      await eventually(() => ww.portfolio.container(ID(1))?.paused === true && ww.portfolio.container(ID(2)) !== undefined, 'the big start and the pause after it');
      expect(ww.portfolio.container(ID(2))?.labels['big']).to.have.length(big.length);
      // a second oversized line, cut into many writes
      const line = `${JSON.stringify(dockerEvent('die', ID(2), { name: 'c2', big }))}\n`;
      fake.containers.delete(ID(2));
      for (let i = 0; i < line.length; i += 64 * 1024) fake.write(line.slice(i, i + 64 * 1024));
      await settled(ww, 'after the big die');
      expect(shown(changes)).to.deep.equal([`started:${ID(1).slice(0, 4)}:1001`, `started:${ID(2).slice(0, 4)}:1002`, `paused:${ID(1).slice(0, 4)}`, `exited:${ID(2).slice(0, 4)}`]);
      expect(fake.eventQueries, 'no reconnect').to.have.length(1);
      expect(fake.listQueries, 'no relist').to.have.length(1);
      expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
    });
    it('an oversized rename (a 1.5 MiB label copied into its attributes, its new name lost) is a `renamed`, exactly as a rename of normal size', async () => {
      const big = 'z'.repeat(1.5 * MiB);
      add(fake, 1);
      add(fake, 2, 1002, { labels: { big } });
      const { ww, statuses } = start();
      await ww.ready;
      await fake.eventStreamOpened();
      const seen: string[] = [];
      // (ends with the watcher's close)
      ww.lifecycle$.subscribe((e) => seen.push(`${e.type}:${e.container.id.slice(0, 4)}:${e.container.name}${e.previousName === undefined ? '' : ` (was ${e.previousName})`}${e.synthetic ? ' *' : ''}`));
      // the same change twice: 1 renamed by an event of normal size, 2 by one over the line limit
      fake.containers.set(ID(1), { ...fake.containers.get(ID(1))!, name: 'c1-new' });
      fake.emit(dockerEvent('rename', ID(1), { name: '/c1-new', oldName: '/c1' }));
      fake.containers.set(ID(2), { ...fake.containers.get(ID(2))!, name: 'c2-new' });
      // Docker writes the attributes sorted by key: the big label before the new name
      fake.emit(dockerEvent('rename', ID(2), { big, name: '/c2-new', oldName: '/c2' }));
      // and what follows the big line keeps its place behind it
      fake.containers.set(ID(2), { ...fake.containers.get(ID(2))!, paused: true });
      fake.emit(dockerEvent('pause', ID(2)));
      await eventually(() => ww.portfolio.container(ID(2))?.paused === true, 'the pause after the big rename');
      await settled(ww, 'after the renames');
      const [one, two] = [ID(1).slice(0, 4), ID(2).slice(0, 4)];
      expect(seen).to.deep.equal([`started:${one}:c1 *`, `started:${two}:c2 *`, `renamed:${one}:c1-new (was c1)`, `renamed:${two}:c2-new (was c2)`, `paused:${two}:c2-new`]);
      expect(ww.portfolio.container(ID(2))?.labels['big']).to.have.length(big.length);
      expect(fake.eventQueries, 'no reconnect').to.have.length(1);
      expect(fake.listQueries, 'no relist').to.have.length(1);
      expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
    });
  });

  describe('the event stream misbehaves', () => {
    const cases: { name: string; act: (fake: FakeDocker) => void; code: EngineErrorCode; message: RegExp }[] = [
      { name: 'garbage', act: (f) => f.write('\u0000\u00ffnot json at all\n'), code: 'decode', message: /an event that is not JSON/ },
      { name: 'a truncated JSON line', act: (f) => f.write('{"Type":"container","Action":"st\n'), code: 'decode', message: /an event that is not JSON/ },
      { name: 'a truncated line, then the end', act: (f) => (f.write('{"Type":"container","Act'), f.endEvents()), code: 'engine', message: /ended the stream while watching the event stream \(in the middle of an event\)/ },
      { name: 'an abrupt end', act: (f) => f.endEvents(), code: 'engine', message: /ended the stream/ },
      { name: 'a cut connection', act: (f) => f.cutEvents(), code: 'engine', message: /lost the connection|ended the stream/ },
      { name: 'broken chunked framing', act: (f) => f.breakFraming(), code: 'protocol', message: /broke the HTTP framing \(chunked encoding\) of its event stream .*HPE_INVALID_CHUNK_SIZE/ },
    ];
    for (const c of cases) {
      it(`${c.name}: degraded with a typed error, reconnects, and the differences missed meanwhile are exact`, async () => {
        for (const n of [1, 2, 3]) add(fake, n);
        const { ww, statuses, changes } = start();
        await ww.ready;
        await fake.eventStreamOpened();
        // while the stream breaks: 1 exits, 2 restarts with a new PID, 4 starts
        fake.containers.delete(ID(1));
        add(fake, 2, 2002);
        add(fake, 4);
        c.act(fake);
        await eventually(() => fake.eventQueries.length >= 2, 'a reconnect');
        await settled(ww, 'after the reconnect');
        sawError(statuses, c.code, c.message);
        // lifecycle$ may wait a moment for the details of the inferred exits (exitDetailsTimeout); the portfolio does not
        await eventually(() => changes.length >= 7, 'the differences');
        expect(shown(changes).slice(3)).to.deep.equal([`exited:${ID(1).slice(0, 4)}`, `exited:${ID(2).slice(0, 4)}`, `started:${ID(2).slice(0, 4)}:2002`, `started:${ID(4).slice(0, 4)}:1004`]);
      });
    }

    it('goes silent: the watcher stays live and honest, and the next event still counts', async () => {
      add(fake, 1);
      const { ww, statuses, changes } = start();
      await ww.ready;
      await fake.eventStreamOpened();
      await new Promise((resolve) => setTimeout(resolve, 200)); // silence (no assertion on time: only that nothing happens)
      expect(ww.status).to.deep.equal({ state: 'live' });
      fake.containers.delete(ID(1));
      fake.emit(dockerEvent('die', ID(1), { exitCode: '0' }));
      await settled(ww, 'after the silence');
      expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
      expect(shown(changes)).to.deep.equal([`started:${ID(1).slice(0, 4)}:1001`, `exited:${ID(1).slice(0, 4)}`]);
    });
  });

  describe('the list stalls', () => {
    it('forever: the sync timeout says so, the watcher retries, and goes live once the engine answers', async () => {
      add(fake, 1);
      const release = fake.stallList();
      const { ww, statuses, changes } = start({ syncTimeout: 300 });
      await eventually(() => ww.status.state === 'degraded', 'the sync timeout');
      sawError(statuses, 'engine', /did not list its containers within 300 ms/);
      release();
      await settled(ww, 'after the list answered');
      expect(shown(changes)).to.deep.equal([`started:${ID(1).slice(0, 4)}:1001`]);
    });
  });

  describe('real sizes', () => {
    it('a list of 10,000 containers goes live with the default timeouts (the sync timeout bounds the list, not each of its calls)', async function () {
      this.timeout(120_000);
      for (let n = 1; n <= 10_000; n++) add(fake, n);
      const { ww, statuses } = start();
      await ww.ready;
      expect(ww.portfolio.total).to.equal(10_000);
      expect(statuses.values.map((s) => s.state)).to.deep.equal(['connecting', 'syncing', 'live']);
    });
  });

  describe('the engine restarts', () => {
    it('socket deleted and recreated while containers changed: reconnects, exact differences', async () => {
      for (const n of [1, 2, 3]) add(fake, n);
      const { ww, statuses, changes } = start();
      await ww.ready;
      await fake.restart(() => {
        fake.containers.delete(ID(1));
        add(fake, 3, 3003);
        add(fake, 5);
      });
      await settled(ww, 'after the restart');
      expect(statuses.values.some((s) => s.state === 'degraded')).to.equal(true);
      await eventually(() => changes.length >= 7, 'the differences');
      expect(shown(changes).slice(3)).to.deep.equal([`exited:${ID(1).slice(0, 4)}`, `exited:${ID(3).slice(0, 4)}`, `started:${ID(3).slice(0, 4)}:3003`, `started:${ID(5).slice(0, 4)}:1005`]);
    });
  });
});
