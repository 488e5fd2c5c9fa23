import { expect } from 'chai';
import { EngineError } from '../../../lib/errors.js';
import { PRIVILEGED_LABEL } from '../../../lib/model/container.js';
import { ContainerStatus } from '../../../lib/gen/cri/api.js';
import {
  CRI_ANNOTATION_PREFIX,
  CRI_CONTAINER_NAME_LABEL,
  CRI_POD_NAMESPACE_LABEL,
  CRI_POD_NAME_LABEL,
  CRI_POD_UID_LABEL,
  CRI_SANDBOX_ID_LABEL,
  CRI_SANDBOX_LABEL,
  type CriContainerRaw,
  type CriRaw,
  criInfoSandboxId,
  criTime,
  criVerboseInfo,
  normalizeCriContainer,
  normalizeCriEvent,
  normalizeCriSandbox,
} from '../../../lib/engines/cri/cri-normalize.js';
import {
  AWKWARD_SANDBOX,
  CONTAINER_ID,
  CONTAINER_INFO,
  CREATED_MS,
  CREATED_NS,
  EVENTS,
  EXITED_STATUS,
  KUBELET_STATUS,
  NOTREADY_SANDBOX,
  OTHER_ID,
  POD_METADATA,
  PRIVILEGED_INFO,
  READY_SANDBOX,
  RUNNING_STATUS,
  SANDBOX_ID,
  SANDBOX_INFO,
  deepFreeze,
} from './cri-fixtures.js';

const plain = (labels: Readonly<Record<string, string>>): Record<string, string> => ({ ...labels });

