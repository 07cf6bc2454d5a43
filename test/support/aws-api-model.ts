/**
 * The AWS API models from botocore (`botocore/data/<service>/<version>/service-2.json[.gz]`,
 * installed into the project venv from test/requirements.txt), and a checker for the SDK
 * calls a template makes at deploy time: `Custom::AWS` (AwsCustomResource) and the
 * integ-tests-alpha assertion calls (`Custom::DeployAssert@SdkCall...`).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { VENV, venvBin } from './python-tools';

const INSTALL = 'python3 -m venv .venv && .venv/bin/pip install -r test/requirements.txt';

let dataDir: string | undefined;

/**
 * `botocore/data` in the project venv; throws, naming the install command, when botocore
 * is missing. `python` is the venv's interpreter (another one only to test the message).
 */
export function botocoreDataDir(python = venvBin('python')): string {
  if (dataDir && python === venvBin('python')) return dataDir;
  const r = fs.existsSync(python)
    ? spawnSync(python, ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], { encoding: 'utf8' })
    : undefined;
  const dir = r?.status === 0 ? path.join(r.stdout.trim(), 'data') : undefined;
  if (!dir || !fs.existsSync(dir)) {
    throw new Error(`botocore (the AWS API models) is missing from ${VENV}`
      + `${r ? `: ${(r.stderr || r.stdout).trim().split('\n').pop()}` : ''}. Install the test tools with: ${INSTALL}`);
  }
  if (python === venvBin('python')) dataDir = dir;
  return dir;
}

/** A botocore service model (the parts used here). */
export interface ServiceModel {
  readonly directory: string;
  readonly metadata: { serviceId: string; signingName?: string; endpointPrefix: string; apiVersion: string };
  readonly operations: { [name: string]: { input?: { shape: string }; output?: { shape: string }; deprecated?: boolean } };
  readonly shapes: { [name: string]: Shape };
}

/** A botocore shape. */
export interface Shape {
  readonly type: string;
  readonly required?: string[];
  readonly members?: { [name: string]: { shape: string; deprecated?: boolean; documentation?: string } };
  readonly member?: { shape: string };
  readonly key?: { shape: string };
  readonly value?: { shape: string };
  readonly enum?: string[];
  readonly documentation?: string;
}

/** The newest `service-2.json[.gz]` of a botocore service directory. */
function modelFile(service: string): string | undefined {
  const dir = path.join(botocoreDataDir(), service);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return undefined;
  const version = fs.readdirSync(dir).filter((v) => /^\d{4}-\d{2}-\d{2}$/.test(v)).sort().pop();
  if (!version) return undefined;
  return ['service-2.json', 'service-2.json.gz'].map((f) => path.join(dir, version, f)).find((f) => fs.existsSync(f));
}

function readModelText(file: string, headOnly = false): string {
  if (!file.endsWith('.gz')) {
    if (!headOnly) return fs.readFileSync(file, 'utf8');
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(8192);
      return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
  const gz = fs.readFileSync(file);
  // The metadata comes first: the beginning of the stream is enough to read the service id.
  return zlib.gunzipSync(headOnly ? gz.subarray(0, 4096) : gz, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
}

let v2ToV3: { [v2: string]: string } | undefined;
let serviceIds: Map<string, string> | undefined;

/**
 * The name the AWS SDK for JavaScript v3 gives a service (`cloudwatch-logs`), from what
 * AwsCustomResource and integ-tests accept: a v2 name (`CloudWatchLogs`), a v3 name, or
 * a package (`@aws-sdk/client-cloudwatch-logs`). The same normalization as aws-cdk-lib's
 * custom-resources (lib/helpers-internal/sdk-info.js), with its v2-to-v3 table.
 */
export function v3ServiceName(service: string): string {
  v2ToV3 ??= JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('aws-cdk-lib/package.json')),
    'custom-resources', 'lib', 'helpers-internal', 'sdk-v2-to-v3.json'), 'utf8'));
  const name = service.toLowerCase().replace(/^@aws-sdk\/client-/, '');
  return v2ToV3![name] ?? name;
}

