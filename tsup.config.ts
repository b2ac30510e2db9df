import { defineConfig } from 'tsup'

/**
 * Eight library entries and the `jwt-gate` CLI, two formats. Chunk splitting is on for CommonJS
 * as well as ESM so each format holds exactly one copy of the core: `AuthError` from `jwt-gate`
 * is the very class the adapters throw (and the CLI runs). Runtime dependencies and framework
 * peers stay external. The library entries, each with declarations:
 */
const library = {
  index: 'src/index.ts',
  express: 'adapters/express.ts',
  koa: 'adapters/koa.ts',
  fastify: 'adapters/fastify.ts',
  hono: 'adapters/hono.ts',
  otel: 'src/otel/index.ts',
  testing: 'src/testing/index.ts',
  redis: 'src/redis/index.ts',
}

export default defineConfig({
  // The `jwt-gate` bin is built with the library, so it runs the very chunks the middleware runs.
  entry: { ...library, cli: 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  // The CLI has no API: declarations for the library entries only.
  dts: { entry: library },
  sourcemap: true,
  clean: true,
  // esbuild already tree-shakes while bundling. tsup's `treeshake: true` adds a second pass
  // through Rollup that re-emits every chunk and warns about `dist/fastify.cjs` having named and
  // default exports — which it has on purpose (API.md: the plugin is the default export, the
  // guards are named; CommonJS users write `require('jwt-gate/fastify').default` or take the
  // named `jwtGate`). test/package checks both formats load with the same exports.
  treeshake: false,
  outDir: 'dist',
  // Keep `node:crypto` rather than `crypto`: unambiguous, and what Deno and Bun expect.
  removeNodeProtocol: false,
})
