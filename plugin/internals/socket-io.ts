import type { IncomingMessage } from 'node:http'
import { Namespace, Socket, type Server } from 'socket.io'
import { FST_SIO_SESSION_BAD_ROUTE, FST_SIO_SESSION_NO_SOCKETIO, FST_SIO_SESSION_UNSUPPORTED_SOCKETIO } from '../errors.js'

// ---- Socket.IO's non-public members: the only module that touches them ----
// Checked when the plugin is registered (`attachSocketIo` throws FST_SIO_SESSION_UNSUPPORTED_SOCKETIO naming
// what is missing) and undone when the last registration closes. The README's "What it relies on" lists them.

/** A listener as Socket.IO stores it. */
export type Listener = (this: unknown, ...args: unknown[]) => unknown
type Method = (this: unknown, ...args: unknown[]) => unknown
type Methods = Record<string | symbol, Method>

/** What one registration does where Socket.IO hands over to the application; called for its own server only. */
export interface SocketIoHooks {
  /** An event from a client (`Socket#dispatch`); `emitToListeners` is Socket.IO's own handling. */
  incoming: (socket: Socket, event: unknown, args: unknown[]) => boolean
  /** A reserved event of a socket (`disconnect`, `error`, ...); `emitReservedToListeners` is Socket.IO's own. */
  reserved: (socket: Socket, event: unknown, args: unknown[]) => boolean
  /** Whether `socket.onAny`/`prependAny` listeners run through `anyListener`. */
  wrapsAny: (socket: Socket) => boolean
  /** What runs in place of a catch-all listener (one per listener, shared by all sockets: it reads `this`). */
  anyListener: (fn: Listener) => Listener
  /** What runs in place of a namespace's `connection` listener. */
  connectionListener: (fn: Listener) => Listener
  /** `namespace.event(...)`: adds an event route. */
  route: (nsp: Namespace, args: unknown[]) => unknown
  /** `namespace.serverEvent(...)`: declares an event the server emits. */
  serverEvent: (nsp: Namespace, args: unknown[]) => unknown
  /**
   * An event the server emits on `nsp` (to one socket, or a broadcast), before it is sent; throws to stop it.
   * Without it, emits and broadcasts are not watched at all.
   */
  outgoing?: (nsp: Namespace, event: unknown, args: unknown[]) => void
  /** `io.asyncapi()`: the document of the routes. */
  document: () => unknown
  /** The plugin's own connection listener: runs first for every new socket, itself not wrapped. */
  connected: (socket: Socket) => void
}

/** The registrations, by server. */
const servers = new WeakMap<object, SocketIoHooks>()
/** The catch-all and connection listeners' stand-ins, by listener. */
const anyWrappers = new WeakMap<Listener, Listener>()
const connectionWrappers = new WeakMap<Listener, Listener>()

/** The parent class of Socket (Socket.IO's StrictEventEmitter), whose `emitUntyped` Socket#dispatch calls via `super`. */
const emitterProto = Object.getPrototypeOf(Socket.prototype) as Methods
const socketProto = Socket.prototype as unknown as Methods
const namespaceProto = Namespace.prototype as unknown as Methods
/** Socket.IO's own methods, as they were before the plugin. */
const original = {
  emitUntyped: emitterProto.emitUntyped,
  emitReserved: emitterProto.emitReserved,
  emit: socketProto.emit,
  onAny: socketProto.onAny,
  prependAny: socketProto.prependAny,
  offAny: socketProto.offAny
}
/** How many registrations are attached: the prototypes are changed for the first, and restored after the last. */
let attached = 0
/** The prototypes' own members as they were before the first registration (undefined: none). */
const saved: Array<[Methods, string, PropertyDescriptor | undefined]> = []

const hooksOf = (socket: unknown): SocketIoHooks | undefined => servers.get((socket as { nsp?: { server?: object } }).nsp?.server as object)

/** Socket.IO's own handling of a client's event: the socket's listeners. */
export function emitToListeners (socket: Socket, event: unknown, args: unknown[]): boolean {
  return original.emitUntyped.call(socket, event, ...args) as boolean
}

