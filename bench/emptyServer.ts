/**
 * The floor: a Fastify POST route that parses the same JSON bodies and answers a constant, in a
 * child process like the ranker. Whatever the ranker costs beyond this is the ranker's.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/empty', async () => ({ ok: true }));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ url });
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
