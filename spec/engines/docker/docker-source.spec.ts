import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { expect } from 'chai';
import { firstValueFrom, take, toArray } from 'rxjs';
import type { EngineAdapter, EngineFeed } from '../../../lib/core/engine.js';
import { EngineError, isEngineError } from '../../../lib/errors.js';
import { PROJECT_LABEL } from '../../../lib/model/container.js';
import { dockerAdapter, dockerSince } from '../../../lib/engines/docker/docker-source.js';
import { type FakeDocker, type FakeEndpoint, type TlsFiles, dockerEvent, fakeDocker, garbageServer, makeTlsFiles, notDockerServer } from '../../fakes/docker-fakes.js';
import { eventually, record } from './docker-lab.js';
import { socketProxy } from '../../fakes/socket-proxy.js';

const ID = (n: number | string) => `${String(n).padStart(4, '0')}${'c0ffee'.repeat(10)}`;

/** What a feed says, compactly: `listening`, `started:<id>:<pid>`, `exited:<id>` … */
function show(f: EngineFeed): string {
  switch (f.type) {
    case 'listening':
      return 'listening';
    case 'started':
      return `started:${f.container.id.slice(0, 4)}:${f.container.pid}`;
    case 'renamed':
      return `renamed:${f.id.slice(0, 4)}:${f.name}`;
    default:
      return `${f.type}:${f.id.slice(0, 4)}`;
  }
}

