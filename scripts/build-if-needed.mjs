// Build dist/ when it is missing or older than the sources, so `npm start` and `npm run bench`
// work right after `npm install` on a fresh clone.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const newest = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name)
    const time = entry.isDirectory() ? newest(path) : statSync(join(root, path)).mtimeMs
    return Math.max(latest, time)
  }, 0)

const built = join(root, 'dist', 'index.js')
const stale =
  !existsSync(built) || statSync(built).mtimeMs < Math.max(newest('src'), newest('adapters'))
if (stale) {
  const result = spawnSync('npx', ['tsup'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  if (result.status !== 0) process.exit(result.status ?? 1)
}
