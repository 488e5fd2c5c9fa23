/**
 * Fake gRPC endpoints on unix sockets in temporary folders, for what a real
 * containerd cannot be made to do on demand: be some other gRPC server, send
 * truncated messages or frames, not speak gRPC at all, lose probe events,
 * hold a lookup back until the test lets it go, end its event stream. Real
 * servers (grpc-js, node:http2, node:net): the adapter under test talks to
 * them through grpc-js as usual.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type ServerHttp2Stream, createServer as createHttp2Server } from 'node:http2';
import { type Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
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

/** A fake endpoint; `close()` ends every connection, stops the server and removes its folder. */
export interface FakeSocket {
  /** `unix:///tmp/…/fake.sock` */
  readonly address: string;
  readonly socketPath: string;
  close(): Promise<void>;
}

async function tempSocket(prefix: string): Promise<{ dir: string; socketPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), `ww-fake-${prefix}-`));
  return { dir, socketPath: join(dir, 'fake.sock') };
}

/** A folder without any socket in it: nothing answers (ENOENT). */
export async function noSocket(): Promise<FakeSocket> {
  const { dir, socketPath } = await tempSocket('nosock');
  return { address: `unix://${socketPath}`, socketPath, close: () => rm(dir, { recursive: true, force: true }) };
}

/** A plain socket that answers every connection with text and hangs up: not HTTP/2, not gRPC. */
export async function notGrpcServer(): Promise<FakeSocket> {
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

async function grpcServer(prefix: string, services: ReadonlyArray<readonly [ServiceDefinition, UntypedServiceImplementation]>): Promise<FakeSocket & { readonly server: Server }> {
  const { dir, socketPath } = await tempSocket(prefix);
  const address = `unix://${socketPath}`;
  const server = new Server();
  for (const [definition, implementation] of services) server.addService(definition, implementation);
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

/** (a) A real gRPC server that implements nothing: UNIMPLEMENTED for every containerd call. */
export function unimplementedGrpcServer(): Promise<FakeSocket> {
  return grpcServer('unimpl', []);
}

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
  const { dir, socketPath } = await tempSocket('truncframe');
  const server = createHttp2Server();
  const streams = new Set<ServerHttp2Stream>();
  const cut = Buffer.from([0, 0, 0, 0, 100, 0x0a, 0x01]);
  server.on('stream', (stream, headers) => {
    streams.add(stream);
    stream.on('close', () => streams.delete(stream));
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
        for (const s of sessions) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      })()),
  };
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
  private socket!: FakeSocket & { readonly server: Server };

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
        callback(null, { containers: [...(this.state.get(ns)?.values() ?? [])].map((c) => c.record) });
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
        const list: Process[] = [];
        for (const c of this.state.get(ns)?.values() ?? []) if (c.task) list.push(c.task);
        callback(null, { tasks: list });
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

  close(): Promise<void> {
    for (const h of this.held.values()) h.release();
    return this.socket.close();
  }
}

function now(): { seconds: bigint; nanos: number } {
  const ms = Date.now();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}
