/**
 * A small simulator of CloudWatch metric alarms, for tests: it reads a
 * synthesized `AWS::CloudWatch::Alarm` (a plain metric or metric math with
 * IF, FILL, AND, OR, comparisons and arithmetic), aggregates samples into the
 * alarm's periods with the alarm's statistics, evaluates the expression,
 * applies TreatMissingData and M-of-N, and says when the alarm first goes to
 * ALARM. What it models, as CloudWatch documents it: an alarm is evaluated
 * when a period ends, over the last EvaluationPeriods periods; a period
 * without data is missing; FILL(m, v) gives v where m is missing; IF(c, a, b)
 * is missing where the chosen branch is. What it leaves out: delivery delay
 * and the evaluation lag (the detection formula in src/private/detection.ts
 * adds those).
 */

/** One sample: metric values at a time (seconds from the start of the scenario). */
export interface Sample {
  readonly t: number;
  readonly values: Record<string, number>;
}

type Value = number | undefined;

/** Aggregates the samples of one metric in [start, end) with a CloudWatch statistic. */
function aggregate(samples: Sample[], metricName: string, statistic: string, start: number, end: number): Value {
  const xs = samples.filter((s) => s.t >= start && s.t < end && metricName in s.values).map((s) => s.values[metricName]);
  if (xs.length === 0) return undefined;
  switch (statistic) {
    case 'Maximum': return Math.max(...xs);
    case 'Minimum': return Math.min(...xs);
    case 'Sum': return xs.reduce((a, b) => a + b, 0);
    case 'Average': return xs.reduce((a, b) => a + b, 0) / xs.length;
    case 'SampleCount': return xs.length;
    default: {
      const p = /^p(\d+(?:\.\d+)?)$/.exec(statistic);
      if (!p) throw new Error(`statistic ${statistic} is not simulated`);
      const sorted = [...xs].sort((a, b) => a - b);
      return sorted[Math.max(0, Math.ceil((Number(p[1]) / 100) * sorted.length) - 1)];
    }
  }
}

