import type { Socket } from 'socket.io'
import { kLoading, kSession, type SessionSocket } from './autosave.js'
import { Refusal } from './errors.js'
import { runHandshake, type Accepted, type HandshakeContext } from './handshake.js'
import { LiveSession, type Context, type LiveSessions } from './live-sessions.js'
import { kLive, type SocketSessionClass } from './socket-session.js'

// ---- Binding sockets to live sessions ----

/** What the handshake left for the connection: the stored session, or null for none. */
const kAccepted = Symbol('fastify-socket.io-session.accepted')

type Pending = SessionSocket & { [kAccepted]?: Accepted | null }

/** What binding needs, fixed at registration. */
export interface ConnectContext extends HandshakeContext {
  live: LiveSessions
  store: Context
  SocketSession: SocketSessionClass
  socketMethods: Record<string, unknown> | undefined
}

const socketOnce = (socket: Socket, event: string, fn: () => void): void => {
  // Socket.prototype's own method: the plugin's listeners are not wrapped for autosave.
  (Object.getPrototypeOf(socket) as Socket).once.call(socket, event as 'disconnect', fn)
}

/** The Socket.IO middleware: runs the handshake, refusing with `connect_error` and `err.data`. */
export function sessionMiddleware (c: ConnectContext) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    void runHandshake(c, socket).then((result) => {
      if (result instanceof Refusal) return next(result)
      ;(socket as Pending)[kAccepted] = result ?? null
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
    : new c.SocketSession(store, holder, idGenerator, cookieOpts, signer, JSON.parse(JSON.stringify(accepted.stored)), accepted.id)
  const live = new LiveSession(c.store, accepted?.id, session as unknown as Record<string, unknown>)
  session[kLive] = live
  return live
}

/** Binds a connected socket to the live session of its id (shared with the other sockets of that session). */
function bind (c: ConnectContext, socket: SessionSocket, accepted: Accepted | undefined): void {
  let live = accepted === undefined ? undefined : c.live.get(accepted.id)
  if (live !== undefined && accepted !== undefined && !live.gone) live.refresh(accepted.stored)
  else live = newLive(c, socket, accepted)
  const bound = live
  c.live.bind(socket, bound)
  socket[kSession] = bound
  socket.session = bound.data as unknown as Socket['session']
  Object.defineProperty(socket.request, 'session', { value: bound.data, configurable: true, writable: true })
  socketOnce(socket, 'disconnect', () => c.live.release(socket, bound))
}

/**
 * The plugin's first connection listener. Sockets that passed the middleware are bound at once. A recovered
 * socket (Socket.IO skipped the middlewares) runs the handshake now: its events and the application's
 * connection listeners wait for it, and a refusal is sent as the error event before a disconnect.
 */
export function onConnection (c: ConnectContext, errorEvent: string) {
  return (socket: Pending): void => {
    if (c.socketMethods !== undefined) Object.assign(socket, c.socketMethods)
    const accepted = socket[kAccepted]
    if (accepted !== undefined) {
      delete socket[kAccepted]
      bind(c, socket, accepted ?? undefined)
      return
    }
    const loading = runHandshake(c, socket).then((result) => {
      delete socket[kLoading]
      if (result instanceof Refusal) {
        socket.emit(errorEvent, result.data)
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
