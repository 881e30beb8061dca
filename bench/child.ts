/** Starts a server script in a child process and waits for the URL it reports. */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ChildServer {
  url: string;
  /**
   * CPU seconds the child has used so far (user + system, from /proc; NaN where there is none).
   * CPU per request is the figure a busy shared machine disturbs least: latency there measures
   * the neighbours as much as the server.
   */
  cpuSeconds(): number;
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
  const statFile = `/proc/${child.pid}/stat`;
  const ticksPerSecond = 100; // USER_HZ, fixed at 100 on Linux for /proc
  return {
    url,
    cpuSeconds() {
      try {
        // Fields after the command name (which may contain spaces, hence the split on ') ').
        const f = readFileSync(statFile, 'utf8').split(') ')[1].split(' ');
        return (Number(f[11]) + Number(f[12])) / ticksPerSecond;
      } catch {
        return NaN;
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
