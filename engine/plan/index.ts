// Query plans: which rows of a list a principal may see, as conditions and as SQL over a table's columns.
export type { ColumnSql, SqlClause } from './to-sql.js';
