// Pure: CRI (runtime.v1) statuses and container events → whalewatcher's model.
// No I/O, no node:* imports; everything here is table-tested with frozen fixtures.

import type { EngineEvent } from '../../core/engine.js';
import type { EngineError } from '../../errors.js';
import { type Container, PRIVILEGED_LABEL, newContainer, packRucksack } from '../../model/container.js';
import type { PackerOptions } from '../common/adapter-options.js';
import { type Json, decodeError as kitDecodeError, isObject } from '../common/decode.js';
import type { StartHint } from '../common/start-hint.js';
import {
  type ContainerEventResponse,
  ContainerEventType,
  ContainerState,
  type ContainerStatus,
  type PodSandboxMetadata,
  PodSandboxState,
  type PodSandboxStatus,
} from '../../gen/cri/api.js';

/** @internal Engine name used in the errors of the CRI adapter. */
export const CRI_ENGINE = 'cri';

/** Label that marks a pod sandbox (value `'true'`): sandboxes are containers too, holding the pod's namespaces. */
export const CRI_SANDBOX_LABEL = 'io.kubernetes.sandbox';
/** Label of a (non-sandbox) container naming the id of its pod's sandbox, when known. */
export const CRI_SANDBOX_ID_LABEL = 'io.kubernetes.sandbox.id';
/**
 * Label with the pod name (from the sandbox metadata), as the kubelet and the Go whalewatcher set it.
 *
 * @example
 * ```ts
 * import { CRI_POD_NAMESPACE_LABEL, CRI_POD_NAME_LABEL, CRI_SANDBOX_LABEL, watchCri } from 'whalewatcher';
 * const ww = watchCri();
 * await ww.ready;
 * // the containers of each pod, without the pods' sandboxes
 * const pods = new Map<string, string[]>();
 * for (const c of ww.portfolio.containers) {
 *   if (c.labels[CRI_SANDBOX_LABEL] === 'true') continue;
 *   const pod = `${c.labels[CRI_POD_NAMESPACE_LABEL] ?? ''}/${c.labels[CRI_POD_NAME_LABEL] ?? ''}`;
 *   pods.set(pod, [...(pods.get(pod) ?? []), c.name]);
 * }
 * console.log(pods);
 * await ww.close();
 * ```
 */
export const CRI_POD_NAME_LABEL = 'io.kubernetes.pod.name';
/** Label with the pod's Kubernetes namespace. */
export const CRI_POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
/** Label with the pod's UID. */
export const CRI_POD_UID_LABEL = 'io.kubernetes.pod.uid';
/** Label with the container's name inside its pod (CRI container metadata); not set on sandboxes. */
export const CRI_CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';
/**
 * Prefix of the labels that carry CRI annotations (`annotation.k8s/<key>`),
 * as in the Go whalewatcher: whalewatcher has labels only, and the prefix
 * keeps annotation keys from clashing with label keys.
 */
export const CRI_ANNOTATION_PREFIX = 'annotation.k8s/';

/** The key of the verbose status `info` map whose JSON value holds the `pid` (containerd, cri-o). */
const CRI_INFO_KEY = 'info';

/** What the packer of the CRI adapter gets: the raw (generated) records of one alive container or sandbox. */
export type CriRaw = CriContainerRaw | CriSandboxRaw;

/** A container as the CRI adapter saw it: its verbose status and what is known about its pod. */
export interface CriContainerRaw {
  readonly kind: 'container';
  /** From `ContainerStatus` (verbose). */
  readonly status: ContainerStatus;
  /** The verbose `info` map of `ContainerStatus` (`info["info"]` is a JSON document with the `pid`). */
  readonly info: Readonly<Record<string, string>>;
  /** The id of the container's pod sandbox, when known. */
  readonly sandboxId?: string | undefined;
  /** The metadata (name, namespace, uid) of the container's pod, when known. */
  readonly sandbox?: PodSandboxMetadata | undefined;
}

