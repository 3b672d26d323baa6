/**
 * The Ruby program of the Puppet child (run as `ruby child.rb CONFIG_JSON`). It loads Puppet
 * once, then answers one JSON request a line on stdin with one JSON reply a line on stdout, until
 * stdin ends:
 *
 * - `{"id", "op": "compile", "manifest" | "code", "facts"?, "refreshFacts"?}` compiles a catalog
 *   the way `puppet apply` does, without a server: facts from Facter (resolved once, again on
 *   `refreshFacts`) unless given. Replies `{"id", "ok": true, "ms", "catalog", "collections",
 *   "modules", "modulepath", "logs"}`. Exported resources stay in the catalog (`exported: true`);
 *   `<<| |>>` collections are recorded by a storeconfigs backend that collects nothing.
 * - `{"id", "op": "apply", "type", "title", "params", "sensitive"?, "noop"?, "refresh"?}` applies
 *   that one resource in a catalog of its own, like `puppet resource TYPE TITLE k=v`, and replies
 *   `{"id", "ok": true, "insync", "changed", "failed", "events", "logs"}`.
 * - A failure replies `{"id", "ok": false, "error", "logs"}` (Puppet's own message, with file and
 *   line when it has them).
 *
 * The first line it writes is `{"ready": true, "puppet": VERSION}` (or `"ready": false` and the
 * error when Puppet cannot be loaded). Anything else Ruby or Puppet prints goes to stderr.
 */
export const CHILD_RB = String.raw`require 'json'

PROTO = $stdout.dup
PROTO.sync = true
$stdout.reopen($stderr) # whatever else prints goes to stderr, never into the protocol
trap('INT', 'IGNORE')   # a ^C at the terminal is for mgmt; mgmt stops this child itself

def reply(obj)
  PROTO.write(JSON.generate(obj) + "\n")
end

config = JSON.parse(ARGV[0] || '{}')
begin
  require 'puppet'
  require 'puppet/indirector/code'
rescue LoadError => e
  reply('ready' => false, 'error' => e.message)
  exit 3
end

# Puppet's log messages, collected per request.
module MgmtChild
  LOGS = []
  COLLECTIONS = []
end

Puppet::Util::Log.newdesttype :mgmtchild do
  def handle(msg)
    MgmtChild::LOGS << { 'level' => msg.level.to_s, 'message' => msg.message.to_s,
                         'source' => msg.source.to_s, 'file' => msg.file, 'line' => msg.line }
  end
end

# The storeconfigs backend: it records each '<<| |>>' collection and collects nothing.
class Puppet::Resource::Mgmtcollect < Puppet::Indirector::Code
  desc 'Records exported-resource collections for mgmt; collects nothing.'
  def search(request)
    q = { 'type' => request.key.to_s, 'query' => request.options[:filter] }
    MgmtChild::COLLECTIONS << q unless MgmtChild::COLLECTIONS.include?(q)
    []
  end
end

Puppet.initialize_settings(['--log_level=notice', '--color=false', '--storeconfigs',
                            '--storeconfigs_backend=mgmtcollect'] + config.fetch('settings', []))
# Exported resources stay in the catalog, but nothing is cached or stored anywhere.
Puppet::Resource::Catalog.indirection.set_global_setting(:cache_class, nil)
Puppet::Node::Facts.indirection.set_global_setting(:cache_class, nil)
Puppet::Util::Log.close_all
Puppet::Util::Log.newdestination(:mgmtchild)

$facts = nil
$env = nil

def quietly
  level = Puppet[:log_level]
  Puppet[:log_level] = 'crit' # Facter's complaints about what a container hides
  yield
ensure
  Puppet[:log_level] = level
end

def facts_for(req, certname)
  values = if req['facts']
             req['facts']
           else
             $facts = nil if req['refreshFacts']
             $facts ||= quietly { Puppet::Node::Facts.indirection.find(certname).values }
           end
  Puppet::Node::Facts.new(certname, values.merge('clientcert' => certname))
end

def environment(manifest)
  env = Puppet.lookup(:environments).get!(Puppet[:environment])
  manifest ? env.override_with(manifest: File.expand_path(manifest)) : env
end

def compile(req)
  Puppet.lookup(:environments).clear_all # re-read changed code
  MgmtChild::COLLECTIONS.clear
  certname = Puppet[:certname]
  facts = facts_for(req, certname)
  Puppet[:code] = req['code'] || ''
  env = environment(req['manifest'])
  node = Puppet::Node.new(certname, environment: env)
  catalog = Puppet.override(current_environment: env, loaders: Puppet::Pops::Loaders.new(env, false, false)) do
    node.fact_merge(facts)
    node.add_server_facts({})
    node.trusted_data = Puppet::Context::TrustedInformation.local(node).to_h
    c = Puppet::Parser::Compiler.compile(node)
    Puppet::Pops::Evaluator::DeferredResolver.resolve_and_replace(node.facts, c, env, true)
    c
  end
  $env = env
  { 'catalog' => catalog.to_data_hash, 'collections' => MgmtChild::COLLECTIONS.dup,
    'modulepath' => env.full_modulepath, 'modules' => env.modules.to_h { |m| [m.name, m.path] } }
end

def apply(req)
  env = $env || environment(nil)
  Puppet.override(current_environment: env, loaders: Puppet::Pops::Loaders.new(env, false, false)) do
    type = req['type'].to_s
    raise Puppet::Error, "unknown resource type '#{type}'" unless Puppet::Type.type(type)
    res = Puppet::Resource.new(type, req['title'], parameters: req['params'] || {}, environment: env)
    res.sensitive_parameters = (req['sensitive'] || []).map(&:to_sym)
    ral = res.to_ral
    ral[:noop] = true if req['noop']
    catalog = Puppet::Resource::Catalog.new(Puppet[:certname], env)
    catalog.host_config = true # noop is honoured in host catalogs only
    catalog.add_resource(ral)
    status = catalog.apply.report.resource_statuses[ral.ref]
    events = status.events.map { |e| e.property ? "#{e.property}: #{e.message}" : e.message }
    refreshed = false
    if req['refresh'] && !status.failed && ral.respond_to?(:refresh)
      if req['noop']
        events << 'would refresh (noop)'
      else
        ral.refresh
        refreshed = true
      end
    end
    { 'insync' => !status.out_of_sync && !status.changed, 'changed' => status.changed || refreshed,
      'failed' => status.failed, 'events' => events }
  end
end

reply('ready' => true, 'puppet' => Puppet.version, 'ruby' => RUBY_VERSION)
while (line = $stdin.gets)
  id = nil
  MgmtChild::LOGS.clear
  started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  begin
    req = JSON.parse(line)
    id = req['id']
    out = case req['op']
          when 'compile' then compile(req)
          when 'apply' then apply(req)
          else raise ArgumentError, "unknown op #{req['op'].inspect}"
          end
    ms = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round(1)
    reply(out.merge('id' => id, 'ok' => true, 'ms' => ms, 'logs' => MgmtChild::LOGS.dup))
  rescue Exception => e # rubocop:disable Lint/RescueException: any failure is one request's
    raise if e.is_a?(SystemExit) || e.is_a?(SignalException)
    reply('id' => id, 'ok' => false, 'error' => e.message, 'logs' => MgmtChild::LOGS.dup)
  end
end
`
