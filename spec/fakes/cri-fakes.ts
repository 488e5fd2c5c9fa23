/**
 * Fake CRI endpoints on unix sockets in temporary folders, for what a real
 * runtime cannot be made to do on demand: answer GetContainerEvents with
 * UNIMPLEMENTED while the rest works (like containerd 1.6, but quickly and
 * anywhere), be a gRPC server that is not CRI, not speak gRPC at all, replay a
 * stale STARTED for a container that is long gone, hold a status answer back
 * until the spec lets it go, end the event stream. Real servers (grpc-js,
 * node:net): the adapter under test talks to them through grpc-js as usual.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, type ServerWritableStream, type sendUnaryData, status } from '@grpc/grpc-js';
import {
  type Container as CriListedContainer,
  type ContainerEventResponse,
  type ContainerEventType,
  ContainerState,
  ContainerStatus,
  type GetEventsRequest,
  type PodSandbox,
  PodSandboxState,
  PodSandboxStatus,
  type RuntimeServiceServer,
  RuntimeServiceService,
  type VersionResponse,
} from '../../lib/gen/cri/api.js';

/** A fake endpoint; `close()` ends every connection, stops the server and removes its folder. */
export interface FakeSocket {
  /** `unix:///tmp/…/fake.sock` */
  readonly address: string;
  readonly socketPath: string;
  close(): Promise<void>;
}

async function tempSocket(prefix: string): Promise<{ dir: string; socketPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), `ww-fake-cri-${prefix}-`));
  return { dir, socketPath: join(dir, 'fake.sock') };
}

/** A folder without any socket in it: nothing answers (ENOENT). */
export async function noCriSocket(): Promise<FakeSocket> {
  const { dir, socketPath } = await tempSocket('nosock');
  return { address: `unix://${socketPath}`, socketPath, close: () => rm(dir, { recursive: true, force: true }) };
}

