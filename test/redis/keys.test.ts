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
  parseEntries,
  parsePosition,
  parseRead,
  parseScan,
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

  test('XREAD: RESP2 arrays, RESP3 maps and objects, nil', () => {
    const entries = [entry('1-0', 'n', '1', 'kind', 'jti'), entry('2-0', 'n', '2')]
    for (const reply of [
      [['log', entries]],
      new Map([['log', entries]]),
      { log: entries },
      [{ name: 'log', messages: entries }],
    ]) {
      const { entries: parsed, malformed } = parseRead(reply)
      assert.equal(malformed, 0)
      assert.deepEqual(
        parsed.map((e) => [e.id, Object.fromEntries(e.fields)]),
        [
          ['1-0', { n: '1', kind: 'jti' }],
          ['2-0', { n: '2' }],
        ],
      )
    }
    assert.deepEqual(parseRead(null), { entries: [], malformed: 0 })
  })

  test('entries: Buffers and field maps are read; junk is counted, not thrown', () => {
    const { entries, malformed } = parseEntries([
      [Buffer.from('5-1'), [Buffer.from('n'), Buffer.from('7')]],
      { id: '6-0', message: { n: '8' } },
      ['7-0', new Map([['n', '9']])],
      ['not-an-id', []],
      'junk',
      [1, 2, 3],
    ])
    assert.deepEqual(
      entries.map((e) => [e.id, e.fields.get('n')]),
      [
        ['5-1', '7'],
        ['6-0', '8'],
        ['7-0', '9'],
      ],
    )
    assert.equal(malformed, 3)
    assert.deepEqual(parseEntries('nonsense'), { entries: [], malformed: 1 })
  })

  test('ZSCAN pages, position replies, counters and seconds', () => {
    assert.deepEqual(parseScan(['17', ['a', '100', 'b', 2]]), {
      cursor: '17',
      pairs: [
        ['a', '100'],
        ['b', '2'],
      ],
    })
    assert.throws(() => parseScan('oops'), TypeError)
    assert.deepEqual(parsePosition([null, []]), { seq: 0, entries: [] })
    assert.equal(parsePosition(['12', [entry('3-0', 'n', '12')]]).seq, 12)
    assert.equal(parsePosition(['many', []]).seq, undefined)
    assert.throws(() => parsePosition([]), TypeError)
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