describe('cri-normalize', () => {
  describe('criTime: ns (int64, beyond 2^53) → ms, never throwing', () => {
    const table: { what: string; ns: Parameters<typeof criTime>[0]; want: number }[] = [
      { what: 'bigint beyond 2^53', ns: CREATED_NS, want: CREATED_MS },
      { what: 'int64 max', ns: 9_223_372_036_854_775_807n, want: 9_223_372_036_854.775 },
      { what: 'decimal string', ns: '1795437639177161136', want: CREATED_MS },
      { what: 'number (already rounded by someone else)', ns: 1_700_000_000_000_000_000, want: 1_700_000_000_000 },
      { what: 'zero: the fallback', ns: 0n, want: 42 },
      { what: 'negative: the fallback', ns: -5n, want: 42 },
      { what: 'garbage string: the fallback', ns: '12abc', want: 42 },
      { what: 'NaN: the fallback', ns: Number.NaN, want: 42 },
      { what: 'undefined: the fallback', ns: undefined, want: 42 },
      { what: 'null: the fallback', ns: null, want: 42 },
    ];
    for (const { what, ns, want } of table) {
      it(what, () => {
        expect(criTime(ns, 42)).to.be.closeTo(want, 0.0011);
      });
    }
  });

  describe('verbose info: info["info"] JSON → pid, sandboxID', () => {
    const table: { what: string; info: Record<string, string> | undefined; pid: number | undefined; sandbox: string | undefined }[] = [
      { what: 'containerd container', info: CONTAINER_INFO, pid: 25330, sandbox: SANDBOX_ID },
      { what: 'containerd sandbox', info: SANDBOX_INFO, pid: 25278, sandbox: undefined },
      { what: 'no verbose info (not asked for, or cri-dockerd)', info: {}, pid: undefined, sandbox: undefined },
      { what: 'undefined map', info: undefined, pid: undefined, sandbox: undefined },
      { what: 'not JSON', info: { info: 'pid=12' }, pid: undefined, sandbox: undefined },
      { what: 'JSON but not an object', info: { info: '[1,2]' }, pid: undefined, sandbox: undefined },
      { what: 'pid 0 (process gone)', info: { info: '{"pid":0}' }, pid: undefined, sandbox: undefined },
      { what: 'pid as a string', info: { info: '{"pid":"12"}' }, pid: undefined, sandbox: undefined },
      { what: 'fractional pid', info: { info: '{"pid":1.5}' }, pid: undefined, sandbox: undefined },
    ];
    for (const { what, info, pid, sandbox } of table) {
      it(what, () => {
        const frozen = info === undefined ? undefined : deepFreeze({ ...info });
        // the pid rule as the normaliser applies it: 0 when the verbose info has none
        expect(normalizeCriContainer({ kind: 'container', status: RUNNING_STATUS, info: frozen ?? {} })?.pid).to.equal(pid ?? 0);
        expect(criInfoSandboxId(frozen)).to.equal(sandbox);
        if (pid !== undefined) expect(criVerboseInfo(frozen)).to.include({ pid });
      });
    }
  });

  describe('normalizeCriContainer', () => {
    const raw = (partial: Partial<CriContainerRaw>): CriContainerRaw =>
      deepFreeze({ kind: 'container', status: RUNNING_STATUS, info: CONTAINER_INFO, ...partial });

    const table: {
      what: string;
      raw: CriContainerRaw;
      want: { id: string; name: string; pid: number; project: string; labels: Record<string, string> } | null;
    }[] = [
      {
        what: 'a running container with its pod known (list or event): labels, annotations, pod labels, sandbox id',
        raw: raw({ sandbox: POD_METADATA, sandboxId: SANDBOX_ID }),
        want: {
          id: CONTAINER_ID,
          name: 'xns/xpod/a',
          pid: 25330,
          project: '',
          labels: {
            cl: 'a',
            [`${CRI_ANNOTATION_PREFIX}ca`]: 'a',
            [CRI_POD_NAME_LABEL]: 'xpod',
            [CRI_POD_NAMESPACE_LABEL]: 'xns',
            [CRI_POD_UID_LABEL]: 'xuid',
            [CRI_CONTAINER_NAME_LABEL]: 'a',
            [CRI_SANDBOX_ID_LABEL]: SANDBOX_ID,
          },
        },
      },
      {
        what: 'pod unknown: the sandbox id still comes from the verbose info, the name is the container name',
        raw: raw({}),
        want: {
          id: CONTAINER_ID,
          name: 'a',
          pid: 25330,
          project: '',
          labels: { cl: 'a', [`${CRI_ANNOTATION_PREFIX}ca`]: 'a', [CRI_CONTAINER_NAME_LABEL]: 'a', [CRI_SANDBOX_ID_LABEL]: SANDBOX_ID },
        },
      },
      {
        what: "a kubelet's container: pod from its io.kubernetes.* labels, compose project label kept, no verbose info → pid 0",
        raw: raw({ status: KUBELET_STATUS, info: {} }),
        want: {
          id: OTHER_ID,
          name: 'default/web-7d9/nginx',
          pid: 0,
          project: 'shop',
          labels: {
            'io.kubernetes.pod.name': 'web-7d9',
            'io.kubernetes.pod.namespace': 'default',
            'io.kubernetes.pod.uid': 'c0ffee',
            'io.kubernetes.container.name': 'nginx',
            'com.docker.compose.project': 'shop',
            [`${CRI_ANNOTATION_PREFIX}io.kubernetes.container.restartCount`]: '1',
          },
        },
      },
      {
        what: 'pod metadata wins over stale kubelet labels',
        raw: raw({ status: KUBELET_STATUS, info: {}, sandbox: POD_METADATA }),
        want: {
          id: OTHER_ID,
          name: 'xns/xpod/nginx',
          pid: 0,
          project: 'shop',
          labels: {
            'io.kubernetes.pod.name': 'xpod',
            'io.kubernetes.pod.namespace': 'xns',
            'io.kubernetes.pod.uid': 'xuid',
            'io.kubernetes.container.name': 'nginx',
            'com.docker.compose.project': 'shop',
            [`${CRI_ANNOTATION_PREFIX}io.kubernetes.container.restartCount`]: '1',
          },
        },
      },
      {
        what: 'privileged (verbose config): the privileged label',
        raw: raw({ info: PRIVILEGED_INFO }),
        want: {
          id: CONTAINER_ID,
          name: 'a',
          pid: 4711,
          project: '',
          labels: { cl: 'a', [`${CRI_ANNOTATION_PREFIX}ca`]: 'a', [CRI_CONTAINER_NAME_LABEL]: 'a', [CRI_SANDBOX_ID_LABEL]: SANDBOX_ID, [PRIVILEGED_LABEL]: '' },
        },
      },
      {
        what: 'no metadata and no labels: the id is the name',
        raw: raw({ status: deepFreeze(ContainerStatus.fromPartial({ id: 'bare', state: RUNNING_STATUS.state })), info: {} }),
        want: { id: 'bare', name: 'bare', pid: 0, project: '', labels: {} },
      },
      { what: 'exited: not alive', raw: raw({ status: EXITED_STATUS }), want: null },
      { what: 'created, never started: not alive', raw: raw({ status: deepFreeze(ContainerStatus.fromPartial({ ...RUNNING_STATUS, state: 0 })) }), want: null },
      { what: 'unknown state: not alive', raw: raw({ status: deepFreeze(ContainerStatus.fromPartial({ ...RUNNING_STATUS, state: 3 })) }), want: null },
      { what: 'no id', raw: raw({ status: deepFreeze(ContainerStatus.fromPartial({ ...RUNNING_STATUS, id: '' })) }), want: null },
    ];
    for (const { what, raw: input, want } of table) {
      it(what, () => {
        const c = normalizeCriContainer(input);
        if (want === null) {
          expect(c).to.equal(null);
          return;
        }
        expect(c).to.not.equal(null);
        expect({ id: c!.id, name: c!.name, pid: c!.pid, project: c!.project, labels: plain(c!.labels) }).to.deep.equal(want);
        expect(c!.paused).to.equal(false);
        expect(c!.labels[CRI_SANDBOX_LABEL]).to.equal(undefined);
        expect(Object.isFrozen(c)).to.equal(true);
        expect(Object.isFrozen(c!.labels)).to.equal(true);
        expect('rucksack' in c!).to.equal(false);
      });
    }
  });

  describe('normalizeCriSandbox', () => {
    it('a ready sandbox is a container named <namespace>/<pod>, marked io.kubernetes.sandbox', () => {
      const c = normalizeCriSandbox(deepFreeze({ kind: 'sandbox', status: READY_SANDBOX, info: SANDBOX_INFO }));
      expect(c).to.not.equal(null);
      expect({ id: c!.id, name: c!.name, pid: c!.pid, project: c!.project, paused: c!.paused }).to.deep.equal({
        id: SANDBOX_ID,
        name: 'xns/xpod',
        pid: 25278,
        project: '',
        paused: false,
      });
      expect(plain(c!.labels)).to.deep.equal({
        l: 'pl',
        [`${CRI_ANNOTATION_PREFIX}a`]: 'pa',
        [CRI_POD_NAME_LABEL]: 'xpod',
        [CRI_POD_NAMESPACE_LABEL]: 'xns',
        [CRI_POD_UID_LABEL]: 'xuid',
        [CRI_CONTAINER_NAME_LABEL]: SANDBOX_ID,
        [CRI_SANDBOX_LABEL]: '',
      });
    });

    it('a sandbox that is not ready is not alive', () => {
      expect(normalizeCriSandbox(deepFreeze({ kind: 'sandbox', status: NOTREADY_SANDBOX, info: SANDBOX_INFO }))).to.equal(null);
    });

    it('keeps awkward label and annotation keys as plain data, names a sandbox without metadata by its id', () => {
      const c = normalizeCriSandbox(deepFreeze({ kind: 'sandbox', status: AWKWARD_SANDBOX, info: {} }))!;
      expect(c.name).to.equal('awkward');
      expect(Object.getPrototypeOf(c.labels)).to.equal(null);
      expect(Object.keys(c.labels).sort()).to.deep.equal(['__proto__', `${CRI_ANNOTATION_PREFIX}toString`, 'constructor', CRI_CONTAINER_NAME_LABEL, CRI_SANDBOX_LABEL].sort());
      expect(c.labels['__proto__']).to.equal('p');
    });
  });

  describe('rucksack', () => {
    it('packs the raw records (frozen) and reports a throwing packer without losing the container', () => {
      const seen: CriRaw[] = [];
      const c = normalizeCriContainer(deepFreeze({ kind: 'container', status: RUNNING_STATUS, info: CONTAINER_INFO, sandbox: POD_METADATA }), {
        packer: (raw) => {
          seen.push(raw);
          return { image: raw.kind === 'container' ? raw.status.image?.image : '' };
        },
      })!;
      expect(c.rucksack).to.deep.equal({ image: 'docker.io/library/busybox:lab' });
      expect(seen[0]!.kind).to.equal('container');
      expect(Object.isFrozen(seen[0])).to.equal(true);

      const errors: [unknown, string][] = [];
      const boom = new Error('boom');
      const s = normalizeCriSandbox(deepFreeze({ kind: 'sandbox', status: READY_SANDBOX, info: SANDBOX_INFO }), {
        packer: () => {
          throw boom;
        },
        onPackerError: (e, id) => {
          errors.push([e, id]);
          throw new Error('a faulty handler is ignored too');
        },
      })!;
      expect(s.id).to.equal(SANDBOX_ID);
      expect('rucksack' in s).to.equal(false);
      expect(errors).to.deep.equal([[boom, SANDBOX_ID]]);
    });
  });

  describe('normalizeCriEvent (containerd 1.7 per-pod sequence, stale replays)', () => {
    const table: { what: string; event: (typeof EVENTS)[keyof typeof EVENTS]; want: unknown }[] = [
      { what: 'sandbox CREATED: nothing', event: EVENTS.sandboxCreated, want: null },
      {
        what: 'sandbox STARTED (its id is its pod status id): inspect the sandbox',
        event: EVENTS.sandboxStarted,
        want: { type: 'inspect', kind: 'sandbox', id: SANDBOX_ID, time: CREATED_MS },
      },
      { what: 'container CREATED: nothing', event: EVENTS.containerCreated, want: null },
      {
        what: 'container STARTED: inspect it, with the pod metadata and sandbox id from the event',
        event: EVENTS.containerStarted,
        want: { type: 'inspect', kind: 'container', id: CONTAINER_ID, time: CREATED_MS, sandboxId: SANDBOX_ID, sandbox: POD_METADATA },
      },
      {
        what: 'STARTED naming only container statuses: a container, pod unknown',
        event: EVENTS.statusOnlyStarted,
        want: { type: 'inspect', kind: 'container', id: CONTAINER_ID, time: CREATED_MS },
      },
      { what: 'STARTED without any status: kind unknown', event: EVENTS.bareStarted, want: { type: 'inspect', kind: 'unknown', id: OTHER_ID, time: CREATED_MS } },
      {
        what: 'container STOPPED with its exited status: exited, with the exit code and time',
        event: EVENTS.containerStopped,
        want: { type: 'exited', id: CONTAINER_ID, time: CREATED_MS, exit: { code: 0, time: new Date(CREATED_MS) } },
      },
      { what: 'container DELETED: exited (harmless twice)', event: EVENTS.containerDeleted, want: { type: 'exited', id: CONTAINER_ID, time: CREATED_MS } },
      { what: 'sandbox STOPPED: exited', event: EVENTS.sandboxStopped, want: { type: 'exited', id: SANDBOX_ID, time: CREATED_MS } },
      { what: 'sandbox DELETED without pod status: exited', event: EVENTS.sandboxDeleted, want: { type: 'exited', id: SANDBOX_ID, time: CREATED_MS } },
      {
        what: 'STOPPED without the container status (a stale one of an unknown id, here): the source asks for the status',
        event: EVENTS.unknownStopped,
        want: { type: 'exit-status', id: 'feedface', time: CREATED_MS },
      },
      { what: 'no time: the fallback', event: EVENTS.timeless, want: { type: 'exit-status', id: CONTAINER_ID, time: 7 } },
      { what: 'unrecognized type: nothing', event: EVENTS.unrecognized, want: null },
    ];
    for (const { what, event, want } of table) {
      it(what, () => {
        const got = normalizeCriEvent(event, 7);
        expect(got === null ? null : { ...got }).to.deep.equal(want);
        if (got !== null) expect(Object.isFrozen(got)).to.equal(true);
      });
    }

    it('a relevant event without a container id is a decode error', () => {
      expect(() => normalizeCriEvent(EVENTS.noId, 7))
        .to.throw(EngineError)
        .with.property('code', 'decode');
    });
  });
});
