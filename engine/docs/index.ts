// The access report of a policy set (who may do what, under which conditions) and its HTML and Markdown.
export { buildReport, type Cell, type Report, type ReportRule, type ReportUsage } from './report.js';
export { renderHtml, renderMarkdown } from './render-report.js';
