import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { SessionStore } from '@fastify/session'

/**
 * Builds the example app (not listening); `opts` are Fastify server options; with `redisUrl`, on Redis;
 * `store` replaces the session store.
 */
export function build (opts?: FastifyServerOptions, options?: { redisUrl?: string, store?: SessionStore }): Promise<FastifyInstance>
