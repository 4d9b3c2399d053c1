// Query plans: which rows of a list a principal may see, as conditions and as SQL over a table's columns.
export { SQLITE_DIALECT, type ColumnSql, type SqlClause, type SqlDialect } from './to-sql.js';
