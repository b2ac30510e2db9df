/**
 * The Redis denylist's events on `jwt-gate:denylist` (`node:diagnostics_channel`): what its
 * replica and connection do. Publishing costs one boolean check when nobody subscribes.
 */
import { channel } from 'node:diagnostics_channel'
import { CHANNELS } from '../events.js'

/** `jwt-gate:denylist`: the Redis denylist's replica and connection. */
export type DenylistEvent =
  /** The replica caught up: a full load, or (`full: false`) a resume from the log after a failure. */
  | { type: 'synced'; full: boolean; entries: number; durationMs: number }
  /** The replica is staler than `maxStaleness`: requests fail with 503, or pass with `failOpen`. */
  | { type: 'stale'; stalenessMs: number; failOpen: boolean }
  /** The replica is current again after being stale (or for the first time). */
  | { type: 'fresh' }
  /**
   * Something was ignored or let through: malformed data under the prefix (`key` says where),
   * or a token passed unchecked by a stale replica with `failOpen`.
   */
  | { type: 'warning'; message: string; key?: string }
  /** Talking to Redis failed (first failure of a run; retried with backoff until it works). */
  | { type: 'sync-error'; message: string }
  /** This process revoked a token or a subject. */
  | { type: 'revoked'; kind: 'token' | 'subject' }
const denylistChannel = channel(CHANNELS.denylist)

/** Publish a `jwt-gate:denylist` event, if anyone listens. */
export function publishDenylist(event: DenylistEvent): void {
  if (denylistChannel.hasSubscribers) denylistChannel.publish(event)
}
