// The containerd normaliser on real containerd 1.7.24 payloads (containerd17-captured.ts): exit
// details of a task that exits by itself, one SIGKILLed and one OOM-killed; image and creation time of
// a container record; the namespace filter; the label filters of Containers.List. Pure, table-driven.
import { OomNotes } from '../../../lib/engines/common/oom-notes.js';
import { expect } from 'chai';
import { Container as ContainerRecord } from '../../../lib/gen/containerd/services/containers/v1/containers.js';
import { Envelope } from '../../../lib/gen/containerd/services/events/v1/events.js';
import { Process } from '../../../lib/gen/containerd/types/task/task.js';
import {
  type ContainerdEventResult,
  NERDCTL_NAME_LABEL,
  containerdLabelFilters,
  containerdNamespaceFilter,
  normalizeContainerdEvent,
  normalizeContainerdTask,
} from '../../../lib/engines/containerd/containerd-normalize.js';
import { parseLabelSelectors } from '../../../lib/engines/common/label-selector.js';
import { PROJECT_LABEL } from '../../../lib/model/container.js';
import { CONTAINERD17_EXITS, CONTAINERD17_LISTED_TASK_HEX, CONTAINERD17_RECORD_HEX, CONTAINERD17_TASK_HEX } from './containerd17-captured.js';

const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');
const ENVELOPES: readonly Envelope[] = Object.freeze(CONTAINERD17_EXITS.map((e) => Object.freeze(Envelope.decode(bytes(e.hex)))));
const RECORD = Object.freeze(ContainerRecord.decode(bytes(CONTAINERD17_RECORD_HEX)));
const TASK = Object.freeze(Process.decode(bytes(CONTAINERD17_TASK_HEX)));
const LISTED = Object.freeze(Process.decode(bytes(CONTAINERD17_LISTED_TASK_HEX[0]!)));

/** A result as plain data (Dates as ISO strings, the event time in whole ms), `null` as '-'. */
function plain(r: ContainerdEventResult): unknown {
  return r === null ? '-' : JSON.parse(JSON.stringify({ ...r, time: Math.floor(r.time) }));
}

