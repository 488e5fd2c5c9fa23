/**
 * Helpers for the CRI specs: a real CRI runtime (containerd's CRI plugin)
 * driven over gRPC with the generated client, making host-network pods
 * (`namespace_options.network = NODE`, no hostname) whose names and labels
 * carry a per-lab run id, so that {@link CriLab.cleanup} stops and removes
 * exactly what the spec made, through CRI (which also unmounts the sandbox
 * /dev/shm). Plus the engine's truth, computed independently of the adapter.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import {
  ContainerState,
  NamespaceMode,
  NamespaceOption,
  PodSandboxConfig,
  PodSandboxState,
  RuntimeServiceClient,
} from '../../../lib/gen/cri/api.js';
import type { UnaryMethod } from '../../../lib/grpc/unary.js';
import type { Container } from '../../../lib/model/container.js';
import { type Truthful, byId } from '../../helpers/picture.js';
import { unaryCall } from '../../helpers/unary-call.js';

export { eventually, record, type Recording } from '../../helpers/observe.js';

/** The busybox image the harness imports into containerd's `k8s.io` namespace. */
export const CRI_LAB_IMAGE = 'docker.io/library/busybox:lab';
/** Label on every pod a lab makes: the lab's run id. */
export const CRI_LAB_LABEL = 'whalewatcher.spec/cri-lab';

const HOST_NETWORK = NamespaceOption.fromPartial({ network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD });

/** One alive container or sandbox, as the engine itself reports it. */
export interface Truth {
  readonly id: string;
  readonly pid: number;
}

/** A pod made by a lab. */
export interface LabPod {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly sandboxId: string;
  /** Container ids by container name. */
  readonly containers: Readonly<Record<string, string>>;
  readonly config: PodSandboxConfig;
}

const unary = <Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> => unaryCall(method, request);

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 5;
}

/**
 * A real CRI runtime driven over gRPC. Call {@link CriLab.cleanup} and
 * {@link CriLab.close} in an `after` hook.
 */
export class CriLab implements Truthful<Truth> {
  readonly runId = randomBytes(3).toString('hex');
  readonly client: RuntimeServiceClient;
  /** `unix:///…/containerd.sock` */
  readonly endpoint: string;
  private readonly logDir: string;
  private serial = 0;
  private readonly pods = new Map<string, LabPod>();

  constructor(socketPath: string) {
    this.endpoint = `unix://${socketPath.replace(/^unix:\/\//, '')}`;
    this.client = new RuntimeServiceClient(this.endpoint, credentials.createInsecure());
    this.logDir = join(process.env['WW_LAB'] ?? tmpdir(), `cri-podlogs-${this.runId}`);
    mkdirSync(this.logDir, { recursive: true });
  }

  /**
   * Runs a host-network pod sandbox and, in it, one started `sleep` container
   * per name. Pod labels and annotations (`pod-label`, `pod-note`) and
   * container labels and annotations (`ctr-label`, `ctr-note`) are set for the
   * normalisation checks.
   */
  async runPod(hint: string, containerNames: readonly string[] = ['main']): Promise<LabPod> {
    this.serial += 1;
    const name = `ww-${this.runId}-${hint}-${this.serial}`;
    const namespace = `ns-${this.runId}`;
    const uid = `uid-${this.runId}-${this.serial}`;
    const config = PodSandboxConfig.fromPartial({
      metadata: { name, uid, namespace, attempt: 0 },
      logDirectory: this.logDir,
      labels: { [CRI_LAB_LABEL]: this.runId, 'pod-label': hint },
      annotations: { 'pod-note': `note of ${hint}` },
      linux: { securityContext: { namespaceOptions: HOST_NETWORK } },
    });
    const { podSandboxId } = await unary(this.client.runPodSandbox.bind(this.client), { config, runtimeHandler: '' });
    const pod: { -readonly [K in keyof LabPod]: LabPod[K] } = { name, namespace, uid, sandboxId: podSandboxId, containers: {}, config };
    this.pods.set(podSandboxId, pod);
    const containers: Record<string, string> = {};
    for (const cname of containerNames) containers[cname] = await this.runContainer(pod, cname);
    pod.containers = Object.freeze(containers);
    return pod;
  }

