/**
 * The parent side of an HTTP benchmark server: fork `bench/servers/<framework>.ts` in its own
 * Node process (so the load generator and the server never share an event loop), wait for it to
 * listen, and stop it again. Only processes started here are ever signalled.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { Framework, ReadyMessage, ServerConfig, StopMessage } from './servers/protocol.js'

/** A running server child. */
export interface ServerChild {
  readonly port: number
  /** The child's process id (for CPU pinning). */
  readonly pid: number
  readonly url: string
  stop(): Promise<void>
}

const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 3_000

/**
 * Start one variant of `framework`'s server in a child process; with `profileDir`, under
 * `node --cpu-prof` (the profile is written when the child stops).
 */
export async function startServer(
  framework: Framework,
  variant: string,
  config: ServerConfig,
  profileDir?: string,
): Promise<ServerChild> {
  const entry = new URL(`./servers/${framework}.ts`, import.meta.url).pathname
  // With a profile directory each child writes its V8 CPU profiles into its own subdirectory
  // (one per thread: the largest is the main thread's) when it exits.
  const profile =
    profileDir === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `${framework}-${variant}`)}`]
  const child = fork(entry, ['--variant', variant, '--config', JSON.stringify(config)], {
    execArgv: ['--import', 'tsx', ...profile],
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${framework}/${variant} did not start within ${START_TIMEOUT_MS} ms`))
    }, START_TIMEOUT_MS)
    child.once('message', (message: ReadyMessage) => {
      clearTimeout(timer)
      resolve(message.port)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${framework}/${variant} exited with code ${code} before listening`))
    })
  })
  return { port, pid: child.pid!, url: `http://127.0.0.1:${port}/`, stop: () => stopChild(child) }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop: StopMessage = { type: 'stop' }
  child.send(stop)
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}
