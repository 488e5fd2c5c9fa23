// Pure: raw Docker / Podman (Docker-compatible API) JSON → whalewatcher's model.
// No I/O, no node:* imports; everything here is table-tested with frozen fixtures.

import type { EngineEvent } from '../../core/engine.js';
import { EngineError } from '../../errors.js';
import { type Container, PRIVILEGED_LABEL, newContainer, packRucksack } from '../../model/container.js';
import type { PackerOptions } from '../common/adapter-options.js';
import { type Json, decodeError as kitDecodeError, isObject } from '../common/decode.js';
import type { StartHint } from '../common/start-hint.js';

/** @internal Engine name used in the errors of the Docker adapter. */
export const DOCKER_ENGINE = 'docker';

/**
 * The container event actions the adapter subscribes to (`/events` filter
 * `event=`). Podman 4.x matches the filter against its own action names before
 * it renames `died` to `die` for the Docker API, so `die` alone silently drops
 * every exit there: `died` must be in the filter too (Docker ignores it).
 *
 * @internal
 */
export const DOCKER_EVENT_ACTIONS: readonly string[] = Object.freeze(['start', 'die', 'died', 'pause', 'unpause', 'rename']);

/**
 * A Docker `start`: the event carries no PID, so the source must inspect the
 * container before it can emit `started` (keeping the engine's order).
 *
 * @internal
 */
export type DockerStartHint = StartHint;

/** @internal What one raw event turns into: an engine event, a start to inspect, or nothing (`null`). */
export type DockerEventResult = EngineEvent | DockerStartHint | null;

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

/**
 * Turns one decoded event of Docker's or Podman's `/events` stream into an
 * {@link EngineEvent}, a {@link DockerStartHint} for `start`, or `null` for
 * everything else (exec_*, exec, exec_died, init, cleanup, create, kill, stop,
 * destroy, remove, health_status, events of other object types…).
 *
 * Reads only `Type`, `Action`, `Actor.ID`, `Actor.Attributes.name` (rename),
 * `timeNano` and `time`: Docker API 1.52 dropped the legacy `status`, `id` and
 * `from`, and Podman has sent `died` without any labels, so exits go by id only.
 * An exec's end (`exec_die`, `exec_died`) is never a container exit.
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
  const action = raw['Action'];
  if (typeof action !== 'string') return null;
  switch (action) {
    case 'start':
    case 'die':
    case 'died':
    case 'pause':
    case 'unpause':
    case 'rename':
      break;
    default:
      return null;
  }
  const actor = raw['Actor'];
  const id = isObject(actor) ? actor['ID'] : undefined;
  if (typeof id !== 'string' || id === '') throw decodeError(`docker ${action} event without Actor.ID`, raw);
  const time = dockerEventTime(raw, fallbackTime);
  switch (action) {
    case 'start':
      return Object.freeze({ type: 'inspect', id, time });
    case 'die':
    case 'died':
      return Object.freeze({ type: 'exited', id, time });
    case 'pause':
      return Object.freeze({ type: 'paused', id, time });
    case 'unpause':
      return Object.freeze({ type: 'unpaused', id, time });
    case 'rename': {
      const attributes = isObject(actor) ? actor['Attributes'] : undefined;
      const name = isObject(attributes) ? attributes['name'] : undefined;
      if (typeof name !== 'string' || name === '') throw decodeError('docker rename event without Actor.Attributes.name', raw);
      return Object.freeze({ type: 'renamed', id, name: stripSlash(name), time });
    }
  }
  return null;
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
 * The project comes from `com.docker.compose.project`. The rucksack is
 * `packer(raw)`; a throwing packer leaves it undefined and is reported to
 * `onPackerError`.
 *
 * @throws EngineError `protocol` when `raw` is not a container inspection.
 *
 * @internal
 */
export function normalizeDockerInspect(raw: unknown, options: DockerInspectOptions = {}): Container | null {
  if (!isObject(raw) || typeof raw['Id'] !== 'string' || !isObject(raw['State'])) {
    throw new EngineError(DOCKER_ENGINE, 'protocol', 'the engine answered a container inspection with something that is not a Docker container: is this a Docker or Podman API endpoint?');
  }
  const id = raw['Id'];
  const state = raw['State'];
  const pid = state['Pid'];
  const running = state['Running'] === true;
  const paused = state['Paused'] === true;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || !(running || paused)) return null;

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

  const rucksack = packRucksack(options.packer, raw, id, options.onPackerError);
  return newContainer({ id, name: name === '' ? id : name, labels, pid, paused, rucksack });
}
