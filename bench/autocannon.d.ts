/**
 * The part of autocannon's API the HTTP benchmark uses (autocannon ships no type declarations,
 * and `@types/autocannon` is not among our devDependencies).
 */
declare module 'autocannon' {
  namespace autocannon {
    /** One entry of the `requests` array; connections cycle through the array in order. */
    interface RequestOptions {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string
    }

    interface Options {
      url: string
      connections?: number
      /** Seconds. */
      duration?: number
      pipelining?: number
      /** Seconds before a request counts as timed out. */
      timeout?: number
      headers?: Record<string, string>
      requests?: RequestOptions[]
      /** Milliseconds between samples; the run also checks for its end at this interval. */
      sampleInt?: number
      /** Called once per connection, before its first request. */
      setupClient?: (client: Client) => void
    }

    /** One connection. */
    interface Client {
      /** Replace the requests this connection cycles through. */
      setRequests(requests: RequestOptions[]): void
    }

    /** The running instance: emits `start` once the connections are set up, then `done`. */
    interface Instance extends NodeJS.EventEmitter {
      stop(): void
    }

    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p50: number
      p90: number
      p99: number
    }

    interface Result {
      /** Seconds from the call (before the connections' requests are built) to the end. */
      duration: number
      start: Date
      finish: Date
      errors: number
      timeouts: number
      non2xx: number
      '2xx': number
      latency: Histogram
      requests: Histogram
    }
  }

  function autocannon(options: autocannon.Options): Promise<autocannon.Result>
  function autocannon(
    options: autocannon.Options,
    callback: (error: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance

  export = autocannon
}
