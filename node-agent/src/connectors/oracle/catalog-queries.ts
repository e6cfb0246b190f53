/**
 * Oracle data-dictionary queries (ALL_* views, so a read-only user sees what it may read).
 * Owners are bound as :s0, :s1... via ownerBinds(). LONG columns (DATA_DEFAULT, SEARCH_CONDITION,
 * TEXT, COLUMN_EXPRESSION) are fetched as strings by the thin driver.
 */

export function ownerBinds(owners: readonly string[]): { list: string; binds: Record<string, string> } {
  const binds: Record<string, string> = {};
  owners.forEach((o, i) => { binds[`s${i}`] = o; });
  return { list: owners.map((_o, i) => `:s${i}`).join(', ') || 'null', binds };
}

export const tablesSql = (list: string): string => `
select t.owner, t.table_name, t.num_rows, t.temporary, t.iot_type, c.comments
from all_tables t
left join all_tab_comments c on c.owner = t.owner and c.table_name = t.table_name
where t.owner in (${list}) and t.dropped = 'NO' and t.nested = 'NO' and t.secondary = 'N'
  and (t.iot_type is null or t.iot_type = 'IOT')
  and not exists (select 1 from all_mviews m where m.owner = t.owner and m.mview_name = t.table_name)
order by t.owner, t.table_name`;

export const columnsSql = (list: string): string => `
select c.owner, c.table_name, c.column_id, c.column_name, c.data_type, c.data_type_owner, c.data_length,
       c.data_precision, c.data_scale, c.char_length, c.char_used, c.nullable, c.data_default
from all_tab_columns c
join all_tables t on t.owner = c.owner and t.table_name = c.table_name
where c.owner in (${list})
order by c.owner, c.table_name, c.column_id`;

/** Constraints of the owners' tables; for foreign keys, the referenced table via the referenced key. */
export const constraintsSql = (list: string): string => `
select c.owner, c.constraint_name, c.constraint_type, c.table_name, c.search_condition, c.r_owner, c.r_constraint_name,
       r.table_name as r_table_name, c.delete_rule, c.status, c.generated, c.index_name
from all_constraints c
left join all_constraints r on r.owner = c.r_owner and r.constraint_name = c.r_constraint_name
where c.owner in (${list}) and c.constraint_type in ('P', 'U', 'R', 'C')
order by c.owner, c.table_name, c.constraint_name`;

/** Columns of the owners' constraints and of every key their foreign keys reference (maybe in other schemas). */
export const consColumnsSql = (list: string): string => `
select cc.owner, cc.constraint_name, cc.table_name, cc.column_name, cc.position
from all_cons_columns cc
where cc.owner in (${list})
   or (cc.owner, cc.constraint_name) in
      (select r_owner, r_constraint_name from all_constraints where owner in (${list}) and constraint_type = 'R')
order by cc.owner, cc.constraint_name, cc.position`;

export const indexesSql = (list: string): string => `
select i.owner, i.index_name, i.table_owner, i.table_name, i.uniqueness, i.index_type, i.generated
from all_indexes i
where i.table_owner in (${list}) and i.index_type <> 'LOB'
order by i.table_owner, i.table_name, i.index_name`;

export const indColumnsSql = (list: string): string => `
select ic.index_owner, ic.index_name, ic.table_owner, ic.table_name, ic.column_name, ic.column_position, ic.descend
from all_ind_columns ic
where ic.table_owner in (${list})
order by ic.index_owner, ic.index_name, ic.column_position`;

export const indExpressionsSql = (list: string): string => `
select e.index_owner, e.index_name, e.column_expression, e.column_position
from all_ind_expressions e
where e.table_owner in (${list})`;

export const sequencesSql = (list: string): string => `
select s.sequence_owner, s.sequence_name, s.min_value, s.max_value, s.increment_by, s.cycle_flag, s.cache_size, s.last_number
from all_sequences s
where s.sequence_owner in (${list})
order by s.sequence_owner, s.sequence_name`;

export const identityColsSql = (list: string): string => `
select owner, table_name, column_name, generation_type, sequence_name, identity_options
from all_tab_identity_cols
where owner in (${list})`;

export const viewsSql = (list: string): string => `
select owner, view_name, text from all_views where owner in (${list}) order by owner, view_name`;

/** Code objects and materialized views: not converted, listed so the planner can report them. */
export const objectsSql = (list: string): string => `
select owner, object_name, object_type, status
from all_objects
where owner in (${list})
  and object_type in ('PROCEDURE', 'FUNCTION', 'PACKAGE', 'TRIGGER', 'TYPE', 'MATERIALIZED VIEW', 'SYNONYM', 'JAVA CLASS')
order by owner, object_name`;
