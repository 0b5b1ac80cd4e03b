// ---- The `asyncapi` option: what the document says of itself, and where it is served ----

/** The document's `info` (AsyncAPI's Info Object): a title and a version at least. */
export interface AsyncApiInfo {
  title: string
  version: string
  description?: string
  [field: string]: unknown
}

/** One of the document's `servers` (AsyncAPI's Server Object): `{ host: 'example.com', protocol: 'wss', pathname: '/socket.io' }`. */
export interface AsyncApiServer {
  host: string
  protocol: string
  pathname?: string
  description?: string
  [field: string]: unknown
}

/** Options of the AsyncAPI document (`io.asyncapi()`). */
export interface AsyncApiOptions {
  /** The document's title, version and more. @default { title: 'Socket.IO API', version: '1.0.0' } */
  info?: AsyncApiInfo
  /** The servers that serve the API, by name (each gets the session cookie as its security unless it has its own). @default {} */
  servers?: Record<string, AsyncApiServer>
  /** Serve the document as JSON at this path, a GET route of the Fastify instance. @default undefined (not served) */
  path?: string
}

/** The `asyncapi` option after checking. */
export interface ResolvedAsyncApi {
  info: AsyncApiInfo
  servers: Record<string, AsyncApiServer>
  path: string | undefined
}

type Bad = (message: string) => never

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)
const filled = (value: unknown): boolean => typeof value === 'string' && value.length > 0
const known = new Set(['info', 'servers', 'path'])

/** Checks the `asyncapi` option and fills in defaults. */
export function resolveAsyncApi (value: unknown, bad: Bad): ResolvedAsyncApi {
  if (value !== undefined && !isObject(value)) bad('option "asyncapi" must be an object { info?, servers?, path? }')
  const { info, servers = {}, path } = value ?? {}
  for (const name of Object.keys(value ?? {})) if (!known.has(name)) bad(`unknown option "asyncapi.${name}"; known are info, servers, path`)
  if (info !== undefined && (!isObject(info) || !filled(info.title) || !filled(info.version))) {
    bad('option "asyncapi.info" must be an object with a title and a version, e.g. { title: \'Chat\', version: \'1.0.0\' }')
  }
  if (!isObject(servers)) bad('option "asyncapi.servers" must be an object of servers by name')
  for (const [name, server] of Object.entries(servers)) {
    if (!isObject(server) || !filled(server.host) || !filled(server.protocol)) {
      bad(`server "${name}" of option "asyncapi.servers" needs a host and a protocol, e.g. { host: 'example.com', protocol: 'wss', pathname: '/socket.io' }`)
    }
  }
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) bad('option "asyncapi.path" must be a path such as "/asyncapi.json"')
  return {
    info: (info as AsyncApiInfo | undefined) ?? { title: 'Socket.IO API', version: '1.0.0' },
    servers: servers as Record<string, AsyncApiServer>,
    path: path as string | undefined
  }
}
