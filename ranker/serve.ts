/**
 * Starts the ranker on the store's current version: load, warm, then listen. Loading and warming
 * happen before the port opens, so a ranker that accepts connections is ready to answer them.
 */
import type { FastifyInstance } from 'fastify';
import { loadVersion } from '../shared/store/loadVersion.js';
import { buildRankerApp } from './app.js';
import { VersionHolder } from './versionHolder.js';
import { warmVersion } from './warm.js';

export interface ServeOptions {
  store: string;
  /** 0 picks a free port (the returned url says which). */
  port: number;
  /** Loopback by default: exposing the service is a deliberate choice. */
  host?: string;
  logger?: boolean;
}

export interface RunningRanker {
  app: FastifyInstance;
  url: string;
  versions: VersionHolder;
  /** Stops listening, lets requests in flight finish, then closes the version. */
  close(): Promise<void>;
}

export async function serve(opts: ServeOptions): Promise<RunningRanker> {
  const version = await loadVersion(opts.store);
  const versions = new VersionHolder();
  let app: FastifyInstance | undefined;
  try {
    await warmVersion(version);
    versions.swap(version);
    app = buildRankerApp({ getVersion: () => versions.get(), logger: opts.logger ?? true });
    const url = await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
    const running = app;
    return {
      app: running,
      url,
      versions,
      async close() {
        await running.close();
        await versions.swap(null)?.close();
      },
    };
  } catch (err) {
    await app?.close();
    await version.close();
    throw err;
  }
}
