// Pure: raw Docker / Podman (Docker-compatible API) JSON → whalewatcher's model.
// No I/O, no node:* imports; everything here is table-tested with frozen fixtures.

import type { EngineEvent, ExitDetails } from '../../core/engine.js';
import { EngineError } from '../../errors.js';
import { type Container, type ContainerHealth, PRIVILEGED_LABEL, newContainer, packRucksack } from '../../model/container.js';
import type { PackerOptions } from '../common/adapter-options.js';
import { type Json, decodeError as kitDecodeError, isObject } from '../common/decode.js';
import type { LabelSelector } from '../common/label-selector.js';
import type { OomMark, OomNotesOptions } from '../common/oom-notes.js';
import type { StartHint } from '../common/start-hint.js';

/** @internal Engine name used in the errors of the Docker adapter. */
export const DOCKER_ENGINE = 'docker';

/**
 * The container event actions the adapter subscribes to (`/events` filter
 * `event=`). Podman 4.x matches the filter against its own action names before
 * it renames `died` to `die` for the Docker API, so `die` alone silently drops
 * every exit there: `died` must be in the filter too (Docker ignores it).
 * `oom` marks the next exit as an OOM kill, unless a `kill` comes between
 * (measured: an exec's process OOM-killed, then the container killed 0.3 s
 * later, gives `oom`, `kill`, `die`; a real OOM kill `oom`, `die` within
 * 70-170 ms and no `kill`); `health_status` matches Docker's
 * `health_status: healthy` (Docker matches an action filter on the part before
 * the colon too) and Podman's `health_status`.
 *
 * @internal
 */
export const DOCKER_EVENT_ACTIONS: readonly string[] = Object.freeze(['start', 'die', 'died', 'pause', 'unpause', 'rename', 'oom', 'kill', 'health_status']);

/**
 * A Docker `start`: the event carries no PID, so the source must inspect the
 * container before it can emit `started` (keeping the engine's order).
 *
 * @internal
 */
export type DockerStartHint = StartHint;

/**
 * A Docker `oom` (the kernel's OOM killer killed a process of the container)
 * or `kill` (someone sent the container a signal): the kit's {@link OomMark}.
 * Neither is an exit by itself; the event stream's OOM notes (`OomNotes`) turn a
 * `die` soon after an `oom`, with no `kill` between, into an OOM kill.
 *
 * @internal
 */
export type DockerOomMark = OomMark;

/**
 * How Docker's event streams keep their OOM notes: a real OOM kill shows
 * `oom`, `die` 70–170 ms apart (measured on 20.10 and 26), so a `die` more
 * than 2 s after the `oom` is not its kill; at most 256 notes per stream.
 *
 * @internal
 */
export const DOCKER_OOM_NOTES: Readonly<Required<OomNotesOptions>> = Object.freeze({ window: 2_000, max: 256 });

/** @internal What one raw event turns into: an engine event, a start to inspect, an OOM mark, or nothing (`null`). */
export type DockerEventResult = EngineEvent | DockerStartHint | DockerOomMark | null;

/** The packer options of the Docker adapter (part of `DockerOptions`): the packer gets Docker's raw inspection JSON. */
export type DockerInspectOptions = PackerOptions<unknown>;

/**
 * The engine's time of an event in ms since the epoch: `timeNano / 1e6`, else
 * `time * 1000`, else `fallback` (the caller's clock).
 *
 * @internal
 */
export function dockerEventTime(raw: Json, fallback: number): number {
  const nano = raw['timeNano'];
  if (typeof nano === 'number' && Number.isFinite(nano) && nano > 0) return nano / 1e6;
  if (typeof nano === 'string' && /^\d+$/.test(nano)) return Number(nano) / 1e6;
  const secs = raw['time'];
  if (typeof secs === 'number' && Number.isFinite(secs) && secs > 0) return secs * 1000;
  return fallback;
}

function decodeError(message: string, raw: unknown): EngineError {
  return kitDecodeError(DOCKER_ENGINE, message, { raw });
}

/** The health check states (Docker's and Podman's `State.Health.Status`, and their `health_status` events). */
function healthOf(status: unknown): ContainerHealth | undefined {
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : undefined;
}

/** An exit code attribute: Docker's `exitCode`, Podman's `containerExitCode` (both strings of digits). */
function exitCodeOf(attributes: Json | undefined): number | undefined {
  if (attributes === undefined) return undefined;
  for (const key of ['exitCode', 'containerExitCode']) {
    const v = attributes[key];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    if (typeof v === 'string' && /^\d{1,10}$/.test(v)) return Number(v);
  }
  return undefined;
}

