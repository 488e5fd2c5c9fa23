#!/usr/bin/env node
// `npm run docs [-- --out DIR]`: builds the HTML API reference of the package's
// public entry points (lib/index.ts, lib/testing/index.ts) with TypeDoc into DIR
// (default docs/; a relative DIR is taken from the current directory, which
// `npm run` sets to the repository root), and fails on any warning:
// an export without a doc comment or without an @example, a broken {@link}, a
// public type that refers to one that is not exported (see typedoc.json).
//
//   node scripts/docs.mjs [--out DIR] [--options FILE]
//
// --options: another TypeDoc options file (default typedoc.json of the
// repository; spec/package/docs.spec.ts points it at a fixture that extends it).
// Exit status: 0 when the reference is built with no warning; 1 otherwise, each
// problem on its own `[warning]` or `[error]` line naming the export and its
// file; 2 for a usage error.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node scripts/docs.mjs [--out DIR] [--options FILE]   (npm run docs -- --out DIR)';

function usage(message) {
  console.error(`docs: ${message}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const values = { '--out': 'docs', '--options': join(ROOT, 'typedoc.json') };
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
  if (name === '--help' || name === '-h') {
    console.log(USAGE);
    process.exit(0);
  }
  if (!(name in values)) usage(`unknown argument ${JSON.stringify(arg)}`);
  const value = inline ?? args[++i];
  if (value === undefined || value === '') usage(`${name} needs a value`);
  values[name] = value;
}
const out = resolve(values['--out']);
const options = resolve(values['--options']);
if (!existsSync(options)) usage(`no TypeDoc options file at ${options}`);

// TypeDoc empties its output folder first: never let that be the repository (or
// a folder holding it), nor a non-empty folder that is not an earlier reference.
if (out === ROOT || ROOT.startsWith(out + sep) || out === sep) usage(`refusing --out ${out}: it holds the repository, and TypeDoc empties its output folder`);
if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'assets', 'navigation.js'))) {
  usage(`refusing --out ${out}: a non-empty folder that is not an earlier API reference (TypeDoc empties its output folder)`);
}

const typedoc = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc');
const child = spawn(process.execPath, [typedoc, '--options', options, '--out', out], { cwd: ROOT, stdio: 'inherit' });
child.on('error', (error) => {
  console.error(`docs: cannot run TypeDoc (${typedoc}): ${error.message}`);
  process.exit(1);
});
child.on('close', (code, signal) => {
  if (code === 0) {
    const shown = relative(process.cwd(), out);
    console.log(`docs: API reference in ${shown === '' || shown.startsWith('..') ? out : shown}${sep}index.html`);
    process.exit(0);
  }
  console.error(
    `docs: failed (TypeDoc exit ${code ?? signal}); each [warning]/[error] line above names the export ` +
      '(module.Name (kind), defined in file): give it a TSDoc comment with an @example, or fix the {@link}',
  );
  process.exit(1);
});
