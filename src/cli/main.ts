#!/usr/bin/env node
/**
 * `jwt-gate` command line (`npx jwt-gate explain|jwks`), the package's `bin`. Exit codes:
 * 0 valid / no problem, 1 refused / problems found, 2 usage or network error.
 */
import { readArgs, UsageError, USAGE, type ExplainArgs, type JwksArgs } from './args.js'
import { explain, verifierOptionsOf } from './explain.js'
import { asJson, explainText, jwksText } from './format.js'
import { inspectJwks, JwksFetchError } from './jwks.js'

const EXIT_OK = 0
const EXIT_REFUSED = 1
const EXIT_USAGE = 2

/** Run the CLI; resolves to the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  // The reports say what went wrong with the keys; Node's own warning line would repeat it.
  process.removeAllListeners('warning')
  process.on('warning', (warning: Error & { code?: string }) => {
    if (warning.code !== 'JWT_GATE_KEYS_UNREACHABLE') console.error(`warning: ${warning.message}`)
  })
  try {
    const args = readArgs(argv, process.env)
    if (args.command === 'help') {
      console.log(USAGE)
      return EXIT_OK
    }
    return args.command === 'explain' ? await runExplain(args) : await runJwks(args)
  } catch (error) {
    if (error instanceof UsageError || error instanceof TypeError) {
      console.error(`jwt-gate: ${error.message}`)
      if (error instanceof UsageError) console.error(`\n${USAGE}`)
      return EXIT_USAGE
    }
    if (error instanceof JwksFetchError) {
      console.error(`jwt-gate: ${error.message}`)
      return EXIT_USAGE
    }
    throw error
  }
}

async function runExplain(args: ExplainArgs): Promise<number> {
  const token = (args.token ?? (await readStdin())).trim()
  if (token === '') throw new UsageError('no token: pass it as an argument or on stdin')
  const options = verifierOptionsOf(args, process.env)
  const report = await explain(token, options, `secret from $${args.secretEnv}`)
  console.log(args.json ? asJson(report) : explainText(report))
  if (report.valid) return EXIT_OK
  // 503: the keys could not be had; the token's fate is unknown.
  return report.error!.status === 503 ? EXIT_USAGE : EXIT_REFUSED
}

async function runJwks(args: JwksArgs): Promise<number> {
  const report = await inspectJwks(args.target)
  console.log(args.json ? asJson(report) : jwksText(report))
  return report.warnings.length === 0 ? EXIT_OK : EXIT_REFUSED
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return ''
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = EXIT_USAGE
  },
)
