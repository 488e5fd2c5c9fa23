// The options every engine adapter takes, and their defaults, written once.

import { type SchedulerLike, asyncScheduler } from 'rxjs';
import { type LabelSelector, parseLabelSelectors } from './label-selector.js';

/** Default longest wait in ms for one answer from an engine (a call, a list, the event stream's first answer). @internal */
export const DEFAULT_REQUEST_TIMEOUT = 30_000;
/** Default of {@link AdapterOptions.deadPeerTimeout}. @internal */
export const DEFAULT_DEAD_PEER_TIMEOUT = 60_000;

/**
 * Options every engine adapter (and so every `watchX` factory) takes, with
 * the same name and meaning for every engine.
 *
 * @example
 * ```ts
 * import { watchContainerd, watchDocker, type AdapterOptions } from 'whalewatcher';
 * const common: AdapterOptions = { labels: ['com.docker.compose.project=shop'], requestTimeout: 10_000 };
 * const docker = watchDocker({ ...common, pid: 1234 });
 * const containerd = watchContainerd(common);
 * await Promise.all([docker.close(), containerd.close()]);
 * ```
 */
export interface AdapterOptions {
  /** The engine's PID, reported by `info()` (whalewatcher cannot learn it through the engine's API). */
  readonly pid?: number;
  /**
   * Most inspections in flight at once, for the list and for started
   * containers together: Docker `GET /containers/{id}/json` (default 64,
   * pipelined over at most 4 connections), containerd container and task
   * look-ups (default 16), CRI status calls (default 16). Results stay in the
   * engine's order.
   */
  readonly concurrency?: number;
  /**
   * Longest wait in ms for one answer (a call, the list call, one
   * inspection, the event stream's first answer); default 30,000. An
   * inspection of a list that runs out of it leaves just that container out
   * (`live` with `incomplete`, asked again later); the watcher's
   * `syncTimeout` bounds the whole list and defaults to at least twice this.
   */
  readonly requestTimeout?: number;
  /**
   * Longest time in ms an event stream may hang on a connection whose peer
   * vanished without closing it (a NAT or firewall that dropped an idle
   * connection, a host gone, a stalled proxy) before the adapter fails it
   * and the watcher reconnects (`degraded`, then a relist). Docker and
   * Podman: once the stream was silent for a third of it, `GET /_ping` must
   * answer within another third (plus TCP keepalive on tcp endpoints).
   * containerd: a heartbeat probe published the same way must come back on
   * the stream. CRI: a `Version` call the same way must answer. containerd
   * and CRI then drop the connection (the reconnect opens a new one), and
   * their channels also send gRPC keepalive pings (at most every 5 minutes,
   * as containerd allows), each to be answered within half of it. Default
   * 60,000; 0 turns the checks off.
   */
  readonly deadPeerTimeout?: number;
  /** Scheduler for request timeouts, periodic work and the time of events that carry none (`TestScheduler` in tests). */
  readonly scheduler?: SchedulerLike;
  /** Environment to read the engine's endpoint variable from (`DOCKER_HOST`, `CONTAINERD_ADDRESS`, `CONTAINER_RUNTIME_ENDPOINT`); default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Watch only the containers whose labels match all of these: each entry is
   * `key` (the label is present) or `key=value`. Pushed down to the engine
   * where it can filter (Docker's list and event filters, CRI's label
   * selector, containerd's list filters) and applied to what comes back, so
   * the portfolio, `lifecycle$` and the engine's work all shrink. Default: all.
   */
  readonly labels?: readonly string[];
  /**
   * Time in ms from the end of one list to the next periodic relist: events
   * are hints (engines drop and replay them), the list is the truth, and the
   * relist repairs what the events missed, reported as `synthetic` changes.
   * `0` or `false` turns it off. A relist lists and inspects only the
   * containers whose list entry shows them new or changed. Default per engine:
   * Docker and Podman 60,000 (every 10th relist inspects every container, as
   * their list cannot show a restart that kept the id), containerd 30,000
   * (its list needs no inspection), CRI 30,000.
   */
  readonly resyncInterval?: number | false;
}

/**
 * The rucksack options every adapter takes: `packer` keeps what an
 * application needs from the engine's raw data of an alive container.
 *
 * @example
 * ```ts
 * import { watchDocker, type PackerOptions } from 'whalewatcher';
 * // Docker's packer gets the inspection JSON (GET /containers/{id}/json)
 * const packing: PackerOptions<unknown> = {
 *   packer: (raw) => ({ restarts: (raw as { RestartCount?: number }).RestartCount ?? 0 }),
 *   onPackerError: (error, id) => console.warn(`no rucksack for ${id}:`, error),
 * };
 * const ww = watchDocker(packing);
 * await ww.ready;
 * for (const c of ww.portfolio.containers) console.log(c.name, c.rucksack);
 * await ww.close();
 * ```
 */
export interface PackerOptions<Raw> {
  /** Packs application data from the engine's raw records of one container into `Container.rucksack`. */
  readonly packer?: ((raw: Raw) => unknown) | undefined;
  /**
   * Told when the packer throws; the container is then kept without a rucksack
   * (a faulty packer never stops the watcher). Errors thrown here are ignored.
   */
  readonly onPackerError?: ((error: unknown, containerId: string) => void) | undefined;
}

/** {@link AdapterOptions} resolved against an engine's defaults. @internal */
export interface AdapterSettings {
  readonly scheduler: SchedulerLike;
  readonly concurrency: number;
  readonly requestTimeout: number;
  /** The `deadPeerTimeout` option (0: off). */
  readonly deadPeerTimeout: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The parsed `labels` option (empty: watch all). */
  readonly labels: readonly LabelSelector[];
  /** ms between periodic relists (`resyncInterval`), 0: off. */
  readonly resyncInterval: number;
}

/**
 * Resolves the common options; `concurrency` falls back to the engine's own default.
 *
 * @throws EngineError `config` for an unusable `labels` entry.
 * @internal
 */
export function adapterSettings(
  options: AdapterOptions,
  defaults: { readonly concurrency: number; readonly engine: string; readonly resyncInterval: number },
): AdapterSettings {
  const resync = options.resyncInterval ?? defaults.resyncInterval;
  return {
    resyncInterval: typeof resync === 'number' && Number.isFinite(resync) && resync > 0 ? resync : 0,
    scheduler: options.scheduler ?? asyncScheduler,
    concurrency: Math.max(1, Math.floor(options.concurrency ?? defaults.concurrency)),
    requestTimeout: options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
    deadPeerTimeout: deadPeerTimeoutOf(options),
    env: options.env ?? process.env,
    labels: parseLabelSelectors(options.labels, defaults.engine),
  };
}

/** The `deadPeerTimeout` option resolved (0: off), for transports set up before the settings. @internal */
export function deadPeerTimeoutOf(options: Pick<AdapterOptions, 'deadPeerTimeout'>): number {
  return Math.max(0, options.deadPeerTimeout ?? DEFAULT_DEAD_PEER_TIMEOUT);
}

/** Just the packer options of `options` (so that raw option bags are not handed to normalisers). @internal */
export function packerOptions<Raw>(options: PackerOptions<Raw>): PackerOptions<Raw> {
  return { packer: options.packer, onPackerError: options.onPackerError };
}
