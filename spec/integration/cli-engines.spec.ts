/**
 * The CLI with no engine named and none of DOCKER_HOST, CONTAINERD_ADDRESS and
 * CONTAINER_RUNTIME_ENDPOINT set: `engines` shows the lab's Docker 26 found
 * by the /proc scan, and `ps` and `watch` (without a terminal) discover and
 * show it, each table labelled with its engine.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enginePid, engineSocketPath, labImage, runEngineCli, useEngine } from '../helpers/engines.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const ENGINE = 'docker26';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a user with none of the engine variables set runs it. */
function cli(args: readonly string[]): Promise<Run> {
  const env = { ...process.env };
  for (const v of ['DOCKER_HOST', 'CONTAINERD_ADDRESS', 'CONTAINER_RUNTIME_ENDPOINT']) delete env[v];
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

interface EnginesJson {
  readonly engines: readonly { type: string; product?: string; endpoint: string; pid?: number; routes: { by: string; process?: string }[] }[];
}

describe('CLI without an engine named (real engine, discovery)', function () {
  this.timeout(180_000);

  it('engines: the lab engine found by the process scan, with type, product, PID and route; as a table too', async function () {
    useEngine(this, ENGINE);
    const endpoint = `unix://${engineSocketPath(ENGINE)!}`;
    const json = await cli(['engines', '--json']);
    expect(json.code, json.stderr).to.equal(0);
    const found = (JSON.parse(json.stdout) as EnginesJson).engines.find((e) => e.endpoint === endpoint);
    expect(found, json.stdout).to.not.equal(undefined);
    expect(found!.type).to.equal('docker.com');
    expect(found!.product).to.equal('docker');
    expect(found!.pid).to.equal(enginePid(ENGINE));
    expect(found!.routes.some((r) => r.by === 'process' && r.process === 'dockerd')).to.equal(true);

    const table = await cli(['engines']);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout.split('\n')[0]).to.match(/^TYPE +PRODUCT +VERSION +ENDPOINT +PID +ROUTES$/);
    const row = table.stdout.split('\n').find((l) => l.includes(` ${endpoint} `));
    expect(row, table.stdout).to.match(new RegExp(`^docker\\.com +docker +26\\.1\\.5\\S* +\\S+ +${enginePid(ENGINE)!} +.*process dockerd\\[${enginePid(ENGINE)!}\\]`));
  });

  it('ps and watch discover the engines and label each one; the lab container is under its engine', async function () {
    useEngine(this, ENGINE);
    const endpoint = `unix://${engineSocketPath(ENGINE)!}`;
    const name = `cli-disc-${process.pid}`;
    await runEngineCli(ENGINE, ['run', '-d', '--name', name, '--network', 'none', labImage(ENGINE), 'sleep', '1000']);
    try {
      // Other engines on this machine (other test runs' labs) are found too, and one of them may be on its way
      // down: the status may then be 1 with that engine's error on stderr. What is checked is our engine.
      const ps = await cli(['ps']);
      const sections = ps.stdout.split(/\n(?=ENGINE )/);
      const ours = sections.find((s) => s.includes(` at ${endpoint}:`));
      expect(ours, `${ps.stdout}\n${ps.stderr}`).to.match(/^ENGINE (docker|docker#\d+) — docker\.com 26\.1\.5\S*( \(docker\))? at /);
      expect(ours).to.include(name);
      if (ps.code !== 0) expect(ps.stderr, 'a failure, but not of our engine').to.not.include(endpoint);

      const watch = await cli(['watch']);
      const lines = watch.stdout.split('\n');
      const head = lines.find((l) => / {2}live {2}\d+ alive {2}docker 26\.1\.5/.test(l) && l.includes(endpoint.slice(0, 26)));
      expect(head, watch.stdout).to.not.equal(undefined);
      const label = head!.split(' ')[0]!;
      const at = lines.indexOf(`── ${label} ──`);
      expect(at, watch.stdout).to.be.greaterThan(0);
      const next = lines.findIndex((l, i) => i > at && l.startsWith('── '));
      expect(lines.slice(at, next < 0 ? undefined : next).some((l) => l.includes(` ${name} `)), watch.stdout).to.equal(true);
    } finally {
      await runEngineCli(ENGINE, ['rm', '-f', name]);
    }
  });
});
