// Docker engine and Podman (Docker-compatible API) support.
export { type DockerOptions, dockerAdapter } from './docker-source.js';
export { watchDocker } from './watch-docker.js';
export {
  DEFAULT_DOCKER_HOST,
  type DockerEndpoint,
  type DockerEndpointOptions,
  type DockerEnv,
  type DockerTlsOptions,
  resolveDockerEndpoint,
} from './docker-endpoint.js';
export {
  DOCKER_ENGINE,
  DOCKER_EVENT_ACTIONS,
  type DockerEventResult,
  type DockerStartHint,
  type DockerInspectOptions,
  dockerEventTime,
  normalizeDockerEvent,
  normalizeDockerInspect,
} from './docker-normalize.js';
export { toDockerError } from './docker-errors.js';
