/** pg_catalog queries for introspection. Each takes the schema list as $1 (text[]). */

export const TABLES_SQL = `
select n.nspname as schema, c.relname as name, c.reltuples::float8 as reltuples, c.relpages::int as relpages,
       obj_description(c.oid, 'pg_class') as comment
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1::text[])
order by 1, 2`;

export const COLUMNS_SQL = `
select n.nspname as schema, c.relname as table,
       row_number() over (partition by c.oid order by a.attnum)::int as position,
       a.attname as name, format_type(a.atttypid, a.atttypmod) as native_type,
       not a.attnotnull as nullable, pg_get_expr(d.adbin, d.adrelid) as default,
       a.attidentity as identity, a.attgenerated as generated,
       pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) as sequence,
       col_description(c.oid, a.attnum) as comment,
       case when a.attcollation <> 0 and a.attcollation <> t.typcollation then co.collname end as collation,
       (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = a.atttypid) as enum_values
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_type t on t.oid = a.atttypid
left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
left join pg_collation co on co.oid = a.attcollation
where c.relkind in ('r', 'p') and not c.relispartition and a.attnum > 0 and not a.attisdropped
  and n.nspname = any($1::text[])
order by 1, 2, 3`;

export const CONSTRAINTS_SQL = `
select n.nspname as schema, c.relname as table, con.conname as name, con.contype as type,
       array(select a.attname::text from unnest(con.conkey) with ordinality k(num, ord)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord) as columns,
       rn.nspname as ref_schema, rc.relname as ref_table,
       array(select a.attname::text from unnest(con.confkey) with ordinality k(num, ord)
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord) as ref_columns,
       con.confupdtype as on_update, con.confdeltype as on_delete,
       case when con.contype = 'c' then pg_get_expr(con.conbin, con.conrelid) end as check_expr
from pg_constraint con
join pg_class c on c.oid = con.conrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_class rc on rc.oid = con.confrelid
left join pg_namespace rn on rn.oid = rc.relnamespace
where con.contype in ('p', 'u', 'f', 'c') and n.nspname = any($1::text[])
order by 1, 2, 3`;

/** Indexes that do not back a constraint (those are reported as keys). */
export const INDEXES_SQL = `
select n.nspname as schema, c.relname as table, ic.relname as name, i.indisunique as unique,
       -- Plain columns by name (pg_get_indexdef would quote mixed-case names); expressions as text.
       array(select case when i.indkey[k - 1] <> 0
                         then (select a.attname from pg_attribute a where a.attrelid = i.indrelid and a.attnum = i.indkey[k - 1])
                         else pg_get_indexdef(i.indexrelid, k, true) end
             from generate_series(1, i.indnkeyatts::int) k order by k) as columns,
       pg_get_expr(i.indexprs, i.indrelid) as expression, pg_get_expr(i.indpred, i.indrelid) as where,
       am.amname as method
from pg_index i
join pg_class c on c.oid = i.indrelid
join pg_class ic on ic.oid = i.indexrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_am am on am.oid = ic.relam
where c.relkind in ('r', 'p') and n.nspname = any($1::text[])
  and not exists (select 1 from pg_constraint con where con.conindid = i.indexrelid and con.contype in ('p', 'u', 'x'))
order by 1, 2, 3`;

/** All sequences; `dep` is 'i' for those backing identity columns, 'a' for serial-owned ones. */
export const SEQUENCES_SQL = `
select s.schemaname as schema, s.sequencename as name, s.start_value::text as start, s.increment_by::text as increment,
       s.last_value::text as last_value, oc.relname as owned_table, oa.attname as owned_column, d.deptype::text as dep
from pg_sequences s
join pg_namespace n on n.nspname = s.schemaname
join pg_class sc on sc.relname = s.sequencename and sc.relnamespace = n.oid
left join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = sc.oid and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
left join pg_class oc on oc.oid = d.refobjid
left join pg_attribute oa on oa.attrelid = d.refobjid and oa.attnum = d.refobjsubid
where s.schemaname = any($1::text[])
order by 1, 2`;

export const VIEWS_SQL = `
select n.nspname as schema, c.relname as name, case c.relkind when 'm' then 'materialized view' else 'view' end as kind,
       pg_get_viewdef(c.oid, true) as definition
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('v', 'm') and n.nspname = any($1::text[])
order by 1, 2`;

export const ROUTINES_SQL = `
select n.nspname as schema, p.proname as name,
       case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' when 'w' then 'window function' else 'function' end as kind,
       case when p.prokind in ('f', 'p') then pg_get_functiondef(p.oid) end as definition
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where n.nspname = any($1::text[])
  and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
union all
select n.nspname, t.tgname, 'trigger', pg_get_triggerdef(t.oid, true)
from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
where not t.tgisinternal and n.nspname = any($1::text[])
order by 1, 2`;
