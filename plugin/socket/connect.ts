import type { Socket } from 'socket.io'
import { kLoading, kSession, type SessionSocket } from './autosave.js'
import { Refusal, sessionError } from '../client-errors.js'
import { runHandshake, type Accepted, type HandshakeContext } from './handshake.js'
import { LiveSession, type Context } from '../session/live-session.js'
import type { LiveSessions } from '../session/registry.js'
import { kLive, type SocketSessionClass } from '../session/socket-session.js'

// ---- Binding sockets to live sessions ----

/** What the handshake left for the connection: the stored session, or null for none. */
const handshakes = new WeakMap<Socket, Accepted | null>()

/** What binding needs, fixed at registration. */
export interface ConnectContext extends HandshakeContext {
  registry: LiveSessions
  /** What the live sessions of this registration share. */
  shared: Context
  SocketSession: SocketSessionClass
}

/** The Socket.IO middleware: runs the handshake, refusing with `connect_error` and `err.data`. */
export function sessionMiddleware (c: ConnectContext) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    void runHandshake(c, socket).then((result) => {
      if (result instanceof Refusal) return next(result)
      handshakes.set(socket, result ?? null)
      next()
    })
  }
}

/** A new live session for `socket`: the stored one when given, else an empty one that is never written. */
function newLive (c: ConnectContext, socket: Socket, accepted: Accepted | undefined): LiveSession {
  const { store, idGenerator, cookieOpts, signer } = c.internals
  const holder = { protocol: socket.handshake.secure ? 'https' : 'http' }
  const session = accepted === undefined
    ? new c.SocketSession(store, holder, idGenerator, cookieOpts, signer)
    : new c.SocketSession(store, holder, idGenerator, cookieOpts, signer, accepted.stored, accepted.id)
  // The Session class restarts a maxAge cookie's clock; the live copy keeps the stored expiry.
  const expires = (accepted?.stored.cookie as { expires?: string | null } | undefined)?.expires
  if (expires != null) (session as { cookie: { expires: Date } }).cookie.expires = new Date(expires)
  const live = new LiveSession(c.shared, accepted?.id, session as unknown as Record<string, unknown>)
  session[kLive] = live
  return live
}

/** Binds a connected socket to the live session of its id (shared with the other sockets of that session). */
function bind (c: ConnectContext, socket: SessionSocket, accepted: Accepted | undefined): void {
  let live = accepted === undefined ? undefined : c.registry.get(accepted.id)
  if (live !== undefined && accepted !== undefined && !live.gone) live.refresh(accepted.stored)
  else live = newLive(c, socket, accepted)
  c.registry.bind(live, socket)
  socket[kSession] = live
  socket.session = live.view as unknown as Socket['session']
  ;(socket.request as { session?: unknown }).session = live.view
}

/**
 * The plugin's first connection listener. Sockets that passed the middleware are bound at once. A recovered
 * socket (Socket.IO skipped the middlewares) runs the handshake now: its events and the application's
 * connection listeners wait for it, and a refusal is sent as the error event before a disconnect.
 */
export function onConnection (c: ConnectContext) {
  return (socket: SessionSocket): void => {
    const accepted = handshakes.get(socket)
    if (accepted !== undefined) {
      handshakes.delete(socket)
      bind(c, socket, accepted ?? undefined)
      return
    }
    const loading = runHandshake(c, socket).then((result) => {
      socket[kLoading] = undefined
      if (result instanceof Refusal) {
        socket.emit(c.shared.options.errorEvent, sessionError(result.data.code, result.data.errors))
        socket.disconnect(true)
        return false
      }
      bind(c, socket, result)
      return true
    })
    socket[kLoading] = loading
    socket.use((_packet, next) => {
      const waiting = socket[kLoading]
      if (waiting === undefined) return next()
      void waiting.then((keep) => { if (keep) next() })
    })
  }
}
