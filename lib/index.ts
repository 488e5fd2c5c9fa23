// whalewatcher: an always-current, in-memory picture of the alive containers of
// container engines, as RxJS observables.
//
// This file is the package's public surface: every name a user can import is
// listed here, by name, and documented where it is declared. Everything else
// that a module of lib/ exports carries the TSDoc tag "internal" and is stripped
// from dist/*.d.ts (stripInternal; the tag must not appear in this header, or
// the compiler would strip the first export too). A new export here is a
// conscious change: spec/package/public-surface.spec.ts lists them all.

// --- model: what a watcher holds
export type { Container, ContainerHealth, ContainerInit } from './model/container.js';
export { PRIVILEGED_LABEL, PROJECT_LABEL, newContainer } from './model/container.js';
export { ComposerProject, Portfolio } from './model/portfolio.js';

// --- errors
export type { EngineErrorCode } from './errors.js';
export { EngineError, isEngineError } from './errors.js';

// --- core: the watcher, and the adapter seam for writing your own engine adapter
export type { RetryFunction, RetryOption, RetryPolicy } from './core/backoff.js';
export { DEFAULT_RETRY } from './core/backoff.js';
export type { EngineAdapter, EngineEvent, EngineFeed, EngineInfo, EngineType, ExitDetails } from './core/engine.js';
export type { LifecycleEvent, WatcherStatus } from './core/fold.js';
export type { WatchOptions, Watcher } from './core/watcher.js';
export { watch } from './core/watcher.js';

// --- options every engine's adapter and watcher take
export type { AdapterOptions, PackerOptions } from './engines/common/adapter-options.js';

// --- engines: Docker and Podman (Docker-compatible API)
export type { DockerEndpoint, DockerEndpointOptions, DockerTlsOptions } from './engines/docker/docker-endpoint.js';
export { DEFAULT_DOCKER_HOST, resolveDockerEndpoint } from './engines/docker/docker-endpoint.js';
export type { DockerOptions } from './engines/docker/docker-source.js';
export { dockerAdapter } from './engines/docker/docker-source.js';
export { watchDocker } from './engines/docker/watch-docker.js';

// --- engines: containerd (native API)
export { DEFAULT_IGNORED_NAMESPACES, NERDCTL_NAME_LABEL, parseContainerdDisplayId } from './engines/containerd/containerd-normalize.js';
export type { ContainerdOptions } from './engines/containerd/containerd-source.js';
export { DEFAULT_CONTAINERD_ADDRESS, containerdAdapter, resolveContainerdAddress } from './engines/containerd/containerd-source.js';
export { watchContainerd } from './engines/containerd/watch-containerd.js';

// --- engines: CRI (containerd's CRI plugin, cri-o, any CRI runtime)
export {
  CRI_ANNOTATION_PREFIX,
  CRI_CONTAINER_NAME_LABEL,
  CRI_POD_NAMESPACE_LABEL,
  CRI_POD_NAME_LABEL,
  CRI_POD_UID_LABEL,
  CRI_SANDBOX_ID_LABEL,
  CRI_SANDBOX_LABEL,
} from './engines/cri/cri-normalize.js';
export type { CriOptions } from './engines/cri/cri-source.js';
export { DEFAULT_CRI_ENDPOINTS, criAdapter, resolveCriEndpoint } from './engines/cri/cri-source.js';
export { watchCri } from './engines/cri/watch-cri.js';

// --- discovery: finding the engines of a host
export type { DiscoveredEngine, Discovery, DiscoveryOptions, DiscoveryUnanswered } from './discovery/discover-engines.js';
export { discoverEngines } from './discovery/discover-engines.js';
export type { DiscoveryRoute } from './discovery/discovery-merge.js';
export type { DiscoveryUnreadable } from './discovery/proc-scan.js';

// --- host: every engine of the host, watched at once
export type { HostEngine, HostEngineParent, HostWatcher } from './host/host-watcher.js';
export { PREFIX_LABEL } from './host/host-watcher.js';
export type { HostWatchOptions } from './host/watch-host.js';
export { watchHost } from './host/watch-host.js';
