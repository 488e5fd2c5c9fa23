import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { type Server, type Socket, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { VirtualTimeScheduler } from 'rxjs';
import { type HttpResponse, PipelinedHttpClient, type PipelinedHttpOptions } from '../../lib/http/pipelined-client.js';
import { eventually } from '../helpers/observe.js';

/** A server on a unix socket in a temporary folder, with its connections tracked. */
interface TestServer {
  readonly socketPath: string;
  /** Connections accepted so far, and open now. */
  readonly accepted: number;
  readonly open: number;
  close(): Promise<void>;
}

async function serve(server: Server, prefix: string): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), `ww-http-${prefix}-`));
  const socketPath = join(dir, 's.sock');
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (s: Socket) => {
    accepted += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A node:http server: answers `/n/<k>` with `k`, and counts requests in flight
 * (received, not yet answered) the way the engine sees them.
 */
async function httpServer(opts: { hold?: boolean; maxRequestsPerSocket?: number } = {}) {
  let inFlight = 0;
  let maxInFlight = 0;
  let aborted = 0;
  const seen: string[] = [];
  const held: (() => void)[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? '');
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let answered = false;
    res.on('close', () => {
      inFlight -= 1;
      if (!answered) aborted += 1;
    });
    const answer = () => {
      if (res.destroyed) return;
      answered = true;
      const body = JSON.stringify({ k: (req.url ?? '').replace('/n/', '') });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (opts.hold) held.push(answer);
    else setImmediate(answer); // a turn later, so that pipelined requests pile up
  });
  if (opts.maxRequestsPerSocket !== undefined) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
  const base = await serve(server, 'node');
  return {
    socketPath: base.socketPath,
    close: () => base.close(),
    get accepted() {
      return base.accepted;
    },
    get open() {
      return base.open;
    },
    seen,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get aborted() {
      return aborted;
    },
    releaseAll() {
      for (const a of held.splice(0)) a();
    },
  };
}

/**
 * A byte-level server: `script` gets each connection's number (1, 2, …), the
 * socket, and the request lines seen on it so far every time more arrive.
 */
async function rawServer(script: (conn: number, socket: Socket, requests: string[]) => void) {
  let n = 0;
  const server = createNetServer((socket) => {
    const conn = ++n;
    socket.on('error', () => undefined);
    let text = '';
    const requests: string[] = [];
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      let end: number;
      while ((end = text.indexOf('\r\n\r\n')) >= 0) {
        requests.push(text.slice(0, text.indexOf('\r\n')));
        text = text.slice(end + 4);
      }
      script(conn, socket, requests);
    });
  });
  return serve(server, 'raw');
}

const answerOf = (k: string) => {
  const body = JSON.stringify({ k });
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
};
const pathK = (line: string) => /GET \/n\/(\S+) /.exec(line)?.[1] ?? '?';

interface Outcome {
  readonly err?: Error & { code?: string; timeoutMs?: number };
  readonly res?: HttpResponse;
}

