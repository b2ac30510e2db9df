/**
 * The key layout (one hash tag for every key, whatever the prefix) and the parsing of raw
 * replies in the shapes both client libraries produce (RESP2 arrays, RESP3 maps, Buffers),
 * without Redis.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { denylistKeys } from '../../src/redis/keys.js'
import {
  counter,
  idTimeMs,
  parseEntries,
  parsePosition,
  parseRead,
  parseScan,
  ReplyShapeError,
  seconds,
} from '../../src/redis/replies.js'

describe('keys', () => {
  test('a {denylist} hash tag is added unless the prefix has a non-empty one', () => {
    assert.deepEqual(denylistKeys('jwt-gate:'), {
      tokens: 'jwt-gate:{denylist}:tokens',
      subjects: 'jwt-gate:{denylist}:subjects',
      subjectExpiry: 'jwt-gate:{denylist}:subject-expiry',
      log: 'jwt-gate:{denylist}:log',
      seq: 'jwt-gate:{denylist}:seq',
    })
    assert.equal(denylistKeys('app:{tenant-1}:').tokens, 'app:{tenant-1}:tokens')
    assert.equal(denylistKeys('').log, '{denylist}:log')
    // Redis ignores an empty {} (the whole key is hashed), so it is no tag.
    assert.equal(denylistKeys('a{}b:').log, 'a{}b:{denylist}:log')
    assert.equal(denylistKeys('a{b:').log, 'a{b:{denylist}:log')
  })
})

describe('replies', () => {
  const entry = (id: string, ...fields: string[]) => [id, fields]
  const entries = [entry('1-0', 'n', '1', 'kind', 'jti'), entry('2-0', 'n', '2')]
  const plain = (parsed: { id: string; fields: Map<string, string> }[]) =>
    parsed.map((e) => [e.id, Object.fromEntries(e.fields)])

  test('XREAD: every shape the supported clients produce, and nil', () => {
    for (const [client, reply] of [
      ['RESP2 (ioredis 5, node-redis 4/5, ioredis 6 protocol 2)', [['log', entries]]],
      ['RESP3 map flattened (ioredis 6 default)', ['log', entries]],
      ['RESP3 map as an object (node-redis 6, node-redis 5 RESP3)', { log: entries }],
      ['RESP3 map as a Map', new Map([['log', entries]])],
      ['node-redis typed', [{ name: 'log', messages: entries }]],
      ['Buffers', [[Buffer.from('log'), entries]]],
    ] as const) {
      assert.deepEqual(
        plain(parseRead(reply, 'log')),
        [
          ['1-0', { n: '1', kind: 'jti' }],
          ['2-0', { n: '2' }],
        ],
        client,
      )
    }
    assert.deepEqual(parseRead(null, 'log'), [])
    assert.deepEqual(parseRead(undefined, 'log'), [])
  })

  test('XREAD: an unrecognised shape is an error, never "no entries"', () => {
    for (const reply of [
      [],
      [[]],
      {},
      new Map(),
      'log',
      42,
      [
        ['log', entries],
        ['other', entries],
      ],
      { log: entries, other: entries },
      [['other', entries]], // another stream than the one read
      ['other', entries],
      [['log', 'not entries']],
      ['log', [['1-0']]],
      ['log', [['not-an-id', []]]],
      ['log', [['1-0', 'fields as a string']]],
      ['log', [['1-0', ['odd']]]],
      ['log', ['junk']],
    ]) {
      assert.throws(() => parseRead(reply, 'log'), ReplyShapeError, JSON.stringify(reply))
    }
    // The message names the shape, not the contents.
    assert.throws(
      () => parseRead([['secret-key', entries]], 'log'),
      (error: Error) => {
        assert.match(error.message, /unrecognised XREAD reply/)
        assert.doesNotMatch(error.message, /secret/)
        return true
      },
    )
  })

  test('entries: Buffers, field maps and objects are read; a wrong shape throws', () => {
    const parsed = parseEntries([
      [Buffer.from('5-1'), [Buffer.from('n'), Buffer.from('7')]],
      { id: '6-0', message: { n: '8' } },
      ['7-0', new Map([['n', '9']])],
    ])
    assert.deepEqual(
      parsed.map((e) => [e.id, e.fields.get('n')]),
      [
        ['5-1', '7'],
        ['6-0', '8'],
        ['7-0', '9'],
      ],
    )
    for (const reply of ['nonsense', null, [[1, 2, 3]], ['junk'], [['x-1', []]]]) {
      assert.throws(() => parseEntries(reply), ReplyShapeError, JSON.stringify(reply))
    }
  })

  test('ZSCAN pages, position replies, counters and seconds', () => {
    assert.deepEqual(parseScan(['17', ['a', '100', 'b', 2]]), {
      cursor: '17',
      pairs: [
        ['a', '100'],
        ['b', '2'],
      ],
    })
    assert.throws(() => parseScan('oops'), ReplyShapeError)
    assert.throws(() => parseScan(['0', ['a']]), ReplyShapeError)
    assert.deepEqual(parsePosition([null, [], '1700000000', '250999']), {
      seq: 0,
      entries: [],
      serverMs: 1_700_000_000_250,
    })
    assert.equal(parsePosition(['12', [entry('3-0', 'n', '12')], 1, 0]).seq, 12)
    assert.equal(parsePosition([12, [], '1', '0']).seq, 12) // RESP3 integers
    assert.equal(parsePosition(['many', [], '1', '0']).seq, undefined)
    assert.throws(() => parsePosition([]), ReplyShapeError)
    assert.throws(() => parsePosition([null, []]), ReplyShapeError)
    assert.throws(() => parsePosition([null, 'x', '1', '0']), ReplyShapeError)
    assert.throws(() => parsePosition([null, [], 'x', '0']), ReplyShapeError)
    assert.equal(idTimeMs('1700000000123-4'), 1_700_000_000_123)
    assert.deepEqual(['1', '0', '-1', '1.5', '01', 'x', undefined].map(counter), [
      1,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    assert.deepEqual(
      ['0', '1800000000', '1.5', '-5', 'inf', '1e15', '1000000000000'].map(seconds),
      [0, 1800000000, undefined, undefined, undefined, undefined, undefined],
    )
  })
})
