/**
 * What the numbers were measured on and with: the machine, Node, the date, the jwt-gate commit
 * and the exact version of every library compared. Ratios only mean something within one run on
 * one machine, so the report always carries this header.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, platform, release, totalmem } from 'node:os'

/** Where and when a run happened. */
export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  date: string
  commit: string
  versions: Record<string, string>
}

/** Packages whose versions the report lists (everything the suite compares or runs on). */
export const COMPARED_PACKAGES = [
  'jose',
  'fast-jwt',
  'jsonwebtoken',
  'express',
  'express-jwt',
  'jwks-rsa',
  'express-oauth2-jwt-bearer',
  'koa',
  'koa-jwt',
  'fastify',
  '@fastify/jwt',
  'autocannon',
  'lru-cache',
] as const

const ROOT = new URL('..', import.meta.url)

/** Collect the machine header. */
export function machineInfo(): MachineInfo {
  const processors = cpus()
  const versions: Record<string, string> = {}
  for (const name of COMPARED_PACKAGES) versions[name] = installedVersion(name)
  return {
    cpu: processors[0]?.model.trim() ?? 'unknown CPU',
    cores: processors.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
    commit: gitCommit(),
    versions,
  }
}

function installedVersion(name: string): string {
  try {
    const manifest = readFileSync(new URL(`node_modules/${name}/package.json`, ROOT), 'utf8')
    return (JSON.parse(manifest) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

/** `abc1234` or `abc1234+dirty`; read-only git queries. */
function gitCommit(): string {
  try {
    const cwd = new URL('.', ROOT).pathname
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' })
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'adapters'], {
      cwd,
      encoding: 'utf8',
    })
    return head.trim() + (dirty.trim() ? '+dirty' : '')
  } catch {
    return 'unknown'
  }
}