/** A pod sandbox as the CRI adapter saw it. */
export interface CriSandboxRaw {
  readonly kind: 'sandbox';
  /** From `PodSandboxStatus` (verbose). */
  readonly status: PodSandboxStatus;
  /** The verbose `info` map of `PodSandboxStatus`. */
  readonly info: Readonly<Record<string, string>>;
}

/** The packer options of the CRI adapter (part of `CriOptions`). */
export type CriContainerOptions = PackerOptions<CriRaw>;

/**
 * A CRI `CONTAINER_STARTED_EVENT`: the event carries no PID, and a replayed
 * event (containerd 1.7 hands events nobody received to the next subscriber)
 * may be stale, so the source must ask for the current verbose status before
 * it can emit `started` (keeping the engine's order).
 *
 * @internal
 */
export type CriStartHint = StartHint<{
  /** `sandbox` when the event's id is its pod sandbox's, `container` when it is one of the pod's containers, else `unknown`. */
  readonly kind: 'container' | 'sandbox' | 'unknown';
  /** The pod sandbox's id, from the event. */
  readonly sandboxId?: string | undefined;
  /** The pod's metadata, from the event. */
  readonly sandbox?: PodSandboxMetadata | undefined;
}>;

/** @internal What one CRI container event turns into: an exit, a start to inspect, or nothing (`null`). */
export type CriEventResult = EngineEvent | CriStartHint | null;


const NS_PER_US = 1000n;

/**
 * A CRI timestamp (nanoseconds since the epoch, an int64 that does not fit a
 * double: given as `bigint`, or as a decimal string or number) in milliseconds
 * since the epoch, with microsecond fractions; `fallback` for zero, negative or
 * unreadable values. Never throws.
 *
 * @internal
 */
export function criTime(ns: bigint | number | string | null | undefined, fallback: number): number {
  let value: bigint;
  try {
    if (typeof ns === 'bigint') value = ns;
    else if (typeof ns === 'string' && /^\d+$/.test(ns.trim())) value = BigInt(ns.trim());
    else if (typeof ns === 'number' && Number.isFinite(ns)) value = BigInt(Math.trunc(ns));
    else return fallback;
  } catch {
    return fallback;
  }
  if (value <= 0n) return fallback;
  return Number(value / NS_PER_US) / 1000;
}

/** The parsed JSON of the verbose `info["info"]`, or undefined when absent or not a JSON object.
 *
 * @internal
 */
