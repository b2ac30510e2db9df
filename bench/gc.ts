/**
 * A young-generation garbage collection on demand, without asking for `node --expose-gc` (the
 * `npm run bench` command line is fixed). The micro benchmark collects before every sample so
 * the short-lived garbage one contestant leaves is not collected on the next one's clock. A
 * minor collection takes about a millisecond; a full one tens of milliseconds, for nothing: the
 * verifications' garbage dies young.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void

/** Run a synchronous young-generation collection. */
export function collectGarbage(): void {
  gc({ type: 'minor' })
}
