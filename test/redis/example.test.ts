/**
 * examples/redis-denylist.ts runs as documented against a real redis-server: instance B (a
 * child process) accepts a token, instance A logs it out, B refuses it within 1 s. The example
 * imports the public specifiers, so this also exercises the built `jwt-gate/redis`.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { redisSuite, startRedisServer, type RedisServer } from '../helpers/redis-server.js'

describe('examples/redis-denylist.ts', redisSuite(), () => {
  let server: RedisServer

  before(async () => {
    server = await startRedisServer()
  })

  after(async () => {
    await server?.close()
  })

  test('a logout in instance A is refused by instance B, another process', async () => {
    const root = new URL('../..', import.meta.url).pathname
    const example = spawn(process.execPath, ['--import', 'tsx', 'examples/redis-denylist.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, REDIS_URL: server.url },
    })
    let output = ''
    example.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => example.kill('SIGKILL'), 30_000)
    const code = await new Promise((resolve) => example.once('exit', resolve))
    clearTimeout(timer)
    assert.equal(code, 0, output)
    assert.match(output, /^instance A \(this process\): http:\/\/127\.0\.0\.1:\d+$/m)
    assert.match(output, /^instance B \(pid \d+\): +http:\/\/127\.0\.0\.1:\d+$/m)
    assert.match(output, /^GET {2}B \/me {6}→ 200$/m)
    assert.match(output, /^POST A \/logout {2}→ 204$/m)
    const refused = /^GET {2}B \/me {6}→ 401 invalid_token \(revoked\) after ([\d.]+) ms$/m.exec(
      output,
    )
    assert.ok(refused, output)
    assert.ok(Number(refused[1]) < 1000)
  })
})
