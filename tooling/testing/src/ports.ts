import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 now (for a server started in another process, which must be told its port). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}