/** Socket.IO's own handling of a reserved event. */
export function emitReservedToListeners (socket: Socket, event: unknown, args: unknown[]): boolean {
  return original.emitReserved.call(socket, event, ...args) as boolean
}

function anyListenerOf (socket: unknown, fn: Listener): Listener {
  const hooks = hooksOf(socket)
  if (hooks === undefined || typeof fn !== 'function' || !hooks.wrapsAny(socket as Socket)) return fn
  let wrapper = anyWrappers.get(fn)
  if (wrapper === undefined) anyWrappers.set(fn, wrapper = hooks.anyListener(fn))
  return wrapper
}

/** The members put on Socket.IO's prototypes while a registration is attached. */
const patches: Array<[Methods, Methods]> = [
  [emitterProto, {
    emitUntyped (this: unknown, event: unknown, ...args: unknown[]) {
      const hooks = hooksOf(this)
      return hooks === undefined ? original.emitUntyped.call(this, event, ...args) : hooks.incoming(this as Socket, event, args)
    }
  }],
  [socketProto, {
    emitReserved (this: unknown, event: unknown, ...args: unknown[]) {
      const hooks = hooksOf(this)
      return hooks === undefined ? original.emitReserved.call(this, event, ...args) : hooks.reserved(this as Socket, event, args)
    },
    emit (this: unknown, event: unknown, ...args: unknown[]) {
      hooksOf(this)?.outgoing?.((this as Socket).nsp, event, args)
      return original.emit.call(this, event, ...args)
    },
    onAny (this: unknown, fn: unknown) { return original.onAny.call(this, anyListenerOf(this, fn as Listener)) },
    prependAny (this: unknown, fn: unknown) { return original.prependAny.call(this, anyListenerOf(this, fn as Listener)) },
    offAny (this: unknown, fn?: unknown) {
      if (fn === undefined) return original.offAny.call(this)
      const wrapper = anyWrappers.get(fn as Listener)
      const added = wrapper !== undefined && (this as Socket).listenersAny().includes(wrapper)
      return original.offAny.call(this, added ? wrapper : fn)
    }
  }],
  [namespaceProto, {
    /** `io.of(name).event(...)`: an event route (the plugin's own API on every namespace). */
    event (this: unknown, ...args: unknown[]) {
      const nsp = this as Namespace
      const hooks = servers.get(nsp.server)
      if (hooks === undefined) throw new FST_SIO_SESSION_BAD_ROUTE('register fastify-socket.io-session on this Socket.IO server before adding event routes')
      return hooks.route(nsp, args)
    },
    /** `io.of(name).serverEvent(...)`: declares an event the server emits (the plugin's own API on every namespace). */
    serverEvent (this: unknown, ...args: unknown[]) {
      const nsp = this as Namespace
      const hooks = servers.get(nsp.server)
      if (hooks === undefined) throw new FST_SIO_SESSION_BAD_ROUTE('register fastify-socket.io-session on this Socket.IO server before declaring server events')
      return hooks.serverEvent(nsp, args)
    }
  }]
]

// ---- Checks ----

/** The first member the plugin relies on that this Socket.IO lacks, or does not use as the plugin expects. */
function missing (io: Server): string | undefined {
  if (!(io.sockets instanceof Namespace)) return 'fastify.io comes from another copy of socket.io than the plugin'
  for (const [proto, names] of [[emitterProto, ['emitUntyped', 'emitReserved']], [socketProto, ['onAny', 'prependAny', 'offAny', 'listenersAny']]] as const) {
    for (const name of names) if (typeof proto[name] !== 'function') return `Socket's ${name} is missing`
  }
  if (!/super\.emitUntyped\b/.test(String(socketProto.dispatch))) return 'Socket#dispatch does not hand events to emitUntyped'
  if (Object.hasOwn(namespaceProto, 'event') && namespaceProto.event !== patches[2][1].event) return 'Namespace already has an event method'
  const server = io as unknown as { _nsps?: unknown, parentNsps?: unknown, parentNamespacesFromRegExp?: unknown }
  if (!(server._nsps instanceof Map) || server._nsps.get('/') !== io.sockets) return 'Server#_nsps is missing'
  if (!(server.parentNsps instanceof Map)) return 'Server#parentNsps is missing'
  if (!(server.parentNamespacesFromRegExp instanceof Map)) return 'Server#parentNamespacesFromRegExp is missing'
  const engine = io.engine as unknown as { clients?: unknown, prepare?: unknown }
  if (typeof engine.clients !== 'object' || engine.clients === null) return 'the engine\'s clients are missing'
  if (!/\._query\b/.test(String(engine.prepare))) return 'the engine does not parse the query into _query'
  return undefined
}