/** A plain socket that answers every connection with text and hangs up: not HTTP/2, not gRPC. */
export async function notGrpcSocket(): Promise<FakeSocket> {
  const { dir, socketPath } = await tempSocket('notgrpc');
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.end('220 hello, this is not gRPC\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    address: `unix://${socketPath}`,
    socketPath,
    close: () =>
      (closing ??= (async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

async function grpcServer(prefix: string, setup: (server: Server) => void): Promise<FakeSocket & { readonly server: Server }> {
  const { dir, socketPath } = await tempSocket(prefix);
  const address = `unix://${socketPath}`;
  const server = new Server();
  setup(server);
  try {
    await new Promise<void>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  } catch (e) {
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    server,
    address,
    socketPath,
    close: () =>
      (closing ??= (async () => {
        server.forceShutdown();
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** A real gRPC server without any service: every CRI call is UNIMPLEMENTED ("does not implement the method"). */
export function notCriGrpcServer(): Promise<FakeSocket> {
  return grpcServer('notcri', () => undefined);
}

/** What {@link fakeCri} knows about one container. */
export interface FakeCriContainer {
  status: ContainerStatus;
  info: Record<string, string>;
  sandboxId: string;
}

/** What {@link fakeCri} knows about one sandbox. */
export interface FakeCriSandbox {
  status: PodSandboxStatus;
  info: Record<string, string>;
}

/** Options of {@link fakeCri}. */
export interface FakeCriOptions {
  /** `unimplemented`: GetContainerEvents answers UNIMPLEMENTED "method GetContainerEvents not implemented", like containerd 1.6. */
  readonly events?: 'stream' | 'unimplemented';
  readonly version?: VersionResponse;
}

/** A controllable fake CRI runtime. */
export interface FakeCri extends FakeSocket {
  readonly server: Server;
  readonly containers: Map<string, FakeCriContainer>;
  readonly sandboxes: Map<string, FakeCriSandbox>;
  /** Every call received, as `method` or `method:id`, in order. */
  readonly calls: string[];
  /** Number of event streams open right now. */
  readonly streams: number;
  /** Adds a ready sandbox and running containers with PIDs (`info["info"]` JSON). */
  addPod(sandboxId: string, pid: number, containers?: Readonly<Record<string, number>>): void;
  /** Marks a container exited (or removes it with `remove`). */
  stopContainer(id: string, remove?: boolean): void;
  /** Sends an event to every open stream. */
  emit(type: ContainerEventType, containerId: string, createdAt?: bigint): void;
  /** Ends every open event stream with OK. */
  endStreams(): void;
  /** Resolves once at least `n` event streams are open. */
  waitForStreams(n?: number): Promise<void>;
  /** Holds the status answers for `id` back until the returned function is called. */
  hold(id: string): () => void;
}

const FAKE_VERSION: VersionResponse = Object.freeze({ version: '0.1.0', runtimeName: 'fake-cri', runtimeVersion: '9.9.9', runtimeApiVersion: 'v1' });

function infoWith(pid: number, extra: Record<string, unknown> = {}): Record<string, string> {
  return { info: JSON.stringify({ pid, ...extra }) };
}

/** A fake CRI runtime (grpc-js) keeping its containers and sandboxes in maps the spec controls. */
export async function fakeCri(options: FakeCriOptions = {}): Promise<FakeCri> {
  const containers = new Map<string, FakeCriContainer>();
  const sandboxes = new Map<string, FakeCriSandbox>();
  const calls: string[] = [];
  const streams = new Set<ServerWritableStream<GetEventsRequest, ContainerEventResponse>>();
  const held = new Map<string, Promise<void>>();
  let streamWaiters: { n: number; resolve: () => void }[] = [];
  const notifyStreams = () => {
    streamWaiters = streamWaiters.filter((w) => {
      if (streams.size >= w.n) w.resolve();
      return streams.size < w.n;
    });
  };
  const unimplemented = (name: string) => (_call: unknown, callback: sendUnaryData<never>) =>
    callback({ code: status.UNIMPLEMENTED, details: `method ${name} not implemented` });
  const later = async (id: string) => {
    const gate = held.get(id);
    if (gate) await gate;
  };

  const impl: RuntimeServiceServer = {
    version: (_call, callback) => {
      calls.push('version');
      callback(null, options.version ?? FAKE_VERSION);
    },
    runPodSandbox: unimplemented('RunPodSandbox'),
    stopPodSandbox: unimplemented('StopPodSandbox'),
    removePodSandbox: unimplemented('RemovePodSandbox'),
    createContainer: unimplemented('CreateContainer'),
    startContainer: unimplemented('StartContainer'),
    stopContainer: unimplemented('StopContainer'),
    removeContainer: unimplemented('RemoveContainer'),
    listContainers: (call, callback) => {
      calls.push('listContainers');
      const want = call.request.filter?.state?.state;
      const out: CriListedContainer[] = [];
      for (const c of containers.values()) {
        if (want !== undefined && c.status.state !== want) continue;
        out.push({
          id: c.status.id,
          podSandboxId: c.sandboxId,
          metadata: c.status.metadata,
          image: c.status.image,
          imageRef: c.status.imageRef,
          state: c.status.state,
          createdAt: c.status.createdAt,
          labels: c.status.labels,
          annotations: c.status.annotations,
          imageId: '',
        });
      }
      callback(null, { containers: out });
    },
    listPodSandbox: (call, callback) => {
      calls.push('listPodSandbox');
      const want = call.request.filter?.state?.state;
      const out: PodSandbox[] = [];
      for (const s of sandboxes.values()) {
        if (want !== undefined && s.status.state !== want) continue;
        const { id, metadata, state, createdAt, labels, annotations, runtimeHandler } = s.status;
        out.push({ id, metadata, state, createdAt, labels, annotations, runtimeHandler });
      }
      callback(null, { items: out });
    },
    containerStatus: (call, callback) => {
      const id = call.request.containerId;
      calls.push(`containerStatus:${id}`);
      void later(id).then(() => {
        const c = containers.get(id);
        if (c === undefined) callback({ code: status.NOT_FOUND, details: `an error occurred when try to find container "${id}": not found` });
        else callback(null, { status: c.status, info: call.request.verbose ? c.info : {} });
      });
    },
    podSandboxStatus: (call, callback) => {
      const id = call.request.podSandboxId;
      calls.push(`podSandboxStatus:${id}`);
      void later(id).then(() => {
        const s = sandboxes.get(id);
        if (s === undefined) callback({ code: status.NOT_FOUND, details: 'an error occurred when try to find sandbox: not found' });
        else callback(null, { status: s.status, info: call.request.verbose ? s.info : {}, containersStatuses: [], timestamp: 0n });
      });
    },
    getContainerEvents: (call) => {
      calls.push('getContainerEvents');
      if (options.events === 'unimplemented') {
        call.emit('error', { code: status.UNIMPLEMENTED, details: 'method GetContainerEvents not implemented' });
        return;
      }
      streams.add(call);
      call.on('error', () => undefined);
      const gone = () => {
        streams.delete(call);
      };
      call.on('cancelled', gone);
      call.on('close', gone);
      call.on('finish', gone);
      notifyStreams();
    },
  };

  const base = await grpcServer('cri', (server) => server.addService(RuntimeServiceService, impl));

  const eventFor = (type: ContainerEventType, containerId: string, createdAt: bigint): ContainerEventResponse => {
    const sandbox = sandboxes.get(containerId);
    if (sandbox !== undefined) return { containerId, containerEventType: type, createdAt, podSandboxStatus: sandbox.status, containersStatuses: [] };
    const c = containers.get(containerId);
    const pod = c === undefined ? undefined : sandboxes.get(c.sandboxId);
    const siblings = [...containers.values()].filter((x) => c !== undefined && x.sandboxId === c.sandboxId).map((x) => x.status);
    return { containerId, containerEventType: type, createdAt, podSandboxStatus: pod?.status, containersStatuses: siblings };
  };

  return {
    ...base,
    containers,
    sandboxes,
    calls,
    get streams() {
      return streams.size;
    },
    addPod(sandboxId, pid, kids = {}) {
      sandboxes.set(sandboxId, {
        status: PodSandboxStatus.fromPartial({
          id: sandboxId,
          metadata: { name: `pod-${sandboxId}`, namespace: 'fake-ns', uid: `uid-${sandboxId}`, attempt: 0 },
          state: PodSandboxState.SANDBOX_READY,
          createdAt: 1_700_000_000_000_000_000n,
          labels: { app: sandboxId },
          annotations: { note: 'sandbox' },
        }),
        info: infoWith(pid, { processStatus: 'running' }),
      });
      for (const [id, cpid] of Object.entries(kids)) {
        containers.set(id, {
          sandboxId,
          status: ContainerStatus.fromPartial({
            id,
            metadata: { name: `ctr-${id}`, attempt: 0 },
            state: ContainerState.CONTAINER_RUNNING,
            createdAt: 1_700_000_000_000_000_000n,
            labels: { role: id },
            annotations: { note: 'container' },
          }),
          info: infoWith(cpid, { sandboxID: sandboxId }),
        });
      }
    },
    stopContainer(id, remove = false) {
      const c = containers.get(id);
      if (c === undefined) return;
      if (remove) containers.delete(id);
      else c.status = ContainerStatus.fromPartial({ ...c.status, state: ContainerState.CONTAINER_EXITED });
    },
    emit(type, containerId, createdAt = 1_795_437_639_177_161_136n) {
      const ev = eventFor(type, containerId, createdAt);
      for (const s of streams) s.write(ev);
    },
    endStreams() {
      for (const s of [...streams]) s.end();
      streams.clear();
    },
    waitForStreams(n = 1) {
      return new Promise<void>((resolve) => {
        streamWaiters.push({ n, resolve });
        notifyStreams();
      });
    },
    hold(id) {
      let release!: () => void;
      held.set(id, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        held.delete(id);
        release();
      };
    },
  };
}