/** Evaluates a metric math expression for one period, given the values of its metric ids. */
export function evaluateExpression(expression: string, ids: Record<string, Value>): Value {
  const tokens = expression.match(/\s*(\d+(?:\.\d+)?|[A-Za-z_]\w*|==|!=|<=|>=|[<>+\-*/(),])/g)?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, '')) throw new Error(`cannot tokenize ${expression}`);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const t = tokens[i++];
    if (expected !== undefined && t !== expected) throw new Error(`expected ${expected}, got ${t} in ${expression}`);
    return t;
  };
  const both = (a: Value, b: Value, f: (x: number, y: number) => number): Value =>
    (a === undefined || b === undefined ? undefined : f(a, b));
  const or = (): Value => {
    let a = and();
    while (peek() === 'OR') { take(); const b = and(); a = both(a, b, (x, y) => (x !== 0 || y !== 0 ? 1 : 0)); }
    return a;
  };
  const and = (): Value => {
    let a = comparison();
    while (peek() === 'AND') { take(); const b = comparison(); a = both(a, b, (x, y) => (x !== 0 && y !== 0 ? 1 : 0)); }
    return a;
  };
  const comparison = (): Value => {
    let a = additive();
    const ops: Record<string, (x: number, y: number) => boolean> = {
      '==': (x, y) => x === y, '!=': (x, y) => x !== y, '<=': (x, y) => x <= y, '>=': (x, y) => x >= y, '<': (x, y) => x < y, '>': (x, y) => x > y,
    };
    while (peek() in ops) { const op = ops[take()]; const b = additive(); a = both(a, b, (x, y) => (op(x, y) ? 1 : 0)); }
    return a;
  };
  const additive = (): Value => {
    let a = multiplicative();
    while (peek() === '+' || peek() === '-') { const op = take(); const b = multiplicative(); a = both(a, b, (x, y) => (op === '+' ? x + y : x - y)); }
    return a;
  };
  const multiplicative = (): Value => {
    let a = unary();
    while (peek() === '*' || peek() === '/') { const op = take(); const b = unary(); a = both(a, b, (x, y) => (op === '*' ? x * y : x / y)); }
    return a;
  };
  const unary = (): Value => {
    if (peek() === '-') { take(); const a = unary(); return a === undefined ? undefined : -a; }
    return primary();
  };
  const primary = (): Value => {
    const t = take();
    if (t === '(') { const a = or(); take(')'); return a; }
    if (/^\d/.test(t)) return Number(t);
    if (t === 'IF') {
      take('('); const c = or(); take(','); const a = or(); take(','); const b = or(); take(')');
      return c === undefined ? undefined : (c !== 0 ? a : b);
    }
    if (t === 'FILL') {
      take('('); const a = or(); take(','); const v = or(); take(')');
      return a === undefined ? v : a;
    }
    if (!(t in ids)) throw new Error(`unknown id ${t} in ${expression}`);
    return ids[t];
  };
  const result = or();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${expression}`);
  return result;
}

/** What a scenario's samples are keyed by: the collector's metric names, plus any other metric by name. */
export type Timeline = Sample[];

/** The synthesized properties of an alarm, as `Template.findResources` gives them. */
export type AlarmProperties = Record<string, any>;

/** The alarm's value in the period [start, start + period), or undefined when missing. */
function periodValue(alarm: AlarmProperties, samples: Sample[], start: number, period: number): Value {
  if (alarm.MetricName) {
    return aggregate(samples, alarm.MetricName, alarm.ExtendedStatistic ?? alarm.Statistic, start, start + period);
  }
  const queries = alarm.Metrics as any[];
  const ids: Record<string, Value> = {};
  for (const q of queries.filter((x) => x.MetricStat)) {
    ids[q.Id] = aggregate(samples, q.MetricStat.Metric.MetricName, q.MetricStat.Stat, start, start + period);
  }
  const out = queries.find((x) => x.ReturnData !== false && x.Expression);
  if (!out) throw new Error('no expression returns data');
  return evaluateExpression(out.Expression, ids);
}

/** The alarm's period in seconds. */
export function alarmPeriod(alarm: AlarmProperties): number {
  if (alarm.Period) return alarm.Period;
  const stats = (alarm.Metrics as any[]).filter((x) => x.MetricStat).map((x) => x.MetricStat.Period);
  return Math.max(...stats);
}

function breaches(alarm: AlarmProperties, value: number): boolean {
  const th = alarm.Threshold;
  switch (alarm.ComparisonOperator) {
    case 'GreaterThanThreshold': return value > th;
    case 'GreaterThanOrEqualToThreshold': return value >= th;
    case 'LessThanThreshold': return value < th;
    case 'LessThanOrEqualToThreshold': return value <= th;
    default: throw new Error(`operator ${alarm.ComparisonOperator}`);
  }
}

/**
 * The end times (seconds) of the periods at which the alarm is in ALARM,
 * evaluating every period from 0 to `until`.
 */
export function alarmingAt(alarm: AlarmProperties, samples: Sample[], until: number): number[] {
  const period = alarmPeriod(alarm);
  const n = alarm.EvaluationPeriods;
  const m = alarm.DatapointsToAlarm ?? n;
  const missing = alarm.TreatMissingData ?? 'missing';
  const states: (boolean | undefined)[] = [];
  const alarming: number[] = [];
  let state = false;
  for (let k = 0; (k + 1) * period <= until; k++) {
    const v = periodValue(alarm, samples, k * period, period);
    states.push(v === undefined ? undefined : breaches(alarm, v));
    const window = states.slice(-n);
    if (window.length < n) continue;
    const breaching = window.filter((b) => b === true || (b === undefined && missing === 'breaching')).length;
    const present = window.filter((b) => b !== undefined).length;
    if (breaching >= m) state = true;
    else if (present > 0 || missing === 'notBreaching') state = false;
    // 'missing' / 'ignore' with no data keep the state.
    if (state) alarming.push((k + 1) * period);
  }
  return alarming;
}

/** Seconds from `from` until the alarm first is in ALARM, or undefined when it never is. */
export function firstAlarm(alarm: AlarmProperties, samples: Sample[], from: number, until: number): number | undefined {
  const t = alarmingAt(alarm, samples, until).find((x) => x > from);
  return t === undefined ? undefined : t - from;
}

/** Samples every `step` seconds in [start, end) from a function of time (undefined: no sample). */
export function every(step: number, start: number, end: number, f: (t: number) => Record<string, number> | undefined): Sample[] {
  const out: Sample[] = [];
  for (let t = start; t < end; t += step) {
    const values = f(t);
    if (values) out.push({ t, values });
  }
  return out;
}
