/**
 * The `jwt-gate` CLI as users run it: `node dist/cli.js` in a subprocess, against a real test
 * issuer (JWKS and discovery on loopback) and against crafted JWKS servers.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { createTestIssuer, type TestIssuer } from '../../src/testing/index.js'
import { listen, type Listening } from '../helpers/http.js'

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
const audience = 'https://api.test'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Run the built CLI with `args`, `stdin` piped in, and `env` added to the environment. */
function run(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? '')
  })
}

interface JsonReport {
  valid: boolean
  checks: Array<{
    stage: string
    status: string
    reason?: string
    expected?: unknown
    received?: unknown
    hint?: string
  }>
  key?: { kid: string; alg: string; source: string }
  expiresInSeconds?: number
  error?: { status: number; reason: string; cause?: string }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

let issuer: TestIssuer
let other: TestIssuer
before(async () => {
  issuer = await createTestIssuer({ audience })
  other = await createTestIssuer({ audience })
})
after(async () => {
  await issuer.close()
  await other.close()
})

/** `explain --json` against the issuer's JWKS; the parsed report and the exit code. */
async function explainJson(token: string, extra: string[] = []) {
  const result = await run([
    'explain',
    token,
    '--issuer',
    issuer.url,
    '--audience',
    audience,
    '--jwks-uri',
    issuer.jwksUri,
    '--json',
    ...extra,
  ])
  return { code: result.code, report: JSON.parse(result.stdout) as JsonReport, result }
}

function failed(report: JsonReport) {
  const failures = report.checks.filter((check) => check.status === 'failed')
  assert.equal(failures.length, 1, JSON.stringify(report.checks))
  return failures[0]!
}

describe('jwt-gate explain', () => {
  test('a valid token: every check passes, the key and the time to expiry are named, exit 0', async () => {
    const token = await issuer.sign({ sub: 'u1' }, { expiresIn: '10m' })
    const { code, report } = await explainJson(token)
    assert.equal(code, 0)
    assert.equal(report.valid, true)
    assert.deepEqual(
      report.checks.map((check) => [check.stage, check.status]),
      ['syntax', 'claims', 'issuer', 'header', 'time', 'keys', 'signature'].map((stage) => [
        stage,
        'passed',
      ]),
    )
    assert.equal(report.key?.kid, issuer.kid)
    assert.equal(report.key?.alg, 'RS256')
    assert.equal(report.key?.source, `JWKS ${issuer.jwksUri}`)
    assert.ok(report.expiresInSeconds! > 500 && report.expiresInSeconds! <= 600)
  })

  test('the token from stdin, text output with ✓ marks; discovery by default', async () => {
    const token = await issuer.sign({ sub: 'u1' })
    const result = await run(['explain', '--issuer', issuer.url, '--audience', audience], {
      stdin: `${token}\n`,
    })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /✓ signature/)
    assert.match(result.stdout, new RegExp(`via OIDC discovery`))
    assert.ok(result.stdout.includes(issuer.jwksUri))
    assert.match(result.stdout, /VALID/)
    assert.doesNotMatch(result.stdout, /✗/)
  })

  test('an HMAC secret read from the environment variable --secret-env names', async () => {
    const hmac = await createTestIssuer({ alg: 'HS256', audience })
    try {
      const token = await hmac.sign({ sub: 'u1' })
      const args = ['explain', token, '--issuer', hmac.url, '--audience', audience]
      const ok = await run([...args, '--secret-env', 'MY_SECRET', '--json'], {
        env: { MY_SECRET: hmac.secret! },
      })
      assert.equal(ok.code, 0, ok.stderr)
      const report = JSON.parse(ok.stdout) as JsonReport
      assert.equal(report.key?.source, 'secret from $MY_SECRET')
      assert.ok(!ok.stdout.includes(hmac.secret!))

      const wrong = await run([...args, '--secret-env', 'MY_SECRET', '--json'], {
        env: { MY_SECRET: 'x'.repeat(48) },
      })
      assert.equal(wrong.code, 1)
      assert.equal(failed(JSON.parse(wrong.stdout) as JsonReport).reason, 'bad_signature')
    } finally {
      await hmac.close()
    }
  })

  // One token per failure class of README's reason table that a token alone can show (the
  // request-level ones — no_token, malformed_request, ambiguous_token, csrf — and the route
  // guards' and the denylist's need a request or a route, which explain does not have).
  const cases: Array<{
    reason: string
    stage: string
    token: () => string | Promise<string>
    extra?: string[]
    check?: (failure: ReturnType<typeof failed>) => void
  }> = [
    { reason: 'token_too_large', stage: 'syntax', token: () => 'a'.repeat(9000) + '.b.c' },
    { reason: 'malformed', stage: 'syntax', token: () => 'not-a-token' },
    {
      reason: 'alg_not_allowed',
      stage: 'syntax',
      token: () => `${b64({ alg: 'none' })}.${b64({ iss: issuer.url })}.AAAA`,
    },
    {
      reason: 'unsupported_header',
      stage: 'syntax',
      // jose refuses to sign an unknown crit extension, so the token is crafted (unsigned).
      token: () =>
        `${b64({ alg: 'RS256', crit: ['x-ext'], 'x-ext': 1 })}.${b64({ iss: issuer.url })}.AAAA`,
    },
    {
      reason: 'wrong_typ',
      stage: 'header',
      token: () => issuer.sign({}, { header: { typ: 'JWT' } }),
      extra: ['--typ', 'at+jwt'],
      check: (failure) =>
        assert.deepEqual([failure.expected, failure.received], ['application/at+jwt', 'JWT']),
    },
    {
      reason: 'invalid_claim',
      stage: 'claims',
      token: () => issuer.sign({ sub: 42 as unknown as string }),
    },
    { reason: 'missing_claim', stage: 'claims', token: () => issuer.sign({ aud: undefined }) },
    {
      reason: 'wrong_issuer',
      stage: 'issuer',
      token: () => issuer.sign({ iss: `${issuer.url}/` }),
      check: (failure) => {
        assert.equal(failure.received, `${issuer.url}/`)
        assert.deepEqual(failure.expected, issuer.url)
        assert.match(failure.hint!, /trailing slash/)
      },
    },
    {
      reason: 'wrong_audience',
      stage: 'time',
      token: () => issuer.sign({}, { audience: 'https://other.test' }),
      check: (failure) => assert.ok(JSON.stringify(failure.received).includes('other.test')),
    },
    {
      reason: 'expired',
      stage: 'time',
      token: () => issuer.sign({}, { expiresIn: -60 }),
      check: (failure) => assert.match(String(failure.received), /^exp \d+/),
    },
    {
      reason: 'not_yet_valid',
      stage: 'time',
      token: () => issuer.sign({}, { notBefore: '10m' }),
    },
    {
      reason: 'no_matching_key',
      stage: 'signature',
      // Signed by another issuer's key, claiming this issuer: its kid is not in this JWKS.
      token: () => other.sign({ iss: issuer.url }),
    },
    {
      reason: 'bad_signature',
      stage: 'signature',
      token: async () => {
        const [header, payload] = (await issuer.sign({ sub: 'a' })).split('.')
        const signature = (await issuer.sign({ sub: 'b' })).split('.')[2]
        return `${header}.${payload}.${signature}`
      },
    },
  ]
  for (const { reason, stage, token, extra, check } of cases) {
    test(`${reason}: ✗ at the ${stage} check, later checks not run, exit 1`, async () => {
      const { code, report } = await explainJson(await token(), extra)
      assert.equal(code, 1)
      assert.equal(report.valid, false)
      const failure = failed(report)
      assert.equal(failure.reason, reason)
      assert.equal(failure.stage, stage)
      const at = report.checks.indexOf(failure)
      assert.ok(report.checks.slice(0, at).every((c) => c.status === 'passed'))
      assert.ok(report.checks.slice(at + 1).every((c) => c.status === 'not_run'))
      check?.(failure)
    })
  }

  test('text output names the failed check with expected and received', async () => {
    const token = await issuer.sign({ iss: `${issuer.url}/` })
    const result = await run([
      'explain',
      token,
      '--issuer',
      issuer.url,
      '--audience',
      audience,
      '--jwks-uri',
      issuer.jwksUri,
    ])
    assert.equal(result.code, 1)
    assert.match(result.stdout, /✗ issuer \(iss\) is trusted/)
    assert.match(result.stdout, /reason: +wrong_issuer/)
    assert.ok(result.stdout.includes(`expected: "${issuer.url}"`))
    assert.ok(result.stdout.includes(`received: "${issuer.url}/"`))
    assert.match(result.stdout, /REFUSED: 401 invalid_token/)
  })

  test('keys that cannot be fetched: jwks_unavailable with the cause, exit 2', async () => {
    const down = await listen((_req, res) => res.writeHead(500).end())
    try {
      const token = await issuer.sign()
      const result = await run([
        'explain',
        token,
        '--issuer',
        issuer.url,
        '--audience',
        audience,
        '--jwks-uri',
        `${down.url}/jwks.json`,
        '--json',
      ])
      assert.equal(result.code, 2)
      const report = JSON.parse(result.stdout) as JsonReport
      assert.equal(failed(report).reason, 'jwks_unavailable')
      assert.equal(failed(report).stage, 'keys')
      assert.match(report.error!.cause!, /HTTP 500/)
    } finally {
      await down.close()
    }
  })

  test('usage errors exit 2 with the usage text', async () => {
    const noIssuer = await run(['explain', 'a.b.c', '--audience', audience])
    assert.equal(noIssuer.code, 2)
    assert.match(noIssuer.stderr, /--issuer/)
    assert.match(noIssuer.stderr, /Usage:/)
    const unknown = await run([
      'explain',
      'a.b.c',
      '--issuer',
      issuer.url,
      '--audience',
      'a',
      '--nope',
    ])
    assert.equal(unknown.code, 2)
    const noToken = await run(['explain', '--issuer', issuer.url, '--audience', audience])
    assert.equal(noToken.code, 2)
    assert.match(noToken.stderr, /no token/)
    const badUri = await run([
      'explain',
      'a.b.c',
      '--issuer',
      issuer.url,
      '--audience',
      audience,
      '--jwks-uri',
      'http://example.com/jwks',
    ])
    assert.equal(badUri.code, 2)
    assert.match(badUri.stderr, /https:/)
    const noCommand = await run(['frobnicate'])
    assert.equal(noCommand.code, 2)
  })
})

