// The lean raw Docker client of the scale benchmarks (scale.mjs, scale-diag.mjs): what the watcher's initial
// sync is measured against. node:http keep-alive, JSON.parse of every body, nothing else.
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
