// What the package specs share: where the repository is, and the rule for a
// missing dist/. These specs check the package as a user gets it (dist/ through
// package.json's exports), so they need the build that `npm test` makes before
// it runs any spec (scripts/test.mjs, step 1).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (specs run from build/spec/package/). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The built package entry. */
export const DIST_INDEX = join(ROOT, 'dist', 'index.js');

const CI = /^(true|1|yes)$/i.test(process.env['CI'] ?? '');

/**
 * Skips the calling suite with one loud line when dist/ is missing (fails it in
 * CI, where `npm test` always builds first). Call from a `before` hook.
 */
export function needDist(ctx: Mocha.Context, what: string): void {
  if (existsSync(DIST_INDEX) && existsSync(join(ROOT, 'dist', 'index.d.ts'))) return;
  const line = `${what}: dist/ is missing (no dist/index.js or dist/index.d.ts); run \`npm run build\` or \`npm test\`, which builds it first`;
  if (CI) throw new Error(line);
  console.warn(`\n  SKIPPED ${line}\n`);
  ctx.skip();
}
