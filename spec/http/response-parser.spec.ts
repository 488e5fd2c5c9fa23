import { expect } from 'chai';
import fc from 'fast-check';
import { type HttpResponse, HttpParseError, ResponseParser } from '../../lib/http/response-parser.js';

/** What the parser made of `chunks`, in a compact form. */
function parse(chunks: (string | Buffer)[], limits = {}): { responses: { status: number; body: string; keepAlive: boolean }[]; error?: HttpParseError; cut?: boolean } {
  const responses: HttpResponse[] = [];
  const parser = new ResponseParser((r) => responses.push(r), limits);
  const show = () => responses.map((r) => ({ status: r.status, body: r.body.toString('utf8'), keepAlive: r.keepAlive }));
  try {
    for (const c of chunks) parser.feed(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  } catch (err) {
    expect(err).to.be.instanceOf(HttpParseError);
    return { responses: show(), error: err as HttpParseError };
  }
  const { cut } = parser.end();
  return { responses: show(), cut };
}

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const chunked = (parts: string[], trailers = '') =>
  `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('')}0\r\n${trailers}\r\n`;

describe('ResponseParser (HTTP/1.1 responses of a pipelining client)', () => {
  describe('framing', () => {
    it('reads a Content-Length body', () => {
      expect(parse([ok('{"a":1}')]).responses).to.deep.equal([{ status: 200, body: '{"a":1}', keepAlive: true }]);
    });

    it('reads a chunked body, with chunk extensions and trailers', () => {
      const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\n{"a\r\nA \r\n":[1,2,3]}\r\n0\r\nX-Trailer: yes\r\n\r\n';
      expect(parse([text]).responses).to.deep.equal([{ status: 200, body: '{"a":[1,2,3]}', keepAlive: true }]);
    });

    it('reads responses back to back in one chunk, in order', () => {
      const text = ok('1') + chunked(['2', '22']) + ok('3') + 'HTTP/1.1 204 No Content\r\n\r\n' + ok('5');
      expect(parse([text]).responses.map((r) => [r.status, r.body])).to.deep.equal([
        [200, '1'],
        [200, '222'],
        [200, '3'],
        [204, ''],
        [200, '5'],
      ]);
    });

    it('Transfer-Encoding wins over Content-Length', () => {
      const text = 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n';
      expect(parse([text]).responses).to.deep.equal([{ status: 200, body: 'hi', keepAlive: true }]);
    });

    it('a body without length is framed by the close, and then ends the connection', () => {
      const r = parse(['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ', 'the end']);
      expect(r.responses).to.deep.equal([{ status: 200, body: 'until the end', keepAlive: false }]);
      expect(r.cut).to.equal(false);
    });

    it('skips informational responses; 304 and 204 have no body', () => {
      const text = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n' + ok('x') + 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n' + ok('y');
      expect(parse([text]).responses.map((r) => [r.status, r.body])).to.deep.equal([
        [200, 'x'],
        [304, ''],
        [200, 'y'],
      ]);
    });

    it('keeps error statuses and their bodies', () => {
      const text = 'HTTP/1.1 404 Not Found\r\nContent-Length: 31\r\n\r\n{"message":"No such container"}';
      expect(parse([text]).responses).to.deep.equal([{ status: 404, body: '{"message":"No such container"}', keepAlive: true }]);
    });

    it('Connection: close and HTTP/1.0 without keep-alive say the connection ends after the response', () => {
      expect(parse([ok('a', 'Connection: close\r\n')]).responses[0]?.keepAlive).to.equal(false);
      expect(parse([ok('a', 'connection: Keep-Alive, CLOSE\r\n')]).responses[0]?.keepAlive).to.equal(false);
      expect(parse(['HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\na']).responses[0]?.keepAlive).to.equal(false);
      expect(parse(['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na']).responses[0]?.keepAlive).to.equal(true);
    });

    it('accepts a repeated identical Content-Length ("5, 5"), as proxies send it', () => {
      expect(parse(['HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello']).responses[0]?.body).to.equal('hello');
    });

    it('keeps UTF-8 intact when a character is split between chunks', () => {
      const body = Buffer.from('{"name":"grüß"}');
      const whole = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
      const cut = whole.indexOf(Buffer.from('ü')) + 1;
      expect(parse([whole.subarray(0, cut), whole.subarray(cut)]).responses[0]?.body).to.equal('{"name":"grüß"}');
    });
  });

  describe('any split of the bytes gives the same responses', () => {
    type Spec = { kind: 'length' | 'empty'; status: number; body: string } | { kind: 'chunked'; status: number; parts: string[] };
    const responseArb: fc.Arbitrary<Spec> = fc.oneof(
      fc.record({ kind: fc.constant('length' as const), status: fc.constantFrom(200, 404, 500), body: fc.string({ maxLength: 300 }) }),
      fc.record({ kind: fc.constant('chunked' as const), status: fc.constantFrom(200, 500), parts: fc.array(fc.string({ minLength: 1, maxLength: 100 }), { maxLength: 5 }) }),
      fc.record({ kind: fc.constant('empty' as const), status: fc.constantFrom(204, 304), body: fc.constant('') }),
    );
    const render = (r: Spec): { text: string; body: string; status: number } => {
      if (r.kind === 'chunked') return { text: chunked(r.parts).replace('200 OK', `${r.status} X`), body: r.parts.join(''), status: r.status };
      if (r.kind === 'empty') return { text: `HTTP/1.1 ${r.status} X\r\n\r\n`, body: '', status: r.status };
      return { text: `HTTP/1.1 ${r.status} X\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`, body: r.body, status: r.status };
    };

    it('for pipelined sequences of Content-Length, chunked and empty responses (fast-check)', () => {
      fc.assert(
        fc.property(fc.array(responseArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (responses, cutsRaw) => {
          const rendered = responses.map(render);
          const bytes = Buffer.concat(rendered.map((r) => Buffer.from(r.text, 'utf8')));
          const cuts = [...new Set(cutsRaw.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let from = 0;
          for (const c of [...cuts, bytes.length]) {
            chunks.push(bytes.subarray(from, c));
            from = c;
          }
          const r = parse(chunks);
          expect(r.error).to.equal(undefined);
          expect(r.cut).to.equal(false);
          expect(r.responses.map((x) => [x.status, x.body])).to.deep.equal(rendered.map((x) => [x.status, x.body]));
        }),
        { numRuns: 300 },
      );
    });

    it('byte by byte', () => {
      const text = ok('{"x":1}') + chunked(['ab', 'cde'], 'T: 1\r\n') + ok('');
      const r = parse([...Buffer.from(text)].map((b) => Buffer.from([b])));
      expect(r.responses.map((x) => x.body)).to.deep.equal(['{"x":1}', 'abcde', '']);
    });
  });

  describe('end(): a cut response', () => {
    it('says cut when the connection closed in the middle of a head or a body', () => {
      expect(parse(['HTTP/1.1 200 OK\r\nContent-Le']).cut).to.equal(true);
      expect(parse([ok('0123456789').slice(0, -3)]).cut).to.equal(true);
      expect(parse([chunked(['abc']).slice(0, -2)]).cut).to.equal(true);
    });

    it('says not cut between responses', () => {
      expect(parse([ok('a') + ok('b')])).to.deep.include({ cut: false });
      expect(parse([]).cut).to.equal(false);
    });
  });

  describe('not HTTP: a clear HttpParseError', () => {
    const fails = (chunks: string[], pattern: RegExp, code = 'ERR_WW_HTTP_PARSE', limits = {}) => {
      const r = parse(chunks, limits);
      expect(r.error, `an error for ${JSON.stringify(chunks).slice(0, 80)}`).to.be.instanceOf(HttpParseError);
      expect(r.error?.code).to.equal(code);
      expect(r.error?.message).to.match(pattern);
    };

    it('garbage instead of a status line', () => {
      fails(['\x00\x01SSH-2.0-definitely-not-docker\r\n\xff\xfe garbage\r\n\r\n'], /not an HTTP\/1\.x status line/);
      fails(['HTTP/2 200\r\n\r\n'], /status line/);
      fails(['HTTP/1.1 2000 OK\r\n\r\n'], /status line/);
    });

    it('bad or contradicting lengths', () => {
      fails(['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'], /bad Content-Length/);
      fails(['HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n'], /bad Content-Length/);
      fails(['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'], /two different Content-Length/);
    });

    it('bad chunking', () => {
      fails(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'], /bad chunk-size line/);
      fails(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n'], /chunk data not followed by CRLF/);
      fails(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '1'.repeat(10_000)], /chunk-size line without end/);
    });

    it('a malformed header line, an unrequested protocol switch', () => {
      fails(['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'], /malformed header line/);
      fails(['HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'], /protocol switch/);
    });

    it('a head or a body over the limits', () => {
      fails(['HTTP/1.1 200 OK\r\n', `X: ${'a'.repeat(2000)}\r\n`], /head longer than 1000 bytes/, 'ERR_WW_HTTP_PARSE', { maxHeadBytes: 1000 });
      fails(['HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n'], /body larger than 1000 bytes/, 'ERR_WW_HTTP_TOO_LARGE', { maxBodyBytes: 1000 });
      fails([chunked(['a'.repeat(600), 'b'.repeat(600)])], /body larger than 1000 bytes/, 'ERR_WW_HTTP_TOO_LARGE', { maxBodyBytes: 1000 });
    });

    it('good responses before the garbage are delivered; the parser then stays failed', () => {
      const responses: HttpResponse[] = [];
      const parser = new ResponseParser((r) => responses.push(r));
      expect(() => parser.feed(Buffer.from(`${ok('good')}garbage\r\n\r\n`))).to.throw(HttpParseError, /status line/);
      expect(responses.map((r) => r.body.toString())).to.deep.equal(['good']);
      expect(() => parser.feed(Buffer.from(ok('late')))).to.throw(HttpParseError, /failed before/);
      expect(parser.end()).to.deep.equal({ cut: false });
    });
  });
});
