import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP load balancer for the replica tests, as an operator would put HAProxy or a cloud load
 * balancer in front of several control-plane replicas: each new connection goes to the next
 * upstream in turn, and to the one after when a connect fails (a killed replica). Bytes are piped
 * untouched; the agents and the CLI talk HTTP through it as they would in production.
 */
export class TcpBalancer {
  readonly #server: Server;
  readonly #upstreams: { host: string; port: number }[];
  readonly #sockets = new Set<Socket>();
  #next = 0;
  port = 0;

  constructor(upstreams: readonly string[]) {
    this.#upstreams = upstreams.map((u) => { const url = new URL(u); return { host: url.hostname, port: Number(url.port) }; });
    this.#server = createServer((client) => this.#route(client, 0));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  #route(client: Socket, tried: number): void {
    this.#sockets.add(client);
    client.once('close', () => this.#sockets.delete(client));
    client.on('error', () => client.destroy());
    if (tried >= this.#upstreams.length) { client.destroy(); return; }
    const target = this.#upstreams[this.#next++ % this.#upstreams.length]!;
    client.pause();
    const upstream = createConnection(target);
    this.#sockets.add(upstream);
    upstream.once('close', () => this.#sockets.delete(upstream));
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      upstream.destroy();
      // Refused before a byte went through: that upstream is down, try the next one.
      if (!connected) this.#route(client, tried + 1);
      else client.destroy();
    });
    upstream.once('close', () => { if (connected) client.destroy(); });
    client.once('close', () => upstream.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
