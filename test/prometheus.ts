// A small, strict parser of the Prometheus text exposition format (0.0.4), for tests: every line must be a
// HELP/TYPE comment, a blank line, or a sample `name{label="value",…} number`; a sample's family must have been
// declared by TYPE before it; histogram buckets must be cumulative and end with le="+Inf" equal to _count.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: number): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value '${s}'`);
  return Number(s);
}

function parseLabels(s: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq === -1) throw new Error(`line ${line}: bad labels '${s}'`);
    const name = s.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`line ${line}: bad label name '${name}'`);
    if (s[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`);
    let j = eq + 2;
    let value = '';
    for (; j < s.length; j++) {
      const c = s[j];
      if (c === '\\') {
        const n = s[++j];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`line ${line}: bad escape \\${n}`);
      } else if (c === '"') break;
      else if (c === '\n') throw new Error(`line ${line}: newline in label value`);
      else value += c;
    }
    if (j >= s.length) throw new Error(`line ${line}: unterminated label value`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    labels[name] = value;
    i = j + 1;
    if (i < s.length) {
      if (s[i] !== ',') throw new Error(`line ${line}: expected ',' after label ${name}`);
      i++;
    }
  }
  return labels;
}

export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (suffix && !sample.endsWith(suffix)) continue;
      const f = families.get(sample.slice(0, sample.length - suffix.length));
      if (f && (suffix === '' || f.type === 'histogram' || f.type === 'summary')) return f;
    }
    return undefined;
  };
  const seen = new Set<string>();
  text.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // other comments are allowed
      if (!NAME.test(m[2])) throw new Error(`line ${line}: bad metric name ${m[2]}`);
      let f = families.get(m[2]);
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3])) throw new Error(`line ${line}: bad type ${m[3]}`);
        if (f?.samples.length) throw new Error(`line ${line}: TYPE after samples of ${m[2]}`);
        if (f?.type) throw new Error(`line ${line}: second TYPE for ${m[2]}`);
        if (!f) families.set(m[2], (f = { name: m[2], type: m[3], samples: [] }));
        else f.type = m[3];
      } else {
        if (!f) families.set(m[2], (f = { name: m[2], type: '', samples: [] }));
        f.help = m[3];
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(raw);
    if (!m) throw new Error(`line ${line}: not a sample: ${raw}`);
    const f = familyOf(m[1]);
    if (!f || !f.type) throw new Error(`line ${line}: sample ${m[1]} has no TYPE before it`);
    const labels = m[2] ? parseLabels(m[2], line) : {};
    const key = m[1] + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seen.add(key);
    f.samples.push({ name: m[1], labels, value: parseValue(m[3], line) });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let h = series.get(key);
    if (!h) series.set(key, (h = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      h.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name === `${f.name}_count`) h.count = s.value;
    else if (s.name === `${f.name}_sum`) h.sum = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name}`);
  }
  for (const [key, h] of series) {
    const last = h.buckets[h.buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${key}: no le="+Inf" bucket`);
    for (let i = 1; i < h.buckets.length; i++) {
      if (h.buckets[i][0] <= h.buckets[i - 1][0]) throw new Error(`${f.name}${key}: buckets not in increasing le order`);
      if (h.buckets[i][1] < h.buckets[i - 1][1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (h.count !== last[1]) throw new Error(`${f.name}${key}: _count ${h.count} != +Inf bucket ${last[1]}`);
    if (h.sum === undefined) throw new Error(`${f.name}${key}: no _sum`);
  }
}

/** Sum of a family's samples whose labels include `match`. */
export function total(families: Map<string, Family>, name: string, match: Record<string, string> = {}, sampleName = name): number {
  const f = families.get(name);
  if (!f) return 0;
  return f.samples
    .filter((s) => s.name === sampleName && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}
