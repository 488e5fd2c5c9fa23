/**
 * The test harness itself: every engine started by scripts/test.mjs answers on its endpoint with the
 * expected version, survives a SIGKILL + scripts/engines/restart.sh with its containers where the engine
 * keeps them, and the helpers skip / fail as documented.
 */
import { expect } from 'chai';
import { request } from 'node:http';

import {
  ENGINE_NAMES,
  type EngineName,
  engineCli,
  engineEndpoint,
  engineEnv,
  engineKind,
  enginePid,
  killEngine,
  labImage,
  restartEngine,
  runEngineCli,
  useEngine,
} from '../helpers/engines.js';

interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** GET over the engine's unix socket; no agent, so no pooled socket outlives the call. */
function get(endpoint: string, path: string): Promise<HttpReply> {
  const socketPath = endpoint.replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${socketPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const EXPECTED_VERSION: Readonly<Record<EngineName, RegExp>> = {
  docker20: /^20\.10\./,
  docker26: /^26\.1\./,
  podman: /^4\.3\./,
  containerd17: /^1\.7\./,
  containerd16: /^1\.6\./,
};

async function engineVersion(name: EngineName, endpoint: string): Promise<string> {
  if (engineKind(name) === 'containerd') {
    const out = await runEngineCli(name, ['version']);
    const server = out.slice(out.indexOf('Server:'));
    return /Version:\s*(\S+)/.exec(server)?.[1] ?? `unparsed: ${out}`;
  }
  const reply = await get(endpoint, '/version');
  expect(reply.status).to.equal(200);
  return (JSON.parse(reply.body) as { Version: string }).Version;
}

let serial = 0;
const uniqueName = (): string => `ww-harness-${process.pid}-${++serial}`;

describe('test engines (harness)', function () {
  for (const name of ENGINE_NAMES) {
    describe(name, function () {
      let endpoint = '';
      const created: string[] = [];

      before(function () {
        endpoint = useEngine(this, name);
      });

      after(async function () {
        // leave the engine as we found it for the specs that follow
        for (const id of created.splice(0)) {
          if (engineKind(name) === 'containerd') {
            await runEngineCli(name, ['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
            await runEngineCli(name, ['tasks', 'delete', '-f', id]).catch(() => undefined);
            await runEngineCli(name, ['containers', 'delete', id]).catch(() => undefined);
          } else {
            await runEngineCli(name, ['rm', '-f', id]).catch(() => undefined);
          }
        }
      });

      if (engineKind(name) === 'containerd') {
        it('answers `ctr version` on its socket', async function () {
          expect(endpoint).to.match(/^\/.*\/containerd\.sock$/);
          expect(await engineVersion(name, endpoint)).to.match(EXPECTED_VERSION[name]);
        });
      } else {
        it('answers GET /_ping on its unix socket', async function () {
          expect(endpoint).to.match(/^unix:\/\/\/.*\.sock$/);
          const reply = await get(endpoint, '/_ping');
          expect(reply).to.deep.equal({ status: 200, body: 'OK' });
          expect(await engineVersion(name, endpoint)).to.match(EXPECTED_VERSION[name]);
        });
      }

      it('has the CLI environment and the lab image', async function () {
        const env = engineEnv(name);
        const cli = engineCli(name);
        expect(cli.command).to.match(/^\//);
        if (engineKind(name) === 'containerd') {
          expect(env['CONTAINERD_ADDRESS']).to.equal(endpoint);
          expect(await runEngineCli(name, ['images', 'ls', '-q'])).to.include(labImage(name));
          const k8s = await runEngineCli(name, ['-n', 'k8s.io', 'images', 'ls', '-q']);
          expect(k8s).to.include('docker.io/library/pause:lab').and.include(labImage(name));
        } else {
          expect(env['DOCKER_HOST']).to.equal(endpoint);
          const images = await runEngineCli(name, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
          expect(images.split('\n')).to.include(labImage(name));
        }
      });

      it('comes back after SIGKILL + restart.sh, containers where the engine keeps them', async function () {
        const id = uniqueName();
        created.push(id);
        if (engineKind(name) === 'containerd') {
          await runEngineCli(name, ['run', '-d', labImage(name), id, 'sleep', '1000']);
        } else {
          await runEngineCli(name, ['run', '-d', '--name', id, labImage(name), 'sleep', '1000']);
        }
        const before = enginePid(name);
        expect(before, 'daemon pid').to.be.a('number');
        await killEngine(name);
        expect(enginePid(name)).to.equal(undefined);

        const readyMs = await restartEngine(name);
        const after = enginePid(name);
        expect(after).to.be.a('number').and.not.equal(before);
        expect(engineEndpoint(name)).to.equal(endpoint);
        expect(readyMs).to.be.below(15_000);

        if (engineKind(name) === 'containerd') {
          // tasks outlive containerd
          expect(await runEngineCli(name, ['tasks', 'ls'])).to.match(new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm'));
        } else {
          const state = (await runEngineCli(name, ['inspect', '--format', '{{.State.Status}}', id])).trim();
          // podman containers live on (conmon); docker kills them when dockerd dies (no live-restore)
          expect(state).to.equal(engineKind(name) === 'podman' ? 'running' : 'exited');
          expect((await get(endpoint, '/_ping')).status).to.equal(200);
        }
      });
    });
  }
});

describe('engine helpers', function () {
  const fakeContext = { skip: (): never => { throw new Error('skipped'); } } as unknown as Mocha.Context;
  let saved: NodeJS.ProcessEnv;

  beforeEach(function () {
    saved = { ...process.env };
  });

  afterEach(function () {
    for (const key of Object.keys(process.env)) {
      if (!(key in saved)) {
        delete process.env[key];
      }
    }
    Object.assign(process.env, saved);
  });

  it('useEngine returns the endpoint of a running engine', function () {
    process.env['WW_DOCKER20_HOST'] = 'unix:///x/docker.sock';
    expect(useEngine(fakeContext, 'docker20')).to.equal('unix:///x/docker.sock');
  });

  it('useEngine skips a missing engine, or fails when engines are required', function () {
    delete process.env['WW_CONTAINERD16_ADDRESS'];
    delete process.env['WW_ENGINES_REQUIRED'];
    delete process.env['WW_LAB']; // prints "SKIP: containerd16 not available (… unset and no WW_LAB …)"
    expect(() => useEngine(fakeContext, 'containerd16')).to.throw('skipped');
    process.env['WW_ENGINES_REQUIRED'] = '1';
    expect(() => useEngine(fakeContext, 'containerd16')).to.throw(/containerd16 is required/);
  });
});
