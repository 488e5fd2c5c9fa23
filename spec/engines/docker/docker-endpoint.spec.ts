import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EngineError } from '../../../lib/errors.js';
import { type DockerEndpointOptions, type DockerEnv, resolveDockerEndpoint } from '../../../lib/engines/docker/docker-endpoint.js';

describe('resolveDockerEndpoint', () => {
  let certs: string;
  let home: string;
  before(async () => {
    certs = await mkdtemp(join(tmpdir(), 'ww-certs-'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(join(certs, f), `-- ${f} --`);
    home = await mkdtemp(join(tmpdir(), 'ww-home-'));
  });
  after(async () => {
    await rm(certs, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  });

  const resolve = (options: DockerEndpointOptions, env: DockerEnv = {}) => resolveDockerEndpoint(options, env, () => home);

  const plain: { name: string; options: DockerEndpointOptions; env?: DockerEnv; want: unknown }[] = [
    { name: 'defaults to the system socket', options: {}, want: { url: 'unix:///var/run/docker.sock', protocol: 'http', socketPath: '/var/run/docker.sock' } },
    { name: 'an empty DOCKER_HOST is no DOCKER_HOST', options: {}, env: { DOCKER_HOST: '' }, want: { url: 'unix:///var/run/docker.sock', protocol: 'http', socketPath: '/var/run/docker.sock' } },
    { name: 'takes DOCKER_HOST', options: {}, env: { DOCKER_HOST: 'unix:///run/podman/podman.sock' }, want: { url: 'unix:///run/podman/podman.sock', protocol: 'http', socketPath: '/run/podman/podman.sock' } },
    { name: 'the host option wins over DOCKER_HOST', options: { host: 'unix:///a.sock' }, env: { DOCKER_HOST: 'unix:///b.sock' }, want: { url: 'unix:///a.sock', protocol: 'http', socketPath: '/a.sock' } },
    { name: 'a bare absolute path is a unix socket', options: { host: '/run/docker.sock' }, want: { url: 'unix:///run/docker.sock', protocol: 'http', socketPath: '/run/docker.sock' } },
    { name: 'unix:// alone is the system socket', options: { host: 'unix://' }, want: { url: 'unix:///var/run/docker.sock', protocol: 'http', socketPath: '/var/run/docker.sock' } },
    { name: 'tcp without port is 2375', options: { host: 'tcp://10.0.0.1' }, want: { url: 'tcp://10.0.0.1:2375', protocol: 'http', hostname: '10.0.0.1', port: 2375 } },
    { name: 'tcp with port', options: { host: 'tcp://docker.example:1234' }, want: { url: 'tcp://docker.example:1234', protocol: 'http', hostname: 'docker.example', port: 1234 } },
    { name: 'a bare host:port is tcp', options: { host: 'localhost:2375' }, want: { url: 'tcp://localhost:2375', protocol: 'http', hostname: 'localhost', port: 2375 } },
    { name: 'IPv6 literal', options: { host: 'tcp://[::1]:2375' }, want: { url: 'tcp://[::1]:2375', protocol: 'http', hostname: '::1', port: 2375 } },
    { name: 'http:// stays plain even with TLS in the environment', options: { host: 'http://h:80' }, env: { DOCKER_TLS_VERIFY: '1' }, want: { url: 'http://h:80', protocol: 'http', hostname: 'h', port: 80 } },
    { name: 'the tls option false overrides the environment', options: { host: 'tcp://h:2376', tls: false }, env: { DOCKER_TLS_VERIFY: '1' }, want: { url: 'tcp://h:2376', protocol: 'http', hostname: 'h', port: 2376 } },
  ];
  for (const { name, options, env, want } of plain) {
    it(name, () => {
      expect(resolve(options, env)).to.deep.equal(want);
    });
  }

  it('DOCKER_TLS_VERIFY: TLS on 2376, verified against DOCKER_CERT_PATH/ca.pem, with the client certificate', () => {
    const e = resolve({ host: 'tcp://h' }, { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    expect(e).to.include({ url: 'tcp://h:2376', protocol: 'https', hostname: 'h', port: 2376 });
    expect(e.tls?.rejectUnauthorized).to.equal(true);
    expect(e.tls?.ca?.toString()).to.equal('-- ca.pem --');
    expect(e.tls?.cert?.toString()).to.equal('-- cert.pem --');
    expect(e.tls?.key?.toString()).to.equal('-- key.pem --');
  });

  it('DOCKER_TLS without verification needs no files', () => {
    const e = resolve({ host: 'tcp://h:2376' }, { DOCKER_TLS: '1', DOCKER_CERT_PATH: join(certs, 'nowhere') });
    expect(e.protocol).to.equal('https');
    expect(e.tls).to.deep.equal({ rejectUnauthorized: false });
  });

  it('reads certificates from ~/.docker by default', async () => {
    const dotDocker = join(home, '.docker');
    await mkdir(dotDocker);
    await writeFile(join(dotDocker, 'ca.pem'), 'home ca');
    const e = resolve({ host: 'https://h:443' });
    expect(e.tls?.ca?.toString()).to.equal('home ca');
    expect(e.tls?.rejectUnauthorized).to.equal(true);
    expect(e.tls?.cert).to.equal(undefined);
  });

  it('the tls option sets verification and the cert path', () => {
    const e = resolve({ host: 'tcp://h', tls: { verify: true, certPath: certs } });
    expect(e.url).to.equal('tcp://h:2376');
    expect(e.tls?.ca?.toString()).to.equal('-- ca.pem --');
  });

  const bad: { name: string; options: DockerEndpointOptions; env?: DockerEnv; message: RegExp }[] = [
    { name: 'ssh://', options: { host: 'ssh://me@h' }, message: /unsupported Docker endpoint "ssh:\/\/me@h" from the host option/ },
    { name: 'npipe:// from DOCKER_HOST', options: {}, env: { DOCKER_HOST: 'npipe:////./pipe/docker_engine' }, message: /from DOCKER_HOST/ },
    { name: 'a relative unix path', options: { host: 'unix://docker.sock' }, message: /absolute path/ },
    { name: 'nonsense', options: { host: 'what is this' }, message: /use unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/host:port/ },
    { name: 'verified TLS without ca.pem', options: { host: 'tcp://h' }, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nonexistent' }, message: /cannot read \/nonexistent\/ca\.pem.*DOCKER_CERT_PATH/ },
  ];
  for (const { name, options, env, message } of bad) {
    it(`refuses ${name} with a config error`, () => {
      expect(() => resolve(options, env)).to.throw(EngineError, message).with.property('code', 'config');
    });
  }
});
