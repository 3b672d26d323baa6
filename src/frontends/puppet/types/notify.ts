/** Puppet's `notify` → mgmt's `msg`: its `message` (the title when unset), at its `loglevel`. */
import { str, type TypeMapping } from './common.js'

const PRIORITY: Readonly<Record<string, string>> = {
  debug: 'Debug',
  info: 'Info',
  verbose: 'Info',
  notice: 'Notice',
  warning: 'Warning',
  err: 'Err',
  alert: 'Alert',
  emerg: 'Emerg',
  crit: 'Crit',
}

export const notifyMapping: TypeMapping = {
  kind: 'msg',
  params: ['message', 'name', 'loglevel'],
  ignored: ['withpath'],
  anyShape: ['message'],
  map(r, p) {
    const m = p.message ?? p.name ?? r.title
    const body = typeof m === 'string' ? m : JSON.stringify(m)
    const priority = PRIORITY[str(p.loglevel) ?? 'notice'] ?? 'Notice'
    return { kind: 'msg', name: r.title, params: { body, priority } }
  },
}
