// The package as npm ships it: `npm pack` of the repository (dist/ built by
// `npm test` first), installed from the tarball into an empty project outside
// the repository with the install command the README recommends
// (`--omit=optional`), from the registry (npm's cache makes it fast after the
// first time). Checks what a consumer gets: no cpu-features (ssh2's optional
// native dependency, pulled in through dockerode; this repository's own
// `overrides` stub does not reach consumers), nothing native built by an install
// script, and the package loading through both `require` and `import`.
//
// The slow part (pack + install) runs once, in the `before` hook. Without the
// registry (`npm ping` fails) the suite skips with one loud line, and fails in CI.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, needDist } from './package-dist.js';

const CI = /^(true|1|yes)$/i.test(process.env['CI'] ?? '');
const INSTALL_TIMEOUT_MS = 120_000;
/** What npm prints when it cannot reach the registry. */
const NETWORK_ERROR = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT|network)\b/;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * The environment for a child npm: ours without what the npm running this suite
 * (`npm test`) tells its scripts about this repository (its package, its prefix),
 * so the child works on the empty project only.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_(local_prefix|prefix|global_prefix)$)/i.test(key) || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return env;
}

function run(command: string, args: readonly string[], cwd: string, timeout = 60_000): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout, env: childEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Every path under `dir` (relative, `/`-separated) whose last components match `tail`. */
function findUnder(dir: string, tail: RegExp): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((p) => p.split(sep).join('/'))
    .filter((p) => tail.test(p));
}

async function kilobytes(path: string): Promise<number> {
  const du = await run('du', ['-sk', path], ROOT);
  return Number(du.stdout.split('\t')[0]);
}

interface Installed {
  readonly project: string;
  readonly tarballFiles: readonly string[];
  readonly tarballBytes: number;
  readonly packMs: number;
  readonly installMs: number;
  /** npm's own count ("added N packages"). */
  readonly added: string;
}

describe('package: the packed package installed into an empty project (npm install --omit=optional)', function () {
  this.timeout(INSTALL_TIMEOUT_MS + 60_000);
  let dir: string | undefined;
  let installed: Installed | undefined;

  before(async function () {
    needDist(this, 'packed-install.spec');
    // npm retries an unreachable registry for minutes: ask it once, quickly, first
    const ping = await run('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=10000'], tmpdir(), 30_000);
    if (ping.code !== 0) {
      const line = `packed-install.spec: the npm registry is unreachable (npm ping: exit ${ping.code}, ${ping.ms} ms)`;
      if (CI) throw new Error(`${line}\n${ping.stderr}`);
      console.warn(`\n  SKIPPED ${line}\n`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'whalewatcher-packed-'));
    // dist/ is already built (npm test builds first): no prepare/prepack run here
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
    if (pack.code !== 0) throw new Error(`npm pack failed (${pack.code}): ${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; size: number; files: { path: string }[] }[];
    if (packed === undefined) throw new Error(`npm pack printed no package: ${pack.stdout}`);
    const project = join(dir, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'packed-install-consumer', private: true }));
    const install = await run(
      'npm',
      ['install', '--omit=optional', '--ignore-scripts=false', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed.filename)],
      project,
      INSTALL_TIMEOUT_MS,
    );
    if (install.code !== 0) {
      const output = `${install.stdout}\n${install.stderr}`;
      const line = `packed-install.spec: npm install of the packed package failed (exit ${install.code}, ${install.ms} ms)`;
      if (install.code === null) throw new Error(`${line}: no answer within ${INSTALL_TIMEOUT_MS} ms\n${output}`);
      if (!CI && NETWORK_ERROR.test(output)) {
        console.warn(`\n  SKIPPED ${line}: the npm registry is unreachable (${NETWORK_ERROR.exec(output)?.[1]})\n`);
        this.skip();
      }
      throw new Error(`${line}\n${output}`);
    }
    installed = {
      project,
      tarballFiles: packed.files.map((f) => f.path),
      tarballBytes: packed.size,
      packMs: pack.ms,
      installMs: install.ms,
      added: /added (\d+) packages?/.exec(install.stdout)?.[1] ?? '?',
    };
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the tarball holds the built package (dist/, with types and the CLI) and none of the sources or specs', () => {
    const { tarballFiles } = installed as Installed;
    expect(tarballFiles).to.include.members(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']);
    expect(tarballFiles.filter((f) => /^(lib|spec|scripts|build|stubs|node_modules)\//.test(f))).to.deep.equal([]);
  });

  it('installs whalewatcher with its dependencies but without cpu-features', () => {
    const { project } = installed as Installed;
    const modules = join(project, 'node_modules');
    for (const name of ['whalewatcher', 'dockerode', '@grpc/grpc-js', '@bufbuild/protobuf', 'rxjs']) {
      expect(existsSync(join(modules, name, 'package.json')), `node_modules/${name}`).to.equal(true);
    }
    expect(findUnder(modules, /(^|\/)cpu-features$/)).to.deep.equal([]);
    expect(existsSync(join(modules, '.bin', 'whalewatcher')), 'node_modules/.bin/whalewatcher').to.equal(true);
  });

  it('no install script built anything native (no build/Release, no .node file)', () => {
    const modules = join((installed as Installed).project, 'node_modules');
    expect(findUnder(modules, /(^|\/)build\/Release$|\.node$/)).to.deep.equal([]);
  });

  it("require('whalewatcher') and import('whalewatcher') give the package's exports", async () => {
    const { project } = installed as Installed;
    const keys = Object.keys((await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)) as object).sort();
    expect(keys).to.include('watchDocker');
    const print = 'console.log(JSON.stringify({ watchDocker: typeof m.watchDocker, keys: Object.keys(m).sort() }))';
    const cjs = await run(process.execPath, ['-e', `const m = require('whalewatcher'); ${print}`], project);
    expect(cjs.stderr, 'require: stderr').to.equal('');
    expect(JSON.parse(cjs.stdout), 'require').to.deep.equal({ watchDocker: 'function', keys });
    const esm = await run(process.execPath, ['--input-type=module', '-e', `const m = await import('whalewatcher'); ${print}`], project);
    expect(esm.stderr, 'import: stderr').to.equal('');
    expect(JSON.parse(esm.stdout), 'import').to.deep.equal({ watchDocker: 'function', keys });
  });

  it('reports the sizes and times (tarball, installed package, whole node_modules)', async () => {
    const { project, tarballBytes, packMs, installMs, added } = installed as Installed;
    const modules = join(project, 'node_modules');
    const own = await kilobytes(join(modules, 'whalewatcher'));
    const all = await kilobytes(modules);
    expect(own).to.be.greaterThan(0);
    expect(all).to.be.greaterThan(own);
    console.log(
      `      packed ${(tarballBytes / 1024).toFixed(0)} kB in ${packMs} ms; installed in ${(installMs / 1000).toFixed(1)} s: ` +
        `whalewatcher ${own} kB, node_modules ${all} kB (${added} packages)`,
    );
  });
});
