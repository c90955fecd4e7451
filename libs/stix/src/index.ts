export { type StixObject, type StixBundle, type TlpLevel } from './types';
export { uuidv5, isUuid } from './uuid';
export { CITYSOC_STIX_NAMESPACE, STIX_SCO_NAMESPACE, deterministicId, incidentObjectId, scoId } from './ids';
export { TLP_MARKING_IDS, TLP2_EXTENSION_ID, TLP_LEVELS, tlpMarking, stricterTlp } from './tlp';
export { type PrivacyPolicy, DEFAULT_POLICY, PolicyError, resolvePolicy } from './policy';
export { NON_PUBLIC_RANGES, DOCUMENTATION_RANGES, RangeSet, normaliseIp, normaliseDomain } from './net';
export {
  RSIT,
  type RsitCategory,
  type RsitPredicate,
  type VnCategory,
  isRsitCategory,
  vnCategoryOf,
  rsitLabel,
  UNDETERMINED,
} from './taxonomy';
export { FORM03_FREE_TEXT_FIELDS, FORM03_TEXT_LIST_FIELDS, type Form03Fields } from './form03';
export {
  type IncidentReportInput,
  type MinimisedIncident,
  type MinimiseResult,
  type ReportKind,
  type ReportableIncident,
  Minimiser,
  minimise,
} from './minimise';
export { type Reporter, reporterId, reporterIdentity } from './reporter';
export {
  CITYSOC_EXTENSION_ID,
  CITYSOC_EXTENSION_PROPERTIES,
  INCIDENT_CORE_EXTENSION_ID,
  citysocExtensionDefinition,
} from './extension';
export {
  type BuildOptions,
  type BuildResult,
  CRITICALITY,
  buildIncidentBundle,
  buildFromMinimised,
  investigationStatus,
} from './bundle';
export { type StixValidationResult, StixValidator, defaultSchemaDir, validateStixObject } from './validate';
export * from './taxii';
export { type SummaryItem, type SummaryOptions, type SummaryCount, buildSummaryBundle } from './summary';
export { type CheckOptions, checkBundle } from './checks';
export {
  type FormViModel,
  FormRenderError,
  formViModel,
  formatViDate,
  renderFormViHtml,
  renderFormViMarkdown,
} from './render-vi';
export { type IocKind, type ParsedIoc, type IocParseResult, iocsFromIndicator } from './iocs';
export { categoryFromTags } from './categorize';
