// The API reference (`npm run docs`, scripts/docs.mjs, typedoc.json): built once
// into a temporary folder, it must succeed with no warning and have a page,
// with its summary and an example, for every name the package exports (read
// from dist/*.d.ts, so a new export is covered without touching this spec). And
// the build must fail, naming the export, on what it exists to catch: TypeDoc
// runs on a small fixture project whose typedoc.json extends the repository's,
// with one export without a comment, one broken {@link} and one export without
// an @example.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import ts from 'typescript';
import { ROOT, needDist } from './package-dist.js';

const SCRIPT = join(ROOT, 'scripts', 'docs.mjs');

interface Run {
  readonly code: number;
  /** stdout and stderr together, without terminal colours. */
  readonly output: string;
}

/** Runs scripts/docs.mjs with `args` (no shell); resolves with its exit code and output. */
function docs(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      // eslint-disable-next-line no-control-regex
      resolve({ code, output: `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '') });
    });
  });
}

/** The files under `dir`, recursively, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

/** The text of an HTML page: tags removed, the few entities TypeDoc writes decoded, white space collapsed. */
const pageText = (html: string): string =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** The names an entry of the package exports, values and types, from its .d.ts (as a user sees them). */
function exportedNames(dts: string): string[] {
  const program = ts.createProgram([dts], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'], noEmit: true });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(dts) as ts.SourceFile) as ts.Symbol;
  return checker.getExportsOfModule(symbol).map((s) => s.name).sort();
}

const FIXTURE_INDEX = `/**
 * Documented, with an example.
 *
 * @example
 * \`\`\`ts
 * documented();
 * \`\`\`
 */
export function documented(): void {}

export const undocumentedThing = 1;

/**
 * Points at {@link NoSuchThing}.
 *
 * @example
 * \`\`\`ts
 * brokenLink();
 * \`\`\`
 */
export function brokenLink(): void {}

/** Documented, but without an example. */
export interface NoExample {
  /** A member. */
  readonly a: number;
}
`;

describe('package: the API reference (npm run docs)', function () {
  this.timeout(300_000);
  let tmp: string | undefined;
  let out = '';
  let built: Run;
  let fixtureOut = '';
  let fixture: Run;
  /** Page path (relative to `out`) by the exported name it documents, e.g. `watch` → `functions/whalewatcher.watch.html`. */
  const pages = new Map<string, string>();
  /** Exported names of 'whalewatcher' and of 'whalewatcher/testing'. */
  let main: string[] = [];
  let testing: string[] = [];

  before(async function () {
    needDist(this, 'docs.spec');
    tmp = mkdtempSync(join(ROOT, 'build', 'docs-'));
    out = join(tmp, 'reference');
    // the fixture: its typedoc.json extends the repository's, so the same checks apply
    const fixtureDir = join(tmp, 'fixture');
    mkdirSync(fixtureDir);
    writeFileSync(join(fixtureDir, 'index.ts'), FIXTURE_INDEX);
    writeFileSync(
      join(fixtureDir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', types: [], skipLibCheck: true }, files: ['index.ts'] }),
    );
    writeFileSync(
      join(fixtureDir, 'typedoc.json'),
      JSON.stringify({ extends: [join(ROOT, 'typedoc.json')], entryPoints: ['index.ts'], tsconfig: 'tsconfig.json', intentionallyNotExported: [] }),
    );
    fixtureOut = join(fixtureDir, 'out');
    // one after the other: the machine is shared, and each TypeDoc run takes seconds
    built = await docs(['--out', out]);
    fixture = await docs(['--options', join(fixtureDir, 'typedoc.json'), '--out', fixtureOut]);
    if (existsSync(out)) {
      for (const file of filesUnder(out)) {
        const m = /^(whalewatcher|whalewatcher_testing)\.([A-Za-z_$][\w$]*)\.html$/.exec(basename(file));
        if (m) pages.set(m[1] === 'whalewatcher' ? (m[2] as string) : `testing:${m[2] as string}`, file);
      }
    }
    main = exportedNames(join(ROOT, 'dist', 'index.d.ts'));
    testing = exportedNames(join(ROOT, 'dist', 'testing', 'index.d.ts'));
  });

  after(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('builds with exit status 0 and no warning', () => {
    const problems = built.output.split('\n').filter((line) => /\[(warning|error)\]/.test(line));
    expect(problems, 'the problems the docs build reports (each names the export and its file)').to.deep.equal([]);
    expect(built.code, `exit status; output:\n${built.output}`).to.equal(0);
    expect(built.output).to.include('docs: API reference in');
    expect(existsSync(join(out, 'index.html'))).to.equal(true);
  });

  it('has a page for every name the package exports (whalewatcher and whalewatcher/testing)', () => {
    expect(main.length).to.be.greaterThan(40);
    expect(testing).to.include('fakeEngine');
    const missing = [...main.filter((n) => !pages.has(n)), ...testing.filter((n) => !pages.has(`testing:${n}`)).map((n) => `whalewatcher/testing ${n}`)];
    expect(missing, 'exports without a page').to.deep.equal([]);
  });

  for (const [name, entry, summary] of [
    ['watch', 'whalewatcher', 'Starts watching the engine behind'],
    ['watchDocker', 'whalewatcher', 'Watches a Docker engine'],
    ['watchContainerd', 'whalewatcher', 'Watches a containerd daemon'],
    ['watchCri', 'whalewatcher', 'Watches a CRI runtime'],
    ['Watcher', 'whalewatcher', 'A live, in-memory picture of one engine'],
    ['Portfolio', 'whalewatcher', 'The alive containers of one engine'],
    ['EngineAdapter', 'whalewatcher', 'The seam between I/O and the pure core'],
    ['discoverEngines', 'whalewatcher', 'Finds the container engines on this host'],
    ['fakeEngine', 'whalewatcher/testing', 'an engine in memory whose containers'],
  ] as const) {
    it(`the page of ${name} has its summary and an example importing from '${entry}'`, () => {
      const page = pages.get(entry === 'whalewatcher' ? name : `testing:${name}`);
      expect(page, `a page for ${name}`).to.be.a('string');
      const text = pageText(readFileSync(join(out, page as string), 'utf8'));
      expect(text).to.include(summary);
      expect(text).to.match(new RegExp(`Example .*import \\{[^}]*\\} from '${entry}'`));
    });
  }

  it('every page of an export shows an example', () => {
    const without = [...main, ...testing.map((n) => `testing:${n}`)].filter((n) => {
      const page = pages.get(n);
      return page !== undefined && !/ Example /.test(pageText(readFileSync(join(out, page), 'utf8')));
    });
    expect(without).to.deep.equal([]);
  });

  it('the watchers and adapters say whether they are hot or cold, and what tears them down', () => {
    const text = (name: string): string => {
      const page = pages.get(name);
      expect(page, `a page for ${name}`).to.be.a('string');
      return pageText(readFileSync(join(out, page as string), 'utf8'));
    };
    for (const name of ['watch', 'watchDocker', 'watchContainerd', 'watchCri', 'Watcher']) {
      expect(text(name), name).to.match(/\bHot\b/);
      expect(text(name), name).to.match(/close\(\)/);
    }
    for (const name of ['dockerAdapter', 'containerdAdapter', 'criAdapter']) {
      expect(text(name), name).to.match(/\bCold\b/);
      expect(text(name), name).to.match(/dispose\(\)/);
    }
  });

  it('fails (exit status 1) on a fixture with an undocumented export, a broken {@link} and an export without an example, naming each', () => {
    expect(fixture.code, `exit status; output:\n${fixture.output}`).to.equal(1);
    expect(fixture.output).to.match(/\[warning\] undocumentedThing \(Variable\), defined in .*index\.ts, does not have any documentation/);
    expect(fixture.output).to.match(/\[warning\] Failed to resolve link to "NoSuchThing" in comment for brokenLink/);
    expect(fixture.output).to.match(/\[warning\] NoExample \(Interface\), defined in .*index\.ts:\d+, has no @example/);
    expect(fixture.output, 'a documented export with an example is not reported').to.not.match(/\bdocumented \(/);
    expect(fixture.output).to.include('docs: failed');
    expect(existsSync(join(fixtureOut, 'index.html')), 'no reference written').to.equal(false);
  });

  it('refuses an --out that holds the repository or a non-empty folder that is not a reference (TypeDoc empties it), exit status 2', async () => {
    const root = await docs(['--out', ROOT]);
    expect(root.code).to.equal(2);
    expect(root.output).to.include('refusing --out');
    const other = await docs(['--out', join(ROOT, 'lib')]);
    expect(other.code).to.equal(2);
    expect(other.output).to.include('not an earlier API reference');
    expect(existsSync(join(ROOT, 'lib', 'index.ts'))).to.equal(true);
    const unknown = await docs(['--outdir', 'x']);
    expect(unknown.code).to.equal(2);
  });
});
