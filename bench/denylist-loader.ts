/**
 * The Redis denylist section is written by another engineer in `bench/denylist.ts`. It is
 * loaded only if that file exists, and only through this narrow contract, so the suite runs
 * (and type-checks) before it lands.
 */
import { existsSync } from 'node:fs'

/** What `bench/denylist.ts` exports. */
export interface DenylistModule {
  runDenylistBench(options: {
    quick: boolean
  }): Promise<{ markdown: string; results: Record<string, number> }>
}

/** The section's outcome: its markdown and numbers, or why it was skipped. */
export type DenylistSection =
  | { status: 'ran'; markdown: string; results: Record<string, number> }
  | { status: 'skipped' | 'failed'; note: string }

/** The default location of the denylist benchmark. */
export const DENYLIST_MODULE = new URL('./denylist.ts', import.meta.url)

/** Run the denylist benchmark at `moduleUrl` if it exists. Never throws. */
export async function runDenylistSection(
  quick: boolean,
  moduleUrl: URL = DENYLIST_MODULE,
): Promise<DenylistSection> {
  if (!existsSync(moduleUrl)) {
    return { status: 'skipped', note: `${relative(moduleUrl)} does not exist yet.` }
  }
  try {
    // A computed specifier: the file may not exist when this one is type-checked.
    const loaded = (await import(moduleUrl.href)) as Partial<DenylistModule>
    if (typeof loaded.runDenylistBench !== 'function') {
      return { status: 'failed', note: `${relative(moduleUrl)} does not export runDenylistBench.` }
    }
    const { markdown, results } = await loaded.runDenylistBench({ quick })
    return { status: 'ran', markdown, results }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return { status: 'failed', note: `${relative(moduleUrl)} failed: ${message}` }
  }
}

function relative(url: URL): string {
  return url.pathname.replace(new URL('..', import.meta.url).pathname, '')
}
