import type { Namespace, Socket } from 'socket.io'
import { emitReservedToListeners, emitToListeners, type Listener, type SocketIoHooks } from '../internals/socket-io.js'
import { backlogged, runRoute, unknownEvent, warnShadowed } from '../routes/call.js'
import type { Route } from '../routes/compile.js'
import type { RouteTable } from '../routes/table.js'
import type { LiveSession } from '../session/live-session.js'
import type { LiveSessions } from '../session/registry.js'
import { kLoading, kSession, runListener, runListeners, type SessionSocket } from './autosave.js'

// ---- Where an event of a client comes in: its route, or its listeners with autosave ----

/** Whether the socket belongs to a registration that saves after every listener. */
const saving = (socket: SessionSocket): boolean => socket[kSession]?.ctx.options.autoSave === true

/** A catch-all listener's stand-in, shared by every socket (it reads the socket from `this`). */
function anyListener (fn: Listener): Listener {
  return function (this: unknown, ...args: unknown[]) {
    runListener(this as SessionSocket, fn, args, '*')
  }
}

/** A connection listener's stand-in: it waits for a loading session, then runs with autosave. */
function connectionListener (fn: Listener): Listener {
  return function (this: unknown, socket: unknown) {
    const loading = (socket as SessionSocket)[kLoading]
    if (loading === undefined) return runListener(socket as SessionSocket, fn, [socket], 'connection')
    void loading.then((keep) => { if (keep) runListener(socket as SessionSocket, fn, [socket], 'connection') })
  }
}

/**
 * An event of a session that sockets on other nodes hold too: it runs once this node has the session's lease, and
 * gives it back when its reply went out. When another node kept the lease too long, it is answered as a failed save
 * and does not run; when the session is gone, its sockets are ended; when the store failed, it runs without the
 * lease (its save fails too unless the store is back: nothing is written over another node's write unseen).
 */
function leased (socket: SessionSocket, live: LiveSession, route: Route | undefined, listeners: Listener[] | undefined, args: unknown[], event: string, done: () => void): void {
  const lease = live.lease
  const exit = (): void => {
    lease.exit()
    done()
  }
  const run = (): void => {
    if (route !== undefined) runRoute(socket, live, route, args, exit)
    else runListeners(socket, listeners as Listener[], args, event, exit)
  }
  const entered = lease.enter()
  if (entered === undefined) return run()
  const held = live.hold(entered)
  if (held === undefined) {
    exit()
    return backlogged(socket, live, route, args)
  }
  held.then(() => {
    if (!live.gone && socket.connected) run()
    else exit()
  }, (err: Error) => {
    const { code } = err as { code?: string }
    if (code !== 'FST_SIO_SESSION_GONE' && code !== 'FST_SIO_SESSION_LEASE_BUSY') {
      live.ctx.log.warn({ err, event }, 'fastify-socket.io-session: the store failed to give the lease of a session held on several nodes; the event runs without it')
      if (!live.gone && socket.connected) return run()
    }
    exit()
    if (code === 'FST_SIO_SESSION_GONE') live.ctx.events.gone(live)
    else if (code === 'FST_SIO_SESSION_LEASE_BUSY') live.ctx.log.error({ err, event }, 'fastify-socket.io-session: could not take the lease of a session held on several nodes')
    backlogged(socket, live, route, args, err)
  })
}

/**
 * What Socket.IO calls for the sockets of one registration (see internals/socket-io.ts): an incoming event runs its
 * route, or its listeners then a save; reserved events (`disconnect`) run their listeners with autosave, and a
 * `disconnect` unbinds the socket from its live session; catch-all and connection listeners save too.
 */
export function dispatchHooks (registry: LiveSessions, routes: RouteTable, connected: (socket: Socket) => void, document: () => unknown): SocketIoHooks {
  /** An event from the client: its route, or its listeners with autosave, once the session is current. */
  function incoming (socket: SessionSocket, event: unknown, args: unknown[]): boolean {
    const live = socket[kSession]
    /* c8 ignore next */ // defensive: a socket is bound before its first event (connect middleware, or the recovery wait)
    if (live === undefined) return emitToListeners(socket, event, args)
    const route = routes.get(socket.nsp, event)
    const listening = socket.listenerCount(event as string) > 0
    if (route === undefined && !listening) return unknownEvent(routes.routing, socket, event, args)
    if (route !== undefined && listening) warnShadowed(route)
    if (!live.ctx.options.autoSave) {
      if (route === undefined) return emitToListeners(socket, event, args)
      runRoute(socket, live, route, args)
      return true
    }
    // Written elsewhere, or held by HTTP requests: the event runs once the session was read again, or given back
    // (in order; dropped if the session ended or the socket left meanwhile).
    const refreshing = live.refreshing ?? live.joining ?? live.gate.closed
    if (refreshing !== undefined) {
      const held = live.hold(refreshing)
      if (held === undefined) backlogged(socket, live, route, args)
      else void held.then(() => { if (!live.gone && socket.connected) incoming(socket, event, args) })
      return true
    }
    // A client's event is activity: a rolling session's expiry moves on (saved with the handler's changes).
    live.touch()
    const listeners = route === undefined ? socket.rawListeners(event as string) as Listener[] : undefined
    // Counted while it runs: an HTTP request of the session waits for it (see gate.ts).
    const gate = live.gate
    gate.enter()
    const done = gate.exit
    if (live.shared) leased(socket, live, route, listeners, args, String(event), done)
    else if (route !== undefined) runRoute(socket, live, route, args, done)
    else runListeners(socket, listeners as Listener[], args, String(event), done)
    return true
  }
  /** A reserved event (`disconnect`, `error`, ...): its listeners, with autosave. */
  function reserved (socket: SessionSocket, event: unknown, args: unknown[]): boolean {
    let handled: boolean
    if (!saving(socket)) handled = emitReservedToListeners(socket, event, args)
    else {
      const listeners = socket.rawListeners(event as string) as Listener[]
      handled = listeners.length > 0
      if (handled) runListeners(socket, listeners, args, String(event))
    }
    // After the application's disconnect listeners (their changes are saved): the socket leaves its session.
    const live = socket[kSession]
    if (event === 'disconnect' && live !== undefined) registry.release(live, socket)
    return handled
  }
  return {
    incoming,
    reserved,
    wrapsAny: saving,
    anyListener,
    connectionListener,
    route: (nsp, args) => routes.add(nsp, args),
    serverEvent: (nsp, args) => routes.declare(nsp, args),
    // Emits are watched only when they are checked (events.validateEmits, off in production).
    ...(routes.routing.events.validateEmits ? { outgoing: (nsp: Namespace, event: unknown, args: unknown[]) => { routes.checkEmit(nsp, event, args) } } : {}),
    document,
    connected
  }
}
