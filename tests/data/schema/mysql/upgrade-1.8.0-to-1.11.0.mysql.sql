SELECT '< Upgrading MetaStore schema from 1.8.0 to 1.11.0 >' AS ' ';
SOURCE 006-KYUUBI-7028.mysql.sql;
SELECT '< Finished upgrading MetaStore schema from 1.8.0 to 1.11.0 >' AS ' ';
