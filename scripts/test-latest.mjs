#!/usr/bin/env node
/**
 * `npm run test:latest`: the adapter and Redis suites against what `npm install` gives a user
 * today. Installs the newest published express, koa, fastify, ioredis and redis into a temporary
 * directory, checks each against jwt-gate's peer range, then runs test/adapters and test/redis
 * with JWT_GATE_LATEST_PEERS pointing there (test/helpers/peers.ts loads the peers from it).
 * Fails on a version outside the peer range or on any test failure, so the next major of a peer
 * shows up as a red CI run here rather than as a user's bug report.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PEERS = ['express', 'koa', 'fastify', 'ioredis', 'redis']
const SUITES = ['test/adapters', 'test/redis']
const root = new URL('..', import.meta.url).pathname
const { peerDependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/** Whether `version` (x.y.z) satisfies a range of `^a.b.c` alternatives joined by `||`. */
export function satisfiesCaretRange(version, range) {
  const [major, minor, patch] = version.split(/[.+-]/).map(Number)
  if (/-/.test(version)) return false // a prerelease is never "latest" for a user
  return range.split('||').some((alternative) => {
    const match = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(alternative)
    if (!match) throw new Error(`peer range "${range}": only ^x.y.z alternatives are understood`)
    const [, a, b, c] = match.map(Number)
    if (major !== a) return false
    return minor > b || (minor === b && patch >= c)
  })
}

const dir = mkdtempSync(join(tmpdir(), 'jwt-gate-latest-'))
let failed = false
try {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true }))
  console.log(`installing the newest ${PEERS.join(', ')} into ${dir}`)
  const install = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--loglevel=error',
      ...PEERS.map((name) => `${name}@latest`),
    ],
    { stdio: 'inherit' },
  )
  if (install.status !== 0) throw new Error('npm install of the newest peers failed')

  for (const name of PEERS) {
    const { version } = JSON.parse(
      readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'),
    )
    const range = peerDependencies[name]
    const ok = satisfiesCaretRange(version, range)
    console.log(`${ok ? 'ok ' : 'NOT'} ${name}@${version} (peer range ${range})`)
    if (!ok) failed = true
  }
  if (failed) console.error('a newest peer is outside the declared range: widen it once it passes')

  const files = SUITES.flatMap((suite) =>
    readdirSync(join(root, suite))
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => `${suite}/${file}`),
  )
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-timeout=600000', ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, JWT_GATE_LATEST_PEERS: dir } },
  )
  if (run.status !== 0) failed = true
} finally {
  rmSync(dir, { recursive: true, force: true })
}
if (failed) {
  console.error('test:latest failed: see above')
  process.exit(1)
}
console.log('test:latest: the newest published peers pass the adapter and Redis suites')
