/**
 * Several engines in one process: a Docker, a containerd and a CRI watcher
 * composed with plain RxJS, and the CLI printing all three.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { combineLatest, filter, firstValueFrom, timeout } from 'rxjs';
import { watchContainerd, watchCri, watchDocker } from '../../lib/index.js';
import { ContainerdLab } from '../engines/containerd/containerd-lab.js';
import { CriLab } from '../engines/cri/cri-lab.js';
import { labImage, runEngineCli, useEngine } from '../helpers/engines.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'cli', 'main.js');

describe('composition of engines (real Docker 20.10 and containerd 1.7 native + CRI)', function () {
  this.timeout(120_000);
  let dockerHost: string;
  let ctdSocket: string;
  let ctd: ContainerdLab;
  let cri: CriLab;
  const dockerName = `compose-${process.pid}`;
  const ctdId = `compose-${process.pid}`;

  before(async function () {
    dockerHost = useEngine(this, 'docker20');
    ctdSocket = useEngine(this, 'containerd17');
    ctd = new ContainerdLab('containerd17');
    cri = new CriLab(ctdSocket);
    await runEngineCli('docker20', ['run', '-d', '--name', dockerName, '--network', 'none', labImage('docker20'), 'sleep', '1000']);
    await ctd.run('default', ctdId);
  });

  after(async () => {
    // nothing to clean up when the engines were not there (the specs skipped)
    if (dockerHost !== undefined) await runEngineCli('docker20', ['rm', '-f', dockerName]).catch(() => undefined);
    await ctd?.cleanup();
    await cri?.cleanup();
    cri?.close();
  });

  it('combineLatest of three watchers sees every engine\'s containers', async () => {
    const pod = await cri.runPod('compose', ['one', 'two']);
    const docker = watchDocker({ host: dockerHost });
    const containerd = watchContainerd({ address: ctdSocket });
    const k8s = watchCri({ endpoint: `unix://${ctdSocket}` });
    try {
      const [d, c, k] = await firstValueFrom(
        combineLatest([docker.portfolio$, containerd.portfolio$, k8s.portfolio$]).pipe(
          filter(([d, c, k]) => d.container(dockerName) !== undefined && c.container(ctdId) !== undefined && k.container(pod.containers['two']!) !== undefined),
          timeout(60_000),
        ),
      );
      expect(d.container(dockerName)?.pid).to.be.greaterThan(0);
      expect(c.container(ctdId)?.pid).to.be.greaterThan(0);
      expect(k.container(pod.sandboxId)?.labels['io.kubernetes.sandbox']).to.equal(''); // as the Go original sets it: the key marks a sandbox
      expect(k.container(pod.containers['one']!)?.labels['io.kubernetes.pod.name']).to.equal(pod.name);
      // each engine watched by its own watcher: CRI pods stay out of the native containerd picture (namespace k8s.io)
      expect(c.container(pod.sandboxId)).to.equal(undefined);
      const infos = await Promise.all([docker.info(), containerd.info(), k8s.info()]);
      expect(infos.map((i) => i.type)).to.deep.equal(['docker.com', 'containerd.io', 'k8s.io/cri-api']);
    } finally {
      await Promise.all([docker.close(), containerd.close(), k8s.close()]);
    }
  });

  it('the CLI prints all engines, each labelled with its engine', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'ps', '--docker', dockerHost, '--containerd', ctdSocket, '--cri', `unix://${ctdSocket}`, '--json'], { timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).to.equal(0);
    const parsed = JSON.parse(out.stdout) as { engines: { engine: string; type: string; projects: { containers: { name: string; id: string }[] }[] }[] };
    expect(parsed.engines.map((e) => `${e.engine}:${e.type}`)).to.deep.equal(['docker:docker.com', 'containerd:containerd.io', 'cri:k8s.io/cri-api']);
    const names = (i: number) => parsed.engines[i]!.projects.flatMap((p) => p.containers.map((c) => c.name));
    expect(names(0)).to.include(dockerName);
    expect(names(1)).to.include(ctdId);
    expect(names(2).length).to.be.greaterThan(0);
  });
});