export function criVerboseInfo(info: Readonly<Record<string, string>> | undefined): Json | undefined {
  const text = info?.[CRI_INFO_KEY];
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The `pid` inside the verbose `info["info"]` JSON (a positive integer), or undefined. */
function pidOf(doc: Json | undefined): number | undefined {
  const pid = doc?.['pid'];
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The `sandboxID` inside a container's verbose `info["info"]` JSON (containerd), or undefined.
 *
 * @internal
 */
export function criInfoSandboxId(info: Readonly<Record<string, string>> | undefined): string | undefined {
  const id = criVerboseInfo(info)?.['sandboxID'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** True when the verbose info's CRI config asks for a privileged container or sandbox. */
function isPrivileged(doc: Json | undefined): boolean {
  const config = doc?.['config'];
  const linux = isObject(config) ? config['linux'] : undefined;
  const security = isObject(linux) ? linux['security_context'] : undefined;
  return isObject(security) && security['privileged'] === true;
}

function copyStrings(into: Record<string, string>, from: Readonly<Record<string, string>> | undefined, prefix = ''): void {
  if (!isObject(from)) return;
  for (const key of Object.keys(from)) {
    const value = from[key];
    if (typeof value === 'string') into[prefix + key] = value;
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return typeof s === 'string' && s !== '' ? s : undefined;
}

/** `<pod-namespace>/<pod-name>`, or just whichever part is known. */
function podPath(namespace: string | undefined, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  return namespace === undefined ? name : `${namespace}/${name}`;
}

function pack(options: CriContainerOptions, raw: CriRaw, id: string): unknown {
  return options.packer === undefined ? undefined : packRucksack(options.packer, Object.freeze({ ...raw }), id, options.onPackerError);
}

/**
 * Turns a CRI container (its verbose `ContainerStatus` plus what is known about
 * its pod) into a frozen {@link Container}, or `null` when it is not running.
 *
 * - **name**: `<pod-namespace>/<pod-name>/<container-name>` (pod parts from the
 *   sandbox metadata, else from the kubelet's `io.kubernetes.pod.*` labels;
 *   without a pod just the container name; without any name the id).
 * - **labels**: the CRI labels; every annotation as `annotation.k8s/<key>`;
 *   `io.kubernetes.pod.name`, `.namespace`, `.uid` and
 *   `io.kubernetes.container.name` from the metadata where known;
 *   `io.kubernetes.sandbox.id` when the sandbox id is known; the privileged
 *   label when the verbose info's config says so.
 * - **pid**: `info["info"]` JSON `.pid`; `0` when the runtime reports none.
 * - **project**: the `com.docker.compose.project` label, else `''` (pods are
 *   not composer projects; group by the pod labels instead).
 * - **paused**: always false (CRI has no pause).
 *
 * @internal
 */
export function normalizeCriContainer(raw: CriContainerRaw, options: CriContainerOptions = {}): Container | null {
  const status = raw.status;
  if (status.state !== ContainerState.CONTAINER_RUNNING || nonEmpty(status.id) === undefined) return null;
  const doc = criVerboseInfo(raw.info);
  const labels: Record<string, string> = Object.create(null);
  copyStrings(labels, status.labels);
  copyStrings(labels, status.annotations, CRI_ANNOTATION_PREFIX);
  const pod = raw.sandbox;
  const podName = nonEmpty(pod?.name) ?? nonEmpty(labels[CRI_POD_NAME_LABEL]);
  const podNamespace = nonEmpty(pod?.namespace) ?? nonEmpty(labels[CRI_POD_NAMESPACE_LABEL]);
  const podUid = nonEmpty(pod?.uid) ?? nonEmpty(labels[CRI_POD_UID_LABEL]);
  const containerName = nonEmpty(status.metadata?.name) ?? nonEmpty(labels[CRI_CONTAINER_NAME_LABEL]);
  if (podName !== undefined) labels[CRI_POD_NAME_LABEL] = podName;
  if (podNamespace !== undefined) labels[CRI_POD_NAMESPACE_LABEL] = podNamespace;
  if (podUid !== undefined) labels[CRI_POD_UID_LABEL] = podUid;
  if (containerName !== undefined) labels[CRI_CONTAINER_NAME_LABEL] = containerName;
  const sandboxId = nonEmpty(raw.sandboxId) ?? (typeof doc?.['sandboxID'] === 'string' ? nonEmpty(doc['sandboxID']) : undefined);
  if (sandboxId !== undefined) labels[CRI_SANDBOX_ID_LABEL] = sandboxId;
  if (isPrivileged(doc)) labels[PRIVILEGED_LABEL] = '';

  const inPod = podPath(podNamespace, podName);
  const name = containerName === undefined ? status.id : inPod === undefined ? containerName : `${inPod}/${containerName}`;
  return newContainer({ id: status.id, name, labels, pid: pidOf(doc) ?? 0, rucksack: pack(options, raw, status.id) });
}

/**
 * Turns a CRI pod sandbox (its verbose `PodSandboxStatus`) into a frozen
 * {@link Container}, or `null` when it is not ready. Sandboxes are containers
 * too (their process holds the pod's namespaces).
 *
 * - **name**: `<pod-namespace>/<pod-name>` (the id when the metadata has no name).
 * - **labels**: the sandbox's CRI labels; annotations as `annotation.k8s/<key>`;
 *   `io.kubernetes.pod.name`, `.namespace`, `.uid`; `io.kubernetes.sandbox` = `'true'`.
 * - **pid**, **project**, **paused**: as for containers.
 *
 * @internal
 */
export function normalizeCriSandbox(raw: CriSandboxRaw, options: CriContainerOptions = {}): Container | null {
  const status = raw.status;
  if (status.state !== PodSandboxState.SANDBOX_READY || nonEmpty(status.id) === undefined) return null;
  const doc = criVerboseInfo(raw.info);
  const labels: Record<string, string> = Object.create(null);
  copyStrings(labels, status.labels);
  copyStrings(labels, status.annotations, CRI_ANNOTATION_PREFIX);
  const podName = nonEmpty(status.metadata?.name) ?? nonEmpty(labels[CRI_POD_NAME_LABEL]);
  const podNamespace = nonEmpty(status.metadata?.namespace) ?? nonEmpty(labels[CRI_POD_NAMESPACE_LABEL]);
  const podUid = nonEmpty(status.metadata?.uid) ?? nonEmpty(labels[CRI_POD_UID_LABEL]);
  if (podName !== undefined) labels[CRI_POD_NAME_LABEL] = podName;
  if (podNamespace !== undefined) labels[CRI_POD_NAMESPACE_LABEL] = podNamespace;
  if (podUid !== undefined) labels[CRI_POD_UID_LABEL] = podUid;
  labels[CRI_SANDBOX_LABEL] = 'true';
  if (isPrivileged(doc)) labels[PRIVILEGED_LABEL] = '';
  const name = podPath(podNamespace, podName) ?? status.id;
  return newContainer({ id: status.id, name, labels, pid: pidOf(doc) ?? 0, rucksack: pack(options, raw, status.id) });
}

function decodeError(message: string, raw: ContainerEventResponse): EngineError {
  return kitDecodeError(CRI_ENGINE, message, { raw });
}

/**
 * Turns one CRI `ContainerEventResponse` into an `exited` {@link EngineEvent}
 * (STOPPED and DELETED, of containers and sandboxes alike: an exit of an id
 * nobody knows is harmless), a {@link CriStartHint} (STARTED), or `null`
 * (CREATED, unknown types). Treat them as hints: containerd 1.7 may replay
 * stale events and lose others, which is why the adapter relists.
 *
 * A STARTED whose own id is its pod sandbox's id is a sandbox start
 * (containerd reports sandboxes this way); one whose id is among the event's
 * container statuses is a container start.
 *
 * @param fallbackTime ms since the epoch used when the event has no time.
 * @throws EngineError `decode` when a STARTED/STOPPED/DELETED event has no container id.
 *
 * @internal
 */
export function normalizeCriEvent(raw: ContainerEventResponse, fallbackTime = 0): CriEventResult {
  const type = raw.containerEventType;
  switch (type) {
    case ContainerEventType.CONTAINER_STARTED_EVENT:
    case ContainerEventType.CONTAINER_STOPPED_EVENT:
    case ContainerEventType.CONTAINER_DELETED_EVENT:
      break;
    default:
      return null;
  }
  const id = raw.containerId;
  if (typeof id !== 'string' || id === '') throw decodeError('CRI container event without a container id', raw);
  const time = criTime(raw.createdAt, fallbackTime);
  if (type !== ContainerEventType.CONTAINER_STARTED_EVENT) return Object.freeze({ type: 'exited', id, time });
  const pod = raw.podSandboxStatus;
  const podId = nonEmpty(pod?.id);
  const kind: CriStartHint['kind'] =
    podId === id ? 'sandbox' : podId !== undefined || (raw.containersStatuses ?? []).some((s) => s.id === id) ? 'container' : 'unknown';
  const hint: { -readonly [K in keyof CriStartHint]: CriStartHint[K] } = { type: 'inspect', id, time, kind };
  if (kind === 'container') {
    if (podId !== undefined) hint.sandboxId = podId;
    if (pod?.metadata !== undefined) hint.sandbox = pod.metadata;
  }
  return Object.freeze(hint);
}
