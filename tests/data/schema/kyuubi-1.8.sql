CREATE TABLE IF NOT EXISTS metadata(
    key_id INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier varchar(36) NOT NULL,
    session_type varchar(32) NOT NULL,
    real_user varchar(255) NOT NULL,
    user_name varchar(255) NOT NULL,
    ip_address varchar(128),
    kyuubi_instance varchar(1024),
    state varchar(128) NOT NULL,
    resource varchar(1024),
    class_name varchar(1024),
    request_name varchar(1024),
    request_conf mediumtext,
    request_args mediumtext,
    create_time BIGINT NOT NULL,
    engine_type varchar(32) NOT NULL,
    cluster_manager varchar(128),
    engine_open_time bigint,
    engine_id varchar(128),
    engine_name mediumtext,
    engine_url varchar(1024),
    engine_state varchar(32),
    engine_error mediumtext,
    end_time bigint,
    priority INTEGER NOT NULL DEFAULT 10,
    peer_instance_closed boolean default '0'
);
CREATE UNIQUE INDEX IF NOT EXISTS metadata_unique_identifier_index ON metadata(identifier);
CREATE INDEX IF NOT EXISTS metadata_user_name_index ON metadata(user_name);
CREATE INDEX IF NOT EXISTS metadata_engine_type_index ON metadata(engine_type);
CREATE INDEX IF NOT EXISTS metadata_create_time_index ON metadata(create_time);
CREATE INDEX IF NOT EXISTS metadata_priority_create_time_index ON metadata(priority, create_time);
