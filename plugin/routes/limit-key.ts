import type { Socket } from 'socket.io'
import type { LiveSession } from '../session/live-session.js'
import type { Route } from './compile.js'

// ---- Whose buckets an event takes from ----

/** What a `keyGenerator` gave instead of a key, for the log (never the value itself). */
const described = (key: unknown): string => typeof key === 'string' ? 'an empty string' : typeof key

/**
 * The key of a socket's buckets: the `events.keyGenerator`'s key when it gives one (a failure or a missing key
 * is logged), else the id of its stored session (`live`), else its address.
 */
export function limitKey (route: Route, socket: Socket, live: LiveSession): string {
  const { events, log } = route.routing
  if (events.keyGenerator !== undefined) {
    try {
      const key = events.keyGenerator(socket)
      if (typeof key === 'string' && key.length > 0) return key
      log.error({ event: route.name, got: described(key) }, `fastify-socket.io-session: events.keyGenerator gave ${described(key)}, not a key; the default key is used`)
    } catch (err) {
      log.error({ err, event: route.name }, 'fastify-socket.io-session: events.keyGenerator failed; the default key is used')
    }
  }
  return live.id ?? socket.handshake.address
}
