// A CommonJS consumer can use the package: `require('whalewatcher')` loads the
// ESM entry through package.json's `require` condition (Node ≥ 20.19 and ≥ 22.12
// require() an ES module graph without top-level await), from a project of its
// own outside this repository that has the package in its node_modules, as an
// install would. A TypeScript CommonJS file (.cts, module NodeNext) resolves the
// package's types the same way.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { ROOT, needDist } from './package-dist.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function node(args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

const CONSUMER = `'use strict';
const ww = require('whalewatcher');
const watcher = ww.watchDocker({ host: 'unix:///nonexistent/whalewatcher-cjs-spec.sock', retry: false });
watcher.ready.then(
  () => console.log(JSON.stringify({ ready: 'resolved' })),
  (e) =>
    watcher.close().then(() =>
      console.log(JSON.stringify({
        watchDocker: typeof ww.watchDocker,
        keys: Object.keys(ww).sort(),
        rejectedWith: ww.isEngineError(e) ? e.code : String(e),
      })),
    ),
);
`;

const TESTING_CONSUMER = `'use strict';
const { watch } = require('whalewatcher');
const testing = require('whalewatcher/testing');
const fake = testing.fakeEngine({ containers: [{ id: 'c1', name: 'web', pid: 4242 }] });
const watcher = watch(fake.adapter);
watcher.ready
  .then(() => watcher.close())
  .then(() => console.log(JSON.stringify({ keys: Object.keys(testing).sort(), web: watcher.portfolio.container('web')?.pid, streams: fake.streams })));
`;

const TS_CONSUMER = `import { type Watcher, isEngineError, watchDocker } from 'whalewatcher';
const watcher: Watcher = watchDocker({ host: 'unix:///nonexistent/whalewatcher-cjs-spec.sock', retry: false });
watcher.ready.catch((e: unknown) => console.log(isEngineError(e) ? e.code : e)).finally(() => watcher.close());
`;

describe('package: CommonJS consumers', function () {
  this.timeout(120_000);
  let project: string | undefined;

  before(function () {
    needDist(this, 'commonjs.spec');
    project = mkdtempSync(join(tmpdir(), 'whalewatcher-cjs-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'cjs-consumer', private: true, type: 'commonjs' }));
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(ROOT, join(project, 'node_modules', 'whalewatcher'), 'dir');
    writeFileSync(join(project, 'consumer.cjs'), CONSUMER);
    writeFileSync(join(project, 'consumer.cts'), TS_CONSUMER);
    writeFileSync(join(project, 'testing-consumer.cjs'), TESTING_CONSUMER);
  });

  after(() => {
    if (project !== undefined) rmSync(project, { recursive: true, force: true });
  });

  it(`require('whalewatcher') gives the package's exports, and a watcher works, without any warning (node ${process.version})`, async () => {
    const esm = (await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)) as Record<string, unknown>;
    const run = await node(['consumer.cjs'], project as string);
    expect(run.stderr, 'stderr').to.equal('');
    expect(run.code, 'exit code').to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.equal({
      watchDocker: 'function',
      keys: Object.keys(esm).sort(),
      rejectedWith: 'unreachable',
    });
  });

  it("require('whalewatcher/testing') gives its exports, and a watcher over its fake engine works", async () => {
    const esm = (await import(pathToFileURL(join(ROOT, 'dist', 'testing', 'index.js')).href)) as Record<string, unknown>;
    const run = await node(['testing-consumer.cjs'], project as string);
    expect(run.stderr, 'stderr').to.equal('');
    expect(run.code, 'exit code').to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.equal({ keys: Object.keys(esm).sort(), web: 4242, streams: 0 });
  });

  it('a TypeScript CommonJS file (.cts, module NodeNext) type-checks against the package', () => {
    const file = join(project as string, 'consumer.cts');
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      strict: true,
      noEmit: true,
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file === undefined ? '' : relative(project as string, d.file.fileName)}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(problems).to.deep.equal([]);
    expect(program.getSourceFile(join(ROOT, 'dist', 'index.d.ts')), 'resolved to dist/index.d.ts').to.not.equal(undefined);
  });
});
