/** information_schema queries; `?` is the list of schemas (databases), expanded by mysql2. */

export const TABLES_SQL = `
select table_schema as \`schema\`, table_name as name, table_rows as table_rows, auto_increment as auto_increment,
       table_comment as comment
from information_schema.tables
where table_type = 'BASE TABLE' and table_schema in (?)
order by 1, 2`;

export const COLUMNS_SQL = `
select table_schema as \`schema\`, table_name as \`table\`, ordinal_position as position, column_name as name,
       column_type as column_type, data_type as data_type, character_maximum_length as char_length,
       numeric_precision as num_precision, numeric_scale as num_scale, datetime_precision as dt_precision,
       is_nullable as is_nullable, column_default as column_default, extra as extra,
       character_set_name as charset, collation_name as collation, column_comment as comment,
       generation_expression as generation_expression
from information_schema.columns
where table_schema in (?)
order by 1, 2, 3`;

/** Every index, including PRIMARY and the unique ones (MySQL unique constraints are indexes). */
export const INDEXES_SQL = `
select table_schema as \`schema\`, table_name as \`table\`, index_name as name, non_unique as non_unique,
       seq_in_index as seq, column_name as column_name, sub_part as sub_part, index_type as index_type
from information_schema.statistics
where table_schema in (?)
order by 1, 2, 3, 5`;

export const FOREIGN_KEYS_SQL = `
select k.table_schema as \`schema\`, k.table_name as \`table\`, k.constraint_name as name, k.column_name as column_name,
       k.ordinal_position as seq, k.referenced_table_schema as ref_schema, k.referenced_table_name as ref_table,
       k.referenced_column_name as ref_column, r.update_rule as on_update, r.delete_rule as on_delete
from information_schema.key_column_usage k
join information_schema.referential_constraints r
  on r.constraint_schema = k.constraint_schema and r.constraint_name = k.constraint_name and r.table_name = k.table_name
where k.table_schema in (?) and k.referenced_table_name is not null
order by 1, 2, 3, 5`;

/** MariaDB >= 10.2 and MySQL >= 8.0.16 have CHECK_CONSTRAINTS; older servers fail this query and report none. */
export const CHECKS_SQL = `
select t.table_schema as \`schema\`, t.table_name as \`table\`, t.constraint_name as name, c.check_clause as expression
from information_schema.table_constraints t
join information_schema.check_constraints c on c.constraint_schema = t.constraint_schema and c.constraint_name = t.constraint_name
where t.constraint_type = 'CHECK' and t.table_schema in (?)
order by 1, 2, 3`;

/** MariaDB's CHECK_CONSTRAINTS carries TABLE_NAME itself (column-level checks share names across tables). */
export const CHECKS_SQL_MARIADB = `
select constraint_schema as \`schema\`, table_name as \`table\`, constraint_name as name, check_clause as expression
from information_schema.check_constraints
where constraint_schema in (?)
order by 1, 2, 3`;

export const VIEWS_SQL = `
select table_schema as \`schema\`, table_name as name, 'view' as kind, view_definition as definition
from information_schema.views where table_schema in (?) order by 1, 2`;

export const ROUTINES_SQL = `
select routine_schema as \`schema\`, routine_name as name, lower(routine_type) as kind, routine_definition as definition
from information_schema.routines where routine_schema in (?)
union all
select trigger_schema, trigger_name, 'trigger', action_statement from information_schema.triggers where trigger_schema in (?)
union all
select event_schema, event_name, 'event', event_definition from information_schema.events where event_schema in (?)
order by 1, 2`;
