// ---- Printing the figures and the plugin's ratios ----

export function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** (max - min) / median, as a percentage. */
function spread (values) {
  const m = median(values)
  return m === 0 ? 0 : ((Math.max(...values) - Math.min(...values)) / Math.abs(m)) * 100
}

const integer = (n) => Math.round(n).toLocaleString('en-US')
const decimal = (n) => n.toFixed(2)

/** The rows of the table: label, metric key, how to format. */
const rows = [
  ['handshakes/s', 'handshakes', integer],
  ['read acks/s', 'read', integer],
  ['write acks/s', 'write', integer],
  ['write acks/s, burst', 'burst', integer],
  ['HTTP page requests/s', 'http', integer],
  ['store writes per read', 'readWrites', decimal],
  ['store writes per write', 'writeWrites', decimal],
  ['store writes per write, burst', 'burstWrites', decimal],
  ['store writes per HTTP request', 'httpWrites', decimal],
  ['server CPU µs per handshake', 'handshakeCpu', integer],
  ['server CPU µs per read', 'readCpu', integer],
  ['server CPU µs per write', 'writeCpu', integer],
  ['server CPU µs per write, burst', 'burstCpu', integer],
  ['server CPU µs per HTTP request', 'httpCpu', integer],
  ['Redis CPU µs per save (write event)', 'redisCpu', decimal],
  ['bytes per idle socket', 'memory', integer]
]

function cell (samples, format) {
  if (samples === undefined || samples.length === 0) return '-'
  const text = format(median(samples))
  return samples.length > 1 && format === integer ? `${text} ±${spread(samples).toFixed(0)}%` : text
}

