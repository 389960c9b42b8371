/**
 * A static scan for the programs the tree runs, for test/unit/deploy/deps.test.ts: the program
 * of every child_process call, of every argv array handed to the lab's and the hub's runners
 * (`host.exec([...])`, `runChecked([...])`, `must(hub, [...])`, `{ argv: [...] }` steps, what a
 * `…Argv()` function returns), the programs wrapped in those argv (`nsenter … --`,
 * `ip netns exec`, `unshare`, `sudo -n`), and the command words of sh program text (`sh -c TEXT`).
 */
import { basename } from 'node:path';
import ts from 'typescript';

/** A program found in a source, or a child_process call whose program is not a literal. */
export interface Found {
  program: string;
  where: string;
}

/** Calls whose array-literal arguments are argv: the lab's and the hub connection's runners. */
const ARGV_CALLS = new Set([
  'run',
  'runChecked',
  'exec',
  'execChecked',
  'must',
  'inHolder',
  'argv',
  'sshArgv',
  'freshSsh',
]);
const CHILD_PROCESS = new Set(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']);
const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'do', 'while', 'until', '!', '{', 'time']);
/** sh builtins (POSIX and dash): running them starts no program. */
const BUILTINS = new Set(
  'set exit return umask cd shift trap read export unset local eval break continue wait : . [ test echo printf true false kill type hash alias fi done esac }'.split(
    ' ',
  ),
);

/** The programs `argv` starts: its first element and any program a known wrapper runs. */
export function argvPrograms(argv: readonly (string | undefined)[]): string[] {
  const [first, ...rest] = argv;
  // A computed program (`${HUB_PROGRAM_DIR}/${name}`): an installed hub program, not a package's.
  if (first === undefined || first === '' || first.includes(HOLE)) return [];
  const program = basename(first);
  const inner = (from: number): string[] => [program, ...argvPrograms(rest.slice(from))];
  if (program === 'nsenter') return rest.includes('--') ? inner(rest.indexOf('--') + 1) : [program];
  if (program === 'ip' && rest[0] === 'netns' && rest[1] === 'exec') return inner(3);
  if (program === 'sudo' || program === 'unshare') {
    let i = 0;
    while (rest[i]?.startsWith('-')) i += rest[i] === '--propagation' ? 2 : 1;
    return inner(i);
  }
  if ((program === 'sh' || program === 'bash') && rest[0] === '-c' && rest[1] !== undefined) {
    return [program, ...shellCommands(rest[1])];
  }
  return [program];
}

