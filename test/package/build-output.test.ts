/**
 * The build (what `npm start` runs first on a fresh clone) prints no warnings: a user reading
 * "is using named and default exports together" or "imported … but never used" takes it for an
 * error. Builds the JavaScript of every entry into a scratch folder (dist/ is left alone, other
 * test files read it) and fails on any warning line.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'

const root = new URL('../..', import.meta.url).pathname
const outDir = join(root, 'test-output', `build-check-${process.pid}`)
after(() => rmSync(outDir, { recursive: true, force: true }))

test('tsup builds every entry without a warning', () => {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/tsup/dist/cli-default.js'), '--out-dir', outDir, '--no-dts'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
  )
  assert.equal(build.status, 0, build.stderr)
  const output = `${build.stdout}\n${build.stderr}`
  const warnings = output
    .split('\n')
    .filter((line) => /warn|never used|named and default|error/i.test(line))
  assert.deepEqual(warnings, [])
  assert.match(output, /ESM ⚡️ Build success/)
  assert.match(output, /CJS ⚡️ Build success/)
})