describe('PipelinedHttpClient (real servers on unix sockets)', function () {
  this.timeout(20_000);
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  function client(socketPath: string, options: PipelinedHttpOptions = {}): PipelinedHttpClient {
    const c = new PipelinedHttpClient({ socketPath }, options);
    cleanup.push(() => c.destroy());
    return c;
  }
  function track<T extends { close(): Promise<void> }>(s: T): T {
    cleanup.push(() => s.close());
    return s;
  }
  /** Sends GET /n/<k> for each k; resolves with every outcome once all are in. */
  function getAll(c: PipelinedHttpClient, keys: string[]): Promise<Outcome[]> {
    return Promise.all(keys.map((k) => new Promise<Outcome>((resolve) => c.get(`/n/${k}`, (err, res) => resolve(err ? { err } : { res: res! })))));
  }
  const body = (o: Outcome) => (o.res ? (JSON.parse(o.res.body.toString()) as { k: string }).k : `error ${o.err?.code}`);
  const keys = (n: number) => Array.from({ length: n }, (_, i) => String(i));

  it('answers many GETs, each with its own response, within maxInFlight and maxConnections; closes every connection after', async () => {
    const server = track(await httpServer());
    const c = client(server.socketPath, { maxInFlight: 8, maxConnections: 2 });
    const outcomes = await getAll(c, keys(100));
    expect(outcomes.map(body)).to.deep.equal(keys(100));
    expect(server.seen).to.have.length(100);
    expect(server.maxInFlight).to.be.within(2, 8);
    expect(server.accepted).to.be.within(1, 2);
    expect(c.connections).to.equal(0);
    await eventually(() => server.open === 0, 'the server to see every connection closed');
  });

  it('pipelines: requests go out before the earlier ones are answered', async () => {
    let answered = false;
    const server = track(
      await rawServer((_conn, socket, requests) => {
        // answer only once five requests sit on this one connection: impossible without pipelining
        if (requests.length === 5 && !answered) {
          answered = true;
          socket.write(requests.map((r) => answerOf(pathK(r))).join(''));
        }
      }),
    );
    const c = client(server.socketPath, { maxInFlight: 5, maxConnections: 1 });
    const outcomes = await getAll(c, keys(5));
    expect(outcomes.map(body)).to.deep.equal(keys(5));
    expect(server.accepted).to.equal(1);
  });

  it('a cancelled request still queued is never sent', async () => {
    const server = track(await httpServer({ hold: true }));
    const c = client(server.socketPath, { maxInFlight: 1 });
    const first = getAll(c, ['a']);
    let called = false;
    const cancel = c.get('/n/b', () => (called = true));
    await eventually(() => server.seen.length === 1, 'the first request');
    cancel();
    server.releaseAll();
    expect((await first).map(body)).to.deep.equal(['a']);
    await eventually(() => server.open === 0 && c.connections === 0, 'every connection closed');
    expect(server.seen).to.deep.equal(['/n/a']);
    expect(called).to.equal(false);
  });

  it('cancelling the last request a connection waits on closes it, so the server stops working on it', async () => {
    const server = track(await httpServer({ hold: true }));
    const c = client(server.socketPath);
    let called = false;
    const cancel = c.get('/n/x', () => (called = true));
    await eventually(() => server.inFlight === 1, 'the request in flight');
    cancel();
    await eventually(() => server.aborted === 1 && server.open === 0, 'the request aborted on the server');
    expect(c.connections).to.equal(0);
    expect(called).to.equal(false);
  });

  it('a server that ends connections after 3 requests (Connection: close, then 503s): the rest goes again on new connections', async () => {
    const server = track(await httpServer({ maxRequestsPerSocket: 3 }));
    const c = client(server.socketPath, { maxInFlight: 10, maxConnections: 1 });
    const outcomes = await getAll(c, keys(10));
    expect(outcomes.map(body)).to.deep.equal(keys(10));
    expect(outcomes.every((o) => o.res?.status === 200)).to.equal(true);
    expect(server.accepted).to.be.at.least(4);
  });

  it('a server that hangs up after one answer per connection: the unanswered ones go again, until all are answered', async () => {
    const server = track(
      await rawServer((_conn, socket, requests) => {
        // every connection: answer the first request, then hang up
        if (requests.length >= 1 && !socket.destroyed) {
          socket.write(answerOf(pathK(requests[0]!)));
          socket.destroy();
        }
      }),
    );
    const c = client(server.socketPath, { maxInFlight: 3, maxConnections: 1 });
    const outcomes = await getAll(c, ['a', 'b', 'c']);
    expect(outcomes.map(body)).to.deep.equal(['a', 'b', 'c']);
    expect(server.accepted).to.equal(3);
  });

  it('a server that closes before answering anything: ERR_WW_HTTP_CLOSED, nothing sent again', async () => {
    const server = track(await rawServer((_conn, socket) => socket.destroy()));
    const c = client(server.socketPath, { maxInFlight: 2, maxConnections: 1 });
    const outcomes = await getAll(c, ['a', 'b']);
    expect(outcomes.map(body)).to.deep.equal(['error ERR_WW_HTTP_CLOSED', 'error ERR_WW_HTTP_CLOSED']);
    expect(server.accepted).to.equal(1);
  });

  it('a response cut in the middle fails that request; the ones behind it go again', async () => {
    const server = track(
      await rawServer((conn, socket, requests) => {
        if (conn === 1 && requests.length === 3) {
          socket.write(answerOf('a') + answerOf('b').slice(0, -4));
          socket.destroy();
        } else if (conn === 2 && requests.length === 1) socket.write(answerOf(pathK(requests[0]!)));
      }),
    );
    const c = client(server.socketPath, { maxInFlight: 3, maxConnections: 1 });
    const outcomes = await getAll(c, ['a', 'b', 'c']);
    expect(outcomes.map(body)).to.deep.equal(['a', 'error ERR_WW_HTTP_CLOSED', 'c']);
    expect(outcomes[1]?.err?.message).to.match(/in the middle of a response/);
  });

  it('garbage instead of HTTP fails every request of the connection with ERR_WW_HTTP_PARSE', async () => {
    const server = track(await rawServer((_conn, socket) => socket.end('\x00\x01SSH-2.0-not-http\r\n\r\n')));
    const c = client(server.socketPath, { maxInFlight: 2, maxConnections: 1 });
    const outcomes = await getAll(c, ['a', 'b']);
    expect(outcomes.map(body)).to.deep.equal(['error ERR_WW_HTTP_PARSE', 'error ERR_WW_HTTP_PARSE']);
    expect(outcomes[0]?.err?.message).to.match(/not an HTTP\/1\.x status line/);
    await eventually(() => server.open === 0, 'the connection closed');
  });

  it('no socket: every request fails with ENOENT, queued ones too, without a connection storm', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ww-http-none-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const c = client(join(dir, 'missing.sock'), { maxInFlight: 2, maxConnections: 2 });
    const outcomes = await getAll(c, keys(6));
    expect(outcomes.map(body)).to.deep.equal(Array(6).fill('error ENOENT'));
    expect(c.connections).to.equal(0);
  });

  it('a connection silent for stallTimeout fails its requests with ERR_WW_HTTP_TIMEOUT; any progress restarts the wait (virtual time)', async () => {
    const T = 1_000;
    const scheduler = new VirtualTimeScheduler();
    /** Moves virtual time to `t`, running the timers due by then. */
    const advanceTo = (t: number) => {
      scheduler.schedule(() => undefined, t - scheduler.frame);
      scheduler.maxFrames = t;
      scheduler.flush();
    };
    let release!: () => void;
    const server = track(
      await rawServer((_conn, socket, requests) => {
        if (requests.length === 2) release = () => socket.write(answerOf('a')); // b is never answered
      }),
    );
    const c = client(server.socketPath, { maxConnections: 1, stallTimeout: T, scheduler });
    const outcomes: Record<string, Outcome> = {};
    c.get('/n/a', (err, res) => (outcomes['a'] = err ? { err } : { res: res! }));
    c.get('/n/b', (err, res) => (outcomes['b'] = err ? { err } : { res: res! }));
    await eventually(() => release, 'both requests at the server');
    advanceTo(0.6 * T);
    release();
    await eventually(() => outcomes['a'], 'the answer to a (progress at 0.6 T)');
    advanceTo(1.5 * T); // 1.5 T after the requests went out, but only 0.9 T after the last progress
    expect(outcomes['b']).to.equal(undefined);
    advanceTo(1.6 * T);
    expect(outcomes['b']?.err?.code).to.equal('ERR_WW_HTTP_TIMEOUT');
    expect(outcomes['b']?.err?.timeoutMs).to.equal(T);
    expect(c.connections).to.equal(0);
    await eventually(() => server.open === 0, 'the stalled connection closed');
  });

  it('destroy() fails what is pending with ERR_WW_HTTP_DESTROYED and closes every socket; later requests fail at once', async () => {
    const server = track(await httpServer({ hold: true }));
    const c = client(server.socketPath, { maxInFlight: 2 });
    const pending = getAll(c, keys(4));
    await eventually(() => server.inFlight === 2, 'two requests in flight');
    c.destroy();
    expect((await pending).map(body)).to.deep.equal(Array(4).fill('error ERR_WW_HTTP_DESTROYED'));
    await eventually(() => server.open === 0, 'every connection closed');
    let late: Outcome | undefined;
    c.get('/n/late', (err) => (late = { err: err! }));
    expect(late?.err?.code).to.equal('ERR_WW_HTTP_DESTROYED');
  });

  it('destroy() with 200,000 requests queued behind a full set in flight fails each of them exactly once', async () => {
    const server = track(await httpServer({ hold: true }));
    const c = client(server.socketPath, { maxInFlight: 4 });
    const n = 200_000;
    const calls = new Array<number>(n).fill(0);
    let destroyed = 0;
    for (let i = 0; i < n; i++) {
      c.get(`/n/${i}`, (err) => {
        calls[i]! += 1;
        if ((err as { code?: string } | null)?.code === 'ERR_WW_HTTP_DESTROYED') destroyed += 1;
      });
    }
    await eventually(() => server.inFlight === 4, 'a full set in flight');
    c.destroy();
    expect(destroyed).to.equal(n);
    expect(calls.findIndex((k) => k !== 1)).to.equal(-1);
    await eventually(() => server.open === 0, 'every connection closed');
  });

  it('a server that ends every connection after 3 answers, with a long queue: every request answered once, in its own answer', async () => {
    const server = track(await httpServer({ maxRequestsPerSocket: 3 }));
    const c = client(server.socketPath, { maxInFlight: 8, maxConnections: 2 });
    const outcomes = await getAll(c, keys(3_000));
    expect(outcomes.map(body)).to.deep.equal(keys(3_000));
    expect(outcomes.every((o) => o.res?.status === 200)).to.equal(true);
    expect(server.accepted).to.be.at.least(1_000);
  });

  describe('against servers that hang up in every way (fast-check)', () => {
    /** What the server does on one connection: answer `k` requests, then hang up, cut an answer short, or announce the close. */
    interface Behaviour {
      readonly k: number;
      readonly end: 'close' | 'cut' | 'announce';
      readonly chunked: boolean;
    }
    const behaviourArb: fc.Arbitrary<Behaviour> = fc.record({ k: fc.integer({ min: 0, max: 3 }), end: fc.constantFrom('close' as const, 'cut' as const, 'announce' as const), chunked: fc.boolean() });
    const response = (k: string, chunkedBody: boolean, close: boolean) => {
      const body = JSON.stringify({ k });
      const framing = chunkedBody ? `Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : `Content-Length: ${body.length}\r\n\r\n${body}`;
      return `HTTP/1.1 200 OK\r\n${close ? 'Connection: close\r\n' : ''}${framing}`;
    };

    it('every request gets exactly one callback: its own answer, or a typed error; all are answered when every connection answers something first', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(behaviourArb, { maxLength: 5 }),
          fc.integer({ min: 1, max: 24 }),
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 3 }),
          async (behaviours, n, maxInFlight, maxConnections) => {
            const server = await rawServer((conn, socket, requests) => {
              if (socket.destroyed) return;
              const b = behaviours[conn - 1] ?? { k: Infinity, end: 'close' as const, chunked: conn % 2 === 0 }; // later connections behave
              const answered = (socket as Socket & { answered?: number }).answered ?? 0;
              let a = answered;
              let out = '';
              for (; a < requests.length && a < b.k; a++) out += response(pathK(requests[a]!), b.chunked, b.end === 'announce' && a === b.k - 1);
              (socket as Socket & { answered?: number }).answered = a;
              if (out !== '') socket.write(out);
              if (a >= b.k) {
                if (b.end === 'cut' && requests.length > a) socket.write(response(pathK(requests[a]!), b.chunked, false).slice(0, -5));
                if (b.end === 'announce' && b.k > 0) socket.end();
                else socket.destroy();
              }
            });
            const c = new PipelinedHttpClient({ socketPath: server.socketPath }, { maxInFlight, maxConnections });
            try {
              const calls = new Map<string, Outcome[]>();
              const all = keys(n);
              await new Promise<void>((resolve) => {
                let left = n;
                for (const k of all) {
                  calls.set(k, []);
                  c.get(`/n/${k}`, (err, res) => {
                    calls.get(k)!.push(err ? { err } : { res: res! });
                    if (--left === 0) resolve();
                  });
                }
              });
              await new Promise((r) => setImmediate(r)); // a late second callback would show here
              for (const k of all) {
                const got = calls.get(k)!;
                expect(got, `callbacks for ${k}`).to.have.length(1);
                const o = got[0]!;
                if (o.res) expect(body(o)).to.equal(k);
                else expect(o.err?.code, o.err?.message).to.be.oneOf(['ERR_WW_HTTP_CLOSED', 'ECONNRESET', 'EPIPE']);
              }
              if (behaviours.every((b) => b.k >= 1 && b.end !== 'cut')) {
                expect(all.map((k) => body(calls.get(k)![0]!))).to.deep.equal(all);
              }
              expect(c.connections).to.equal(0);
              await eventually(() => server.open === 0, 'the server to see every connection closed');
            } finally {
              c.destroy();
              await server.close();
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  it('refuses a path that could end the request line', () => {
    const c = new PipelinedHttpClient({ socketPath: '/nonexistent' });
    try {
      for (const bad of ['/a b', '/a\r\nX: 1', 'a', '/ü']) expect(() => c.get(bad, () => undefined), JSON.stringify(bad)).to.throw(TypeError);
    } finally {
      c.destroy();
    }
  });
});