/**
 * Turns one decoded event of Docker's or Podman's `/events` stream into an
 * {@link EngineEvent}, a {@link DockerStartHint} for `start`, a
 * {@link DockerOomMark} for `oom` and `kill`, or `null` for everything else
 * (exec_*, exec, exec_died, init, cleanup, create, stop, destroy, remove,
 * events of other object types…).
 *
 * Reads only `Type`, `Action`, `Actor.ID`, `Actor.Attributes` `name`
 * (rename) and `exitCode` / `containerExitCode` (die), `HealthStatus`
 * (Podman's health events), `timeNano` and `time`: Docker API 1.52 dropped the legacy
 * `status`, `id` and `from`, and Podman has sent `died` without any labels, so
 * exits go by id only. An exec's end (`exec_die`, `exec_died`) is never a
 * container exit. An `exited` carries `exit` with the code (when the event
 * has it) and the engine's time (when the event has one); `oomKilled` is the
 * event stream's to add (see {@link DockerOomMark}). A health event is Docker's
 * `health_status: <status>` (sent on a change) or Podman's `health_status`
 * with a top-level `HealthStatus` (sent on every check run). Measured on
 * Podman 4.3: `HealthStatus` is the status from before the run (the first
 * run of a passing check says `starting`, the next `healthy`), so Podman's
 * health in the picture is one check interval late. An unknown status yields
 * `null`.
 *
 * @param fallbackTime ms since the epoch used when the event has no time.
 * @throws EngineError `decode` when a relevant event lacks its container id
 *   (or a rename its new name): dropping it would silently corrupt the picture.
 *
 * @internal
 */
export function normalizeDockerEvent(raw: unknown, fallbackTime = 0): DockerEventResult {
  if (!isObject(raw)) throw decodeError('docker event is not a JSON object', raw);
  const type = raw['Type'];
  if (type !== undefined && type !== 'container') return null;
  const fullAction = raw['Action'];
  if (typeof fullAction !== 'string') return null;
  // Docker: `health_status: healthy`; everything else is one word
  const colon = fullAction.indexOf(':');
  const action = colon < 0 ? fullAction : fullAction.slice(0, colon);
  switch (action) {
    case 'start':
    case 'die':
    case 'died':
    case 'pause':
    case 'unpause':
    case 'rename':
    case 'oom':
    case 'kill':
    case 'health_status':
      break;
    default:
      return null;
  }
  if (colon >= 0 && action !== 'health_status') return null;
  const actor = raw['Actor'];
  const id = isObject(actor) ? actor['ID'] : undefined;
  if (typeof id !== 'string' || id === '') throw decodeError(`docker ${action} event without Actor.ID`, raw);
  const attributes = isObject(actor) && isObject(actor['Attributes']) ? actor['Attributes'] : undefined;
  const time = dockerEventTime(raw, Number.NaN);
  const at = Number.isNaN(time) ? fallbackTime : time;
  switch (action) {
    case 'start':
      return Object.freeze({ type: 'inspect', id, time: at });
    case 'die':
    case 'died': {
      const code = exitCodeOf(attributes);
      const exit: { code?: number; time?: Date } = {};
      if (code !== undefined) exit.code = code;
      if (!Number.isNaN(time)) exit.time = new Date(time);
      if (code === undefined && Number.isNaN(time)) return Object.freeze({ type: 'exited', id, time: at });
      return Object.freeze({ type: 'exited', id, time: at, exit: Object.freeze(exit as ExitDetails) });
    }
    case 'oom':
    case 'kill':
      return Object.freeze({ type: action, id, time: at });
    case 'health_status': {
      const health = healthOf(colon >= 0 ? fullAction.slice(colon + 1).trim() : raw['HealthStatus']);
      return health === undefined ? null : Object.freeze({ type: 'health', id, health, time: at });
    }
    case 'pause':
      return Object.freeze({ type: 'paused', id, time: at });
    case 'unpause':
      return Object.freeze({ type: 'unpaused', id, time: at });
    case 'rename': {
      const name = attributes?.['name'];
      if (typeof name !== 'string' || name === '') throw decodeError('docker rename event without Actor.Attributes.name', raw);
      return Object.freeze({ type: 'renamed', id, name: stripSlash(name), time: at });
    }
  }
  return null;
}

/** How much of an oversized event line {@link normalizeOversizedDockerEvent} reads. @internal */
export const OVERSIZED_EVENT_HEAD = 64 * 1024;

/**
 * An event line too long to parse (Docker copies every label into the event's
 * attributes: one label of a megabyte makes a megabyte line), from its first
 * {@link OVERSIZED_EVENT_HEAD} characters only: Docker and Podman write
 * `Type`, `Action` and `Actor.ID` before the attributes, so a bounded scan
 * finds them. The attributes are lost, so a `start` or a `rename` is resolved
 * by an inspection of the container (a start hint: the inspection has the
 * name, labels and PID; a rename's hint `resolvesTo: 'renamed'`, so it
 * becomes the `renamed` the event told, with the inspected name), a `die`
 * becomes an exit without its code, and the rest map as usual. Throws a `decode` error when the head names no
 * container. Pure.
 * @internal
 */