/** The botocore service id (directory) of an SDK service name; undefined when no model has it. */
export function botocoreServiceId(service: string): string | undefined {
  const v3 = v3ServiceName(service);
  // v3 package names are the model's serviceId, lower case, spaces as dashes.
  const key = (serviceId: string) => serviceId.toLowerCase().replace(/\s+/g, '-');
  const quick = modelFile(v3);
  if (quick && key(/"serviceId"\s*:\s*"([^"]+)"/.exec(readModelText(quick, true))?.[1] ?? '') === v3) return v3;
  if (!serviceIds) {
    const ids = new Map<string, string>();
    for (const dir of fs.readdirSync(botocoreDataDir())) {
      const file = modelFile(dir);
      const id = file && /"serviceId"\s*:\s*"([^"]+)"/.exec(readModelText(file, true))?.[1];
      if (id) ids.set(key(id), dir);
    }
    serviceIds = ids;
  }
  return serviceIds.get(v3);
}

const models = new Map<string, ServiceModel>();

/** The botocore model of a botocore service id. */
export function serviceModel(serviceId: string): ServiceModel {
  let model = models.get(serviceId);
  if (!model) {
    const file = modelFile(serviceId);
    if (!file) throw new Error(`no botocore model for ${serviceId} in ${botocoreDataDir()}`);
    model = { directory: serviceId, ...JSON.parse(readModelText(file)) } as ServiceModel;
    models.set(serviceId, model);
  }
  return model;
}

/** The operation name of an SDK action: `getCanary`, `GetCanary` and `GetCanaryCommand` are `GetCanary`. */
export function operationName(action: string): string {
  const name = action.replace(/Command$/, '');
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** One deploy-time SDK call found in a template. */
export interface SdkCall {
  /** `<template>/<logical id> (<Create|Update|...>)`. */
  readonly where: string;
  /** Who makes it: an AwsCustomResource, a Step Functions SDK task, an integ assertion. */
  readonly source: 'custom-resource' | 'state-machine' | 'assertion';
  readonly service: string;
  readonly action: string;
  readonly parameters: { [name: string]: unknown };
  /** Paths into the response the template reads: outputPaths, fromResponse, GetAtt, actualPath. */
  readonly responsePaths: string[];
  /**
   * What an integ assertion expects of the response: each leaf of its `expected`
   * (below `actualPath` when it has one) as a response path (`0` for any list element)
   * and, where the leaf is a literal, its value.
   */
  readonly expectations?: Expectation[];
}

/** One leaf of an integ assertion's `expected`. */
export interface Expectation {
  readonly path: string;
  /** The literal expected there; undefined for a pattern (a regexp, serialized JSON). */
  readonly value?: string | number | boolean;
}

/**
 * The leaves of an integ-tests-alpha `expected` (the encoded `ExpectedResult`:
 * `$Exact`, `$ObjectLike`, `$ArrayWith`, `$SerializedJson`, `$StringLike` around plain
 * JSON), as response paths below `base`.
 */
export function expectationsOf(expected: unknown, base = ''): Expectation[] {
  const join = (key: string) => (base ? `${base}.${key}` : key);
  if (expected === null || expected === undefined) return [];
  if (typeof expected === 'string' || typeof expected === 'number' || typeof expected === 'boolean') {
    return [{ path: base, value: expected }];
  }
  if (Array.isArray(expected)) return expected.flatMap((e) => expectationsOf(e, join('0')));
  const entries = Object.entries(expected as { [k: string]: unknown });
  if (entries.length === 1 && entries[0][0].startsWith('$')) {
    const [op, inner] = entries[0];
    switch (op) {
      case '$Exact': case '$ObjectLike': return expectationsOf(inner, base);
      case '$ArrayWith': return (inner as unknown[]).flatMap((e) => expectationsOf(e, join('0')));
      // A string member holding JSON, or a pattern: only the member itself is known.
      default: return [{ path: base }];
    }
  }
  return entries.flatMap(([k, v]) => expectationsOf(v, join(k)));
}

/**
 * A CloudFormation value as text: intrinsic functions become `${...}` placeholders,
 * which stand for "a value known at deploy time" in the checks.
 */
function render(v: any): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) throw new Error(`unexpected list ${JSON.stringify(v)}`);
  if ('Fn::Join' in v) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
  const [fn] = Object.keys(v);
  return `\${${fn}}`;
}

const isToken = (v: unknown) => typeof v === 'string' && v.includes('${');

