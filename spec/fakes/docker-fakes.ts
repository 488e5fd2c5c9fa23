/**
 * Fake Docker API endpoints on unix sockets in temporary folders, for what a
 * real engine cannot be made to do on demand: answer garbage, answer HTTP but
 * not as Docker, send a malformed event, end or stall its event stream, hold an
 * inspection back until the test lets it go. Real `node:http` / `node:net`
 * servers: the adapter under test talks to them through dockerode as usual.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, type Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOn as listen } from './listen-on.js';

/** A fake endpoint; `close()` ends every connection, stops the server and removes its folder. */
export interface FakeEndpoint {
  /** `unix:///tmp/…/fake.sock` */
  readonly url: string;
  readonly socketPath: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections currently open (the adapter must leave none behind). */
  readonly openConnections: number;
  close(): Promise<void>;
}

async function tempSocket(prefix: string): Promise<{ dir: string; socketPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), `ww-fake-${prefix}-`));
  return { dir, socketPath: join(dir, 'fake.sock') };
}

function tracked(server: Server | ReturnType<typeof createNetServer>): { sockets: Set<Socket>; count: () => number } {
  const sockets = new Set<Socket>();
  let count = 0;
  server.on('connection', (s: Socket) => {
    count += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return { sockets, count: () => count };
}

function closer(server: Server | ReturnType<typeof createNetServer>, sockets: Set<Socket>, dir: string): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () =>
    (closing ??= (async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    })());
}

/** (a) Not HTTP at all: writes junk to every connection and closes it. */
export async function garbageServer(): Promise<FakeEndpoint> {
  const { dir, socketPath } = await tempSocket('garbage');
  const server = createNetServer((s) => {
    s.on('error', () => undefined);
    s.resume(); // read (and drop) the request so the client's close is seen
    s.end('\x00\x01SSH-2.0-definitely-not-docker\r\n\xff\xfe garbage garbage\r\n\r\n');
  });
  const t = tracked(server);
  await listen(server, socketPath);
  return {
    url: `unix://${socketPath}`,
    socketPath,
    get connections() {
      return t.count();
    },
    get openConnections() {
      return t.sockets.size;
    },
    close: closer(server, t.sockets, dir),
  };
}

/** (b) HTTP, but not Docker: a web server answering 404 with an HTML page to everything. */
export async function notDockerServer(): Promise<FakeEndpoint> {
  const { dir, socketPath } = await tempSocket('html');
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<html><body><h1>404 Not Found</h1>nginx</body></html>');
  });
  const t = tracked(server);
  await listen(server, socketPath);
  return {
    url: `unix://${socketPath}`,
    socketPath,
    get connections() {
      return t.count();
    },
    get openConnections() {
      return t.sockets.size;
    },
    close: closer(server, t.sockets, dir),
  };
}

/** A container as the fake engine knows it. */
export interface FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly pid: number;
  readonly paused?: boolean;
  readonly running?: boolean;
  readonly labels?: Record<string, string> | null;
  readonly privileged?: boolean;
  /**
   * The rest of a real inspection (`Created`, `Mounts`, `GraphDriver`, `Config.Env`, …), answered with the
   * fields above laid over it: for bodies of a real engine's size (the scale benchmark's).
   */
  readonly inspect?: Readonly<Record<string, unknown>>;
}

/** Options of {@link fakeDocker}. */
export interface FakeDockerOptions {
  /** `docker` (default) or `podman` (/version components as Podman 4.3 reports them). */
  readonly product?: 'docker' | 'podman';
  /** Hold back the response headers of `/events` until {@link FakeDocker.releaseEventHeaders}. */
  readonly holdEventHeaders?: boolean;
  /** Answer `/events` with this content type instead of `application/json` (and no Api-Version header). */
  readonly eventContentType?: string;
  /** Mode of the socket file (e.g. 0o600 for the permission test). */
  readonly socketMode?: number;
  /** Answer inspections of unknown containers as Podman 4.3 does during a removal: HTTP 500 "… no such container". */
  readonly goneAs500?: boolean;
  /** Answer every inspection with this HTTP error (Docker-style JSON `{"message": …}`). */
  readonly inspectError?: { readonly status: number; readonly message: string };
  /** Listen on 127.0.0.1 (a random port) instead of a unix socket; the url is then `tcp://127.0.0.1:<port>`. */
  readonly tcp?: boolean;
  /** Serve TLS on tcp, demanding a client certificate signed by `ca` (as dockerd --tlsverify does). */
  readonly tls?: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
}

