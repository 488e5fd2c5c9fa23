/**
 * The pure half of discovery: what the environment names, the well-known
 * paths, and the merge of candidates that reach the same socket.
 */
import { expect } from 'chai';
import { type Candidate, SYSTEM_SOCKETS, envEndpoints, mergeCandidates, wellKnownSockets } from '../../lib/discovery/discovery-merge.js';

describe('discovery: candidates and their merge', () => {
  describe('envEndpoints', () => {
    const cases: readonly [string, Record<string, string | undefined>, unknown[]][] = [
      ['nothing set', {}, []],
      ['empty values', { DOCKER_HOST: '', CONTAINERD_ADDRESS: '  ' }, []],
      [
        'DOCKER_HOST as unix://',
        { DOCKER_HOST: 'unix:///tmp/d.sock' },
        [{ variable: 'DOCKER_HOST', endpoint: 'unix:///tmp/d.sock', path: '/tmp/d.sock', apis: ['docker'] }],
      ],
      [
        'CONTAINERD_ADDRESS as a bare path: native and CRI',
        { CONTAINERD_ADDRESS: '/tmp/c.sock' },
        [{ variable: 'CONTAINERD_ADDRESS', endpoint: 'unix:///tmp/c.sock', path: '/tmp/c.sock', apis: ['containerd', 'cri'] }],
      ],
      [
        'CONTAINER_RUNTIME_ENDPOINT as unix:',
        { CONTAINER_RUNTIME_ENDPOINT: 'unix:/run/crio/crio.sock' },
        [{ variable: 'CONTAINER_RUNTIME_ENDPOINT', endpoint: 'unix:///run/crio/crio.sock', path: '/run/crio/crio.sock', apis: ['cri'] }],
      ],
      [
        'tcp, with and without a scheme',
        { DOCKER_HOST: 'tcp://10.0.0.1:2375', CONTAINERD_ADDRESS: 'localhost:7777' },
        [
          { variable: 'DOCKER_HOST', endpoint: 'tcp://10.0.0.1:2375', apis: ['docker'] },
          { variable: 'CONTAINERD_ADDRESS', endpoint: 'tcp://localhost:7777', apis: ['containerd', 'cri'] },
        ],
      ],
    ];
    for (const [what, env, expected] of cases) {
      it(what, () => expect(envEndpoints(env)).to.deep.equal(expected));
    }
  });

  describe('wellKnownSockets', () => {
    it('the system sockets, then the runtime folder, then every user folder, each path once', () => {
      expect(wellKnownSockets({ XDG_RUNTIME_DIR: '/run/user/1000/' }, ['/run/user/1000', '/run/user/1001'])).to.deep.equal([
        ...SYSTEM_SOCKETS,
        '/run/user/1000/podman/podman.sock',
        '/run/user/1000/docker.sock',
        '/run/user/1001/podman/podman.sock',
        '/run/user/1001/docker.sock',
      ]);
    });
    it('ignores a relative XDG_RUNTIME_DIR', () => {
      expect(wellKnownSockets({ XDG_RUNTIME_DIR: 'tmp' }, [])).to.deep.equal(SYSTEM_SOCKETS);
    });
  });

  describe('mergeCandidates', () => {
    const env: Candidate = {
      endpoint: 'unix:///var/run/docker.sock',
      key: '8:1',
      apis: ['docker'],
      route: { by: 'env', variable: 'DOCKER_HOST', endpoint: 'unix:///var/run/docker.sock' },
    };
    const run: Candidate = { endpoint: 'unix:///run/docker.sock', key: '8:1', apis: ['docker'], route: { by: 'well-known', path: '/run/docker.sock' } };
    const proc: Candidate = {
      endpoint: 'unix:///run/docker.sock',
      key: '8:1',
      apis: ['docker'],
      route: { by: 'process', pid: 42, process: 'dockerd', path: '/run/docker.sock' },
      pid: 42,
    };
    const containerd: Candidate = {
      endpoint: 'unix:///proc/77/root/run/containerd/containerd.sock',
      key: '9:5',
      apis: ['containerd', 'cri'],
      route: { by: 'process', pid: 77, process: 'containerd', path: '/run/containerd/containerd.sock' },
      pid: 77,
    };
    const criEnv: Candidate = {
      endpoint: 'unix:///c.sock',
      key: '9:5',
      apis: ['cri'],
      route: { by: 'env', variable: 'CONTAINER_RUNTIME_ENDPOINT', endpoint: 'unix:///c.sock' },
    };

    it('one socket by three paths is one entry with the first endpoint, every route and the PID', () => {
      expect(mergeCandidates([env, run, proc])).to.deep.equal([
        { endpoint: env.endpoint, key: '8:1', apis: ['docker'], routes: [env.route, run.route, proc.route], pid: 42 },
      ]);
    });
    it('different sockets stay apart, in first-seen order; APIs are united in a fixed order', () => {
      expect(mergeCandidates([criEnv, env, containerd])).to.deep.equal([
        { endpoint: criEnv.endpoint, key: '9:5', apis: ['containerd', 'cri'], routes: [criEnv.route, containerd.route], pid: 77 },
        { endpoint: env.endpoint, key: '8:1', apis: ['docker'], routes: [env.route] },
      ]);
    });
    it('nothing in, nothing out', () => expect(mergeCandidates([])).to.deep.equal([]));
  });
});
