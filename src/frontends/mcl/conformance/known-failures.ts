/**
 * Conformance cases that fail, each with the reason. The runner fails on any other failure, and
 * on a listed case that passes (remove it then), so this list can only shrink.
 */

const afterRun =
  'compares resource field values after the engine ran to convergence (Field:/Group: lines); the runner compares graphs and errors, not a run (TestAstFunc3, stage 2 of the plan)'

export const knownFailures: Readonly<Record<string, string>> = {
  'TestAstFunc3/except0.txtar': afterRun,
  'TestAstFunc3/except1.txtar': afterRun,
  'TestAstFunc3/hello0.txtar': afterRun,
  'TestAstFunc3/issue-926-http-server-flag-sendrecv.txtar': `${afterRun}; needs the http:server kinds`,
  'TestAstFunc3/race.txtar': afterRun,
  'TestAstFunc3/send-recv-0.txtar': afterRun,
  'TestAstFunc3/sendrecv-autogroup.txtar': afterRun,
  'TestAstFunc3/sendrecv-simple0.txtar': afterRun,
  'TestAstFunc3/sendrecv-simple1.txtar': afterRun,
  'TestAstFunc3/sendrecv-simple2.txtar': afterRun,
  'TestAstFunc3/value-resource-get0.txtar': afterRun,
  'TestAstFunc3/value-resource0.txtar': afterRun,
}
