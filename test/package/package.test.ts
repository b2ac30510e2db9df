/**
 * The package as users get it: `npm pack`, installed into a temporary project, every subpath
 * loaded with `import` and `require`, one copy of the core per module format, the type
 * augmentations visible to ESM and CommonJS consumers, and publint / attw clean.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('../..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const subpaths = Object.keys(pkg.exports).filter((key) => key !== './package.json')
const specifier = (subpath: string) =>
  subpath === '.' ? 'jwt-gate' : `jwt-gate/${subpath.slice(2)}`

// What each entry must export at run time.
const EXPECTED: Record<string, string[]> = {
  'jwt-gate': ['createVerifier', 'AuthError', 'isAuthError', 'assertScopes', 'assertClaims'],
  'jwt-gate/express': ['requireJwt', 'requireScopes', 'requireClaims', 'jwtErrorHandler'],
  'jwt-gate/koa': ['requireJwt', 'requireScopes', 'requireClaims'],
  'jwt-gate/fastify': ['default', 'requireScopes', 'requireClaims'],
  'jwt-gate/hono': ['requireJwt', 'requireScopes', 'requireClaims'],
  'jwt-gate/otel': ['instrument'],
  'jwt-gate/redis': ['redisDenylist'],
  'jwt-gate/testing': ['createTestIssuer'],
}

let project: string
let tarball: string

before(async () => {
  project = mkdtempSync(join(tmpdir(), 'jwt-gate-consumer-'))
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project], {
    cwd: root,
  })
  tarball = join(project, JSON.parse(stdout)[0].filename)
  const installed = join(project, 'node_modules', 'jwt-gate')
  mkdirSync(installed, { recursive: true })
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'])
  // Dependencies and peers come from this repository's node_modules (no registry needed).
  for (const dep of [
    'jose',
    'lru-cache',
    'express',
    'koa',
    'fastify',
    'hono',
    '@opentelemetry',
    'ioredis',
    'redis',
    '@types',
  ]) {
    const target = join(project, 'node_modules', dep)
    mkdirSync(join(target, '..'), { recursive: true })
    symlinkSync(join(root, 'node_modules', dep), target)
  }
  cpSync(join(root, 'test/package/consumer'), project, { recursive: true })
})
after(() => rmSync(project, { recursive: true, force: true }))

async function node(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd: project })
  return stdout.trim()
}

describe('packed tarball', () => {
  test('ships dist, README and nothing from src or test', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball])
    const files = stdout.split('\n').filter(Boolean)
    assert.ok(files.includes('package/README.md'))
    assert.ok(
      files.every((file) => !/^package\/(src|test|adapters|bench|examples)\//.test(file)),
      files.join('\n'),
    )
    assert.ok(files.some((file) => file === 'package/dist/index.cjs'))
  })

  test('the exports map names every specifier', () => {
    assert.deepEqual(subpaths.map(specifier).sort(), Object.keys(EXPECTED).sort())
  })

  for (const subpath of subpaths) {
    const name = specifier(subpath)
    test(`${name}: loads with import and with require, with its exports`, async () => {
      const expected = JSON.stringify(EXPECTED[name])
      const check = (mod: string) => `
        const names = ${expected}; const missing = names.filter((n) => !(n in ${mod}));
        if (missing.length) { console.log('missing', missing.join()); process.exit(1) } console.log('ok')`
      assert.equal(
        await node(['--input-type=module', '-e', `import * as m from '${name}'; ${check('m')}`]),
        'ok',
      )
      assert.equal(await node(['-e', `const m = require('${name}'); ${check('m')}`]), 'ok')
    })
  }

  test('one core per format: the adapters throw the very AuthError class of jwt-gate', async () => {
    const esm = `
      import { AuthError } from 'jwt-gate'; import * as express from 'jwt-gate/express'; import * as koa from 'jwt-gate/koa'
      const results = []
      try { express.requireScopes('x')({ headers: {} }, {}, (e) => { if (e) throw e }) } catch (e) { results.push(e.constructor === AuthError) }
      try { koa.requireScopes('x')({ state: {} }, async () => {}) } catch (e) { results.push(e.constructor === AuthError) }
      console.log(JSON.stringify(results))`
    const cjs = `
      const { AuthError } = require('jwt-gate'); const express = require('jwt-gate/express'); const koa = require('jwt-gate/koa')
      const results = []
      try { express.requireScopes('x')({ headers: {} }, {}, (e) => { if (e) throw e }) } catch (e) { results.push(e.constructor === AuthError) }
      try { koa.requireScopes('x')({ state: {} }, async () => {}) } catch (e) { results.push(e.constructor === AuthError) }
      console.log(JSON.stringify(results))`
    assert.equal(await node(['--input-type=module', '-e', esm]), '[true,true]')
    assert.equal(await node(['-e', cjs]), '[true,true]')
    // Across formats the classes differ, yet instanceof still holds (a global brand).
    const mixed = `
      import { AuthError } from 'jwt-gate'; import { createRequire } from 'node:module'
      const express = createRequire(import.meta.url)('jwt-gate/express')
      try { express.requireScopes('x')({ headers: {} }, {}, (e) => { if (e) throw e }) }
      catch (e) { console.log(e.constructor !== AuthError, e instanceof AuthError) }`
    assert.equal(await node(['--input-type=module', '-e', mixed]), 'true true')
  })

  test('the Fastify plugin registers through require() as well as import', async () => {
    const script = (load: string) => `${load}
      const app = fastify()
      app.register(plugin, { issuer: 'urn:i', audience: 'a', secret: 'x'.repeat(32) })
      app.ready().then(() => { console.log(typeof app.requireJwt, app.hasRequestDecorator('auth')); return app.close() })`
    assert.equal(
      await node([
        '-e',
        script(`const fastify = require('fastify'); const plugin = require('jwt-gate/fastify')`),
      ]),
      'function true',
    )
    assert.equal(
      await node([
        '-e',
        script(
          `const fastify = require('fastify'); const plugin = require('jwt-gate/fastify').default`,
        ),
      ]),
      'function true',
    )
    assert.equal(
      await node([
        '--input-type=module',
        '-e',
        script(`import fastify from 'fastify'; import plugin from 'jwt-gate/fastify'`),
      ]),
      'function true',
    )
  })

  test('types: augmentations and the options union, for ESM and CommonJS consumers', async () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    await run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json')], {
      cwd: project,
    }).catch((error: { stdout?: string }) => {
      assert.fail(`tsc failed:\n${error.stdout ?? '(no output)'}`)
    })
  })

  test('publint and are-the-types-wrong find nothing', async () => {
    await run(join(root, 'node_modules/.bin/publint'), [
      'run',
      '--strict',
      join(project, 'node_modules/jwt-gate'),
    ]).catch((error: { stdout?: string }) => {
      assert.fail(`publint:\n${error.stdout}`)
    })
    await run(join(root, 'node_modules/.bin/attw'), [
      tarball,
      '--profile',
      'node16',
      '--format',
      'ascii',
    ]).catch((error: { stdout?: string }) => {
      assert.fail(`attw:\n${error.stdout}`)
    })
  })
})
