/**
 * An HTTP/2 proxy between a gRPC client under test and a fake gRPC server: a real `node:http2` server on
 * a temporary unix socket that forwards every call (headers, messages, trailers, cancellations) to the
 * server's socket over one upstream HTTP/2 connection per client connection, and that the spec can make
 * send what no grpc-js server sends by itself: on cue, the open calls of one method get bytes of the
 * spec's choosing in a DATA frame (a gRPC frame whose length prefix announces more than follows, or
 * garbage where a frame should be) instead of what the server sends them, and then end with OK
 * trailers, are reset, or stay open with nothing more.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type Http2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
  connect as connectHttp2,
  constants,
  createServer,
} from 'node:http2';
import { connect as connectNet } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOn } from './listen-on.js';

/** What a corrupted call does after its bytes: end with OK trailers, be reset (RST_STREAM INTERNAL_ERROR), or stay open, silent. */
export type AfterCorruption = 'end' | 'reset' | 'stay';

/** A gRPC frame cut short: the 5-byte prefix announces 100 bytes of message, 2 follow. */
export const TRUNCATED_FRAME: Buffer = Buffer.from([0, 0, 0, 0, 100, 0x0a, 0x01]);
/** A well-framed gRPC message that is no protobuf: field 1 (length-delimited) announces 127 bytes, 1 follows. */
export const UNPARSABLE_FRAME: Buffer = Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x7f, 0x61]);
/**
 * Garbage where a gRPC frame should be: text, whose first byte (`H`) is no compression flag and whose next
 * four bytes read as a length of about 1.4 GB.
 */
export const GARBAGE_FRAME: Buffer = Buffer.from('HTTP/1.1 502 Bad Gateway\r\n\r\n<html>oops</html>');

export interface GrpcProxy {
  /** `unix:///tmp/…/grpc-proxy.sock` */
  readonly address: string;
  /** The `:path` of every call forwarded, in order. */
  readonly paths: readonly string[];
  /** Calls open now whose `:path` ends with `suffix`. */
  open(suffix: string): number;
  /**
   * The calls open now whose `:path` ends with `suffix` get `bytes` (in one DATA frame) and nothing more
   * of what the server sends them; then `after`. Returns how many calls it hit.
   */
  corrupt(suffix: string, bytes: Buffer, after: AfterCorruption): number;
  /** Ends every connection (both sides), stops the server, removes its folder. */
  close(): Promise<void>;
}

/** One forwarded call. */
interface Forwarded {
  readonly path: string;
  readonly down: ServerHttp2Stream;
  readonly up: ClientHttp2Stream;
  /** True once the spec corrupted it: what the server sends is dropped from then on. */
  corrupted: boolean;
  /** The trailers to send when the client's side ends (the server's; OK for a corrupted call that ends). */
  trailers: OutgoingHttpHeaders;
}

/** Headers to pass on: without pseudo-headers (but `keep`) and symbols. */
function passOn(headers: IncomingHttpHeaders, keep: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && (!k.startsWith(':') || keep.includes(k))) out[k] = v;
  return out;
}

/** A proxy in front of the gRPC server listening on the unix socket `target` (a path, or `unix://…`). */
export async function grpcProxy(target: string): Promise<GrpcProxy> {
  const upstreamPath = target.replace(/^unix:\/\//, '');
  const dir = await mkdtemp(join(tmpdir(), 'ww-grpc-proxy-'));
  const socketPath = join(dir, 'grpc-proxy.sock');
  const paths: string[] = [];
  const calls = new Set<Forwarded>();
  const sessions = new Set<Http2Session>();

  const server = createServer();
  server.on('sessionError', () => undefined);
  server.on('session', (down) => {
    sessions.add(down);
    down.on('error', () => undefined);
    // one upstream connection per client connection, as a transparent proxy would
    const upstream: ClientHttp2Session = connectHttp2('http://localhost', { createConnection: () => connectNet(upstreamPath) });
    sessions.add(upstream);
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      sessions.delete(upstream);
      down.destroy();
    });
    down.on('close', () => {
      sessions.delete(down);
      upstream.destroy();
    });
    down.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const path = String(headers[':path']);
      paths.push(path);
      stream.on('error', () => undefined);
      if (upstream.destroyed || upstream.closed) {
        stream.close(constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      const up = upstream.request(passOn(headers, [':method', ':path', ':authority', ':scheme']));
      up.on('error', () => undefined);
      const call: Forwarded = { path, down: stream, up, corrupted: false, trailers: {} };
      calls.add(call);
      stream.pipe(up);
      up.on('response', (h, flags) => {
        if (stream.closed || call.corrupted) return;
        // a trailers-only answer (an error status at once) is one HEADERS frame with END_STREAM
        if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0) stream.respond(passOn(h, [':status']), { endStream: true });
        else stream.respond(passOn(h, [':status']), { waitForTrailers: true });
      });
      stream.on('wantTrailers', () => stream.sendTrailers(call.trailers));
      up.on('trailers', (t) => {
        if (!call.corrupted) call.trailers = passOn(t, []);
      });
      up.on('data', (chunk: Buffer) => {
        if (!call.corrupted && !stream.closed) stream.write(chunk);
      });
      up.on('end', () => {
        if (!call.corrupted && !stream.closed && stream.headersSent && !stream.writableEnded) stream.end();
      });
      up.on('close', () => {
        calls.delete(call);
        if (!call.corrupted && !stream.closed && !stream.headersSent) stream.close(up.rstCode ?? constants.NGHTTP2_INTERNAL_ERROR);
      });
      stream.on('close', () => {
        calls.delete(call);
        // the client cancelled (or the corrupted call ended): so does the upstream call
        if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
      });
    });
  });
  await listenOn(server, socketPath);

  let closing: Promise<void> | undefined;
  return {
    address: `unix://${socketPath}`,
    paths,
    open: (suffix) => [...calls].filter((c) => c.path.endsWith(suffix) && !c.down.closed).length,
    corrupt(suffix, bytes, after) {
      let hit = 0;
      for (const call of calls) {
        if (!call.path.endsWith(suffix) || call.down.closed) continue;
        hit += 1;
        call.corrupted = true;
        call.trailers = { 'grpc-status': '0' };
        const { down } = call;
        if (!down.headersSent) down.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        down.write(bytes);
        if (after === 'end') down.end();
        else if (after === 'reset') down.close(constants.NGHTTP2_INTERNAL_ERROR);
      }
      return hit;
    },
    close() {
      return (closing ??= (async () => {
        for (const s of sessions) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      })());
    },
  };
}