  /** Creates and starts one more container in `pod` (default: `sleep`, no memory limit); resolves with its id. */
  async runContainer(pod: LabPod, name: string, options: { readonly command?: readonly string[]; readonly memoryLimit?: bigint; readonly labels?: Record<string, string> } = {}): Promise<string> {
    const { containerId } = await unary(this.client.createContainer.bind(this.client), {
      podSandboxId: pod.sandboxId,
      sandboxConfig: pod.config,
      config: {
        metadata: { name, attempt: 0 },
        image: { image: CRI_LAB_IMAGE, annotations: {}, userSpecifiedImage: '', runtimeHandler: '' },
        command: [...(options.command ?? ['/bin/sleep', '100000'])],
        args: [],
        workingDir: '',
        envs: [],
        labels: { 'ctr-label': name, ...options.labels },
        annotations: { 'ctr-note': `note of ${name}` },
        logPath: `${name}-${this.runId}.log`,
        stdin: false,
        stdinOnce: false,
        tty: false,
        linux: {
          resources: options.memoryLimit === undefined ? undefined : { memoryLimitInBytes: options.memoryLimit },
          securityContext: { privileged: false, namespaceOptions: HOST_NETWORK, readonlyRootfs: false },
        },
      },
    });
    await unary(this.client.startContainer.bind(this.client), { containerId });
    return containerId;
  }

  /** Stops a container (SIGKILL at once: busybox ignores SIGTERM as PID 1). */
  async stopContainer(id: string): Promise<void> {
    await unary(this.client.stopContainer.bind(this.client), { containerId: id, timeout: 0n });
  }

  async removeContainer(id: string): Promise<void> {
    await unary(this.client.removeContainer.bind(this.client), { containerId: id });
  }

  /** Stops the pod (its containers and sandbox) and removes it. */
  async removePod(pod: LabPod | string): Promise<void> {
    const id = typeof pod === 'string' ? pod : pod.sandboxId;
    try {
      await unary(this.client.stopPodSandbox.bind(this.client), { podSandboxId: id });
      await unary(this.client.removePodSandbox.bind(this.client), { podSandboxId: id });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.pods.delete(id);
  }

  /** Stops the pod's sandbox (and so its containers) without removing it. */
  async stopPod(pod: LabPod): Promise<void> {
    await unary(this.client.stopPodSandbox.bind(this.client), { podSandboxId: pod.sandboxId });
  }

  /** PID of a container (verbose status), or undefined when it is not running. */
  async containerPid(id: string): Promise<number | undefined> {
    const res = await unary(this.client.containerStatus.bind(this.client), { containerId: id, verbose: true });
    if (res.status?.state !== ContainerState.CONTAINER_RUNNING) return undefined;
    return pidOf(res.info);
  }

  /** The parts of a container {@link CriLab.truth} covers: id and pid. */
  seen(c: Container): Truth {
    return { id: c.id, pid: c.pid };
  }

  /** The engine's truth: running containers + ready sandboxes with their PIDs, sorted by id. */
  async truth(): Promise<Truth[]> {
    const [listed, pods] = await Promise.all([
      unary(this.client.listContainers.bind(this.client), { filter: { id: '', podSandboxId: '', labelSelector: {}, state: { state: ContainerState.CONTAINER_RUNNING } } }),
      unary(this.client.listPodSandbox.bind(this.client), { filter: { id: '', labelSelector: {}, state: { state: PodSandboxState.SANDBOX_READY } } }),
    ]);
    const out: Truth[] = [];
    for (const c of listed.containers) {
      try {
        const res = await unary(this.client.containerStatus.bind(this.client), { containerId: c.id, verbose: true });
        if (res.status?.state === ContainerState.CONTAINER_RUNNING) out.push({ id: c.id, pid: pidOf(res.info) ?? 0 });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    for (const p of pods.items) {
      try {
        const res = await unary(this.client.podSandboxStatus.bind(this.client), { podSandboxId: p.id, verbose: true });
        if (res.status?.state === PodSandboxState.SANDBOX_READY) out.push({ id: p.id, pid: pidOf(res.info) ?? 0 });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return byId(out);
  }

  /** Stops and removes (through CRI) every pod this lab made, and any other pod labelled with its run id. */
  async cleanup(): Promise<void> {
    const listed = await unary(this.client.listPodSandbox.bind(this.client), { filter: { id: '', labelSelector: { [CRI_LAB_LABEL]: this.runId } } });
    const ids = new Set([...this.pods.keys(), ...listed.items.map((p) => p.id)]);
    for (const id of ids) await this.removePod(id);
    rmSync(this.logDir, { recursive: true, force: true });
  }

  close(): void {
    this.client.close();
  }
}

function pidOf(info: Readonly<Record<string, string>>): number | undefined {
  try {
    const pid = (JSON.parse(info['info'] ?? '{}') as { pid?: unknown }).pid;
    return typeof pid === 'number' && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