export function normalizeOversizedDockerEvent(head: string, fallbackTime: number): DockerEventResult {
  const text = head.slice(0, OVERSIZED_EVENT_HEAD);
  const field = (pattern: RegExp): string | undefined => {
    const m = pattern.exec(text);
    if (m?.[1] === undefined) return undefined;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return undefined;
    }
  };
  const type = field(/"Type"\s*:\s*"((?:[^"\\]|\\.)*)"/);
  const action = field(/"Action"\s*:\s*"((?:[^"\\]|\\.)*)"/);
  const id = field(/"Actor"\s*:\s*\{\s*"ID"\s*:\s*"((?:[^"\\]|\\.)*)"/) ?? field(/"id"\s*:\s*"((?:[^"\\]|\\.)*)"/);
  if (id === undefined || id === '') throw decodeError(`docker event line too long to read, without a container id in its first ${OVERSIZED_EVENT_HEAD} characters`, text.slice(0, 200));
  if ((type ?? 'container') === 'container' && action === 'rename') return Object.freeze({ type: 'inspect', id, time: fallbackTime, resolvesTo: 'renamed' });
  return normalizeDockerEvent({ Type: type ?? 'container', Action: action, Actor: { ID: id, Attributes: {} } }, fallbackTime);
}

function stripSlash(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/**
 * Turns a container inspection (`GET /containers/{id}/json`, Docker or Podman)
 * into a frozen {@link Container}, or `null` when the container is not alive
 * (no PID, or neither running nor paused).
 *
 * Labels come from `Config.Labels` (may be null); a container whose
 * `HostConfig.Privileged` is true also gets the label {@link PRIVILEGED_LABEL}
 * with the empty value (its presence is the flag, as in the Go whalewatcher).
 * The project comes from `com.docker.compose.project`; the image from
 * `Config.Image` (the reference the container was created with, e.g.
 * `busybox:lab`); `createdAt` from `Created`, `startedAt` from
 * `State.StartedAt` (Docker's zero time `0001-01-01T00:00:00Z` means unknown);
 * `health` from `State.Health.Status` (none, empty or `none`: no health
 * check, so no health). The rucksack is
 * `packer(raw)`; a throwing packer leaves it undefined and is reported to
 * `onPackerError`.
 *
 * @throws EngineError `protocol` when `raw` is not a container inspection.
 *
 * @internal
 */
export function normalizeDockerInspect(raw: unknown, options: DockerInspectOptions = {}): Container | null {
  if (!isObject(raw) || raw instanceof Uint8Array) {
    throw new EngineError(DOCKER_ENGINE, 'protocol', 'the engine answered a container inspection with something that is not a Docker container: is this a Docker or Podman API endpoint?');
  }
  // a JSON object lacking what the picture needs is this container's trouble (decode), not the endpoint's
  const id = raw['Id'];
  const state = raw['State'];
  if (typeof id !== 'string' || id === '') throw kitDecodeError(DOCKER_ENGINE, 'a container inspection without a string Id', { raw: shortPreview(raw) });
  if (!isObject(state)) throw kitDecodeError(DOCKER_ENGINE, `the inspection of container ${id.slice(0, 12)} has no State object`, { raw: shortPreview(raw) });
  const pid = state['Pid'];
  const running = state['Running'];
  const paused = state['Paused'];
  if (typeof pid !== 'number' || !Number.isInteger(pid) || (running !== undefined && typeof running !== 'boolean') || (paused !== undefined && typeof paused !== 'boolean')) {
    throw kitDecodeError(DOCKER_ENGINE, `the inspection of container ${id.slice(0, 12)} has no integer State.Pid or a State.Running/Paused that is not a boolean`, { raw: shortPreview(state) });
  }
  if (pid <= 0 || !(running === true || paused === true)) return null;

  const config = raw['Config'];
  const rawLabels = isObject(config) ? config['Labels'] : undefined;
  const labels: Record<string, string> = Object.create(null);
  if (isObject(rawLabels)) {
    for (const key of Object.keys(rawLabels)) {
      const value = rawLabels[key];
      if (typeof value === 'string') labels[key] = value;
    }
  }
  const hostConfig = raw['HostConfig'];
  if (isObject(hostConfig) && hostConfig['Privileged'] === true) labels[PRIVILEGED_LABEL] = '';

  const name = typeof raw['Name'] === 'string' ? stripSlash(raw['Name']) : id;

  const image = isObject(config) && typeof config['Image'] === 'string' ? config['Image'] : undefined;
  const createdAt = dockerDate(raw['Created']);
  const startedAt = dockerDate(state['StartedAt']);
  const healthState = state['Health'];
  const health = isObject(healthState) ? healthOf(healthState['Status']) : undefined;

  const rucksack = packRucksack(options.packer, raw, id, options.onPackerError);
  return newContainer({ id, name: name === '' ? id : name, labels, pid, paused, rucksack, image, createdAt, startedAt, health });
}

/** The top-level fields of a JSON object, each value cut short (a 1 MB label must not make a 1 MB message). */
function shortPreview(raw: Json): Json {
  const out: Json = Object.create(null) as Json;
  for (const key of Object.keys(raw).slice(0, 16)) {
    const v = raw[key];
    Object.defineProperty(out, key, { value: typeof v === 'object' && v !== null ? (Array.isArray(v) ? '[…]' : '{…}') : v, enumerable: true });
  }
  return out;
}

/**
 * What one entry of the container list (`GET /containers/json`, Docker or
 * Podman) shows of a container, for a relist to tell whether the picture's
 * container still stands for it. @internal
 */
export interface DockerListEntry {
  readonly id: string;
  /** The primary name (the first of `Names` that is not a link alias), without the leading `/`. */
  readonly name?: string | undefined;
  /** From `State`: `paused`, or `running` (false); absent for anything else. */
  readonly paused?: boolean | undefined;
  /** From the parenthesised part of `Status` (`(healthy)`, `(health: starting)`); absent when it shows none. */
  readonly health?: ContainerHealth | undefined;
  /** `Created` in unix seconds. */
  readonly created?: number | undefined;
}

/** One list entry's identity, or `null` for an entry without an id. @internal */
export function dockerListEntry(raw: unknown): DockerListEntry | null {
  if (!isObject(raw) || typeof raw['Id'] !== 'string' || raw['Id'] === '') return null;
  const names = Array.isArray(raw['Names']) ? (raw['Names'] as unknown[]).filter((n): n is string => typeof n === 'string').map(stripSlash) : [];
  const state = raw['State'];
  const status = typeof raw['Status'] === 'string' ? raw['Status'] : '';
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1];
  return {
    id: raw['Id'],
    // legacy links add `/other/alias` names: the container's own has no slash
    name: names.find((n) => !n.includes('/')),
    paused: state === 'paused' ? true : state === 'running' ? false : undefined,
    health: health === undefined ? undefined : health === 'health: starting' ? 'starting' : (health as ContainerHealth),
    created: typeof raw['Created'] === 'number' ? raw['Created'] : undefined,
  };
}

/**
 * True when `entry` shows `known` unchanged: same name, pause state, health
 * (where the list shows them) and creation second. It cannot show a restart
 * that kept the id (same id, new PID: the list has no PID and `Status` only a
 * coarse uptime); the watcher's `start` events and the periodic full relist
 * cover that. @internal
 */
export function dockerListShowsUnchanged(entry: DockerListEntry, known: Container): boolean {
  if (entry.id !== known.id) return false;
  if (entry.name !== undefined && entry.name !== known.name) return false;
  if (entry.paused === undefined || entry.paused !== known.paused) return false;
  if (entry.health !== undefined && entry.health !== known.health) return false;
  if (entry.created !== undefined && known.createdAt !== undefined && Math.floor(known.createdAt.getTime() / 1000) !== entry.created) return false;
  return true;
}

/** An RFC 3339 time of an inspection, or undefined for none, garbage and Go's zero time (year 1). */
function dockerDate(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '' || value.startsWith('0001-')) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * The `label` filter of the event stream: the first `key=value` entry of the
 * `labels` option, or none. Measured on Podman 4.3: a key-only `label` filter
 * on `/events` delivers no event at all (on the list it works), while
 * `key=value` still delivers start, die, pause, unpause, rename, kill and
 * health_status of the matching containers. One entry needs no assumption on
 * how an engine combines several. Events of other containers that get through
 * are harmless: the kit inspects starts and matches all entries, and the
 * other events are about containers the picture does not hold.
 *
 * @internal
 */
export function eventLabelFilter(selectors: readonly LabelSelector[]): string | undefined {
  const s = selectors.find((x) => x.value !== undefined);
  return s === undefined ? undefined : `${s.key}=${s.value}`;
}

/**
 * The product behind a Docker API `/version` answer: Podman lists a component
 * named like `Podman Engine`; anything else is Docker.
 *
 * @internal
 */
export function dockerProduct(version: { readonly Components?: unknown }): 'docker' | 'podman' {
  const components = Array.isArray(version.Components) ? (version.Components as { Name?: unknown }[]) : [];
  return components.some((c) => typeof c?.Name === 'string' && /podman/i.test(c.Name)) ? 'podman' : 'docker';
}
