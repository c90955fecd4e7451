export {
  ruleToElasticsearch,
  detectionToQuery,
  NotTranslatable,
  type EsBackendOptions,
  type EsQuery,
  type EsTranslation,
} from './translate';
export { toLuceneRegex, RegexNotTranslatable, type LuceneRegex } from './lucene-regex';
