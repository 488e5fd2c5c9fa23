/**
 * Fake gRPC endpoints on unix sockets in temporary folders, for what a real containerd or CRI runtime
 * cannot be made to do on demand. Real servers (grpc-js, node:http2, node:net): the adapter under test
 * talks to them through grpc-js as usual.
 *
 * Shared by both engines: the socket and its teardown ({@link FakeSocket}), no socket at all, a plain
 * socket that does not speak gRPC, a gRPC server that implements nothing.
 *
 * containerd ({@link FakeContainerd} and the broken servers): be some other gRPC server, send truncated
 * messages or frames, lose probe events, hold a lookup back until the test lets it go, end its event
 * stream.
 *
 * CRI ({@link fakeCri}): answer GetContainerEvents with UNIMPLEMENTED while the rest works (like
 * containerd 1.6, but quickly and anywhere), replay a stale STARTED for a container that is long gone,
 * hold a status answer back until the spec lets it go, end the event stream; serve containerd's
 * native Tasks and Containers services in `k8s.io` on the same socket (as containerd does), or not,
 * or without some task (started after the task list), counting every call.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type ServerHttp2Stream, createServer as createHttp2Server } from 'node:http2';
import { type Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOn } from './listen-on.js';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { TaskExit, TaskPaused, TaskResumed, TaskStart } from '../../lib/gen/containerd/events/task.js';
import { type Container as ContainerRecord, type ContainersServer, ContainersService } from '../../lib/gen/containerd/services/containers/v1/containers.js';
import { type Envelope, type EventsServer, EventsService, type SubscribeRequest } from '../../lib/gen/containerd/services/events/v1/events.js';
import { type IntrospectionServer, IntrospectionService } from '../../lib/gen/containerd/services/introspection/v1/introspection.js';
import { type NamespacesServer, NamespacesService } from '../../lib/gen/containerd/services/namespaces/v1/namespace.js';
import { type TasksServer, TasksService } from '../../lib/gen/containerd/services/tasks/v1/tasks.js';
import { type VersionServer, VersionService } from '../../lib/gen/containerd/services/version/v1/version.js';
import { type Process, Status } from '../../lib/gen/containerd/types/task/task.js';
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

// ------------------------------------------------------------------------------------ sockets (shared)

/** A fake endpoint; `close()` (idempotent) ends every connection, stops the server and removes its folder. */
export interface FakeSocket {
  /** `unix:///tmp/…/fake.sock` */
  readonly address: string;
  readonly socketPath: string;
  close(): Promise<void>;
}

/**
 * A fresh folder for one fake's socket, and the {@link FakeSocket} whose close runs `stop` (ending the
 * server and its connections) once, then removes the folder.
 */
async function fakeSocket(prefix: string): Promise<{ socketPath: string; closedBy(stop: () => void | Promise<void>): FakeSocket }> {
  const dir = await mkdtemp(join(tmpdir(), `ww-fake-${prefix}-`));
  const socketPath = join(dir, 'fake.sock');
  return {
    socketPath,
    closedBy(stop) {
      let closing: Promise<void> | undefined;
      return {
        address: `unix://${socketPath}`,
        socketPath,
        close: () =>
          (closing ??= (async () => {
            await stop();
            await rm(dir, { recursive: true, force: true });
          })()),
      };
    },
  };
}

/** Listens on `socketPath`; a close destroys the connections in `open` first, then closes the server. */
async function listening(server: ReturnType<typeof createNetServer> | ReturnType<typeof createHttp2Server>, socketPath: string, open: Set<{ destroy(): void }>): Promise<() => Promise<void>> {
  await listenOn(server, socketPath);
  return async () => {
    for (const c of open) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** A folder without any socket in it: nothing answers (ENOENT). */
export async function noSocket(): Promise<FakeSocket> {
  return (await fakeSocket('nosock')).closedBy(() => undefined);
}

/** A plain socket that answers every connection with text and hangs up: not HTTP/2, not gRPC. */
export async function notGrpcServer(): Promise<FakeSocket> {
  const { socketPath, closedBy } = await fakeSocket('notgrpc');
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.end('220 hello, this is not gRPC\r\n');
  });
  return closedBy(await listening(server, socketPath, sockets));
}

/** A grpc-js server on a fake's socket: `restart` is an engine restarting (see {@link FakeContainerd.restart}). */
type GrpcFakeSocket = FakeSocket & { restart(meanwhile?: () => void | Promise<void>): Promise<void> };

