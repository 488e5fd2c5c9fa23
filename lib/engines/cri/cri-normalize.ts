// Pure: CRI (runtime.v1) statuses and container events → whalewatcher's model.
// No I/O, no node:* imports; everything here is table-tested with frozen fixtures.

import type { EngineEvent, ExitDetails } from '../../core/engine.js';
import type { EngineError } from '../../errors.js';
import { type Container, PRIVILEGED_LABEL, newContainer, packRucksack } from '../../model/container.js';
import type { PackerOptions } from '../common/adapter-options.js';
import { type Json, decodeError as kitDecodeError, isObject } from '../common/decode.js';
import type { LabelSelector } from '../common/label-selector.js';
import type { StartHint } from '../common/start-hint.js';
import {
  type Container as CriListedContainer,
  type ContainerEventResponse,
  ContainerEventType,
  ContainerState,
  type ContainerStatus,
  type PodSandbox,
  type PodSandboxMetadata,
  PodSandboxState,
  type PodSandboxStatus,
} from '../../gen/cri/api.js';

/** @internal Engine name used in the errors of the CRI adapter. */
export const CRI_ENGINE = 'cri';

/**
 * Label that marks a pod sandbox: sandboxes are containers too, holding the
 * pod's namespaces. Its value is `''`, as in the Go whalewatcher: test for the
 * key (`CRI_SANDBOX_LABEL in c.labels`), not for a value.
 *
 * @example
 * ```ts
 * import { CRI_SANDBOX_LABEL, watchCri } from 'whalewatcher';
 * const ww = watchCri();
 * await ww.ready;
 * const sandboxes = ww.portfolio.containers.filter((c) => CRI_SANDBOX_LABEL in c.labels);
 * console.log(`${sandboxes.length} pods, ${ww.portfolio.total - sandboxes.length} containers`);
 * await ww.close();
 * ```
 */
