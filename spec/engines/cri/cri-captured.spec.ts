// The CRI normaliser on real containerd 1.7.24 CRI plugin payloads (cri17-captured.ts): the event
// sequence of one pod whose containers are SIGKILLed, exit with 3 and are OOM-killed; the exit details
// of their statuses; image and times of a running container and its sandbox; the label selector the
// lists send. Pure, table-driven.
import { expect } from 'chai';
import { ContainerEventResponse, ContainerStatusResponse, ListContainersResponse, PodSandboxStatusResponse } from '../../../lib/gen/cri/api.js';
import { parseLabelSelectors } from '../../../lib/engines/common/label-selector.js';
import {
  CRI_ANNOTATION_PREFIX,
  CRI_CONTAINER_NAME_LABEL,
  CRI_POD_NAMESPACE_LABEL,
  CRI_POD_NAME_LABEL,
  CRI_POD_UID_LABEL,
  CRI_SANDBOX_ID_LABEL,
  CRI_SANDBOX_LABEL,
  type CriEventResult,
  criExitDetails,
  criLabelSelector,
  normalizeCriContainer,
  normalizeCriEvent,
  normalizeCriSandbox,
} from '../../../lib/engines/cri/cri-normalize.js';
import { PRIVILEGED_LABEL } from '../../../lib/model/container.js';
import { deepFreeze } from './cri-fixtures.js';
import {
  CRI17_EVENTS_HEX,
  CRI17_EXITED_STATUSES_HEX,
  CRI17_IDS,
  CRI17_LIST_CONTAINERS_HEX,
  CRI17_RUNNING_STATUS_HEX,
  CRI17_SANDBOX_STATUS_HEX,
} from './cri17-captured.js';

const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex');
const EVENTS = deepFreeze(CRI17_EVENTS_HEX.map((h) => ContainerEventResponse.decode(bytes(h))));
const EXITED = deepFreeze(CRI17_EXITED_STATUSES_HEX.map((h) => ContainerStatusResponse.decode(bytes(h)).status!));
const RUNNING = deepFreeze(ContainerStatusResponse.decode(bytes(CRI17_RUNNING_STATUS_HEX)));
const SANDBOX = deepFreeze(PodSandboxStatusResponse.decode(bytes(CRI17_SANDBOX_STATUS_HEX)));
const LISTED = deepFreeze(ListContainersResponse.decode(bytes(CRI17_LIST_CONTAINERS_HEX)));
const { sandbox: POD, app: APP, three: THREE, oom: OOM } = CRI17_IDS;

/** A result as plain data (Dates as ISO strings, the event time in whole ms, no pod metadata), `null` as '-'. */
function plain(r: CriEventResult): unknown {
  if (r === null) return '-';
  const { sandbox: _pod, ...rest } = r as typeof r & { sandbox?: unknown };
  return JSON.parse(JSON.stringify({ ...rest, time: Math.floor(r.time) }));
}

