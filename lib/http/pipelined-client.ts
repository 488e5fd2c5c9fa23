// A small HTTP/1.1 client for many small GETs to one server: a few persistent
// connections, each with several requests pipelined (RFC 9112 §9.3.2), written
// in one go per turn of the event loop. Made for the Docker API's list and
// inspect calls, where Node's http.request and dockerode cost more CPU than the
// engine does to answer: this client needs about a fifth of their CPU per call.
//
// Connections are opened on demand and closed as soon as they have nothing to
// do, so no idle socket can go stale under us and nothing stays open between
// bursts. A connection that makes no progress for `stallTimeout` ms fails its
// requests. GETs are idempotent: requests a server left unanswered when it
// closed a connection that had answered others before are sent again on a new
// one (each round needs an answer, so this ends); a connection closed before
// any answer fails its requests.

import { type Socket, isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';
import { type HttpResponse, ResponseParser, type ResponseParserLimits } from './response-parser.js';

export type { HttpResponse } from './response-parser.js';

/** @internal Where the server is: a unix socket, or a tcp host and port (with TLS settings for https). */
export type HttpTarget =
  | { readonly socketPath: string }
  | {
      readonly hostname: string;
      readonly port: number;
      readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly rejectUnauthorized: boolean };
    };

/** @internal Options of {@link PipelinedHttpClient}. */
export interface PipelinedHttpOptions extends ResponseParserLimits {
  /** Most requests sent and not yet answered, over all connections (default 64). */
  readonly maxInFlight?: number;
  /** Most connections open at once (default 4). */
  readonly maxConnections?: number;
  /** Fail a connection's requests when it received nothing for this long while waiting for answers, in ms (default 30,000). */
  readonly stallTimeout?: number;
  /** Scheduler for the stall timer (default asyncScheduler). */
  readonly scheduler?: SchedulerLike;
  /** Host header (default `localhost` for unix sockets, else `hostname:port`). */
  readonly hostHeader?: string;
}

/** @internal Error codes the client fails requests with, besides the socket's own (ECONNREFUSED, EACCES, …) and the parser's. */
export type PipelinedHttpErrorCode = 'ERR_WW_HTTP_TIMEOUT' | 'ERR_WW_HTTP_CLOSED' | 'ERR_WW_HTTP_DESTROYED';

/** @internal A request failed for a reason of the connection, not of the server's answer. */
export class PipelinedHttpError extends Error {
  override readonly name = 'PipelinedHttpError';
  constructor(
    readonly code: PipelinedHttpErrorCode,
    message: string,
    /** For ERR_WW_HTTP_TIMEOUT: the stall timeout in ms. */
    readonly timeoutMs?: number,
  ) {
    super(message);
  }
}

/** @internal Called once per request, with the response or why there is none. Must not throw. */
export type HttpCallback = (err: Error | null, response?: HttpResponse) => void;

/** @internal Stops caring about a request: removes it from the queue, or discards its answer (closing its connection when nothing else waits on it). */
export type CancelRequest = () => void;

interface Request {
  readonly head: string;
  readonly callback: HttpCallback;
  /** queued → sent → done; cancelled any time before done. */
  state: 'queued' | 'sent' | 'done' | 'cancelled';
  conn: Connection | undefined;
}

class Connection {
  readonly socket: Socket;
  readonly parser: ResponseParser;
  /** Sent requests in the order their answers will come. */
  readonly inflight: Request[] = [];
  answered = 0;
  connected = false;
  closed = false;
  /** Bytes of request heads to write at the end of this dispatch. */
  out = '';
  lastProgress = 0;
  timer: Subscription | undefined;

  constructor(socket: Socket, onResponse: (r: HttpResponse) => void, limits: ResponseParserLimits) {
    this.socket = socket;
    this.parser = new ResponseParser(onResponse, limits);
  }
}

/**
 * Pipelining HTTP/1.1 GET client for one server. Not a general HTTP client:
 * GET only, no redirects, no compression, no request bodies.
 *
 * @internal
 */
export class PipelinedHttpClient {
  private readonly maxInFlight: number;
  private readonly maxConnections: number;
  private readonly depth: number;
  private readonly stallTimeout: number;
  private readonly scheduler: SchedulerLike;
  private readonly hostHeader: string;
  private readonly limits: ResponseParserLimits;
  private readonly queue: Request[] = [];
  private queueHead = 0;
  private readonly conns = new Set<Connection>();
  private inFlight = 0;
  private dispatchScheduled = false;
  private destroyed = false;

