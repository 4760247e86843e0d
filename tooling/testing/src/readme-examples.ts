/**
 * The READMEs' examples are programs (issue 31 item 4). Every ```ts block of every README (the root
 * one, packages/*, apps/*, tooling/*) is a complete module: it imports what it uses, checks the
 * environment variables it reads, and closes what it opens. A block marked ```ts fragment (an
 * options reference, a line out of a larger program) is skipped.
 *
 * - `typecheckExamples` compiles them all, strict (the repository's tsconfig.base.json), as files
 *   of apps/api (never written: the compiler host serves them), so they resolve what an app
 *   installs: fastify, @fastify/cookie, drizzle-orm, ioredis, and every workspace package through
 *   its `source` condition (its TypeScript sources: no build needed).
 * - `mainExample` is a package README's first complete block, which verify-packages transpiles
 *   (`transpileExample`) and runs from a scratch project holding only the package's tarball and its
 *   siblings'.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const repositoryRoot = resolve(import.meta.dirname, '../../..');

export interface Example {
  /** The README, relative to the repository root. */
  readme: string;
  /** The line of the README where the code starts (the line after the opening fence). */
  line: number;
  code: string;
}

/** Every README whose ```ts blocks are checked: the root one, then packages/*, apps/*, tooling/*. */
export function readmeFiles(root = repositoryRoot): string[] {
  const files = [join(root, 'README.md')];
  for (const group of ['packages', 'apps', 'tooling']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = join(dir, entry.name, 'README.md');
      if (entry.isDirectory() && existsSync(file)) files.push(file);
    }
  }
  return files.filter((f) => existsSync(f));
}

/**
 * The complete ```ts (or ```typescript) blocks of a markdown text: an info string whose first word
 * is ts or typescript, without the word `fragment` after it. Fences of three or more backticks or
 * tildes, indented up to three spaces; a block closes at a fence of the same character at least as long.
 */
export function extractExamples(markdown: string, readme: string): Example[] {
  const examples: Example[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const words = open[2]!.trim().split(/\s+/);
    let end = i + 1;
    while (
      end < lines.length &&
      !new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(lines[end]!)
    )
      end++;
    if (/^(ts|typescript)$/i.test(words[0] ?? '') && !words.slice(1).includes('fragment')) {
      examples.push({ readme, line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return examples;
}

/** Every complete example of every README, in order. */
export function allExamples(root = repositoryRoot): Example[] {
  return readmeFiles(root).flatMap((file) => extractExamples(readFileSync(file, 'utf8'), relative(root, file)));
}

/** A package README's main example: its first complete ```ts block (undefined when it has none). */
export function mainExample(packageDir: string, root = repositoryRoot): Example | undefined {
  const file = join(packageDir, 'README.md');
  if (!existsSync(file)) return undefined;
  return extractExamples(readFileSync(file, 'utf8'), relative(root, file))[0];
}

/** The compiler options of the check: tsconfig.base.json's (strict), resolving workspace sources. */
function compilerOptions(root: string): ts.CompilerOptions {
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), (f) => readFileSync(f, 'utf8'));
  if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));
  const { options, errors } = ts.convertCompilerOptionsFromJson(base.config.compilerOptions, root);
  if (errors.length)
    throw new Error(errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('\n'));
  return {
    ...options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    customConditions: ['source'],
    moduleDetection: ts.ModuleDetectionKind.Force,
    types: ['node'],
    typeRoots: [join(root, 'apps/api/node_modules/@types'), join(root, 'node_modules/@types')],
  };
}

/** Where an example is compiled: a file of apps/api (ES module), so it resolves what the app installs. */
const virtualPath = (root: string, example: Example, index: number) =>
  join(
    root,
    'apps/api/.readme-examples',
    `${example.readme.replace(/[/\\]/g, '_').replace(/\.md$/i, '')}-${example.line}-${index}.ts`,
  );

/**
 * Type errors of the examples, each as "README:line:column: message" with the README's own line;
 * empty when every one compiles. Errors inside the workspace packages' sources are theirs (their own
 * typecheck reports them) and are not repeated here.
 */
export function typecheckExamples(examples: Example[], root = repositoryRoot): string[] {
  const options = compilerOptions(root);
  const files = new Map(examples.map((e, i) => [virtualPath(root, e, i), e] as const));
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f)?.code ?? readFile.call(host, f);
  host.getSourceFile = (f, language, ...rest) => {
    const example = files.get(f);
    if (example) return ts.createSourceFile(f, example.code, language, true);
    return getSourceFile.call(host, f, language, ...rest);
  };
  const dirs = new Set([...files.keys()].map((f) => dirname(f)));
  const { directoryExists } = host;
  host.directoryExists = (d) => dirs.has(d) || (directoryExists ? directoryExists.call(host, d) : existsSync(d));
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const problems: string[] = [];
  for (const [path, example] of files) {
    const source = program.getSourceFile(path);
    if (!source) {
      problems.push(`${example.readme}:${example.line}: not compiled`);
      continue;
    }
    for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const at = d.start === undefined ? { line: 0, character: 0 } : source.getLineAndCharacterOfPosition(d.start);
      problems.push(
        `${example.readme}:${example.line + at.line}:${at.character + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    }
  }
  for (const d of program.getOptionsDiagnostics())
    problems.push(`options: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  return problems;
}

/** An example as the JavaScript module a user's build would run (types stripped, ES2023, ESM). */
export function transpileExample(example: Example): string {
  const { outputText, diagnostics } = ts.transpileModule(example.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true },
    fileName: 'example.ts',
    reportDiagnostics: true,
  });
  if (diagnostics?.length)
    throw new Error(
      `${example.readme}:${example.line}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`,
    );
  return outputText;
}
