// The engine's identity, as every container and lifecycle event carries it (model: no I/O).

/**
 * The engine kinds whalewatcher knows, by their API: `docker.com` (Docker and
 * Podman), `containerd.io`, `k8s.io/cri-api`. A Docker watcher reports
 * another string where its caller says so (`engineType: 'podman.io'`).
 */
export type EngineType = 'docker.com' | 'containerd.io' | 'k8s.io/cri-api' | (string & {});

/** What an engine says about itself. */
export interface EngineInfo {
  /** Engine identity: Docker `Info.ID`, containerd server UUID, CRI runtime name. */
  readonly id: string;
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
