import type { Socket } from 'socket.io'
import type { LiveSession } from './live-sessions.js'

// ---- Whose buckets an event takes from ----

/** The key of a socket's buckets: the id of its stored session (`live`), else its address. */
export function limitKey (socket: Socket, live: LiveSession): string {
  return live.id ?? socket.handshake.address
}
