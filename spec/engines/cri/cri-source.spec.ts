import { expect } from 'chai';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import type { EngineFeed } from '../../../lib/core/engine.js';
import { EngineError, isEngineError } from '../../../lib/errors.js';
import { ContainerEventType } from '../../../lib/gen/cri/api.js';
import { CRI_SANDBOX_LABEL } from '../../../lib/engines/cri/cri-normalize.js';
import { DEFAULT_CRI_ENDPOINTS, criAdapter, resolveCriEndpoint } from '../../../lib/engines/cri/cri-source.js';
import { watchCri } from '../../../lib/engines/cri/watch-cri.js';
import { type FakeCri, type FakeSocket, fakeCri, noSocket as noCriSocket, unimplementedGrpcServer as notCriGrpcServer, notGrpcServer as notGrpcSocket } from '../../fakes/grpc-fakes.js';
import { eventually, record } from './cri-lab.js';

const { CONTAINER_STARTED_EVENT: STARTED, CONTAINER_STOPPED_EVENT: STOPPED, CONTAINER_DELETED_EVENT: DELETED, CONTAINER_CREATED_EVENT: CREATED } = ContainerEventType;

/** A feed item in short: `L`, `+id:pid`, `-id`. */
function short(f: EngineFeed): string {
  switch (f.type) {
    case 'listening':
      return 'L';
    case 'started':
      return `+${f.container.id}:${f.container.pid}`;
    case 'exited':
      return `-${f.id}`;
    default:
      return f.type;
  }
}

async function failure(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (e) {
    expect(isEngineError(e), String(e)).to.equal(true);
    return e as EngineError;
  }
  throw new Error('expected a failure');
}

const notListening = (f: EngineFeed) => f.type !== 'listening';

