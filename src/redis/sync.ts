/**
 * Keeps the replica current. One loop on one dedicated connection:
 *
 *   full load   note where the log stands (its counter and last ID, atomically), then ZSCAN
 *               the three sorted sets into the replica (changes made meanwhile are in the log
 *               after that point and get replayed: merges are idempotent, so no snapshot
 *               isolation is needed)
 *   tail        XREAD BLOCK from the last ID seen, for speed: a revocation reaches the replica
 *               one round trip after it is written. Each entry's `n` must be the last one's
 *               plus 1; a skip means entries were lost (trimmed or expired unread) → full load
 *   heartbeat   between reads once `blockMs / 2` has passed since the last one (so after every
 *               read that blocked in vain), and first after any failure: one script returns the
 *               counter and the entries after the last ID seen, atomically. They are applied;
 *               if the replica then holds everything up to the counter, it is fresh as of the
 *               moment the script was sent. The counter ahead with its entries gone → full load
 *
 * Freshness is proved by position only (the heartbeat), never by the tail merely answering: a
 * feed that silently stops delivering (a client that reshapes replies, a proxy that swallows
 * them) is caught up by the heartbeat within `blockMs`, with a warning, and if the heartbeat
 * cannot prove the position either, the replica goes stale within `maxStaleness` (503).
 *
 * Failures never escape: each one becomes a retry with backoff. A reply in a shape no supported
 * client produces makes the replica stale at once. A command that hangs (a half-open socket)
 * times out and the connection is replaced.
 */
import { performance } from 'node:perf_hooks'
import { withDeadline } from '../deadline.js'
import type { AdaptedClient, OwnedConnection } from './client.js'
import type { Freshness } from './freshness.js'
import type { DenylistConfig } from './options.js'
import type { Replica } from './replica.js'
import {
  counter,
  idTimeMs,
  parsePosition,
  parseRead,
  parseScan,
  ReplyShapeError,
  seconds,
  type LogEntry,
} from './replies.js'
import { afterCall, positionCall, runScript, type ScriptCall } from './scripts.js'

/** Entries per XREAD / XRANGE / ZSCAN page. */
const PAGE = 1000
const MIN_BACKOFF_MS = 50
/**
 * How much older than an empty XREAD answer an entry must be before the heartbeat calls it
 * missed by the feed (clock granularity and the round trip between the two commands).
 */
const MISSED_SLACK_MS = 50

/** What the loop reports. */
export interface SyncEvents {
  synced(full: boolean, durationMs: number): void
  /** The first failure after a success (or at start). */
  failed(error: unknown): void
  /** Bad data in Redis, ignored; or a live feed that missed entries. */
  warning(message: string, key: string): void
}

/** A running sync loop. */
export interface Sync {
  stop(): void
}

