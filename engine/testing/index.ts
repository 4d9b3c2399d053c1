// Policy test suites run against a set, results as data, and the text and JUnit reporters.
export { runSuites, type CaseResult, type Coverage, type SuiteRun } from './run-suites.js';
export { caseFailure, caseName, renderJUnit, renderSummary } from './reporters.js';
