// What the scale benchmarks (scale.mjs, scale-diag.mjs) share: the lean raw Docker client the watcher's initial
// sync is measured against (node:http keep-alive, JSON.parse of every body, nothing else), and the fake
// engine's child process.
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';

/** GET `path` over `agent`: the parsed JSON body. */
export function getJson(socketPath, agent, path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, agent, path, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The list the watcher makes: the alive containers. */
export const LIST = `/v1.45/containers/json?filters=${encodeURIComponent(JSON.stringify({ status: ['running', 'paused'] }))}`;

/** The lean raw client: list, then every inspection with `inFlight` in flight over `sockets` keep-alive sockets; the number of PIDs read. */
export async function rawSync(socketPath, sockets, inFlight) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  try {
    const list = await getJson(socketPath, agent, LIST);
    const pids = new Array(list.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(inFlight, list.length) }, async () => {
        while (next < list.length) {
          const i = next++;
          pids[i] = (await getJson(socketPath, agent, `/v1.45/containers/${list[i].Id}/json`)).State.Pid;
        }
      }),
    );
    return pids.length;
  } finally {
    agent.destroy();
  }
}

/**
 * The fake Docker engine of the scale benchmarks (scale-engine.mjs) in a child process, so that its serving
 * is not billed to the process measured: resolves once it is up, with `ask(msg, op)` (send `msg`, resolve
 * with its answer `op`; rejects if the process exits first) and `stop()`.
 */
export async function engineProcess(script) {
  const engine = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let waiting = [];
  engine.on('message', (msg) => {
    const w = waiting.find((x) => x.op === msg.op);
    if (w !== undefined) {
      waiting = waiting.filter((x) => x !== w);
      w.resolve(msg);
    }
  });
  engine.on('exit', (code) => {
    for (const w of waiting) w.reject(new Error(`${script} exited (${code})`));
    waiting = [];
  });
  const ask = (msg, op = msg.op) =>
    new Promise((resolve, reject) => {
      waiting.push({ op, resolve, reject });
      engine.send(msg);
    });
  await new Promise((resolve) => engine.once('message', resolve)); // 'up'
  return { ask, stop: () => engine.disconnect() };
}
