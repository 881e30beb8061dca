/**
 * Progress and event logging. On a terminal a person reads one live progress bar per running stage
 * (cli-progress: rate and ETA) with events printed above the bars; anywhere else (cron, CI, a log
 * shipper) every event and a progress line every few seconds are JSON lines on stderr.
 */
import cliProgress from 'cli-progress';

export interface Logger {
  event(name: string, fields?: Record<string, unknown>): void;
  /** Returns a progress reporter for a stage of `total` units. */
  progress(stage: string, total: number, unit?: string): Progress;
}

export interface Progress {
  tick(done: number): void;
  end(): void;
}

export interface LoggerOptions {
  quiet?: boolean;
  /** JSON lines even on a terminal. */
  json?: boolean;
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Seconds between JSON progress lines of one stage (default 5). */
  progressEveryS?: number;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return silentLogger;
  if (!opts.json && stream.isTTY === true) return terminalLogger(stream);
  return jsonLogger(stream, (opts.progressEveryS ?? 5) * 1000);
}

function jsonLogger(stream: NodeJS.WritableStream, everyMs: number): Logger {
  const line = (event: string, fields: Record<string, unknown>) => stream.write(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }) + '\n');
  return {
    event(name, fields = {}) {
      line(name, fields);
    },
    progress(stage, total, unit = 'rows') {
      const start = performance.now();
      let last = start;
      let ended = false;
      let lastDone = 0;
      return {
        tick(done) {
          if (ended) return;
          lastDone = done;
          const now = performance.now();
          if (now - last < everyMs || (total > 0 && done >= total)) return;
          last = now;
          const rate = done / Math.max((now - start) / 1000, 1e-9);
          line('progress', { stage, done, total: total > 0 ? total : null, unit, rate: Math.round(rate), etaS: rate > 0 && total > 0 ? +((total - done) / rate).toFixed(1) : null });
        },
        end() {
          if (ended) return;
          ended = true;
          const secs = (performance.now() - start) / 1000;
          const n = total > 0 ? total : lastDone;
          line('stage_done', { stage, total: n, unit, seconds: +secs.toFixed(3), rate: Math.round(n / Math.max(secs, 1e-9)) });
        },
      };
    },
  };
}

interface CheckLike {
  name: string;
  value: number;
  op: string;
  threshold: number;
  passed: boolean;
  detail?: string;
}

function terminalLogger(stream: NodeJS.WriteStream): Logger {
  // One MultiBar for the logger's lifetime, so stages that overlap (an HNSW build in a worker
  // while users are embedded) each keep their own line.
  let bars: cliProgress.MultiBar | null = null;
  let open = 0;
  const multi = () => {
    bars ??= new cliProgress.MultiBar(
      {
        stream,
        format: '{stage} [{bar}] {percentage}% | {value}/{total} {unit} | {rate} {unit}/s | ETA {eta_formatted}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 50,
        fps: 5,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return bars;
  };
  const print = (text: string) => {
    if (bars) bars.log(text + '\n');
    else stream.write(text + '\n');
  };
  return {
    event(name, fields = {}) {
      const { checks, ...rest } = fields;
      print([name, ...Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)].join(' '));
      // A list of checks reads better as one line each than as one long JSON line.
      if (Array.isArray(checks)) for (const c of checks as CheckLike[]) print(`  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name} = ${c.value} (${c.op} ${c.threshold})${c.detail ? `  ${c.detail}` : ''}`);
    },
    progress(stage, total, unit = 'rows') {
      const start = performance.now();
      // A total of 0 means unknown (a stream of rows): no bar and no ETA, just the count and rate.
      const bar = multi().create(Math.max(total, 0), 0, { stage, unit, rate: 0 }, total > 0 ? {} : { format: '{stage} | {value} {unit} | {rate} {unit}/s' });
      open++;
      let ended = false;
      let lastDone: number | null = null;
      return {
        tick(done) {
          if (ended) return;
          lastDone = done;
          const secs = (performance.now() - start) / 1000;
          bar.update(done, { rate: Math.round(done / Math.max(secs, 1e-9)) });
        },
        end() {
          if (ended) return;
          ended = true;
          const secs = (performance.now() - start) / 1000;
          const final = total > 0 ? total : (lastDone ?? 0);
          bar.update(final, { rate: Math.round(final / Math.max(secs, 1e-9)) });
          bar.stop();
          if (--open === 0 && bars) {
            // Stopping the MultiBar gives the terminal back (cursor, final render) between stages.
            bars.stop();
            bars = null;
          }
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
