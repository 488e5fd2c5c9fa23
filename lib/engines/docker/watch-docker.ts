import { type WatchOptions, type Watcher, watch } from '../../core/watcher.js';
import { type DockerOptions, dockerAdapter } from './docker-source.js';

/**
 * Watches a Docker engine (or Podman's Docker-compatible API) and keeps an
 * always-current picture of its alive containers. Hot: starts at once and
 * runs until `close()`, which closes the event stream and all sockets.
 *
 * The endpoint defaults to `DOCKER_HOST`, else `unix:///var/run/docker.sock`.
 *
 * @throws EngineError `config` when the endpoint or TLS settings are unusable.
 *
 * @example
 * ```ts
 * import { watchDocker } from 'whalewatcher';
 * const ww = watchDocker({ host: 'unix:///var/run/docker.sock' });
 * await ww.ready;
 * for (const c of ww.portfolio.containers) console.log(c.name, c.pid, c.project);
 * await ww.close();
 * ```
 */
export function watchDocker(options: DockerOptions & WatchOptions = {}): Watcher {
  return watch(dockerAdapter(options), options);
}