/** Errors of commands that did not answer in time (a hung socket, likely). */
class CommandTimeoutError extends Error {
  override name = 'CommandTimeoutError'
}

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
  /** When the last XREAD came back empty (`performance.now()`), while no read has since. */
  let emptyReadAt: number | undefined
  /** When the last heartbeat was sent. */
  let heartbeatAt = -Infinity
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
    return withDeadline(
      connection.send(key, args),
      timeoutMs,
      () => new CommandTimeoutError(`${args[0]} timed out after ${timeoutMs} ms`),
      { unref: true },
    )
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

  /**
   * Apply log entries in order, advancing the position. Stops at a skip in `n` (lost entries,
   * or the counter reset) and returns `gap: true`: only a full load can recover from that.
   */
  function applyEntries(entries: LogEntry[]): { gap: boolean } {
    const now = nowSeconds()
    let bad = 0
    let gap = false
    for (const { id, fields } of entries) {
      if (compareIds(id, lastId) <= 0) {
        throw new ReplyShapeError('stream', 'an entry at or before the position already applied')
      }
      const n = counter(fields.get('n'))
      if (n === undefined) {
        bad++ // not one of ours (no counter): step over it
      } else if (n !== lastSeq + 1) {
        gap = true
        break
      } else {
        lastSeq = n
        if (!apply(fields, now)) bad++
      }
      lastId = id
    }
    if (bad > 0) events.warning(`ignored ${bad} malformed entries in ${keys.log}`, keys.log)
    return { gap }
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
    emptyReadAt = undefined
    heartbeatAt = startedAt
    if (position.seq === undefined) events.warning(`ignored ${keys.seq}: not a counter`, keys.seq)
    freshness.markFresh(startedAt)
    events.synced(true, performance.now() - startedAt)
  }

  /**
   * Prove the position: apply whatever the log holds after `lastId` (a page at most) and, if
   * that reaches Redis's counter, mark the replica fresh as of when the script was sent.
   * 'more' when a full page came back (call again), 'lost' when only a full load can help.
   */
  async function heartbeat(): Promise<'fresh' | 'more' | 'lost'> {
    const sentAt = performance.now()
    heartbeatAt = sentAt
    const position = parsePosition(await script(afterCall(keys, lastId, PAGE)))
    const repliedAt = performance.now()
    // A counter that is not one (someone else's value) counts as 0, as in the full load.
    const seq = position.seq ?? 0
    if (seq < lastSeq) return 'lost' // the counter was reset or deleted
    if (applyEntries(position.entries).gap) return 'lost'
    if (emptyReadAt !== undefined && position.entries.length > 0) {
      // The tail's last read said "nothing after lastId"; entries older than that answer were
      // there all along: the live feed is not delivering.
      const answeredAtServerMs = position.serverMs - (repliedAt - emptyReadAt) - MISSED_SLACK_MS
      const missed = position.entries.filter((e) => idTimeMs(e.id) < answeredAtServerMs).length
      if (missed > 0) {
        events.warning(
          `the live feed (XREAD) returned nothing while ${missed} entries were waiting; the heartbeat applied them`,
          keys.log,
        )
      }
    }
    emptyReadAt = undefined
    if (lastSeq === seq) {
      freshness.markFresh(sentAt)
      return 'fresh'
    }
    if (position.entries.length === PAGE) return 'more'
    return 'lost' // the counter is ahead, yet the entries after lastId are gone
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
    const entries = parseRead(reply, keys.log)
    if (reply == null) {
      // Redis answers nil only once the block has passed; earlier means it did not block, and
      // reading again at once would spin.
      const waitedMs = performance.now() - sentAt
      if (waitedMs < config.blockMs / 2) {
        throw new Error(
          `XREAD BLOCK ${config.blockMs} answered nil after ${Math.round(waitedMs)} ms, without blocking`,
        )
      }
      emptyReadAt = performance.now()
      return true
    }
    emptyReadAt = undefined
    return !applyEntries(entries).gap
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
        } else if (mode === 'check' || performance.now() - heartbeatAt >= config.blockMs / 2) {
          const startedAt = performance.now()
          const outcome = await heartbeat()
          if (outcome === 'lost') mode = 'full'
          else if (outcome === 'fresh' && mode === 'check') {
            mode = 'tail'
            events.synced(false, performance.now() - startedAt)
          }
          if (outcome !== 'fresh') continue
        }
        if (!(await tail())) mode = 'full'
        reported = false
        backoff = MIN_BACKOFF_MS
      } catch (error) {
        if (stopped) return
        if (mode === 'tail') mode = 'check'
        // A reply no supported client gives: nothing read through it can be trusted.
        if (error instanceof ReplyShapeError) freshness.markStale()
        reportFailure(error)
        // A hung socket: start over on a new connection.
        if (error instanceof CommandTimeoutError) replaceConnection()
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

/** Order of two stream IDs (`ms-seq`): negative, zero or positive. */
function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint]
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint]
  if (aMs !== bMs) return aMs < bMs ? -1 : 1
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1
}