describe('containerd-normalize on captured containerd 1.7 payloads', () => {
  describe('normalizeContainerdEvent: the task events of a run (cap-web SIGKILLed, cap-three exits with 3, cap-oom OOM-killed)', () => {
    const tasks = ENVELOPES.map((e) => plain(normalizeContainerdEvent(e))).filter((r) => r !== '-');
    const table: { what: string; want: unknown }[] = [
      { what: 'cap-web starts: a start to inspect, at the envelope time', want: { type: 'inspect', namespace: 'ns2', containerId: 'cap-web', id: 'ns2/cap-web', pid: 12654, time: 1796175996835 } },
      { what: 'cap-three starts', want: { type: 'inspect', namespace: 'ns2', containerId: 'cap-three', id: 'ns2/cap-three', pid: 12707, time: 1796175997015 } },
      { what: 'cap-web SIGKILLed: exit_status 137, exited_at', want: { type: 'exited', id: 'ns2/cap-web', time: 1796175997046, exit: { code: 137, time: '2026-12-02T01:46:37.045Z' } } },
      { what: 'cap-oom starts', want: { type: 'inspect', namespace: 'ns2', containerId: 'cap-oom', id: 'ns2/cap-oom', pid: 12768, time: 1796175997194 } },
      { what: 'cap-three exits by itself with 3', want: { type: 'exited', id: 'ns2/cap-three', time: 1796175997216, exit: { code: 3, time: '2026-12-02T01:46:37.216Z' } } },
      { what: 'cap-oom: an OOM note (no exit)', want: { type: 'oom', id: 'ns2/cap-oom', time: 1796175997262 } },
      { what: 'cap-oom killed by the OOM killer: 137 (the source adds oomKilled)', want: { type: 'exited', id: 'ns2/cap-oom', time: 1796175997272, exit: { code: 137, time: '2026-12-02T01:46:37.272Z' } } },
    ];
    it('leaves out /containers/*, /images/*, /snapshot/* and /tasks/create', () => {
      const left = ENVELOPES.filter((e) => normalizeContainerdEvent(e) === null).map((e) => e.topic);
      expect(left.length).to.be.greaterThan(0);
      for (const topic of left) expect(topic).to.match(/^\/(containers|images|snapshot)\/|^\/tasks\/create$/);
    });
    table.forEach(({ what, want: w }, i) => {
      it(what, () => {
        expect(tasks[i]).to.deep.equal(w);
      });
    });
    it('nothing else', () => {
      expect(tasks.length).to.equal(table.length);
    });
    it('every result is frozen, exit details too', () => {
      for (const e of ENVELOPES) {
        const r = normalizeContainerdEvent(e);
        if (r === null) continue;
        expect(Object.isFrozen(r)).to.equal(true);
        if (r.type === 'exited') expect(Object.isFrozen(r.exit)).to.equal(true);
      }
    });
    it('the OOM notes mark an exit, keeping code and time, without touching the original', () => {
      const exit = ENVELOPES.map((e) => normalizeContainerdEvent(e)).find((r) => r?.type === 'exited' && r.id === 'ns2/cap-oom');
      if (exit?.type !== 'exited') throw new Error('no exit of cap-oom');
      const notes = new OomNotes();
      expect(notes.apply({ type: 'oom', id: exit.id, time: exit.time - 1 })).to.equal(null);
      const marked = notes.apply(exit);
      if (marked?.type !== 'exited') throw new Error('the exit went missing');
      expect(JSON.parse(JSON.stringify(marked.exit))).to.deep.equal({ code: 137, time: '2026-12-02T01:46:37.272Z', oomKilled: true });
      expect(exit.exit?.oomKilled).to.equal(undefined);
      expect(Object.isFrozen(marked) && Object.isFrozen(marked.exit)).to.equal(true);
    });
  });

  describe('normalizeContainerdTask: a captured record and task', () => {
    const table: { what: string; task: Process; startedAt?: number; want: unknown }[] = [
      {
        what: 'Containers.Get + Tasks.Get of a start: image, createdAt from the record, startedAt from the start event',
        task: TASK,
        startedAt: 1796175996835.6902,
        want: {
          id: 'ns2/cap-web',
          name: 'ns2/web',
          pid: 12654,
          project: 'shop',
          paused: false,
          image: 'docker.io/library/busybox:lab',
          createdAt: '2026-12-02T01:46:36.715Z',
          startedAt: '2026-12-02T01:46:36.835Z',
        },
      },
      {
        what: 'Tasks.List (container id in `id`): no start time known',
        task: LISTED,
        want: { id: 'ns2/cap-web', name: 'ns2/web', pid: 12654, project: 'shop', paused: false, image: 'docker.io/library/busybox:lab', createdAt: '2026-12-02T01:46:36.715Z' },
      },
    ];
    for (const { what, task, startedAt, want } of table) {
      it(what, () => {
        const c = normalizeContainerdTask('ns2', RECORD, task, {}, 'cap-web', startedAt)!;
        const { labels, ...rest } = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
        expect(rest).to.deep.equal(want);
        expect(labels).to.deep.include({ [NERDCTL_NAME_LABEL]: 'web', [PROJECT_LABEL]: 'shop' });
        expect(Object.isFrozen(c)).to.equal(true);
      });
    }
    it('a record without image or creation time gives none', () => {
      const c = normalizeContainerdTask('default', { id: 'x', labels: {} }, TASK, {}, 'x')!;
      expect('image' in c || 'createdAt' in c || 'startedAt' in c).to.equal(false);
    });
  });

  describe('containerdNamespaceFilter: namespaces and ignoreNamespaces', () => {
    const table: { what: string; namespaces?: string[]; ignore?: string[]; watched: string[]; left: string[] }[] = [
      { what: 'neither: all but moby and k8s.io', watched: ['default', 'ns2'], left: ['moby', 'k8s.io'] },
      { what: 'ignoreNamespaces only: all but those', ignore: ['ns2'], watched: ['default', 'moby', 'k8s.io'], left: ['ns2'] },
      { what: 'namespaces only: just those, k8s.io included (no default ignores)', namespaces: ['k8s.io', 'ns2'], watched: ['k8s.io', 'ns2'], left: ['default', 'moby'] },
      { what: 'both: namespaces less the ignored', namespaces: ['default', 'ns2'], ignore: ['ns2'], watched: ['default'], left: ['ns2', 'moby', 'k8s.io'] },
      { what: 'an empty allow-list: nothing', namespaces: [], watched: [], left: ['default', 'ns2', 'moby'] },
    ];
    for (const { what, namespaces, ignore, watched, left } of table) {
      it(what, () => {
        const f = containerdNamespaceFilter(namespaces, ignore);
        expect(watched.filter(f)).to.deep.equal(watched);
        expect(left.filter(f)).to.deep.equal([]);
      });
    }
    it('drops the events of namespaces outside the allow-list', () => {
      const start = ENVELOPES.find((e) => e.topic === '/tasks/start')!;
      expect(normalizeContainerdEvent(start, { namespaces: ['default'] })).to.equal(null);
      expect(normalizeContainerdEvent(start, { namespaces: ['ns2'] })?.type).to.equal('inspect');
    });
  });

  describe('containerdLabelFilters: the labels option as one Containers.List filter (selectors ANDed by commas)', () => {
    const table: { what: string; labels: string[]; want: string[] | undefined }[] = [
      { what: 'no labels: no filter', labels: [], want: [] },
      { what: 'key=value: equality on the quoted key', labels: ['app=web'], want: ['labels."app"=="web"'] },
      { what: 'key alone: presence', labels: ['nerdctl/name'], want: ['labels."nerdctl/name"'] },
      { what: 'all must match: one filter, comma-separated', labels: ['a=1', 'b'], want: ['labels."a"=="1",labels."b"'] },
      { what: 'dots, commas, spaces, quotes and = in keys and values are quoted', labels: ['com.example.x=a, "b" = c'], want: ['labels."com.example.x"=="a, \\"b\\" = c"'] },
      { what: 'an empty value is still an equality', labels: ['empty='], want: ['labels."empty"==""'] },
      { what: 'a lone surrogate cannot be told to containerd: client-side only', labels: ['k=\uD800'], want: undefined },
    ];
    for (const { what, labels, want } of table) {
      it(what, () => {
        expect(containerdLabelFilters(parseLabelSelectors(labels, 'containerd'))).to.deep.equal(want);
      });
    }
  });
});
