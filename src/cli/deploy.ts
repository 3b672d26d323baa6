/**
 * `mgmt deploy --seeds URLS yaml FILE`: stores the graph, and the files it names by relative paths,
 * in the cluster as the next deploy. Every host started with `mgmt run --seeds URLS empty` runs
 * the newest deploy and switches to the next one live. A graph that does not load is refused with
 * its located errors (exit 2), and nothing is stored.
 */
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { packYaml } from '../frontends/yaml/pack.js'
import { builtinRegistry } from '../resources/index.js'
import { isMgmtError } from '../util/errors.js'
import { createLogger } from '../util/logger.js'
import { envSwitches, flag, lenientFlag, seedsFlag, strictFlag } from './flags.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './run.js'

interface DeployFlags {
  seeds: string[]
  strict?: boolean
  lenient?: boolean
  debug?: boolean
}

export function addDeployCommand(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('store a graph in the cluster, for every host running `mgmt run --seeds URLS empty`')
    .addOption(seedsFlag('client URLs of the cluster').makeOptionMandatory())
    .addOption(lenientFlag())
    .addOption(strictFlag())
    .addOption(flag('--debug', 'verbose logs', 'DEBUG'))
  deploy
    .command('yaml')
    .description('deploy the graph in a YAML file, with the files it names by relative paths')
    .argument('<file>', 'the YAML graph')
    .action(async (file: string, _o: unknown, self: Command) => {
      envSwitches(self)
      process.exitCode = await deployYaml(resolve(file), self.optsWithGlobals<DeployFlags>())
    })
}

async function deployYaml(file: string, flags: DeployFlags): Promise<number> {
  const log = createLogger(flags.debug ? 'debug' : 'info')
  let packed: Awaited<ReturnType<typeof packYaml>>
  try {
    packed = await packYaml(file, builtinRegistry(), { strict: flags.strict, lenient: flags.lenient })
  } catch (err) {
    if (!isMgmtError(err)) throw err
    log.error(err.message)
    return isMgmtError(err, 'ERR_YAML_INVALID') || isMgmtError(err, 'ERR_YAML_SYNTAX')
      ? EXIT_USAGE
      : EXIT_FAILURE
  }
  for (const m of packed.graph.messages) log.warn(m)
  // Loaded only now: the etcd client takes a fifth of a second to load.
  const [{ EtcdWorld }, { say }] = await Promise.all([
    import('../world/etcd/world.js'),
    import('../world/etcd/client.js'),
  ])
  const world = new EtcdWorld({ hostname: hostname(), endpoints: flags.seeds, log, register: false })
  const interrupted = (): void => void world.close()
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    const id = await world.deployAdd(packed.deploy)
    const n = Object.keys(packed.deploy.files).length
    log.info(`deploy ${id} stored: graph \`${packed.graph.name}\`, ${n} file${n === 1 ? '' : 's'}`)
    return EXIT_OK
  } catch (err) {
    log.error(`the deploy was not stored: ${say(err)}`)
    return EXIT_FAILURE
  } finally {
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
    await world.close()
  }
}
