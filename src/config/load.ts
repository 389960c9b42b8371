/**
 * Reads and validates `tunnelgate.yaml` (path from `TUNNELGATE_CONFIG`, default
 * `./tunnelgate.yaml`). `${NAME}` in any string value is replaced from the environment so secrets
 * stay out of the file. Relative paths are resolved against the file's folder.
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

/** Every problem of a failed parse, one `path: message` line each (an unknown key with a guess). */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return describeUnknownKeys(TunnelgateConfig, issue.path, issue.keys, formatPath);
    }
    const where = formatPath(issue.path);
    return where === '' ? issue.message : `${where}: ${issue.message}`;
  });
}

function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_match, name: string) => {
      const found = env[name];
      if (found === undefined) {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], problems)]),
    );
  }
  return value;
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
  const problems: string[] = [];
  const raw = substituteEnv(data ?? {}, options.env ?? process.env, [], problems);
  const parsed = TunnelgateConfig.safeParse(raw);
  if (!parsed.success) {
    // A value whose variable is unset already has its problem; don't report it twice.
    const unset = new Set(problems.map((p) => p.slice(0, p.indexOf(':'))));
    problems.push(...formatIssues(parsed.error).filter((p) => !unset.has(p.slice(0, p.indexOf(':')))));
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
