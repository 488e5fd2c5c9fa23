// Every example a user can read compiles against the package itself: each
// ```ts block of README.md and each `@example` ```ts block of the TSDoc in lib/
// (not lib/gen) is written as an ES module (.mts, so top-level await is allowed)
// into a temporary folder inside the repository, where `import … from
// 'whalewatcher'` resolves through package.json's exports to dist/ (the
// package's self-reference), and type-checked with the TypeScript compiler API,
// strict. A failure names the example's file:line and the compiler's message.
// An example that uses a name it does not import or declare is a wrong example:
// fix the example, not this spec.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT, needDist } from './package-dist.js';

interface Example {
  /** Where it is written, e.g. `README.md:48` (the line of its first code line). */
  readonly where: string;
  /** Repository-relative source file and 1-based line of the example's first code line. */
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

/** The ```ts (or ```typescript) blocks of a markdown file. */
function markdownExamples(file: string): Example[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```(ts|typescript)\s*$/.test(lines[i] as string)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end] as string)) end++;
    out.push({ where: `${file}:${start + 1}`, file, line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return out;
}

/** What is left of a doc comment line without its leading ` * `. */
const docText = (line: string): string => line.replace(/^\s*\*\s?/, '');

/**
 * The `@example` blocks of the doc comments of a TypeScript file. An `@example`
 * whose body is not one ```ts block is returned as a problem instead: an
 * example the suite cannot compile is not allowed.
 */
function tsdocExamples(file: string): { examples: Example[]; problems: string[] } {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const examples: Example[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*(\/\*\*|\*)\s*@example\b/.test(lines[i] as string)) continue;
    const tagLine = i + 1;
    let j = i + 1;
    while (j < lines.length && docText(lines[j] as string).trim() === '' && !/\*\//.test(lines[j] as string)) j++;
    if (j >= lines.length || !/^```(ts|typescript)\s*$/.test(docText(lines[j] as string).trim())) {
      problems.push(`${file}:${tagLine}: @example without a \`\`\`ts block`);
      continue;
    }
    const start = j + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(docText(lines[end] as string).trim()) && !/\*\//.test(lines[end] as string)) end++;
    if (end >= lines.length || /\*\//.test(lines[end] as string)) {
      problems.push(`${file}:${tagLine}: @example block not closed with \`\`\` inside its doc comment`);
      continue;
    }
    examples.push({ where: `${file}:${start + 1}`, file, line: start + 1, code: lines.slice(start, end).map(docText).join('\n') });
    i = end;
  }
  return { examples, problems };
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return rel === 'lib/gen' ? [] : tsFiles(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** How a user compiles: strict, ES modules with Node's resolution, the package's own types checked too. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noEmit: true,
  skipLibCheck: false,
};

const readme = markdownExamples('README.md');
const fromLib = tsFiles('lib').map(tsdocExamples);
const examples = [...readme, ...fromLib.flatMap((r) => r.examples)];
const problems = fromLib.flatMap((r) => r.problems);

describe('package: every README and TSDoc example compiles against the package', function () {
  this.timeout(180_000);
  let dir: string | undefined;
  /** Example index → its diagnostics, as `file:line: TSnnnn message`. */
  const diagnostics = new Map<number, string[]>();
  /** Diagnostics in the package's own .d.ts files (e.g. a reference to a name stripped as @internal). */
  const packageDiagnostics: string[] = [];

  before(function () {
    needDist(this, 'examples.spec');
    dir = mkdtempSync(join(ROOT, 'build', 'examples-'));
    const fileOf = (i: number): string => join(dir as string, `example-${i}.mts`);
    examples.forEach((e, i) => writeFileSync(fileOf(i), `${e.code}\n`));
    const program = ts.createProgram(
      examples.map((_, i) => fileOf(i)),
      COMPILER_OPTIONS,
    );
    const byFile = new Map(examples.map((e, i) => [fileOf(i), i]));
    const format = (d: ts.Diagnostic): string => ts.flattenDiagnosticMessageText(d.messageText, '\n');
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const name = d.file?.fileName;
      const i = name === undefined ? undefined : byFile.get(name);
      if (i !== undefined && d.file !== undefined && d.start !== undefined) {
        const e = examples[i] as Example;
        const { line } = d.file.getLineAndCharacterOfPosition(d.start);
        diagnostics.set(i, [...(diagnostics.get(i) ?? []), `${e.file}:${e.line + line}: TS${d.code} ${format(d)}`]);
      } else if (name === undefined || relative(ROOT, name).startsWith('dist')) {
        packageDiagnostics.push(`${name === undefined ? '(global)' : relative(ROOT, name)}: TS${d.code} ${format(d)}`);
      }
    }
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the examples: README blocks and TSDoc @example blocks, each a ```ts block', () => {
    expect(readme.length, 'README ```ts blocks').to.be.greaterThan(0);
    expect(examples.length - readme.length, 'TSDoc @example blocks').to.be.greaterThan(0);
    expect(problems).to.deep.equal([]);
    const entries = (from: readonly Example[]) => [...new Set(from.flatMap((e) => [...e.code.matchAll(/from '(whalewatcher[^']*)'/g)].map((m) => m[1])))].sort();
    expect(entries(readme), 'package entries the README examples import').to.include.members(['whalewatcher', 'whalewatcher/testing']);
    expect(entries(examples), 'package entries all examples import').to.deep.equal(['whalewatcher', 'whalewatcher/testing']);
  });

  it('the package types (dist/**/*.d.ts) compile for a user (skipLibCheck off)', () => {
    expect(packageDiagnostics).to.deep.equal([]);
  });

  examples.forEach((e, i) => {
    it(`${e.where}`, () => {
      const found = diagnostics.get(i) ?? [];
      if (found.length > 0) expect.fail(`the example at ${e.where} does not compile:\n    ${found.join('\n    ')}`);
    });
  });
});
