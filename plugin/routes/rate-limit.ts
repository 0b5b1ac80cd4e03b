// ---- Token buckets by key, one store per registration ----

/** A rate limit: at most `max` events at once, refilled at `max` per `timeWindow` ms (a token bucket). */
export interface RateLimit {
  /** The bucket's size: the burst a session may send at once, and how many events each window refills. */
  max: number
  /** The window, in ms, over which `max` events are refilled. */
  timeWindow: number
}

/** One key's bucket for one limit. */
interface Bucket { tokens: number, at: number }

/** Below this many keys the store is not swept. */
const SWEEP_FLOOR = 1024

/** Whether a bucket would be full again by `now` (a full bucket is the same as none). */
function refilled (bucket: Bucket, limit: RateLimit, now: number): boolean {
  return bucket.tokens + (now - bucket.at) * (limit.max / limit.timeWindow) >= limit.max
}

/**
 * The ms from now until a bucket holding `tokens` (< 1) has a token again, worked out with the same sum `take`
 * will do then: the division alone can round either way (a client that waited as told refused again).
 */
function wait (tokens: number, rate: number): number {
  let ms = Math.ceil((1 - tokens) / rate)
  while (tokens + ms * rate < 1) ms++
  while (ms > 1 && tokens + (ms - 1) * rate >= 1) ms--
  return ms
}

/** Whether every bucket of a key would be full again by `now`. */
function allRefilled (buckets: Map<RateLimit, Bucket>, now: number): boolean {
  for (const [limit, bucket] of buckets) if (!refilled(bucket, limit, now)) return false
  return true
}

/**
 * The buckets of one registration, by key (a session, an address, or the `keyGenerator`'s key): they outlive
 * sockets, so a reconnect does not refill them. A key's buckets are made with its first limited event, and
 * dropped once they would all be full again, by a sweep each time the number of keys has doubled.
 */
export class Buckets {
  private readonly keys = new Map<string, Map<RateLimit, Bucket>>()
  /** The number of keys at which the next new key sweeps first. */
  private sweepAt = SWEEP_FLOOR

  /** How many keys hold buckets. */
  get size (): number {
    return this.keys.size
  }

  /**
   * Takes one token from the key's bucket for `limit`: 0 when the event may run, else the ms until a token
   * is back. Each limit object is its own bucket (a route's, or the global one).
   */
  take (key: string, limit: RateLimit, now: number): number {
    let buckets = this.keys.get(key)
    if (buckets === undefined) {
      if (this.keys.size >= this.sweepAt) this.sweep(now)
      buckets = new Map()
      this.keys.set(key, buckets)
    }
    let bucket = buckets.get(limit)
    if (bucket === undefined) {
      bucket = { tokens: limit.max, at: now }
      buckets.set(limit, bucket)
    }
    const rate = limit.max / limit.timeWindow
    bucket.tokens = Math.min(limit.max, bucket.tokens + (now - bucket.at) * rate)
    bucket.at = now
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return wait(bucket.tokens, rate)
  }

  /** Drops the keys whose buckets would all be full again; the next sweep waits until the keys have doubled. */
  private sweep (now: number): void {
    for (const [key, buckets] of this.keys) if (allRefilled(buckets, now)) this.keys.delete(key)
    this.sweepAt = Math.max(SWEEP_FLOOR, this.keys.size * 2)
  }
}
