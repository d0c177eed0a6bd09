SELECT '< Upgrading MetaStore schema from 1.9.0 to 1.11.0 >' AS ' ';
\i 001-KYUUBI-7028.postgresql.sql
SELECT '< Finished upgrading MetaStore schema from 1.9.0 to 1.11.0 >' AS ' ';
