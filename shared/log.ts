/**
 * Progress and event logging. On a terminal a person reads one updating line per stage; anywhere
 * else (cron, CI, a log shipper) every event is one JSON line on stderr.
 */
export interface Logger {
  event(name: string, fields?: Record<string, unknown>): void;
  /** Returns a progress reporter for a stage of `total` units. */
  progress(stage: string, total: number, unit?: string): Progress;
}

export interface Progress {
  tick(done: number): void;
  end(): void;
}

export function createLogger(opts: { quiet?: boolean; json?: boolean } = {}): Logger {
  const tty = !opts.json && process.stderr.isTTY === true;
  const write = (s: string) => {
    if (!opts.quiet) process.stderr.write(s);
  };
  return {
    event(name, fields = {}) {
      if (tty) write(`${name}${Object.keys(fields).length ? ' ' + JSON.stringify(fields) : ''}\n`);
      else write(JSON.stringify({ ts: new Date().toISOString(), event: name, ...fields }) + '\n');
    },
    progress(stage, total, unit = 'rows') {
      const start = performance.now();
      let last = 0;
      return {
        tick(done) {
          const now = performance.now();
          if (now - last < (tty ? 200 : 5000) && done < total) return;
          last = now;
          const secs = (now - start) / 1000;
          const rate = done / Math.max(secs, 1e-9);
          const eta = rate > 0 ? (total - done) / rate : 0;
          if (tty) {
            const pct = total > 0 ? ((100 * done) / total).toFixed(1) : '100';
            write(`\r${stage}: ${done}/${total} ${unit} (${pct}%) ${Math.round(rate)} ${unit}/s ETA ${eta.toFixed(1)}s   `);
          } else {
            write(JSON.stringify({ ts: new Date().toISOString(), event: 'progress', stage, done, total, rate: Math.round(rate), etaS: +eta.toFixed(1) }) + '\n');
          }
        },
        end() {
          const secs = (performance.now() - start) / 1000;
          if (tty) write(`\r${stage}: ${total} ${unit} in ${secs.toFixed(2)}s (${Math.round(total / Math.max(secs, 1e-9))} ${unit}/s)          \n`);
          else write(JSON.stringify({ ts: new Date().toISOString(), event: 'stage_done', stage, total, seconds: +secs.toFixed(3) }) + '\n');
        },
      };
    },
  };
}

export const silentLogger: Logger = {
  event() {},
  progress() {
    return { tick() {}, end() {} };
  },
};
