import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

// ---- Summary of the CPU profiles of bench/profile.js: node bench/profile-summary.js [dir] ----
// Per profile: the top functions by self time, and the share of the busy time by where the code lives.

const DIR = resolve(process.argv[2] ?? 'bench/profiles/cpu')
const TOP = 15
const TOP_PLUGIN = 8
const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Where a function's code lives, from its script URL (in this order). */
const areas = [
  ['plugin (dist/)', (url) => url.startsWith(`${ROOT}dist/`)],
  ['socket.io / engine.io / ws', (url) => /node_modules\/(socket\.io[^/]*|engine\.io[^/]*|ws|@socket\.io\/[^/]+)\//.test(url)],
  ['fastify, @fastify/*', (url) => /node_modules\/(fastify[^/]*|@fastify\/[^/]+|light-my-request|avvio)\//.test(url)],
  ['other packages', (url) => url.includes('node_modules/')],
  ['bench (server.js)', (url) => url.startsWith(`${ROOT}bench/`)],
  ['node internals: JS (node:*)', (url) => url.startsWith('node:')],
  ['node internals: native (bindings such as writev, V8 builtins)', (url, name) => !name.startsWith('(')],
  ['GC and (program)', () => true]
]

/** Functions that are not work: the process waiting. */
const IDLE = new Set(['(idle)', '(root)'])

/** A script URL as a short path: relative to the project, or from its package in node_modules. */
function shortPath (url) {
  if (url === '') return ''
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('node_modules/')
  if (modules >= 0) return path.slice(modules + 'node_modules/'.length)
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path
}

const fileOf = (url) => url.replace(/^file:\/\//, '')
const areaOf = ({ url, functionName }) => areas.find(([, test]) => test(fileOf(url), functionName))[0]
const keyOf = ({ functionName, url, lineNumber }) => `${functionName || '(anonymous)'}${url ? ` ${shortPath(url)}:${lineNumber + 1}` : ' (native)'}`

/** Self and total (self + callees, counted once per stack) sample counts per function, and self samples per area. */
function tally (profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map()
  const total = new Map()
  const area = new Map()
  const inPlugin = { samples: 0 }
  const visit = (node, onStack, pluginAbove) => {
    const key = keyOf(node.callFrame)
    const hits = node.hitCount ?? 0
    if (IDLE.has(node.callFrame.functionName)) return
    const where = areaOf(node.callFrame)
    // A plugin frame starts the plugin's share; a socket.io frame below it (the ack's send, say) ends it.
    const plugin = where === areas[0][0] || (pluginAbove && where !== areas[1][0])
    self.set(key, (self.get(key) ?? 0) + hits)
    area.set(where, (area.get(where) ?? 0) + hits)
    if (plugin) inPlugin.samples += hits
    const stack = onStack.has(key) ? onStack : new Set(onStack).add(key)
    let below = hits
    for (const child of node.children ?? []) below += visit(nodes.get(child), stack, plugin)
    if (!onStack.has(key)) total.set(key, (total.get(key) ?? 0) + below)
    return below
  }
  const root = profile.nodes[0]
  for (const child of root.children ?? []) visit(nodes.get(child), new Set(), false)
  return { self, total, area, inPlugin: inPlugin.samples }
}

const percent = (part, whole) => `${((part / whole) * 100).toFixed(1).padStart(5)}%`

function summarize (file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const interval = (profile.endTime - profile.startTime) / profile.samples.length / 1000
  const { self, total, area, inPlugin } = tally(profile)
  const busy = [...self.values()].reduce((a, b) => a + b, 0)
  const ms = (samples) => `${(samples * interval).toFixed(0).padStart(6)} ms`
  console.log(`\n== ${file.split('/').pop()}: ${ms(busy).trim()} busy of ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms (whole process: start-up, login and warm-up included)`)
  console.log('\nbusy time by where the code lives (self time):')
  for (const [name] of areas) if (area.get(name)) console.log(`  ${percent(area.get(name), busy)}  ${name}`)
  console.log(`  ${percent(inPlugin, busy)}  in plugin code or what it calls, up to socket.io (JSON, node; not the ack's send)`)
  console.log(`\ntop ${TOP} functions by self time:`)
  for (const [key, samples] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${percent(samples, busy)} ${ms(samples)}  ${key}`)
  console.log(`\ntop ${TOP_PLUGIN} plugin functions by total time (self + callees):`)
  const plugin = [...total].filter(([key]) => key.includes(' dist/'))
  for (const [key, samples] of plugin.sort((a, b) => b[1] - a[1]).slice(0, TOP_PLUGIN)) console.log(`  ${percent(samples, busy)} ${ms(samples)}  ${key}`)
}

const files = readdirSync(DIR).filter((name) => name.endsWith('.cpuprofile')).sort()
if (files.length === 0) {
  console.error(`no .cpuprofile in ${DIR}; make some with node bench/profile.js ${DIR}`)
  process.exitCode = 1
}
for (const name of files) summarize(join(DIR, name))
