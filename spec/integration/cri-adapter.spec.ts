/**
 * criAdapter against the real CRI plugins of the lab: containerd 1.6 (no
 * GetContainerEvents: a clear `unsupported`, while lists work) and containerd
 * 1.7 (list, info, names and labels of pods and their containers, and the 1.7
 * event-channel trap: events produced while nobody listened are replayed to
 * the next subscriber, and the stale starts among them must not come out).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { filter, firstValueFrom, lastValueFrom } from 'rxjs';
import type { EngineFeed } from '../../lib/core/engine.js';
import { type EngineError, isEngineError } from '../../lib/errors.js';
import {
  CRI_ANNOTATION_PREFIX,
  CRI_CONTAINER_NAME_LABEL,
  CRI_POD_NAMESPACE_LABEL,
  CRI_POD_NAME_LABEL,
  CRI_POD_UID_LABEL,
  CRI_SANDBOX_ID_LABEL,
  CRI_SANDBOX_LABEL,
} from '../../lib/engines/cri/cri-normalize.js';
import { criAdapter } from '../../lib/engines/cri/cri-source.js';
import type { Container } from '../../lib/model/container.js';
import { restartEngine, useEngine } from '../helpers/engines.js';
import { CriLab, eventually, record } from '../engines/cri/cri-lab.js';
import { byId } from '../helpers/picture.js';

describe('criAdapter on containerd16 (CRI plugin without GetContainerEvents)', function () {
  this.timeout(60_000);
  let socket: string;
  before(function () {
    socket = useEngine(this, 'containerd16');
  });

  it('fails the event feed quickly with `unsupported`; list and info still work', async () => {
    const adapter = criAdapter({ endpoint: socket });
    try {
      let error: unknown;
      try {
        await firstValueFrom(adapter.events().pipe(filter((f) => f.type !== 'listening')));
      } catch (e) {
        error = e;
      }
      expect(isEngineError(error), String(error)).to.equal(true);
      expect((error as EngineError).code).to.equal('unsupported');
      expect((error as EngineError).message).to.match(/does not implement GetContainerEvents \(containerd < 1\.7\?\) while watching container events \(GetContainerEvents\) \(containerd 1\.6\.\S+\): upgrade the runtime/);
      const info = await adapter.info();
      expect(info).to.include({ type: 'k8s.io/cri-api', product: 'containerd', api: `unix://${socket}` });
      expect(info.id, 'the daemon UUID, not the runtime name').to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(info.version).to.match(/^1\.6\./);
      expect(await lastValueFrom(adapter.snapshot())).to.be.an('array');
    } finally {
      adapter.dispose();
    }
  });
});

describe('criAdapter on containerd17 (CRI plugin)', function () {
  this.timeout(120_000);
  let socket: string;
  let lab: CriLab | undefined;

  before(function () {
    socket = useEngine(this, 'containerd17');
  });
  beforeEach(() => {
    lab = new CriLab(socket);
  });
  afterEach(async () => {
    await lab?.cleanup();
    lab?.close();
    lab = undefined;
  });

  it('info: containerd 1.7 through the Version call', async () => {
    const adapter = criAdapter({ endpoint: socket, pid: 1234 });
    try {
      const info = await adapter.info();
      expect(info).to.include({ type: 'k8s.io/cri-api', product: 'containerd', api: `unix://${socket}`, pid: 1234 });
      expect(info.id, 'the daemon UUID, not the runtime name').to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(info.version).to.match(/^1\.7\./);
    } finally {
      adapter.dispose();
    }
  });

  it('snapshot: running containers and ready sandboxes equal the truth, with pod names, labels and PIDs', async () => {
    const l = lab!;
    const web = await l.runPod('web', ['app', 'sidecar']);
    const db = await l.runPod('db', ['pg']);
    await l.stopContainer(web.containers['sidecar']!); // exited: not alive
    const adapter = criAdapter({ endpoint: socket, concurrency: 2 });
    try {
      const list = await lastValueFrom(adapter.snapshot());
      const truth = await l.truth();
      expect(byId(list.map((c) => l.seen(c)))).to.deep.equal(truth);
      const ids = new Set(list.map((c) => c.id));
      expect(ids.has(web.sandboxId) && ids.has(web.containers['app']!) && ids.has(db.sandboxId) && ids.has(db.containers['pg']!)).to.equal(true);
      expect(ids.has(web.containers['sidecar']!)).to.equal(false);

      const app = list.find((c) => c.id === web.containers['app'])!;
      expect(app.name).to.equal(`${web.namespace}/${web.name}/app`);
      expect(app.pid).to.be.greaterThan(0);
      expect(app.project).to.equal('');
      expect({ ...app.labels }).to.deep.include({
        'ctr-label': 'app',
        [`${CRI_ANNOTATION_PREFIX}ctr-note`]: 'note of app',
        [CRI_POD_NAME_LABEL]: web.name,
        [CRI_POD_NAMESPACE_LABEL]: web.namespace,
        [CRI_POD_UID_LABEL]: web.uid,
        [CRI_CONTAINER_NAME_LABEL]: 'app',
        [CRI_SANDBOX_ID_LABEL]: web.sandboxId,
      });
      expect(app.labels[CRI_SANDBOX_LABEL]).to.equal(undefined);

      const sandbox = list.find((c) => c.id === web.sandboxId)!;
      expect(sandbox.name).to.equal(`${web.namespace}/${web.name}`);
      expect(sandbox.pid).to.be.greaterThan(0);
      expect({ ...sandbox.labels }).to.deep.include({
        'pod-label': 'web',
        [`${CRI_ANNOTATION_PREFIX}pod-note`]: 'note of web',
        [CRI_POD_NAME_LABEL]: web.name,
        [CRI_POD_NAMESPACE_LABEL]: web.namespace,
        [CRI_POD_UID_LABEL]: web.uid,
        [CRI_CONTAINER_NAME_LABEL]: web.sandboxId,
        [CRI_SANDBOX_LABEL]: '',
      });
      // image and creation times, from the lists and containerd's records (startedAt is only in a verbose status: see below)
      expect(app.image).to.equal('docker.io/library/busybox:lab');
      expect(sandbox.image).to.equal('docker.io/library/pause:lab');
      expect(sandbox.createdAt).to.be.instanceOf(Date);
      expect(app.createdAt!.getTime()).to.be.at.least(sandbox.createdAt!.getTime());
    } finally {
      adapter.dispose();
    }
  });

  it('snapshot: the PIDs from containerd’s task list equal the verbose statuses’ and /proc’s; the picture equals the verbose one but for startedAt', async () => {
    const l = lab!;
    const pods = [await l.runPod('pids-a', ['one', 'two']), await l.runPod('pids-b', ['three'])];
    const fast = criAdapter({ endpoint: socket });
    // a packer is promised the verbose statuses: this adapter inspects every entry, as for any other runtime
    const verbose = criAdapter({ endpoint: socket, packer: (raw) => raw.kind });
    try {
      const fromTasks = await lastValueFrom(fast.snapshot());
      const fromStatuses = await lastValueFrom(verbose.snapshot());
      const plain = (list: readonly Container[], withStart: boolean) =>
        byId(list.map((c) => ({ id: c.id, name: c.name, pid: c.pid, labels: { ...c.labels }, image: c.image, createdAt: c.createdAt?.getTime(), ...(withStart ? { startedAt: c.startedAt?.getTime() } : {}) })));
      expect(plain(fromTasks, false)).to.deep.equal(plain(fromStatuses, false));
      expect(byId(fromTasks.map((c) => l.seen(c)))).to.deep.equal(await l.truth());
      const ours = pods.flatMap((p) => [p.sandboxId, ...Object.values(p.containers)]);
      for (const id of ours) {
        const c = fromTasks.find((x) => x.id === id);
        expect(c, id).to.not.equal(undefined);
        // the PID is the container's process on this host: its cgroup names the container
        expect(readFileSync(`/proc/${c!.pid}/cgroup`, 'utf8'), `${id} pid ${c!.pid}`).to.include(id);
        // the verbose statuses have startedAt (the sandboxes none); the task list has none to give
        const v = fromStatuses.find((x) => x.id === id)!;
        expect(v.startedAt === undefined, id).to.equal(CRI_SANDBOX_LABEL in v.labels);
        expect(c!.startedAt, id).to.equal(undefined);
      }
    } finally {
      fast.dispose();
      verbose.dispose();
    }
  });

  it('after a restart of containerd: replays what happened while nobody listened, without resurrecting stale starts', async function () {
    const l = lab!;
    // a fresh event channel: no events buffered, no cancelled subscribers that would swallow one
    await restartEngine('containerd17');
    // while nobody listens: pod A comes and goes (its STARTED events go stale), pod B comes and stays
    const a = await l.runPod('gone', ['x']);
    await l.removePod(a);
    const b = await l.runPod('stays', ['y']);
    const bPids = new Map((await l.truth()).map((t) => [t.id, t.pid]));
    const adapter = criAdapter({ endpoint: socket, resyncInterval: 0 });
    const rec = record(adapter.events());
    try {
      const bIds = [b.sandboxId, b.containers['y']!];
      await eventually(() => bIds.every((id) => rec.values.some((f) => f.type === 'started' && f.container.id === id)), "the replayed starts of pod B's sandbox and container", 30_000);
      const aIds = new Set([a.sandboxId, a.containers['x']!]);
      const about = (f: EngineFeed): string =>
        f.type === 'started' ? `started ${f.container.id}` : f.type === 'exited' ? `exited ${f.id}` : f.type;
      const lines = rec.values.map(about);
      const exits = rec.values.filter((f) => f.type === 'exited').length;
      const starts = rec.values.filter((f) => f.type === 'started').length;
      console.log(`      (measured: the replay to the first subscriber gave ${exits} exits and ${starts} starts; the stale starts of pod A were dropped)`);
      // stale: A's sandbox and container started and were removed before anyone listened
      expect(rec.values.filter((f) => f.type === 'started' && aIds.has(f.container.id)), lines.join(', ')).to.deep.equal([]);
      // their exits come through (harmless for a watcher that never saw them)
      for (const id of aIds) expect(lines).to.include(`exited ${id}`);
      for (const f of rec.values) {
        if (f.type === 'started' && bIds.includes(f.container.id)) expect(f.container.pid).to.equal(bPids.get(f.container.id));
      }
      // the feed starts with listening (the replayed events that came before the Version answer follow it)
      expect(rec.values[0]?.type).to.equal('listening');
      expect(rec.error).to.equal(undefined);
    } finally {
      rec.subscription.unsubscribe();
      adapter.dispose();
    }
  });
});
