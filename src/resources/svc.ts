/**
 * `svc`: a systemd service, over D-Bus. `state` keeps it running or stopped, `startup` keeps it
 * enabled or disabled at boot, `session` manages the user's own units (`systemctl --user`).
 *
 * It watches the unit's properties, unit-file changes and daemon-reloads, and its unit files on
 * disk: someone running `systemctl stop` by hand is drift, repaired at once. A start or stop waits
 * for systemd's job result. A notification reloads the service (reload-or-try-restart) unless this
 * same check just started it. When its unit file changed on disk, systemd is reloaded first
 * (daemon-reload), and a running service is restarted so that the new definition takes effect.
 */
import { z } from 'zod'
import { defineResource, type ResourceContext } from '../engine/resource.js'
import {
  type Systemd,
  SystemdConnection,
  type UnitState,
  unitFileCandidates,
  unitNameProblem,
  watchUnit,
} from './systemd/manager.js'

/** Params of `svc`. Keys are the YAML names, verbatim. */
export const SvcParams = z
  .object({
    /** `running` or `stopped`; empty leaves it as it is. */
    state: z.enum(['running', 'stopped', '']).default(''),
    /** `enabled` or `disabled` (started at boot or not); empty leaves it as it is. */
    startup: z.enum(['enabled', 'disabled', '']).default(''),
    /** A unit of the user's own systemd (`systemctl --user`) instead of the system's. */
    session: z.boolean().default(false),
  })
  .strict()

export type SvcParams = z.output<typeof SvcParams>

/** The unit a svc resource manages: its name, with `.service` added unless it has a unit suffix. */
export function serviceUnit(name: string): string {
  return /\.(service|socket|target|mount|timer|path|slice|scope|swap|automount|device)$/.test(name)
    ? name
    : `${name}.service`
}

const scopeOf = (session: boolean): string => (session ? 'user:' : '')

/** Active states that count as running (a unit being started or reloaded is on its way). */
const RUNNING = new Set(['active', 'activating', 'reloading'])
/** Unit-file states that count as enabled. */
const ENABLED = new Set(['enabled', 'enabled-runtime', 'linked', 'linked-runtime', 'alias'])

export const svc = defineResource({
  kind: 'svc',
  params: SvcParams,
  traits: { refreshable: true },
  validate: (_p, name) => {
    const problem = unitNameProblem(serviceUnit(name))
    return problem ? [{ path: ['name'], message: problem }] : []
  },
  uids: (p, name) => [`svc:${scopeOf(p.session)}${serviceUnit(name)}`],
  /**
   * The unit file written by a `file` resource comes first (the administrator's copy, then the
   * package's); so does the `pkg` that ships the unit, and a `cron` timer that starts it.
   */
  autoEdges(p, name) {
    const unit = serviceUnit(name)
    const files = unitFileCandidates(unit, p.session)
    return [
      ...files.map(f => [`file:${f}`]),
      files.map(f => `pkgfile:${f}`),
      [`cron:${scopeOf(p.session)}${unit}`],
    ]
  },
  init(p, ctx) {
    const unit = serviceUnit(ctx.name)
    const conn = new SystemdConnection(p.session)
    return {
      watch: signal => watchUnit(p.session, unit, unitFileCandidates(unit, p.session), ctx, signal),
      checkApply: async (apply, signal) => checkSvc(await conn.get(), unit, p, ctx, apply, signal),
      cleanup: () => conn.close(),
    }
  },
})

async function checkSvc(
  sd: Systemd,
  unit: string,
  p: Readonly<SvcParams>,
  ctx: ResourceContext,
  apply: boolean,
  signal: AbortSignal,
): Promise<boolean> {
  let u = await sd.state(unit)
  if (u.loadState === 'not-found') throw new Error(`the unit ${unit} does not exist`)
  let ok = true
  let reloaded = false
  if (u.needDaemonReload) {
    ok = false
    if (!apply) ctx.log.info(`would daemon-reload: the unit file of ${unit} changed`)
    else {
      ctx.log.info(`daemon-reload: the unit file of ${unit} changed`)
      await sd.daemonReload()
      reloaded = true
      u = await sd.state(unit)
    }
  }
  if (u.loadState === 'masked' && (p.state === 'running' || p.startup === 'enabled'))
    throw new Error(`the unit ${unit} is masked`)
  ok = (await checkStartup(sd, unit, u, p, ctx, apply)) && ok
  const started = await checkState(sd, unit, u, p, ctx, apply, signal)
  if (started !== 'unchanged') ok = false
  if (started === 'unchanged' && RUNNING.has(u.activeState)) {
    if (reloaded) {
      ok = false
      ctx.log.info(`restarting ${unit}: its unit file changed`)
      await sd.tryRestart(unit, signal)
    } else if (ctx.refresh()) {
      ok = false
      if (!apply) ctx.log.info(`would reload ${unit} (notified)`)
      else {
        ctx.log.info(`reloading ${unit} (notified)`)
        await sd.reloadOrTryRestart(unit, signal)
      }
    }
  }
  return ok
}

/** Enables or disables the unit file; true when it already was as wanted. */
async function checkStartup(
  sd: Systemd,
  unit: string,
  u: UnitState,
  p: Readonly<SvcParams>,
  ctx: ResourceContext,
  apply: boolean,
): Promise<boolean> {
  if (!p.startup) return true
  if ((p.startup === 'enabled') === ENABLED.has(u.unitFileState)) return true
  const verb = p.startup === 'enabled' ? 'enable' : 'disable'
  if (!apply) {
    ctx.log.info(`would ${verb} ${unit}`)
    return false
  }
  ctx.log.info(`${verb} ${unit}`)
  if (p.startup === 'enabled') await sd.enable([unit])
  else await sd.disable([unit])
  const after = await sd.state(unit)
  if (p.startup === 'enabled' && !ENABLED.has(after.unitFileState))
    throw new Error(
      `${unit} cannot be enabled (its unit file is \`${after.unitFileState || 'missing'}\`: no [Install] section?)`,
    )
  return false
}

/** Starts or stops the unit, waiting for the job; says what it did. */
async function checkState(
  sd: Systemd,
  unit: string,
  u: UnitState,
  p: Readonly<SvcParams>,
  ctx: ResourceContext,
  apply: boolean,
  signal: AbortSignal,
): Promise<'unchanged' | 'started' | 'stopped'> {
  if (!p.state) return 'unchanged'
  const running = RUNNING.has(u.activeState)
  if ((p.state === 'running') === running) return 'unchanged'
  const verb = p.state === 'running' ? 'start' : 'stop'
  if (!apply) {
    ctx.log.info(`would ${verb} ${unit} (it is ${u.activeState})`)
    return p.state === 'running' ? 'started' : 'stopped'
  }
  ctx.log.info(`${verb} ${unit} (it was ${u.activeState})`)
  if (p.state === 'running') {
    await sd.start(unit, signal)
    return 'started'
  }
  await sd.stop(unit, signal)
  return 'stopped'
}