/**
 * A grpc-js server with `services` on a fresh socket; a close shuts it down at once (every call ends). A
 * restart shuts it down, deletes the socket file, runs `meanwhile`, and serves the same services from a
 * new server on a new socket file at the same path.
 */
async function grpcServer(prefix: string, services: ReadonlyArray<readonly [ServiceDefinition, UntypedServiceImplementation]>): Promise<GrpcFakeSocket> {
  const { socketPath, closedBy } = await fakeSocket(prefix);
  let server: Server | undefined;
  const socket = closedBy(() => server?.forceShutdown());
  const serve = async () => {
    const next = new Server();
    for (const [definition, implementation] of services) next.addService(definition, implementation);
    server = next;
    await new Promise<void>((resolve, reject) => next.bindAsync(socket.address, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  };
  try {
    await serve();
  } catch (e) {
    await socket.close();
    throw e;
  }
  return {
    ...socket,
    async restart(meanwhile) {
      server?.forceShutdown();
      server = undefined;
      await rm(socketPath, { force: true });
      await meanwhile?.();
      await serve();
    },
  };
}

/** A real gRPC server that implements nothing: every containerd or CRI call is UNIMPLEMENTED. */
export function unimplementedGrpcServer(): Promise<FakeSocket> {
  return grpcServer('unimpl', []);
}

// ------------------------------------------------------------------------------------------- containerd

/** A protobuf message cut short: field 1 (length-delimited) announces 127 bytes, 1 follows. */
export const TRUNCATED_PROTOBUF: Buffer = Buffer.from([0x0a, 0x7f, 0x61]);

/** A service definition whose every response is serialized as {@link TRUNCATED_PROTOBUF}. */
function truncating(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) out[name] = { ...method, responseSerialize: () => TRUNCATED_PROTOBUF };
  return out as ServiceDefinition;
}

/**
 * (b1) A gRPC server with all the containerd services the adapter calls, whose
 * responses and event envelopes are well-framed gRPC messages holding truncated
 * protobuf: every decode fails.
 */
export function truncatedMessageServer(): Promise<FakeSocket> {
  const ok = <Res>(res: Res) => (_call: unknown, callback: (e: null, r: Res) => void) => callback(null, res);
  const events: EventsServer = {
    publish: ok({}),
    subscribe: (call) => {
      call.on('error', () => undefined);
      call.write({ namespace: 'default', topic: '/tasks/start' });
    },
  };
  const namespaces: NamespacesServer = { list: ok({ namespaces: [{ name: 'default', labels: {} }] }) };
  const containers: ContainersServer = { get: ok({}), list: ok({ containers: [] }) };
  const tasks: TasksServer = { get: ok({}), list: ok({ tasks: [] }) };
  const version: VersionServer = { version: ok({ version: '1.7.24', revision: 'x' }) };
  const introspection: IntrospectionServer = { server: ok({ uuid: 'u', pid: 1n, pidns: 1n, deprecations: [] }) };
  return grpcServer('truncmsg', [
    [truncating(EventsService), events],
    [truncating(NamespacesService), namespaces],
    [truncating(ContainersService), containers],
    [truncating(TasksService), tasks],
    [truncating(VersionService), version],
    [truncating(IntrospectionService), introspection],
  ]);
}

/**
 * (b2) An HTTP/2 server that answers every gRPC call with a frame cut short (the
 * 5-byte gRPC prefix announces 100 bytes, 2 follow) and then OK trailers;
 * event subscriptions get the cut frame and stay open.
 */
export async function truncatedFrameServer(): Promise<FakeSocket> {
  const { socketPath, closedBy } = await fakeSocket('truncframe');
  const server = createHttp2Server();
  const cut = Buffer.from([0, 0, 0, 0, 100, 0x0a, 0x01]);
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    stream.on('error', () => undefined);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    if (String(headers[':path']).endsWith('/Subscribe')) stream.write(cut);
    else stream.end(cut);
  });
  server.on('sessionError', () => undefined);
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  return closedBy(await listening(server, socketPath, sessions));
}

/** One container of the {@link FakeContainerd}. */
export interface FakeContainerSpec {
  readonly pid: number;
  readonly status?: Status;
  readonly labels?: Record<string, string>;
}

