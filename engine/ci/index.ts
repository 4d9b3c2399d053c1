// `fleetguard ci`'s findings as data, its verdict, and its pull-request summary.
export { ciOutcome, type CiOutcome, type CiReport } from './ci-report.js';
export { renderCiSummary } from './render-summary.js';