/** Every deploy-time SDK call of a template. */
export function sdkCalls(template: any, name: string): SdkCall[] {
  const resources: { [id: string]: any } = template.Resources ?? {};
  // Attributes read from each custom resource anywhere in the template.
  const getAtts = new Map<string, Set<string>>();
  const walk = (v: any): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      if (Array.isArray(v['Fn::GetAtt']) && typeof v['Fn::GetAtt'][1] === 'string') {
        const [id, attr] = v['Fn::GetAtt'];
        if (!getAtts.has(id)) getAtts.set(id, new Set());
        getAtts.get(id)!.add(attr);
      }
      Object.values(v).forEach(walk);
    }
  };
  walk(template);

  const calls: SdkCall[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'Custom::AWS') {
      for (const phase of ['Create', 'Update', 'Delete']) {
        if (r.Properties[phase] === undefined) continue;
        const call = JSON.parse(render(r.Properties[phase]));
        calls.push({
          where: `${name}/${id} (${phase})`,
          source: 'custom-resource',
          service: call.service,
          action: call.action,
          parameters: call.parameters ?? {},
          responsePaths: [
            ...(call.outputPaths ?? (call.outputPath ? [call.outputPath] : [])),
            ...(call.physicalResourceId?.responsePath ? [call.physicalResourceId.responsePath] : []),
            // Attributes read from the resource come from the Create/Update response.
            ...(phase === 'Delete' ? [] : [...(getAtts.get(id) ?? [])]),
          ],
        });
      }
    } else if (r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties.DefinitionString) {
      // Step Functions' AWS SDK integrations: arn:aws:states:::aws-sdk:<service>:<action>.
      const definition = JSON.parse(render(r.Properties.DefinitionString));
      for (const [state, s] of Object.entries<any>(definition.States ?? {})) {
        const m = /^arn:[^:]*:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$/.exec(String(s.Resource ?? '').replace(/^arn:\$\{Ref\}/, 'arn:aws'));
        if (s.Type !== 'Task' || !m) continue;
        // `Key.$` takes its value from the state at run time.
        const parameters = Object.fromEntries(Object.entries<any>(s.Parameters ?? {})
          .map(([k, v]) => (k.endsWith('.$') ? [k.slice(0, -2), '${JsonPath}'] : [k, v])));
        calls.push({
          where: `${name}/${id} state "${state}"`,
          source: 'state-machine',
          service: m[1],
          action: m[2],
          parameters,
          responsePaths: s.ResultSelector ? Object.values<string>(s.ResultSelector).map((v) => String(v).replace(/^\$\./, '')) : [],
        });
      }
    } else if (typeof r.Type === 'string' && r.Type.startsWith('Custom::DeployAssert@SdkCall')) {
      const p = r.Properties;
      const parameters = Object.fromEntries(Object.entries(p.parameters ?? {})
        .map(([k, v]) => [k, JSON.parse(render(v))]));
      calls.push({
        where: `${name}/${id}`,
        source: 'assertion',
        service: p.service,
        action: p.api,
        parameters,
        responsePaths: [
          ...(p.outputPaths ?? []),
          ...(p.actualPath ? [p.actualPath] : []),
          // GetAtt `apiCallResponse.<path>` reads the flattened response.
          ...[...(getAtts.get(id) ?? [])].filter((a) => a.startsWith('apiCallResponse.')).map((a) => a.slice('apiCallResponse.'.length)),
        ],
        expectations: p.expected === undefined ? [] : expectationsOf(JSON.parse(render(p.expected)), p.actualPath ?? ''),
      });
    }
  }
  return calls;
}

/** Checks one call against the API model; returns its problems (none when it is right). */
export function checkCall(call: SdkCall): string[] {
  const problems: string[] = [];
  const at = `${call.where}: ${call.service}.${call.action}`;
  const serviceId = botocoreServiceId(call.service);
  if (!serviceId) return [`${at}: no AWS service "${call.service}" in the botocore models`];
  const model = serviceModel(serviceId);
  const opName = operationName(call.action);
  const op = model.operations[opName];
  if (!op) return [`${at}: ${model.metadata.serviceId} has no operation ${opName}`];
  if (op.deprecated) problems.push(`${at}: operation ${opName} is deprecated`);
  problems.push(...checkValue(model, op.input?.shape, call.parameters, `${at} parameters`, true));
  for (const p of call.responsePaths) {
    problems.push(...checkPath(model, op.output?.shape, p, `${at} response path "${p}"`));
  }
  for (const e of call.expectations ?? []) {
    const where = `${at} expected "${e.path}"${e.value === undefined ? '' : ` = ${JSON.stringify(e.value)}`}`;
    const pathProblems = e.path ? checkPath(model, op.output?.shape, e.path, where) : [];
    problems.push(...pathProblems);
    if (pathProblems.length === 0 && e.value !== undefined && !isToken(e.value)) {
      const shapeName = e.path ? shapeAt(model, op.output!.shape, e.path) : op.output?.shape;
      if (shapeName) problems.push(...checkValue(model, shapeName, e.value, where));
    }
  }
  return problems;
}