export const CRI_SANDBOX_LABEL = 'io.kubernetes.sandbox';
/**
 * Label of a (non-sandbox) container naming the id of its pod's sandbox, when known.
 *
 * @example
 * ```ts
 * import { CRI_SANDBOX_ID_LABEL, watchCri } from 'whalewatcher';
 * const ww = watchCri();
 * await ww.ready;
 * for (const c of ww.portfolio.containers) {
 *   const sandboxId = c.labels[CRI_SANDBOX_ID_LABEL];
 *   if (sandboxId !== undefined) console.log(c.name, 'in pod sandbox', ww.portfolio.container(sandboxId)?.name);
 * }
 * await ww.close();
 * ```
 */
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
 *   if (CRI_SANDBOX_LABEL in c.labels) continue;
 *   const pod = `${c.labels[CRI_POD_NAMESPACE_LABEL] ?? ''}/${c.labels[CRI_POD_NAME_LABEL] ?? ''}`;
 *   pods.set(pod, [...(pods.get(pod) ?? []), c.name]);
 * }
 * console.log(pods);
 * await ww.close();
 * ```
 */
export const CRI_POD_NAME_LABEL = 'io.kubernetes.pod.name';
/**
 * Label with the pod's Kubernetes namespace.
 *
 * @example
 * ```ts
 * import { CRI_POD_NAMESPACE_LABEL, watchCri } from 'whalewatcher';
 * const ww = watchCri({ labels: [`${CRI_POD_NAMESPACE_LABEL}=kube-system`] }); // only kube-system's pods
 * await ww.ready;
 * console.log(ww.portfolio.total);
 * await ww.close();
 * ```
 */
export const CRI_POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
/**
 * Label with the pod's UID.
 *
 * @example
 * ```ts
 * import { CRI_POD_UID_LABEL, watchCri } from 'whalewatcher';
 * const ww = watchCri();
 * ww.lifecycle$.subscribe((e) => console.log(e.type, e.container.name, 'pod', e.container.labels[CRI_POD_UID_LABEL] ?? '?'));
 * ```
 */
export const CRI_POD_UID_LABEL = 'io.kubernetes.pod.uid';
/**
 * Label with the container's name inside its pod (CRI container metadata); on sandboxes the sandbox id, as in the Go whalewatcher.
 *
 * @example
 * ```ts
 * import { CRI_CONTAINER_NAME_LABEL, CRI_POD_NAME_LABEL, watchCri } from 'whalewatcher';
 * const ww = watchCri();
 * await ww.ready;
 * for (const c of ww.portfolio.containers) console.log(`${c.labels[CRI_POD_NAME_LABEL] ?? '?'}/${c.labels[CRI_CONTAINER_NAME_LABEL] ?? '?'}`);
 * await ww.close();
 * ```
 */
export const CRI_CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';
/**
 * Prefix of the labels that carry CRI annotations
 * (`io.kubernetes.annotation/<key>`), as the Go whalewatcher's code sets
 * them: whalewatcher has labels only, and the prefix keeps annotation keys
 * from clashing with label keys.
 *
 * @example
 * ```ts
 * import { CRI_ANNOTATION_PREFIX, watchCri } from 'whalewatcher';
 * const ww = watchCri();
 * await ww.ready;
 * for (const c of ww.portfolio.containers) {
 *   const annotations = Object.keys(c.labels).filter((k) => k.startsWith(CRI_ANNOTATION_PREFIX)).map((k) => k.slice(CRI_ANNOTATION_PREFIX.length));
 *   console.log(c.name, annotations);
 * }
 * await ww.close();
 * ```
 */
export const CRI_ANNOTATION_PREFIX = 'io.kubernetes.annotation/';

/** The key of the verbose status `info` map whose JSON value holds the `pid` (containerd, cri-o). */
const CRI_INFO_KEY = 'info';

/** What the packer of the CRI adapter gets: the raw (generated) records of one alive container or sandbox. @inline */
export type CriRaw = CriContainerRaw | CriSandboxRaw;

/** A container as the CRI adapter saw it: its verbose status and what is known about its pod. @inline */
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

/** A pod sandbox as the CRI adapter saw it. @inline */
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

/**
 * A CRI `CONTAINER_STOPPED_EVENT` of a container whose status the event did
 * not carry: the source asks for the container's status (in the engine's
 * order) for the exit details, then emits `exited`.
 *
 * @internal
 */
export interface CriExitHint {
  readonly type: 'exit-status';
  readonly id: string;
  readonly time: number;
}

/** @internal What one CRI container event turns into: an exit, a start to inspect, an exit whose details need a status call, or nothing (`null`). */
export type CriEventResult = EngineEvent | CriStartHint | CriExitHint | null;


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

/** A CRI nanosecond timestamp as a Date; undefined for zero or unreadable ones. */
function criDate(ns: bigint | number | string | null | undefined): Date | undefined {
  const ms = criTime(ns, 0);
  return ms > 0 ? new Date(ms) : undefined;
}

/**
 * How a container ended, from its `ContainerStatus`: `exit_code`,
 * `finished_at`, `reason` (containerd: `Completed`, `Error`, `OOMKilled`;
 * `OOMKilled` also sets `oomKilled`). Undefined while the status is not
 * EXITED (containerd may show a reason on a container still running).
 *
 * @internal
 */
export function criExitDetails(status: ContainerStatus): ExitDetails | undefined {
  if (status.state !== ContainerState.CONTAINER_EXITED) return undefined;
  const details: { -readonly [K in keyof ExitDetails]: ExitDetails[K] } = { code: status.exitCode };
  const time = criDate(status.finishedAt);
  if (time !== undefined) details.time = time;
  const reason = nonEmpty(status.reason);
  if (reason !== undefined) details.reason = reason;
  if (reason === 'OOMKilled') details.oomKilled = true;
  return Object.freeze(details);
}

/** Label keys the normaliser sets itself (from metadata, ids, the verbose info): a runtime's label selector cannot see them. */
const SYNTHESIZED_LABELS: ReadonlySet<string> = new Set([
  CRI_SANDBOX_LABEL,
  CRI_SANDBOX_ID_LABEL,
  CRI_POD_NAME_LABEL,
  CRI_POD_NAMESPACE_LABEL,
  CRI_POD_UID_LABEL,
  CRI_CONTAINER_NAME_LABEL,
  PRIVILEGED_LABEL,
]);

/**
 * The `labels` option as a CRI `label_selector` (ANDed exact matches): the
 * `key=value` entries on keys the runtime stores as they are. Key-only
 * entries, annotations (`io.kubernetes.annotation/…`) and the labels
 * whalewatcher sets itself (pod name, namespace, uid, container name,
 * sandbox marks, privileged) stay client-side; two values for one key match
 * nothing, which the kit finds out without the runtime's help.
 *
 * @internal
 */
export function criLabelSelector(selectors: readonly LabelSelector[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of selectors) {
    if (s.value === undefined || SYNTHESIZED_LABELS.has(s.key) || s.key.startsWith(CRI_ANNOTATION_PREFIX)) continue;
    if (Object.prototype.hasOwnProperty.call(out, s.key) && out[s.key] !== s.value) continue;
    out[s.key] = s.value;
  }
  return out;
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

/** The `pid` inside a verbose status's `info["info"]` JSON (a positive integer), or undefined.
 *
 * @internal
 */
export function criVerbosePid(info: Readonly<Record<string, string>> | undefined): number | undefined {
  return pidOf(criVerboseInfo(info));
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
 * - **labels**: the CRI labels; every annotation as `io.kubernetes.annotation/<key>`;
 *   `io.kubernetes.pod.name`, `.namespace`, `.uid` and
 *   `io.kubernetes.container.name` from the metadata where known;
 *   `io.kubernetes.sandbox.id` when the sandbox id is known; the privileged
 *   label when the verbose info's config says so.
 * - **pid**: `info["info"]` JSON `.pid`; `0` when the runtime reports none.
 * - **project**: the `com.docker.compose.project` label, else `''` (pods are
 *   not composer projects; group by the pod labels instead).
 * - **paused**: always false (CRI has no pause).
 * - **image**: the status's image spec (`image.image`: containerd 1.7 gives
 *   the image's first repo tag, e.g. `docker.io/library/busybox:lab`, while
 *   `image_ref` is its `sha256:` id); **createdAt**, **startedAt**: the
 *   status's nanosecond times.
 *
 * @internal
 */
export function normalizeCriContainer(raw: CriContainerRaw, options: CriContainerOptions = {}): Container | null {
  const status = raw.status;
  if (status.state !== ContainerState.CONTAINER_RUNNING || nonEmpty(status.id) === undefined) return null;
  const doc = criVerboseInfo(raw.info);
  return criContainer({
    id: status.id,
    metadataName: status.metadata?.name,
    labels: status.labels,
    annotations: status.annotations,
    sandbox: raw.sandbox,
    sandboxId: nonEmpty(raw.sandboxId) ?? (typeof doc?.['sandboxID'] === 'string' ? nonEmpty(doc['sandboxID']) : undefined),
    privileged: isPrivileged(doc),
    pid: pidOf(doc),
    rucksack: pack(options, raw, status.id),
    image: nonEmpty(status.image?.image) ?? nonEmpty(status.imageRef),
    createdAt: status.createdAt,
    startedAt: status.startedAt,
  });
}

/** What a CRI container's picture is made of, from its verbose status or from the lists and the task list. */
interface CriContainerFields {
  readonly id: string;
  readonly metadataName: string | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly annotations: Readonly<Record<string, string>> | undefined;
  readonly sandbox: PodSandboxMetadata | undefined;
  readonly sandboxId: string | undefined;
  readonly privileged: boolean;
  readonly pid: number | undefined;
  readonly rucksack: unknown;
  readonly image: string | undefined;
  readonly createdAt: bigint;
  readonly startedAt: bigint | undefined;
}

/** The one way a CRI container becomes a {@link Container} (name, labels, pid, image, times), whatever the source. */
function criContainer(f: CriContainerFields): Container {
  const labels: Record<string, string> = Object.create(null);
  copyStrings(labels, f.labels);
  copyStrings(labels, f.annotations, CRI_ANNOTATION_PREFIX);
  const pod = f.sandbox;
  const podName = nonEmpty(pod?.name) ?? nonEmpty(labels[CRI_POD_NAME_LABEL]);
  const podNamespace = nonEmpty(pod?.namespace) ?? nonEmpty(labels[CRI_POD_NAMESPACE_LABEL]);
  const podUid = nonEmpty(pod?.uid) ?? nonEmpty(labels[CRI_POD_UID_LABEL]);
  const containerName = nonEmpty(f.metadataName) ?? nonEmpty(labels[CRI_CONTAINER_NAME_LABEL]);
  if (podName !== undefined) labels[CRI_POD_NAME_LABEL] = podName;
  if (podNamespace !== undefined) labels[CRI_POD_NAMESPACE_LABEL] = podNamespace;
  if (podUid !== undefined) labels[CRI_POD_UID_LABEL] = podUid;
  if (containerName !== undefined) labels[CRI_CONTAINER_NAME_LABEL] = containerName;
  if (f.sandboxId !== undefined) labels[CRI_SANDBOX_ID_LABEL] = f.sandboxId;
  if (f.privileged) labels[PRIVILEGED_LABEL] = '';

  const inPod = podPath(podNamespace, podName);
  const name = containerName === undefined ? f.id : inPod === undefined ? containerName : `${inPod}/${containerName}`;
  return newContainer({
    id: f.id,
    name,
    labels,
    pid: f.pid ?? 0,
    rucksack: f.rucksack,
    image: f.image,
    createdAt: criDate(f.createdAt),
    startedAt: f.startedAt === undefined ? undefined : criDate(f.startedAt),
  });
}

/**
 * What containerd's own record of a CRI container or sandbox (namespace
 * `k8s.io`, `Containers.List`) adds to the CRI lists: the image name
 * (the pause image of a sandbox) and whether the CRI config asks for a
 * privileged container (the `io.cri-containerd.*.metadata` extension's JSON
 * `Metadata.Config`, the same config the verbose status shows).
 *
 * @internal
 */
export interface CriRecordDetails {
  readonly image: string | undefined;
  readonly privileged: boolean;
}

/** The extensions of containerd's CRI records that hold the CRI metadata (JSON, with the CRI config). */
const CRI_RECORD_METADATA = ['io.cri-containerd.container.metadata', 'io.cri-containerd.sandbox.metadata'] as const;

/**
 * {@link CriRecordDetails} of one containerd record; an unreadable extension
 * means not privileged (never throws).
 *
 * @internal
 */
export function criRecordDetails(record: { readonly image: string; readonly extensions: Readonly<Record<string, { readonly value: Uint8Array }>> }): CriRecordDetails {
  let privileged = false;
  for (const key of CRI_RECORD_METADATA) {
    const value = record.extensions[key]?.value;
    if (value === undefined) continue;
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(value));
      const meta = isObject(parsed) ? parsed['Metadata'] : undefined;
      const config = isObject(meta) ? meta['Config'] : undefined;
      privileged = isPrivileged(isObject(config) ? { config } : undefined);
    } catch {
      privileged = false;
    }
  }
  return Object.freeze({ image: nonEmpty(record.image), privileged });
}

/**
 * A running container from `ListContainers`, its PID from containerd's task
 * list instead of a verbose status: the same {@link Container} as
 * {@link normalizeCriContainer} makes; image and privileged from
 * {@link criRecordDetails} when known, else the listed image spec;
 * `startedAt` only when the caller knows it (only the status has it: the
 * adapter keeps those it saw). `null` when not running or without a PID.
 *
 * @internal
 */
export function normalizeCriListedContainer(
  listed: CriListedContainer,
  pid: number,
  sandbox: PodSandboxMetadata | undefined,
  details: CriRecordDetails | undefined,
  startedAt?: bigint,
): Container | null {
  if (listed.state !== ContainerState.CONTAINER_RUNNING || nonEmpty(listed.id) === undefined || !(pid > 0)) return null;
  return criContainer({
    id: listed.id,
    metadataName: listed.metadata?.name,
    labels: listed.labels,
    annotations: listed.annotations,
    sandbox,
    sandboxId: nonEmpty(listed.podSandboxId),
    privileged: details?.privileged ?? false,
    pid,
    rucksack: undefined,
    image: details?.image ?? nonEmpty(listed.image?.image) ?? nonEmpty(listed.imageRef),
    createdAt: listed.createdAt,
    startedAt,
  });
}

/**
 * Turns a CRI pod sandbox (its verbose `PodSandboxStatus`) into a frozen
 * {@link Container}, or `null` when it is not ready. Sandboxes are containers
 * too (their process holds the pod's namespaces).
 *
 * - **name**: `<pod-namespace>/<pod-name>` (the id when the metadata has no name).
 * - **labels**: the sandbox's CRI labels; annotations as `io.kubernetes.annotation/<key>`;
 *   `io.kubernetes.pod.name`, `.namespace`, `.uid`; `io.kubernetes.sandbox` = `''`
 *   and `io.kubernetes.container.name` = the sandbox id (both as the Go whalewatcher sets them).
 * - **pid**, **project**, **paused**: as for containers.
 * - **image**: the verbose info's `image` (the pause image), **createdAt** the
 *   status's; CRI has no start time of a sandbox.
 *
 * @internal
 */
export function normalizeCriSandbox(raw: CriSandboxRaw, options: CriContainerOptions = {}): Container | null {
  const status = raw.status;
  if (status.state !== PodSandboxState.SANDBOX_READY || nonEmpty(status.id) === undefined) return null;
  const doc = criVerboseInfo(raw.info);
  const image = doc?.['image'];
  return criSandbox(status, pidOf(doc), isPrivileged(doc), typeof image === 'string' ? image : undefined, pack(options, raw, status.id));
}

/**
 * A ready sandbox from `ListPodSandbox`, its PID from containerd's task list
 * instead of a verbose status: the same {@link Container} as
 * {@link normalizeCriSandbox} makes, image and privileged from
 * {@link criRecordDetails}. `null` when not ready or without a PID.
 *
 * @internal
 */
export function normalizeCriListedSandbox(listed: PodSandbox, pid: number, details: CriRecordDetails | undefined): Container | null {
  if (listed.state !== PodSandboxState.SANDBOX_READY || nonEmpty(listed.id) === undefined || !(pid > 0)) return null;
  return criSandbox(listed, pid, details?.privileged ?? false, details?.image, undefined);
}

/** The one way a CRI sandbox becomes a {@link Container}, from its status or its list entry. */
function criSandbox(
  s: Pick<PodSandboxStatus, 'id' | 'metadata' | 'labels' | 'annotations' | 'createdAt'>,
  pid: number | undefined,
  privileged: boolean,
  image: string | undefined,
  rucksack: unknown,
): Container {
  const labels: Record<string, string> = Object.create(null);
  copyStrings(labels, s.labels);
  copyStrings(labels, s.annotations, CRI_ANNOTATION_PREFIX);
  const podName = nonEmpty(s.metadata?.name) ?? nonEmpty(labels[CRI_POD_NAME_LABEL]);
  const podNamespace = nonEmpty(s.metadata?.namespace) ?? nonEmpty(labels[CRI_POD_NAMESPACE_LABEL]);
  const podUid = nonEmpty(s.metadata?.uid) ?? nonEmpty(labels[CRI_POD_UID_LABEL]);
  if (podName !== undefined) labels[CRI_POD_NAME_LABEL] = podName;
  if (podNamespace !== undefined) labels[CRI_POD_NAMESPACE_LABEL] = podNamespace;
  if (podUid !== undefined) labels[CRI_POD_UID_LABEL] = podUid;
  labels[CRI_CONTAINER_NAME_LABEL] = s.id;
  labels[CRI_SANDBOX_LABEL] = '';
  if (privileged) labels[PRIVILEGED_LABEL] = '';
  const name = podPath(podNamespace, podName) ?? s.id;
  return newContainer({ id: s.id, name, labels, pid: pid ?? 0, rucksack, image, createdAt: criDate(s.createdAt) });
}

function decodeError(message: string, raw: ContainerEventResponse): EngineError {
  return kitDecodeError(CRI_ENGINE, message, { raw });
}

/**
 * Turns one CRI `ContainerEventResponse` into an `exited` {@link EngineEvent}
 * (STOPPED and DELETED, of containers and sandboxes alike: an exit of an id
 * nobody knows is harmless), a {@link CriStartHint} (STARTED), or `null`
 * (CREATED, unknown types). An exit's details come from the event's status
 * of that container ({@link criExitDetails}); a container's STOPPED without
 * its status is a {@link CriExitHint} (the source asks for the status); a
 * sandbox's exit and a DELETED without an exited status carry none. Treat them as hints: containerd 1.7 may replay
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
  const pod = raw.podSandboxStatus;
  const podId = nonEmpty(pod?.id);
  if (type !== ContainerEventType.CONTAINER_STARTED_EVENT) {
    const status = (raw.containersStatuses ?? []).find((s) => s.id === id);
    const exit = status === undefined ? undefined : criExitDetails(status);
    if (exit !== undefined) return Object.freeze({ type: 'exited', id, time, exit });
    // a sandbox has no exit code; a deleted container is gone (its STOPPED had the details)
    if (type === ContainerEventType.CONTAINER_DELETED_EVENT || podId === id) return Object.freeze({ type: 'exited', id, time });
    return Object.freeze({ type: 'exit-status', id, time });
  }
  const kind: CriStartHint['kind'] =
    podId === id ? 'sandbox' : podId !== undefined || (raw.containersStatuses ?? []).some((s) => s.id === id) ? 'container' : 'unknown';
  const hint: { -readonly [K in keyof CriStartHint]: CriStartHint[K] } = { type: 'inspect', id, time, kind };
  if (kind === 'container') {
    if (podId !== undefined) hint.sandboxId = podId;
    if (pod?.metadata !== undefined) hint.sandbox = pod.metadata;
  }
  return Object.freeze(hint);
}
