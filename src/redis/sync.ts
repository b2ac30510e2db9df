/**
 * Keeps the replica current. One loop on one dedicated connection:
 *
 *   full load   note where the log stands (its counter and last ID, atomically), then ZSCAN
 *               the three sorted sets into the replica (changes made meanwhile are in the log
 *               after that point and get replayed: merges are idempotent, so no snapshot
 *               isolation is needed)
 *   tail        XREAD BLOCK from the last ID seen; a reply proves the replica current as of the
 *               moment the read was sent. Each entry's `n` must be the last one's plus 1; a
 *               skip means entries were lost (trimmed or expired unread) → full load
 *   check       after any failure (Redis gone, reconnecting): if the first entry after the last
 *               one seen is the next `n`, nothing was lost and tailing resumes where it stopped
 *               (incremental resync); otherwise a full load
 *
 * Failures never escape: each one becomes a retry with backoff, and the replica simply stops
 * being fresh. A command that hangs (a half-open socket) times out and the connection is
 * replaced.
 */
import { performance } from 'node:perf_hooks'
import type { AdaptedClient, OwnedConnection } from './client.js'
import type { Freshness } from './freshness.js'
import type { DenylistConfig } from './options.js'
import type { Replica } from './replica.js'
import { counter, parsePosition, parseRead, parseScan, seconds } from './replies.js'
import { afterCall, positionCall, runScript, type ScriptCall } from './scripts.js'

/** Entries per XREAD / ZSCAN page. */
const PAGE = 1000
const MIN_BACKOFF_MS = 50

/** What the loop reports. */
export interface SyncEvents {
  synced(full: boolean, durationMs: number): void
  /** The first failure after a success (or at start). */
  failed(error: unknown): void
  /** Bad data in Redis, ignored. */
  warning(message: string, key: string): void
}

/** A running sync loop. */
export interface Sync {
  stop(): void
}

/** Marks the errors of commands that did not answer in time (a hung socket, likely). */
const TIMED_OUT = Symbol('timed out')
const timedOut = (error: unknown) =>
  typeof error === 'object' && error !== null && TIMED_OUT in error

