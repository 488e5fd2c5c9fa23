import { expect } from 'chai';
import { defaultEngines } from '../../lib/cli/engines.js';
import { discoveryJson, discoveryTable } from '../../lib/cli/engines-table.js';
import type { Discovery } from '../../lib/discovery/discover-engines.js';

describe('CLI engines', () => {
  describe('defaultEngines (no engine on the command line)', () => {
    it('the engines the environment variables name, by kind; none set: Docker at its default', () => {
      expect(defaultEngines({ DOCKER_HOST: 'unix:///nowhere.sock' })).to.deep.equal([{ kind: 'docker' }]);
      expect(defaultEngines({ CONTAINER_RUNTIME_ENDPOINT: 'unix:///c.sock', CONTAINERD_ADDRESS: '/c.sock', DOCKER_HOST: '' })).to.deep.equal([{ kind: 'containerd' }, { kind: 'cri' }]);
      expect(defaultEngines({})).to.deep.equal([{ kind: 'docker' }]);
    });
  });

  describe('discoveryTable and discoveryJson', () => {
    const discovery: Discovery = {
      engines: [
        {
          type: 'docker.com',
          product: 'docker',
          version: '26.1.5',
          endpoint: 'unix:///run/docker.sock',
          pid: 812,
          routes: [
            { by: 'env', variable: 'DOCKER_HOST', endpoint: 'unix:///run/docker.sock' },
            { by: 'well-known', path: '/run/docker.sock' },
            { by: 'process', pid: 812, process: 'dockerd', path: '/run/docker.sock' },
          ],
        },
        { type: 'k8s.io/cri-api', product: 'containerd', id: 'containerd', version: '1.7.24', endpoint: 'unix:///run/containerd/containerd.sock', routes: [{ by: 'well-known', path: '/run/containerd/containerd.sock' }] },
      ],
      unanswered: [{ endpoint: 'unix:///run/podman/podman.sock', tried: ['docker'], reason: 'ECONNREFUSED:\n  connection refused', routes: [{ by: 'well-known', path: '/run/podman/podman.sock' }] }],
      unreadable: [{ path: '/proc/1234/fd', reason: 'EACCES: permission denied' }],
    };

    it('a row per engine with every route, then what did not answer and what could not be read, nothing shortened', () => {
      expect(discoveryTable(discovery).split('\n')).to.deep.equal([
        'TYPE            PRODUCT     VERSION  ENDPOINT                                PID  ROUTES',
        'docker.com      docker      26.1.5   unix:///run/docker.sock                 812  env DOCKER_HOST; well-known /run/docker.sock; process dockerd[812] /run/docker.sock',
        'k8s.io/cri-api  containerd  1.7.24   unix:///run/containerd/containerd.sock  -    well-known /run/containerd/containerd.sock',
        '',
        'did not answer:',
        '  unix:///run/podman/podman.sock (well-known /run/podman/podman.sock): ECONNREFUSED: connection refused',
        '',
        'could not read (1; run as root to see every engine):',
        '  /proc/1234/fd: EACCES: permission denied',
        '',
      ]);
    });

    it('nothing found says so', () => {
      expect(discoveryTable({ engines: [], unanswered: [], unreadable: [] })).to.equal('no engine found\n');
    });

    it('JSON: the three lists as discovery returned them', () => {
      expect(JSON.parse(discoveryJson(discovery))).to.deep.equal(JSON.parse(JSON.stringify(discovery)));
    });
  });
});
