export {
  TaxiiClient,
  type TaxiiClientOptions,
  type ObjectsFilter,
  type ObjectsPage,
  type AddObjectsResult,
} from './client';
export {
  TaxiiError,
  type TaxiiErrorCode,
  isRetryable,
  isTlsFailure,
  codeForStatus,
  parseRetryAfter,
} from './errors';
export { splitEnvelopes } from './split';
export {
  type HttpTransport,
  type HttpRequest,
  type HttpResponse,
  type TlsOptions,
  nodeTransport,
} from './transport';
export {
  TAXII_MEDIA_TYPE,
  objectVersion,
  type ApiRoot,
  type Collection,
  type Discovery,
  type Envelope,
  type StatusResource,
  type StatusDetail,
  type ErrorMessage,
} from './types';
