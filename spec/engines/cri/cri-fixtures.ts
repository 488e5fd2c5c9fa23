/**
 * Frozen CRI fixtures, shaped after what containerd 1.7.24's CRI plugin
 * answered here (verbose `info["info"]` JSON trimmed to the keys that matter;
 * `runtimeSpec` left out), for the pure normaliser specs.
 */
import {
  ContainerEventResponse,
  ContainerEventType,
  ContainerState,
  ContainerStatus,
  PodSandboxState,
  PodSandboxStatus,
} from '../../../lib/gen/cri/api.js';

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

export const SANDBOX_ID = 'd32d7ba77d9e4dbecf22b177b6d1035cee26fb58c5c897911b6ff800b1efe95d';
export const CONTAINER_ID = '8fe2148aa59f4f8a022bc9f0384c3d1a6c96100dc55cd3430ea5afe3070e98b6';
export const OTHER_ID = '6cd6ff95ffee795c54e718682e62237e6cee36becc6a395b36289238d6af1ce2';

/** A CRI timestamp beyond 2^53 (ns): 2026-11-23T…, as seen on the test machines. */
export const CREATED_NS = 1_795_437_639_177_161_136n;
export const CREATED_MS = 1_795_437_639_177.161;

export const POD_METADATA = deepFreeze({ name: 'xpod', uid: 'xuid', namespace: 'xns', attempt: 0 });

/** `info` of a verbose ContainerStatus (containerd 1.7). */
export const CONTAINER_INFO: Readonly<Record<string, string>> = deepFreeze({
  info: JSON.stringify({
    sandboxID: SANDBOX_ID,
    pid: 25330,
    removing: false,
    snapshotKey: '7483fea07eae154cd187262a757d727483f5f53336d5cf0d9873d0304a871d02',
    snapshotter: 'overlayfs',
    runtimeType: 'io.containerd.runc.v2',
    runtimeOptions: null,
    config: {
      metadata: { name: 'a' },
      image: { image: 'docker.io/library/busybox:lab' },
      command: ['/bin/sleep', '1000'],
      labels: { cl: 'a' },
      annotations: { ca: 'a' },
      log_path: 'a.log',
      linux: { security_context: { namespace_options: { network: 2, pid: 1 } } },
    },
  }),
});

/** `info` of a verbose PodSandboxStatus (containerd 1.7). */
export const SANDBOX_INFO: Readonly<Record<string, string>> = deepFreeze({
  info: JSON.stringify({
    pid: 25278,
    processStatus: 'running',
    netNamespaceClosed: false,
    image: 'docker.io/library/pause:lab',
    snapshotter: 'overlayfs',
    runtimeHandler: '',
    runtimeType: 'io.containerd.runc.v2',
    runtimeOptions: null,
    config: {
      metadata: { name: 'xpod', uid: 'xuid', namespace: 'xns' },
      log_directory: '/tmp/cri-explore/logs',
      labels: { l: 'pl' },
      annotations: { a: 'pa' },
      linux: { security_context: { namespace_options: { network: 2, pid: 1 } } },
    },
    cniResult: null,
  }),
});

export const PRIVILEGED_INFO: Readonly<Record<string, string>> = deepFreeze({
  info: JSON.stringify({ pid: 4711, sandboxID: SANDBOX_ID, config: { linux: { security_context: { privileged: true } } } }),
});

export const RUNNING_STATUS: ContainerStatus = deepFreeze(
  ContainerStatus.fromPartial({
    id: CONTAINER_ID,
    metadata: { name: 'a', attempt: 0 },
    state: ContainerState.CONTAINER_RUNNING,
    createdAt: 1_795_437_639_217_105_382n,
    startedAt: 1_795_437_639_336_435_155n,
    image: { image: 'docker.io/library/busybox:lab' },
    labels: { cl: 'a' },
    annotations: { ca: 'a' },
    logPath: '/tmp/cri-explore/logs/a.log',
  }),
);

export const EXITED_STATUS: ContainerStatus = deepFreeze(ContainerStatus.fromPartial({ ...RUNNING_STATUS, state: ContainerState.CONTAINER_EXITED, finishedAt: CREATED_NS }));