  constructor(
    private readonly target: HttpTarget,
    options: PipelinedHttpOptions = {},
  ) {
    this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 64));
    this.maxConnections = Math.max(1, Math.min(this.maxInFlight, Math.floor(options.maxConnections ?? 4)));
    this.depth = Math.ceil(this.maxInFlight / this.maxConnections);
    this.stallTimeout = options.stallTimeout ?? 30_000;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.hostHeader = options.hostHeader ?? ('socketPath' in target ? 'localhost' : hostPort(target.hostname, target.port));
    this.limits = { ...(options.maxHeadBytes === undefined ? {} : { maxHeadBytes: options.maxHeadBytes }), ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }) };
  }

  /** Connections open right now. */
  get connections(): number {
    return this.conns.size;
  }

  /**
   * Sends `GET path` (an origin-form path with its query, already encoded) as
   * soon as a connection has room. The callback runs exactly once unless the
   * request is cancelled first.
   */
  get(path: string, callback: HttpCallback): CancelRequest {
    if (!SAFE_PATH.test(path)) throw new TypeError(`not an encoded origin-form path: ${JSON.stringify(path.slice(0, 80))}`);
    const req: Request = { head: `GET ${path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n\r\n`, callback, state: 'queued', conn: undefined };
    if (this.destroyed) {
      req.state = 'done';
      callback(new PipelinedHttpError('ERR_WW_HTTP_DESTROYED', 'the client was closed'));
      return noop;
    }
    this.queue.push(req);
    this.scheduleDispatch();
    return () => this.cancel(req);
  }

  /** Closes every connection and fails every request not answered yet with ERR_WW_HTTP_DESTROYED. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // (loops, not push(...many): a spread of a long queue overflows the stack)
    const waiting: Request[] = [];
    for (const conn of [...this.conns]) for (const req of this.close(conn)) waiting.push(req);
    for (let i = this.queueHead; i < this.queue.length; i++) waiting.push(this.queue[i] as Request);
    this.queue.length = 0;
    this.queueHead = 0;
    const err = new PipelinedHttpError('ERR_WW_HTTP_DESTROYED', 'the client was closed');
    for (const req of waiting) this.finish(req, err);
  }

  private cancel(req: Request): void {
    if (req.state === 'done' || req.state === 'cancelled') return;
    const wasSent = req.state === 'sent';
    req.state = 'cancelled';
    const conn = req.conn;
    if (!wasSent || conn === undefined || conn.closed) {
      // skipped when the queue reaches it; the dispatch also closes connections left idle
      this.scheduleDispatch();
      return;
    }
    // Nobody waits on this connection any more: closing it tells the server to stop working on the rest.
    if (!conn.inflight.some((r) => r.state === 'sent')) {
      this.close(conn);
      this.scheduleDispatch();
    }
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled || this.destroyed) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Hands queued requests to connections (opening new ones up to the limit) and writes each connection's share at once. */
  private dispatch(): void {
    if (this.destroyed) return;
    const touched: Connection[] = [];
    while (this.queueHead < this.queue.length && this.inFlight < this.maxInFlight) {
      const req = this.queue[this.queueHead] as Request;
      if (req.state !== 'queued') {
        this.queueHead += 1;
        continue;
      }
      let conn = this.leastBusy();
      if ((conn === undefined || conn.inflight.length > 0) && this.conns.size < this.maxConnections) conn = this.open();
      if (conn === undefined || conn.inflight.length >= this.depth) break;
      this.queueHead += 1;
      req.state = 'sent';
      req.conn = conn;
      conn.inflight.push(req);
      this.inFlight += 1;
      if (conn.out === '') touched.push(conn);
      conn.out += req.head;
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (this.queueHead >= this.queue.length) {
      // nothing left to send: connections without answers to wait for close
      for (const conn of [...this.conns]) if (conn.inflight.length === 0 && conn.out === '') this.close(conn);
    }
    for (const conn of touched) {
      const out = conn.out;
      conn.out = '';
      if (conn.timer === undefined) this.watch(conn);
      conn.socket.write(out, 'latin1');
    }
  }

  private leastBusy(): Connection | undefined {
    let best: Connection | undefined;
    for (const conn of this.conns) {
      if (conn.closed) continue;
      if (best === undefined || conn.inflight.length < best.inflight.length) best = conn;
    }
    return best;
  }

  private open(): Connection {
    const target = this.target;
    let socket: Socket;
    if ('socketPath' in target) socket = netConnect({ path: target.socketPath });
    else if (target.tls !== undefined) {
      socket = tlsConnect({
        host: target.hostname,
        port: target.port,
        ...(isIP(target.hostname) === 0 ? { servername: target.hostname } : {}),
        ...target.tls,
      });
    } else socket = netConnect({ host: target.hostname, port: target.port });
    const conn: Connection = new Connection(socket, (response) => this.answer(conn, response), this.limits);
    this.conns.add(conn);
    socket.on('socketPath' in target || target.tls === undefined ? 'connect' : 'secureConnect', () => {
      conn.connected = true;
      if (!('socketPath' in target)) socket.setNoDelay(true);
    });
    socket.on('data', (chunk: Buffer) => this.receive(conn, chunk));
    socket.on('error', (err) => this.broken(conn, err));
    socket.on('close', () => this.broken(conn, undefined));
    return conn;
  }

  private receive(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    conn.lastProgress = this.scheduler.now();
    try {
      conn.parser.feed(chunk);
    } catch (err) {
      // not HTTP: every request on this connection fails with the parse error
      this.fail(conn, err as Error);
    }
  }

  private answer(conn: Connection, response: HttpResponse): void {
    if (conn.closed) return;
    const req = conn.inflight.shift();
    if (req === undefined) {
      this.close(conn); // a response nobody asked for: not a server to trust with more
      this.scheduleDispatch();
      return;
    }
    this.inFlight -= 1;
    conn.answered += 1;
    this.finish(req, null, response); // unless it was cancelled
    if (conn.closed) return; // the callback cancelled the rest
    if (!response.keepAlive) {
      // the server closes after this one: what else was sent here goes again on a fresh connection
      this.requeue(this.close(conn));
    } else if (conn.inflight.length === 0) {
      if (conn.timer !== undefined) {
        conn.timer.unsubscribe();
        conn.timer = undefined;
      }
      // idle: close it unless more work waits (a callback may just have queued some)
      if (this.queueHead >= this.queue.length) this.close(conn);
    }
    this.scheduleDispatch();
  }

  /** The socket failed or closed. */
  private broken(conn: Connection, err: Error | undefined): void {
    if (conn.closed) return;
    const { cut } = conn.parser.end(); // may complete a body framed by the close (and so call answer())
    if (conn.closed) return;
    const neverConnected = !conn.connected;
    const rest = this.close(conn);
    if (err !== undefined && neverConnected) {
      // the server is unreachable: no point trying the queue either
      const queued = this.queue.slice(this.queueHead);
      this.queue.length = 0;
      this.queueHead = 0;
      for (const req of [...rest, ...queued]) this.finish(req, err);
    } else if (conn.answered === 0) {
      const why = err ?? new PipelinedHttpError('ERR_WW_HTTP_CLOSED', cut ? 'the server closed the connection in the middle of a response' : 'the server closed the connection before answering');
      for (const req of rest) this.finish(req, why);
    } else {
      // The server answered here before: it may just end connections after a while (a reset is
      // what a server closing with our pipelined requests unread looks like). A response cut
      // short fails; the requests behind it got no byte of an answer and go again.
      if (cut) {
        const first = rest.shift();
        if (first !== undefined) this.finish(first, err ?? new PipelinedHttpError('ERR_WW_HTTP_CLOSED', 'the server closed the connection in the middle of a response'));
      }
      this.requeue(rest);
    }
    this.scheduleDispatch();
  }

  /** Every request of `conn` fails with `err`; the connection closes. */
  private fail(conn: Connection, err: Error): void {
    const rest = this.close(conn);
    for (const req of rest) this.finish(req, err);
    this.scheduleDispatch();
  }

  /** Puts unanswered requests back at the front of the queue, in order (cancelled ones are dropped). */
  private requeue(reqs: Request[]): void {
    const again: Request[] = [];
    for (const req of reqs) {
      if (req.state !== 'sent') continue;
      req.state = 'queued';
      req.conn = undefined;
      again.push(req);
    }
    if (again.length === 0) return;
    if (this.queueHead >= again.length) {
      // into the slots of requests already taken from the queue: no shifting of a long queue
      this.queueHead -= again.length;
      for (let i = 0; i < again.length; i++) this.queue[this.queueHead + i] = again[i] as Request;
    } else {
      const rest = this.queue.slice(this.queueHead);
      this.queue.length = 0;
      this.queueHead = 0;
      for (const req of again) this.queue.push(req);
      for (const req of rest) this.queue.push(req);
    }
    this.scheduleDispatch();
  }

  /**
   * Closes `conn` and frees its slots; returns the requests it was still
   * waiting on, whose callbacks are the caller's business.
   */
  private close(conn: Connection): Request[] {
    if (conn.closed) return [];
    conn.closed = true;
    this.conns.delete(conn);
    const rest = conn.inflight.splice(0);
    this.inFlight -= rest.length;
    if (conn.timer !== undefined) {
      conn.timer.unsubscribe();
      conn.timer = undefined;
    }
    conn.socket.destroy();
    return rest;
  }

  private finish(req: Request, err: Error | null, response?: HttpResponse): void {
    if (req.state === 'done' || req.state === 'cancelled') return;
    req.state = 'done';
    req.conn = undefined;
    req.callback(err, response);
  }

  /** Fails the connection's requests when it receives nothing for `stallTimeout` ms while they wait. */
  private watch(conn: Connection): void {
    conn.lastProgress = this.scheduler.now();
    const check = (delay: number): Subscription =>
      this.scheduler.schedule(() => {
        conn.timer = undefined;
        if (conn.closed || conn.inflight.length === 0) return;
        const idle = this.scheduler.now() - conn.lastProgress;
        if (idle < this.stallTimeout) conn.timer = check(this.stallTimeout - idle);
        else this.fail(conn, new PipelinedHttpError('ERR_WW_HTTP_TIMEOUT', `no answer within ${this.stallTimeout} ms`, this.stallTimeout));
      }, delay);
    conn.timer = check(this.stallTimeout);
  }
}

/** Origin-form: a slash, then visible ASCII only (no space, no CR/LF: nothing that could end the request line). */
const SAFE_PATH = /^\/[\x21-\x7e]*$/;

function hostPort(hostname: string, port: number): string {
  return `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
}

function noop(): void {
  // nothing to cancel
}