/** The name of the shape at a response path that `checkPath` accepted. */
function shapeAt(model: ServiceModel, shapeName: string, responsePath: string): string {
  let name = shapeName;
  for (const part of responsePath.split('.')) {
    const shape = model.shapes[name];
    name = shape.type === 'structure' ? shape.members![part].shape : shape.type === 'list' ? shape.member!.shape : shape.value!.shape;
  }
  return name;
}

/** Checks a request value against its shape: known members, required ones present, types. */
function checkValue(model: ServiceModel, shapeName: string | undefined, value: unknown, where: string, top = false): string[] {
  if (shapeName === undefined) {
    return top && value && typeof value === 'object' && Object.keys(value).length > 0
      ? [`${where}: the operation takes no input, got ${JSON.stringify(value)}`] : [];
  }
  const shape = model.shapes[shapeName];
  if (isToken(value)) {
    return shape.type === 'structure' || shape.type === 'list' || shape.type === 'map'
      ? [`${where}: a deploy-time value (${value}) where the model expects a ${shape.type} (${shapeName})`] : [];
  }
  switch (shape.type) {
    case 'structure': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: expected an object (${shapeName}), got ${JSON.stringify(value)}`];
      const obj = value as { [k: string]: unknown };
      const problems: string[] = [];
      for (const req of shape.required ?? []) {
        if (obj[req] === undefined) problems.push(`${where}: required ${shapeName}.${req} is missing`);
      }
      for (const [k, v] of Object.entries(obj)) {
        const member = shape.members?.[k];
        if (!member) {
          problems.push(`${where}: ${shapeName} has no member "${k}" (members: ${Object.keys(shape.members ?? {}).join(', ')})`);
        } else {
          if (member.deprecated) problems.push(`${where}: ${shapeName}.${k} is deprecated`);
          problems.push(...checkValue(model, member.shape, v, `${where}.${k}`));
        }
      }
      return problems;
    }
    case 'list':
      return Array.isArray(value)
        ? value.flatMap((v, i) => checkValue(model, shape.member!.shape, v, `${where}[${i}]`))
        : [`${where}: expected a list (${shapeName}), got ${JSON.stringify(value)}`];
    case 'map':
      return value && typeof value === 'object' && !Array.isArray(value)
        ? Object.entries(value).flatMap(([k, v]) => checkValue(model, shape.value!.shape, v, `${where}.${k}`))
        : [`${where}: expected a map (${shapeName}), got ${JSON.stringify(value)}`];
    case 'string':
      if (typeof value !== 'string') return [`${where}: expected a string (${shapeName}), got ${JSON.stringify(value)}`];
      return shape.enum && !shape.enum.includes(value) ? [`${where}: "${value}" is not one of ${shape.enum.join(', ')}`] : [];
    case 'integer': case 'long': case 'double': case 'float':
      // AwsCustomResource and integ-tests coerce numeric strings to numbers.
      return typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))
        ? [] : [`${where}: expected a number (${shapeName}), got ${JSON.stringify(value)}`];
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false'
        ? [] : [`${where}: expected a boolean (${shapeName}), got ${JSON.stringify(value)}`];
    default:
      return [];
  }
}

/** Checks that a flattened response path (`A.B.0.C`) exists in the response shape. */
function checkPath(model: ServiceModel, shapeName: string | undefined, responsePath: string, where: string): string[] {
  if (shapeName === undefined) return [`${where}: the operation returns nothing`];
  let shape = model.shapes[shapeName];
  let name = shapeName;
  for (const part of responsePath.split('.')) {
    let next: { shape: string; deprecated?: boolean } | undefined;
    if (shape.type === 'structure') {
      next = shape.members?.[part];
      if (!next) return [`${where}: ${name} has no member "${part}" (members: ${Object.keys(shape.members ?? {}).join(', ')})`];
      if (next.deprecated) return [`${where}: ${name}.${part} is deprecated`];
    } else if (shape.type === 'list') {
      if (!/^\d+$/.test(part)) return [`${where}: "${part}" indexes the list ${name}: expected a number`];
      next = shape.member;
    } else if (shape.type === 'map') {
      next = shape.value;
    } else {
      return [`${where}: ${name} is a ${shape.type}, it has no "${part}"`];
    }
    name = next!.shape;
    shape = model.shapes[name];
  }
  return [];
}
