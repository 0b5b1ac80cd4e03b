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
  ['HTTP page requests/s', 'http', integer],
  ['store writes per read', 'readWrites', decimal],
  ['store writes per write', 'writeWrites', decimal],
  ['store writes per HTTP request', 'httpWrites', decimal],
  ['server CPU µs per handshake', 'handshakeCpu', integer],
  ['server CPU µs per read', 'readCpu', integer],
  ['server CPU µs per write', 'writeCpu', integer],
  ['server CPU µs per HTTP request', 'httpCpu', integer],
  ['bytes per idle socket', 'memory', integer]
]

function cell (samples, format) {
  if (samples === undefined || samples.length === 0) return '-'
  const text = format(median(samples))
  return samples.length > 1 && format === integer ? `${text} ±${spread(samples).toFixed(0)}%` : text
}

/** Prints the medians of every metric, one column per variant. */
export function printTable (results, variants) {
  const table = rows.map(([label, key, format]) => [label, ...variants.map((v) => cell(results[v][key], format))])
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

/** Plugin - bare per round. */
const pairedDifferences = (results, key) => results.plugin[key].map((value, round) => value - results.bare[key][round])

/** The lowest and highest of the rounds. */
const range = (values, format) => `${format(Math.min(...values))}..${format(Math.max(...values))}`

/** Prints the plugin's ratios against their targets; a miss is reported, never fatal. */
export function printRatios (results) {
  const ratio = (label, other, key, target) => {
    const rounds = pairedRatios(results, other, key)
    const value = median(rounds)
    return [label, value.toFixed(2), range(rounds, decimal), `≥ ${target.toFixed(2)}`, value >= target]
  }
  const bytes = (n) => `${n >= 0 ? '+' : ''}${integer(n)} B`
  const extras = pairedDifferences(results, 'memory')
  const extra = median(extras)
  const lines = [
    ratio('handshakes/s, plugin / recipe', 'recipe', 'handshakes', 0.9),
    ratio('read acks/s, plugin / bare', 'bare', 'read', 0.95),
    ratio('write acks/s, plugin / recipe', 'recipe', 'write', 0.8),
    ratio('HTTP page requests/s, plugin / @fastify/session alone', 'recipe', 'http', 0.9),
    ['bytes per idle socket, plugin - bare', bytes(extra), range(extras, bytes), '≤ +2,048 B', extra <= 2048]
  ]
  const widths = [0, 1, 2, 3].map((i) => Math.max(...lines.map((l) => l[i].length)))
  console.log('\nplugin vs targets (median of per-round comparisons; rounds ranged over min..max)')
  for (const [label, value, rounds, target, pass] of lines) {
    console.log(`${label.padEnd(widths[0])}   ${value.padStart(widths[1])}   ${rounds.padEnd(widths[2])}   target ${target.padEnd(widths[3])}   ${pass ? 'PASS' : 'MISS'}`)
  }
}

/** Prints the plugin's ratios on Redis against the recipe on connect-redis, and its commands per event. */
export function printRedisRatios (results) {
  const ratio = (label, key, invert) => {
    // For CPU time, less is better: the ratio is recipe / plugin, so that above 1 means the plugin is cheaper.
    const rounds = pairedRatios(results, 'recipe-redis', key, 'plugin-redis').map((r) => invert ? 1 / r : r)
    const value = median(rounds)
    return [label, value.toFixed(2), range(rounds, decimal), 'target ≥ 1.00', value >= 1 ? 'PASS' : 'MISS']
  }
  const commands = (key, target) => {
    const value = median(results['plugin-redis'][key])
    return [`Redis commands per ${key === 'readWrites' ? 'read-only' : 'changing'} event`, value.toFixed(2), '', `target = ${target}`, Math.abs(value - target) < 0.01 ? 'PASS' : 'MISS']
  }
  const lines = [
    ratio('handshakes/s, plugin / recipe', 'handshakes', false),
    ratio('write acks/s, plugin / recipe', 'write', false),
    ratio('HTTP page requests/s, plugin / @fastify/session on connect-redis', 'http', false),
    ratio('server CPU per handshake, recipe / plugin', 'handshakeCpu', true),
    ratio('server CPU per write, recipe / plugin', 'writeCpu', true),
    commands('readWrites', 0),
    commands('writeWrites', 1)
  ]
  const widths = [0, 1, 2, 3].map((i) => Math.max(...lines.map((l) => l[i].length)))
  console.log('\nplugin on Redis vs targets (median of per-round comparisons; rounds ranged over min..max)')
  for (const line of lines) console.log(line.map((text, i) => i === 4 ? text : text.padEnd(widths[i])).join('   '))
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
