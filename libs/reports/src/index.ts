export {
  type ReportSettings,
  privacyPolicy,
  reporterOf,
  reportSettingsSchema,
  unitRegistryRanges,
} from './settings';
export { type PolicyFacts, type PolicyDecision, decide } from './policy';
export { ReportPreparer, ReportNotFoundError, type Prepared } from './prepare';
export { Deliverer, type DeliveryResult, type DeliveryHooks, taxiiClientOf } from './deliver';
export {
  ReportOutbox,
  REPORTS_QUEUE,
  type ReportJobData,
  RetryLater,
  backoffDelay,
  type BackoffSettings,
} from './outbox';
export { type SummaryLabel, SUMMARY_LABELS, summaryPeriod, summaryItems, prepareSummary } from './summary';
export { pullIocs, type PullResult } from './iocs';
export { scanIncidents, type ScanResult } from './watch';
export { parseForm03, Form03Error } from './form03';
