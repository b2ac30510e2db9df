/**
 * Every ```ts block in README.md and docs/*.md compiles under `tsc --strict`, as a user would
 * paste it into an ES module project with the package installed. Each block becomes its own
 * module in a temporary folder inside this repository, so `jwt-gate` and `jwt-gate/express`
 * resolve to this package itself (package.json `exports` self-reference, built `dist/` types).
 *
 * A block that is deliberately a fragment can be marked with a `<!-- snippet: skip -->` line
 * right before its fence; keep those rare. Errors are reported at the Markdown file and line.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { after, before, test } from 'node:test'

const root = new URL('../..', import.meta.url).pathname
const SKIP_MARK = '<!-- snippet: skip -->'

/** One fenced TypeScript block and where it sits. */
interface Snippet {
  file: string
  /** 1-based line of the block's first code line in `file`. */
  line: number
  code: string
}

/** The ```ts / ```typescript blocks of one Markdown file, minus the ones marked skip. */
export function extractSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n')
  const snippets: Snippet[] = []
  for (let index = 0; index < lines.length; index++) {
    const fence = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[index]!)
    if (!fence) continue
    const [, indent = '', marker = '```'] = fence
    let previous = index - 1
    while (previous >= 0 && lines[previous]!.trim() === '') previous--
    const skipped = previous >= 0 && lines[previous]!.trim() === SKIP_MARK
    const body: string[] = []
    let end = index + 1
    while (end < lines.length && lines[end]!.trim() !== marker) {
      body.push(lines[end]!.startsWith(indent) ? lines[end]!.slice(indent.length) : lines[end]!)
      end++
    }
    if (!skipped) snippets.push({ file, line: index + 2, code: body.join('\n') })
    index = end
  }
  return snippets
}

function markdownFiles(): string[] {
  const docs = join(root, 'docs')
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => join(docs, name))
    : []
  return [join(root, 'README.md'), ...pages]
}

const workDir = join(root, 'test-output', `snippets-${process.pid}`)

before(() => {
  // The snippets import the package by name: its types come from dist/.
  const built = spawnSync(process.execPath, [join(root, 'scripts/build-if-needed.mjs')], {
    cwd: root,
    stdio: 'inherit',
  })
  assert.equal(built.status, 0, 'build failed')
})
after(() => rmSync(workDir, { recursive: true, force: true }))

test('the extractor finds blocks, honours the skip mark and keeps line numbers', () => {
  const markdown = [
    '# Title', // 1
    '```ts', // 2
    'const a = 1', // 3
    '```', // 4
    '', // 5
    SKIP_MARK, // 6
    '', // 7
    '```ts', // 8
    'fragment(', // 9
    '```', // 10
    '```sh', // 11
    'npm test', // 12
    '```', // 13
    '- item', // 14
    '  ```typescript', // 15
    '  const b: number = 2', // 16
    '  ```', // 17
  ].join('\n')
  assert.deepEqual(extractSnippets('x.md', markdown), [
    { file: 'x.md', line: 3, code: 'const a = 1' },
    { file: 'x.md', line: 16, code: 'const b: number = 2' },
  ])
})

test('every TypeScript snippet in README.md and docs/*.md compiles under tsc --strict', () => {
  const snippets = markdownFiles().flatMap((file) =>
    extractSnippets(relative(root, file), readFileSync(file, 'utf8')),
  )
  assert.ok(snippets.length >= 5, `only ${snippets.length} snippets found`)
  rmSync(workDir, { recursive: true, force: true })
  mkdirSync(workDir, { recursive: true })
  const origin = new Map<string, Snippet>()
  snippets.forEach((snippet, index) => {
    const name = `snippet-${String(index).padStart(3, '0')}.ts`
    origin.set(name, snippet)
    // `export {}` makes every block its own ES module (top-level await, no shared globals),
    // as in a project with "type": "module".
    writeFileSync(join(workDir, name), `${snippet.code}\nexport {}\n`)
  })
  writeFileSync(
    join(workDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        noEmit: true,
        skipLibCheck: true,
        esModuleInterop: true,
      },
      include: ['*.ts'],
    }),
  )
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', workDir, '--pretty', 'false'],
    { cwd: root, encoding: 'utf8' },
  )
  // "snippet-003.ts(4,7): error TS…" → "README.md:70: error TS…"
  const errors = tsc.stdout
    .split('\n')
    .filter((line) => line.includes('error TS'))
    .map((line) => {
      const match = /(snippet-\d+\.ts)\((\d+),\d+\): (.*)$/.exec(line)
      const snippet = match && origin.get(match[1]!)
      return snippet ? `${snippet.file}:${snippet.line + Number(match[2]) - 1}: ${match[3]}` : line
    })
  assert.deepEqual(errors, [], `snippets that do not compile:\n${errors.join('\n')}`)
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr)
})