/** TLS material as Docker's conventions lay it out: `ca.pem`, `cert.pem`, `key.pem` (client) in `dir`, plus the server's. */
export interface TlsFiles {
  readonly dir: string;
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  close(): Promise<void>;
}

/** Makes a CA, a server certificate for 127.0.0.1 and a client certificate with openssl, in a temporary folder. */
export async function makeTlsFiles(): Promise<TlsFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'ww-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=whalewatcher test CA');
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [
    ['server', '/CN=127.0.0.1'],
    ['client', '/CN=client'],
  ] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}-cert.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  // Docker's client file names
  await writeFile(join(dir, 'cert.pem'), await readFile(join(dir, 'client-cert.pem')));
  await writeFile(join(dir, 'key.pem'), await readFile(join(dir, 'client-key.pem')));
  return {
    dir,
    ca: await readFile(join(dir, 'ca.pem')),
    serverCert: await readFile(join(dir, 'server-cert.pem')),
    serverKey: await readFile(join(dir, 'server-key.pem')),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A fake Docker engine whose event stream and inspections the test drives. */
export interface FakeDocker extends FakeEndpoint {
  /** Containers the engine lists and inspects (mutable). */
  readonly containers: Map<string, FakeContainer>;
  /** Event streams currently open. */
  readonly eventStreams: number;
  /** Query strings of the `/events` requests seen. */
  readonly eventQueries: readonly string[];
  /** Query strings of the `/containers/json` requests seen. */
  readonly listQueries: readonly string[];
  /** Requests answered or in flight so far, by kind (`other`: `/_ping`, `/info`, `/version`, unknown paths). */
  readonly requests: Readonly<Record<'list' | 'inspect' | 'events' | 'other', number>>;
  /** Inspections currently in flight (held or not yet answered), and the most ever at once. */
  readonly inspectsInFlight: number;
  readonly maxInspectsInFlight: number;
  /** Inspection requests that were aborted by the client before the fake answered them. */
  readonly inspectsAborted: number;
  /** Inspection requests received since the start (answered or not). */
  readonly inspectsSeen: number;
  /** Resolves once an event stream is open (headers sent, or requested when headers are held). */
  eventStreamOpened(): Promise<void>;
  /** Sends the held `/events` headers. */
  releaseEventHeaders(): void;
  /** Writes raw text to every open event stream. */
  write(text: string): void;
  /** Writes one event (object → one JSON line). */
  emit(event: unknown): void;
  /** Ends every event stream cleanly (end of the HTTP response). */
  endEvents(): void;
  /** Cuts every event stream's connection (as if the engine died). */
  cutEvents(): void;
  /** Holds back inspections of `id` until the returned function is called. */
  hold(id: string): () => void;
  /** Holds back every inspection until the returned function is called; each is then answered with the container as it is by then. */
  holdAll(): () => void;
  /**
   * Writes blank lines (which Docker clients skip) to every event stream, more
   * than the socket buffers hold, and resolves once they are written: by then
   * the client has read every event written before.
   */
  flushEvents(): Promise<void>;
  /** Makes every inspection hang forever (until the client gives up). */
  stallInspections(): void;
  /** Resolves once `n` inspections are in flight. */
  inspectsReached(n: number): Promise<void>;
  /** Per container: answer its inspections with this instead of the truth (removed: answered as usual again). */
  readonly inspectFaults: Map<string, InspectFault>;
  /** Inspections answered so far, by container id. */
  readonly inspections: ReadonlyMap<string, number>;
  /** Makes `/containers/json` hang until the returned function is called (then answered as the containers are by then). */
  stallList(): () => void;
  /** Writes bytes that break HTTP chunked framing to every event stream, below the response (as a broken proxy would). */
  breakFraming(): void;
  /**
   * The engine restarts: every connection is cut, the socket file deleted, `meanwhile` runs (change the
   * containers there), and a new server listens on a new socket file at the same path.
   */
  restart(meanwhile?: () => void | Promise<void>): Promise<void>;
}

/** How {@link FakeDocker.inspectFaults} answers one container's inspections: an HTTP status with a JSON body, or a 200 with this body. */
export type InspectFault = { readonly status: number; readonly body: unknown } | { readonly body: unknown };

/** A Docker `/events` line in the API 1.52 shape. */
export function dockerEvent(action: string, id: string, attributes: Record<string, string> = {}, timeNano = 1_700_000_000_000_000_000): unknown {
  return { Type: 'container', Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: Math.floor(timeNano / 1e9), timeNano };
}

function inspectBody(c: FakeContainer): unknown {
  const running = c.running ?? c.pid > 0;
  const rest = (c.inspect ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return {
    ...rest,
    Id: c.id,
    Name: `/${c.name}`,
    State: { ...rest['State'], Status: c.paused ? 'paused' : running ? 'running' : 'exited', Running: running, Paused: c.paused ?? false, Pid: running ? c.pid : 0 },
    HostConfig: { NetworkMode: 'none', ...rest['HostConfig'], Privileged: c.privileged ?? false },
    Config: { ...rest['Config'], Labels: c.labels === undefined ? {} : c.labels },
  };
}

/** Inspection bodies as JSON text, made once per container object (the fake's containers are replaced, never mutated). */
const inspectTexts = new WeakMap<FakeContainer, string>();
/** The fake's inspection of `c` as JSON text (made on the first call for that object, then kept with it). */
export function inspectText(c: FakeContainer): string {
  let text = inspectTexts.get(c);
  if (text === undefined) inspectTexts.set(c, (text = JSON.stringify(inspectBody(c))));
  return text;
}

function json(res: ServerResponse, status: number, body: unknown, text = JSON.stringify(body)): void {
  res.writeHead(status, { 'content-type': 'application/json', 'api-version': '1.45', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** (c, d, …) A fake Docker engine: `/_ping`, `/info`, `/version`, `/containers/json`, `/containers/{id}/json`, `/events`. */
export async function fakeDocker(options: FakeDockerOptions = {}): Promise<FakeDocker> {
  const { dir, socketPath } = await tempSocket('docker');
  const containers = new Map<string, FakeContainer>();
  const streams = new Set<ServerResponse>();
  const heldHeaders = new Set<ServerResponse>();
  const eventQueries: string[] = [];
  const listQueries: string[] = [];
  const requests = { list: 0, inspect: 0, events: 0, other: 0 };
  const holds = new Map<string, Promise<void>>();
  let holdingAll: Promise<void> | undefined;
  let stalled = false;
  let inFlight = 0;
  let seen = 0;
  let maxInFlight = 0;
  let aborted = 0;
  let streamWaiters: (() => void)[] = [];
  let inspectWaiters: { n: number; resolve: () => void }[] = [];
  const inspectFaults = new Map<string, InspectFault>();
  const inspections = new Map<string, number>();
  let listHeld: Promise<void> | undefined;

  const notifyInspects = () => {
    inspectWaiters = inspectWaiters.filter((w) => {
      if (inFlight >= w.n) w.resolve();
      return inFlight < w.n;
    });
  };
  const openStream = (res: ServerResponse) => {
    const headers: Record<string, string> = { 'content-type': options.eventContentType ?? 'application/json' };
    if (options.eventContentType === undefined) headers['api-version'] = '1.45';
    res.writeHead(200, headers);
    res.flushHeaders();
    streams.add(res);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/v[0-9.]+\//, '/');
    const m = /^\/containers\/([^/]+)\/json$/.exec(path);
    requests[path === '/events' ? 'events' : path === '/containers/json' ? 'list' : m?.[1] !== undefined ? 'inspect' : 'other'] += 1;
    if (path === '/_ping') {
      res.writeHead(200, { 'content-type': 'text/plain', 'api-version': '1.45' });
      res.end('OK');
    } else if (path === '/info') {
      json(res, 200, { ID: options.product === 'podman' ? 'b7c1e8a6-0000-4000-8000-000000000000' : 'FAKE:ENGINE:ID', ServerVersion: options.product === 'podman' ? '4.3.1' : '26.1.5', Containers: containers.size });
    } else if (path === '/version') {
      json(res, 200, {
        Version: options.product === 'podman' ? '4.3.1' : '26.1.5',
        ApiVersion: '1.41',
        Components: options.product === 'podman' ? [{ Name: 'Podman Engine', Version: '4.3.1' }] : [{ Name: 'Engine', Version: '26.1.5' }],
      });
    } else if (path === '/events') {
      eventQueries.push(url.search);
      res.on('close', () => {
        streams.delete(res);
        heldHeaders.delete(res);
      });
      if (options.holdEventHeaders) heldHeaders.add(res);
      else openStream(res);
      const waiters = streamWaiters;
      streamWaiters = [];
      for (const w of waiters) w();
    } else if (path === '/containers/json') {
      listQueries.push(url.search);
      if (listHeld !== undefined) {
        void listHeld.then(() => (res.destroyed ? undefined : handler(req, res)));
        // counted when the held request is answered (handler runs it again)
        listQueries.pop();
        requests.list -= 1;
        return;
      }
      json(
        res,
        200,
        [...containers.values()].filter((c) => (c.running ?? c.pid > 0) || c.paused).map((c) => ({ Id: c.id, Names: [`/${c.name}`], State: c.paused ? 'paused' : 'running' })),
      );
    } else if (m?.[1] !== undefined) {
      const id = decodeURIComponent(m[1]);
      inFlight += 1;
      seen += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      notifyInspects();
      let answered = false;
      res.on('close', () => {
        if (!answered) aborted += 1;
        inFlight -= 1;
      });
      const answer = () => {
        if (res.destroyed) return;
        answered = true;
        const c = containers.get(id) ?? [...containers.values()].find((x) => x.name === id);
        inspections.set(id, (inspections.get(id) ?? 0) + 1);
        const fault = inspectFaults.get(id);
        if (fault !== undefined) {
          json(res, 'status' in fault ? fault.status : 200, fault.body);
        } else if (options.inspectError) {
          json(res, options.inspectError.status, { message: options.inspectError.message });
        } else if (c === undefined && options.goneAs500) {
          json(res, 500, { cause: 'no such container', message: `container ${id} does not exist in database: no such container`, response: 500 });
        } else if (c === undefined) json(res, 404, { message: `No such container: ${id}` });
        else json(res, 200, undefined, inspectText(c));
      };
      if (stalled) return;
      const held = holds.get(id) ?? holdingAll;
      if (held) void held.then(answer);
      else answer();
    } else {
      json(res, 404, { message: 'page not found' });
    }
  };
  const server: Server = options.tls
    ? (createHttpsServer({ ...options.tls, requestCert: true, rejectUnauthorized: true }, handler) as unknown as Server)
    : createServer(handler);
  const t = tracked(server);
  let url = `unix://${socketPath}`;
  if (options.tcp || options.tls) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    url = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  } else {
    await listen(server, socketPath);
    if (options.socketMode !== undefined) await chmod(socketPath, options.socketMode);
  }
  const close = closer(server, t.sockets, dir);
  const restart = async (meanwhile?: () => void | Promise<void>) => {
    for (const s of t.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(socketPath, { force: true });
    await meanwhile?.();
    await listen(server, socketPath);
  };

  return {
    url,
    socketPath,
    containers,
    get connections() {
      return t.count();
    },
    get openConnections() {
      return t.sockets.size;
    },
    get eventStreams() {
      return streams.size + heldHeaders.size;
    },
    eventQueries,
    listQueries,
    requests,
    get inspectsInFlight() {
      return inFlight;
    },
    get maxInspectsInFlight() {
      return maxInFlight;
    },
    get inspectsAborted() {
      return aborted;
    },
    get inspectsSeen() {
      return seen;
    },
    eventStreamOpened() {
      if (streams.size + heldHeaders.size > 0) return Promise.resolve();
      return new Promise((resolve) => streamWaiters.push(resolve));
    },
    releaseEventHeaders() {
      for (const res of heldHeaders) openStream(res);
      heldHeaders.clear();
    },
    write(text: string) {
      for (const res of streams) res.write(text);
    },
    emit(event: unknown) {
      for (const res of streams) res.write(`${JSON.stringify(event)}\n`);
    },
    endEvents() {
      for (const res of streams) res.end();
    },
    cutEvents() {
      for (const res of streams) res.socket?.destroy();
    },
    hold(id: string) {
      let release!: () => void;
      holds.set(id, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        holds.delete(id);
        release();
      };
    },
    holdAll() {
      let release!: () => void;
      holdingAll = new Promise<void>((resolve) => (release = resolve));
      return () => {
        holdingAll = undefined;
        release();
      };
    },
    async flushEvents() {
      // 4 MiB of short blank lines: beyond any unix socket buffer (Linux: 208 KiB by default)
      const padding = `${' '.repeat(1023)}\n`.repeat(4096);
      await Promise.all([...streams].map((res) => new Promise<void>((resolve, reject) => res.write(padding, (err) => (err ? reject(err) : resolve())))));
    },
    stallInspections() {
      stalled = true;
    },
    inspectsReached(n: number) {
      if (inFlight >= n) return Promise.resolve();
      return new Promise((resolve) => inspectWaiters.push({ n, resolve }));
    },
    inspectFaults,
    inspections,
    stallList() {
      let release!: () => void;
      listHeld = new Promise<void>((resolve) => (release = resolve));
      return () => {
        listHeld = undefined;
        release();
      };
    },
    breakFraming() {
      for (const res of streams) res.socket?.write('zz\r\nnot a chunk\r\n');
    },
    restart,
    async close() {
      for (const release of [...holds.keys()].map((id) => id)) holds.delete(release);
      holdingAll = undefined;
      await close();
    },
  };
}
