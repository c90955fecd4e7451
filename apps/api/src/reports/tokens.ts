export const REPORT_SETTINGS = Symbol('REPORT_SETTINGS');
export const REPORTS_CONTROL = Symbol('REPORTS_CONTROL');
export const REPORT_OUTBOX = Symbol('REPORT_OUTBOX');
export const REPORT_PREPARER = Symbol('REPORT_PREPARER');
export const REPORTS_INCIDENTS = Symbol('REPORTS_INCIDENTS');
