// The engine's identity, as every container and lifecycle event carries it (model: no I/O).

/**
 * The engine kinds whalewatcher knows, by their API: `docker.com` (Docker and
 * Podman), `containerd.io`, `k8s.io/cri-api`. A Docker watcher reports
 * another string where its caller says so (`engineType: 'podman.io'`).
 *
 * @example
 * ```ts
 * import { watchDocker, type EngineType } from 'whalewatcher';
 * const ww = watchDocker();
 * const type: EngineType = (await ww.info()).type; // 'docker.com', also for Podman (unless engineType says otherwise)
 * console.log(type);
 * await ww.close();
 * ```
 */
export type EngineType = 'docker.com' | 'containerd.io' | 'k8s.io/cri-api' | (string & {});

/**
 * What an engine says about itself.
 *
 * @example
 * ```ts
 * import { watchDocker, type EngineInfo } from 'whalewatcher';
 * const ww = watchDocker();
 * const info: EngineInfo = await ww.info();
 * console.log(`${info.product ?? info.type} ${info.version} at ${info.api}`); // e.g. podman 4.3.1 at unix:///run/podman/podman.sock
 * await ww.close();
 * ```
 */
export interface EngineInfo {
  /** Engine identity: Docker `Info.ID`, containerd's server UUID (also for its CRI plugin), else the CRI runtime's name. */
  readonly id: string;
  /** The engine kind (Podman's Docker-compatible API is `docker.com`, with `product` `podman`, unless `engineType` overrides it). */
  readonly type: EngineType;
  /** Engine (server) version, e.g. `26.1.5`, `1.7.24`. */
  readonly version: string;
  /** API endpoint the watcher talks to, e.g. `unix:///run/docker.sock`. */
  readonly api: string;
  /** Engine process PID, when known (option `pid`, or a pidfile the caller gave). */
  readonly pid?: number;
  /** Engine's product name where it differs from the type (e.g. `podman`, `containerd`). */
  readonly product?: string;
}
