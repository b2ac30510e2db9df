/**
 * README's options table and `OPTIONS` in src/options/options.ts must say the same thing: every
 * option (nested ones as `parent.name`) has a row, no row names an option that does not exist,
 * and each default written in README is the default the code applies.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { OPTIONS } from '../../src/options/options.js'
import type { OptionTable, TableReader } from '../../src/options/readers.js'

interface Row {
  name: string
  defaultCell: string
}

/** The rows of the table under `## Options` whose first cell is an option name in backticks. */
async function readmeRows(): Promise<Row[]> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.split(/^## Options$/m)[1]?.split(/^## /m)[0]
  assert.ok(section, 'README has an "## Options" section')
  const rows: Row[] = []
  for (const line of section.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim())
    const name = /^`([\w.]+)`$/.exec(cells[1] ?? '')?.[1]
    if (name !== undefined) rows.push({ name, defaultCell: cells[2] ?? '' })
  }
  return rows
}

interface Option {
  /** A row of its own is required for a leaf; a parent's row (`csrf`, `remoteKeys`) may be left out. */
  leaf: boolean
  default: unknown
}

/** Every option in `table`, nested tables flattened to `parent.name`. */
function flatten(table: OptionTable, prefix = ''): Map<string, Option> {
  const options = new Map<string, Option>()
  for (const [name, option] of Object.entries(table)) {
    const nested = (option.read as Partial<TableReader<OptionTable>>).table
    options.set(prefix + name, { leaf: nested === undefined, default: option.default })
    if (nested !== undefined) {
      for (const [inner, value] of flatten(nested, `${prefix}${name}.`)) options.set(inner, value)
    }
  }
  return options
}

/** A README default cell as a value: `'10m'`, `8192`, `10_000`, `true`, `[]`; else undefined (prose). */
function literal(cell: string): unknown {
  const code = /^`(.*)`$/.exec(cell)?.[1]
  if (code === undefined) return undefined
  if (/^'.*'$/.test(code)) return code.slice(1, -1)
  if (/^\d[\d_]*$/.test(code)) return Number(code.replaceAll('_', ''))
  if (code === 'true' || code === 'false') return code === 'true'
  if (code === '[]') return []
  assert.fail(`README default ${cell} is not a literal this test reads`)
}

test('every option in OPTIONS has a README row, and every README row is an option', async () => {
  const rows = await readmeRows()
  const options = flatten(OPTIONS)
  const documented = new Set(rows.map((row) => row.name))
  const missing = [...options].filter(([name, o]) => o.leaf && !documented.has(name))
  assert.deepEqual(
    missing.map(([name]) => name),
    [],
    'options without a README row',
  )
  assert.deepEqual(
    [...documented].filter((name) => !options.has(name)),
    [],
    'README rows naming no option',
  )
  assert.equal(documented.size, rows.length, 'no option has two rows')
})

test("README's defaults are the defaults OPTIONS applies", async () => {
  const options = flatten(OPTIONS)
  for (const row of await readmeRows()) {
    const option = options.get(row.name)
    if (option === undefined) continue // reported by the test above
    assert.deepEqual(
      literal(row.defaultCell),
      option.default,
      `default of ${row.name}: README says ${row.defaultCell}`,
    )
  }
})
