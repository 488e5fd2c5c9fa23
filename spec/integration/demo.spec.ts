/**
 * `npm run demo` in its short mode (`node scripts/demo.mjs --short`), as root,
 * in a real terminal (tmux): it opens a lab of its own (`/tmp/ww-demo.*`,
 * apart from the harness's), shows the live view changing, and leaves no
 * engine process, socket or folder behind.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enginesRequired } from '../helpers/engines.js';
import { tmuxAvailable, tmuxSession } from '../helpers/tmux.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEMO = join(ROOT, 'scripts', 'demo.mjs');

/** PIDs of processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('npm run demo (short mode)', function () {
  this.timeout(300_000);

  it('as root in a terminal: the live view shows the workload, the demo exits 0 and leaves nothing behind', async function () {
    if (process.getuid?.() !== 0 || !tmuxAvailable()) {
      const why = `SKIP: the demo needs root and tmux (uid ${process.getuid?.()}, tmux ${tmuxAvailable() ? 'present' : 'missing'})`;
      if (enginesRequired()) throw new Error(why);
      console.log(why);
      return this.skip();
    }
    // the demo's own log (on the terminal's main screen) goes to a file too, to find its lab folder
    const log = join(ROOT, 'build', `demo-${process.pid}.log`);
    const term = await tmuxSession(`bash -c '${process.execPath} ${DEMO} --short 2> >(tee ${log} >&2)'`, 100, 30, process.env);
    try {
      // the view on the screen, with the compose-labelled project of the workload
      await term.waitFor((s) => s.some((l) => /^demo +demo-web-1 /.test(l)), 'the project demo in the live view', 1200);
      // the crash with its exit code in the footer
      await term.waitFor((s) => s.some((l) => l.endsWith('exited   crashy  exit 3')), 'the crash with exit code 3', 600);
      const status = await term.exited(1200);
      const screen = await term.screen();
      expect(status, screen.join('\n')).to.equal('0');
      expect(screen.some((l) => l.includes('[demo] engine stopped, nothing left behind')), screen.join('\n')).to.equal(true);
    } finally {
      await term.close();
    }
    const text = readFileSync(log, 'utf8');
    rmSync(log);
    const lab = /lab (\/tmp\/ww-demo\.\S+)/.exec(text)?.[1];
    expect(lab, text).to.be.a('string');
    expect(existsSync(lab!), `${lab} left behind`).to.equal(false);
    expect(processesWith(lab!), `processes of ${lab}`).to.deep.equal([]);
  });

  it('without root: says what it needs and exits 2, without a stack', async function () {
    if (process.getuid?.() !== 0) return this.skip(); // as a user the demo is the thing under test already
    // as root: run it as nobody
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, DEMO], { timeout: 30_000 }, (err, _stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr }),
      );
    });
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.include('needs root').and.include('sudo npm run demo').and.include('npx whalewatcher watch');
    expect(r.stderr).to.not.match(/\n\s+at /);
  });
});
