/**
 * Raw Redis replies → plain data. Replies come from two client libraries and several majors of
 * each, RESP2 or RESP3, strings or Buffers, so every shape is checked against the ones the
 * libraries are known to produce. A shape that fits none of them is a `ReplyShapeError`, never
 * "nothing new": a client that reshapes a reply (as ioredis 6 did with XREAD) must make the
 * replica stale and say so, not leave it believing it is current.
 *
 * Content is another matter: an entry that has the right shape but carries junk (written by
 * someone else under the prefix) is the caller's to step over with a warning.
 */

/** One stream entry: its ID and its fields as name → value. */
export interface LogEntry {
  id: string
  fields: Map<string, string>
}

/** A reply in a shape no supported client produces: the client, not the data, is unknown. */
export class ReplyShapeError extends Error {
  override name = 'ReplyShapeError'
  constructor(command: string, what: string) {
    super(`unrecognised ${command} reply from the Redis client (${what})`)
  }
}

/** A stream ID such as `1718000000000-0`. */
const STREAM_ID = /^\d+-\d+$/

/** A string from a reply value (strings and Buffers), else undefined. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8')
  return undefined
}

/** A short, safe description of a value's shape for an error message (no contents). */
function shapeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `array of ${value.length}`
  if (value instanceof Map) return `Map of ${value.size}`
  if (value instanceof Uint8Array) return 'Buffer'
  return typeof value
}

/**
 * The entries of an XRANGE / XREVRANGE reply, or of one stream in an XREAD reply: an array of
 * `[id, fields]` pairs (`{ id, message }` from node-redis type mappings), fields as a flat array,
 * a Map or an object. Anything else throws `ReplyShapeError`.
 */
export function parseEntries(reply: unknown, command = 'XRANGE'): LogEntry[] {
  if (!Array.isArray(reply)) throw new ReplyShapeError(command, `entries: ${shapeOf(reply)}`)
  const entries: LogEntry[] = []
  for (const raw of reply) {
    const pair = toPair(raw)
    const id = text(pair?.[0])
    if (!pair || id === undefined || !STREAM_ID.test(id)) {
      throw new ReplyShapeError(command, `entry: ${shapeOf(raw)}`)
    }
    const fields = toFields(pair[1])
    if (!fields) throw new ReplyShapeError(command, `fields: ${shapeOf(pair[1])}`)
    entries.push({ id, fields })
  }
  return entries
}

/**
 * An XREAD reply for the one stream `key`:
 *
 *   nil                       the block timed out: no entries (every client, RESP2 and RESP3)
 *   `[[key, entries]]`        RESP2 (ioredis 5, node-redis 4/5, ioredis 6 with `protocol: 2`)
 *   `[key, entries]`          RESP3 map flattened (ioredis 6 default: `replyMapping: 'legacy'`)
 *   `{ key: entries }`        RESP3 map as an object (node-redis 5 RESP3, node-redis 6)
 *   `Map { key → entries }`   RESP3 map as a Map (type mappings, ioredis 6 `replyMapping: 'resp3'`)
 *   `[{ name, messages }]`    node-redis typed `xRead` shape
 *
 * The stream must be `key`; anything else throws `ReplyShapeError`.
 */
export function parseRead(reply: unknown, key: string): LogEntry[] {
  if (reply == null) return []
  const wrong = (what: string) => new ReplyShapeError('XREAD', what)
  let name: unknown
  let entries: unknown
  if (Array.isArray(reply)) {
    const first: unknown = reply[0]
    if (reply.length === 1 && Array.isArray(first) && first.length === 2) {
      ;[name, entries] = first as [unknown, unknown]
    } else if (reply.length === 2 && text(first) !== undefined) {
      ;[name, entries] = reply as [unknown, unknown]
    } else if (reply.length === 1 && first && typeof first === 'object' && 'messages' in first) {
      name = (first as { name?: unknown }).name
      entries = first.messages
    } else {
      throw wrong(`${shapeOf(reply)}, first item ${shapeOf(first)}`)
    }
  } else if (reply instanceof Map) {
    if (reply.size !== 1) throw wrong(shapeOf(reply))
    ;[name, entries] = [...(reply as Map<unknown, unknown>)][0]!
  } else if (typeof reply === 'object') {
    const own: [string, unknown][] = Object.entries(reply)
    if (own.length !== 1) throw wrong(`object with ${own.length} keys`)
    ;[name, entries] = own[0]!
  } else {
    throw wrong(shapeOf(reply))
  }
  if (text(name) !== key) throw wrong('another stream than the one read')
  return parseEntries(entries, 'XREAD')
}

