import type { Namespace } from 'socket.io'
import { FST_SIO_SESSION_BAD_EMIT } from '../errors.js'
import { bad, compileRoute, compileServerEvent, type Route, type Routing, type ServerEvent } from './compile.js'
import type { EventRoute, ServerEventRoute } from './types.js'

export type { Route, Routing }

// ---- The routes and server events of one server, by namespace ----

/**
 * The routes of one server, by namespace and event name. A child of a dynamic namespace (`io.of(/regex/)`) runs
 * the routes of its parent, and shares its declared server events.
 */
export class RouteTable {
  private readonly byNamespace = new WeakMap<Namespace, Map<unknown, Route>>()
  private readonly serverEvents = new WeakMap<Namespace, Map<unknown, ServerEvent>>()
  /** The namespaces with routes or server events of their own (not shared with a parent), in the order of their first. */
  private readonly owners = new Set<Namespace>()

  constructor (readonly routing: Routing) {}

  /** The route of `event` in `nsp`, if any. */
  get (nsp: Namespace, event: unknown): Route | undefined {
    return this.byNamespace.get(nsp)?.get(event)
  }

  /** `namespace.event(name, options?, handler)`: adds a route for an event of this namespace's sockets. */
  add (nsp: Namespace, [name, options, handler]: unknown[]): EventRoute {
    const route = typeof options === 'function' && handler === undefined
      ? compileRoute(nsp, this.routing, name, {}, options)
      : compileRoute(nsp, this.routing, name, options === undefined ? {} : options, handler)
    const routes = this.routesOf(nsp)
    if (routes.has(route.name)) bad(`event "${route.name}" already has a route on namespace "${nsp.name}"`)
    routes.set(route.name, route)
    return route.descriptor
  }

  /** `namespace.serverEvent(name, options?)`: declares an event the server emits on this namespace. */
  declare (nsp: Namespace, [name, options]: unknown[]): ServerEventRoute {
    const declared = compileServerEvent(nsp, name, options)
    const events = this.serverEventsOf(nsp)
    if (events.has(declared.descriptor.event)) bad(`server event "${declared.descriptor.event}" is already declared on namespace "${nsp.name}"`)
    events.set(declared.descriptor.event, declared)
    return declared.descriptor
  }

  /**
   * Throws `FST_SIO_SESSION_BAD_EMIT` when `args` (an ack function at the end left out) do not match the schema of
   * `event`, a declared server event of `nsp` (called only with `events.validateEmits`).
   */
  checkEmit (nsp: Namespace, event: unknown, args: unknown[]): void {
    const declared = this.serverEvents.get(nsp)?.get(event)
    if (declared === undefined) return
    const payload = typeof args[args.length - 1] === 'function' ? args.slice(0, -1) : args
    const checked = declared.check(payload)
    if (!checked.ok) {
      throw new FST_SIO_SESSION_BAD_EMIT(declared.descriptor.event, checked.errors.map((e) => `${e.path === '' ? '(payload)' : e.path} ${e.message}`).join('; '))
    }
  }

  /** Each namespace with routes or server events of its own, with them, in the order they were added. */
  * documented (): Generator<{ nsp: Namespace, routes: Route[], serverEvents: ServerEvent[] }> {
    for (const nsp of this.owners) {
      // Read only: a namespace with routes alone gets no empty map of server events by being listed.
      const routes = [...this.byNamespace.get(nsp)?.values() ?? []]
      const serverEvents = [...this.serverEvents.get(nsp)?.values() ?? []]
      if (routes.length > 0 || serverEvents.length > 0) yield { nsp, routes, serverEvents }
    }
  }

  /** A new namespace: a child of a dynamic namespace shares its parent's routes and server events. */
  adopt (nsp: Namespace, parent: Namespace | undefined): void {
    if (parent === undefined) return
    this.byNamespace.set(nsp, this.routesOf(parent))
    this.serverEvents.set(nsp, this.serverEventsOf(parent))
  }

  private serverEventsOf (nsp: Namespace): Map<unknown, ServerEvent> {
    let events = this.serverEvents.get(nsp)
    if (events === undefined) {
      this.serverEvents.set(nsp, events = new Map())
      this.owners.add(nsp)
    }
    return events
  }

  private routesOf (nsp: Namespace): Map<unknown, Route> {
    let routes = this.byNamespace.get(nsp)
    if (routes === undefined) {
      this.byNamespace.set(nsp, routes = new Map())
      this.owners.add(nsp)
    }
    return routes
  }
}
