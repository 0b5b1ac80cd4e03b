import type { Socket } from 'socket.io'

// ---- Per-socket token buckets ----

/** A rate limit: at most `max` events at once, refilled at `max` per `timeWindow` ms (a token bucket). */
export interface RateLimit {
  /** The bucket's size: the burst a socket may send at once, and how many events each window refills. */
  max: number
  /** The window, in ms, over which `max` events are refilled. */
  timeWindow: number
}

/** One socket's bucket for one limit. */
interface Bucket { tokens: number, at: number }

/** A socket's buckets, made on its first limited event (sockets without limits carry none). */
const kBuckets = Symbol('fastify-socket.io-session.buckets')

interface LimitedSocket extends Socket { [kBuckets]?: Map<RateLimit, Bucket> }

/**
 * Takes one token from the socket's bucket for `limit`: 0 when the event may run, else the ms until a token
 * is back. Each limit object is its own bucket (a route's, or the global one).
 */
export function take (socket: Socket, limit: RateLimit, now: number): number {
  const buckets = ((socket as LimitedSocket)[kBuckets] ??= new Map())
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
  return Math.ceil((1 - bucket.tokens) / rate)
}