/** A ZSCAN reply: the next cursor and the member → score pairs (scores still unparsed). */
export function parseScan(reply: unknown): {
  cursor: string
  pairs: [member: string | undefined, score: string | undefined][]
} {
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new ReplyShapeError('ZSCAN', shapeOf(reply))
  }
  const cursor = text(reply[0])
  const flat: unknown = reply[1]
  if (cursor === undefined || !Array.isArray(flat) || flat.length % 2 !== 0) {
    throw new ReplyShapeError('ZSCAN', `cursor ${shapeOf(reply[0])}, page ${shapeOf(flat)}`)
  }
  const pairs: [string | undefined, string | undefined][] = []
  for (let i = 0; i < flat.length; i += 2) pairs.push([text(flat[i]), scoreText(flat[i + 1])])
  return { cursor, pairs }
}

/** Where the log stands, as the position scripts report it. */
export interface LogPosition {
  /** The change counter: 0 when it does not exist, undefined when it holds something else. */
  seq: number | undefined
  /** The entries the script returned (the last one, or those after a given ID). */
  entries: LogEntry[]
  /** Redis's clock when the script ran, in milliseconds (the clock of stream IDs). */
  serverMs: number
}

/** The reply of the position scripts: `[counter or nil, entries, seconds, microseconds]`. */
export function parsePosition(reply: unknown): LogPosition {
  if (!Array.isArray(reply) || reply.length !== 4) {
    throw new ReplyShapeError('position script', shapeOf(reply))
  }
  const raw: unknown = reply[0]
  const secondsPart = Number(text(reply[2]) ?? reply[2])
  const microsPart = Number(text(reply[3]) ?? reply[3])
  if (!Number.isInteger(secondsPart) || !Number.isInteger(microsPart)) {
    throw new ReplyShapeError('position script', 'server time')
  }
  return {
    seq: raw == null || raw === false ? 0 : counter(text(raw) ?? numberText(raw)),
    entries: parseEntries(reply[1], 'position script'),
    serverMs: secondsPart * 1000 + Math.floor(microsPart / 1000),
  }
}

/** The time part of a stream ID, in milliseconds. */
export function idTimeMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')))
}

/** A change counter (`n`) from a reply string: a positive integer, else undefined. */
export function counter(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9]\d{0,14}$/.test(value)) return undefined
  return Number(value)
}

/** A time in whole seconds from a reply string, or undefined for anything else. */
export function seconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,12}$/.test(value)) return undefined
  return Number(value)
}

function numberText(value: unknown): string | undefined {
  return typeof value === 'number' ? String(value) : undefined
}

function scoreText(value: unknown): string | undefined {
  return numberText(value) ?? text(value)
}

function toPair(raw: unknown): [unknown, unknown] | undefined {
  if (Array.isArray(raw) && raw.length === 2) return [raw[0], raw[1]]
  // node-redis with a type mapping may hand back { id, message }
  if (raw && typeof raw === 'object' && 'id' in raw && 'message' in raw) {
    return [(raw as { id: unknown }).id, (raw as { message: unknown }).message]
  }
  return undefined
}

/** Fields as name → value (values that are not strings are left out), or undefined. */
function toFields(raw: unknown): Map<string, string> | undefined {
  const fields = new Map<string, string>()
  if (Array.isArray(raw)) {
    if (raw.length % 2 !== 0) return undefined
    for (let i = 0; i < raw.length; i += 2) {
      const name = text(raw[i])
      const value = text(raw[i + 1])
      if (name !== undefined && value !== undefined) fields.set(name, value)
    }
  } else if (raw instanceof Map) {
    for (const [name, value] of raw as Map<unknown, unknown>) {
      const n = text(name)
      const v = text(value)
      if (n !== undefined && v !== undefined) fields.set(n, v)
    }
  } else if (raw && typeof raw === 'object' && !(raw instanceof Uint8Array)) {
    for (const [name, value] of Object.entries(raw)) {
      const v = text(value)
      if (v !== undefined) fields.set(name, v)
    }
  } else {
    return undefined
  }
  return fields
}