type Payload =
  | { readonly start: { containerId: string; pid: number } }
  | { readonly exit: { containerId: string; id: string; pid: number } }
  | { readonly paused: { containerId: string } }
  | { readonly resumed: { containerId: string } };

/**
 * A scriptable containerd: namespaces, containers and tasks held in memory, a
 * Subscribe stream the test writes envelopes to, probes echoed unless told to
 * lose some, lookups that can be held back, and a record of every call and of
 * the calls the client cancelled.
 */
export class FakeContainerd {
  /** namespace → container id → record + task */
  readonly state = new Map<string, Map<string, { record: ContainerRecord; task: Process | undefined }>>();
  /** Subscribe calls still open. */
  readonly subscribers = new Set<ServerWritableStream<SubscribeRequest, Envelope>>();
  /** Filters of every Subscribe call. */
  readonly filters: (readonly string[])[] = [];
  /** Filters of every Containers.List call (not applied). */
  readonly listFilters: (readonly string[])[] = [];
  /** `method namespace` of every call, in order. */
  readonly calls: string[] = [];
  /** `method` of every call the client cancelled. */
  readonly cancelled: string[] = [];
  /** Probes published so far. */
  publishes = 0;
  /** How many of the next probes to lose (not echo). */
  loseProbes = 0;
  /** Echo probes at all (false: a subscription that never delivers). */
  echoProbes = true;
  private readonly held = new Map<string, { released: Promise<void>; release: () => void }>();
  /** Set while `Containers.List` and `Tasks.List` are held back (see {@link FakeContainerd.stallLists}). */
  private listsHeld: Promise<void> | undefined;
  private socket!: GrpcFakeSocket;

  get address(): string {
    return this.socket.address;
  }

  static async start(): Promise<FakeContainerd> {
    const fake = new FakeContainerd();
    await fake.listen();
    return fake;
  }

  private record(method: string, call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): string {
    const ns = String(call.metadata.get('containerd-namespace')[0] ?? '-');
    this.calls.push(`${method} ${ns}`);
    call.on('cancelled', () => this.cancelled.push(method));
    return ns;
  }

  private async listen(): Promise<void> {
    const events: EventsServer = {
      publish: (call, callback) => {
        this.record('Publish', call);
        this.publishes += 1;
        callback(null, {});
        if (!this.echoProbes) return;
        if (this.loseProbes > 0) {
          this.loseProbes -= 1;
          return;
        }
        const ns = String(call.metadata.get('containerd-namespace')[0] ?? '');
        this.write({ timestamp: now(), namespace: ns, topic: call.request.topic, event: call.request.event });
      },
      subscribe: (call) => {
        this.record('Subscribe', call);
        this.filters.push(call.request.filters);
        this.subscribers.add(call);
        call.on('cancelled', () => this.subscribers.delete(call));
        call.on('error', () => undefined);
      },
    };
    const namespaces: NamespacesServer = {
      list: (call, callback) => {
        this.record('Namespaces.List', call);
        callback(null, { namespaces: [...this.state.keys()].map((name) => ({ name, labels: {} })) });
      },
    };
    const containers: ContainersServer = {
      get: (call, callback) => {
        const ns = this.record('Containers.Get', call);
        const hold = this.held.get(`${ns}/${call.request.id}`);
        void (hold?.released ?? Promise.resolve()).then(() => {
          const found = this.state.get(ns)?.get(call.request.id);
          if (found === undefined) callback({ code: status.NOT_FOUND, details: `container "${call.request.id}" in namespace "${ns}": not found` });
          else callback(null, { container: found.record });
        });
      },
      list: (call, callback) => {
        const ns = this.record('Containers.List', call);
        this.listFilters.push(call.request.filters);
        void (this.listsHeld ?? Promise.resolve()).then(() => callback(null, { containers: [...(this.state.get(ns)?.values() ?? [])].map((c) => c.record) }));
      },
    };
    const tasks: TasksServer = {
      get: (call, callback) => {
        const ns = this.record('Tasks.Get', call);
        const task = this.state.get(ns)?.get(call.request.containerId)?.task;
        if (task === undefined) callback({ code: status.NOT_FOUND, details: `no running task found: task ${call.request.containerId} not found` });
        else callback(null, { process: { ...task, containerId: call.request.containerId } });
      },
      list: (call, callback) => {
        const ns = this.record('Tasks.List', call);
        void (this.listsHeld ?? Promise.resolve()).then(() => {
          const list: Process[] = [];
          for (const c of this.state.get(ns)?.values() ?? []) if (c.task) list.push(c.task);
          callback(null, { tasks: list });
        });
      },
    };
    const version: VersionServer = {
      version: (call, callback) => {
        this.record('Version', call);
        callback(null, { version: '1.7.24-fake', revision: 'fake' });
      },
    };
    this.socket = await grpcServer('containerd', [
      [EventsService, events],
      [NamespacesService, namespaces],
      [ContainersService, containers],
      [TasksService, tasks],
      [VersionService, version],
    ]);
  }

