/**
 * CPU pinning for the HTTP benchmark (Linux, `taskset` from util-linux): the load generator on
 * one CPU, the servers under test on another. On a small shared machine the host's other tenants
 * change how fast our CPUs run from one second to the next; two servers measured at the same
 * time on the same CPU see the same host, so their ratio is steady where two runs a second
 * apart are not. Without `taskset` or with one CPU, nothing is pinned and the report says so.
 */
import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/** Which CPU does what, when pinning is possible. */
export interface CpuPlan {
  /** The CPU the parent (autocannon) runs on. */
  readonly loaderCpu: number
  /** The CPU every server child runs on. */
  readonly serverCpu: number
  /** Pin `pid` and all its threads to `cpu`. */
  pin(pid: number, cpu: number): void
  /** Give this process back every CPU it had before. */
  release(): void
}

/** A plan when this machine can pin (Linux, `taskset`, at least two CPUs); otherwise why not. */
export function planCpus(): CpuPlan | { unavailable: string } {
  const cpus = availableParallelism()
  if (process.platform !== 'linux') return { unavailable: `not Linux (${process.platform})` }
  if (cpus < 2) return { unavailable: 'one CPU only' }
  let original: string
  try {
    // "pid 123's current affinity list: 0,1" → "0,1"
    const line = execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' })
    original = line.trim().split(': ').pop()!
  } catch {
    return { unavailable: '`taskset` (util-linux) not found' }
  }
  const pin = (pid: number, cpu: number | string) => {
    execFileSync('taskset', ['-a', '-c', '-p', String(cpu), String(pid)], { stdio: 'ignore' })
  }
  return {
    loaderCpu: 0,
    serverCpu: 1,
    pin,
    release: () => pin(process.pid, original),
  }
}
