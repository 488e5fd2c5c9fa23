import { expect } from 'chai';
import { EngineError, type EngineErrorCode } from '../../../lib/errors.js';
import { toDockerError } from '../../../lib/engines/docker/docker-errors.js';

const AT = 'unix:///run/docker.sock';

function errno(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

/** What dockerode (docker-modem) rejects with for an HTTP status. */
function http(statusCode: number, json: unknown): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected`), { statusCode, json });
}

describe('toDockerError', () => {
  const table: { name: string; err: unknown; code: EngineErrorCode; message: RegExp }[] = [
    { name: 'ENOENT', err: errno('ENOENT'), code: 'unreachable', message: /^no Docker engine at unix:\/\/\/run\/docker\.sock while listing \(ENOENT: no socket there\): is it running\? set DOCKER_HOST or the host option$/ },
    { name: 'ECONNREFUSED', err: errno('ECONNREFUSED'), code: 'unreachable', message: /connection refused/ },
    { name: 'EHOSTUNREACH', err: errno('EHOSTUNREACH'), code: 'unreachable', message: /EHOSTUNREACH/ },
    { name: 'ENOTFOUND (DNS)', err: errno('ENOTFOUND'), code: 'unreachable', message: /is it running/ },
    { name: 'EACCES', err: errno('EACCES'), code: 'permission', message: /^permission denied by unix:\/\/\/run\/docker\.sock while listing \(EACCES\): run as root or as a member of the socket's group/ },
    { name: 'EPERM', err: errno('EPERM'), code: 'permission', message: /EPERM/ },
    { name: 'HTTP 401', err: http(401, { message: 'unauthorized' }), code: 'permission', message: /HTTP 401: unauthorized/ },
    { name: 'HTTP 403', err: http(403, Buffer.from('<html>forbidden</html>')), code: 'permission', message: /HTTP 403/ },
    { name: 'HTTP 404 HTML', err: http(404, Buffer.from('<html>nope</html>')), code: 'protocol', message: /^something at unix:\/\/\/run\/docker\.sock answers, but not like a Docker engine API while listing \(HTTP 404\): check that the endpoint is a Docker or Podman API socket$/ },
    { name: 'HTTP 400 from a Docker', err: http(400, { message: 'bad filter' }), code: 'protocol', message: /not like a Docker engine API while listing \(HTTP 400: bad filter\)/ },
    { name: 'HTTP 500 with a Docker message', err: http(500, { message: 'containerd is gone' }), code: 'engine', message: /^the Docker engine at unix:\/\/\/run\/docker\.sock failed while listing \(HTTP 500: containerd is gone\): / },
    { name: 'HTTP 502 from a proxy page', err: http(502, Buffer.from('Bad Gateway')), code: 'protocol', message: /HTTP 502/ },
    { name: 'not HTTP at all', err: errno('HPE_INVALID_CONSTANT', 'Parse Error: Expected HTTP/'), code: 'protocol', message: /answers, but not with HTTP while listing \(Parse Error: Expected HTTP\/\): check that the endpoint is a Docker or Podman API socket$/ },
    { name: 'a TLS certificate problem', err: errno('CERT_HAS_EXPIRED', 'certificate has expired'), code: 'permission', message: /TLS with .* failed while listing \(CERT_HAS_EXPIRED: certificate has expired\): check DOCKER_CERT_PATH/ },
    { name: 'a TLS name mismatch', err: errno('ERR_TLS_CERT_ALTNAME_INVALID'), code: 'permission', message: /TLS/ },
    { name: 'ECONNRESET', err: errno('ECONNRESET'), code: 'engine', message: /lost the connection.*stopped or restarted/ },
    { name: 'socket hang up', err: new Error('socket hang up'), code: 'engine', message: /lost the connection/ },
    { name: 'anything else', err: new Error('weird'), code: 'engine', message: /failed while listing \(weird\)/ },
    { name: 'a string', err: 'weird', code: 'engine', message: /weird/ },
  ];
  for (const { name, err, code, message } of table) {
    it(`${name} → ${code}`, () => {
      const e = toDockerError(err, AT, 'listing');
      expect(e).to.be.instanceOf(EngineError);
      expect(e.code).to.equal(code);
      expect(e.engine).to.equal('docker');
      expect(e.endpoint).to.equal(AT);
      expect(e.cause).to.equal(err);
      expect(e.message).to.match(message);
    });
  }

  it('passes an EngineError through as is', () => {
    const e = new EngineError('docker', 'decode', 'x');
    expect(toDockerError(e, AT, 'listing')).to.equal(e);
  });
});