describe('cri-normalize on captured containerd 1.7 CRI payloads', () => {
  describe('normalizeCriEvent: one pod, app SIGKILLed (stop, timeout 0), three exiting with 3, oom OOM-killed, then the pod removed', () => {
    const table: { what: string; want: unknown }[] = [
      { what: 'sandbox CREATED', want: '-' },
      { what: 'sandbox STARTED: inspect a sandbox', want: { type: 'inspect', id: POD, time: 1796176060694, kind: 'sandbox' } },
      { what: 'app CREATED', want: '-' },
      { what: 'app STARTED: inspect a container of the pod', want: { type: 'inspect', id: APP, time: 1796176060837, kind: 'container', sandboxId: POD } },
      { what: 'three CREATED', want: '-' },
      { what: 'three STARTED', want: { type: 'inspect', id: THREE, time: 1796176060949, kind: 'container', sandboxId: POD } },
      { what: 'app STOPPED: 137, reason Error, finished_at', want: { type: 'exited', id: APP, time: 1796176061046, exit: { code: 137, time: '2026-12-02T01:47:40.968Z', reason: 'Error' } } },
      { what: 'oom CREATED', want: '-' },
      { what: 'oom STARTED', want: { type: 'inspect', id: OOM, time: 1796176061187, kind: 'container', sandboxId: POD } },
      { what: 'three STOPPED: exit code 3', want: { type: 'exited', id: THREE, time: 1796176061287, exit: { code: 3, time: '2026-12-02T01:47:41.151Z', reason: 'Error' } } },
      {
        what: 'oom STOPPED: 137, reason OOMKilled, so oomKilled',
        want: { type: 'exited', id: OOM, time: 1796176061330, exit: { code: 137, time: '2026-12-02T01:47:41.277Z', reason: 'OOMKilled', oomKilled: true } },
      },
      { what: 'sandbox STOPPED: an exit without details (a sandbox has no exit code)', want: { type: 'exited', id: POD, time: 1796176065278 } },
      { what: 'app DELETED: an exit without details (its status is gone from the event)', want: { type: 'exited', id: APP, time: 1796176065288 } },
      { what: 'three DELETED', want: { type: 'exited', id: THREE, time: 1796176065295 } },
      { what: 'oom DELETED', want: { type: 'exited', id: OOM, time: 1796176065298 } },
      { what: 'sandbox DELETED (no pod status)', want: { type: 'exited', id: POD, time: 1796176065306 } },
    ];
    it('has one row per captured event', () => {
      expect(EVENTS.length).to.equal(table.length);
    });
    table.forEach(({ what, want }, i) => {
      it(what, () => {
        const got = normalizeCriEvent(EVENTS[i]!, 7);
        expect(plain(got)).to.deep.equal(want);
        if (got !== null) expect(Object.isFrozen(got)).to.equal(true);
      });
    });
    it('a STOPPED whose event lost the container status asks for it (exit-status), in place of an exit without details', () => {
      const stopped = EVENTS[6]!;
      const trimmed: ContainerEventResponse = deepFreeze({ ...stopped, containersStatuses: stopped.containersStatuses.filter((s) => s.id !== APP) });
      expect(plain(normalizeCriEvent(trimmed, 7))).to.deep.equal({ type: 'exit-status', id: APP, time: 1796176061046 });
    });
  });

  describe('criExitDetails: the statuses of the exited containers (what the exit-status call reads)', () => {
    const table: { what: string; i: number; want: unknown }[] = [
      { what: 'app: SIGKILLed', i: 0, want: { code: 137, time: '2026-12-02T01:47:40.968Z', reason: 'Error' } },
      { what: 'three: exit 3', i: 1, want: { code: 3, time: '2026-12-02T01:47:41.151Z', reason: 'Error' } },
      { what: 'oom: OOM-killed', i: 2, want: { code: 137, time: '2026-12-02T01:47:41.277Z', reason: 'OOMKilled', oomKilled: true } },
    ];
    for (const { what, i, want } of table) {
      it(what, () => {
        const d = criExitDetails(EXITED[i]!);
        expect(JSON.parse(JSON.stringify(d))).to.deep.equal(want);
        expect(Object.isFrozen(d)).to.equal(true);
      });
    }
    it('none while the container runs', () => {
      expect(criExitDetails(RUNNING.status!)).to.equal(undefined);
    });
  });

  describe('normalizeCriContainer and normalizeCriSandbox: image and times, Go-compatible labels', () => {
    it('a running container: image spec (not the sha256 image_ref), created and started at', () => {
      expect(RUNNING.status!.imageRef).to.match(/^sha256:/);
      const c = normalizeCriContainer({ kind: 'container', status: RUNNING.status!, info: RUNNING.info, sandbox: SANDBOX.status!.metadata })!;
      expect(JSON.parse(JSON.stringify({ ...c, labels: undefined }))).to.deep.equal({
        id: APP,
        name: 'cap-ns/cap-pod/app',
        pid: 13858,
        project: '',
        paused: false,
        image: 'docker.io/library/busybox:lab',
        createdAt: '2026-12-02T01:47:40.741Z',
        startedAt: '2026-12-02T01:47:40.836Z',
      });
      expect({ ...c.labels }).to.deep.equal({
        'ctr-label': 'app',
        [`${CRI_ANNOTATION_PREFIX}ctr-note`]: 'note of app',
        [CRI_POD_NAME_LABEL]: 'cap-pod',
        [CRI_POD_NAMESPACE_LABEL]: 'cap-ns',
        [CRI_POD_UID_LABEL]: 'cap-uid',
        [CRI_CONTAINER_NAME_LABEL]: 'app',
        [CRI_SANDBOX_ID_LABEL]: POD,
      });
    });
    it('its ready sandbox: the pause image from the verbose info, created at; marked as the Go whalewatcher marks it', () => {
      const s = normalizeCriSandbox({ kind: 'sandbox', status: SANDBOX.status!, info: SANDBOX.info })!;
      expect(JSON.parse(JSON.stringify({ ...s, labels: undefined }))).to.deep.equal({
        id: POD,
        name: 'cap-ns/cap-pod',
        pid: s.pid,
        project: '',
        paused: false,
        image: 'docker.io/library/pause:lab',
        createdAt: '2026-12-02T01:47:40.239Z',
      });
      expect(s.pid).to.be.greaterThan(0);
      expect({ ...s.labels }).to.deep.equal({
        'pod-label': 'p',
        [`${CRI_ANNOTATION_PREFIX}pod-note`]: 'n',
        [CRI_POD_NAME_LABEL]: 'cap-pod',
        [CRI_POD_NAMESPACE_LABEL]: 'cap-ns',
        [CRI_POD_UID_LABEL]: 'cap-uid',
        [CRI_CONTAINER_NAME_LABEL]: POD,
        [CRI_SANDBOX_LABEL]: '',
      });
    });
    it('the list item carries the same image spec and creation time (so the status call adds nothing to learn them)', () => {
      const listed = LISTED.containers.find((c) => c.id === APP)!;
      expect(listed.image?.image).to.equal(RUNNING.status!.image?.image);
      expect(listed.createdAt).to.equal(RUNNING.status!.createdAt);
    });
  });

  describe('criLabelSelector: the label_selector of ListContainers and ListPodSandbox', () => {
    const table: { what: string; labels: string[]; want: Record<string, string> }[] = [
      { what: 'no labels: none', labels: [], want: {} },
      { what: 'key=value entries go to the runtime', labels: ['app=web', 'tier=db'], want: { app: 'web', tier: 'db' } },
      { what: 'key-only entries stay client-side', labels: ['app', 'tier=db'], want: { tier: 'db' } },
      { what: 'an empty value is an exact match too', labels: ['app='], want: { app: '' } },
      {
        what: "the labels whalewatcher sets itself stay client-side (the runtime's labels may lack them)",
        labels: [`${CRI_POD_NAME_LABEL}=p`, `${CRI_POD_NAMESPACE_LABEL}=n`, `${CRI_POD_UID_LABEL}=u`, `${CRI_CONTAINER_NAME_LABEL}=c`, `${CRI_SANDBOX_LABEL}=`, `${CRI_SANDBOX_ID_LABEL}=s`, `${PRIVILEGED_LABEL}=`],
        want: {},
      },
      { what: 'annotations stay client-side', labels: [`${CRI_ANNOTATION_PREFIX}note=x`], want: {} },
      { what: 'two values for one key: the first (the kit matches nothing anyway)', labels: ['a=1', 'a=2'], want: { a: '1' } },
    ];
    for (const { what, labels, want } of table) {
      it(what, () => {
        expect(criLabelSelector(parseLabelSelectors(labels, 'cri'))).to.deep.equal(want);
      });
    }
  });
});
