/**
 * Fires n HTTP requests at once over n already-connected raw sockets. fetch() in the test's own
 * process would trickle them out over several event-loop turns, which the server (same loop)
 * then serves one by one; a real burst arrives all at once, and this is how to make one.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * `accepted` reports how many connections the server holds: the burst waits until the server has
 * accepted every socket, or a connection accepted late makes its request arrive late too.
 */
export async function rawBurst(
  baseUrl: string,
  path: string,
  bodies: unknown[],
  accepted: () => Promise<number>,
): Promise<RawResponse[]> {
  const { hostname, port } = new URL(baseUrl);
  const sockets = await Promise.all(
    bodies.map(
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(Number(port), hostname, () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  const until = Date.now() + 10_000;
  while ((await accepted()) < sockets.length && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  const replies = sockets.map(
    (s) =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        s.once('error', reject);
      }),
  );
  // One synchronous loop: every request is in the kernel before the server's next turn. The
  // write side stays open: a client FIN before the answer reads to Node as an aborted request.
  sockets.forEach((s, i) => {
    const payload = JSON.stringify(bodies[i]);
    s.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
    );
  });
  return (await Promise.all(replies)).map(parseResponse);
}

function parseResponse(raw: string): RawResponse {
  const split = raw.indexOf('\r\n\r\n');
  const [statusLine, ...headerLines] = raw.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: raw.slice(split + 4) };
}
