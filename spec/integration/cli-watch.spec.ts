/**
 * `whalewatcher watch` as a user sees it: `node dist/cli/main.js watch` in a
 * real terminal (a tmux session of 80x24) against the harness's Docker 26,
 * the screen read back as containers start, pause and exit; then a resize,
 * `q`, and the terminal as it was. And without a terminal: printed once.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineEnv, labImage, runEngineCli, useEngine } from '../helpers/engines.js';
import { tmuxAvailable, tmuxSession } from '../helpers/tmux.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const ENGINE = 'docker26';

/** The environment of a user who set DOCKER_HOST to the lab's engine and nothing else. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: engineEnv(ENGINE)['DOCKER_HOST'] };
  for (const v of ['CONTAINERD_ADDRESS', 'CONTAINER_RUNTIME_ENDPOINT']) delete env[v];
  return env;
}

const row = (screen: readonly string[], name: string) => screen.find((l) => l.includes(` ${name} `));

describe('CLI watch (real engine, real terminal)', function () {
  this.timeout(120_000);

  it('in tmux at 80x24: draws in place as containers start, pause and exit, follows a resize, quits on q and restores the screen', async function () {
    useEngine(this, ENGINE);
    if (!tmuxAvailable()) {
      console.log('SKIP: tmux not installed (scripts/engines/install.sh installs it)');
      return this.skip();
    }
    const image = labImage(ENGINE);
    const web = `watch-web-${process.pid}`;
    const job = `watch-job-${process.pid}`;
    const term = await tmuxSession(`${process.execPath} ${CLI} watch`, 80, 24, userEnv());
    try {
      let screen = await term.waitFor((s) => s.some((l) => l.startsWith('docker  live')), 'the engine live');
      expect(await term.format('#{alternate_on}')).to.equal('1');
      expect(screen[0]).to.match(/^whalewatcher: \d+ alive on 1 engine +\d\d:\d\d:\d\d {2}q quits$/);

      await runEngineCli(ENGINE, ['run', '-d', '--name', web, '--network', 'none', '--label', 'com.docker.compose.project=watchspec', image, 'sleep', '1000']);
      screen = await term.waitFor((s) => /running/.test(row(s, web) ?? ''), `${web} running`);
      expect(row(screen, web)).to.match(new RegExp(`^watchspec +${web} +[0-9a-f]{12} +busybox:lab +\\d+ +running +\\d+s$`));
      await term.waitFor((s) => s.some((l) => l.endsWith(`started  watchspec/${web}`)), 'the start in the footer');

      await runEngineCli(ENGINE, ['pause', web]);
      await term.waitFor((s) => /paused/.test(row(s, web) ?? ''), `${web} paused`);
      await runEngineCli(ENGINE, ['unpause', web]);
      await term.waitFor((s) => /running/.test(row(s, web) ?? '') && s.some((l) => l.endsWith(`unpaused watchspec/${web}`)), `${web} unpaused`);

      await runEngineCli(ENGINE, ['run', '-d', '--name', job, '--network', 'none', image, 'sh', '-c', 'sleep 1; exit 3']);
      await term.waitFor((s) => s.some((l) => l.endsWith(`exited   ${job}  exit 3`)), `${job} exited with 3`);
      await runEngineCli(ENGINE, ['kill', web]);
      screen = await term.waitFor((s) => row(s, web) === undefined && s.some((l) => l.endsWith(`exited   watchspec/${web}  exit 137`)), `${web} killed`);
      // redrawn in place: one screen, 24 rows, none wider than 80, the title still on top
      expect(screen).to.have.length(24);
      for (const l of screen) expect([...l].length, l).to.be.at.most(80);
      expect(screen[0]).to.match(/^whalewatcher: /);

      await term.resize(120, 30);
      screen = await term.waitFor((s) => s.length === 30 && [...(s[0] ?? '')].length === 120, 'the title across 120 columns');
      expect(screen[0]).to.match(/q quits$/);
      await term.resize(60, 12);
      screen = await term.waitFor((s) => s.length === 12 && [...(s[0] ?? '')].length <= 60 && s.some((l) => l.startsWith('── recent events ──')), 'the view at 60x12');
      for (const l of screen) expect([...l].length, l).to.be.at.most(60);

      await term.sendKeys('q');
      expect(await term.exited()).to.equal('0');
      expect(await term.format('#{alternate_on}')).to.equal('0');
      // the shell's screen is back: none of the view's lines on it
      expect((await term.screen()).some((l) => l.includes('whalewatcher:') || l.includes('recent events'))).to.equal(false);
    } finally {
      await term.close();
      await runEngineCli(ENGINE, ['rm', '-f', web, job]).catch(() => undefined);
    }
  });

  it('Ctrl-C in the view quits with 130 and restores the screen', async function () {
    useEngine(this, ENGINE);
    if (!tmuxAvailable()) return this.skip();
    const term = await tmuxSession(`${process.execPath} ${CLI} watch`, 80, 24, userEnv());
    try {
      await term.waitFor((s) => s.some((l) => l.startsWith('docker  live')), 'the engine live');
      await term.sendKeys('C-c');
      expect(await term.exited()).to.equal('130');
      expect(await term.format('#{alternate_on}')).to.equal('0');
    } finally {
      await term.close();
    }
  });

  it('without a terminal: prints the view once, every container, and exits 0', async function () {
    useEngine(this, ENGINE);
    const name = `watch-once-${process.pid}`;
    await runEngineCli(ENGINE, ['run', '-d', '--name', name, '--network', 'none', labImage(ENGINE), 'sleep', '1000']);
    try {
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, 'watch'], { env: userEnv(), timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
        );
      });
      expect(r.code, r.stderr).to.equal(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).to.match(/^whalewatcher: \d+ alive on 1 engine$/);
      expect(lines[1]).to.match(/^docker {2}live {2}\d+ alive {2}docker 26\.1\.5/);
      expect(row(lines, name)).to.match(new RegExp(`^\\(none\\) +${name} +[0-9a-f]{12} +busybox:lab +\\d+ +running +\\d+s$`));
      for (const l of lines) expect([...l].length, l).to.be.at.most(80);
      expect(r.stdout).to.not.include('\x1b'); // no escape sequences into a pipe
    } finally {
      await runEngineCli(ENGINE, ['rm', '-f', name]);
    }
  });
});
