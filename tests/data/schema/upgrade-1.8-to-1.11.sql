CREATE TABLE IF NOT EXISTS k8s_engine_info(
    key_id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier varchar(36) NOT NULL,
    context varchar(32),
    namespace varchar(255),
    pod_name varchar(255) NOT NULL,
    pod_state varchar(32),
    container_state mediumtext,
    engine_id varchar(128),
    engine_name mediumtext,
    engine_state varchar(32),
    engine_error mediumtext,
    update_time bigint
);
CREATE UNIQUE INDEX IF NOT EXISTS k8s_engine_info_unique_identifier_index ON k8s_engine_info(identifier);
