// Listening on a fake's unix socket, for every fake and proxy server.

/** What {@link listenOn} needs of a server (`node:net`, `node:http`, `node:http2`). */
export interface Listenable {
  once(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
  listen(path: string, callback: () => void): unknown;
}

/** Resolves once `server` listens on the unix socket `socketPath`; rejects with the error that kept it from it. */
export function listenOn(server: Listenable, socketPath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
