// whalewatcher/testing: what a user's own tests need to run a watcher without
// any container engine. This file is that entry's public surface (package.json
// `exports["./testing"]`), listed by name like lib/index.ts;
// spec/package/public-surface.spec.ts lists its names too.

/**
 * What a user's own tests need to run a watcher without any container engine:
 * {@link fakeEngine}, a scripted in-memory engine behind the adapter seam.
 *
 * @module whalewatcher/testing
 */

export type { FakeEngine, FakeEngineOptions } from './fake-engine.js';
export { fakeEngine } from './fake-engine.js';
