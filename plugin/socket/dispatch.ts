import type { Namespace } from 'socket.io'
import { kLoading, kSession, runListener, runListeners, type Listener, type SessionSocket } from './autosave.js'
import { backlogged, runRoute, unknownEvent, warnShadowed } from '../routes/call.js'
import { kRoutes, type RoutedNamespace } from '../routes/table.js'

// ---- Where Socket.IO hands events to the application: routes, and listeners with autosave ----

type Methods = Record<string, (...args: unknown[]) => unknown>

/** One wrapper per catch-all listener function, shared by every socket (it reads the socket from `this`). */
const anyWrappers = new WeakMap<Listener, Listener>()
/** One wrapper per connection listener. */
const connectionWrappers = new WeakMap<Listener, Listener>()

function anyWrapper (fn: Listener): Listener {
  let wrapper = anyWrappers.get(fn)
  if (wrapper === undefined) {
    wrapper = function (this: unknown, ...args: unknown[]) {
      runListener(this as SessionSocket, fn, args, '*')
    }
    anyWrappers.set(fn, wrapper)
  }
  return wrapper
}

/** Wraps a connection listener: it waits for a loading session, then runs with autosave. */
function connectionWrapper (fn: Listener): Listener {
  if (typeof fn !== 'function') return fn
  let wrapper = connectionWrappers.get(fn)
  if (wrapper === undefined) {
    wrapper = function (this: unknown, socket: unknown) {
      const loading = (socket as SessionSocket)[kLoading]
      if (loading === undefined) return runListener(socket as SessionSocket, fn, [socket], 'connection')
      void loading.then((keep) => { if (keep) runListener(socket as SessionSocket, fn, [socket], 'connection') })
    }
    connectionWrappers.set(fn, wrapper)
  }
  return wrapper
}

/** Marks a prototype whose methods this module wrapped. */
const kWrapped = Symbol('fastify-socket.io-session.wrapped')

/** Whether the socket belongs to a registration that saves after every listener. */
const saving = (socket: SessionSocket): boolean => socket[kSession]?.ctx.autoSave === true

/**
 * Makes Socket.IO run the events of this plugin's sockets through their routes, or their listeners through
 * `runListeners`, once per process: the incoming-event dispatch (`emitUntyped`, which Socket.IO's Socket calls
 * through `super`, so it is wrapped on the parent prototype) and reserved events such as `disconnect`
 * (`emitReserved`). Catch-all listeners (`onAny`), which Socket.IO calls directly, are wrapped as they are
 * added. A plugin socket's `disconnect` also unbinds it from its live session, without a listener of its own.
 * Any other socket or emitter (another server, unrouted events with `autoSave: false`, namespaces) gets
 * Socket.IO's own behaviour, and no socket carries per-socket or per-listener copies.
 */
export function wrapSocketClass (proto: object): void {
  if (Object.hasOwn(proto, kWrapped)) return
  const parent = Object.getPrototypeOf(proto) as Methods
  const own = proto as Methods
  const emitUntyped = parent.emitUntyped
  const emitReserved = own.emitReserved
  const onAny = own.onAny
  const prependAny = own.prependAny
  const offAny = own.offAny
  /** An event from the client: its route, or its listeners with autosave, once the session is current. */
  function incoming (socket: SessionSocket, event: unknown, args: unknown[]): boolean {
    const live = socket[kSession]
    if (live === undefined) return emitUntyped.call(socket, event, ...args) as boolean
    const route = (socket.nsp as RoutedNamespace)[kRoutes]?.get(event)
    const listening = socket.listenerCount(event as string) > 0
    if (route === undefined && !listening) return unknownEvent(socket, event, args)
    if (route !== undefined && listening) warnShadowed(route)
    if (!live.ctx.autoSave) {
      if (route === undefined) return emitUntyped.call(socket, event, ...args) as boolean
      runRoute(socket, live, route, args)
      return true
    }
    // Written elsewhere: the event runs once the session was read again (in order; dropped if the session
    // ended or the socket left meanwhile).
    const refreshing = live.refreshing
    if (refreshing !== undefined) {
      const held = live.hold(refreshing)
      if (held === undefined) backlogged(socket, live, route, args)
      else void held.then(() => { if (!live.gone && socket.connected) incoming(socket, event, args) })
      return true
    }
    // A client's event is activity: a rolling session's expiry moves on (saved with the handler's changes).
    live.touch()
    if (route !== undefined) runRoute(socket, live, route, args)
    else runListeners(socket, socket.rawListeners(event as string) as Listener[], args, String(event))
    return true
  }
  /** A reserved event (`disconnect`, `error`, ...): its listeners, with autosave. */
  function reserved (socket: SessionSocket, event: unknown, args: unknown[]): boolean {
    const listeners = socket.rawListeners(event as string) as Listener[]
    if (listeners.length === 0) return false
    runListeners(socket, listeners, args, String(event))
    return true
  }
  if (!Object.hasOwn(parent, kWrapped)) {
    Object.assign(parent, {
      [kWrapped]: true,
      emitUntyped: function (this: SessionSocket, event: unknown, ...args: unknown[]) {
        return incoming(this, event, args)
      }
    })
  }
  Object.assign(proto, {
    [kWrapped]: true,
    emitReserved: function (this: SessionSocket, event: unknown, ...args: unknown[]) {
      const handled = saving(this) ? reserved(this, event, args) : emitReserved.call(this, event, ...args)
      // After the application's disconnect listeners (their changes are saved): the socket leaves its session.
      const live = this[kSession]
      if (event === 'disconnect' && live !== undefined) live.ctx.registry.release(live, this)
      return handled
    },
    onAny: function (this: SessionSocket, fn: unknown) {
      return onAny.call(this, saving(this) ? anyWrapper(fn as Listener) : fn)
    },
    prependAny: function (this: SessionSocket, fn: unknown) {
      return prependAny.call(this, saving(this) ? anyWrapper(fn as Listener) : fn)
    },
    offAny: function (this: SessionSocket, fn?: unknown) {
      if (fn === undefined) return offAny.call(this)
      const wrapper = anyWrappers.get(fn as Listener)
      return offAny.call(this, wrapper !== undefined && this.listenersAny().includes(wrapper) ? wrapper : fn)
    }
  })
}

/** The namespace events whose listeners receive a new socket. */
const connectionEvents = new Set<unknown>(['connection', 'connect'])

/** Makes the namespace's connection listeners, present and future, save the session after they ran. */
export function wrapNamespace (nsp: Namespace): void {
  const emitter = nsp as unknown as Methods
  const inherited = Object.getPrototypeOf(nsp) as Methods
  for (const name of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener']) {
    emitter[name] = function (this: Namespace, event: unknown, fn: unknown) {
      return inherited[name].call(this, event, connectionEvents.has(event) ? connectionWrapper(fn as Listener) : fn)
    }
  }
  for (const name of ['off', 'removeListener']) {
    emitter[name] = function (this: Namespace, event: unknown, fn: unknown) {
      return inherited[name].call(this, event, connectionWrappers.get(fn as Listener) ?? fn)
    }
  }
  for (const event of connectionEvents) {
    const present = nsp.rawListeners(event as 'connection') as Listener[]
    nsp.removeAllListeners(event as 'connection')
    for (const fn of present) inherited.on.call(nsp, event, connectionWrapper(fn))
  }
}