describe('jwt-gate jwks', () => {
  let server: Listening
  /** Crafted JWKS documents by path, with their headers. */
  const routes = new Map<string, { body: unknown; headers: Record<string, string> }>()
  before(async () => {
    server = await listen((req, res) => {
      const route = routes.get(req.url ?? '/')
      if (!route) {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json', ...route.headers })
      res.end(JSON.stringify(route.body))
    })
  })
  after(() => server.close())

  const rsa = (bits: number) =>
    generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' })

  test('the test issuer by discovery: its key listed, its no-store pointed out, exit 1', async () => {
    const result = await run(['jwks', issuer.url, '--json'])
    const report = JSON.parse(result.stdout) as {
      jwksUri: string
      discoveredFrom: string
      keys: Array<{ kid: string; kty: string; alg: string; size: string; use: string }>
      warnings: string[]
    }
    assert.equal(report.jwksUri, issuer.jwksUri)
    assert.equal(report.discoveredFrom, issuer.discoveryUri)
    assert.equal(report.keys.length, 1)
    assert.equal(report.keys[0]!.kid, issuer.kid)
    assert.equal(report.keys[0]!.kty, 'RSA')
    assert.equal(report.keys[0]!.size, '2048 bits')
    // The test issuer answers Cache-Control: no-store (tests see every rotation at once):
    // that is the one remark.
    assert.equal(report.warnings.length, 1)
    assert.match(report.warnings[0]!, /Cache-Control "no-store" forbids caching/)
    assert.equal(result.code, 1)
  })

  test('a clean set with sane cache headers: exit 0 and "No problems found."', async () => {
    routes.set('/clean.json', {
      body: { keys: [{ ...rsa(2048), kid: 'k1', alg: 'RS256', use: 'sig' }] },
      headers: { 'cache-control': 'public, max-age=3600' },
    })
    const result = await run(['jwks', `${server.url}/clean.json`])
    assert.equal(result.code, 0, result.stdout)
    assert.match(result.stdout, /k1 +RSA +RS256 +2048 bits +sig +used/)
    assert.match(result.stdout, /No problems found\./)
  })

  test('duplicate kids, a weak key, a private key, a key without alg, no-store: each named', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    routes.set('/bad.json', {
      body: {
        keys: [
          { ...rsa(2048), kid: 'dup', alg: 'RS256' },
          { ...rsa(2048), kid: 'dup', alg: 'RS256' },
          { ...rsa(1024), kid: 'weak', alg: 'RS256' },
          { ...pair.privateKey.export({ format: 'jwk' }), kid: 'leak', alg: 'ES256' },
          { ...pair.publicKey.export({ format: 'jwk' }), kid: 'noalg' },
        ],
      },
      headers: { 'cache-control': 'no-store' },
    })
    const result = await run(['jwks', `${server.url}/bad.json`, '--json'])
    assert.equal(result.code, 1)
    const report = JSON.parse(result.stdout) as {
      keys: Array<{ kid: string; size?: string; skipped?: string }>
      warnings: string[]
    }
    const warned = (pattern: RegExp) =>
      assert.ok(
        report.warnings.some((w) => pattern.test(w)),
        `${pattern}: ${report.warnings.join(' | ')}`,
      )
    warned(/kid "dup" is used by 2 keys/)
    warned(/key "weak" is a weak RSA key \(1024 bits/)
    warned(/key "leak" publishes private members \(d\)/)
    warned(/key "noalg" has no "alg"/)
    warned(/no-store/)
    assert.equal(report.warnings.length, 5)
    const byKid = new Map(report.keys.map((key) => [key.kid, key]))
    assert.match(byKid.get('weak')!.skipped!, /under 2048/)
    assert.match(byKid.get('leak')!.skipped!, /private key/)
    assert.equal(byKid.get('noalg')!.size, 'P-256')
    assert.equal(byKid.get('noalg')!.skipped, undefined)
  })

  test('odd max-age values are pointed out', async () => {
    const key = { ...rsa(2048), kid: 'k', alg: 'RS256' }
    routes.set('/short.json', { body: { keys: [key] }, headers: { 'cache-control': 'max-age=5' } })
    routes.set('/long.json', {
      body: { keys: [key] },
      headers: { 'cache-control': 'max-age=31536000' },
    })
    const short = await run(['jwks', `${server.url}/short.json`])
    assert.equal(short.code, 1)
    assert.match(short.stdout, /max-age=5 is very short/)
    const long = await run(['jwks', `${server.url}/long.json`])
    assert.match(long.stdout, /over a week/)
  })

  test('nothing to fetch: exit 2', async () => {
    const result = await run(['jwks', `${server.url}/missing`])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /no JWKS or discovery document found/)
  })
})