/** Throws unless `io` is a Socket.IO server with every member this module relies on. */
export function checkSocketIo (io: Server | undefined): asserts io is Server {
  if (typeof io?.use !== 'function' || typeof io.engine?.close !== 'function' || typeof io.engine.use !== 'function') {
    throw new FST_SIO_SESSION_NO_SOCKETIO(io === undefined ? 'is missing' : 'is not a Socket.IO server')
  }
  const lacking = missing(io)
  if (lacking !== undefined) throw new FST_SIO_SESSION_UNSUPPORTED_SOCKETIO(lacking)
}

// ---- Attaching a registration ----

/** The namespace events whose listeners receive a new socket. */
const connectionEvents = new Set<unknown>(['connection', 'connect'])
const adders = ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener']
const removers = ['off', 'removeListener']

/**
 * Every broadcast of the namespace (`io.emit`, `io.to(room).emit`, `socket.broadcast.emit`, ...) goes through its
 * adapter's `broadcast` or `broadcastWithAck`: `hooks.outgoing` sees it first, in the emitting code. Packets an
 * adapter receives from other nodes take the base class's method, not these.
 */
function watchBroadcasts (nsp: Namespace, outgoing: NonNullable<SocketIoHooks['outgoing']>): void {
  const adapter = nsp.adapter as unknown as Methods
  for (const name of broadcasts) {
    const own = adapter[name]
    adapter[name] = function (this: unknown, packet: unknown, ...rest: unknown[]) {
      const [event, ...args] = (packet as { data: unknown[] }).data
      outgoing(nsp, event, args)
      return own.call(this, packet, ...rest)
    }
  }
}
const broadcasts = ['broadcast', 'broadcastWithAck']

/** Makes the namespace's connection listeners, present and future, run through `hooks.connectionListener`. */
function wrapNamespace (nsp: Namespace, hooks: SocketIoHooks): void {
  const own = nsp as unknown as Methods
  const wrap = (fn: unknown): unknown => {
    if (typeof fn !== 'function') return fn
    let wrapper = connectionWrappers.get(fn as Listener)
    if (wrapper === undefined) connectionWrappers.set(fn as Listener, wrapper = hooks.connectionListener(fn as Listener))
    return wrapper
  }
  for (const name of adders) {
    own[name] = function (this: unknown, event: unknown, fn: unknown) {
      return namespaceProto[name].call(this, event, connectionEvents.has(event) ? wrap(fn) : fn)
    }
  }
  for (const name of removers) {
    own[name] = function (this: unknown, event: unknown, fn: unknown) {
      return namespaceProto[name].call(this, event, connectionWrappers.get(fn as Listener) ?? fn)
    }
  }
  for (const event of connectionEvents) {
    const present = nsp.rawListeners(event as 'connection') as Listener[]
    nsp.removeAllListeners(event as 'connection')
    for (const fn of present) namespaceProto.on.call(nsp, event, wrap(fn))
  }
}

/**
 * Checks that `io` is a Socket.IO server this module knows, then routes its sockets' events, catch-all and
 * connection listeners through `hooks`, and adds `io.event` and `namespace.event`. `onNamespace` runs for every
 * namespace, present and future, once its connection listeners are wrapped and `hooks.connected` put first.
 * Returns how to undo it all.
 */
