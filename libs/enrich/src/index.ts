export { UnitRegistry, type UnitRef, type Criticality, type RegistryError, CRITICALITIES } from './units';
export { attachUnits } from './enrich';
export { parseIp, parseCidr } from './ip';
export { IocSet, markIocs, type IocEntry, type IocHit, type IocLookupType } from './iocs';
export { IOC_BUCKET, IocBucketWriter, IocWatch, iocKey, syncIocBucket } from './ioc-sync';
