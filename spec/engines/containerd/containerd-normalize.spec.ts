import { expect } from 'chai';
import { EngineError } from '../../../lib/errors.js';
import { PROJECT_LABEL } from '../../../lib/model/container.js';
import { TaskExit, TaskPaused, TaskResumed, TaskStart } from '../../../lib/gen/containerd/events/task.js';
import { Envelope } from '../../../lib/gen/containerd/services/events/v1/events.js';
import { Status } from '../../../lib/gen/containerd/types/task/task.js';
import {
  CONTAINERD_EVENT_FILTERS,
  type ContainerdEnvelope,
  type ContainerdEventResult,
  type ContainerdTask,
  DEFAULT_IGNORED_NAMESPACES,
  NERDCTL_NAME_LABEL,
  containerdDisplayId,
  containerdEventTime,
  isContainerdTaskAlive,
  normalizeContainerdEvent,
  normalizeContainerdTask,
  parseContainerdDisplayId,
} from '../../../lib/engines/containerd/containerd-normalize.js';
import { CONTAINERD17_NS2_LIFECYCLE } from './containerd-fixtures.js';

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v) && !ArrayBuffer.isView(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

const TS = Object.freeze({ seconds: 1_700_000_000n, nanos: 250_000_000 });
const TS_MS = 1_700_000_000_250;

type Payload = { name: 'TaskStart'; msg: TaskStart } | { name: 'TaskExit'; msg: TaskExit } | { name: 'TaskPaused'; msg: TaskPaused } | { name: 'TaskResumed'; msg: TaskResumed };

function encode(p: Payload): Uint8Array {
  switch (p.name) {
    case 'TaskStart':
      return TaskStart.encode(p.msg).finish();
    case 'TaskExit':
      return TaskExit.encode(p.msg).finish();
    case 'TaskPaused':
      return TaskPaused.encode(p.msg).finish();
    case 'TaskResumed':
      return TaskResumed.encode(p.msg).finish();
  }
}

/** A frozen envelope as containerd sends it (type URL without a type.googleapis.com/ prefix). */
function envelope(namespace: string, topic: string, p: Payload, timestamp: ContainerdEnvelope['timestamp'] = TS): ContainerdEnvelope {
  return deepFreeze({ timestamp, namespace, topic, event: { typeUrl: `containerd.events.${p.name}`, value: Buffer.from(encode(p)) } });
}

const start = (ns: string, id: string, pid = 42) => envelope(ns, '/tasks/start', { name: 'TaskStart', msg: { containerId: id, pid } });
const exit = (ns: string, cid: string, id: string, pid = 42) => envelope(ns, '/tasks/exit', { name: 'TaskExit', msg: { containerId: cid, id, pid, exitStatus: 0, exitedAt: TS } });
const paused = (ns: string, id: string) => envelope(ns, '/tasks/paused', { name: 'TaskPaused', msg: { containerId: id } });
const resumed = (ns: string, id: string) => envelope(ns, '/tasks/resumed', { name: 'TaskResumed', msg: { containerId: id } });

/** A compact view of a result: `inspect:<ns>:<cid>:<id>:<pid>`, `exited:<id>` …, `-` for null. */
function show(r: ContainerdEventResult): string {
  if (r === null) return '-';
  switch (r.type) {
    case 'inspect':
      return `inspect:${r.namespace}:${r.containerId}:${r.id}:${r.pid}`;
    case 'started':
      return `started:${r.container.id}`;
    case 'renamed':
      return `renamed:${r.id}:${r.name}`;
    default:
      return `${r.type}:${r.id}`;
  }
}

function decodeErrorOf(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(EngineError);
    expect((e as EngineError).code).to.equal('decode');
    expect((e as EngineError).engine).to.equal('containerd');
    return e as EngineError;
  }
  throw new Error('expected an EngineError');
}

const task = (id: string, status: Status, pid = 42, containerId = ''): ContainerdTask => deepFreeze({ id, containerId, pid, status });

