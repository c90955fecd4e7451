export { uniquePrefix, freePort, waitFor, sendTcp, sendUdp, octetCount } from './net';
export { Pipeline, type AppName, type PipelineOptions } from './pipeline';
export {
  cleanupStreams,
  countEvents,
  countEventsWith,
  readEvents,
  readEventsWith,
  readStream,
  readStreamWith,
} from './nats';
export { corpusDir } from './corpus';
export { sshGuessingRules, writeRulesDir } from './detector-rules';
export { drillRunRecord } from './drills';
export { repoRoot } from './root';
export { testBusSettings } from './bus';
export {
  NatsCluster,
  ServerProcess,
  startRedis,
  startSentinel,
  waitRedis,
  waitReplicaSynced,
  type NatsNode,
  type RedisNode,
} from './servers';
export {
  PeerProcess,
  makeTestPki,
  issueTestClient,
  peerDir,
  rsyslogHasDriver,
  rsyslogdPath,
  startRsyslog,
  startSyslogNg,
  syslogNgInstall,
  syslogNgVersion,
  type TestPki,
} from './peers';
export { startTestApi, type TestApi, type TestApiOptions } from './api';
