// CRI (Kubernetes Container Runtime Interface, runtime.v1) support.
export { type CriOptions, DEFAULT_CRI_ENDPOINTS, DEFAULT_CRI_RESYNC_INTERVAL, criAdapter, resolveCriEndpoint } from './cri-source.js';
export { watchCri } from './watch-cri.js';
export { type CriResyncOptions, criResync } from './cri-resync.js';
export {
  CRI_ANNOTATION_PREFIX,
  CRI_CONTAINER_NAME_LABEL,
  CRI_ENGINE,
  CRI_INFO_KEY,
  CRI_POD_NAME_LABEL,
  CRI_POD_NAMESPACE_LABEL,
  CRI_POD_UID_LABEL,
  CRI_SANDBOX_ID_LABEL,
  CRI_SANDBOX_LABEL,
  type CriContainerOptions,
  type CriContainerRaw,
  type CriEventResult,
  type CriRaw,
  type CriSandboxRaw,
  type CriStartHint,
  criInfoSandboxId,
  criPid,
  criTime,
  criVerboseInfo,
  normalizeCriContainer,
  normalizeCriEvent,
  normalizeCriSandbox,
} from './cri-normalize.js';
export { criEventsUnsupported, isCriNotFound, toCriError } from './cri-errors.js';
