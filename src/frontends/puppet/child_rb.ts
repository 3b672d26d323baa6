/**
 * The Ruby program of the Puppet child (run as `ruby child.rb CONFIG_JSON`). It loads Puppet
 * once, then answers one JSON request a line on stdin with one JSON reply a line on stdout, until
 * stdin ends:
 *
 * - `{"id", "op": "compile", "manifest" | "code", "facts"?, "refreshFacts"?, "exported"?}` compiles
 *   a catalog the way `puppet apply` does, without a server: facts from Facter (resolved once, again
 *   on `refreshFacts`) unless given. Replies `{"id", "ok": true, "ms", "catalog", "collections",
 *   "realized", "collected", "modules", "modulepath", "logs"}`. Exported resources stay in the
 *   catalog (`exported: true`); `realized` lists those of them that the manifest also collects
 *   itself (Puppet applies them here too), `collected` the host of each resource collected from
 *   another host, and each collection what it `found` (`[ref, host]` pairs). A storeconfigs backend records each `<<| |>>` collection and
 *   answers it, as PuppetDB would, from `exported`: the resources other hosts exported, each
 *   `{"host", "type", "title", "tags", "parameters", "sensitive_parameters"?, "file"?, "line"?}`,
 *   matched by type and by the query (`==`, `!=`, `and`, `or` on `title`, `tag` and parameters).
 * - `{"id", "op": "apply", "type", "title", "params", "sensitive"?, "noop"?, "refresh"?}` applies
 *   that one resource in a catalog of its own, like `puppet resource TYPE TITLE k=v`, and replies
 *   `{"id", "ok": true, "insync", "changed", "failed", "events", "logs"}`.
 * - A string that is not UTF-8 (a `Binary` value, `binary_file()`) is `{"__binary": BASE64}` in a
 *   catalog's params and in an apply's.
 * - A failure replies `{"id", "ok": false, "error", "logs"}` (Puppet's own message, with file and
 *   line when it has them).
 *
 * The first line it writes is `{"ready": true, "puppet": VERSION}` (or `"ready": false` and the
 * error when Puppet cannot be loaded, with `"settings": true` when Puppet refused its settings). Anything else Ruby or Puppet prints goes to stderr. The end
 * of stdin ends it at once, whatever it is doing: a compile that never finishes dies with mgmt.
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

# Strings that are not UTF-8 (a Binary value, binary_file()) cannot be JSON: each travels as
# {"__binary": BASE64}, back and forth.
module MgmtBinary
  def self.encode(v)
    case v
    when Hash then v.transform_values { |x| encode(x) }
    when Array then v.map { |x| encode(x) }
    when String
      return v if v.encoding == Encoding::UTF_8 && v.valid_encoding?
      utf8 = v.dup.force_encoding(Encoding::UTF_8)
      utf8.valid_encoding? ? utf8 : { '__binary' => [v].pack('m0') }
    else v
    end
  end

  def self.decode(v)
    case v
    when Hash
      return Puppet::Pops::Types::PBinaryType::Binary.from_base64_strict(v['__binary']) if v.keys == ['__binary']
      v.transform_values { |x| decode(x) }
    when Array then v.map { |x| decode(x) }
    else v
    end
  end
end

# Puppet's log messages, collected per request; the collections a compile met, and the resources
# other hosts exported, which answer them.
module MgmtChild
  LOGS = []
  COLLECTIONS = {} # [type, query] => { 'type', 'query', 'found' => [[ref, host], ...] }
  EXPORTED = []
  COLLECTED = {} # ref => the host that exported it

  # PuppetDB's reading of a collection's query (its 'filter'): nil matches everything.
  def self.match?(q, r)
    return true if q.nil?
    lhs, op, rhs = q
    case op
    when 'and' then match?(lhs, r) && match?(rhs, r)
    when 'or' then match?(lhs, r) || match?(rhs, r)
    when '==' then equal?(lhs, rhs, r)
    when '!=' then !equal?(lhs, rhs, r)
    else raise Puppet::ParseError, "operator #{op} is not supported in a query of exported resources"
    end
  end

  def self.equal?(field, value, r)
    value = value.to_s if value.is_a?(Puppet::Resource)
    case field
    when 'tag' then Array(value).all? { |t| (r['tags'] || []).include?(t.to_s.downcase) }
    when 'title' then r['title'] == value
    else
      v = (r['parameters'] || {})[field]
      v == value || (v.is_a?(Array) && v.include?(value))
    end
  end

  # An exported resource as the collection's scope takes it, named for duplicate checks as
  # PuppetDB's terminus does (host|type|title).
  def self.resource(r, scope)
    sensitive = r['sensitive_parameters'] || []
    data = MgmtBinary.decode(Puppet::Pops::Serialization::FromDataConverter.convert(r['parameters'] || {}))
    params = data.map do |name, value|
      value = Puppet::Pops::Types::PSensitiveType::Sensitive.new(value) if sensitive.include?(name)
      Puppet::Parser::Resource::Param.new(name: name, value: value, source: scope.source)
    end
    res = Puppet::Parser::Resource.new(r['type'], r['title'], parameters: params, scope: scope,
                                       file: r['file'], line: r['line'])
    res.collector_id = "#{r['host']}|#{r['type']}|#{r['title']}"
    res
  end
end

Puppet::Util::Log.newdesttype :mgmtchild do
  def handle(msg)
    MgmtChild::LOGS << { 'level' => msg.level.to_s, 'message' => msg.message.to_s,
                         'source' => msg.source.to_s, 'file' => msg.file, 'line' => msg.line }
  end
end

# The storeconfigs backend: it records each '<<| |>>' collection and answers it from the resources
# other hosts exported (mgmt reads them from its world and passes them with the compile request).
class Puppet::Resource::Mgmtcollect < Puppet::Indirector::Code
  desc 'Answers exported-resource collections from what mgmt passed in.'
  def search(request)
    type = request.key.to_s
    filter = request.options[:filter]
    found = MgmtChild::EXPORTED.select { |r| r['type'].to_s.casecmp?(type) && MgmtChild.match?(filter, r) }
    pairs = found.map { |r| [MgmtChild.resource(r, request.options[:scope]), r['host']] }
    pairs.each { |res, host| MgmtChild::COLLECTED[res.ref] = host }
    refs = pairs.map { |res, host| [res.ref, host] }
    MgmtChild::COLLECTIONS[[type, filter]] = { 'type' => type, 'query' => filter, 'found' => refs }
    pairs.map(&:first)
  end
end

begin
  Puppet.initialize_settings(['--log_level=notice', '--color=false', '--storeconfigs',
                              '--storeconfigs_backend=mgmtcollect'] + config.fetch('settings', []))
rescue StandardError => e # a setting Puppet refuses (an upper-case certname): its message, not a backtrace
  reply('ready' => false, 'settings' => true, 'error' => e.message)
  exit 3
end
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
  MgmtChild::COLLECTED.clear
  MgmtChild::EXPORTED.replace(req['exported'] || [])
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
  realized = catalog.resources.select { |r| r.exported? && !r.virtual? }.map(&:ref)
  collected = catalog.resources.map(&:ref).select { |ref| MgmtChild::COLLECTED.key?(ref) }
  data = catalog.to_data_hash
  data['resources'].each { |r| r['parameters'] = MgmtBinary.encode(r['parameters']) if r['parameters'] }
  { 'catalog' => data, 'collections' => MgmtChild::COLLECTIONS.values, 'realized' => realized,
    'collected' => MgmtChild::COLLECTED.slice(*collected),
    'modulepath' => env.full_modulepath, 'modules' => env.modules.to_h { |m| [m.name, m.path] } }
end

def apply(req)
  env = $env || environment(nil)
  Puppet.override(current_environment: env, loaders: Puppet::Pops::Loaders.new(env, false, false)) do
    type = req['type'].to_s
    raise Puppet::Error, "unknown resource type '#{type}'" unless Puppet::Type.type(type)
    params = MgmtBinary.decode(req['params'] || {})
    res = Puppet::Resource.new(type, req['title'], parameters: params, environment: env)
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

# Requests are read by a thread of their own, so that the end of stdin (mgmt stopped, or died)
# ends this process at once, even in the middle of a compile that would never finish.
REQUESTS = Queue.new
Thread.new do
  while (line = $stdin.gets)
    REQUESTS << line
  end
  Process.exit!(0)
end

reply('ready' => true, 'puppet' => Puppet.version, 'ruby' => RUBY_VERSION)
while (line = REQUESTS.pop)
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
