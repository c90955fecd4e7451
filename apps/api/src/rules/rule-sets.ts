import { RuleSetCache } from '@citysoc/sigma';

const sets = new Map<string, RuleSetCache>();

/**
 * One rule-set cache per list of rule folders, shared by everything in the API process that reads them
 * (retro-hunts' filters and rule ids, the console's rule catalog and ATT&CK grid): the folders are parsed
 * once and again only when their files change (RuleSetCache).
 */
export function sharedRuleSet(paths: string[]): RuleSetCache {
  const key = JSON.stringify(paths);
  let c = sets.get(key);
  if (!c) sets.set(key, (c = new RuleSetCache(paths)));
  return c;
}
