import type { Socket } from 'socket.io'
import type { ResolvedOptions } from './options.js'

// ---- Origin check (cross-site WebSocket hijacking) ----

/** An http(s) origin, parsed; undefined for anything else (`null`, garbage, other schemes). */
function parseOrigin (origin: string): URL | undefined {
  try {
    const url = new URL(origin)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether the handshake's Origin may open a socket: absent (per `allowMissingOrigin`), the server's own
 * host (the `Host` header), or allowed by `allowedOrigins`. Repeated, `null` and malformed origins are refused.
 */
export async function originAllowed (socket: Socket, options: ResolvedOptions): Promise<boolean> {
  const origin = socket.handshake.headers.origin
  if (origin === undefined) return options.allowMissingOrigin
  // Node joins a repeated Origin header into one string ("a, b"), which parses as no origin.
  const url = parseOrigin(String(origin))
  if (url === undefined) return false
  if (url.host === socket.handshake.headers.host?.toLowerCase()) return true
  return (await options.allowedOrigins(url.origin, socket)) === true
}