describe('criAdapter (against fake CRI endpoints)', function () {
  this.timeout(15_000);

  describe('resolveCriEndpoint', () => {
    const none = () => false;
    const table: { what: string; endpoint?: string; env: Record<string, string>; exists: (p: string) => boolean; want: string }[] = [
      { what: 'the option wins', endpoint: '/x/cri.sock', env: { CONTAINER_RUNTIME_ENDPOINT: 'unix:///y.sock' }, exists: none, want: '/x/cri.sock' },
      { what: 'then CONTAINER_RUNTIME_ENDPOINT', endpoint: '  ', env: { CONTAINER_RUNTIME_ENDPOINT: 'unix:///y.sock' }, exists: none, want: 'unix:///y.sock' },
      { what: 'then the first existing default socket (cri-o here)', env: {}, exists: (p) => p === '/run/crio/crio.sock', want: 'unix:///run/crio/crio.sock' },
      { what: "containerd's before cri-o's", env: { CONTAINER_RUNTIME_ENDPOINT: '' }, exists: () => true, want: 'unix:///run/containerd/containerd.sock' },
      { what: "nothing there: containerd's", env: {}, exists: none, want: 'unix:///run/containerd/containerd.sock' },
    ];
    for (const { what, endpoint, env, exists, want } of table) {
      it(what, () => {
        expect(resolveCriEndpoint(endpoint === undefined ? {} : { endpoint }, env, exists)).to.equal(want);
      });
    }
    it('tries containerd, cri-o, cri-dockerd', () => {
      expect(DEFAULT_CRI_ENDPOINTS).to.deep.equal(['unix:///run/containerd/containerd.sock', 'unix:///run/crio/crio.sock', 'unix:///var/run/cri-dockerd.sock']);
    });
    it('an unusable endpoint is a config error at once', () => {
      expect(() => criAdapter({ endpoint: 'ftp://somewhere' }))
        .to.throw(EngineError)
        .with.property('code', 'config');
    });
  });

  describe('a runtime without GetContainerEvents (like containerd 1.6)', () => {
    let fake: FakeCri;
    before(async () => {
      fake = await fakeCri({ events: 'unimplemented' });
    });
    after(() => fake.close());

    it('fails the event feed quickly with `unsupported`, naming the runtime and what to do', async () => {
      const adapter = criAdapter({ endpoint: fake.address });
      try {
        const e = await failure(firstValueFrom(adapter.events().pipe(filter(notListening))));
        expect(e.code).to.equal('unsupported');
        expect(e.engine).to.equal('cri');
        expect(e.message).to.include('does not implement GetContainerEvents (containerd < 1.7?)');
        expect(e.message).to.include('fake-cri 9.9.9');
        expect(e.endpoint).to.equal(fake.address);
      } finally {
        adapter.dispose();
      }
    });

    it('leaves a watcher without retries stopped with that error (no hang)', async () => {
      const ww = watchCri({ endpoint: fake.address, retry: false });
      try {
        await ww.ready.then(
          () => undefined,
          () => undefined,
        );
        await eventually(() => ww.status.state === 'stopped', 'the watcher to stop');
        const status = ww.status;
        expect(status.state === 'stopped' && status.error?.code).to.equal('unsupported');
      } finally {
        await ww.close();
      }
    });
  });

  describe('something that is not a CRI runtime', () => {
    const cases: { what: string; make: () => Promise<FakeSocket>; codes: string[] }[] = [
      { what: 'a gRPC server without the RuntimeService', make: notCriGrpcServer, codes: ['protocol'] },
      { what: 'a socket that does not speak gRPC', make: notGrpcSocket, codes: ['protocol', 'unreachable'] },
      { what: 'no socket at all', make: noCriSocket, codes: ['unreachable'] },
    ];
    for (const { what, make, codes } of cases) {
      it(`${what}: events, snapshot and info fail with ${codes.join(' or ')}`, async () => {
        const peer = await make();
        const adapter = criAdapter({ endpoint: peer.address });
        try {
          const fromEvents = await failure(lastValueFrom(adapter.events()));
          const fromSnapshot = await failure(lastValueFrom(adapter.snapshot()));
          const fromInfo = await failure(adapter.info());
          for (const e of [fromEvents, fromSnapshot, fromInfo]) {
            expect(codes, e.message).to.include(e.code);
            expect(e.engine).to.equal('cri');
          }
          if (codes.includes('protocol') && codes.length === 1) expect(fromSnapshot.message).to.include('not like the CRI v1 RuntimeService');
        } finally {
          adapter.dispose();
          await peer.close();
        }
      });
    }
  });

  describe('a working runtime', () => {
    let fake: FakeCri;
    beforeEach(async () => {
      fake = await fakeCri();
      fake.addPod('s1', 100, { c1: 101, c2: 102 });
      fake.addPod('s2', 200);
      fake.addPod('s3', 300, { c3: 301 });
      fake.stopContainer('c3'); // exited: not alive
      fake.sandboxes.get('s3')!.status = { ...fake.sandboxes.get('s3')!.status, state: 1 }; // NOTREADY
    });
    afterEach(() => fake.close());

    it('snapshot: running containers and ready sandboxes, with pods, names and PIDs', async () => {
      const adapter = criAdapter({ endpoint: fake.address, concurrency: 2 });
      try {
        const list = await lastValueFrom(adapter.snapshot());
        const got = list.map((c) => ({ id: c.id, name: c.name, pid: c.pid, sandbox: CRI_SANDBOX_LABEL in c.labels })).sort((a, b) => a.id.localeCompare(b.id));
        expect(got).to.deep.equal([
          { id: 'c1', name: 'fake-ns/pod-s1/ctr-c1', pid: 101, sandbox: false },
          { id: 'c2', name: 'fake-ns/pod-s1/ctr-c2', pid: 102, sandbox: false },
          { id: 's1', name: 'fake-ns/pod-s1', pid: 100, sandbox: true },
          { id: 's2', name: 'fake-ns/pod-s2', pid: 200, sandbox: true },
        ]);
        expect(Object.isFrozen(list)).to.equal(true);
        expect(fake.calls.filter((c) => c.startsWith('containerStatus:')).sort()).to.deep.equal(['containerStatus:c1', 'containerStatus:c2']);
        expect(fake.selectors).to.deep.equal([{}, {}]);
      } finally {
        adapter.dispose();
      }
    });

    const pushdown: { what: string; labels: string[]; ids: string[]; selectors: Record<string, string>[] }[] = [
      {
        what: 'a container label: the runtime lists only it; its pod, filtered out, comes from one more sandbox list (not a call per container)',
        labels: ['role=c1'],
        ids: ['c1'],
        selectors: [{ role: 'c1' }, { role: 'c1' }, {}],
      },
      { what: 'a pod label: only that sandbox', labels: ['app=s2'], ids: ['s2'], selectors: [{ app: 's2' }, { app: 's2' }] },
      { what: 'key-only entries stay client-side', labels: ['role'], ids: ['c1', 'c2'], selectors: [{}, {}] },
      { what: 'both kinds: the key=value entries pushed down, all matched', labels: ['role=c2', 'role'], ids: ['c2'], selectors: [{ role: 'c2' }, { role: 'c2' }, {}] },
    ];
    for (const { what, labels, ids, selectors } of pushdown) {
      it(`snapshot with labels: ${what}`, async () => {
        const adapter = criAdapter({ endpoint: fake.address, labels });
        try {
          const list = await lastValueFrom(adapter.snapshot());
          expect(list.map((c) => c.id).sort()).to.deep.equal(ids);
          for (const c of list) expect(c.name).to.match(/^fake-ns\/pod-s\d(\/ctr-c\d)?$/);
          expect(fake.selectors).to.deep.equal(selectors);
          // only matching ones are inspected
          expect(fake.calls.filter((c) => c.startsWith('containerStatus:') || c.startsWith('podSandboxStatus:')).length).to.be.at.most(ids.length * 2);
        } finally {
          adapter.dispose();
        }
      });
    }

    it('info: runtime name and version', async () => {
      const adapter = criAdapter({ endpoint: fake.address, pid: 4242 });
      try {
        expect(await adapter.info()).to.deep.equal({ id: 'fake-cri', type: 'k8s.io/cri-api', version: '9.9.9', api: fake.address, pid: 4242, product: 'fake-cri' });
      } finally {
        adapter.dispose();
      }
    });

    it('events: listening after the Version round trip, again after the first event, then started (with PID) and exited in order', async () => {
      const adapter = criAdapter({ endpoint: fake.address, resyncInterval: 0 });
      const rec = record(adapter.events());
      try {
        await fake.waitForStreams(1);
        await eventually(() => rec.values.length === 1, 'the first listening');
        fake.addPod('s4', 400, { c4: 401 });
        fake.emit(CREATED, 's4');
        fake.emit(STARTED, 's4');
        fake.emit(CREATED, 'c4');
        fake.emit(STARTED, 'c4');
        // the first event (CREATED) proves the stream is registered: a resync right after it
        await eventually(() => rec.values.length >= 4, 'four feed items');
        fake.stopContainer('c4');
        fake.emit(STOPPED, 'c4');
        fake.emit(DELETED, 'c4');
        await eventually(() => rec.values.length >= 6, 'six feed items');
        expect(rec.values.map(short)).to.deep.equal(['L', 'L', '+s4:400', '+c4:401', '-c4', '-c4']);
        const c4 = rec.values[3]!;
        expect(c4.type === 'started' && c4.container.name).to.equal('fake-ns/pod-s4/ctr-c4');
        expect(c4.type === 'started' && c4.time).to.be.closeTo(1_795_437_639_177.161, 0.001);
        expect(rec.error).to.equal(undefined);
      } finally {
        rec.subscription.unsubscribe();
        adapter.dispose();
      }
    });

    it('drops stale STARTED events (replayed for containers stopped or gone since) and passes stale exits', async () => {
      const adapter = criAdapter({ endpoint: fake.address, resyncInterval: 0 });
      const rec = record(adapter.events());
      try {
        await fake.waitForStreams(1);
        await eventually(() => rec.values.length === 1, 'the first listening');
        fake.addPod('s5', 500, { c5: 501, c6: 601 });
        fake.emit(STARTED, 'c5'); // c5 stops before the adapter asks: stale
        fake.emit(STARTED, 'c6'); // c6 is removed before the adapter asks: stale
        fake.stopContainer('c5');
        fake.stopContainer('c6', true);
        fake.emit(STARTED, 'c1'); // still running: a true start
        fake.emit(STOPPED, 'ghost'); // an id nobody knows: harmless
        await eventually(() => rec.values.some((f) => f.type === 'exited'), 'the exit of ghost');
        expect(rec.values.map(short)).to.deep.equal(['L', 'L', '+c1:101', '-ghost']);
        expect(fake.calls).to.include.members(['containerStatus:c5', 'containerStatus:c6', 'containerStatus:c1']);
      } finally {
        rec.subscription.unsubscribe();
        adapter.dispose();
      }
    });

    it('keeps engine order: an exit never overtakes the slow status call of the start it follows', async () => {
      const adapter = criAdapter({ endpoint: fake.address, resyncInterval: 0, concurrency: 4 });
      const rec = record(adapter.events());
      try {
        await fake.waitForStreams(1);
        await eventually(() => rec.values.length === 1, 'the first listening');
        const release = fake.hold('c1');
        fake.emit(STARTED, 'c1');
        fake.emit(STARTED, 'c2');
        fake.emit(STOPPED, 'c1');
        await eventually(() => fake.calls.includes('containerStatus:c2'), 'the status call of c2 (in parallel)');
        expect(rec.values.map(short)).to.deep.equal(['L']);
        release();
        await eventually(() => rec.values.length >= 5, 'the held start and what follows');
        expect(rec.values.map(short)).to.deep.equal(['L', '+c1:101', 'L', '+c2:102', '-c1']);
      } finally {
        rec.subscription.unsubscribe();
        adapter.dispose();
      }
    });

    it('asks for the status of a STOPPED that lacks it, in engine order (nothing overtakes it); gone: an exit without details', async () => {
      const adapter = criAdapter({ endpoint: fake.address, resyncInterval: 0, concurrency: 4 });
      const rec = record(adapter.events());
      try {
        await fake.waitForStreams(1);
        await eventually(() => rec.values.length === 1, 'the first listening');
        const release = fake.hold('ghost');
        fake.emit(STOPPED, 'ghost'); // no status in the event: nobody knows it
        fake.stopContainer('c1');
        fake.emit(STOPPED, 'c1'); // its exited status comes with the event
        await eventually(() => fake.calls.includes('containerStatus:ghost'), 'the status call of ghost');
        expect(rec.values.map(short)).to.deep.equal(['L']);
        expect(fake.calls.filter((c) => c === 'containerStatus:c1')).to.deep.equal([]);
        release();
        await eventually(() => rec.values.length >= 4, 'both exits');
        expect(rec.values.map(short)).to.deep.equal(['L', '-ghost', 'L', '-c1']);
        const exits = rec.values.flatMap((f) => (f.type === 'exited' ? [f.exit === undefined ? 'none' : JSON.stringify(f.exit)] : []));
        expect(exits).to.deep.equal(['none', '{"code":0}']);
      } finally {
        rec.subscription.unsubscribe();
        adapter.dispose();
      }
    });

    it('says its resyncInterval for the watcher (default 30 s; false or 0: off)', () => {
      const adapters = [criAdapter({ endpoint: fake.address, resyncInterval: 20 }), criAdapter({ endpoint: fake.address }), criAdapter({ endpoint: fake.address, resyncInterval: false }), criAdapter({ endpoint: fake.address, resyncInterval: 0 })];
      expect(adapters.map((a) => a.resyncInterval)).to.deep.equal([20, 30_000, 0, 0]);
      for (const a of adapters) a.dispose();
    });

    it('an ended stream is an engine error; unsubscribing cancels the stream', async () => {
      const adapter = criAdapter({ endpoint: fake.address, resyncInterval: 0 });
      try {
        const rec = record(adapter.events());
        await fake.waitForStreams(1);
        fake.endStreams();
        await eventually(() => rec.error !== undefined, 'the error');
        expect((rec.error as EngineError).code).to.equal('engine');
        expect((rec.error as EngineError).message).to.include('ended the stream while watching container events');

        const rec2 = record(adapter.events());
        await fake.waitForStreams(1);
        rec2.subscription.unsubscribe();
        await eventually(() => fake.streams === 0, 'the server to see the cancel');
      } finally {
        adapter.dispose();
      }
    });

    it('after dispose, calls fail with `closed`', async () => {
      const adapter = criAdapter({ endpoint: fake.address });
      adapter.dispose();
      adapter.dispose(); // idempotent
      expect((await failure(lastValueFrom(adapter.snapshot()))).code).to.equal('closed');
      expect((await failure(lastValueFrom(adapter.events()))).code).to.equal('closed');
    });

    it('watchCri over it: ready with the truth, then follows starts and exits', async () => {
      const ww = watchCri({ endpoint: fake.address, resyncInterval: 0 });
      try {
        await ww.ready;
        expect(ww.portfolio.containers.map((c) => c.id).sort()).to.deep.equal(['c1', 'c2', 's1', 's2']);
        await fake.waitForStreams(1);
        fake.addPod('s7', 700, { c7: 701 });
        fake.emit(STARTED, 's7');
        fake.emit(STARTED, 'c7');
        await eventually(() => ww.portfolio.container('c7')?.pid === 701, 'c7 in the portfolio');
        expect(ww.portfolio.container('fake-ns/pod-s7/ctr-c7')?.id).to.equal('c7');
        fake.stopContainer('c1', true);
        fake.emit(STOPPED, 'c1');
        await eventually(() => ww.portfolio.container('c1') === undefined, 'c1 gone');
        expect(ww.status.state).to.equal('live');
      } finally {
        await ww.close();
      }
    });
  });
});
