/**
 * `jwt-gate` CLI: the command line read with `node:util` `parseArgs`, flags falling back to
 * environment variables. A mistake throws `UsageError` (exit 2).
 */
import { parseArgs } from 'node:util'

/** A command line that cannot be run; the CLI prints the message and the usage, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** `jwt-gate explain`, read. */
export interface ExplainArgs {
  command: 'explain'
  /** The token from the argument; undefined: read stdin. */
  token: string | undefined
  issuer: string
  audience: string[]
  jwksUri: string | undefined
  /** Name of the environment variable holding the HMAC secret (never the secret itself). */
  secretEnv: string | undefined
  algorithms: string[] | undefined
  typ: string | undefined
  clockTolerance: string | undefined
  json: boolean
}

/** `jwt-gate jwks`, read. */
export interface JwksArgs {
  command: 'jwks'
  /** An issuer, a discovery document URL or a JWKS URL. */
  target: string
  json: boolean
}

/** `jwt-gate help` or no command. */
export interface HelpArgs {
  command: 'help'
}

/** Any command line the CLI runs. */
export type CliArgs = ExplainArgs | JwksArgs | HelpArgs

/** The help text. */
export const USAGE = `Usage:
  jwt-gate explain [token] --issuer URL --audience AUD [options]
      Run every check of the verifier on a token (argument or stdin) and say which failed.
      --issuer URL         trusted issuer (env JWT_GATE_ISSUER)
      --audience AUD       accepted audience, repeatable (env JWT_GATE_AUDIENCE)
      --jwks-uri URL       JWKS URL (env JWT_GATE_JWKS_URI); default: OIDC discovery
      --secret-env NAME    read the HMAC secret from environment variable NAME
      --algorithms LIST    comma-separated allow-list (default: as the verifier's)
      --typ TYP            expected typ header, e.g. at+jwt
      --clock-tolerance D  leeway for exp/nbf/iat, e.g. 5s
      --json               machine-readable output
  jwt-gate jwks <issuer | discovery URL | JWKS URL> [--json]
      Fetch a key set, list its keys and point out problems.

Exit codes: 0 valid (explain) or no problem found (jwks), 1 token refused or problems found,
2 usage or network error.`

/** Read `argv` (without node and the script) and the environment. */
export function readArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliArgs {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    return { command: 'help' }
  }
  if (command === 'explain') return readExplain(rest, env)
  if (command === 'jwks') return readJwks(rest)
  throw new UsageError(`unknown command "${command}"`)
}

/** `parseArgs`, its errors turned into `UsageError`. */
function parse<T>(run: () => T): T {
  try {
    return run()
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

function readExplain(args: readonly string[], env: NodeJS.ProcessEnv): ExplainArgs {
  const { values, positionals } = parse(() =>
    parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        issuer: { type: 'string' },
        audience: { type: 'string', multiple: true },
        'jwks-uri': { type: 'string' },
        'secret-env': { type: 'string' },
        algorithms: { type: 'string' },
        typ: { type: 'string' },
        'clock-tolerance': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }),
  )
  if (positionals.length > 1) throw new UsageError('explain takes at most one token')
  const issuer = values.issuer ?? env.JWT_GATE_ISSUER
  if (!issuer) throw new UsageError('--issuer (or JWT_GATE_ISSUER) is required')
  const audience = values.audience ?? (env.JWT_GATE_AUDIENCE ? [env.JWT_GATE_AUDIENCE] : [])
  if (audience.length === 0) throw new UsageError('--audience (or JWT_GATE_AUDIENCE) is required')
  const jwksUri = values['jwks-uri'] ?? env.JWT_GATE_JWKS_URI
  const secretEnv = values['secret-env']
  if (jwksUri !== undefined && secretEnv !== undefined) {
    throw new UsageError('give either --jwks-uri or --secret-env, not both')
  }
  return {
    command: 'explain',
    token: positionals[0],
    issuer,
    audience,
    jwksUri,
    secretEnv,
    algorithms: values.algorithms?.split(',').map((name) => name.trim()),
    typ: values.typ,
    clockTolerance: values['clock-tolerance'],
    json: values.json === true,
  }
}

function readJwks(args: readonly string[]): JwksArgs {
  const { values, positionals } = parse(() =>
    parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { json: { type: 'boolean', default: false } },
    }),
  )
  if (positionals.length !== 1) {
    throw new UsageError('jwks takes exactly one issuer or URL')
  }
  return { command: 'jwks', target: positionals[0]!, json: values.json === true }
}