function expectEngineError(err: unknown, code: EngineError['code'], message?: RegExp): void {
  expect(isEngineError(err), `an EngineError, not ${String(err)}`).to.equal(true);
  expect((err as EngineError).code, (err as EngineError).message).to.equal(code);
  expect((err as EngineError).engine).to.equal('docker');
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

describe('dockerSince', () => {
  it('writes unix seconds with nine fraction digits, as Docker and Podman parse them', () => {
    expect(dockerSince(1_700_000_000_123)).to.equal('1700000000.123000000');
    expect(dockerSince(1_700_000_000_000)).to.equal('1700000000.000000000');
    expect(dockerSince(999.7)).to.equal('0.999000000');
    expect(dockerSince(-5)).to.equal('0.000000000');
  });
});

describe('dockerAdapter against fake endpoints', function () {
  this.timeout(30_000);

  const opened: (FakeEndpoint | EngineAdapter)[] = [];
  const track = <T extends FakeEndpoint | EngineAdapter>(x: T): T => {
    opened.push(x);
    return x;
  };
  afterEach(async () => {
    for (const x of opened.splice(0).reverse()) {
      if ('dispose' in x) x.dispose();
      else await x.close();
    }
  });

  /** After the adapter let go of everything, the fake has no open connection left. */
  async function noConnectionsLeft(fake: FakeEndpoint, adapter: EngineAdapter): Promise<void> {
    adapter.dispose();
    await eventually(() => fake.openConnections === 0, `the fake to see every connection closed (open: ${fake.openConnections})`);
  }

  describe('errors', () => {
    it('no socket at all (ENOENT) is unreachable, and says what to do', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ww-nosock-'));
      try {
        const adapter = track(dockerAdapter({ host: `unix://${dir}/missing.sock` }));
        const ev = record(adapter.events());
        await ev.finished;
        expectEngineError(ev.error, 'unreachable', /no Docker engine at unix:\/\/.*missing\.sock.*is it running\? set DOCKER_HOST or the host option/);
        expect(ev.values).to.deep.equal([]);
        expectEngineError(await rejection(firstValueFrom(adapter.snapshot())), 'unreachable');
        expectEngineError(await rejection(adapter.info()), 'unreachable');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('a socket path nobody listens on (ECONNREFUSED) is unreachable', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ww-stale-'));
      try {
        await writeFile(join(dir, 'stale.sock'), '');
        const adapter = track(dockerAdapter({ host: `unix://${dir}/stale.sock` }));
        expectEngineError(await rejection(adapter.info()), 'unreachable', /connection refused/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('(a) something that does not speak HTTP is a protocol error', async () => {
      const fake = track(await garbageServer());
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await ev.finished;
      expectEngineError(ev.error, 'protocol', /not with HTTP/);
      expectEngineError(await rejection(firstValueFrom(adapter.snapshot())), 'protocol');
      expectEngineError(await rejection(adapter.info()), 'protocol');
      await noConnectionsLeft(fake, adapter);
    });

    it('(b) an HTTP server that is not Docker (404 HTML) is a protocol error', async () => {
      const fake = track(await notDockerServer());
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await ev.finished;
      expectEngineError(ev.error, 'protocol', /answers, but not like a Docker engine API while .* \(HTTP 404/);
      expectEngineError(await rejection(firstValueFrom(adapter.snapshot())), 'protocol', /HTTP 404/);
      expectEngineError(await rejection(adapter.info()), 'protocol');
      await noConnectionsLeft(fake, adapter);
    });

    it('an event stream that is not JSON by its content type is a protocol error', async () => {
      const fake = track(await fakeDocker({ eventContentType: 'text/html' }));
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await ev.finished;
      expectEngineError(ev.error, 'protocol');
      expect(ev.values).to.deep.equal([]);
      await noConnectionsLeft(fake, adapter);
    });

    it('(c) a malformed event line is a decode error, after the good ones', async () => {
      const fake = track(await fakeDocker());
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101 });
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit(dockerEvent('pause', ID(1)));
      fake.write('{"Type":"container","Action":"die",\n');
      await ev.finished;
      expect(ev.values.map(show)).to.deep.equal(['listening', 'paused:0001']);
      expectEngineError(ev.error, 'decode', /not JSON/);
      await noConnectionsLeft(fake, adapter);
    });

    it('a relevant event without a container id is a decode error', async () => {
      const fake = track(await fakeDocker());
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit({ Type: 'container', Action: 'die', Actor: {} });
      await ev.finished;
      expectEngineError(ev.error, 'decode', /without Actor\.ID/);
      await noConnectionsLeft(fake, adapter);
    });

    it('(d) an event stream the engine ends is an engine error "ended the stream"', async () => {
      const fake = track(await fakeDocker());
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit(dockerEvent('unpause', ID(2)));
      fake.endEvents();
      await ev.finished;
      expect(ev.values.map(show)).to.deep.equal(['listening', 'unpaused:0002']);
      expectEngineError(ev.error, 'engine', /^the Docker engine at unix:\/\/\S+ ended the stream while watching the event stream: /);
      await noConnectionsLeft(fake, adapter);
    });

    it('(d) an event stream cut in the middle of an event is an engine error', async () => {
      const fake = track(await fakeDocker());
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.write('{"Type":"container","Action":"pa');
      await yieldToLoop();
      fake.cutEvents();
      await ev.finished;
      expectEngineError(ev.error, 'engine');
      expect(ev.values.map(show)).to.deep.equal(['listening']);
      await noConnectionsLeft(fake, adapter);
    });

    it('(d) a stalled event stream is no error, and unsubscribing closes it', async () => {
      const fake = track(await fakeDocker());
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.write('{"Type":"container","Action":"pause","Actor":{"ID":"');
      await yieldToLoop();
      expect(ev.error).to.equal(undefined);
      ev.subscription.unsubscribe();
      await eventually(() => fake.eventStreams === 0, 'the fake to see the event stream closed');
      expect(ev.error).to.equal(undefined);
      expect(ev.completed).to.equal(false);
      await noConnectionsLeft(fake, adapter);
    });

    it('an engine that never opens its event stream times out as an engine error', async () => {
      const fake = track(await fakeDocker({ holdEventHeaders: true }));
      const adapter = track(dockerAdapter({ host: fake.url, requestTimeout: 300 }));
      const ev = record(adapter.events());
      await ev.finished;
      expectEngineError(ev.error, 'engine', /did not answer within 300 ms while opening the event stream: is it overloaded or hung\?/);
      await noConnectionsLeft(fake, adapter);
    });

    it("an inspection that never answers times out as an engine error, in the list's gap (one bad container never hides the others)", async () => {
      const fake = track(await fakeDocker());
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101 });
      fake.stallInspections();
      const adapter = track(dockerAdapter({ host: fake.url, requestTimeout: 300 }));
      const list = await firstValueFrom(adapter.snapshot());
      expect(list).to.have.length(0);
      expect(list.gap?.ids).to.deep.equal([ID(1)]);
      expectEngineError(list.gap?.error, 'engine', /did not answer within 300 ms while inspecting container/);
      await eventually(() => fake.inspectsAborted === 1, 'the timed-out inspection to be aborted');
      await noConnectionsLeft(fake, adapter);
    });

    it('a root-owned 0600 socket refuses an unprivileged process: permission', async function () {
      if (process.getuid?.() !== 0) this.skip();
      const fake = track(await fakeDocker({ socketMode: 0o600 }));
      await chmod(join(fake.socketPath, '..'), 0o755);
      const dir = await mkdtemp(join(tmpdir(), 'ww-perm-'));
      try {
        await chmod(dir, 0o755);
        const source = new URL('../../../lib/engines/docker/docker-source.js', import.meta.url).href;
        const script = join(dir, 'probe.mjs');
        await writeFile(
          script,
          `import { dockerAdapter } from ${JSON.stringify(source)};
const adapter = dockerAdapter({ host: ${JSON.stringify(fake.url)} });
const results = {};
try { await adapter.info(); results.info = 'ok'; } catch (e) { results.info = { code: e.code, message: e.message }; }
results.events = await new Promise((resolve) => {
  adapter.events().subscribe({ next: () => {}, error: (e) => resolve({ code: e.code, message: e.message }), complete: () => resolve('complete') });
});
adapter.dispose();
console.log(JSON.stringify(results));
`,
        );
        await chmod(script, 0o644);
        const out = await new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, [script], { uid: 65534, gid: 65534, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`probe exited ${code}: ${stderr}`))));
        });
        const results = JSON.parse(out) as Record<string, { code: string; message: string }>;
        for (const what of ['info', 'events']) {
          expect(results[what]?.code, JSON.stringify(results[what])).to.equal('permission');
          expect(results[what]?.message).to.match(/^permission denied by unix:\/\/.* \(EACCES\)/);
        }
        expect(fake.connections).to.equal(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('events()', () => {
    let fake: FakeDocker;
    beforeEach(async () => {
      fake = track(await fakeDocker());
    });

    it('asks for container start/die/died/pause/unpause/rename/oom/kill/health_status events only, a first stream on a unix socket replayed from a second before it asked', async () => {
      const adapter = track(dockerAdapter({ host: fake.url }));
      const before = Date.now();
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      const after = Date.now();
      const query = new URLSearchParams(fake.eventQueries[0]);
      expect(JSON.parse(query.get('filters') ?? 'null')).to.deep.equal({ type: ['container'], event: ['start', 'die', 'died', 'pause', 'unpause', 'rename', 'oom', 'kill', 'health_status'] });
      const since = query.get('since') ?? '';
      expect(since).to.match(/^\d+\.\d{9}$/);
      expect(Number(since) * 1000).to.be.within(before - 1_000 - 1, after - 1_000);
      ev.subscription.unsubscribe();
      await noConnectionsLeft(fake, adapter);
    });

    it('reopened, asks for the events since the last one it delivered (by the engine\'s clock, less a second) and drops the replayed ones it delivered', async () => {
      for (const n of [1, 2, 3]) fake.containers.set(ID(n), { id: ID(n), name: `c${n}`, pid: 100 + n });
      const adapter = track(dockerAdapter({ host: fake.url }));
      // the engine's clock (a unix socket: ours), a minute from now so that nothing of the first open's replay counts
      const base = Math.floor(Date.now() / 1000) * 1000 + 60_000;
      const t = (ms: number) => (base + ms) * 1_000_000;
      const first = record(adapter.events());
      await eventually(() => first.values.length === 1, 'listening');
      fake.emit(dockerEvent('start', ID(1), {}, t(0)));
      fake.emit(dockerEvent('pause', ID(1), {}, t(1_000)));
      fake.emit(dockerEvent('unpause', ID(1), {}, t(1_500)));
      fake.emit(dockerEvent('die', ID(2), { exitCode: '3' }, t(1_700)));
      await eventually(() => first.values.length === 5, 'four events');
      fake.cutEvents();
      await first.finished;

      const second = record(adapter.events());
      await eventually(() => second.values.length === 1, 'listening again');
      expect(new URLSearchParams(fake.eventQueries[1]).get('since')).to.equal(dockerSince(base + 700));
      // what the engine replays from there: the last two again, then the gap
      fake.emit(dockerEvent('unpause', ID(1), {}, t(1_500)));
      fake.emit(dockerEvent('die', ID(2), { exitCode: '3' }, t(1_700)));
      fake.emit(dockerEvent('pause', ID(1), {}, t(1_700))); // same time, another event: new
      fake.emit(dockerEvent('die', ID(1), { exitCode: '137' }, t(2_000)));
      fake.emit(dockerEvent('start', ID(3), {}, t(2_100)));
      await eventually(() => second.values.length === 4, 'the gap');
      await fake.flushEvents();
      expect(second.values.map(show)).to.deep.equal(['listening', 'paused:0001', 'exited:0001', 'started:0003:103']);
      expect(second.values[2]).to.deep.include({ exit: { code: 137, time: new Date(base + 2_000) } });
      second.subscription.unsubscribe();
      await noConnectionsLeft(fake, adapter);
    });

    it('eventReplayWindow 0 never asks for a replay', async () => {
      const none = track(dockerAdapter({ host: fake.url, eventReplayWindow: 0 }));
      const first = record(none.events());
      await eventually(() => first.values.length === 1, 'listening');
      fake.emit(dockerEvent('pause', ID(1), {}, 1_600_000_000_000_000_000));
      await eventually(() => first.values.length === 2, 'the pause');
      first.subscription.unsubscribe();
      await firstValueFrom(none.events());
      expect(fake.eventQueries.map((q) => new URLSearchParams(q).has('since'))).to.deep.equal([false, false]);
      await noConnectionsLeft(fake, none);
    });

    it('over tcp, a first stream asks for no replay (our clock is not the engine\'s), a reopened one for the engine\'s time', async () => {
      const tcp = track(await fakeDocker({ tcp: true }));
      const adapter = track(dockerAdapter({ host: tcp.url }));
      const first = record(adapter.events());
      await eventually(() => first.values.length === 1, 'listening');
      expect(new URLSearchParams(tcp.eventQueries[0]).has('since')).to.equal(false);
      const engineTime = Math.floor(Date.now() / 1000) * 1000 + 3_600_000; // an hour ahead of the fake's Date
      tcp.emit(dockerEvent('pause', ID(1), {}, engineTime * 1_000_000));
      await eventually(() => first.values.length === 2, 'the pause');
      first.subscription.unsubscribe();
      await firstValueFrom(adapter.events());
      expect(new URLSearchParams(tcp.eventQueries[1]).get('since')).to.equal(dockerSince(engineTime - 1_000));
      await noConnectionsLeft(tcp, adapter);
    });

    it('deadPeerTimeout: a silent stream whose engine answers /_ping lives on; once nothing answers, it fails as unreachable ("went dead")', async () => {
      const proxy = await socketProxy(fake.socketPath);
      try {
        const adapter = track(dockerAdapter({ host: proxy.url, deadPeerTimeout: 200 }));
        const ev = record(adapter.events());
        await eventually(() => ev.values.length === 1, 'listening');
        // several check periods of silence, every ping answered
        await sleep(1_000);
        expect(ev.error).to.equal(undefined);
        proxy.mode('stall');
        await ev.finished;
        expectEngineError(ev.error, 'unreachable', /went dead while checking that the silent event stream is still connected \(no answer to a liveness check within 200 ms\)/);
        adapter.dispose();
        proxy.cut();
      } finally {
        await proxy.close();
      }
    });

    it('emits listening once the headers arrive, before any event', async () => {
      const held = track(await fakeDocker({ holdEventHeaders: true }));
      const adapter = track(dockerAdapter({ host: held.url }));
      const ev = record(adapter.events());
      await held.eventStreamOpened();
      await yieldToLoop();
      expect(ev.values).to.deep.equal([]);
      held.releaseEventHeaders();
      await eventually(() => ev.values.length === 1, 'listening');
      expect(ev.values.map(show)).to.deep.equal(['listening']);
      ev.subscription.unsubscribe();
      await noConnectionsLeft(held, adapter);
    });

    it('unsubscribing while still connecting leaves no socket behind', async () => {
      const held = track(await fakeDocker({ holdEventHeaders: true }));
      const adapter = track(dockerAdapter({ host: held.url }));
      const ev = record(adapter.events());
      await held.eventStreamOpened();
      ev.subscription.unsubscribe();
      await eventually(() => held.eventStreams === 0, 'the fake to see the pending request closed');
      held.releaseEventHeaders();
      expect(ev.values).to.deep.equal([]);
      expect(ev.error).to.equal(undefined);
      await noConnectionsLeft(held, adapter);
    });

    it('maps events, inspects starts, reads JSON split anywhere (even inside a UTF-8 character)', async () => {
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101, labels: { [PROJECT_LABEL]: 'shop' } });
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit(dockerEvent('start', ID(1)));
      const rename = Buffer.from(`${JSON.stringify(dockerEvent('rename', ID(1), { name: 'grüß', oldName: '/one' }))}\n`);
      const cut = rename.indexOf(Buffer.from('ü')) + 1; // between the two bytes of ü
      fake.write(rename.subarray(0, cut) as unknown as string);
      await yieldToLoop();
      fake.write(Buffer.concat([rename.subarray(cut), Buffer.from('\r\n\n')]) as unknown as string);
      fake.emit(dockerEvent('exec_die', ID(1), { exitCode: '0' }));
      fake.emit(dockerEvent('pause', ID(1)));
      fake.emit(dockerEvent('unpause', ID(1)));
      fake.emit(dockerEvent('died', ID(1)));
      await eventually(() => ev.values.length === 6, 'six feeds');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'started:0001:101', 'renamed:0001:grüß', 'paused:0001', 'unpaused:0001', 'exited:0001']);
      const started = ev.values[1] as Extract<EngineFeed, { type: 'started' }>;
      expect(started.container.project).to.equal('shop');
      expect(started.container.name).to.equal('one');
      expect(started.time).to.equal(1_700_000_000_000);
      ev.subscription.unsubscribe();
      await noConnectionsLeft(fake, adapter);
    });

    it('carries exit details, OOM kills and health changes; each stream keeps its own OOM memory', async () => {
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101 });
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit(dockerEvent('oom', ID(1), {}, 1_700_000_000_000_000_000));
      fake.emit(dockerEvent('die', ID(1), { exitCode: '137' }, 1_700_000_000_100_000_000));
      fake.emit(dockerEvent('health_status: unhealthy', ID(2), {}, 1_700_000_000_200_000_000));
      fake.emit(dockerEvent('oom', ID(3), {}, 1_700_000_000_300_000_000));
      await eventually(() => ev.values.length === 3, 'the exit and the health change');
      expect(ev.values.slice(1)).to.deep.equal([
        { type: 'exited', id: ID(1), time: 1_700_000_000_100, exit: { code: 137, time: new Date(1_700_000_000_100), oomKilled: true } },
        { type: 'health', id: ID(2), health: 'unhealthy', time: 1_700_000_000_200 },
      ]);
      ev.subscription.unsubscribe();
      // a new stream does not know the OOM of the one before
      const again = record(adapter.events());
      await eventually(() => again.values.length === 1, 'listening again');
      fake.emit(dockerEvent('died', ID(3), { containerExitCode: '137' }, 1_700_000_000_400_000_000));
      await eventually(() => again.values.length === 2, 'the exit');
      expect(again.values[1]).to.deep.equal({ type: 'exited', id: ID(3), time: 1_700_000_000_400, exit: { code: 137, time: new Date(1_700_000_000_400) } });
      again.subscription.unsubscribe();
      await noConnectionsLeft(fake, adapter);
    });

    it('pushes the labels option into the list (all entries) and the event stream (the first key=value); matches all on what comes back', async () => {
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101, labels: { tier: 'web', team: 'a' } });
      fake.containers.set(ID(2), { id: ID(2), name: 'two', pid: 102, labels: { tier: 'web' } });
      fake.containers.set(ID(3), { id: ID(3), name: 'three', pid: 103, labels: { team: 'a' } });
      const adapter = track(dockerAdapter({ host: fake.url, labels: ['team', 'tier=web', 'x=1=2'] }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      expect(JSON.parse(new URLSearchParams(fake.eventQueries[0]).get('filters') ?? 'null')).to.deep.include({ label: ['tier=web'] });
      const list = await firstValueFrom(adapter.snapshot());
      expect(JSON.parse(new URLSearchParams(fake.listQueries[0]).get('filters') ?? 'null')).to.deep.equal({ status: ['running', 'paused'], label: ['team', 'tier=web', 'x=1=2'] });
      expect(list).to.deep.equal([]); // none has x=1=2
      const two = track(dockerAdapter({ host: fake.url, labels: ['team', 'tier=web'] }));
      expect((await firstValueFrom(two.snapshot())).map((c) => c.name)).to.deep.equal(['one']);
      const keys = track(dockerAdapter({ host: fake.url, labels: ['team'] }));
      const kev = record(keys.events());
      await eventually(() => kev.values.length === 1, 'listening');
      expect(JSON.parse(new URLSearchParams(fake.eventQueries[1]).get('filters') ?? 'null')).to.not.have.property('label');
      ev.subscription.unsubscribe();
      kev.subscription.unsubscribe();
      two.dispose();
      keys.dispose();
      await noConnectionsLeft(fake, adapter);
    });

    it('keeps the engine order: nothing overtakes a start whose inspection is pending', async () => {
      for (const n of [1, 3]) fake.containers.set(ID(n), { id: ID(n), name: `c${n}`, pid: 100 + n });
      const releaseOne = fake.hold(ID(1));
      const releaseThree = fake.hold(ID(3));
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit(dockerEvent('start', ID(1)));
      fake.emit(dockerEvent('die', ID(1)));
      fake.emit(dockerEvent('pause', ID(2)));
      fake.emit(dockerEvent('start', ID(3)));
      // both inspections in flight proves the die and the pause were read too
      await eventually(() => fake.inspectsInFlight === 2, 'two inspections in flight');
      expect(ev.values.map(show)).to.deep.equal(['listening']);
      releaseThree();
      await eventually(() => fake.inspectsInFlight === 1, 'the later inspection answered');
      await yieldToLoop();
      expect(ev.values.map(show)).to.deep.equal(['listening']);
      releaseOne();
      await eventually(() => ev.values.length === 5, 'all events');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'started:0001:101', 'exited:0001', 'paused:0002', 'started:0003:103']);
      ev.subscription.unsubscribe();
      await noConnectionsLeft(fake, adapter);
    });

    it('drops a start whose container is gone (404) or not alive; its die still comes', async () => {
      fake.containers.set(ID(5), { id: ID(5), name: 'dead', pid: 0, running: false });
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit(dockerEvent('start', ID(4)));
      fake.emit(dockerEvent('start', ID(5)));
      fake.emit(dockerEvent('die', ID(4)));
      fake.emit(dockerEvent('die', ID(5)));
      await eventually(() => ev.values.length === 3, 'the two exits');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'exited:0004', 'exited:0005']);
      expect(ev.error).to.equal(undefined);
      ev.subscription.unsubscribe();
      await noConnectionsLeft(fake, adapter);
    });

    it("drops a start whose container Podman reports gone with HTTP 500 'no such container'", async () => {
      const podman = track(await fakeDocker({ product: 'podman', goneAs500: true }));
      const adapter = track(dockerAdapter({ host: podman.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      podman.emit(dockerEvent('start', ID(6)));
      podman.emit(dockerEvent('die', ID(6)));
      await eventually(() => ev.values.length === 2, 'the exit');
      expect(ev.values.map(show)).to.deep.equal(['listening', 'exited:0006']);
      expect(ev.error).to.equal(undefined);
      ev.subscription.unsubscribe();
      await noConnectionsLeft(podman, adapter);
    });

    it('fails with the engine message on any other HTTP 500 of an inspection', async () => {
      const broken = track(await fakeDocker({ inspectError: { status: 500, message: 'containerd: connection refused' } }));
      const adapter = track(dockerAdapter({ host: broken.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      broken.emit(dockerEvent('start', ID(7)));
      broken.emit(dockerEvent('die', ID(7)));
      await ev.finished;
      expectEngineError(ev.error, 'engine', /failed while inspecting container 0007c0ffeec0 \(HTTP 500: containerd: connection refused\)/);
      expect(ev.values.map(show)).to.deep.equal(['listening']);
      await noConnectionsLeft(broken, adapter);
    });

    it('inspects at most concurrency starts at once, and still emits in order', async () => {
      const releases: (() => void)[] = [];
      for (let n = 1; n <= 10; n++) {
        fake.containers.set(ID(n), { id: ID(n), name: `c${n}`, pid: 100 + n });
        releases.push(fake.hold(ID(n)));
      }
      const adapter = track(dockerAdapter({ host: fake.url, concurrency: 3 }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      for (let n = 1; n <= 10; n++) fake.emit(dockerEvent('start', ID(n)));
      await eventually(() => fake.inspectsInFlight === 3, 'three inspections in flight');
      for (const release of releases.reverse()) release();
      await eventually(() => ev.values.length === 11, 'ten starts');
      expect(ev.values.slice(1).map(show)).to.deep.equal(Array.from({ length: 10 }, (_, i) => `started:${ID(i + 1).slice(0, 4)}:${101 + i}`));
      expect(fake.maxInspectsInFlight).to.equal(3);
      ev.subscription.unsubscribe();
      await noConnectionsLeft(fake, adapter);
    });

    it('unsubscribing aborts the inspections in flight and closes the stream', async () => {
      fake.containers.set(ID(1), { id: ID(1), name: 'c1', pid: 101 });
      fake.hold(ID(1));
      const adapter = track(dockerAdapter({ host: fake.url }));
      const ev = record(adapter.events());
      await eventually(() => ev.values.length === 1, 'listening');
      fake.emit(dockerEvent('start', ID(1)));
      await fake.inspectsReached(1);
      ev.subscription.unsubscribe();
      await eventually(() => fake.inspectsAborted === 1 && fake.eventStreams === 0, 'the inspection and the stream closed');
      expect(ev.error).to.equal(undefined);
      await noConnectionsLeft(fake, adapter);
    });

    it('an unsubscriber taking just listening closes the stream at once', async () => {
      const adapter = track(dockerAdapter({ host: fake.url }));
      const first = await firstValueFrom(adapter.events());
      expect(first).to.deep.equal({ type: 'listening' });
      await eventually(() => fake.eventStreams === 0, 'the stream closed');
      await noConnectionsLeft(fake, adapter);
    });

    it('keeps a container whose packer throws, without rucksack, and reports it', async () => {
      fake.containers.set(ID(1), { id: ID(1), name: 'c1', pid: 101 });
      const reported: string[] = [];
      const adapter = track(
        dockerAdapter({
          host: fake.url,
          packer: () => {
            throw new Error('bad packer');
          },
          onPackerError: (e, id) => reported.push(`${(e as Error).message}@${id.slice(0, 4)}`),
        }),
      );
      const feeds = firstValueFrom(adapter.events().pipe(take(2), toArray()));
      await fake.eventStreamOpened();
      fake.emit(dockerEvent('start', ID(1)));
      expect((await feeds).map(show)).to.deep.equal(['listening', 'started:0001:101']);
      expect(reported).to.deep.equal(['bad packer@0001']);
      await noConnectionsLeft(fake, adapter);
    });
  });

  describe('snapshot()', () => {
    let fake: FakeDocker;
    beforeEach(async () => {
      fake = track(await fakeDocker());
    });

    it('lists running and paused containers, inspects them, keeps the list order, completes', async () => {
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101, labels: { [PROJECT_LABEL]: 'shop' } });
      fake.containers.set(ID(2), { id: ID(2), name: 'two', pid: 102, paused: true, labels: null });
      fake.containers.set(ID(3), { id: ID(3), name: 'three', pid: 0, running: false });
      fake.containers.set(ID(4), { id: ID(4), name: 'four', pid: 104, privileged: true });
      const adapter = track(dockerAdapter({ host: fake.url, packer: (raw) => (raw as { Name: string }).Name }));
      const rec = record(adapter.snapshot());
      await rec.finished;
      expect(rec.completed).to.equal(true);
      expect(rec.values).to.have.length(1);
      const list = rec.values[0]!;
      expect(Object.isFrozen(list)).to.equal(true);
      expect(list.map((c) => [c.name, c.pid, c.paused, c.project, c.rucksack])).to.deep.equal([
        ['one', 101, false, 'shop', '/one'],
        ['two', 102, true, '', '/two'],
        ['four', 104, false, '', '/four'],
      ]);
      const query = new URLSearchParams(fake.listQueries[0]);
      expect(JSON.parse(query.get('filters') ?? 'null')).to.deep.equal({ status: ['running', 'paused'] });
      await noConnectionsLeft(fake, adapter);
    });

    it('drops containers gone between the list and their inspection', async () => {
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101 });
      fake.containers.set(ID(2), { id: ID(2), name: 'two', pid: 102 });
      const release = fake.hold(ID(2));
      const adapter = track(dockerAdapter({ host: fake.url }));
      const rec = record(adapter.snapshot());
      await fake.inspectsReached(1);
      await eventually(() => fake.inspectsInFlight === 1 && fake.maxInspectsInFlight >= 1, 'the held inspection');
      fake.containers.delete(ID(2));
      release();
      await rec.finished;
      expect(rec.values[0]!.map((c) => c.name)).to.deep.equal(['one']);
      await noConnectionsLeft(fake, adapter);
    });

    it('emits an empty list for an empty engine', async () => {
      const adapter = track(dockerAdapter({ host: fake.url }));
      expect(await firstValueFrom(adapter.snapshot())).to.deep.equal([]);
      await noConnectionsLeft(fake, adapter);
    });

    it('inspects at most concurrency containers at once', async () => {
      const releases: (() => void)[] = [];
      for (let n = 1; n <= 12; n++) {
        fake.containers.set(ID(n), { id: ID(n), name: `c${n}`, pid: 100 + n });
        releases.push(fake.hold(ID(n)));
      }
      const adapter = track(dockerAdapter({ host: fake.url, concurrency: 4 }));
      const rec = record(adapter.snapshot());
      await eventually(() => fake.inspectsInFlight === 4, 'four inspections in flight');
      for (const release of releases) release();
      await rec.finished;
      expect(rec.values[0]!.map((c) => c.pid)).to.deep.equal(Array.from({ length: 12 }, (_, i) => 101 + i));
      expect(fake.maxInspectsInFlight).to.equal(4);
      await noConnectionsLeft(fake, adapter);
    });

    it('unsubscribing cancels the inspections in flight', async () => {
      for (let n = 1; n <= 5; n++) fake.containers.set(ID(n), { id: ID(n), name: `c${n}`, pid: 100 + n });
      fake.stallInspections();
      const adapter = track(dockerAdapter({ host: fake.url, concurrency: 3 }));
      const rec = record(adapter.snapshot());
      await fake.inspectsReached(3);
      rec.subscription.unsubscribe();
      await eventually(() => fake.inspectsAborted === 3, 'three aborted inspections');
      expect(rec.error).to.equal(undefined);
      expect(rec.values).to.deep.equal([]);
      await noConnectionsLeft(fake, adapter);
    });
  });

  describe('over tcp and TLS', () => {
    let tls: TlsFiles;
    let other: TlsFiles;
    before(async function () {
      this.timeout(60_000);
      tls = await makeTlsFiles();
      other = await makeTlsFiles();
    });
    after(async () => {
      await tls?.close();
      await other?.close();
    });

    async function roundTrip(adapter: EngineAdapter, fake: FakeDocker): Promise<void> {
      fake.containers.set(ID(1), { id: ID(1), name: 'one', pid: 101 });
      expect((await adapter.info()).id).to.equal('FAKE:ENGINE:ID');
      expect((await firstValueFrom(adapter.snapshot())).map((c) => c.name)).to.deep.equal(['one']);
      expect(await firstValueFrom(adapter.events())).to.deep.equal({ type: 'listening' });
      await noConnectionsLeft(fake, adapter);
    }

    it('talks plain HTTP to tcp://host:port (and asks for no replay: the engine clock may differ)', async () => {
      const fake = track(await fakeDocker({ tcp: true }));
      const adapter = track(dockerAdapter({ host: fake.url, env: {} }));
      expect(adapter.endpoint).to.match(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      await roundTrip(adapter, fake);
      expect(new URLSearchParams(fake.eventQueries[0]).has('since')).to.equal(false);
    });

    it('talks TLS with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, client certificate included', async () => {
      const fake = track(await fakeDocker({ tls: { ca: tls.ca, cert: tls.serverCert, key: tls.serverKey } }));
      const adapter = track(dockerAdapter({ host: fake.url, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: tls.dir } }));
      await roundTrip(adapter, fake);
    });

    it('an engine certificate from another CA is a permission error about TLS', async () => {
      const fake = track(await fakeDocker({ tls: { ca: tls.ca, cert: tls.serverCert, key: tls.serverKey } }));
      const adapter = track(dockerAdapter({ host: fake.url, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: other.dir } }));
      expectEngineError(await rejection(adapter.info()), 'permission', /TLS with tcp:\/\/127\.0\.0\.1:\d+ failed.*DOCKER_CERT_PATH/);
      const ev = record(adapter.events());
      await ev.finished;
      expectEngineError(ev.error, 'permission');
      await noConnectionsLeft(fake, adapter);
    });

    it('no client certificate for an engine that demands one is a permission error', async () => {
      const fake = track(await fakeDocker({ tls: { ca: tls.ca, cert: tls.serverCert, key: tls.serverKey } }));
      const onlyCa = await mkdtemp(join(tmpdir(), 'ww-onlyca-'));
      try {
        await copyFile(join(tls.dir, 'ca.pem'), join(onlyCa, 'ca.pem'));
        const adapter = track(dockerAdapter({ host: fake.url, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: onlyCa } }));
        const err = await rejection(adapter.info());
        expectEngineError(err, 'permission');
        await noConnectionsLeft(fake, adapter);
      } finally {
        await rm(onlyCa, { recursive: true, force: true });
      }
    });
  });

  describe('info()', () => {
    it('reports Docker identity, version, endpoint and the given pid', async () => {
      const fake = track(await fakeDocker());
      const adapter = track(dockerAdapter({ host: fake.url, pid: 4242 }));
      expect(await adapter.info()).to.deep.equal({ id: 'FAKE:ENGINE:ID', type: 'docker.com', version: '26.1.5', api: fake.url, pid: 4242, product: 'docker' });
      await noConnectionsLeft(fake, adapter);
    });

    it('detects Podman from its version components', async () => {
      const fake = track(await fakeDocker({ product: 'podman' }));
      const adapter = track(dockerAdapter({ host: fake.url }));
      const info = await adapter.info();
      expect(info.product).to.equal('podman');
      expect(info.version).to.equal('4.3.1');
      expect('pid' in info).to.equal(false);
      await noConnectionsLeft(fake, adapter);
    });

    it('dispose() is idempotent', async () => {
      const fake = track(await fakeDocker());
      const adapter = track(dockerAdapter({ host: fake.url }));
      await adapter.info();
      adapter.dispose();
      adapter.dispose();
      await noConnectionsLeft(fake, adapter);
    });
  });
});
