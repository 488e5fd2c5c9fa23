// A strict, incremental HTTP/1.1 response parser (RFC 9112) for a client that
// pipelines GET requests: it turns the bytes of one connection into complete
// responses, one after the other, wherever the bytes are split. Pure: no I/O.
//
// It reads what a client needs to frame bodies (status, Content-Length,
// Transfer-Encoding, Connection) and nothing more; every other header is
// skipped. Bodies are kept as slices of the received chunks and joined once.

/** @internal One complete response. */
export interface HttpResponse {
  /** The status code, 200-599 (informational 1xx responses are skipped). */
  readonly status: number;
  readonly body: Buffer;
  /** False when the server said it closes the connection after this response (or framed the body by closing it). */
  readonly keepAlive: boolean;
}

/** @internal Limits of {@link ResponseParser}. */
export interface ResponseParserLimits {
  /** Longest status line plus headers, in bytes (default 64 KiB). */
  readonly maxHeadBytes?: number;
  /** Largest body, in bytes (default 512 MiB). */
  readonly maxBodyBytes?: number;
}

/** @internal Error codes of {@link HttpParseError}. */
export type HttpParseErrorCode = 'ERR_WW_HTTP_PARSE' | 'ERR_WW_HTTP_TOO_LARGE';

/** @internal The bytes are not an HTTP/1.x response, or exceed a limit. */
export class HttpParseError extends Error {
  override readonly name = 'HttpParseError';
  constructor(
    readonly code: HttpParseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Failed,
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/;
const CHUNK_SIZE = /^([0-9a-fA-F]{1,15})[ \t]*(?:;.*)?$/;
const DECIMAL = /^\d{1,15}$/;
/** A chunk-size line or a trailer line longer than this is not HTTP. */
const MAX_LINE = 8 * 1024;

/**
 * Parses the responses of one connection. Feed it every chunk in order with
 * {@link feed}; call {@link end} when the connection closed. Each complete
 * response goes to `onResponse`; the first malformed byte makes `feed` throw an
 * {@link HttpParseError} and the parser unusable.
 *
 * @internal
 */
export class ResponseParser {
  private readonly maxHead: number;
  private readonly maxBody: number;
  private state = State.Head;
  /** Received bytes not consumed yet (only ever a head, a line, or a chunk's tail). */
  private pending: Buffer | undefined;
  /** Where to resume looking for the head's end in `pending`. */
  private scanFrom = 0;
  private status = 0;
  private keepAlive = true;
  private remaining = 0;
  private bodyBytes = 0;
  private parts: Buffer[] = [];
  private trailerBytes = 0;

  constructor(
    private readonly onResponse: (response: HttpResponse) => void,
    limits: ResponseParserLimits = {},
  ) {
    this.maxHead = limits.maxHeadBytes ?? 64 * 1024;
    this.maxBody = limits.maxBodyBytes ?? 512 * 1024 * 1024;
  }

  /** True when bytes of a response arrived that is not complete yet. */
  get midResponse(): boolean {
    return this.state !== State.Failed && (this.state !== State.Head || this.pending !== undefined);
  }

  /** Consumes `chunk`; emits every response it completes. @throws HttpParseError */
  feed(chunk: Buffer): void {
    if (this.state === State.Failed) throw new HttpParseError('ERR_WW_HTTP_PARSE', 'the parser failed before');
    if (chunk.length === 0) return;
    let buf: Buffer;
    if (this.pending === undefined) buf = chunk;
    else {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    try {
      this.run(buf);
    } catch (err) {
      this.state = State.Failed;
      this.pending = undefined;
      this.parts = [];
      throw err;
    }
  }

  /**
   * The connection closed. Completes a body framed by the close; otherwise
   * returns whether a response was cut short (bytes of it had arrived).
   */
  end(): { cut: boolean } {
    if (this.state === State.UntilClose) {
      this.complete(false);
      return { cut: false };
    }
    return { cut: this.midResponse };
  }

  private run(buf: Buffer): void {
    let at = 0;
    while (at < buf.length) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf(HEAD_END, Math.max(at, this.scanFrom - 3));
          if (end < 0) {
            if (buf.length - at > this.maxHead) throw this.parseError(`a response head longer than ${this.maxHead} bytes`, buf, at);
            this.keep(buf, at);
            this.scanFrom = buf.length - at;
            return;
          }
          if (end - at > this.maxHead) throw this.parseError(`a response head longer than ${this.maxHead} bytes`, buf, at);
          this.scanFrom = 0;
          this.head(buf.toString('latin1', at, end), buf, at);
          at = end + 4;
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, buf.length - at);
          this.parts.push(buf.subarray(at, at + take));
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.complete(this.keepAlive);
          break;
        }
        case State.ChunkSize: {
          const nl = buf.indexOf(CRLF, at);
          if (nl < 0) {
            if (buf.length - at > MAX_LINE) throw this.parseError('a chunk-size line without end', buf, at);
            this.keep(buf, at);
            return;
          }
          const line = buf.toString('latin1', at, nl);
          const m = CHUNK_SIZE.exec(line);
          if (m?.[1] === undefined) throw this.parseError(`a bad chunk-size line ${JSON.stringify(line.slice(0, 40))}`, buf, at);
          const size = parseInt(m[1], 16);
          at = nl + 2;
          if (size === 0) {
            this.state = State.Trailers;
            this.trailerBytes = 0;
          } else {
            this.grow(size);
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, buf.length - at);
          this.parts.push(buf.subarray(at, at + take));
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          if (buf.length - at < 2) {
            this.keep(buf, at);
            return;
          }
          if (buf[at] !== 13 || buf[at + 1] !== 10) throw this.parseError('chunk data not followed by CRLF', buf, at);
          at += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const nl = buf.indexOf(CRLF, at);
          if (nl < 0) {
            if (buf.length - at > MAX_LINE) throw this.parseError('a trailer line without end', buf, at);
            this.keep(buf, at);
            return;
          }
          this.trailerBytes += nl - at + 2;
          if (this.trailerBytes > this.maxHead) throw this.parseError(`trailers longer than ${this.maxHead} bytes`, buf, at);
          const empty = nl === at;
          at = nl + 2;
          if (empty) this.complete(this.keepAlive);
          break;
        }
        case State.UntilClose: {
          this.grow(buf.length - at);
          this.parts.push(buf.subarray(at));
          at = buf.length;
          break;
        }
        case State.Failed:
          throw new HttpParseError('ERR_WW_HTTP_PARSE', 'the parser failed before');
      }
    }
  }

  /** Reads a status line and headers; sets up the body's framing (RFC 9112 §6.3). */
  private head(text: string, buf: Buffer, at: number): void {
    const lines = text.split('\r\n');
    const statusLine = lines[0] ?? '';
    const m = STATUS_LINE.exec(statusLine);
    if (m === null) throw this.parseError(`not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 60))}`, buf, at);
    const http10 = m[1] === '0';
    const status = Number(m[2]);
    let length: number | undefined;
    let chunked = false;
    let encoded = false;
    let close = false;
    let keepAliveToken = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) {
        if (line.startsWith(' ') || line.startsWith('\t')) continue; // obsolete line folding of a header we skip
        throw this.parseError(`a malformed header line ${JSON.stringify(line.slice(0, 60))}`, buf, at);
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === 'content-length') {
        const value = line.slice(colon + 1).trim();
        // "42, 42" from a proxy is the same length twice
        const values = new Set(value.split(',').map((v) => v.trim()));
        const only = values.size === 1 ? [...values][0] : undefined;
        if (only === undefined || !DECIMAL.test(only)) throw this.parseError(`a bad Content-Length ${JSON.stringify(value.slice(0, 40))}`, buf, at);
        const n = Number(only);
        if (length !== undefined && length !== n) throw this.parseError('two different Content-Length headers', buf, at);
        length = n;
      } else if (name === 'transfer-encoding') {
        const codings = line
          .slice(colon + 1)
          .split(',')
          .map((c) => c.trim().toLowerCase())
          .filter((c) => c !== '');
        encoded = true;
        chunked = codings[codings.length - 1] === 'chunked';
      } else if (name === 'connection') {
        const tokens = line
          .slice(colon + 1)
          .split(',')
          .map((c) => c.trim().toLowerCase());
        if (tokens.includes('close')) close = true;
        if (tokens.includes('keep-alive')) keepAliveToken = true;
      }
    }
    if (status < 200) {
      // 101 would switch protocols, which a GET client never asked for
      if (status === 101) throw this.parseError('an unrequested protocol switch (HTTP 101)', buf, at);
      this.state = State.Head; // an informational response: the real one follows
      return;
    }
    this.status = status;
    this.keepAlive = !close && (!http10 || keepAliveToken);
    this.parts = [];
    this.bodyBytes = 0;
    if (status === 204 || status === 304) {
      this.complete(this.keepAlive);
    } else if (encoded) {
      // Transfer-Encoding wins over Content-Length; anything but chunked last is framed by the close
      if (chunked) this.state = State.ChunkSize;
      else {
        this.keepAlive = false;
        this.state = State.UntilClose;
      }
    } else if (length !== undefined) {
      this.grow(length);
      if (length === 0) this.complete(this.keepAlive);
      else {
        this.remaining = length;
        this.state = State.Length;
      }
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }

  private grow(n: number): void {
    this.bodyBytes += n;
    if (this.bodyBytes > this.maxBody) throw new HttpParseError('ERR_WW_HTTP_TOO_LARGE', `a response body larger than ${this.maxBody} bytes`);
  }

  private complete(keepAlive: boolean): void {
    const parts = this.parts;
    const body = parts.length === 1 ? (parts[0] as Buffer) : parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(parts);
    this.parts = [];
    this.state = State.Head;
    this.onResponse({ status: this.status, body, keepAlive });
  }

  private keep(buf: Buffer, at: number): void {
    // a copy, so that the (usually much larger) chunk it came from is not pinned
    this.pending = Buffer.from(buf.subarray(at));
  }

  private parseError(what: string, buf: Buffer, at: number): HttpParseError {
    const sample = buf.toString('latin1', at, Math.min(buf.length, at + 40));
    return new HttpParseError('ERR_WW_HTTP_PARSE', `not an HTTP/1.1 response: ${what} (bytes: ${JSON.stringify(sample)})`);
  }
}
