/**
 * Real `redis-server` processes for tests: each one on a free loopback port with its own temp
 * directory, started, killed (SIGKILL, as a crash), stopped and restarted on the same port and
 * data directory. Also a small Redis Cluster (N masters, no replicas) built with
 * `redis-cli --cluster create`.
 *
 * When `redis-server` is not installed, suites skip with a loud reason, unless the `CI`
 * environment variable is set: then `startRedisServer` throws and the suites fail. Point
 * `REDIS_SERVER` / `REDIS_CLI` at other binaries if they are not on the PATH.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const SERVER_BINARY = process.env.REDIS_SERVER ?? 'redis-server'
const CLI_BINARY = process.env.REDIS_CLI ?? 'redis-cli'
const HOST = '127.0.0.1'

let missingReason: string | undefined | null = null

/** Why Redis tests cannot run here (`redis-server` missing or broken), or undefined. */
export function redisServerMissing(): string | undefined {
  if (missingReason === null) {
    const probe = spawnSync(SERVER_BINARY, ['--version'], { encoding: 'utf8' })
    missingReason =
      probe.error || probe.status !== 0
        ? `'${SERVER_BINARY}' is not runnable (${probe.error?.message ?? `exit ${probe.status}`}); install Debian's redis-server (see .ci/run) or set REDIS_SERVER`
        : undefined
  }
  return missingReason
}

/**
 * Options for a `describe` that needs Redis: `{ skip: reason }` when `redis-server` is missing
 * (printed loudly to stderr), `{}` otherwise. With `CI` set it never skips: the suite's
 * `startRedisServer` call then fails with the reason.
 */
export function redisSuite(): { skip?: string } {
  const reason = redisServerMissing()
  if (reason === undefined || process.env.CI) return {}
  console.error(`\n!!! SKIPPING Redis tests: ${reason}\n`)
  return { skip: reason }
}

/** A running (or stopped) redis-server. */
export interface RedisServer {
  readonly host: string
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Its data and log directory. */
  readonly dir: string
  /** Whether the process is running. */
  readonly running: boolean
  /** SIGKILL, as a crash; resolves once the process is gone and the port is free. */
  kill(): Promise<void>
  /** SIGTERM (a clean shutdown); resolves once the process is gone. */
  stop(): Promise<void>
  /** Start again on the same port and data directory (the append-only file is replayed). */
  restart(): Promise<void>
  /** Kill the process and remove its directory. */
  close(): Promise<void>
}

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /** Port to use. Default: a free port (with port + 10000 free too, for a cluster bus). */
  port?: number
  /** Extra `redis-server` arguments, such as `['--cluster-enabled', 'yes']`. */
  args?: string[]
}

const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** A port that is free now, and whose cluster bus port (port + 10000) is free too. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0)
    if (port + 10000 < 65536 && (await listenOnce(port + 10000).catch(() => 0)) !== 0) return port
  }
  throw new Error('no free port pair found')
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, HOST, () => {
      const { port: bound } = server.address() as { port: number }
      server.close(() => resolve(bound))
    })
  })
}

/**
 * Start a redis-server on loopback with an append-only file fsynced on every write, so a
 * SIGKILL loses nothing and `restart` comes back with the same data. Resolves when it answers
 * PING.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const reason = redisServerMissing()
  if (reason !== undefined) {
    throw new Error(`${reason}${process.env.CI ? ' (CI is set: failing instead of skipping)' : ''}`)
  }
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'jwt-gate-redis-'))
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--dir',
    dir,
    '--logfile',
    join(dir, 'redis.log'),
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    ...(options.args ?? []),
  ]
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    const started = spawn(SERVER_BINARY, args, { stdio: 'ignore', cwd: dir })
    child = started
    running.add(started)
    started.once('exit', () => running.delete(started))
    const exited = new Promise<never>((_, reject) =>
      started.once('exit', (code) =>
        reject(new Error(`redis-server on port ${port} exited with ${code}; see ${dir}/redis.log`)),
      ),
    )
    exited.catch(() => {}) // only raced below
    await Promise.race([waitForPong(port, 10_000), exited])
  }

  async function terminate(signal: NodeJS.Signals): Promise<void> {
    const current = child
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    const gone = new Promise((resolve) => current.once('exit', resolve))
    current.kill(signal)
    await gone
  }

  await start()
  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null
    },
    kill: () => terminate('SIGKILL'),
    stop: () => terminate('SIGTERM'),
    restart: async () => {
      await terminate('SIGKILL')
      await start()
    },
    close: async () => {
      await terminate('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A running Redis Cluster of masters only. */
export interface RedisCluster {
  readonly nodes: RedisServer[]
  /** `{ host, port }` of every master, for ioredis `Cluster` or node-redis `rootNodes`. */
  readonly startupNodes: { host: string; port: number }[]
  close(): Promise<void>
}

/**
 * Start `masters` cluster-enabled servers and join them with `redis-cli --cluster create`
 * (no replicas). Resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = []
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startRedisServer({
          args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'],
        }),
      )
    }
    const create = spawnSync(
      CLI_BINARY,
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `${HOST}:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (create.status !== 0) {
      throw new Error(
        `redis-cli --cluster create failed: ${create.error?.message ?? create.stdout + create.stderr}`,
      )
    }
    const deadline = Date.now() + 15_000
    for (const node of nodes) {
      while (!(await redisCommand(node.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} never became ok`)
        await sleep(50)
      }
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.close()))
    throw error
  }
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: HOST, port: node.port })),
    close: async () => {
      await Promise.all(nodes.map((node) => node.close()))
    },
  }
}

async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const reply = await redisCommand(port, ['PING']).catch((error: Error) => error.message)
    if (reply === 'PONG') return
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} never answered PING`)
    await sleep(20)
  }
}

/**
 * Send one command over a fresh connection and return the reply as text (simple strings,
 * errors, integers and bulk strings; enough for PING and CLUSTER INFO). Rejects on refusal.
 */
export function redisCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port })
    let buffered = ''
    socket.setTimeout(2000, () => socket.destroy(new Error('timed out')))
    socket.once('error', reject)
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const end = buffered.indexOf('\r\n')
      if (end < 0) return
      const type = buffered[0]
      const line = buffered.slice(1, end)
      if (type === '$') {
        const length = Number(line)
        if (length < 0) return done('')
        if (Buffer.byteLength(buffered) < end + 2 + length + 2) return
        return done(buffered.slice(end + 2, end + 2 + length))
      }
      done(type === '-' ? `ERR:${line}` : line)
    })
    function done(reply: string) {
      socket.destroy()
      resolve(reply)
    }
    socket.write(
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
    )
  })
}