describe('containerd-normalize', () => {
  describe('normalizeContainerdEvent on a real containerd 1.7 stream', () => {
    it('maps run, pause, resume, exec exit, kill, delete (namespace ns2)', () => {
      const got = CONTAINERD17_NS2_LIFECYCLE.map((c) => {
        const env = deepFreeze(Envelope.decode(Buffer.from(c.hex, 'hex')));
        expect(env.topic).to.equal(c.topic);
        return show(normalizeContainerdEvent(env));
      });
      expect(CONTAINERD17_NS2_LIFECYCLE.map((c) => c.topic)).to.deep.equal([
        '/containers/create',
        '/tasks/create',
        '/tasks/start',
        '/tasks/paused',
        '/tasks/resumed',
        '/tasks/exec-added',
        '/tasks/exec-started',
        '/tasks/exit',
        '/tasks/exit',
        '/tasks/delete',
        '/containers/delete',
      ]);
      expect(got).to.deep.equal(['-', '-', 'inspect:ns2:fx1:ns2/fx1:15469', 'paused:ns2/fx1', 'unpaused:ns2/fx1', '-', '-', '-', 'exited:ns2/fx1', '-', '-']);
    });

    it('takes the time from the envelope (seconds + nanos → ms)', () => {
      const env = Envelope.decode(Buffer.from(CONTAINERD17_NS2_LIFECYCLE[2]!.hex, 'hex'));
      const r = normalizeContainerdEvent(env);
      expect(r?.type).to.equal('inspect');
      expect(r?.time).to.equal(1_795_436_941_000 + 416_042_462 / 1e6);
    });

    it('drops the whole stream when its namespace is ignored', () => {
      for (const c of CONTAINERD17_NS2_LIFECYCLE) {
        expect(normalizeContainerdEvent(Envelope.decode(Buffer.from(c.hex, 'hex')), { ignoreNamespaces: ['ns2'] })).to.equal(null);
      }
    });
  });

  describe('normalizeContainerdEvent', () => {
    const table: { what: string; env: ContainerdEnvelope; want: string; ignore?: readonly string[] }[] = [
      { what: 'start in default: plain id', env: start('default', 'web1', 7), want: 'inspect:default:web1:web1:7' },
      { what: 'start in ns2: namespace/id', env: start('ns2', 'web1', 7), want: 'inspect:ns2:web1:ns2/web1:7' },
      { what: 'container exit (id == container_id)', env: exit('default', 'web1', 'web1'), want: 'exited:web1' },
      { what: 'container exit in ns2', env: exit('ns2', 'web1', 'web1'), want: 'exited:ns2/web1' },
      { what: 'container exit with an empty id (init process)', env: exit('ns2', 'web1', ''), want: 'exited:ns2/web1' },
      { what: 'exec exit (id = exec id): the container lives on', env: exit('default', 'web1', 'exec-1', 99), want: '-' },
      { what: 'exec exit in ns2', env: exit('ns2', 'web1', 'web1-exec'), want: '-' },
      { what: 'paused', env: paused('default', 'web1'), want: 'paused:web1' },
      { what: 'resumed', env: resumed('ns3', 'web1'), want: 'unpaused:ns3/web1' },
      { what: 'moby ignored by default', env: start('moby', 'abc'), want: '-' },
      { what: 'k8s.io ignored by default', env: exit('k8s.io', 'abc', 'abc'), want: '-' },
      { what: 'moby watched when not ignored', env: start('moby', 'abc'), want: 'inspect:moby:abc:moby/abc:42', ignore: [] },
      { what: 'default ignored on request', env: paused('default', 'x'), want: '-', ignore: ['default'] },
      { what: 'other topic', env: envelope('default', '/tasks/delete', { name: 'TaskExit', msg: { containerId: 'x', id: 'x', pid: 1, exitStatus: 0 } }), want: '-' },
      { what: 'probe topic', env: deepFreeze({ timestamp: TS, namespace: 'default', topic: '/whalewatcher/hello', event: { typeUrl: 'whalewatcher.Probe', value: Buffer.from('x') } }), want: '-' },
    ];
    for (const { what, env, want, ignore } of table) {
      it(what, () => {
        const r = normalizeContainerdEvent(env, ignore === undefined ? {} : { ignoreNamespaces: ignore });
        expect(show(r)).to.equal(want);
        if (r !== null) {
          expect(r.time).to.equal(TS_MS);
          expect(Object.isFrozen(r)).to.equal(true);
        }
      });
    }

    it('accepts a type.googleapis.com/ style type URL', () => {
      const env = start('default', 'a');
      const prefixed = deepFreeze({ ...env, event: { typeUrl: 'type.googleapis.com/containerd.events.TaskStart', value: env.event!.value } });
      expect(show(normalizeContainerdEvent(prefixed))).to.equal('inspect:default:a:a:42');
    });

    it('uses the fallback time when the envelope has none', () => {
      expect(normalizeContainerdEvent(paused('default', 'a'), { fallbackTime: 5 })?.time).to.equal(TS_MS);
      const { timestamp: _, ...untimed } = paused('default', 'a');
      expect(normalizeContainerdEvent(deepFreeze(untimed), { fallbackTime: 5 })?.time).to.equal(5);
    });

    const broken: { what: string; env: ContainerdEnvelope; message: RegExp }[] = [
      { what: 'no payload', env: deepFreeze({ timestamp: TS, namespace: 'default', topic: '/tasks/exit' }), message: /without a payload/ },
      { what: 'payload of another type', env: deepFreeze({ ...exit('default', 'a', 'a'), event: { typeUrl: 'containerd.events.TaskStart', value: Buffer.alloc(0) } }), message: /expected containerd\.events\.TaskExit/ },
      { what: 'garbage payload', env: deepFreeze({ timestamp: TS, namespace: 'default', topic: '/tasks/start', event: { typeUrl: 'containerd.events.TaskStart', value: Buffer.from([0x0a, 0x7f, 0x61]) } }), message: /undecodable TaskStart/ },
      { what: 'no container id', env: paused('default', ''), message: /without a container id/ },
      { what: 'no namespace', env: start('', 'a'), message: /without a namespace/ },
    ];
    for (const { what, env, message } of broken) {
      it(`throws decode for a task event with ${what}`, () => {
        expect(decodeErrorOf(() => normalizeContainerdEvent(env)).message).to.match(message);
      });
    }
  });

  describe('normalizeContainerdTask', () => {
    const labels = deepFreeze({ [NERDCTL_NAME_LABEL]: 'web', [PROJECT_LABEL]: 'shop', 'com.docker.compose.service': 'frontend' });
    const table: {
      what: string;
      ns: string;
      record: { id: string; labels: Record<string, string> } | undefined;
      task: ContainerdTask;
      want: { id: string; name: string; pid: number; paused: boolean; project: string } | null;
    }[] = [
      { what: 'running, default, no labels', ns: 'default', record: { id: 'c1', labels: {} }, task: task('c1', Status.RUNNING, 10), want: { id: 'c1', name: 'c1', pid: 10, paused: false, project: '' } },
      { what: 'running in ns2: namespace/id', ns: 'ns2', record: { id: 'c1', labels: {} }, task: task('c1', Status.RUNNING, 10), want: { id: 'ns2/c1', name: 'ns2/c1', pid: 10, paused: false, project: '' } },
      { what: 'nerdctl name and compose project, default', ns: 'default', record: { id: 'c1', labels }, task: task('c1', Status.RUNNING, 11), want: { id: 'c1', name: 'web', pid: 11, paused: false, project: 'shop' } },
      { what: 'nerdctl name in ns2 is namespaced like the id', ns: 'ns2', record: { id: 'c1', labels }, task: task('c1', Status.RUNNING, 11), want: { id: 'ns2/c1', name: 'ns2/web', pid: 11, paused: false, project: 'shop' } },
      { what: 'paused', ns: 'default', record: { id: 'c1', labels: {} }, task: task('c1', Status.PAUSED, 12), want: { id: 'c1', name: 'c1', pid: 12, paused: true, project: '' } },
      { what: 'pausing counts as running', ns: 'default', record: { id: 'c1', labels: {} }, task: task('c1', Status.PAUSING, 12), want: { id: 'c1', name: 'c1', pid: 12, paused: false, project: '' } },
      { what: 'created: not alive', ns: 'default', record: { id: 'c1', labels: {} }, task: task('c1', Status.CREATED, 12), want: null },
      { what: 'stopped: not alive', ns: 'default', record: { id: 'c1', labels: {} }, task: task('c1', Status.STOPPED, 12), want: null },
      { what: 'unknown: not alive', ns: 'default', record: { id: 'c1', labels: {} }, task: task('c1', Status.UNKNOWN, 12), want: null },
      { what: 'running without a PID: not alive', ns: 'default', record: { id: 'c1', labels: {} }, task: task('c1', Status.RUNNING, 0), want: null },
      { what: 'no container record: no labels', ns: 'default', record: undefined, task: task('c1', Status.RUNNING, 13), want: { id: 'c1', name: 'c1', pid: 13, paused: false, project: '' } },
      { what: 'empty nerdctl name: the id', ns: 'default', record: { id: 'c1', labels: { [NERDCTL_NAME_LABEL]: '' } }, task: task('c1', Status.RUNNING, 14), want: { id: 'c1', name: 'c1', pid: 14, paused: false, project: '' } },
      { what: 'Tasks.Get style: container_id set', ns: 'ns2', record: undefined, task: task('c1', Status.RUNNING, 15, 'c1'), want: { id: 'ns2/c1', name: 'ns2/c1', pid: 15, paused: false, project: '' } },
    ];
    for (const { what, ns, record, task: t, want } of table) {
      it(what, () => {
        const c = normalizeContainerdTask(ns, record === undefined ? undefined : deepFreeze(record), t);
        if (want === null) {
          expect(c).to.equal(null);
          return;
        }
        expect(c).to.not.equal(null);
        expect({ id: c!.id, name: c!.name, pid: c!.pid, paused: c!.paused, project: c!.project }).to.deep.equal(want);
        expect(Object.isFrozen(c)).to.equal(true);
        expect(Object.isFrozen(c!.labels)).to.equal(true);
        expect({ ...c!.labels }).to.deep.equal(record?.labels ?? {});
      });
    }

    it('takes an explicit container id over the task fields', () => {
      expect(normalizeContainerdTask('ns2', undefined, task('exec-or-other', Status.RUNNING, 3, 'x'), {}, 'real')?.id).to.equal('ns2/real');
    });

    it('keeps labels such as __proto__ as plain data', () => {
      const record = deepFreeze({ id: 'c1', labels: JSON.parse('{"__proto__":"p","constructor":"c"}') as Record<string, string> });
      const c = normalizeContainerdTask('default', record, task('c1', Status.RUNNING));
      expect(c!.labels['__proto__']).to.equal('p');
      expect(c!.labels['constructor']).to.equal('c');
    });

    it('packs the rucksack from the raw records; a throwing packer leaves it empty and is reported', () => {
      const record = deepFreeze({ id: 'c1', labels: { a: 'b' }, image: 'busybox' });
      const t = task('c1', Status.PAUSED, 9);
      const c = normalizeContainerdTask('ns2', record, t, { packer: (raw) => ({ ns: raw.namespace, image: raw.container?.image, pid: raw.task.pid }) });
      expect(c!.rucksack).to.deep.equal({ ns: 'ns2', image: 'busybox', pid: 9 });

      const reported: [unknown, string][] = [];
      const boom = new Error('boom');
      const d = normalizeContainerdTask('ns2', record, t, {
        packer: () => {
          throw boom;
        },
        onPackerError: (e, id) => {
          reported.push([e, id]);
          throw new Error('a faulty handler is ignored too');
        },
      });
      expect(d).to.not.equal(null);
      expect('rucksack' in d!).to.equal(false);
      expect(reported).to.deep.equal([[boom, 'ns2/c1']]);
    });
  });

  describe('helpers', () => {
    const ids: [string, string, string][] = [
      ['default', 'a', 'a'],
      ['ns2', 'a', 'ns2/a'],
      ['k8s.io', 'abc/def', 'k8s.io/abc/def'],
    ];
    for (const [ns, id, display] of ids) {
      it(`display id ${display} round-trips`, () => {
        expect(containerdDisplayId(ns, id)).to.equal(display);
        expect(parseContainerdDisplayId(display)).to.deep.equal({ namespace: ns, id });
      });
    }

    it('converts timestamps to ms, falling back for missing or zero ones', () => {
      expect(containerdEventTime({ seconds: 1n, nanos: 500_000 }, 7)).to.equal(1000.5);
      expect(containerdEventTime({ seconds: 0n, nanos: 0 }, 7)).to.equal(7);
      expect(containerdEventTime(undefined, 7)).to.equal(7);
    });

    it('knows which task states are alive', () => {
      const alive = [Status.UNKNOWN, Status.CREATED, Status.RUNNING, Status.STOPPED, Status.PAUSED, Status.PAUSING].filter(isContainerdTaskAlive);
      expect(alive).to.deep.equal([Status.RUNNING, Status.PAUSED, Status.PAUSING]);
    });

    it('subscribes to the five task topics and the probe topic, quoted as containerd filters need', () => {
      expect(CONTAINERD_EVENT_FILTERS).to.deep.equal([
        'topic=="/tasks/start"',
        'topic=="/tasks/exit"',
        'topic=="/tasks/oom"',
        'topic=="/tasks/paused"',
        'topic=="/tasks/resumed"',
        'topic=="/whalewatcher/hello"',
      ]);
      expect(DEFAULT_IGNORED_NAMESPACES).to.deep.equal(['moby', 'k8s.io']);
    });
  });
});
