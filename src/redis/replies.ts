/**
 * Raw Redis replies → plain data. Replies come from two client libraries, RESP2 or RESP3,
 * strings or Buffers, so every shape is checked; whatever does not fit is counted as malformed
 * (the caller warns) instead of throwing.
 */

/** One stream entry: its ID and its fields as name → value. */
export interface LogEntry {
  id: string
  fields: Map<string, string>
}

/** A stream ID such as `1718000000000-0`. */
const STREAM_ID = /^\d+-\d+$/

/** A string from a reply value (strings and Buffers), else undefined. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8')
  return undefined
}

/** The entries of an XRANGE / XREVRANGE reply, or of one stream in an XREAD reply. */
export function parseEntries(reply: unknown): { entries: LogEntry[]; malformed: number } {
  const entries: LogEntry[] = []
  let malformed = 0
  if (!Array.isArray(reply)) return { entries, malformed: reply == null ? 0 : 1 }
  for (const raw of reply) {
    const pair = toPair(raw)
    const id = text(pair?.[0])
    if (!pair || id === undefined || !STREAM_ID.test(id)) {
      malformed++
      continue
    }
    entries.push({ id, fields: toFields(pair[1]) })
  }
  return { entries, malformed }
}

/** An XREAD reply for one stream: RESP2 `[[key, entries]]`, RESP3 `{ key: entries }`, or nil. */
export function parseRead(reply: unknown): { entries: LogEntry[]; malformed: number } {
  if (reply == null) return { entries: [], malformed: 0 }
  let streamEntries: unknown
  if (Array.isArray(reply)) {
    const first: unknown = reply[0]
    if (Array.isArray(first)) streamEntries = first[1]
    else streamEntries = (first as { messages?: unknown } | undefined)?.messages
  } else if (reply instanceof Map) {
    streamEntries = [...(reply as Map<unknown, unknown>).values()][0]
  } else if (typeof reply === 'object') {
    streamEntries = Object.values(reply)[0]
  }
  return parseEntries(streamEntries)
}

/** A ZSCAN reply: the next cursor and the member → score pairs (scores still unparsed). */
export function parseScan(reply: unknown): {
  cursor: string
  pairs: [member: string | undefined, score: string | undefined][]
} {
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new TypeError('unexpected ZSCAN reply')
  }
  const cursor = text(reply[0])
  const flat: unknown = reply[1]
  if (cursor === undefined || !Array.isArray(flat)) throw new TypeError('unexpected ZSCAN reply')
  const pairs: [string | undefined, string | undefined][] = []
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([text(flat[i]), scoreText(flat[i + 1])])
  return { cursor, pairs }
}

/**
 * The reply of the position scripts: `[counter or nil, entries]`. `seq` is 0 when the counter
 * does not exist and undefined when it holds something else.
 */
export function parsePosition(reply: unknown): { seq: number | undefined; entries: LogEntry[] } {
  if (!Array.isArray(reply) || reply.length !== 2) throw new TypeError('unexpected script reply')
  const raw: unknown = reply[0]
  return {
    seq: raw == null || raw === false ? 0 : counter(text(raw)),
    entries: parseEntries(reply[1]).entries,
  }
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

function scoreText(value: unknown): string | undefined {
  return typeof value === 'number' ? String(value) : text(value)
}

function toPair(raw: unknown): [unknown, unknown] | undefined {
  if (Array.isArray(raw) && raw.length === 2) return [raw[0], raw[1]]
  // node-redis with a type mapping may hand back { id, message }
  if (raw && typeof raw === 'object' && 'id' in raw && 'message' in raw) {
    return [(raw as { id: unknown }).id, (raw as { message: unknown }).message]
  }
  return undefined
}

function toFields(raw: unknown): Map<string, string> {
  const fields = new Map<string, string>()
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
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
  } else if (raw && typeof raw === 'object') {
    for (const [name, value] of Object.entries(raw)) {
      const v = text(value)
      if (v !== undefined) fields.set(name, v)
    }
  }
  return fields
}