  /** Adds (or replaces) a container and its task (no task with `status: undefined` and pid 0). */
  add(namespace: string, id: string, spec: FakeContainerSpec): void {
    let ns = this.state.get(namespace);
    if (ns === undefined) this.state.set(namespace, (ns = new Map()));
    const record = { id, labels: { ...spec.labels }, image: 'docker.io/library/busybox:lab', snapshotter: 'overlayfs', snapshotKey: id, extensions: {}, sandbox: '' } as ContainerRecord;
    const task: Process | undefined =
      spec.pid === 0
        ? undefined
        : { containerId: '', id, pid: spec.pid, status: spec.status ?? Status.RUNNING, stdin: '', stdout: '', stderr: '', terminal: false, exitStatus: 0 };
    ns.set(id, { record, task });
  }

  /** Sets the status of a container's task. */
  setStatus(namespace: string, id: string, s: Status): void {
    const c = this.state.get(namespace)?.get(id);
    if (c?.task) c.task = { ...c.task, status: s };
  }

  /** Removes a container and its task. */
  remove(namespace: string, id: string): void {
    this.state.get(namespace)?.delete(id);
  }

  /** Holds `Containers.Get` of that container back until `release()`. */
  hold(namespace: string, id: string): { release(): void } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const h = { released, release };
    this.held.set(`${namespace}/${id}`, h);
    return { release: () => h.release() };
  }

  /** Sends a task event to every subscriber. */
  emit(namespace: string, payload: Payload): void {
    let topic: string;
    let typeUrl: string;
    let value: Uint8Array;
    if ('start' in payload) {
      [topic, typeUrl, value] = ['/tasks/start', 'containerd.events.TaskStart', TaskStart.encode(payload.start).finish()];
    } else if ('exit' in payload) {
      [topic, typeUrl, value] = ['/tasks/exit', 'containerd.events.TaskExit', TaskExit.encode({ ...payload.exit, exitStatus: 0 }).finish()];
    } else if ('paused' in payload) {
      [topic, typeUrl, value] = ['/tasks/paused', 'containerd.events.TaskPaused', TaskPaused.encode(payload.paused).finish()];
    } else {
      [topic, typeUrl, value] = ['/tasks/resumed', 'containerd.events.TaskResumed', TaskResumed.encode(payload.resumed).finish()];
    }
    this.write({ timestamp: now(), namespace, topic, event: { typeUrl, value: Buffer.from(value) } });
  }

  /** Writes a raw envelope to every subscriber. */
  write(envelope: Envelope): void {
    for (const s of this.subscribers) s.write(envelope);
  }

  /** Ends every event stream cleanly (status OK). */
  endStreams(): void {
    for (const s of this.subscribers) s.end();
    this.subscribers.clear();
  }

  /** Fails every event stream with `code`. */
  failStreams(code: status, details: string): void {
    for (const s of this.subscribers) s.emit('error', { code, details });
    this.subscribers.clear();
  }

  /**
   * `Containers.List` and `Tasks.List` answer nothing (the calls stay open) until the returned function
   * is called: then the held ones answer from the state of that moment.
   */
  stallLists(): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    this.listsHeld = held;
    this.releaseLists = () => {
      // an earlier stall's release opens only its own gate, not a later one
      if (this.listsHeld === held) this.listsHeld = undefined;
      release();
    };
    return this.releaseLists;
  }

  private releaseLists: (() => void) | undefined;

  /**
   * containerd restarts: every connection is cut (the event streams with them), the socket file deleted,
   * `meanwhile` runs (change the containers there), and a new server listens on a new socket file at the
   * same path.
   */
  async restart(meanwhile?: () => void | Promise<void>): Promise<void> {
    this.subscribers.clear();
    await this.socket.restart(meanwhile);
  }

  close(): Promise<void> {
    for (const h of this.held.values()) h.release();
    this.releaseLists?.();
    return this.socket.close();
  }
}

