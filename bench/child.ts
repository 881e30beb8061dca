/** Starts a server script in a child process and waits for the URL it reports. */
import { fork, type ChildProcess } from 'node:child_process';

export interface ChildServer {
  url: string;
  stop(): Promise<void>;
}

export async function startChild(script: string, args: string[], timeoutMs = 300_000): Promise<ChildServer> {
  const child: ChildProcess = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (m: { url?: string }) => {
      clearTimeout(timer);
      if (typeof m.url === 'string') resolve(m.url);
      else reject(new Error(`${script} sent ${JSON.stringify(m)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before starting`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
