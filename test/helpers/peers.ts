/**
 * Where the tests find the frameworks and Redis clients they run jwt-gate against. Normally the
 * majors pinned in devDependencies (npm aliases for the older ones). `npm run test:latest` sets
 * `JWT_GATE_LATEST_PEERS` to a directory where it installed the newest published versions;
 * `latestPeer(name)` then loads the package from there, and the suites run against those.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** The directory holding `node_modules` with the newest peers, when `test:latest` runs. */
export const LATEST_PEERS_DIR = process.env.JWT_GATE_LATEST_PEERS || undefined

/** The installed version of `name` in the latest-peers directory. */
export function latestPeerVersion(name: string): string {
  const require = createRequire(join(LATEST_PEERS_DIR!, 'package.json'))
  return (require(`${name}/package.json`) as { version: string }).version
}

/**
 * Import `name` from the latest-peers directory (resolved from there, so its own dependencies
 * come from there too). Only call it when `LATEST_PEERS_DIR` is set.
 */
export async function latestPeer<T>(name: string): Promise<T> {
  if (LATEST_PEERS_DIR === undefined) throw new Error('JWT_GATE_LATEST_PEERS is not set')
  const require = createRequire(join(LATEST_PEERS_DIR, 'package.json'))
  return (await import(pathToFileURL(require.resolve(name)).href)) as T
}
