// Test helper (not a spec): a real in-process grpc-js server on a unix socket in
// a fresh temp folder, plus a leak check on the handles this process holds.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

export interface TestServer {
  readonly server: Server;
  /** `unix:///…/grpc.sock` */
  readonly address: string;
  readonly dir: string;
  /** Force-closes the server and its connections, removes the folder. Idempotent. */
  close(): Promise<void>;
}

/** Starts a grpc-js server with the given services on a private unix socket. */
export async function startTestServer(
  services: ReadonlyArray<readonly [ServiceDefinition, UntypedServiceImplementation]>,
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ww-grpc-spec-'));
  const address = `unix://${join(dir, 'grpc.sock')}`;
  const server = new Server();
  for (const [definition, implementation] of services) server.addService(definition, implementation);
  try {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(address, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
    );
  } catch (e) {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    server,
    address,
    dir,
    close() {
      closed ??= (async () => {
        server.forceShutdown();
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

const HANDLE_KINDS = /^(PipeWrap|PipeServerWrap|TCPWrap|TCPServerWrap|Timeout|Http2Session|ShutdownWrap|SimpleShutdownWrap|WriteWrap)$/;

/** Counts of socket/timer-like active resources (see `process.getActiveResourcesInfo()`). */
export function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (HANDLE_KINDS.test(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/**
 * Take the baseline inside an async hook after an `await` (mocha's timer for the
 * running hook is then counted, like the one of the `after` hook that checks).
 * Waits (up to `ms`) until no kind of handle is above its `baseline` count;
 * throws naming the leftovers otherwise.
 */
export async function expectNoLeakedHandles(baseline: Map<string, number>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const extra = [...handleCounts()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0));
    if (extra.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`leaked handles: ${extra.map(([kind, n]) => `${kind} ×${n - (baseline.get(kind) ?? 0)}`).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves on the next macrotask (lets grpc-js deliver pending events). */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
