/**
 * Reads and validates `tunnelgate.yaml` (path from `TUNNELGATE_CONFIG`, default
 * `./tunnelgate.yaml`). `${NAME}` in any string value is replaced from the environment so secrets
 * stay out of the file; a value that is exactly `${NAME}` with NAME unset or empty leaves its key
 * out (e.g. `SLACK_APP_TOKEN=` in an env file means "no app token"). Relative paths are resolved
 * against the file's folder.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { TunnelgateConfig } from './schema.js';
import { describeUnknownKeys } from './unknown-keys.js';

/** The path the process reads its configuration from. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TUNNELGATE_CONFIG ?? './tunnelgate.yaml');
}

/** Formats a zod issue path as `hubs[0].subnet`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc === '' ? String(part) : `${acc}.${String(part)}`;
  }, '');
}

/** The lines of one problem of a failed parse, `path: message` (an unknown key with a guess). */
function formatIssue(issue: z.ZodError['issues'][number]): string[] {
  if (issue.code === 'unrecognized_keys') {
    return describeUnknownKeys(TunnelgateConfig, issue.path, issue.keys, formatPath);
  }
  const where = formatPath(issue.path);
  return [where === '' ? issue.message : `${where}: ${issue.message}`];
}

/** Every problem of a failed parse, one `path: message` line each (an unknown key with a guess). */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.flatMap(formatIssue);
}

/** A value that is exactly `${NAME}` with NAME unset or empty: the key counts as not set. */
const NOT_SET = Symbol('not set');

/** `${NAME}` references, and the keys left out because their whole value was an unset or empty one. */
interface Substitution {
  problems: string[];
  /** Path (as {@link formatPath}) of each left-out key -> the variable it named. */
  notSet: Map<string, string>;
}

function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  out: Substitution,
): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([A-Z_][A-Z0-9_]*)\}$/.exec(value)?.[1];
    if (whole !== undefined && (env[whole] ?? '') === '') {
      out.notSet.set(formatPath(path), whole);
      return NOT_SET;
    }
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_match, name: string) => {
      const found = env[name];
      if (found === undefined) {
        out.problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      }
      return found;
    });
  }
  if (Array.isArray(value))
    return value.map((v, i) => substituteEnv(v, env, [...path, i], out)).filter((v) => v !== NOT_SET);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, v]) => [k, substituteEnv(v, env, [...path, k], out)] as const)
        .filter(([, v]) => v !== NOT_SET),
    );
  }
  return value;
}

/**
 * Without a `dataDir` key, `TUNNELGATE_DATA_DIR` names it (the Docker image sets a volume path,
 * so state never lands beside a read-only config mount); otherwise the schema's `./var` applies.
 */
function withDataDirDefault(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const fromEnv = env.TUNNELGATE_DATA_DIR ?? '';
  if (fromEnv === '' || raw === null || typeof raw !== 'object' || 'dataDir' in raw) return raw;
  return { ...raw, dataDir: fromEnv };
}

function resolvePaths(config: TunnelgateConfig, baseDir: string): TunnelgateConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...config,
    dataDir: abs(config.dataDir),
    hubs: config.hubs.map((hub) => ({
      ...hub,
      privateKeyPath: abs(hub.privateKeyPath),
      ...(hub.knownHosts === undefined ? {} : { knownHosts: abs(hub.knownHosts) }),
    })),
  };
}

/**
 * Validates configuration text. Throws CONFIG_INVALID whose message lists every problem by path,
 * e.g. `hubs[0].subnet: "10.6.0.0/33" is not a CIDR`.
 */
export function parseConfig(
  text: string,
  options: { baseDir: string; env?: NodeJS.ProcessEnv },
): TunnelgateConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`);
    throw new TunnelgateError('CONFIG_INVALID', `invalid configuration:\n${lines.join('\n')}`);
  }
  let data: unknown;
  try {
    // yaml refuses more than maxAliasCount alias expansions (an alias bomb) and unresolved aliases.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TunnelgateError('CONFIG_INVALID', `invalid configuration:\nYAML: ${reason}`, {
      hint: 'write the values out instead of nesting aliases (*name) of anchors (&name)',
    });
  }
  const env = options.env ?? process.env;
  const out: Substitution = { problems: [], notSet: new Map() };
  const raw = withDataDirDefault(substituteEnv(data ?? {}, env, [], out), env);
  const { problems } = out;
  const parsed = TunnelgateConfig.safeParse(raw);
  if (!parsed.success) {
    // A value whose variable is unset already has its problem; don't report it twice.
    const unset = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
    for (const issue of parsed.error.issues) {
      const where = formatPath(issue.path);
      const variable = out.notSet.get(where);
      if (unset.has(where)) continue;
      problems.push(
        ...(variable === undefined
          ? formatIssue(issue)
          : [`${where}: environment variable ${variable} is not set (or empty), and this key is required`]),
      );
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new TunnelgateError('CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`, {
      hint: 'fix the keys listed above; tunnelgate.example.yaml documents every key',
    });
  }
  return resolvePaths(parsed.data, options.baseDir);
}

/** Reads and validates the config file. Throws CONFIG_INVALID when it is missing or wrong. */
export function loadConfig(path = configPath(), env: NodeJS.ProcessEnv = process.env): TunnelgateConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TunnelgateError('CONFIG_INVALID', `cannot read configuration ${path}`, {
      cause,
      hint: 'copy tunnelgate.example.yaml to tunnelgate.yaml, or set TUNNELGATE_CONFIG',
    });
  }
  const config = parseConfig(text, { baseDir: dirname(path), env });
  return config;
}