export function attachSocketIo (io: Server, hooks: SocketIoHooks, onNamespace: (nsp: Namespace) => void): () => void {
  checkSocketIo(io)
  if (attached++ === 0) {
    for (const [proto, members] of patches) {
      for (const name of Object.keys(members)) saved.push([proto, name, Object.getOwnPropertyDescriptor(proto, name)])
      Object.assign(proto, members)
    }
  }
  servers.set(io, hooks)
  io.event = function (this: Server, ...args: unknown[]) {
    return hooks.route(this.sockets, args)
  } as Server['event']
  io.serverEvent = function (this: Server, ...args: unknown[]) {
    return hooks.serverEvent(this.sockets, args)
  } as Server['serverEvent']
  io.asyncapi = hooks.document as Server['asyncapi']
  const install = (nsp: Namespace): void => {
    wrapNamespace(nsp, hooks)
    if (hooks.outgoing !== undefined) watchBroadcasts(nsp, hooks.outgoing)
    namespaceProto.prependListener.call(nsp, 'connection', hooks.connected)
    onNamespace(nsp)
  }
  for (const nsp of namespaces(io)) install(nsp)
  io.on('new_namespace', install)
  return () => {
    io.off('new_namespace', install)
    for (const nsp of namespaces(io)) {
      for (const name of [...adders, ...removers]) delete (nsp as unknown as Methods)[name]
      // The adapter's own methods show again (the watch was put on the instance, over its prototype's).
      for (const name of broadcasts) delete (nsp.adapter as unknown as Methods)[name]
      nsp.off('connection', hooks.connected)
    }
    delete (io as Partial<Server>).event
    delete (io as Partial<Server>).serverEvent
    delete (io as Partial<Server>).asyncapi
    servers.delete(io)
    if (--attached === 0) {
      for (const [proto, name, descriptor] of saved.splice(0)) {
        if (descriptor === undefined) delete proto[name]
        else Object.defineProperty(proto, name, descriptor)
      }
    }
  }
}

// ---- Reading Socket.IO's state ----

/** Every namespace of the server, the children of dynamic namespaces included. */
export function namespaces (io: Server): IterableIterator<Namespace> {
  return (io as unknown as { _nsps: Map<string, Namespace> })._nsps.values()
}

/** The dynamic namespace (`io.of(/regex/)`) a namespace was made for, if any. */
export function parentOf (nsp: Namespace): Namespace | undefined {
  const parents = (nsp.server as unknown as { parentNsps: Map<unknown, Namespace & { children?: Set<Namespace> }> }).parentNsps
  for (const parent of parents.values()) if (parent.children?.has(nsp) === true) return parent
  return undefined
}

/** For a dynamic namespace (`io.of(/regex/)`, `io.of(fn)`): its regular expression as text, '' for a function; else undefined. */
export function dynamicPattern (nsp: Namespace): string | undefined {
  const server = nsp.server as unknown as { parentNsps: Map<unknown, Namespace>, parentNamespacesFromRegExp: Map<RegExp, Namespace> }
  if (![...server.parentNsps.values()].includes(nsp)) return undefined
  for (const [regex, parent] of server.parentNamespacesFromRegExp) if (parent === nsp) return String(regex)
  return ''
}

/** An Engine.IO request's query, as Engine.IO parsed it before its middlewares run (and decides with: `sid`, `j`). */
export function engineQuery (req: IncomingMessage): Record<string, string | undefined> {
  return (req as IncomingMessage & { _query: Record<string, string | undefined> })._query
}

/** An Engine.IO connection, as far as the plugin needs it. */
export interface EngineClient { request: IncomingMessage, close: (discard?: boolean) => void }

/** The Engine.IO connection of `sid`, if there is one (only an own key names a connection, as in Engine.IO). */
export function engineClient (io: Server, sid: string): EngineClient | undefined {
  const clients = (io.engine as unknown as { clients: Record<string, EngineClient> }).clients
  return Object.hasOwn(clients, sid) ? clients[sid] : undefined
}