/** Flattens sh text: quoted text becomes `_`, every command substitution its own line. */
function flatten(text: string): string {
  let out = '';
  let i = 0;
  const closers: string[] = [];
  while (i < text.length) {
    const c = text[i] ?? '';
    const top = closers.at(-1);
    const inQuotes = top === '"' || top === '))';
    const heredoc = /^<<-?\s*(['"]?)(\w+)\1/.exec(text.slice(i));
    if (inQuotes && text.startsWith(top, i)) {
      closers.pop();
      out += '_';
      i += top.length;
    } else if (heredoc && !inQuotes) {
      // A here-document is data: skip to its delimiter line.
      const end = text.indexOf(`\n${heredoc[2]}\n`, i);
      out += '_';
      i = end === -1 ? text.length : end + (heredoc[2]?.length ?? 0) + 1;
    } else if (c === '\\') {
      out += '_';
      i += 2;
    } else if (text.startsWith('$((', i)) {
      closers.push('))');
      out += ' ';
      i += 3;
    } else if (text.startsWith('$(', i)) {
      closers.push(')');
      out += '\n';
      i += 2;
    } else if (top === ')' && c === ')') {
      closers.pop();
      out += '\n';
      i += 1;
    } else if (inQuotes) {
      i += 1;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      out += '_';
      i = end === -1 ? text.length : end + 1;
    } else if (c === '"') {
      closers.push('"');
      i += 1;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i);
      out += '_';
      i = end === -1 ? text.length : end + 1;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else {
      out += c === '`' ? '\n' : c;
      i += 1;
    }
  }
  return out;
}

const SEPARATORS = new Set(['\n', ';', ';;', '|', '||', '&', '&&', '(', ')']);

/** The programs sh `text` runs: the command word of every simple command, builtins left out. */
export function shellCommands(text: string): string[] {
  const tokens = flatten(text).match(/\d*[<>]+&?\d*-?|;;|\|\||&&|[\n;|&()]|[^\s;|&()<>]+/g) ?? [];
  const found: string[] = [];
  const functions = new Set<string>();
  let start = true;
  let pattern = false;
  let caseWord = false;
  let execNext = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    if (pattern) {
      if (t === 'esac') pattern = false;
      else if (t === ')') [pattern, start] = [false, true];
      continue;
    }
    if (SEPARATORS.has(t)) {
      if (t === ';;') pattern = true;
      start = true;
      execNext = false;
      continue;
    }
    if (caseWord && t === 'in') [caseWord, pattern] = [false, true];
    if (!start) continue;
    if (/^\d*[<>]/.test(t)) {
      if (/^\d*[<>]+&?$/.test(t)) i += 1;
      continue;
    }
    if (KEYWORDS.has(t) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(t) || (execNext && t.startsWith('-'))) continue;
    if (tokens[i + 1] === '(' && tokens[i + 2] === ')') {
      functions.add(t);
      i += 2;
      continue;
    }
    start = false;
    if (t === 'exec') [start, execNext] = [true, true];
    else if (t === 'case') caseWord = true;
    else if (t === 'for' || t === 'command' || BUILTINS.has(t)) continue;
    else if (/^[A-Za-z0-9/][A-Za-z0-9_.+/-]*$/.test(t)) found.push(basename(t));
  }
  return [...new Set(found.filter((name) => !functions.has(name)))];
}

/** Stands for a template's substitution: a program named with one is computed, not literal. */
const HOLE = '\0';

/** The text of a string literal or template (each substitution as {@link HOLE}), or undefined. */
function literalText(node: ts.Node | undefined, consts: Map<string, ts.Expression>): string | undefined {
  if (node === undefined) return undefined;
  if (ts.isStringLiteralLike(node)) return node.text;
  if (ts.isTemplateExpression(node))
    return node.head.text + node.templateSpans.map((s) => `${HOLE}${s.literal.text}`).join('');
  if (ts.isIdentifier(node) && consts.has(node.text)) return literalText(consts.get(node.text), consts);
  return undefined;
}

/** The argv an array literal spells (non-literal elements as undefined; spreads of local arrays inlined). */
function arrayArgv(node: ts.Node, consts: Map<string, ts.Expression>): (string | undefined)[] | undefined {
  const target = ts.isIdentifier(node) ? consts.get(node.text) : node;
  if (target === undefined || !ts.isArrayLiteralExpression(target)) return undefined;
  return target.elements.flatMap((e) => {
    if (ts.isSpreadElement(e)) return arrayArgv(e.expression, consts) ?? [undefined];
    return [literalText(e, consts)];
  });
}

/**
 * Scans one TypeScript source. `programs`: what its child_process calls and argv arrays run.
 * `dynamic`: child_process calls whose program is neither a literal nor `process.execPath` (the
 * caller decides which of those are explained, e.g. the lab's `run(argv)`).
 */
export function scanSource(path: string, text: string): { programs: Found[]; dynamic: Found[] } {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const consts = new Map<string, ts.Expression>();
  const spawners = new Set<string>();
  const programs: Found[] = [];
  const dynamic: Found[] = [];
  const where = (node: ts.Node) =>
    `${path}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const add = (argv: (string | undefined)[] | undefined, node: ts.Node) => {
    for (const program of argvPrograms(argv ?? [])) programs.push({ program, where: where(node) });
  };
  const collect = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      if (
        /^(node:)?child_process$/.test(node.moduleSpecifier.text) &&
        bindings &&
        ts.isNamedImports(bindings)
      ) {
        for (const b of bindings.elements) {
          if (CHILD_PROCESS.has((b.propertyName ?? b.name).text)) spawners.add(b.name.text);
        }
      }
    }
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      consts.set(node.name.text, node.initializer);
      const init = node.initializer;
      // `const run = promisify(execFile)` spawns as execFile does.
      if (ts.isCallExpression(init) && init.expression.getText(source) === 'promisify') {
        const inner = init.arguments[0];
        if (inner && ts.isIdentifier(inner) && spawners.has(inner.text)) spawners.add(node.name.text);
      }
    }
    ts.forEachChild(node, collect);
  };
  collect(source);
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : callee.getText(source);
      const [first, second] = node.arguments;
      if (ts.isIdentifier(callee) && spawners.has(name) && first !== undefined) {
        const program = literalText(first, consts);
        if (program !== undefined) add([program, ...(second ? (arrayArgv(second, consts) ?? []) : [])], node);
        else if (first.getText(source) !== 'process.execPath') {
          dynamic.push({ program: first.getText(source), where: where(node) });
        }
      } else if (ARGV_CALLS.has(name)) {
        for (const arg of node.arguments) add(arrayArgv(arg, consts), arg);
      }
    }
    if (ts.isPropertyAssignment(node) && node.name.getText(source) === 'argv') {
      add(arrayArgv(node.initializer, consts), node);
    }
    // `function sshdArgv(…) { return [SSHD_PATH, …]; }`: what an argv builder returns.
    if (ts.isReturnStatement(node) && node.expression) {
      const fn = ts.findAncestor(node, ts.isFunctionDeclaration);
      if (fn?.name && /argv$/i.test(fn.name.text)) add(arrayArgv(node.expression, consts), node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { programs, dynamic };
}