/** Prints the medians of every metric, one column per variant (a metric no variant has is left out). */
export function printTable (results, variants) {
  const measured = rows.filter(([, key]) => variants.some((v) => results[v][key] !== undefined))
  const table = measured.map(([label, key, format]) => [label, ...variants.map((v) => cell(results[v][key], format))])
  const header = ['', ...variants]
  const widths = header.map((_, i) => Math.max(...[header, ...table].map((row) => row[i].length)))
  const line = (row) => row.map((text, i) => (i === 0 ? text.padEnd(widths[i]) : text.padStart(widths[i]))).join('   ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('   '))
  for (const row of table) console.log(line(row))
  console.log('(median of the runs; ± is the spread (max - min) / median)')
}

/** Mine / other per round (taken in the same round, so that slow spells of the machine cancel out). */
const pairedRatios = (results, other, key, mine = 'plugin') => results[mine][key].map((value, round) => value / results[other][key][round])

/** Mine - other per round. */
const pairedDifferences = (results, mine, other, key) => results[mine][key].map((value, round) => value - results[other][key][round])

/** The lowest and highest of the rounds. */
const range = (values, format) => `${format(Math.min(...values))}..${format(Math.max(...values))}`

const bytes = (n) => `${n >= 0 ? '+' : ''}${integer(n)} B`

/** A line: mine / other per round against `target` (undefined: no target); `invert` gives other / mine (for CPU time). */
function ratioLine (results, label, mine, other, key, target, invert = false) {
  const rounds = pairedRatios(results, other, key, mine).map((r) => invert ? 1 / r : r)
  const value = median(rounds)
  return [label, value.toFixed(2), range(rounds, decimal), target === undefined ? '' : `target ≥ ${target.toFixed(2)}`, target === undefined ? '' : value >= target ? 'PASS' : 'MISS']
}

/** A line: mine - other per round, in bytes, against at most `limit` bytes. */
function differenceLine (results, label, mine, other, key, limit) {
  const rounds = pairedDifferences(results, mine, other, key)
  const value = median(rounds)
  return [label, bytes(value), range(rounds, bytes), `target ≤ ${bytes(limit)}`, value <= limit ? 'PASS' : 'MISS']
}

/** A line: the median of `variant`'s figure per event against exactly `target`. */
function exactLine (results, label, variant, key, target) {
  const value = median(results[variant][key])
  return [label, value.toFixed(2), range(results[variant][key], decimal), `target = ${target}`, Math.abs(value - target) < 0.01 ? 'PASS' : 'MISS']
}

/** Prints `lines` in aligned columns under `title`; a miss is reported, never fatal. */
function printLines (title, lines) {
  const widths = [0, 1, 2, 3].map((i) => Math.max(...lines.map((l) => l[i].length)))
  console.log(`\n${title} (median of per-round comparisons; rounds ranged over min..max)`)
  for (const line of lines) console.log(line.map((text, i) => i === 4 ? text : i === 1 ? text.padStart(widths[i]) : text.padEnd(widths[i])).join('   ').trimEnd())
}

/** Prints the size of a session as JSON on each variant with sessions. */
export function printSizes (sizes, variants) {
  const sized = variants.filter((v) => sizes[v] > 0)
  if (sized.length > 0) console.log(`session size as JSON: ${sized.map((v) => `${v} ${integer(sizes[v])} B`).join(', ')}\n`)
}

/** Prints the plugin's ratios on the memory store against their targets, then those of its -cart server. */
export function printRatios (results) {
  printLines('plugin vs targets', [
    ratioLine(results, 'handshakes/s, plugin / recipe', 'plugin', 'recipe', 'handshakes', 0.9),
    ratioLine(results, 'read acks/s, plugin / bare', 'plugin', 'bare', 'read', 0.98),
    ratioLine(results, 'write acks/s, plugin / recipe', 'plugin', 'recipe', 'write', 1.2),
    ratioLine(results, 'write acks/s, bare / recipe (no save at all: the ceiling)', 'bare', 'recipe', 'write'),
    ratioLine(results, 'write acks/s, burst, plugin / recipe', 'plugin', 'recipe', 'burst', 1.2),
    ratioLine(results, 'HTTP page requests/s, plugin / @fastify/session alone', 'plugin', 'recipe', 'http', 0.9),
    differenceLine(results, 'bytes per idle socket, plugin - bare', 'plugin', 'bare', 'memory', 2048)
  ])
  if (results['plugin-cart'] === undefined) return
  const size = results.sizes['plugin-cart']
  printLines(`what a ${integer(size)} B session costs the plugin (plugin-cart: the plugin's server, a cart in every session)`, [
    ratioLine(results, 'handshakes/s, plugin-cart / plugin', 'plugin-cart', 'plugin', 'handshakes', 0.9),
    ratioLine(results, 'read acks/s, plugin-cart / plugin', 'plugin-cart', 'plugin', 'read', 0.95),
    ratioLine(results, 'write acks/s, plugin-cart / plugin', 'plugin-cart', 'plugin', 'write', 0.9),
    ratioLine(results, 'write acks/s, plugin-cart / recipe-cart', 'plugin-cart', 'recipe-cart', 'write', 1.2),
    ratioLine(results, 'HTTP page requests/s, plugin-cart / @fastify/session alone', 'plugin-cart', 'recipe-cart', 'http'),
    differenceLine(results, 'bytes per idle socket, plugin-cart - bare (≤ session + 2 KB)', 'plugin-cart', 'bare', 'memory', size + 2048)
  ])
}

/** The plugin's lines on Redis against one recipe: throughput, server and Redis CPU, and its Redis commands. */
function redisLines (results, plugin, recipe) {
  return [
    ratioLine(results, `handshakes/s, ${plugin} / ${recipe}`, plugin, recipe, 'handshakes', 1),
    ratioLine(results, `write acks/s, ${plugin} / ${recipe}`, plugin, recipe, 'write', 1.2),
    ratioLine(results, `write acks/s, burst, ${plugin} / ${recipe}`, plugin, recipe, 'burst', 1.2),
    ratioLine(results, `read acks/s, ${plugin} / ${recipe}`, plugin, recipe, 'read'),
    ratioLine(results, `HTTP page requests/s, ${plugin} / ${recipe}`, plugin, recipe, 'http'),
    ratioLine(results, `server CPU per handshake, ${recipe} / ${plugin}`, plugin, recipe, 'handshakeCpu', undefined, true),
    ratioLine(results, `server CPU per write, ${recipe} / ${plugin}`, plugin, recipe, 'writeCpu', undefined, true),
    ratioLine(results, `Redis CPU per save, ${recipe} / ${plugin}`, plugin, recipe, 'redisCpu', undefined, true),
    exactLine(results, `Redis commands per read-only event, ${plugin}`, plugin, 'readWrites', 0),
    exactLine(results, `Redis commands per changing event, ${plugin}`, plugin, 'writeWrites', 1)
  ]
}

/** Prints the plugin's ratios on Redis against the recipes (for CPU time recipe / plugin: above 1, the plugin is cheaper). */
export function printRedisRatios (results) {
  printLines('plugin on Redis vs the recipe on connect-redis 9 + node-redis 5', redisLines(results, 'plugin-redis', 'recipe-node-redis'))
  if (results['plugin-redis-cart'] !== undefined) {
    printLines(`the same with a ${integer(results.sizes['plugin-redis-cart'])} B session (a cart)`, redisLines(results, 'plugin-redis-cart', 'recipe-node-redis-cart'))
  }
  printLines('the plugin\'s RedisStore on node-redis 5 vs the recipe on connect-redis 9 + node-redis 5', redisLines(results, 'plugin-node-redis', 'recipe-node-redis'))
  printLines('plugin on Redis vs the recipe on connect-redis 7 + ioredis', redisLines(results, 'plugin-redis', 'recipe-redis').slice(0, 8))
}

/** Prints the acks/s of the message event as an event route and as a plain listener, and their ratio. */
export function printRouteRatio (results) {
  const rounds = pairedRatios(results, 'plain', 'message', 'routed')
  const value = median(rounds)
  console.log('\nthe same small-object event on the plugin: an event route (payload and ack checked) / a plain socket.on listener')
  console.log(`  acks/s: route ${cell(results.routed.message, integer)}, plain ${cell(results.plain.message, integer)}; ` +
    `server CPU µs per event: route ${cell(results.routed.messageCpu, integer)}, plain ${cell(results.plain.messageCpu, integer)}`)
  console.log(`  route / plain   ${value.toFixed(2)}   ${range(rounds, decimal)}   target ≥ 0.90   ${value >= 0.9 ? 'PASS' : 'MISS'}`)
}
