// containerd (native gRPC API) support.
export { type ContainerdOptions, DEFAULT_CONTAINERD_ADDRESS, containerdAdapter, resolveContainerdAddress } from './containerd-source.js';
export { watchContainerd } from './watch-containerd.js';
export {
  CONTAINERD_DEFAULT_NAMESPACE,
  CONTAINERD_ENGINE,
  CONTAINERD_EVENT_FILTERS,
  CONTAINERD_PROBE_TOPIC,
  CONTAINERD_TASK_TOPICS,
  type ContainerdContainerOptions,
  type ContainerdContainerRecord,
  type ContainerdEnvelope,
  type ContainerdEventOptions,
  type ContainerdEventResult,
  type ContainerdRaw,
  type ContainerdStartHint,
  type ContainerdTask,
  type ContainerdTimestamp,
  DEFAULT_IGNORED_NAMESPACES,
  NERDCTL_NAME_LABEL,
  containerdDisplayId,
  containerdEventTime,
  isContainerdTaskAlive,
  normalizeContainerdEvent,
  normalizeContainerdTask,
  parseContainerdDisplayId,
} from './containerd-normalize.js';
export { toContainerdError } from './containerd-errors.js';