function now(): { seconds: bigint; nanos: number } {
  const ms = Date.now();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

// ------------------------------------------------------------------------------------------------- CRI

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
  /**
   * containerd's native services on the same socket: `serve` answers Tasks.List and Containers.List
   * in namespace `k8s.io` from the fake's pods (a task per ready sandbox and running container, its
   * PID from `info`), `unimplemented` (the default) does not serve them, `refuse` answers
   * PERMISSION_DENIED. Either way only a Version with `runtimeName: 'containerd'` makes the adapter ask.
   */
  readonly native?: 'serve' | 'unimplemented' | 'refuse';
}

/** A `Version` answer as containerd 1.7's CRI plugin gives it (the runtime name the adapter looks for). */
export const CONTAINERD_CRI_VERSION: VersionResponse = Object.freeze({ version: '0.1.0', runtimeName: 'containerd', runtimeVersion: 'v1.7.24-fake', runtimeApiVersion: 'v1' });

/** A controllable fake CRI runtime. */
export interface FakeCri extends FakeSocket {
  readonly containers: Map<string, FakeCriContainer>;
  readonly sandboxes: Map<string, FakeCriSandbox>;
  /** Every call received, as `method` or `method:id`, in order. */
  readonly calls: string[];
  /** The label selector of every ListContainers and ListPodSandbox call, in order (the fake applies it, as runtimes do). */
  readonly selectors: Record<string, string>[];
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
  /** Ids left out of the native task list (as if started after it was made). */
  readonly untasked: Set<string>;
  /** Per container or sandbox id: its status calls fail with this gRPC error (removed: answered as usual again). */
  readonly statusFaults: Map<string, { readonly code: number; readonly details: string }>;
  /** ListContainers and ListPodSandbox answer nothing until the returned function is called (then from the state of that moment). */
  stallLists(): () => void;
  /** The runtime restarts: connections cut, socket file deleted, `meanwhile` runs, a new server on a new socket file at the same path. */
  restart(meanwhile?: () => void | Promise<void>): Promise<void>;
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
  const selectors: Record<string, string>[] = [];
  /** Records a list's label selector and matches labels against it (exact matches, ANDed). */
  const selects = (selector: Readonly<Record<string, string>> | undefined) => {
    const sel = { ...selector };
    selectors.push(sel);
    return (labels: Readonly<Record<string, string>>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  };
  const streams = new Set<ServerWritableStream<GetEventsRequest, ContainerEventResponse>>();
  const held = new Map<string, Promise<void>>();
  // Set while the lists are held back (stallLists), with what lets them go.
  let listsHeld: { readonly released: Promise<void>; readonly release: () => void } | undefined;
  const afterLists = (name: string, answer: () => void) => {
    calls.push(name);
    void (listsHeld?.released ?? Promise.resolve()).then(answer);
  };
  const statusFaults = new Map<string, { readonly code: number; readonly details: string }>();
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
    listContainers: (call, callback) => afterLists('listContainers', () => {
      const want = call.request.filter?.state?.state;
      const selected = selects(call.request.filter?.labelSelector);
      const out: CriListedContainer[] = [];
      for (const c of containers.values()) {
        if ((want !== undefined && c.status.state !== want) || !selected(c.status.labels)) continue;
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
    }),
    listPodSandbox: (call, callback) => afterLists('listPodSandbox', () => {
      const want = call.request.filter?.state?.state;
      const selected = selects(call.request.filter?.labelSelector);
      const out: PodSandbox[] = [];
      for (const s of sandboxes.values()) {
        if ((want !== undefined && s.status.state !== want) || !selected(s.status.labels)) continue;
        const { id, metadata, state, createdAt, labels, annotations, runtimeHandler } = s.status;
        out.push({ id, metadata, state, createdAt, labels, annotations, runtimeHandler });
      }
      callback(null, { items: out });
    }),
    containerStatus: (call, callback) => {
      const id = call.request.containerId;
      calls.push(`containerStatus:${id}`);
      void later(id).then(() => {
        const c = containers.get(id);
        const fault = statusFaults.get(id);
        if (fault !== undefined) callback(fault);
        else if (c === undefined) callback({ code: status.NOT_FOUND, details: `an error occurred when try to find container "${id}": not found` });
        else callback(null, { status: c.status, info: call.request.verbose ? c.info : {} });
      });
    },
    podSandboxStatus: (call, callback) => {
      const id = call.request.podSandboxId;
      calls.push(`podSandboxStatus:${id}`);
      void later(id).then(() => {
        const s = sandboxes.get(id);
        const fault = statusFaults.get(id);
        if (fault !== undefined) callback(fault);
        else if (s === undefined) callback({ code: status.NOT_FOUND, details: 'an error occurred when try to find sandbox: not found' });
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

  const untasked = new Set<string>();
  const pidIn = (info: Record<string, string>) => (JSON.parse(info['info'] ?? '{}') as { pid?: number }).pid ?? 0;
  const nativeAnswer = (name: string, call: ServerUnaryCall<unknown, unknown>): { code: status; details: string } | null => {
    calls.push(name);
    if (options.native === 'refuse') return { code: status.PERMISSION_DENIED, details: 'permission denied' };
    const ns = call.metadata.get('containerd-namespace')[0];
    if (ns !== 'k8s.io') return { code: status.FAILED_PRECONDITION, details: `fake CRI: namespace ${String(ns)} is not k8s.io` };
    return null;
  };
  const nativeTasks: Partial<TasksServer> = {
    list: (call, callback) => {
      const refused = nativeAnswer('tasks.list', call);
      if (refused !== null) return callback(refused);
      const tasks: Process[] = [];
      const add = (id: string, pid: number, running: boolean) => {
        if (!untasked.has(id)) tasks.push({ containerId: '', id, pid, status: running ? Status.RUNNING : Status.STOPPED, stdin: '', stdout: '', stderr: '', terminal: false, exitStatus: 0 });
      };
      for (const sb of sandboxes.values()) add(sb.status.id, pidIn(sb.info), sb.status.state === PodSandboxState.SANDBOX_READY);
      for (const c of containers.values()) add(c.status.id, pidIn(c.info), c.status.state === ContainerState.CONTAINER_RUNNING);
      callback(null, { tasks });
    },
  };
  const nativeContainers: Partial<ContainersServer> = {
    list: (call, callback) => {
      const refused = nativeAnswer('containers.list', call);
      if (refused !== null) return callback(refused);
      const meta = (kind: 'container' | 'sandbox', privileged: boolean) => ({
        [`io.cri-containerd.${kind}.metadata`]: { typeUrl: `github.com/containerd/cri/pkg/store/${kind}/Metadata`, value: Buffer.from(JSON.stringify({ Version: 'v1', Metadata: { Config: { linux: { security_context: { privileged } } } } })) },
      });
      const records: ContainerRecord[] = [];
      const privileged = (info: Record<string, string>) => JSON.stringify(JSON.parse(info['info'] ?? '{}')).includes('"privileged":true');
      for (const sb of sandboxes.values()) records.push({ id: sb.status.id, labels: { 'io.cri-containerd.kind': 'sandbox' }, image: String(JSON.parse(sb.info['info'] ?? '{}').image ?? ''), snapshotter: 'overlayfs', snapshotKey: sb.status.id, extensions: meta('sandbox', privileged(sb.info)), sandbox: '' } as ContainerRecord);
      for (const c of containers.values()) records.push({ id: c.status.id, labels: { 'io.cri-containerd.kind': 'container' }, image: c.status.image?.image ?? '', snapshotter: 'overlayfs', snapshotKey: c.status.id, extensions: meta('container', privileged(c.info)), sandbox: '' } as ContainerRecord);
      callback(null, { containers: records });
    },
  };
  const served: [ServiceDefinition, UntypedServiceImplementation][] = [[RuntimeServiceService, impl]];
  if (options.native === 'serve' || options.native === 'refuse') {
    served.push([TasksService, nativeTasks as UntypedServiceImplementation], [ContainersService, nativeContainers as UntypedServiceImplementation]);
  }
  const base = await grpcServer('cri', served);

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
    selectors,
    untasked,
    statusFaults,
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
    stallLists() {
      let resolve!: () => void;
      const released = new Promise<void>((r) => (resolve = r));
      const gate = {
        released,
        release: () => {
          if (listsHeld === gate) listsHeld = undefined;
          resolve();
        },
      };
      listsHeld = gate;
      return gate.release;
    },
    async restart(meanwhile) {
      streams.clear();
      await base.restart(meanwhile);
    },
    close() {
      listsHeld?.release();
      return base.close();
    },
  };
}