/** Start the loop. It runs until `stop()`. */
export function startSync(
  client: AdaptedClient,
  config: DenylistConfig,
  replica: Replica,
  freshness: Freshness,
  events: SyncEvents,
): Sync {
  const { keys } = config
  let stopped = false
  /** The log position the replica is current with: last entry ID and its `n`. */
  let lastId = '0-0'
  let lastSeq = 0
  let connection: OwnedConnection = open()
  let onStop!: () => void
  const stopping = new Promise<void>((resolve) => (onStop = resolve))
  const maxBackoffMs = Math.max(MIN_BACKOFF_MS, Math.min(1000, config.maxStalenessMs / 4))

  function replaceConnection(): void {
    connection.close()
    connection = open()
  }

  function open(): OwnedConnection {
    return client.openConnection((error) => {
      if (!stopped) reportFailure(error)
    })
  }

  // One report per run of failures: reconnect attempts can fail many times a second.
  let reported = false
  function reportFailure(error: unknown): void {
    if (reported) return
    reported = true
    events.failed(error)
  }

  /** Run a command with a deadline; a late reply is dropped (and its rejection handled). */
  function send(key: string, args: string[], timeoutMs = config.commandTimeoutMs) {
    const reply = connection.send(key, args)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`${args[0]} timed out`), { [TIMED_OUT]: true })),
        timeoutMs,
      )
      timer.unref()
    })
    reply.catch(() => {})
    return Promise.race([reply, deadline]).finally(() => clearTimeout(timer))
  }

  /** Run a script on the sync connection, under the same deadline as any command. */
  const script = (call: ScriptCall) => runScript((key, args) => send(key, args), call)

  const nowSeconds = () => Math.floor(Date.now() / 1000)

  /** Apply one log entry to the replica; false if it is malformed. */
  function apply(fields: Map<string, string>, now: number): boolean {
    const id = fields.get('id')
    switch (fields.get('kind')) {
      case 'jti':
        return replica.addToken(id, seconds(fields.get('exp')), now)
      case 'sub':
        return replica.addSubject(
          id,
          seconds(fields.get('before')),
          seconds(fields.get('until')),
          now,
        )
      default:
        return false
    }
  }

  /** ZSCAN `key`, handing each member and its score (whole seconds) to `each`. */
  async function scanSortedSet(key: string, each: (member: string, score: number) => boolean) {
    let cursor = '0'
    let malformed = 0
    do {
      let reply: unknown
      try {
        reply = await send(key, ['ZSCAN', key, cursor, 'COUNT', String(PAGE)])
      } catch (error) {
        // Someone else's value under our key: ignore it, as if empty (we can't have written it).
        if (error instanceof Error && error.message.startsWith('WRONGTYPE')) {
          events.warning(`ignored ${key}: it is not a sorted set`, key)
          return
        }
        throw error
      }
      const page = parseScan(reply)
      cursor = page.cursor
      for (const [member, score] of page.pairs) {
        const value = seconds(score)
        if (member === undefined || value === undefined || !each(member, value)) malformed++
      }
    } while (cursor !== '0' && !stopped)
    if (malformed > 0) events.warning(`ignored ${malformed} malformed entries in ${key}`, key)
  }

  async function fullLoad(): Promise<void> {
    const startedAt = performance.now()
    const position = parsePosition(await script(positionCall(keys)))
    const now = nowSeconds()
    await scanSortedSet(keys.tokens, (jti, exp) => replica.addToken(jti, exp, now))
    const before = new Map<string, number>()
    await scanSortedSet(keys.subjects, (sub, at) => (before.set(sub, at), true))
    await scanSortedSet(keys.subjectExpiry, (sub, end) => {
      const at = before.get(sub)
      before.delete(sub)
      // An expiry without its subject entry is a leftover of a prune: nothing to refuse.
      return at === undefined || replica.addSubject(sub, at, end, now)
    })
    // A subject without an expiry entry: keep it for the default lifetime.
    for (const [sub, at] of before) replica.addSubject(sub, at, at + config.maxTokenLifetime, now)
    lastId = position.entries[0]?.id ?? '0-0'
    lastSeq = position.seq ?? 0
    if (position.seq === undefined) events.warning(`ignored ${keys.seq}: not a counter`, keys.seq)
    freshness.markFresh(startedAt)
    events.synced(true, performance.now() - startedAt)
  }

  /** Whether tailing can resume from `lastId` without missing anything. */
  async function logIntact(): Promise<boolean> {
    const { seq, entries } = parsePosition(await script(afterCall(keys, lastId)))
    if (seq === lastSeq) return true // nothing written since
    // Something was: its first entry must still be there (trimming removes the oldest first).
    return (
      seq !== undefined && seq > lastSeq && counter(entries[0]?.fields.get('n')) === lastSeq + 1
    )
  }

  /** One blocking read of the log; false if it revealed lost entries. */
  async function tail(): Promise<boolean> {
    const sentAt = performance.now()
    const reply = await send(
      keys.log,
      [
        'XREAD',
        'COUNT',
        String(PAGE),
        'BLOCK',
        String(config.blockMs),
        'STREAMS',
        keys.log,
        lastId,
      ],
      config.blockMs + config.commandTimeoutMs,
    )
    const { entries, malformed } = parseRead(reply)
    const now = nowSeconds()
    let bad = malformed
    let gap = false
    for (const { id, fields } of entries) {
      const n = counter(fields.get('n'))
      if (n === undefined) {
        bad++ // not one of ours (no counter): step over it
      } else if (n !== lastSeq + 1) {
        gap = true // lost entries, or the counter was reset: reload everything
        break
      } else {
        lastSeq = n
        if (!apply(fields, now)) bad++
      }
      lastId = id
    }
    if (bad > 0) events.warning(`ignored ${bad} malformed entries in ${keys.log}`, keys.log)
    if (gap) return false
    // A full page may have more behind it: current only once a read comes back short.
    if (entries.length < PAGE) freshness.markFresh(sentAt)
    return true
  }

  async function run(): Promise<void> {
    let mode: 'full' | 'check' | 'tail' = 'full'
    let backoff = MIN_BACKOFF_MS
    let notReadySince: number | undefined
    while (!stopped) {
      if (!connection.isReady()) {
        // Connecting or reconnecting: the library retries and reports its own errors. But a
        // handshake on a half-open path can wait forever, so after a while start over.
        if (mode === 'tail') mode = 'check'
        notReadySince ??= performance.now()
        if (performance.now() - notReadySince > config.commandTimeoutMs + config.blockMs) {
          replaceConnection()
          notReadySince = performance.now()
        }
        await Promise.race([connection.whenReady(maxBackoffMs), stopping])
        continue
      }
      notReadySince = undefined
      try {
        if (mode === 'full') {
          await fullLoad()
          mode = 'tail'
        } else if (mode === 'check') {
          const startedAt = performance.now()
          mode = (await logIntact()) ? 'tail' : 'full'
          if (mode === 'tail') events.synced(false, performance.now() - startedAt)
          continue
        }
        if (!(await tail())) mode = 'full'
        reported = false
        backoff = MIN_BACKOFF_MS
      } catch (error) {
        if (stopped) return
        if (mode === 'tail') mode = 'check'
        reportFailure(error)
        // A hung socket: start over on a new connection.
        if (timedOut(error)) replaceConnection()
        await pause(backoff)
        backoff = Math.min(backoff * 2, maxBackoffMs)
      }
    }
  }

  /** Wait `ms`, or less if stopped meanwhile. */
  function pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))
    return Promise.race([elapsed, stopping]).finally(() => clearTimeout(timer))
  }

  // The loop catches everything itself; this catch only guards against a bug in it.
  run().catch((error: unknown) => events.failed(error))

  // Expired entries leave memory within BUCKET_SECONDS; the sweep touches only those.
  const sweeper = setInterval(() => replica.sweep(nowSeconds()), 5000).unref()

  return {
    stop() {
      if (stopped) return
      stopped = true
      clearInterval(sweeper)
      connection.close()
      onStop()
    },
  }
}
