// whalewatcher: an always-current, in-memory picture of the alive containers of
// container engines, as RxJS observables.

// --- model
export type { Container, ContainerInit } from './model/container.js';
export { PROJECT_LABEL, PRIVILEGED_LABEL, newContainer } from './model/container.js';
export { ComposerProject, Portfolio } from './model/portfolio.js';

// --- errors
export { EngineError, isEngineError } from './errors.js';
export type { EngineErrorCode } from './errors.js';

// --- core
export type { EngineAdapter, EngineEvent, EngineFeed, EngineInfo, EngineType } from './core/engine.js';
export type { LifecycleEvent, WatcherStatus } from './core/fold.js';
export type { RetryPolicy } from './core/backoff.js';
export { DEFAULT_RETRY } from './core/backoff.js';
export type { WatchOptions, Watcher } from './core/watcher.js';
export { watch } from './core/watcher.js';

// --- engines: Docker and Podman (Docker-compatible API)
export type { DockerOptions, DockerTlsOptions } from './engines/docker/index.js';
export { DEFAULT_DOCKER_HOST, dockerAdapter, watchDocker } from './engines/docker/index.js';

// --- engines: containerd (native API)
export type { ContainerdOptions } from './engines/containerd/index.js';
export { DEFAULT_CONTAINERD_ADDRESS, containerdAdapter, watchContainerd } from './engines/containerd/index.js';

// --- engines: CRI (containerd's CRI plugin, cri-o, any CRI runtime)
export type { CriOptions } from './engines/cri/index.js';
export { CRI_ANNOTATION_PREFIX, CRI_SANDBOX_LABEL, DEFAULT_CRI_ENDPOINTS, criAdapter, watchCri } from './engines/cri/index.js';
