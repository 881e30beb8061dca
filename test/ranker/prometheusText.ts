/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to check that /metrics
 * is what a Prometheus server would accept: every line a comment, a blank, or a well-formed
 * sample; every sample of a declared metric family.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusText {
  samples: Sample[];
  types: Map<string, string>;
  has(family: string): boolean;
  /** The value of the one sample with this name and exactly these labels; throws if absent. */
  value(name: string, labels: Record<string, string>): number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})? (\\S+)(?: -?\\d+)?$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const HELP = new RegExp(`^# HELP (${NAME}) .*$`);
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"/g;

export function parsePrometheusText(text: string): PrometheusText {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line === '') return;
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('#')) {
      const t = TYPE.exec(line);
      if (t) {
        if (types.has(t[1])) throw new Error(`${where}: second TYPE for ${t[1]}`);
        types.set(t[1], t[2]);
      } else if (!HELP.test(line)) throw new Error(`${where}: not a HELP or TYPE line`);
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a sample`);
    const value = parseValue(m[3]);
    if (value === null) throw new Error(`${where}: bad value`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL_PAIR)) labels[k] = v.replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const family = familyOf(m[1], types);
    if (family === null) throw new Error(`${where}: sample of an undeclared metric`);
    samples.push({ name: m[1], labels, value });
  });
  return {
    samples,
    types,
    has: (family) => types.has(family),
    value(name, labels) {
      const want = JSON.stringify(sortKeys(labels));
      const found = samples.filter((s) => s.name === name && JSON.stringify(sortKeys(s.labels)) === want);
      if (found.length !== 1) throw new Error(`${found.length} samples ${name}${want}`);
      return found[0].value;
    },
  };
}

/** Values are read as Go's strconv.ParseFloat reads them (Prometheus' own parser), which takes
 * NaN and Inf in any case: prom-client writes "Nan". */
function parseValue(s: string): number | null {
  const lower = s.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}

function familyOf(name: string, types: Map<string, string>): string | null {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const t = types.get(base);
      if (t === 'histogram' || t === 'summary') return base;
    }
  }
  return null;
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