/** A container started by the kubelet: no pod metadata at hand, but the kubelet's labels. */
export const KUBELET_STATUS: ContainerStatus = deepFreeze(
  ContainerStatus.fromPartial({
    id: OTHER_ID,
    metadata: { name: 'nginx', attempt: 1 },
    state: ContainerState.CONTAINER_RUNNING,
    labels: {
      'io.kubernetes.pod.name': 'web-7d9',
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': 'c0ffee',
      'io.kubernetes.container.name': 'nginx',
      'com.docker.compose.project': 'shop',
    },
    annotations: { 'io.kubernetes.container.restartCount': '1' },
  }),
);

export const READY_SANDBOX: PodSandboxStatus = deepFreeze(
  PodSandboxStatus.fromPartial({
    id: SANDBOX_ID,
    metadata: POD_METADATA,
    state: PodSandboxState.SANDBOX_READY,
    createdAt: 1_795_437_639_059_718_869n,
    labels: { l: 'pl' },
    annotations: { a: 'pa' },
  }),
);

export const NOTREADY_SANDBOX: PodSandboxStatus = deepFreeze(PodSandboxStatus.fromPartial({ ...READY_SANDBOX, state: PodSandboxState.SANDBOX_NOTREADY }));

/** Labels with awkward keys: prototype names must stay plain data. */
export const AWKWARD_SANDBOX: PodSandboxStatus = deepFreeze({
  ...PodSandboxStatus.fromPartial({ id: 'awkward', state: PodSandboxState.SANDBOX_READY }),
  labels: nullProto({ ['__proto__']: 'p', constructor: 'c' }),
  annotations: nullProto({ toString: 't' }),
});

function nullProto(entries: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const key of Object.keys(entries)) Object.defineProperty(out, key, { value: entries[key], enumerable: true });
  return out;
}

function event(type: ContainerEventType, containerId: string, partial: Partial<ContainerEventResponse> = {}): ContainerEventResponse {
  return deepFreeze(ContainerEventResponse.fromPartial({ containerId, containerEventType: type, createdAt: CREATED_NS, ...partial }));
}

export const EVENTS = deepFreeze({
  sandboxCreated: event(ContainerEventType.CONTAINER_CREATED_EVENT, SANDBOX_ID, { podSandboxStatus: READY_SANDBOX }),
  sandboxStarted: event(ContainerEventType.CONTAINER_STARTED_EVENT, SANDBOX_ID, { podSandboxStatus: READY_SANDBOX }),
  containerCreated: event(ContainerEventType.CONTAINER_CREATED_EVENT, CONTAINER_ID, { podSandboxStatus: READY_SANDBOX, containersStatuses: [RUNNING_STATUS] }),
  containerStarted: event(ContainerEventType.CONTAINER_STARTED_EVENT, CONTAINER_ID, { podSandboxStatus: READY_SANDBOX, containersStatuses: [RUNNING_STATUS] }),
  /** STARTED with neither pod nor container statuses (another runtime, or a trimmed event). */
  bareStarted: event(ContainerEventType.CONTAINER_STARTED_EVENT, OTHER_ID),
  /** STARTED naming only the container statuses. */
  statusOnlyStarted: event(ContainerEventType.CONTAINER_STARTED_EVENT, CONTAINER_ID, { containersStatuses: [RUNNING_STATUS] }),
  containerStopped: event(ContainerEventType.CONTAINER_STOPPED_EVENT, CONTAINER_ID, { podSandboxStatus: READY_SANDBOX, containersStatuses: [EXITED_STATUS] }),
  containerDeleted: event(ContainerEventType.CONTAINER_DELETED_EVENT, CONTAINER_ID, { podSandboxStatus: READY_SANDBOX }),
  sandboxStopped: event(ContainerEventType.CONTAINER_STOPPED_EVENT, SANDBOX_ID, { podSandboxStatus: NOTREADY_SANDBOX }),
  /** DELETED of a sandbox: containerd sends no pod status. */
  sandboxDeleted: event(ContainerEventType.CONTAINER_DELETED_EVENT, SANDBOX_ID),
  /** A STOPPED for an id nobody knows (replayed from before the watcher started): harmless. */
  unknownStopped: event(ContainerEventType.CONTAINER_STOPPED_EVENT, 'feedface'),
  /** No time at all: the caller's clock is used. */
  timeless: event(ContainerEventType.CONTAINER_STOPPED_EVENT, CONTAINER_ID, { createdAt: 0n }),
  unrecognized: event(ContainerEventType.UNRECOGNIZED, CONTAINER_ID),
  noId: event(ContainerEventType.CONTAINER_STOPPED_EVENT, ''),
});
